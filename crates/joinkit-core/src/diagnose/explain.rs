//! `explain-log`: match kubeadm, kubelet, cloud-init or journalctl output against the catalog
//! of known join-failure signatures (`log-signatures.yaml`, compiled in) and name the earliest
//! root cause. Only failure signatures (role `cause` or `symptom`) are findings that can decide
//! the root cause; `progress` lines (printed by every join) are context. kubeadm join's final
//! message (role `success`) makes the log a success: failures before it were resolved by a later
//! attempt and are listed as such; failures after it still count. Streams line by line with a fixed buffer, so memory stays bounded whatever the
//! log's size and however long its lines: at most [`MAX_LINE_BYTES`] of a line are kept and
//! matched, the rest of an over-long line is skipped without buffering it, and the report says
//! how many lines were cut. Matching is one `regex::bytes::RegexSet` pass per line. Inputs are
//! regular files, pipes or FIFOs (`fsutil::open_stream`); devices and directories are refused.

use crate::error::{Code, Domain, Failure};
use crate::report::{Common, Report};
use regex::bytes::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::sync::OnceLock;

crate::stages! {
    /// The stages of `explain-log`: each input is read (a [`Common::Read`] record per file),
    /// then the findings are matched to a root cause.
    pub enum ExplainStage {
        /// The findings decide the root cause (or the log is clean).
        Match = "match",
    }
}

/// The catalog source.
pub(crate) const CATALOG_YAML: &str = include_str!("log-signatures.yaml");
/// Lines kept per finding.
pub const MAX_LINES_PER_FINDING: usize = 20;
/// The most bytes of one log line that are kept and matched (64 KiB); the rest of a longer line
/// is read and dropped, and the line counts in [`Scanner::truncated`].
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// One signature of the catalog.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Signature {
    /// Stable id.
    pub id: String,
    /// Failure domain (required for failures; none for `progress` and `success`).
    #[serde(default)]
    pub domain: Option<Domain>,
    /// `cause` or `symptom` (failures), `progress` or `success` (context).
    pub role: String,
    /// The regex.
    pub pattern: String,
    /// What it means.
    pub meaning: String,
    /// How to fix it.
    pub fix: String,
    /// Real-looking example lines.
    pub examples: Vec<String>,
}

impl Signature {
    /// A failure signature (`cause` or `symptom`): a finding that can decide the root cause.
    pub fn is_failure(&self) -> bool {
        is_failure_role(&self.role)
    }
}

/// `cause` and `symptom` are failures; `progress` and `success` are context.
pub(crate) fn is_failure_role(role: &str) -> bool {
    role == ROLE_CAUSE || role == ROLE_SYMPTOM
}

/// A root cause.
pub(crate) const ROLE_CAUSE: &str = "cause";
/// A consequence pointing at a cause found elsewhere.
pub(crate) const ROLE_SYMPTOM: &str = "symptom";
/// A progress line every join prints: context, never a finding.
pub(crate) const ROLE_PROGRESS: &str = "progress";
/// kubeadm join's final message: the join succeeded.
pub(crate) const ROLE_SUCCESS: &str = "success";
/// Every role the catalog may use.
pub const ROLES: &[&str] = &[ROLE_CAUSE, ROLE_SYMPTOM, ROLE_PROGRESS, ROLE_SUCCESS];

/// The compiled catalog.
pub struct Catalog {
    /// The signatures, in file order.
    pub signatures: Vec<Signature>,
    set: RegexSet,
    regexes: Vec<Regex>,
}

/// The catalog, parsed and compiled once. Panics only if the compiled-in file is broken,
/// which a test rules out.
pub fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let signatures: Vec<Signature> =
            serde_saphyr::from_str(CATALOG_YAML).expect("log-signatures.yaml parses (tested)");
        let set =
            RegexSet::new(signatures.iter().map(|s| s.pattern.as_str())).expect("catalog patterns compile (tested)");
        let regexes = signatures.iter().map(|s| Regex::new(&s.pattern).expect("pattern compiles")).collect();
        Catalog { signatures, set, regexes }
    })
}

impl Catalog {
    /// Indexes of the signatures matching `line`.
    pub fn matches(&self, line: &[u8]) -> Vec<usize> {
        self.set.matches(line).into_iter().collect()
    }

    /// The matched text of signature `i` in `line`.
    pub fn find<'a>(&self, i: usize, line: &'a [u8]) -> Option<&'a [u8]> {
        self.regexes[i].find(line).map(|m| m.as_bytes())
    }
}

/// Where a signature matched.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// File name (`-` for stdin).
    pub source: String,
    /// 1-based line number.
    pub line: u64,
}

/// A signature found in the input.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Signature id.
    pub id: String,
    /// Failure domain (none for context lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
    /// `cause` or `symptom`; `progress` or `success` in `context`.
    pub role: String,
    /// Meaning.
    pub meaning: String,
    /// Fix.
    pub fix: String,
    /// How many lines matched.
    pub count: u64,
    /// The first lines that matched (at most [`MAX_LINES_PER_FINDING`]).
    pub lines: Vec<Location>,
    /// The first matching line (trimmed to 400 characters).
    pub example: String,
    #[serde(skip)]
    order: (usize, u64),
}

/// The line that decided the root cause.
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
    /// The line (trimmed to 400 characters).
    pub text: String,
}

/// The last success line (kubeadm join's final message).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    /// File name (`-` for stdin).
    pub source: String,
    /// 1-based line number.
    pub line: u64,
    /// The success signature.
    pub signature: String,
    /// The line (trimmed to 400 characters).
    pub text: String,
}

/// Scans inputs in order (as one log), collecting findings. A success line moves the failures
/// seen so far to `resolved`, so `findings` holds only the failures after the last success.
#[derive(Default)]
pub struct Scanner {
    findings: Vec<Option<Finding>>,
    resolved: Vec<Option<Finding>>,
    context: Vec<Option<Finding>>,
    joined: Option<Joined>,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines longer than [`MAX_LINE_BYTES`], matched on their first [`MAX_LINE_BYTES`] only.
    pub truncated: u64,
    source_index: usize,
}

impl Scanner {
    /// A scanner over the catalog.
    pub fn new() -> Self {
        let n = catalog().signatures.len();
        Scanner { findings: vec![None; n], resolved: vec![None; n], context: vec![None; n], ..Default::default() }
    }

    /// Reads one input to its end. `source` names it in locations.
    pub fn scan<R: BufRead>(&mut self, mut r: R, source: &str) -> std::io::Result<()> {
        let cat = catalog();
        let mut buf = Vec::with_capacity(8192);
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let (n, cut) = read_line_capped(&mut r, &mut buf, MAX_LINE_BYTES)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            self.bytes += n;
            self.truncated += u64::from(cut);
            let line = &buf[..];
            if !cat.set.is_match(line) {
                continue;
            }
            let mut success = None;
            for i in cat.matches(line) {
                let s = &cat.signatures[i];
                let slot = if s.is_failure() { &mut self.findings[i] } else { &mut self.context[i] };
                let f = slot.get_or_insert_with(|| Finding {
                    id: s.id.clone(),
                    domain: s.domain,
                    role: s.role.clone(),
                    meaning: s.meaning.clone(),
                    fix: s.fix.clone(),
                    count: 0,
                    lines: Vec::new(),
                    example: trimmed(line),
                    order: (self.source_index, line_no),
                });
                f.count += 1;
                if f.lines.len() < MAX_LINES_PER_FINDING {
                    f.lines.push(Location { source: source.to_string(), line: line_no });
                }
                if s.role == ROLE_SUCCESS {
                    success = Some(i);
                }
            }
            if let Some(i) = success {
                // The failures so far were resolved: a later attempt got through.
                self.resolve();
                self.joined = Some(Joined {
                    source: source.to_string(),
                    line: line_no,
                    signature: cat.signatures[i].id.clone(),
                    text: trimmed(line),
                });
            }
        }
        self.lines += line_no;
        self.source_index += 1;
        Ok(())
    }

    /// Moves the active failures into `resolved`, merging with earlier resolved ones.
    fn resolve(&mut self) {
        for (active, done) in self.findings.iter_mut().zip(self.resolved.iter_mut()) {
            let Some(f) = active.take() else { continue };
            match done {
                Some(d) => {
                    d.count += f.count;
                    let room = MAX_LINES_PER_FINDING.saturating_sub(d.lines.len());
                    d.lines.extend(f.lines.into_iter().take(room));
                }
                None => *done = Some(f),
            }
        }
    }

    /// Failure findings after the last success line (all of them if there is none), in order
    /// of first appearance.
    pub fn findings(&self) -> Vec<Finding> {
        sorted(&self.findings)
    }

    /// Failure findings before the last success line: resolved by a later attempt.
    pub fn resolved(&self) -> Vec<Finding> {
        sorted(&self.resolved)
    }

    /// Progress and success lines, in order of first appearance: context, never a root cause.
    pub fn context(&self) -> Vec<Finding> {
        sorted(&self.context)
    }

    /// The last success line, if the log reaches one.
    pub fn joined(&self) -> Option<&Joined> {
        self.joined.as_ref()
    }
}

fn sorted(v: &[Option<Finding>]) -> Vec<Finding> {
    let mut v: Vec<Finding> = v.iter().flatten().cloned().collect();
    v.sort_by_key(|f| f.order);
    v
}

/// A line as text, without its line ending, at most 400 characters.
fn trimmed(line: &[u8]) -> String {
    String::from_utf8_lossy(line).trim_end().chars().take(400).collect()
}

/// "line N" (stdin) or "line N of FILE".
fn at_line(source: &str, line: u64) -> String {
    if source == "-" {
        format!("line {line}")
    } else {
        format!("line {line} of {source}")
    }
}

/// Reads one line (through `\n`) into `buf`, keeping at most `max` bytes of it and consuming
/// the rest without buffering it. Returns the bytes consumed (0 at the end of input) and
/// whether the line was cut.
fn read_line_capped<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<(u64, bool)> {
    let (mut consumed, mut cut) = (0u64, false);
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok((consumed, cut));
        }
        let (take, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if take > room {
            // A newline beyond the cap is not part of what is kept; anything else is cut.
            cut |= !(done && take == room + 1);
        }
        buf.extend_from_slice(&avail[..take.min(room)]);
        r.consume(take);
        consumed += take as u64;
        if done {
            return Ok((consumed, cut));
        }
    }
}

/// The root cause: the earliest cause, else the earliest symptom. Only failure findings count;
/// progress and success lines never become the root cause, even if passed in.
pub fn root_cause(findings: &[Finding]) -> Option<&Finding> {
    findings.iter().find(|f| f.role == ROLE_CAUSE).or_else(|| findings.iter().find(|f| f.role == ROLE_SYMPTOM))
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
    let Some(root) = root_cause(&findings) else {
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
            None => report.line("clean: no known join failure in this log."),
        }
        return report;
    };
    let decided: Vec<Decider> = root
        .lines
        .first()
        .map(|l| Decider {
            source: l.source.clone(),
            line: l.line,
            signature: root.id.clone(),
            role: root.role.clone(),
            text: root.example.clone(),
        })
        .into_iter()
        .collect();
    report.set("rootCause", root);
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
    use super::*;

    fn scan(log: &str) -> Scanner {
        let mut s = Scanner::new();
        s.scan(std::io::Cursor::new(log.to_string()), "t").unwrap();
        s
    }

    #[test]
    fn progress_lines_are_context_and_never_the_root_cause() {
        let s = scan("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...\n");
        assert!(s.findings().is_empty());
        assert_eq!(s.context()[0].id, "kubeadm-tls-bootstrap-wait");
        assert_eq!(s.context()[0].role, ROLE_PROGRESS);
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

    #[test]
    fn lines_are_capped_without_buffering_the_rest() {
        let read_all = |data: &[u8], max: usize| {
            // A tiny buffer, so lines span many fill_buf calls.
            let mut r = std::io::BufReader::with_capacity(3, data);
            let mut out = Vec::new();
            loop {
                let mut buf = Vec::new();
                let (n, cut) = read_line_capped(&mut r, &mut buf, max).unwrap();
                if n == 0 {
                    break;
                }
                assert!(buf.len() <= max);
                out.push((String::from_utf8(buf).unwrap(), n, cut));
            }
            out
        };
        let got = read_all(b"abcd\nabcde\nabcdefgh\nab", 5);
        assert_eq!(
            got,
            vec![
                ("abcd\n".to_string(), 5, false),
                ("abcde".to_string(), 6, false), // exactly the cap: only the newline is dropped
                ("abcde".to_string(), 9, true),
                ("ab".to_string(), 2, false),
            ]
        );
    }
}
