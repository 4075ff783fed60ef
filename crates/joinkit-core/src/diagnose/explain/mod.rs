//! `explain-log`: match kubeadm, kubelet, cloud-init or journalctl output against the catalog
//! of known join-failure signatures (`log-signatures.yaml`, compiled in; [`catalog`]) and name
//! the root cause, with the lines that decided it.
//!
//! Context rules (each has a test in `tests/it/explain_log.rs`):
//! - Only failure signatures (role `cause` or `symptom`) are findings; `progress` lines, which
//!   every join prints, are context and never a root cause.
//! - A log that reaches kubeadm join's final message ("This node has joined the cluster", role
//!   `success`) is a success: the failures before it were resolved by a later attempt (a retry
//!   after `kubeadm reset`) and are listed as `resolved`; failures after it still count.
//! - Repeated lines of one signature collapse into one finding with a count.
//! - A cause wins over symptoms wherever it appears: the root cause is the earliest cause, and
//!   only without any cause the earliest symptom (kubeadm's kubelet health check, a timeout).
//! - On one line, a specific signature masks the generic ones it names (`masks`), and among
//!   the rest the one written first in the catalog comes first.
//! - Every kubeadm preflight check is recognised by its name (`[ERROR <name>]`,
//!   `[WARNING <name>]`) through `preflight-checks.yaml` ([`preflight`](Table)), on lines no
//!   catalog failure signature matched; kubeadm <= 1.8's unnamed lines by the table's wordings.
//!   A named preflight warning (`preflight-warning-*`) yields to any other cause or symptom.
//! - The API server's status errors (`... is forbidden: User "X" cannot VERB resource ...`,
//!   the pre-1.11 `User "X" cannot VERB R in the namespace "NS"`, the node authorizer's and
//!   NodeRestriction's reasons, `Unauthorized`) are read by their structure ([`status`]): the
//!   subject and the object decide the domain (anonymous refused cluster-info: rbac; a 401 on
//!   token discovery: anonymous auth off, control-plane; a refused CSR creation: rbac; a node
//!   refused another node's object or its lease: node identity, node-state; anyone else: rbac,
//!   naming who was refused what). The rule supersedes the generic `rbac-forbidden` and
//!   `kubelet-unauthorized`, never a more specific catalog cause.
//! - Go's transport errors are read by their structure too ([`transport`]): x509's validity
//!   error with its times (`current time T is before NotBefore`: the clock; `is after
//!   NotAfter`: an expired certificate, tls), kubeadm's own wording of the same, a DNS lookup
//!   whatever its inner error (dns), a TCP dial the catalog does not name (network), a proxy
//!   in the way (network), in every Go release's wording and wrapper.
//! - A cause another finding explains is no root cause (the catalog's `explains`): the
//!   kubelet's expired client certificate explains the missing bootstrap kubeconfig and the
//!   `Unauthorized` lines, before or after it; a line that is the normal state after a
//!   successful join (`normal_after_join`: the bootstrap kubeconfig kubeadm removed) is no
//!   failure after kubeadm's success line.
//! - The report lists the lines that decided the root cause (`decidedBy`: file, line, signature
//!   and text), in JSON and in text.
//!
//! Streams line by line with a fixed buffer, so memory stays bounded whatever the log's size and
//! however long its lines: at most [`MAX_LINE_BYTES`] of a line are kept and matched, the rest
//! of an over-long line is skipped without buffering it, and the report says how many lines
//! were cut. A line ends at `\n`, `\r\n` or a lone `\r`, so line numbers and verdicts do not
//! depend on the log's line endings. Matching is one `regex::bytes::RegexSet` pass per line,
//! on bytes with Unicode mode off ([`catalog`]), so non-ASCII text, invalid UTF-8 and binary
//! input are read as fast as ASCII (`bench/explain_inputs.py`). Inputs are regular files,
//! pipes or FIFOs (`fsutil::open_stream`); devices and directories are refused.

mod catalog;
mod preflight;
mod scan;
pub mod status;
pub mod transport;
pub mod unmatched;

pub use catalog::{catalog, Catalog, Signature, Source, ROLES};
use catalog::{ROLE_CAUSE, ROLE_SYMPTOM};
pub use preflight::{Check, Table, UNKNOWN_DOMAIN};
pub use scan::{
    Finding, Joined, Location, ScanEnd, Scanner, MAX_LINES_PER_FINDING, MAX_LINE_BYTES, MAX_TEXTS_PER_FINDING,
    MAX_TEXT_CHARS,
};

use crate::error::{Code, Domain, Failure};
use crate::report::{Common, Report};
use serde::Serialize;

crate::stages! {
    /// The stages of `explain-log`: each input is read (a [`Common::Read`] record per file),
    /// then the findings are matched to a root cause.
    pub enum ExplainStage {
        /// The findings decide the root cause (or the log is clean).
        Match = "match",
    }
}

/// The most lines listed as deciding the root cause.
pub const MAX_DECIDERS: usize = 12;

/// A line that decided the root cause.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Decider {
    /// File name (`-` for stdin).
    pub source: String,
    /// 1-based line number.
    pub line: u64,
    /// The signature that matched it.
    pub signature: String,
    /// Its role (`cause` or `symptom`).
    pub role: String,
    /// `root cause` (a line of the root-cause finding) or `same domain` (the first line of
    /// another finding of the same domain and role, which supports the verdict).
    pub reason: &'static str,
    /// The line (at most [`MAX_TEXT_CHARS`] characters).
    pub text: String,
}

/// The lines that decided the root cause: the root finding's first lines (with their text),
/// then the first line of each other finding of the same domain and role.
pub(crate) fn deciders(root: &Finding, findings: &[Finding]) -> Vec<Decider> {
    let mut out: Vec<Decider> = root
        .lines
        .iter()
        .zip(root.texts.iter())
        .map(|(l, t)| Decider {
            source: l.source.clone(),
            line: l.line,
            signature: root.id.clone(),
            role: root.role.clone(),
            reason: "root cause",
            text: t.clone(),
        })
        .collect();
    for f in findings.iter().filter(|f| f.id != root.id && f.domain == root.domain && f.role == root.role) {
        let Some(l) = f.lines.first() else { continue };
        out.push(Decider {
            source: l.source.clone(),
            line: l.line,
            signature: f.id.clone(),
            role: f.role.clone(),
            reason: "same domain",
            text: f.texts.first().cloned().unwrap_or_else(|| f.example.clone()),
        });
    }
    out.truncate(MAX_DECIDERS);
    out
}

/// How sure the verdict is: `high`, `medium` or `low`, and why ([`confidence`]).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Confidence {
    /// `high`, `medium` or `low`.
    pub level: &'static str,
    /// Why, in one sentence.
    pub reason: String,
}

/// Another possible cause: a domain the log also points at, the line that points there, and
/// what would tell it from the verdict ([`unmatched::tell_apart`]).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Candidate {
    /// The domain.
    pub domain: Domain,
    /// The signature that points there (`unmatched-failure-line` for a failure line no
    /// signature knows, which points there by its words).
    pub signature: String,
    /// File name (`-` for stdin).
    pub source: String,
    /// 1-based line number.
    pub line: u64,
    /// The line (at most [`MAX_TEXT_CHARS`] characters).
    pub text: String,
    /// The check that confirms or rules this candidate out.
    pub tell_apart: &'static str,
}

/// The signature id of a verdict drawn from failure lines no signature knows.
pub const UNMATCHED_ID: &str = "unmatched-failure-line";

/// Whether a finding is weak evidence on its own: a preflight warning recognised only by its
/// check's name, a preflight check the table does not know, or a cause seen only on lines
/// kubeadm went on past ([`is_passed_warning`]).
fn weak(f: &Finding) -> bool {
    f.id.starts_with("preflight-warning-")
        || f.id == "preflight-check-unknown"
        || (!f.texts.is_empty() && f.texts.iter().all(|t| is_passed_warning(t)))
}

/// The other findings that could be the cause, one per other domain (the earliest): causes in
/// other domains (not weak ones), and, for a symptom, symptoms in other domains too. Then the
/// domains that unmatched failure lines point at, by their words.
fn candidates(root: &Finding, findings: &[Finding], un: &unmatched::Unmatched, sc: &Scanner) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut seen: Vec<Option<Domain>> = vec![root.domain];
    for f in findings {
        let counts = (f.role == ROLE_CAUSE && !weak(f)) || (root.role == ROLE_SYMPTOM && f.role == ROLE_SYMPTOM);
        if !counts || seen.contains(&f.domain) {
            continue;
        }
        let (Some(d), Some(l)) = (f.domain, f.lines.first()) else { continue };
        seen.push(f.domain);
        out.push(Candidate {
            domain: d,
            signature: f.id.clone(),
            source: l.source.clone(),
            line: l.line,
            text: f.texts.first().cloned().unwrap_or_else(|| f.example.clone()),
            tell_apart: unmatched::tell_apart(d),
        });
    }
    // Unmatched failure lines count only against a symptom or weak evidence: a cause the
    // catalog knows explains the unknown lines around it.
    if root.role == ROLE_SYMPTOM || weak(root) {
        for (d, _) in un.ranked() {
            if seen.contains(&Some(d)) {
                continue;
            }
            seen.push(Some(d));
            if let Some(c) = unmatched_candidate(d, un, sc) {
                out.push(c);
            }
        }
    }
    out.truncate(MAX_DECIDERS);
    out
}

/// The first kept unmatched failure line that voted for `d`, as a candidate.
fn unmatched_candidate(d: Domain, un: &unmatched::Unmatched, sc: &Scanner) -> Option<Candidate> {
    let i = Domain::ALL.iter().position(|x| *x == d)?;
    let (src, line, text, _) = &un.lines[un.first[i]?];
    Some(Candidate {
        domain: d,
        signature: UNMATCHED_ID.into(),
        source: sc.source_name(*src).to_string(),
        line: *line,
        text: text.clone(),
        tell_apart: unmatched::tell_apart(d),
    })
}

/// The confidence of a verdict whose root cause is `root` with `candidates` beside it:
/// - `high`: a cause signature (not weak evidence) and no cause in another domain;
/// - `medium`: a cause with causes in other domains beside it (the earliest decides; the others
///   are candidates), or a symptom (it points at a cause the log does not show);
/// - `low`: weak evidence only (a preflight warning, an unknown check, a warning kubeadm went on
///   past), or a verdict drawn from failure lines no signature knows.
fn confidence(root: &Finding, candidates: &[Candidate]) -> Confidence {
    if root.id == STOPPED_ID {
        return Confidence {
            level: "low",
            reason: "no failure line: the domain is what the last kubeadm step the log shows waits for".into(),
        };
    }
    if root.id == UNMATCHED_ID {
        return Confidence {
            level: "low",
            reason:
                "no known signature matched; the domain is the one most unmatched failure lines point at by their words"
                    .into(),
        };
    }
    if weak(root) {
        return Confidence {
            level: "low",
            reason:
                "the only evidence is a preflight warning, an unknown preflight check or a warning kubeadm went on past"
                    .into(),
        };
    }
    if root.role == ROLE_SYMPTOM {
        return Confidence {
            level: "medium",
            reason: format!(
                "a symptom ({}): it points at a cause the log does not show{}",
                root.id,
                if candidates.is_empty() { String::new() } else { "; see the candidates".into() }
            ),
        };
    }
    if candidates.is_empty() {
        Confidence { level: "high", reason: format!("a known cause ({}) and no cause in another domain", root.id) }
    } else {
        Confidence {
            level: "medium",
            reason: format!(
                "a known cause ({}), the earliest of causes in {} domains; the others are candidates",
                root.id,
                candidates.len() + 1
            ),
        }
    }
}

/// The verdict drawn from unmatched failure lines when no signature decides: the domain most
/// of them point at (a finding `unmatched-failure-line`), or none when no domain's words occur
/// or two domains tie (then the log cannot tell: undecidable).
fn unmatched_verdict(un: &unmatched::Unmatched, sc: &Scanner) -> Option<Finding> {
    let ranked = un.ranked();
    let (d, n) = *ranked.first()?;
    if ranked.get(1).is_some_and(|(_, m)| *m == n) {
        return None;
    }
    let i = Domain::ALL.iter().position(|x| *x == d)?;
    let voted: Vec<&(usize, u64, String, u16)> = un.lines.iter().filter(|l| l.3 & (1 << i) != 0).collect();
    let first = voted.first()?;
    Some(Finding {
        id: UNMATCHED_ID.into(),
        domain: Some(d),
        role: ROLE_SYMPTOM.into(),
        meaning: format!(
            "no known signature matched; {n} of {} failure line(s) no signature knows use the words of {} faults",
            un.count,
            d.as_str()
        ),
        fix: unmatched::tell_apart(d).into(),
        count: n,
        lines: voted.iter().map(|l| Location { source: sc.source_name(l.0).to_string(), line: l.1 }).collect(),
        example: first.2.chars().take(400).collect(),
        texts: voted.iter().take(MAX_TEXTS_PER_FINDING).map(|l| l.2.clone()).collect(),
        order: (first.0, first.1),
    })
}

/// The root cause id of a log that stops after one of kubeadm's steps with no failure line and
/// no success line ([`stopped_verdict`]).
pub const STOPPED_ID: &str = "kubeadm-stopped-at-step";

/// The tag of a kubeadm step line (`[csr] Created API client ...` gives `csr`): the bracketed
/// lower-case word kubeadm puts before every progress line (`cmd/kubeadm/app/cmd/phases/`,
/// `fmt.Printf("[tag] ...")`), if `line` starts with one it has used in releases 1.4-1.36.
pub(crate) fn kubeadm_step(line: &[u8]) -> Option<&'static (&'static str, Domain)> {
    let end = line.iter().take(24).position(|&b| b == b']')?;
    let tag = line.get(1..end)?;
    STEPS.iter().find(|(t, _)| t.as_bytes() == tag)
}

/// kubeadm's step tags and the domain of a join or init that stops after one without a
/// failure line: what the next step waits for. `preflight`, `discovery` and `bootstrap`: the
/// API server (discovery runs after the preflight checks, kubeadm 1.14+ under `[preflight]`);
/// `csr` and `tlsbootstrap` (1.6-1.12) and the TLS-bootstrap wait of `kubelet-start`: the CSR's
/// approval and signing; `kubelet-start`/`kubelet-check`: the kubelet; the control-plane steps:
/// the control plane. Tags from `cmd/kubeadm/app/cmd/phases/{join,init}/*.go` and the 1.6-1.8
/// `cmd/kubeadm/app/cmd/join.go`/`init.go` prints.
pub(crate) const STEPS: &[(&str, Domain)] = &[
    ("preflight", Domain::Network),
    ("discovery", Domain::Network),
    ("bootstrap", Domain::Network),
    ("csr", Domain::Csr),
    ("tlsbootstrap", Domain::Csr),
    ("kubelet-start", Domain::Runtime),
    ("kubelet-check", Domain::Runtime),
    ("kubelet-finalize", Domain::Runtime),
    ("kubelet", Domain::Runtime),
    ("wait-control-plane", Domain::ControlPlane),
    ("apiclient", Domain::ControlPlane),
    ("control-plane", Domain::ControlPlane),
    ("control-plane-join", Domain::ControlPlane),
    ("etcd", Domain::ControlPlane),
    ("upload-config", Domain::ControlPlane),
    ("upload-certs", Domain::ControlPlane),
    ("download-certs", Domain::ControlPlane),
    ("mark-control-plane", Domain::ControlPlane),
    ("bootstrap-token", Domain::ControlPlane),
    ("addons", Domain::ControlPlane),
    ("certs", Domain::Config),
    ("kubeconfig", Domain::Config),
    ("patches", Domain::Config),
];

/// The verdict for a log with no failure line and no success line whose last kubeadm step line
/// is `step`: the join stopped (hung, or was interrupted) waiting for what comes after it.
/// Confidence low: an excerpt may also just end there.
fn stopped_verdict(sc: &Scanner) -> Option<Finding> {
    let &(src, line, &(tag, d), ref text) = sc.last_step.as_ref()?;
    // kubelet-start's TLS-bootstrap wait is the CSR's approval and signing.
    let d = if tag == "kubelet-start" && text.contains("TLS Bootstrap") { Domain::Csr } else { d };
    Some(Finding {
        id: STOPPED_ID.into(),
        domain: Some(d),
        role: ROLE_SYMPTOM.into(),
        meaning: format!(
            "the log ends after kubeadm's [{tag}] step with no failure line and no success line: the join stopped (or the excerpt ends) waiting for what follows it ({} faults)",
            d.as_str()
        ),
        fix: unmatched::tell_apart(d).into(),
        count: 1,
        lines: vec![Location { source: sc.source_name(src).to_string(), line }],
        example: text.clone(),
        texts: vec![text.clone()],
        order: (src, line),
    })
}

/// "line N" (stdin) or "line N of FILE".
fn at_line(source: &str, line: u64) -> String {
    if source == "-" {
        format!("line {line}")
    } else {
        format!("line {line} of {source}")
    }
}

/// The root cause: the earliest cause, else the earliest symptom. Only failure findings count;
/// progress and success lines never become the root cause, even if passed in. A cause seen
/// only on lines where kubeadm says it went on ([`is_passed_warning`]: a preflight check it let
/// pass, a configuration it continued without) yields to a cause seen on any other line: what
/// stopped the join came later.
///
/// A preflight warning recognised only by its check's name (`preflight-warning-*`: kubeadm went
/// on past it, and `[WARNING Service-Kubelet]` or `[WARNING SystemVerification]` are in most
/// joins) yields to symptoms too: it is the root cause only of a log with nothing else.
///
/// A cause that another finding of the log explains (the other's catalog entry lists it in
/// `explains`: an expired client certificate explains the kubelet's refusals and its fallback
/// to the bootstrap kubeconfig) is a consequence: the explaining cause is the root cause even
/// where the consequence came first.
pub fn root_cause(findings: &[Finding]) -> Option<&Finding> {
    let cat = catalog();
    let explained = |f: &Finding| {
        findings.iter().any(|g| g.id != f.id && cat.by_id(&g.id).is_some_and(|s| s.explains.contains(&f.id)))
    };
    let unexplained: Vec<&Finding> = findings.iter().filter(|f| !explained(f)).collect();
    let causes = || unexplained.iter().copied().filter(|f| f.role == ROLE_CAUSE);
    let only_warnings = |f: &Finding| !f.texts.is_empty() && f.texts.iter().all(|t| is_passed_warning(t));
    let named_warning = |f: &Finding| f.id.starts_with("preflight-warning-");
    causes()
        .find(|f| !only_warnings(f) && !named_warning(f))
        .or_else(|| causes().find(|f| !named_warning(f)))
        .or_else(|| unexplained.iter().copied().find(|f| f.role == ROLE_SYMPTOM))
        .or_else(|| causes().next())
        .or_else(|| findings.iter().find(|f| catalog::is_failure_role(&f.role)))
}

/// A line where kubeadm reports an error it went on past: a preflight warning,
/// `[WARNING CheckName]: ...` (`cmd/kubeadm/app/preflight/checks.go` `RunChecks`:
/// `\t[WARNING %s]: %v\n`, for a warning and for an error named in
/// `--ignore-preflight-errors`), or a component configuration it could not read
/// (`cmd/kubeadm/app/componentconfigs/configset.go`: `Warning: No %s config is loaded.
/// Continuing without it: %v`), or a `[preflight] WARNING: ` line (kubeadm <= 1.8's preflight
/// warnings, `fmt.Sprintf("[preflight] WARNING: %v\n", w)` in `RunChecks`, and ~1.12-1.34's
/// `[preflight] WARNING: Couldn't create the interface used for talking to the container
/// runtime: %v`, after which kubeadm skips the CRI check and goes on; `preflight-checks.yaml`'s
/// header).
pub(crate) fn is_passed_warning(line: &str) -> bool {
    let preflight = line
        .trim_start()
        .strip_prefix("[WARNING ")
        .is_some_and(|rest| rest.split_once("]:").is_some_and(|(name, _)| !name.contains(' ')));
    preflight
        || line.contains("[preflight] WARNING: ")
        || (line.contains("Warning: No ") && line.contains(" config is loaded. Continuing without it: "))
}

/// Runs explain-log over files (`-` or none: stdin) and builds the report.
pub fn explain(files: &[std::path::PathBuf]) -> Report {
    let mut report = Report::new("explain-log");
    let mut scanner = Scanner::new();
    let inputs: Vec<String> =
        if files.is_empty() { vec!["-".into()] } else { files.iter().map(|p| p.display().to_string()).collect() };
    for name in &inputs {
        report.start();
        let before = scanner.lines;
        let cut_before = scanner.truncated;
        let res = if name == "-" {
            scanner
                .scan(std::io::BufReader::with_capacity(1 << 20, std::io::stdin().lock()), name)
                .map_err(|e| format!("cannot read {name}: {e}"))
        } else {
            match crate::fsutil::open_stream(std::path::Path::new(name)) {
                Ok(f) => scanner
                    .scan(std::io::BufReader::with_capacity(1 << 20, f), name)
                    .map_err(|e| format!("cannot read {name}: {e}")),
                Err(crate::fsutil::ReadError::NotRegular { path, kind }) => Err(format!(
                    "expected a log file, a pipe or a FIFO at {path}; it is {kind}, which joinkit does not read"
                )),
                Err(e) => Err(e.to_string()),
            }
        };
        if let Err(message) = res {
            report.fail(
                Failure::new(Code::InputUnreadable, Common::Read, message)
                    .in_file(name)
                    .cause("the path is wrong, not readable, or not a log (a device or a directory)")
                    .fix("pass a log file, or pipe the log into `joinkit explain-log -`"),
            );
            return report;
        }
        let cut = scanner.truncated - cut_before;
        let lines = scanner.lines - before;
        if cut > 0 {
            report.record_file(
                Common::Read,
                name,
                crate::report::Status::Warn,
                format!(
                    "{lines} lines; {cut} longer than {}, matched on their first {} only",
                    crate::fsutil::human_size(MAX_LINE_BYTES as u64),
                    crate::fsutil::human_size(MAX_LINE_BYTES as u64)
                ),
            );
        } else {
            report.record_file(Common::Read, name, crate::report::Status::Pass, format!("{lines} lines"));
        }
    }
    let findings = scanner.findings();
    let resolved = scanner.resolved();
    let context = scanner.context();
    let joined = scanner.joined();
    report.start();
    report.set("lines", scanner.lines);
    report.set("truncatedLines", scanner.truncated);
    report.set("findings", &findings);
    report.set("resolved", &resolved);
    report.set("context", &context);
    report.set("joined", joined);
    let joined_at = joined.map(|j| format!("the join succeeded at {}", at_line(&j.source, j.line)));
    let un = &scanner.unmatched;
    if un.count > 0 {
        let lines: Vec<serde_json::Value> = un
            .lines
            .iter()
            .map(|(src, line, text, _)| serde_json::json!({"source": scanner.source_name(*src), "line": line, "text": text}))
            .collect();
        report.set("unmatchedFailureLines", serde_json::json!({"count": un.count, "first": lines}));
    }
    let fallback = if root_cause(&findings).is_none() { unmatched_verdict(un, &scanner) } else { None };
    let fallback = match fallback {
        None if root_cause(&findings).is_none() && un.count == 0 && joined.is_none() => stopped_verdict(&scanner),
        f => f,
    };
    if root_cause(&findings).is_none() && fallback.is_none() && un.count > 0 {
        return undecidable(report, un, &scanner, &resolved, joined_at);
    }
    let Some(root) = root_cause(&findings).or(fallback.as_ref()) else {
        report.set("verdict", "clean");
        let detail = match &joined_at {
            Some(j) if resolved.is_empty() => format!("{j}; no known join-failure signature after it"),
            Some(j) => format!(
                "{j}; {} earlier failure signature(s) before it, resolved by a later attempt; none after it",
                resolved.len()
            ),
            None => format!(
                "no known join-failure signature in {} lines ({} signatures checked)",
                scanner.lines,
                catalog().signatures.len()
            ),
        };
        report.pass(ExplainStage::Match, detail);
        match &joined_at {
            Some(j) if resolved.is_empty() => report.line(format!("clean: no known join failure in this log; {j}.")),
            Some(j) => {
                report.line(format!(
                    "ok: {j}; the failures before it were resolved by a later attempt (not a root cause):"
                ));
                for f in &resolved {
                    report.line(finding_text(f, " (resolved)"));
                }
            }
            None => report.line(
                "clean: no known join failure in this log, and no success line either (if the join hung, it stopped after the last step the log shows).",
            ),
        }
        return report;
    };
    let decided = deciders(root, &findings);
    let cands = candidates(root, &findings, un, &scanner);
    let conf = confidence(root, &cands);
    report.set("verdict", "root-cause");
    report.set("rootCause", root);
    report.set("confidence", &conf);
    report.set("candidates", &cands);
    report.set("decidedBy", &decided);
    for f in &resolved {
        report.line(finding_text(f, " (resolved)"));
    }
    if let Some(j) = &joined_at {
        report.line(format!("{j}, but failures follow it; they still count:"));
    }
    for f in &findings {
        let tag = if std::ptr::eq(f, root) { " (root cause)" } else { "" };
        report.line(finding_text(f, tag));
    }
    report.line("decided by:");
    for d in &decided {
        report.line(format!("  {}:{}  [{}] {} ({})\n    {}", d.source, d.line, d.role, d.signature, d.reason, d.text));
    }
    report.line(format!("confidence: {} ({})", conf.level, conf.reason));
    if !cands.is_empty() {
        report.line("other candidates:");
        for c in &cands {
            report.line(candidate_text(c));
        }
    }
    let at = root.lines.first().map(|l| format!("{}:{}", l.source, l.line)).unwrap_or_default();
    let after = joined_at.map(|j| format!(" (after {j})")).unwrap_or_default();
    let mut failure = Failure::new(
        Code::for_domain(root.domain.unwrap_or(Domain::ControlPlane)),
        ExplainStage::Match,
        format!(
            "{} signature(s) matched; the root cause is {} at {at}{after}: {}",
            findings.len(),
            root.id,
            root.example
        ),
    )
    .cause(root.meaning.clone())
    .fix(root.fix.clone());
    if root.id.starts_with("kubeadm-") || root.id.starts_with("preflight-") {
        failure = failure.kubeadm(root.example.clone());
    }
    report.set("failureDomain", root.domain);
    report.fail(failure);
    report
}

/// One candidate as report text.
fn candidate_text(c: &Candidate) -> String {
    format!(
        "  {}:{}  [{}] {}\n    {}\n    tell apart: {}",
        c.source,
        c.line,
        c.domain.as_str(),
        c.signature,
        c.text.chars().take(400).collect::<String>(),
        c.tell_apart
    )
}

/// The report of a log with failure lines that no signature knows and whose words point at no
/// domain, or at two or more equally: exit `root-cause-undecidable`, with the candidates (the
/// domains the lines point at) and what would tell them apart.
fn undecidable(
    mut report: Report,
    un: &unmatched::Unmatched,
    sc: &Scanner,
    resolved: &[Finding],
    joined_at: Option<String>,
) -> Report {
    let ranked = un.ranked();
    let top = ranked.first().map(|r| r.1).unwrap_or(0);
    let cands: Vec<Candidate> =
        ranked.iter().filter(|r| r.1 == top).filter_map(|(d, _)| unmatched_candidate(*d, un, sc)).collect();
    let conf = Confidence {
        level: "low",
        reason: if cands.is_empty() {
            "failure lines no signature knows, and their words name no domain".into()
        } else {
            format!("failure lines no signature knows point at {} domains equally", cands.len())
        },
    };
    report.set("verdict", "undecidable");
    report.set("confidence", &conf);
    report.set("candidates", &cands);
    for f in resolved {
        report.line(finding_text(f, " (resolved)"));
    }
    if let Some(j) = &joined_at {
        report.line(format!("{j}, but failures follow it; they still count:"));
    }
    report.line(format!("undecidable: {} failure line(s) that no known signature matches; {}", un.count, conf.reason));
    for (src, line, text, _) in &un.lines {
        report.line(format!("  {}:{}  {}", sc.source_name(*src), line, text.chars().take(400).collect::<String>()));
    }
    if !cands.is_empty() {
        report.line("candidates:");
        for c in &cands {
            report.line(candidate_text(c));
        }
    }
    let first =
        un.lines.first().map(|(src, line, ..)| format!("{}:{}", sc.source_name(*src), line)).unwrap_or_default();
    let seen = if cands.is_empty() {
        "no domain's words".to_string()
    } else {
        cands.iter().map(|c| c.domain.as_str()).collect::<Vec<_>>().join(", ")
    };
    report.fail(
        Failure::new(
            Code::RootCauseUndecidable,
            ExplainStage::Match,
            format!(
                "{} failure line(s) from {first} on, but no known join-failure signature: the log cannot tell the cause (its words point at: {seen})",
                un.count
            ),
        )
        .cause("a failure this catalog has no signature for, in a log that does not say which part of the join broke")
        .fix("run the candidates' checks (listed), or `joinkit diagnose` on the node for live checks; a longer log (kubeadm with --v=5, journalctl -u kubelet) often names the cause"),
    );
    report
}

/// One finding as report text.
fn finding_text(f: &Finding, tag: &str) -> String {
    let at = f.lines.first().map(|l| format!("{}:{}", l.source, l.line)).unwrap_or_default();
    format!(
        "{at}  [{}] {}{tag}{}\n    {}\n    meaning: {}\n    fix:     {}",
        f.domain.map(Domain::as_str).unwrap_or("context"),
        f.id,
        if f.count > 1 { format!(" x{}", f.count) } else { String::new() },
        f.example,
        f.meaning,
        f.fix
    )
}

#[cfg(test)]
mod tests {
    use super::scan::for_each_line;
    use super::*;

    fn scan(log: &str) -> Scanner {
        let mut s = Scanner::new();
        s.scan(std::io::Cursor::new(log.to_string()), "t").unwrap();
        s
    }

    #[test]
    fn a_cause_seen_only_on_preflight_warnings_yields_to_a_later_cause() {
        // kubeadm v1.36 with --ignore-preflight-errors=all: the CRI check is only a warning;
        // the join stopped at discovery.
        let warning = "\t[WARNING CRI]: could not connect to the container runtime: failed to create new CRI runtime service: validate service connection: validate CRI v1 runtime API for endpoint \"unix:///var/run/containerd/containerd.sock\": rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix /var/run/containerd/containerd.sock: connect: no such file or directory\"\n";
        let error = "error: error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";
        let f = scan(&format!("{warning}{error}")).findings();
        assert_eq!(root_cause(&f).unwrap().id, "kubeadm-jws-missing");
        // Alone, the warning is still the root cause; the same text outside a warning is too.
        assert_eq!(root_cause(&scan(warning).findings()).unwrap().id, "runtime-socket-missing");
        let plain = warning.replace("\t[WARNING CRI]: ", "E0101 run.go:74] ");
        assert_eq!(root_cause(&scan(&format!("{plain}{error}")).findings()).unwrap().id, "runtime-socket-missing");
        assert!(is_passed_warning("\t[WARNING FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1"));
        assert!(!is_passed_warning("[WARNING] something"));
        // kubeadm <= 1.8's form, and the CRI interface warning (kubeadm goes on without it).
        assert!(is_passed_warning("[preflight] WARNING: hostname \"n\" lookup n on 10.0.0.2:53: no such host"));
        let cri = "W0118 18:06:11.658689    1072 checks.go:1022] [preflight] WARNING: Couldn't create the interface used for talking to the container runtime: crictl is required by the container runtime: exec: \"crictl\": executable file not found in %PATH%\n";
        let exists = "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists\n";
        assert_eq!(root_cause(&scan(&format!("{cri}{exists}")).findings()).unwrap().id, "preflight-ca-crt-exists");
        assert_eq!(root_cause(&scan(cri).findings()).unwrap().id, "preflight-cri");
        // kubeadm v1.36 without a readable kube-proxy ConfigMap: it goes on to kubelet-start.
        let proxy = "W1207 15:09:02.861541   17424 configset.go:77] Warning: No kubeproxy.config.k8s.io/v1alpha1 config is loaded. Continuing without it: configmaps \"kube-proxy\" is forbidden: User \"system:bootstrap:abcdef\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"kube-system\"\n";
        let node = "error: error execution phase kubelet-start: a Node with name \"n1\" and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node\n";
        assert_eq!(root_cause(&scan(&format!("{proxy}{node}")).findings()).unwrap().id, "kubeadm-node-exists");
    }

    /// The root finding of `log`: (id, domain).
    fn root(log: &str) -> (String, Option<&'static str>) {
        let f = scan(log).findings();
        let r = root_cause(&f).unwrap_or_else(|| panic!("no root cause in {log:?}"));
        (r.id.clone(), r.domain.map(Domain::as_str))
    }

    #[test]
    fn preflight_checks_are_recognised_by_name() {
        // One line per kind of name: plain, Service-, Port-, File*/Dir* paths, executables.
        for (line, id, domain) in [
            ("\t[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2", "preflight-check-numcpu", "config"),
            ("\t[ERROR Mem]: the system RAM (972 MB) is less than the minimum 1700 MB", "preflight-check-mem", "config"),
            ("\t[ERROR IsPrivilegedUser]: user is not running as root", "preflight-check-isprivilegeduser", "config"),
            ("\t[ERROR Service-Docker]: docker service is not active, please run 'systemctl start docker.service'", "preflight-check-service-service", "runtime"),
            ("\t[ERROR Port-2379]: Port 2379 is in use", "preflight-port-in-use", "node-state"),
            ("\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty", "preflight-check-diravailable-path", "node-state"),
            ("\t[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables does not exist", "preflight-check-filecontent-path", "config"),
            ("\t[ERROR FileExisting-conntrack]: conntrack not found in system path", "preflight-check-fileexisting-executable", "config"),
            ("\t[ERROR SystemVerification]: unsupported graph driver: vfs", "preflight-check-systemverification", "runtime"),
            // A cgroup the kernel lacks is a host configuration problem (the catalog's entry).
            ("\t[ERROR SystemVerification]: missing required cgroups: memory", "host-cgroup-subsystem-missing", "config"),
            ("\t[ERROR KubeletVersion]: the kubelet version is higher than the control plane version. This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: \"1.30.0\" Control plane version: \"1.29.0\"", "preflight-check-kubeletversion", "config"),
            ("\t[ERROR ImagePull]: failed to pull image registry.k8s.io/pause:3.10: exit status 1", "preflight-check-imagepull", "runtime"),
            ("I1207 10:00:00.000000    1234 checks.go:1] \t[ERROR Hostname]: hostname \"\" could not be reached", "preflight-check-hostname", "dns"),
            // The catalog's specific entry keeps precedence.
            ("\t[ERROR Swap]: running with swap on is not supported. Please disable swap", "preflight-swap", "runtime"),
        ] {
            let got = root(&format!("[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n{line}\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n"));
            assert_eq!((got.0.as_str(), got.1), (id, Some(domain)), "{line}");
        }
        // The finding names the check and what it checks, and quotes the line.
        let f = scan("\t[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2\n").findings();
        assert!(f[0].meaning.contains("NumCPU") && f[0].meaning.contains("CPU"), "{}", f[0].meaning);
        assert!(f[0].example.contains("the number of available CPUs 1"), "{}", f[0].example);
        assert!(!f[0].fix.is_empty());
    }

    #[test]
    fn an_unknown_check_name_is_still_a_preflight_failure() {
        let (id, domain) = root("\t[ERROR LoadKernelModule]: module br_netfilter not loaded\n");
        assert_eq!((id.as_str(), domain), ("preflight-check-unknown", Some(UNKNOWN_DOMAIN.as_str())));
        let f = scan("\t[ERROR LoadKernelModule]: module br_netfilter not loaded\n").findings();
        assert!(f[0].example.contains("LoadKernelModule"));
        let (id, _) = root("\t[WARNING LoadKernelModule]: module br_netfilter not loaded\n");
        assert_eq!(id, "preflight-warning-unknown");
    }

    #[test]
    fn kubeadm_1_8_unnamed_preflight_lines_are_recognised_by_their_wording() {
        let log = "[preflight] Running pre-flight checks\n\
[preflight] WARNING: hostname \"node-1\" could not be reached\n\
[preflight] WARNING: hostname \"node-1\" lookup node-1 on 192.168.122.1:53: no such host\n\
[preflight] Some fatal errors occurred:\n\
\t/proc/sys/net/bridge/bridge-nf-call-iptables contents are not set to 1\n\
\tsomething no wording of the table says\n\
[preflight] If you know what you are doing, you can skip pre-flight checks with `--skip-preflight-checks`\n";
        let f = scan(log).findings();
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "preflight-warning-hostname",
                "dns-no-such-host",
                "preflight-check-filecontent-path",
                "preflight-check-unnamed"
            ]
        );
        // The DNS cause is only on a `[preflight] WARNING:` line, which kubeadm went on past.
        let r = root_cause(&f).unwrap();
        assert_eq!((r.id.as_str(), r.domain), ("preflight-check-filecontent-path", Some(Domain::Config)));
        // Outside the block, an indented line is nothing.
        assert!(scan("\t/proc/sys/net/bridge/bridge-nf-call-iptables contents are not set to 1\n")
            .findings()
            .is_empty());
    }

    #[test]
    fn a_named_preflight_warning_yields_to_a_later_cause_and_to_symptoms() {
        let warn = "\t[WARNING Service-Kubelet]: kubelet service is not enabled, please run 'systemctl enable kubelet.service'\n";
        let error = "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";
        assert_eq!(root(&format!("{warn}{error}")).0, "kubeadm-jws-missing");
        let (id, domain) = root(warn);
        assert_eq!((id.as_str(), domain), ("preflight-warning-service-service", Some("runtime")));
        // A warning of a check named in --ignore-preflight-errors, then the real failure.
        let ignored = "\t[WARNING FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists\n";
        assert_eq!(root(&format!("{ignored}{error}")).0, "kubeadm-jws-missing");
        let f = scan(&format!("{warn}{error}")).findings();
        assert!(f.iter().any(|f| f.id == "preflight-warning-service-service"), "still listed");
    }

    #[test]
    fn a_cause_beats_the_consequences_it_explains_even_when_they_come_first() {
        let bootstrap = "E1207 10:00:00.000000 1 run.go:74] \"command failed\" err=\"failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory\"\n";
        let expired = "E1207 10:00:01.000000 1 certificate_manager.go:1] Failed while requesting a signed certificate: Get \"https://10.0.0.1:6443\": x509: certificate has expired or is not yet valid\n";
        assert_eq!(root(&format!("{bootstrap}{expired}")).0, "x509-expired-or-not-yet-valid");
        // Alone, the consequence is a symptom, still reported.
        let (id, domain) = root(bootstrap);
        assert_eq!((id.as_str(), domain), ("kubelet-bootstrap-kubeconfig-missing", Some("config")));
        // The API server failing to make the bootstrap signer's Role explains the missing JWS.
        let jws = "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";
        let rbac = "E0704 22:35:57.681740       1 storage_rbac.go:235] unable to reconcile role.rbac.authorization.k8s.io/system:controller:bootstrap-signer in kube-public: namespaces \"kube-public\" not found\n";
        assert_eq!(root(&format!("{jws}{rbac}")).0, "apiserver-rbac-bootstrap-failed");
        // Without the explaining cause, the earliest cause decides as before.
        assert_eq!(root(jws).0, "kubeadm-jws-missing");
    }

    #[test]
    fn the_bootstrap_kubeconfig_gone_after_a_successful_join_is_normal() {
        let log = "This node has joined the cluster:\nE1207 10:00:00.000000 1 run.go:74] \"command failed\" err=\"failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory\"\n";
        let s = scan(log);
        assert!(s.findings().is_empty(), "{:?}", s.findings());
        assert!(s.joined().is_some());
    }

    #[test]
    fn every_explains_id_names_a_signature() {
        let cat = catalog();
        let all: Vec<String> = (0..cat.len()).map(|i| cat.signature(i).id.clone()).collect();
        for s in (0..cat.len()).map(|i| cat.signature(i)) {
            for e in &s.explains {
                assert!(all.contains(e), "{}: explains unknown {e}", s.id);
                assert_ne!(e, &s.id);
            }
            assert!(!s.normal_after_join || s.is_failure(), "{}", s.id);
            assert!(s.explains.is_empty() || s.role == ROLE_CAUSE, "{}: only a cause explains", s.id);
        }
    }

    #[test]
    fn a_log_that_stops_after_a_kubeadm_step_names_what_the_next_step_waits_for() {
        let v = |log: &str| stopped_verdict(&scan(log)).map(|f| (f.domain, f.lines[0].line));
        // kubeadm 1.7 stuck after its [csr] step: the CSR is never signed.
        let log = "[preflight] Running pre-flight checks\n[discovery] Successfully established connection with API Server \"10.0.0.1:6443\"\n[bootstrap] Detected server version: v1.8.0\n[csr] Created API client to obtain unique certificate for this node, generating keys and certificate signing request\n";
        assert_eq!(v(log), Some((Some(Domain::Csr), 4)));
        assert_eq!(
            v("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...\n"),
            Some((Some(Domain::Csr), 1))
        );
        assert_eq!(v("[kubelet-start] Starting the kubelet\n"), Some((Some(Domain::Runtime), 1)));
        assert_eq!(v("[preflight] Running pre-flight checks\n"), Some((Some(Domain::Network), 1)));
        assert_eq!(
            v("[wait-control-plane] Waiting for the kubelet to boot up the control plane\n"),
            Some((Some(Domain::ControlPlane), 1))
        );
        // Not a kubeadm tag, or no step at all: nothing to say.
        assert_eq!(v("[INFO] starting\n[ERROR-ish] x\n"), None);
        assert_eq!(v("plain text\n"), None);
        // A success line ends the wait: the steps before it are history.
        let joined = "[csr] Created API client\nThis node has joined the cluster:\n";
        assert_eq!(v(joined), None);
    }

    #[test]
    fn progress_lines_are_context_and_never_the_root_cause() {
        let s = scan("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...\n");
        assert!(s.findings().is_empty());
        assert_eq!(s.context()[0].id, "kubeadm-tls-bootstrap-wait");
        assert_eq!(s.context()[0].role, "progress");
        // Even handed to root_cause directly, a progress line is no root cause.
        assert!(root_cause(&s.context()).is_none());
        assert!(s.joined().is_none());
    }

    #[test]
    fn a_success_line_resolves_the_failures_before_it_and_only_those() {
        let jws = "could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";
        let ok = "This node has joined the cluster:\n";
        // fail, fail, success, fail, success, fail: two attempts resolved, the last one open.
        let s = scan(&format!("{jws}{jws}{ok}{jws}{ok}dial tcp 10.0.0.10:6443: connect: no route to host\n"));
        let resolved = s.resolved();
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].count, 3, "merged across attempts");
        let lines: Vec<u64> = resolved[0].lines.iter().map(|l| l.line).collect();
        assert_eq!(lines, [1, 2, 4]);
        assert_eq!(s.joined().unwrap().line, 5, "the last success line");
        let f = s.findings();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "net-no-route");
        assert_eq!(root_cause(&f).unwrap().id, "net-no-route");
    }

    #[test]
    fn resolved_lines_stay_bounded() {
        let jws = "could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";
        let log = format!("{}This node has joined the cluster:\n", jws.repeat(15)).repeat(3);
        let s = scan(&log);
        assert_eq!(s.resolved()[0].count, 45);
        assert_eq!(s.resolved()[0].lines.len(), MAX_LINES_PER_FINDING);
        assert!(s.findings().is_empty());
    }

    /// Every line of `data` as `for_each_line` passes it, read through a `cap`-byte buffer.
    fn split(data: &[u8], max: usize, cap: usize) -> Vec<(String, bool, u64)> {
        let mut r = std::io::BufReader::with_capacity(cap, data);
        let mut out = Vec::new();
        let read = for_each_line(&mut r, max, |line, cut, read| {
            assert!(line.len() <= max);
            out.push((String::from_utf8(line.to_vec()).unwrap(), cut, read));
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(read, data.len() as u64);
        out
    }

    #[test]
    fn lines_are_capped_without_buffering_the_rest() {
        let want = vec![
            ("abcd".to_string(), false, 5),
            ("abcde".to_string(), false, 11), // exactly the cap: only the line ending is dropped
            ("abcde".to_string(), true, 20),
            ("ab".to_string(), false, 22),
        ];
        // A tiny buffer, so lines span many refills, and a large one, so they lie in one.
        for cap in [3, 1 << 10] {
            assert_eq!(split(b"abcd\nabcde\nabcdefgh\nab", 5, cap), want, "buffer {cap}");
        }
    }

    #[test]
    fn lf_crlf_and_lone_cr_each_end_one_line() {
        let lines = |data: &[u8], cap| -> Vec<String> { split(data, 64, cap).into_iter().map(|l| l.0).collect() };
        for cap in [1, 2, 3, 1 << 10] {
            // `\r\n` is one ending even when a refill ends between `\r` and `\n`.
            assert_eq!(lines(b"a\nb\r\nc\rd", cap), ["a", "b", "c", "d"], "buffer {cap}");
            assert_eq!(lines(b"a\r\r\nb\n\rc\r", cap), ["a", "", "b", "", "c"], "buffer {cap}");
            assert_eq!(lines(b"\r\n\r\n", cap), ["", ""], "buffer {cap}");
            assert!(lines(b"", cap).is_empty());
        }
        // A cut line ends at a lone `\r` too, and the next line is whole.
        let got: Vec<(String, bool)> = split(b"abcdefgh\rxy\r\n", 5, 3).into_iter().map(|l| (l.0, l.1)).collect();
        assert_eq!(got, [("abcde".to_string(), true), ("xy".to_string(), false)]);
    }

    #[test]
    fn a_scan_stops_at_its_deadline_and_says_how_far_it_got() {
        let line = "I0101 kubelet is starting\n";
        let log = line.repeat(5000) + "dial tcp 10.0.0.10:6443: connect: no route to host\n";
        let mut s = Scanner::new();
        let past = std::time::Instant::now();
        let end = s.scan_until(std::io::Cursor::new(log.as_bytes()), "t", Some(past)).unwrap();
        assert_eq!(end, ScanEnd::CutShort);
        // The clock is read every 1,024 lines: the lines before that one were scanned.
        assert_eq!((s.lines, s.bytes), (1023, 1023 * line.len() as u64));
        assert!(s.findings().is_empty(), "the line after the deadline was not read");
        let mut s = Scanner::new();
        let later = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        let end = s.scan_until(std::io::Cursor::new(log.as_bytes()), "t", Some(later)).unwrap();
        assert_eq!((end, s.lines, s.bytes), (ScanEnd::Complete, 5001, log.len() as u64));
        assert_eq!(s.findings()[0].id, "net-no-route");
    }
}
