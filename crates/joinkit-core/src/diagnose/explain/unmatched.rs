//! Failure lines no signature knows: explain-log is never silent on a failed join.
//!
//! A line that no catalog signature, preflight check or status-error rule matched is a
//! *failure line* when it is a klog error or fatal line, or carries a failure word
//! ([`FAILURE_WORDS`], ASCII case-insensitive: `error`, `failed`, `fatal`, `refused`,
//! `forbidden`, `unable to`, ...) and is not an informational klog line (klog's header is
//! `Lmmdd hh:mm:ss.uuuuuu threadid file:line]`, L the severity: `I`nfo, `W`arning, `E`rror,
//! `F`atal; `k8s.io/klog` `formatHeader`). Each failure
//! line votes for the failure domains whose vocabulary it uses ([`VOCABULARY`]: `x509` and
//! `certificate` for tls, `dial tcp` and `connection refused` for network, `cgroup` and
//! `containerd` for runtime, ...): the words that Go, client-go, kubeadm and the kubelet put in
//! their errors for each kind of fault. When nothing in the catalog decides a root cause, the
//! domain with the most voting lines is named with `low` confidence; a tie between domains, or
//! failure lines with no domain's vocabulary at all, is `undecidable`, with the candidates and
//! what would tell them apart ([`tell_apart`]).
//!
//! Bounded: at most [`MAX_UNMATCHED_LINES`] lines are kept (with their text), and one counter
//! per domain; the words are found by two Aho-Corasick automata over the line's bytes, and only
//! on lines no signature matched.

use crate::error::Domain;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::sync::OnceLock;

/// The most unmatched failure lines kept (their location and text) per scan.
pub const MAX_UNMATCHED_LINES: usize = 12;

/// Words that make a line a failure line (ASCII case-insensitive). Taken from the shapes Go
/// (`net`, `crypto/x509`, `context`), client-go, apimachinery, kubeadm and the kubelet use for
/// errors: `error`/`failed`/`fatal` (klog's and cobra's `Error:`/`error:`, kubeadm's `error
/// execution phase`, `failed to ...`), refusals (`refused`, `denied`, `forbidden`,
/// `unauthorized`), timeouts (`timed out`, `timeout`, `deadline exceeded`), inability (`cannot`,
/// `can not`, `unable to`, `could not`, `couldn't`), absence (`not found`, `no such`,
/// `does not exist`), and `invalid`, `expired`, `not supported`, `panic:`.
pub const FAILURE_WORDS: &[&str] = &[
    "error",
    "fail",
    "fatal",
    "refused",
    "denied",
    "forbidden",
    "unauthorized",
    "timed out",
    "timeout",
    "deadline exceeded",
    "cannot ",
    "can not ",
    "unable to",
    "could not",
    "couldn't",
    "not found",
    "no such",
    "does not exist",
    "invalid",
    "expired",
    "not supported",
    "panic:",
];

/// Per failure domain, the words its faults are reported with (ASCII case-insensitive). A
/// failure line votes once for each domain whose words it contains. Short words that occur
/// inside others carry their neighbours (`" cri "`, `": eof"`, `"arn:aws:iam"`).
pub const VOCABULARY: &[(Domain, &[&str])] = &[
    (
        Domain::Network,
        &[
            "dial tcp",
            "connection refused",
            "no route to host",
            "i/o timeout",
            "connection reset",
            "network is unreachable",
            "handshake timeout",
            "proxyconnect",
            "broken pipe",
            ": eof",
        ],
    ),
    (Domain::Dns, &["no such host", "lookup ", "server misbehaving", "resolv", "dns"]),
    (Domain::Tls, &["x509", "certificate", "tls:", "ca.crt", "/pki/", ".pem", "ca cert"]),
    (Domain::Token, &["token", "jws", "aws-auth", "arn:aws:iam", "iam role", "credentials"]),
    (Domain::Rbac, &["forbidden", "rbac", "cannot get resource", "clusterrole", "rolebinding", "permission"]),
    (Domain::Csr, &["csr", "certificatesigningrequest", "approv", "signer"]),
    (Domain::NodeState, &["already exists", "in use", "not empty", "kubeadm reset", "already registered"]),
    (Domain::Clock, &["clock", "ntp", "time sync", "not yet valid", "chrony"]),
    (
        Domain::Config,
        &[
            "config",
            "flag",
            "yaml",
            "json",
            "unknown field",
            "apiversion",
            "kind ",
            "kubeconfig",
            "argument",
            "sysctl",
            "/proc/sys",
            "kernel",
        ],
    ),
    (
        Domain::ControlPlane,
        &[
            "etcd",
            "apiserver",
            "api server",
            "controller-manager",
            "scheduler",
            "cluster-info",
            "kubeadm-certs",
            "leader",
            "control plane",
            "control-plane",
        ],
    ),
    (
        Domain::Runtime,
        &[
            "containerd",
            "docker",
            " cri ",
            " cri:",
            "cri v1",
            "runtime",
            "cgroup",
            "sandbox",
            "pause",
            "swap",
            "crio",
            "cri-o",
            "image",
            "pull",
            "container",
            "systemd",
        ],
    ),
];

struct Automata {
    vocabulary: AhoCorasick,
    /// For each vocabulary pattern, its domain's index in [`Domain::ALL`].
    domain_of: Vec<usize>,
}

fn automata() -> &'static Automata {
    static A: OnceLock<Automata> = OnceLock::new();
    A.get_or_init(|| {
        let build = |words: &[&str]| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(words)
                .expect("fixed word lists build")
        };
        let mut words = Vec::new();
        let mut domain_of = Vec::new();
        for (d, ws) in VOCABULARY {
            let di = Domain::ALL.iter().position(|x| x == d).expect("a domain of ALL");
            for w in *ws {
                words.push(*w);
                domain_of.push(di);
            }
        }
        Automata { vocabulary: build(&words), domain_of }
    })
}

/// How far into a line a log prefix (journald's, logrus's `time="..." level=`) is looked for.
const PREFIX_BYTES: usize = 160;

/// The first [`PREFIX_BYTES`] of `line`.
fn head(line: &[u8]) -> &[u8] {
    &line[..line.len().min(PREFIX_BYTES)]
}

/// The severity letter of a klog header (`Lmmdd hh:mm:ss`, L one of `IWEF`) at the start of
/// `line` or after a journald/syslog prefix (`... kubelet[123]: E1207 10:00:00.000000 ...`).
fn klog_severity(line: &[u8]) -> Option<u8> {
    let header = |s: &[u8]| {
        let ok = s.len() >= 14
            && matches!(s[0], b'I' | b'W' | b'E' | b'F')
            && s[1..5].iter().all(u8::is_ascii_digit)
            && s[5] == b' '
            && s[6..8].iter().all(u8::is_ascii_digit)
            && s[8] == b':';
        if ok {
            Some(s[0])
        } else {
            None
        }
    };
    // At the start, else after the first "]: " (journald/syslog) in the line's first
    // [`PREFIX_BYTES`] (the prefix is a date, a host and a unit: far shorter).
    header(line).or_else(|| memchr::memmem::find(head(line), b"]: ").and_then(|i| header(&line[i + 3..])))
}

/// The level of a logrus line (`level=info`, containerd's and CRI-O's `time="..." level=...
/// msg="..."`; sirupsen/logrus `TextFormatter`): `Some(true)` for error/fatal/panic,
/// `Some(false)` for info/debug/trace, `None` for warning or no level.
fn logrus_failure(line: &[u8]) -> Option<bool> {
    let i = memchr::memmem::find(head(line), b"level=")?;
    let rest = &line[i + 6..];
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    if rest.starts_with(b"error") || rest.starts_with(b"fatal") || rest.starts_with(b"panic") {
        Some(true)
    } else if rest.starts_with(b"info") || rest.starts_with(b"debug") || rest.starts_with(b"trace") {
        Some(false)
    } else {
        None
    }
}

/// Whether `line` is a failure line: a klog error or fatal line (`E`/`F` severity), a logrus
/// error/fatal/panic line, or a line with one of [`FAILURE_WORDS`] (in one of its
/// [`case_forms`]) that is not a klog or logrus informational line (klog `I`; logrus
/// info/debug/trace).
pub fn is_failure_line(line: &[u8]) -> bool {
    classify(line, super::catalog().has_failure_word(line))
}

/// [`is_failure_line`] for a line whose failure words were already looked for (`word`): the
/// scanner finds them in the catalog automaton's walk of the line, so a line is walked once.
/// The severity is read first; the word only decides lines without one.
pub(crate) fn classify(line: &[u8], word: bool) -> bool {
    match klog_severity(line) {
        Some(b'E' | b'F') => return true,
        Some(b'I') => return false,
        _ => {}
    }
    if let Some(failure) = logrus_failure(line) {
        return failure;
    }
    word
}

/// The forms of a failure word looked for: as written (lower case), capitalised, and upper case
/// (`error`, `Error`, `ERROR`), as Go errors, klog/cobra prefixes and shell tools write them.
pub fn case_forms(word: &str) -> Vec<String> {
    let mut cap = word.to_string();
    if let Some(f) = cap.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    let mut forms = vec![word.to_string(), cap, word.to_ascii_uppercase()];
    forms.dedup();
    forms
}

/// The domains whose vocabulary `line` uses, as a bit set over [`Domain::ALL`] indexes.
pub fn domains_of(line: &[u8]) -> u16 {
    let a = automata();
    let mut set = 0u16;
    for m in a.vocabulary.find_overlapping_iter(line) {
        set |= 1 << a.domain_of[m.pattern().as_usize()];
    }
    set
}

/// How to tell one candidate domain from the others: the check that confirms or rules it out
/// on the node or the control plane.
pub fn tell_apart(d: Domain) -> &'static str {
    match d {
        Domain::Network => "check that the node reaches the API server endpoint: joinkit verify-discovery (or nc -vz HOST 6443) from the node",
        Domain::Dns => "resolve the names in the lines on the node (getent hosts NAME) and compare with the control plane's",
        Domain::Tls => "inspect the certificates the lines name: openssl x509 -noout -subject -dates -ext subjectAltName -in FILE; joinkit ca-hash for the CA pin",
        Domain::Token => "list the bootstrap tokens on a control-plane node (joinkit token list or kubeadm token list): is the token there, unexpired, with the right usages?",
        Domain::Rbac => "check the refused subject's permissions: kubectl auth can-i VERB RESOURCE --as SUBJECT",
        Domain::Csr => "kubectl get csr: a Pending, Denied or Approved-but-unissued CSR for this node",
        Domain::NodeState => "look for leftovers of an earlier run on the node (/etc/kubernetes, ports 6443/10250 in use, an existing Node object); kubeadm reset clears them",
        Domain::Clock => "compare the clocks: date -u on the node and on a control-plane node (timedatectl for NTP)",
        Domain::Config => "validate the configuration and flags (joinkit validate-config FILE) and the kernel settings the lines name",
        Domain::ControlPlane => "check the control plane: kubectl get --raw='/readyz?verbose', and the kube-system pods' logs",
        Domain::Runtime => "check the container runtime and the kubelet on the node: crictl info, journalctl -u kubelet -u containerd",
    }
}

/// Unmatched failure lines after the last success line: the first [`MAX_UNMATCHED_LINES`]
/// (input index, line number, text, domains), how many there were, and how many voted for each
/// domain.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unmatched {
    pub lines: Vec<(usize, u64, String, u16)>,
    pub count: u64,
    pub votes: [u64; 11],
    /// For each domain, the first of `lines` that voted for it (index into `lines`), if kept.
    pub first: [Option<usize>; 11],
}

impl Unmatched {
    /// Looks at a line no signature matched; keeps it if it is a failure line.
    pub fn add(&mut self, at: (usize, u64), line: &[u8], word: bool, text_max: usize) {
        if !classify(line, word) {
            return;
        }
        let set = domains_of(line);
        self.count += 1;
        for (i, v) in self.votes.iter_mut().enumerate() {
            if set & (1 << i) != 0 {
                *v += 1;
            }
        }
        if self.lines.len() < MAX_UNMATCHED_LINES {
            let mut t = String::new();
            super::scan::push_text(&mut t, line, text_max);
            self.lines.push((at.0, at.1, t, set));
            let k = self.lines.len() - 1;
            for (i, f) in self.first.iter_mut().enumerate() {
                if set & (1 << i) != 0 && f.is_none() {
                    *f = Some(k);
                }
            }
        }
    }

    /// Forgets everything (a success line resolved the failures before it).
    pub fn clear(&mut self) {
        *self = Unmatched::default();
    }

    /// The candidate domains, most voting lines first (ties: the domain whose first voting
    /// line came first, then [`Domain::ALL`] order): (domain, lines that voted).
    pub fn ranked(&self) -> Vec<(Domain, u64)> {
        let mut v: Vec<(usize, u64)> = self.votes.iter().copied().enumerate().filter(|(_, n)| *n > 0).collect();
        v.sort_by_key(|&(i, n)| (std::cmp::Reverse(n), self.first[i].unwrap_or(usize::MAX), i));
        v.into_iter().map(|(i, n)| (Domain::ALL[i], n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_lines_are_found_by_their_words_and_klog_info_lines_are_not() {
        for l in [
            "E1207 10:00:00.000000 1 run.go:74] \"command failed\" err=\"boom\"",
            "Error: unknown flag: --foo",
            "FATAL: could not start",
            "dial tcp 10.0.0.1:6443: connect: connection refused",
            "Dec 07 10:00:00 n kubelet[1]: E1207 10:00:00.000000 1 x.go:1] Unable to register node",
        ] {
            assert!(is_failure_line(l.as_bytes()), "{l}");
        }
        assert!(is_failure_line(b"E1207 10:00:00.000000 1 x.go:1] something broke"));
        assert!(!is_failure_line(b"W1207 10:00:00.000000 1 x.go:1] something odd"));
        // logrus (containerd, CRI-O): the level decides.
        assert!(is_failure_line(b"time=\"2026-12-07T10:00:00Z\" level=error msg=\"boom\""));
        assert!(is_failure_line(b"time=\"2026-12-07T10:00:00Z\" level=fatal msg=\"boom\""));
        assert!(!is_failure_line(b"time=\"2026-12-07T10:00:00Z\" level=info msg=\"error count 0\""));
        assert!(is_failure_line(b"time=\"2026-12-07T10:00:00Z\" level=warning msg=\"failed to load plugin\""));
        // Short lines and empty ones after a journald prefix are read without panicking.
        for l in ["", "E", "x]: ", "x]: E12", "E1207 10:0"] {
            assert!(!is_failure_line(l.as_bytes()), "{l}");
        }
        for l in [
            "I1207 10:00:00.000000 1 x.go:1] retrying after error",
            "Dec 07 10:00:00 n kubelet[1]: I1207 10:00:00.000000 1 x.go:1] error is nil",
            "[kubelet-start] Starting the kubelet",
            "",
        ] {
            assert!(!is_failure_line(l.as_bytes()), "{l}");
        }
    }

    #[test]
    fn a_line_votes_for_each_domain_whose_words_it_uses() {
        let d = |l: &str| -> Vec<Domain> {
            let s = domains_of(l.as_bytes());
            Domain::ALL.iter().enumerate().filter(|(i, _)| s & (1 << i) != 0).map(|(_, d)| *d).collect()
        };
        assert_eq!(d("x509: certificate signed by unknown authority"), [Domain::Tls]);
        assert_eq!(d("dial tcp 10.0.0.1:6443: connect: connection refused"), [Domain::Network]);
        assert_eq!(d("failed to start containerd"), [Domain::Runtime]);
        assert_eq!(d("LOOKUP foo on 10.0.0.2:53: no such host"), [Domain::Dns]);
        assert!(d("something went wrong").is_empty());
    }

    #[test]
    fn the_domain_with_most_voting_lines_ranks_first_and_ties_go_to_the_earliest() {
        let mut u = Unmatched::default();
        u.add((0, 1), b"error: x509: bad thing", true, 100);
        u.add((0, 2), b"error: cgroup driver mismatch", is_failure_line(b"error: cgroup driver mismatch"), 100);
        u.add((0, 3), b"error: cgroup still wrong", is_failure_line(b"error: cgroup still wrong"), 100);
        u.add(
            (0, 4),
            b"I1207 10:00:00.000000 1 x.go:1] x509 error, informational",
            is_failure_line(b"I1207 10:00:00.000000 1 x.go:1] x509 error, informational"),
            100,
        );
        assert_eq!(u.count, 3);
        assert_eq!(u.ranked(), [(Domain::Runtime, 2), (Domain::Tls, 1)]);
        let mut t = Unmatched::default();
        t.add((0, 1), b"failed: cgroup", is_failure_line(b"failed: cgroup"), 100);
        t.add((0, 2), b"failed: x509", is_failure_line(b"failed: x509"), 100);
        assert_eq!(t.ranked(), [(Domain::Runtime, 1), (Domain::Tls, 1)]);
        t.clear();
        assert_eq!(t.count, 0);
        assert!(t.ranked().is_empty());
    }

    #[test]
    fn kept_lines_are_bounded() {
        let mut u = Unmatched::default();
        for i in 0..100 {
            u.add((0, i), b"error: cgroup", is_failure_line(b"error: cgroup"), 100);
        }
        assert_eq!((u.count, u.lines.len(), u.votes[10]), (100, MAX_UNMATCHED_LINES, 100));
    }
}
