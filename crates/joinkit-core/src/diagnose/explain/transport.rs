//! Go's and client-go's transport errors read by their structure: certificate validity (with
//! the times Go prints), DNS lookups, TCP dials and proxies.
//!
//! The shapes (upstream golang/go unless said):
//! - `src/crypto/x509/verify.go` `CertificateInvalidError.Error` (reason `Expired`): `x509:
//!   certificate has expired or is not yet valid: ` + `Detail`, where `isValid` sets `Detail`
//!   to `current time %s is before %s` (now, NotBefore) or `current time %s is after %s` (now,
//!   NotAfter), both `time.RFC3339` (`2006-01-02T15:04:05Z07:00`). The detail exists since Go
//!   ~1.14/1.15; before it the text ends at `not yet valid`, which cannot tell the two apart
//!   (the catalog's `x509-expired-or-not-yet-valid` keeps those lines). Go 1.20+ wraps every
//!   verification error in `tls.CertificateVerificationError`: `tls: failed to verify
//!   certificate: x509: ...`; older servers said `tls: failed to verify client's certificate:
//!   x509: ...`. The rule reads the `x509: ` text wherever it is, so every wrapper gives the same
//!   class.
//! - kubernetes/kubernetes `cmd/kubeadm/app/util/pkiutil/pki_helpers.go` `ValidateCertPeriod`
//!   (kubeadm's own check of the certificates it loads): `the certificate is not valid yet: %s`
//!   and `the certificate has expired: %s`, the detail `NotBefore: %v, NotAfter: %v`.
//! - `src/net/dnsclient.go`/`net.go` `DNSError.Error`: `lookup ` + name + (` on ` + server) +
//!   `: ` + err: whatever the inner error (no such host, server misbehaving, i/o timeout, a
//!   refused or unreachable DNS server), the name did not resolve.
//! - `src/net/net.go` `OpError.Error`: op (`dial`, `read`, `write`), ` `, net (`tcp`, `tcp4`,
//!   `tcp6`, `udp`), ` `, [source `->`] address, `: `, [the syscall (`connect`; `getsockopt`
//!   in Go < ~1.11; `read`, `write`) `: `] errno text (`connection refused`, `connection reset
//!   by peer`, `no route to host`, `i/o timeout`, ...).
//! - `src/net/http/transport.go`: a dial to the proxy fails as `proxyconnect tcp: <OpError>`; a
//!   proxy that refuses the CONNECT answers with its status text (`Proxy Authentication
//!   Required`).
//!
//! [`class_of`] decides a line's class; explain-log runs it as one structural rule: the
//! catalog's literal automaton finds one of [`LITERALS`] in a line, and the rule adds its finding
//! where no catalog cause but the generic ones of the class ([`Class::supersedes`]) matched, and
//! no matched signature masks those generic ones (kubeadm's kubelet health check masks the
//! refused dial to 127.0.0.1:10248: the line is not a network fault). A dial the catalog already
//! names keeps its catalog finding: the rule fills the gaps (a reset connection, Go < 1.11's
//! `getsockopt: no route to host`).

use super::catalog::{Signature, Source, ROLE_CAUSE};
use crate::error::Domain;
use regex::Regex;
use std::sync::OnceLock;

/// A class of transport error explain-log reports ([`class_of`]); the index of its signature in
/// [`signatures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A certificate not valid yet: the clock of the machine checking it is behind the
    /// certificate's NotBefore (or the machine that made it had its clock ahead). Clock.
    NotYetValid = 0,
    /// A certificate past its NotAfter: it expired. TLS.
    Expired = 1,
    /// A name that did not resolve (`lookup NAME[ on SERVER]: ...`). DNS.
    Lookup = 2,
    /// A TCP connection refused, reset, unroutable or timed out, in a wording no catalog entry
    /// names. Network.
    Dial = 3,
    /// An HTTP(S) proxy in the way: the dial to the proxy failed, or the proxy refused the
    /// CONNECT. Network.
    Proxy = 4,
    /// A certificate error on a request to an image registry (the OCI distribution API's
    /// `/v2/<name>/manifests|blobs/` paths, or a pull): the container runtime does not trust
    /// the registry, which is the runtime's configuration (its CA, mirror or `insecure`
    /// settings), not the join's TLS. Runtime.
    Registry = 5,
}

/// Every class, in index order.
pub const CLASSES: [Class; 6] =
    [Class::NotYetValid, Class::Expired, Class::Lookup, Class::Dial, Class::Proxy, Class::Registry];

impl Class {
    /// The catalog ids the class supersedes on a line it decides: the generic entries for the
    /// same text, whose domain the structure corrects or whose meaning it sharpens.
    pub fn supersedes(self) -> &'static [&'static str] {
        match self {
            // A pull of the sandbox image that failed on a certificate not valid yet is the
            // clock's fault: the wrapped error decides.
            Class::NotYetValid => &["x509-expired-or-not-yet-valid", "runtime-sandbox-image-pull"],
            Class::Expired => &["x509-expired-or-not-yet-valid"],
            // A lookup's own texts ("no such host", "server misbehaving") stay the catalog's
            // `dns-no-such-host` (the same domain); the rule corrects the dials it wraps.
            Class::Lookup => &["net-io-timeout", "net-connection-refused", "net-no-route"],
            Class::Proxy => &["dns-no-such-host", "net-io-timeout", "net-connection-refused", "net-no-route"],
            // Fills gaps only: a dial the catalog names keeps its entry.
            Class::Dial => &[],
            // The certificate texts are the catalog's; who refused whom is the structure.
            Class::Registry => &["x509-unknown-authority", "x509-not-valid-for-name", "x509-other"],
        }
    }
}

/// Every catalog id some class supersedes: a line with another catalog cause is no candidate.
pub(crate) const SUPERSEDED_ANY: [&str; 9] = [
    "x509-expired-or-not-yet-valid",
    "x509-unknown-authority",
    "x509-not-valid-for-name",
    "x509-other",
    "runtime-sandbox-image-pull",
    "dns-no-such-host",
    "net-io-timeout",
    "net-connection-refused",
    "net-no-route",
];

/// Groups of literals ([`LITERALS`]): which checks of [`class_in`] a line needs.
pub(crate) const G_CERT: u8 = 1;
/// A proxy's literal.
pub(crate) const G_PROXY: u8 = 2;
/// `lookup `.
pub(crate) const G_LOOKUP: u8 = 4;
/// A dial's literal.
pub(crate) const G_DIAL: u8 = 8;
/// A registry request's literal.
pub(crate) const G_REGISTRY: u8 = 16;
/// Every group.
pub(crate) const G_ALL: u8 = G_CERT | G_PROXY | G_LOOKUP | G_DIAL | G_REGISTRY;

/// The literals that make a line a candidate for the rule, with their group (the catalog's
/// automaton finds them and says which groups; [`class_in`] decides).
pub(crate) const LITERALS: [(&[u8], u8); 15] = [
    (b"not yet valid: current time ", G_CERT),
    (b"the certificate is not valid yet", G_CERT),
    (b"the certificate has expired", G_CERT),
    (b"lookup ", G_LOOKUP),
    (b"dial tcp", G_DIAL),
    (b"read tcp", G_DIAL),
    (b"write tcp", G_DIAL),
    (b"dial udp", G_DIAL),
    (b"read udp", G_DIAL),
    (b"context deadline exceeded", G_DIAL),
    (b"proxyconnect tcp", G_PROXY),
    (b"Proxy Authentication Required", G_PROXY),
    (b"failed to do connect handshake", G_PROXY),
    (b"/manifests/", G_REGISTRY),
    (b"/blobs/", G_REGISTRY),
];

/// The inner errors of a `DNSError` and of an `OpError` that the rule reads (Go's
/// `errNoSuchHost`, `errServerMisbehaving`, `errNoAnswerFromDNSServer`, the resolver's
/// timeout, the errno texts of `syscall.Errno` on Linux, the cgo resolver's `gai_strerror`).
const NET_ERRORS: &str = r"no such host|server misbehaving|no answer from DNS server|i/o timeout|connection refused|connection reset by peer|no route to host|network is unreachable|connection timed out|broken pipe|host is down|operation timed out|Temporary failure in name resolution|Name or service not known|cannot unmarshal DNS message|read udp|dial udp|read: |write: |connect: ";

struct Res {
    validity: Regex,
    lookup: Regex,
    dial: Regex,
    request: Regex,
    registry: Regex,
}

fn res() -> &'static Res {
    static R: OnceLock<Res> = OnceLock::new();
    R.get_or_init(|| {
        let re = |p: String| Regex::new(&p).expect("a valid regex (tested)");
        Res {
            validity: re(r"not yet valid: current time (\S+) is (before|after) (\S+)".into()),
            lookup: re(format!(r"\blookup ([A-Za-z0-9_.\-]+)(?: on (\S+?))?: (?:{NET_ERRORS})")),
            dial: re(
                r"\b(dial|read|write) (tcp|tcp4|tcp6|udp|udp4|udp6) (?:(\S+)->)?(\S+): (?:(connect|getsockopt|read|write): )?(connection refused|connection reset by peer|no route to host|network is unreachable|i/o timeout|connection timed out|broken pipe|host is down|operation timed out)"
                .into(),
            ),
            request: re(
                r#"\b(?:Get|Post|Put|Patch|Delete|Head) \\?"?https?://([^/\s"\\?]+)[^\s"\\]*\\?"?: (context deadline exceeded)"#
                    .into(),
            ),
            // The OCI distribution API (distribution-spec: `/v2/<name>/manifests/<reference>`,
            // `/v2/<name>/blobs/<digest>`), then Go's x509 error on that request.
            registry: re(r"https?://[^/\s]+/v2/\S*/(?:manifests|blobs)/\S*: .*x509: ".into()),
        }
    })
}

/// The text of a line up to its first invalid UTF-8 byte (Go's error texts are ASCII).
fn text(line: &[u8]) -> &str {
    match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Substring searchers for the literals, built once (a `memmem::find` builds one per call).
struct Finders {
    go_validity: memchr::memmem::Finder<'static>,
    not_yet: memchr::memmem::Finder<'static>,
    expired: memchr::memmem::Finder<'static>,
    lookup: memchr::memmem::Finder<'static>,
    proxy: [memchr::memmem::Finder<'static>; 3],
    registry: [memchr::memmem::Finder<'static>; 2],
    dial: [memchr::memmem::Finder<'static>; 6],
}

fn finders() -> &'static Finders {
    static F: OnceLock<Finders> = OnceLock::new();
    F.get_or_init(|| {
        let f = memchr::memmem::Finder::new;
        Finders {
            go_validity: f("not yet valid: current time "),
            not_yet: f("the certificate is not valid yet"),
            expired: f("the certificate has expired"),
            lookup: f("lookup "),
            proxy: [f("proxyconnect tcp"), f("Proxy Authentication Required"), f("failed to do connect handshake")],
            registry: [f("/manifests/"), f("/blobs/")],
            dial: [
                f("dial tcp"),
                f("read tcp"),
                f("write tcp"),
                f("dial udp"),
                f("read udp"),
                f("context deadline exceeded"),
            ],
        }
    })
}

/// The class of `line`, if it is a transport error the rule decides by its structure.
pub fn class_of(line: &[u8]) -> Option<Class> {
    class_in(line, G_ALL, true)
}

/// [`class_of`], looking only at the checks of `groups` (the groups of the literals the line
/// has: a literal's first bytes are in it, or the check cannot succeed), and for
/// [`Class::Dial`] (which only fills gaps) only if `gap`: a line the catalog already gives a
/// failure is no gap, and a dial's regex is the costly part.
pub(crate) fn class_in(line: &[u8], groups: u8, gap: bool) -> Option<Class> {
    let f = finders();
    if groups & G_CERT != 0 {
        if let Some(v) = validity(line) {
            return Some(v.class);
        }
    }
    if groups & G_PROXY != 0 && f.proxy.iter().any(|p| p.find(line).is_some()) {
        return Some(Class::Proxy);
    }
    if groups & G_REGISTRY != 0
        && f.registry.iter().any(|p| p.find(line).is_some())
        && res().registry.is_match(text(line))
    {
        return Some(Class::Registry);
    }
    if groups & G_LOOKUP != 0 && f.lookup.find(line).is_some() && res().lookup.is_match(text(line)) {
        return Some(Class::Lookup);
    }
    let dial = gap
        && groups & G_DIAL != 0
        && f.dial.iter().any(|d| d.find(line).is_some())
        && (res().dial.is_match(text(line)) || request(text(line)).is_some());
    dial.then_some(Class::Dial)
}

/// A certificate validity error taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity<'a> {
    /// Not yet valid or expired.
    pub class: Class,
    /// The current time of the machine that checked it, as printed (Go's form only).
    pub now: Option<&'a str>,
    /// The bound it crossed (NotBefore when not yet valid, NotAfter when expired), as printed.
    pub bound: Option<&'a str>,
    /// `now` minus `bound`, in seconds, when both parse as RFC 3339.
    pub delta: Option<i64>,
}

/// Reads a certificate validity error: Go's `... not yet valid: current time T is before|after
/// B`, or kubeadm's `the certificate is not valid yet: ...` / `the certificate has expired:
/// ...` (their NotBefore or NotAfter as the bound).
pub fn validity(line: &[u8]) -> Option<Validity<'_>> {
    let f = finders();
    if f.go_validity.find(line).is_some() {
        let t = text(line);
        let c = res().validity.captures(t)?;
        let (now, word, bound) = (c.get(1)?.as_str(), c.get(2)?.as_str(), c.get(3)?.as_str());
        let bound = bound.trim_end_matches(['"', '\\', ')', ']', ',', '.', ';']);
        let class = if word == "before" { Class::NotYetValid } else { Class::Expired };
        let delta = rfc3339(now).zip(rfc3339(bound)).map(|(n, b)| n - b);
        return Some(Validity { class, now: Some(now), bound: Some(bound), delta });
    }
    let kubeadm = |lit: &memchr::memmem::Finder<'static>, class: Class, field: &str| -> Option<Validity<'_>> {
        let at = lit.find(line)?;
        let rest = text(&line[at..]);
        let bound = rest.split_once(field).map(|(_, b)| b.split(", ").next().unwrap_or(b).trim());
        Some(Validity { class, now: None, bound, delta: None })
    };
    kubeadm(&f.not_yet, Class::NotYetValid, "NotBefore: ").or_else(|| kubeadm(&f.expired, Class::Expired, "NotAfter: "))
}

/// A TCP/UDP `OpError` in `line`: (address, errno text).
pub fn dial(line: &[u8]) -> Option<(&str, &str)> {
    if !finders().dial.iter().any(|d| d.find(line).is_some()) {
        return None;
    }
    let t = text(line);
    match res().dial.captures(t) {
        Some(c) => Some((c.get(4)?.as_str(), c.get(6)?.as_str())),
        None => request(t),
    }
}

/// net/http's request to a remote host that timed out (`url.Error` wrapping the request
/// context's deadline): (host, `context deadline exceeded`). A loopback host is a local health
/// check (kubeadm's of the kubelet on 127.0.0.1:10248), not the network.
fn request(t: &str) -> Option<(&str, &str)> {
    let c = res().request.captures(t)?;
    let host = c.get(1)?.as_str();
    let local = ["localhost", "127.", "[::1]"].iter().any(|l| host.starts_with(l));
    (!local).then_some((host, c.get(2)?.as_str()))
}

/// Seconds since the Unix epoch of an RFC 3339 time as Go prints it
/// (`2006-01-02T15:04:05Z07:00`, fractional seconds allowed).
pub fn rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter().all(u8::is_ascii_digit).then(|| d.iter().fold(0i64, |a, c| a * 10 + i64::from(c - b'0')))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    let offset = match b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let o = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// A duration in seconds as words: the two largest units (`3 days 4 hours`, `12 minutes`).
pub fn human(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let units = [("year", 365 * 86_400), ("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)];
    let mut out = Vec::new();
    let mut rest = s;
    for (name, size) in units {
        if rest >= size && out.len() < 2 {
            let n = rest / size;
            rest %= size;
            out.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
        } else if !out.is_empty() {
            break;
        }
    }
    if out.is_empty() {
        "0 seconds".into()
    } else {
        out.join(" ")
    }
}

/// The meaning of a finding of class `c` whose first line is `line`: the fixed meaning with
/// what the line carries (the times, the name, the address).
pub fn meaning(c: Class, line: &str) -> String {
    let base = &signatures()[c as usize].meaning;
    let b = line.as_bytes();
    let detail = match c {
        Class::NotYetValid | Class::Expired => validity(b).and_then(|v| match (v.now, v.bound, v.delta) {
            (Some(now), Some(bound), Some(d)) if c == Class::NotYetValid => {
                Some(format!("the clock read {now}, {} before the certificate's NotBefore {bound}", human(d)))
            }
            (Some(now), Some(bound), Some(d)) => {
                Some(format!("the certificate's NotAfter is {bound}; the clock read {now}, {} later", human(d)))
            }
            (_, Some(bound), _) if c == Class::NotYetValid => Some(format!("NotBefore {bound}")),
            (_, Some(bound), _) => Some(format!("NotAfter {bound}")),
            _ => None,
        }),
        Class::Lookup => res().lookup.captures(line).map(|cap| {
            let name = cap.get(1).map_or("", |m| m.as_str());
            match cap.get(2) {
                Some(server) => format!("{name:?} did not resolve (DNS server {})", server.as_str()),
                None => format!("{name:?} did not resolve"),
            }
        }),
        Class::Dial => dial(b).map(|(addr, errno)| format!("{addr}: {errno}")),
        Class::Proxy | Class::Registry => None,
    };
    match detail {
        Some(d) => format!("{d}: {base}"),
        None => base.clone(),
    }
}

const F_VERIFY: &str = "golang/go src/crypto/x509/verify.go";
const F_PKI: &str = "kubernetes/kubernetes cmd/kubeadm/app/util/pkiutil/pki_helpers.go";
const F_NET: &str = "golang/go src/net/net.go";
const F_DNS: &str = "golang/go src/net/net.go (DNSError)";
const F_HTTP: &str = "golang/go src/net/http/transport.go";

/// The rule's signatures, in [`Class`] order.
pub(crate) fn signatures() -> &'static [Signature] {
    static S: OnceLock<Vec<Signature>> = OnceLock::new();
    S.get_or_init(|| {
        let src = |file: &str, releases: &str, wording: &str, evidence: &str| Source {
            file: file.into(),
            releases: releases.into(),
            wording: wording.into(),
            evidence: evidence.into(),
        };
        let sig = |id: &str, domain: Domain, pattern: &str, meaning: &str, fix: &str, sources: Vec<Source>| Signature {
            id: id.into(),
            domain: Some(domain),
            role: ROLE_CAUSE.into(),
            pattern: pattern.into(),
            masks: Vec::new(),
            meaning: meaning.into(),
            fix: fix.into(),
            sources,
            examples: Vec::new(),
            explains: Vec::new(),
            normal_after_join: false,
        };
        let verify = "index-id 57561786 (isValid: Detail: fmt.Sprintf(\"current time %s is before %s\", now.Format(time.RFC3339), ...)); index-id 5139884243 (CertificateInvalidError.Error)";
        let pki = "index-id 58245222 (ValidateCertPeriod: errors.Errorf(\"the certificate is not valid yet: %s\", period), period NotBefore: %v, NotAfter: %v)";
        // A certificate outside its validity explains the kubelet's refusals and its fallback to
        // the bootstrap kubeconfig (the catalog's `explains`).
        let validity = |s: Signature| Signature {
            explains: vec!["kubelet-unauthorized".into(), "kubelet-bootstrap-kubeconfig-missing".into()],
            ..s
        };
        vec![
            validity(sig("x509-not-yet-valid", Domain::Clock, r"is not yet valid: current time \S+ is before |the certificate is not valid yet",
                "a certificate is not valid yet: the clock of the machine that checked it is behind (or the machine that made the certificate had its clock ahead)",
                "set the clock right on both machines and keep it synchronised (timedatectl set-ntp true; chronyc tracking); a certificate made with a wrong clock must be made again (kubeadm certs renew)",
                vec![
                    src(F_VERIFY, "Go ~1.14-1.2x (Kubernetes ~1.18-1.36)", "x509: certificate has expired or is not yet valid: current time %s is before %s", verify),
                    src(F_VERIFY, "Go 1.20+ (Kubernetes ~1.27-1.36): tls.CertificateVerificationError", "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time %s is before %s", verify),
                    src(F_PKI, "~1.13-1.36", "the certificate is not valid yet: NotBefore: %v, NotAfter: %v", pki),
                ])),
            validity(sig("x509-expired", Domain::Tls, r"is not yet valid: current time \S+ is after |the certificate has expired",
                "a certificate has expired (its NotAfter is past): renew it; only if the clock is ahead of the real time is it the clock instead",
                "check with openssl x509 -noout -enddate -in CERT (kubeadm certs check-expiration on a control-plane node); renew (kubeadm certs renew all, then restart the control-plane pods; a kubelet's client certificate: rejoin or restore rotation); date -u rules out a clock ahead",
                vec![
                    src(F_VERIFY, "Go ~1.14-1.2x (Kubernetes ~1.18-1.36)", "x509: certificate has expired or is not yet valid: current time %s is after %s", verify),
                    src(F_VERIFY, "Go 1.20+ (Kubernetes ~1.27-1.36): tls.CertificateVerificationError", "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time %s is after %s", verify),
                    src(F_PKI, "~1.13-1.36", "the certificate has expired: NotBefore: %v, NotAfter: %v", pki),
                ])),
            sig("dns-lookup-failed", Domain::Dns, r"lookup \S+( on \S+)?: ",
                "a name did not resolve on this node (no record, a DNS server that fails or cannot be reached, or a search domain that does not apply)",
                "getent hosts NAME and cat /etc/resolv.conf on this node; fix the record or the resolver, or use an address (or an /etc/hosts entry)",
                vec![
                    src(F_DNS, "Go 1.x (Kubernetes 1.10-1.36)", "dial tcp: lookup %s on %s: no such host", "index-id 17214808123 (a kubeadm token.go lookup line); DNSError.Error: \"lookup \" + e.Name + \" on \" + e.Server + \": \" + e.Err"),
                    src(F_DNS, "Go 1.x", "dial tcp: lookup %s on %s: server misbehaving", "DNSError (errServerMisbehaving)"),
                    src(F_DNS, "Go 1.x", "dial tcp: lookup %s on %s: read udp %s->%s: i/o timeout", "DNSError wrapping the resolver's timeout"),
                    src(F_DNS, "Go 1.x, cgo resolver", "dial tcp: lookup %s: Temporary failure in name resolution", "DNSError with getaddrinfo's gai_strerror"),
                ]),
            sig("net-dial-failed", Domain::Network, r"(dial|read|write) (tcp|udp)[46]? \S+: ",
                "a TCP connection failed (refused, reset, unroutable or timed out), or a request to a remote host timed out: a firewall, a down or wrong endpoint, a middlebox (load balancer, proxy) dropping it, or (a timeout only) a server too slow to answer",
                "check the endpoint from this node (nc -vz HOST PORT; curl -vk https://HOST:PORT/healthz), the firewall and security groups on the way, and the load balancer's backends",
                vec![
                    src(F_NET, "Go 1.x (Kubernetes 1.10-1.36)", "read tcp %s->%s: read: connection reset by peer", "OpError.Error: op + \" \" + net + \" \" + source + \"->\" + addr + \": \" + err"),
                    src(F_NET, "Go < ~1.11 (Kubernetes <= ~1.11)", "dial tcp %s: getsockopt: no route to host", "OpError with the getsockopt syscall of older Go; cf. net-connection-refused's getsockopt source"),
                    src(F_NET, "Go 1.x", "write tcp %s->%s: write: broken pipe", "OpError"),
                    src(F_HTTP, "Go 1.x (client-go requests with a context or a timeout)", "Get \"https://10.0.0.10:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": context deadline exceeded", "url.Error (Op URL: Err) wrapping context.DeadlineExceeded"),
                ]),
            sig("net-proxy", Domain::Network, r"proxyconnect tcp|Proxy Authentication Required|failed to do connect handshake",
                "an HTTP(S) proxy is in the way (HTTPS_PROXY/HTTP_PROXY in the environment of kubeadm, the kubelet or the runtime): the proxy cannot be reached, or refuses the CONNECT; traffic to the cluster should not go through it",
                "add the API server's address, the node and pod/service CIDRs and .svc,.cluster.local to NO_PROXY (no_proxy) for kubeadm, the kubelet and the container runtime, or fix the proxy address and credentials",
                vec![
                    src(F_HTTP, "Go 1.x (Kubernetes 1.10-1.36)", "proxyconnect tcp: dial tcp %s: connect: connection refused", "Transport.dialConn wraps the proxy dial in &net.OpError{Op: \"proxyconnect\", Net: \"tcp\", ...}"),
                    src(F_HTTP, "Go 1.x", "Get \"https://10.0.0.10:6443/version\": Proxy Authentication Required", "Transport.dialConn: a non-200 CONNECT answer returns the proxy's status text as the error"),
                    src("grpc/grpc-go internal/transport/proxy.go (doHTTPConnectHandshake; etcd's and containerd's clients)", "grpc-go 1.x", "failed to do connect handshake, response: %q", "index-id 18135332 and index-id 13100613718 (fmt.Errorf(\"failed to do connect handshake, response: %q\", dump)); \"status code: %s\" when the reply cannot be dumped"),
                ]),
            sig("runtime-registry-untrusted", Domain::Runtime, r"https?://[^/\s]+/v2/\S*/(manifests|blobs)/\S*: .*x509: ",
                "the container runtime refused an image registry's certificate (the request is the OCI distribution API's manifest or blob fetch): the registry's CA is not trusted by the runtime, or the name is not in its certificate; this is the runtime's registry configuration, not the join's TLS",
                "make the runtime trust the registry: containerd /etc/containerd/certs.d/HOST/hosts.toml (ca = ...; containerd < 1.5: registry.configs.\"HOST\".tls in config.toml), CRI-O /etc/containers/certs.d/HOST/ca.crt, Docker /etc/docker/certs.d/HOST/ca.crt, then restart the runtime; or fix the registry's certificate",
                vec![
                    src("opencontainers/distribution-spec spec.md (GET/HEAD /v2/<name>/manifests/<reference>, /v2/<name>/blobs/<digest>)", "all registries", "failed to do request: Head https://%s/v2/%s/manifests/%s: x509: certificate signed by unknown authority", "containerd remotes/docker/resolver.go (\"failed to do request\"), the distribution spec's paths"),
                ]),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superseded_any_is_the_union_of_the_classes_and_names_catalog_entries() {
        let mut union: Vec<&str> = CLASSES.iter().flat_map(|c| c.supersedes().iter().copied()).collect();
        union.sort_unstable();
        union.dedup();
        let mut any = SUPERSEDED_ANY.to_vec();
        any.sort_unstable();
        assert_eq!(union, any);
        let cat = super::super::catalog::catalog();
        for id in SUPERSEDED_ANY {
            assert!(cat.signatures.iter().any(|s| s.id == id), "{id}");
        }
        for (i, c) in CLASSES.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(cat.transport_class(cat.transport_index(*c)), Some(*c));
        }
    }

    #[test]
    fn rfc3339_as_go_prints_it() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("2021-04-01T15:31:09Z"), Some(1_617_291_069));
        // The same instant with an offset, and fractional seconds.
        assert_eq!(rfc3339("2021-04-01T17:31:09+02:00"), Some(1_617_291_069));
        assert_eq!(rfc3339("2021-04-01T10:31:09.123-05:00"), Some(1_617_291_069));
        for bad in ["2021-04-01", "2021-13-01T00:00:00Z", "2021-04-01T00:00:00", "2021-04-01T00:00:00+0200", "x"] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
        assert_eq!(human(3 * 86_400 + 4 * 3600 + 5), "3 days 4 hours");
        assert_eq!(human(60), "1 minute");
    }

    #[test]
    fn before_is_the_clock_and_after_is_an_expired_certificate_in_every_go_wording() {
        let before = "x509: certificate has expired or is not yet valid: current time 2021-04-01T14:43:32+02:00 is before 2021-04-01T15:31:09Z";
        let after = "x509: certificate has expired or is not yet valid: current time 2026-12-07T10:00:00Z is after 2026-11-21T08:00:00Z";
        for (line, class) in [(before, Class::NotYetValid), (after, Class::Expired)] {
            for wrapped in [
                line.to_string(),
                format!("Get \"https://10.0.0.10:6443/api\": tls: failed to verify certificate: {line}"),
                format!("E1207 reflector.go:1] \"Unhandled Error\" err=\"Get \\\"https://x/\\\": {line}\""),
                format!("rejected connection (error \"tls: failed to verify client's certificate: {line}\")"),
            ] {
                assert_eq!(class_of(wrapped.as_bytes()), Some(class), "{wrapped}");
            }
        }
        let v = validity(before.as_bytes()).unwrap();
        assert_eq!(v.delta, Some(-(2 * 3600 + 47 * 60 + 37)), "12:43:32Z is 2h47m37s before 15:31:09Z");
        let quoted = format!("{after}\"");
        let v = validity(quoted.as_bytes()).unwrap();
        assert_eq!((v.bound, v.delta), (Some("2026-11-21T08:00:00Z"), Some(16 * 86_400 + 2 * 3600)));
        // Without the detail (Go < ~1.14) the rule decides nothing: the catalog keeps the line.
        assert_eq!(class_of(b"x509: certificate has expired or is not yet valid"), None);
        // kubeadm's own check.
        let k = "failure loading certificate for API server: the certificate has expired: NotBefore: 2019-01-01 00:00:00 +0000 UTC, NotAfter: 2020-01-01 00:00:00 +0000 UTC";
        let v = validity(k.as_bytes()).unwrap();
        assert_eq!((v.class, v.bound), (Class::Expired, Some("2020-01-01 00:00:00 +0000 UTC")));
        let k = "the certificate is not valid yet: NotBefore: 2030-01-01 00:00:00 +0000 UTC, NotAfter: 2031-01-01 00:00:00 +0000 UTC";
        assert_eq!(class_of(k.as_bytes()), Some(Class::NotYetValid));
        assert!(meaning(Class::NotYetValid, before)
            .starts_with("the clock read 2021-04-01T14:43:32+02:00, 2 hours 47 minutes before"));
        assert!(meaning(Class::Expired, after).contains("16 days 2 hours later"), "{}", meaning(Class::Expired, after));
    }

    #[test]
    fn lookups_dials_and_proxies() {
        for l in [
            "dial tcp: lookup cp.example.com on 10.0.0.2:53: no such host",
            "dial tcp: lookup cp.example.com on 10.0.0.2:53: read udp 10.0.0.5:40000->10.0.0.2:53: i/o timeout",
            "dial tcp: lookup cp.example.com on 127.0.0.53:53: server misbehaving",
            "dial tcp: lookup cp.example.com: Temporary failure in name resolution",
            "Get \"https://cp:6443/version\": dial tcp: lookup cp on 10.96.0.10:53: dial udp 10.96.0.10:53: connect: network is unreachable",
        ] {
            assert_eq!(class_of(l.as_bytes()), Some(Class::Lookup), "{l}");
        }
        assert_eq!(class_of(b"failed to lookup image: not found"), None);
        // A registry's certificate refused by the runtime: the request is the OCI
        // distribution API's; the same x509 text on a request to the API server is not.
        for l in [
            "failed to do request: Head https://registry.example.com/v2/core/portal-backend/manifests/1: x509: certificate signed by unknown authority",
            r#"failed to pull image "registry.example.com/pause:3.9": failed to resolve reference: failed to do request: Head "https://registry.example.com/v2/pause/manifests/3.9": tls: failed to verify certificate: x509: certificate signed by unknown authority"#,
            "GET https://r.example.com:5000/v2/app/blobs/sha256:0123: x509: certificate is valid for a.example.com, not r.example.com",
        ] {
            assert_eq!(class_of(l.as_bytes()), Some(Class::Registry), "{l}");
        }
        assert_eq!(
            class_of(b"Get \"https://10.0.0.10:6443/api/v1/nodes\": x509: certificate signed by unknown authority"),
            None
        );
        // The clock's verdict comes first: a registry certificate not yet valid is the clock.
        assert_eq!(
            class_of(b"Head https://r.example.com/v2/a/manifests/1: x509: certificate has expired or is not yet valid: current time 2020-01-01T00:00:00Z is before 2024-01-01T00:00:00Z"),
            Some(Class::NotYetValid)
        );
        // grpc-go's CONNECT handshake through a proxy.
        assert_eq!(
            class_of(
                br#"transport: Error while dialing failed to do connect handshake, response: "HTTP/1.1 403 Forbidden""#
            ),
            Some(Class::Proxy)
        );
        for l in [
            "read tcp 10.0.0.5:51234->10.0.0.10:6443: read: connection reset by peer",
            "dial tcp 10.0.2.15:6443: getsockopt: no route to host",
            "dial tcp [fd00::1]:6443: connect: connection refused",
            "write tcp 10.0.0.5:1->10.0.0.10:6443: write: broken pipe",
        ] {
            assert_eq!(class_of(l.as_bytes()), Some(Class::Dial), "{l}");
        }
        assert_eq!(
            dial(b"read tcp 10.0.0.5:51234->10.0.0.10:6443: read: connection reset by peer"),
            Some(("10.0.0.10:6443", "connection reset by peer"))
        );
        assert_eq!(class_of(b"dial unix /run/containerd/containerd.sock: connect: no such file or directory"), None);
        let timeout = "Get \"https://10.0.0.10:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": context deadline exceeded";
        assert_eq!(class_of(timeout.as_bytes()), Some(Class::Dial));
        assert_eq!(dial(timeout.as_bytes()), Some(("10.0.0.10:6443", "context deadline exceeded")));
        assert_eq!(class_of(b"Get \"http://127.0.0.1:10248/healthz\": context deadline exceeded"), None);
        assert_eq!(class_of(b"failed while waiting for TLS bootstrap: context deadline exceeded"), None);
        assert_eq!(
            class_of(b"Get \"https://10.0.0.10:6443/api\": proxyconnect tcp: dial tcp 10.0.0.1:3128: connect: connection refused"),
            Some(Class::Proxy)
        );
        assert_eq!(
            class_of(b"Get \"https://10.0.0.10:6443/version\": Proxy Authentication Required"),
            Some(Class::Proxy)
        );
        assert!(meaning(Class::Lookup, "dial tcp: lookup cp on 10.0.0.2:53: no such host")
            .starts_with("\"cp\" did not resolve (DNS server 10.0.0.2:53)"));
    }
}
