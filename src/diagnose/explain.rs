//! `explain-log`: match kubeadm, kubelet, cloud-init or journalctl output against the catalog
//! of known join-failure signatures (`log-signatures.yaml`, compiled in) and name the earliest
//! root cause. Streams line by line with a fixed buffer, so memory stays bounded whatever the
//! log's size and however long its lines: at most [`MAX_LINE_BYTES`] of a line are kept and
//! matched, the rest of an over-long line is skipped without buffering it, and the report says
//! how many lines were cut. Matching is one `regex::bytes::RegexSet` pass per line. Inputs are
//! regular files, pipes or FIFOs (`fsutil::open_stream`); devices and directories are refused.

use crate::error::{Code, Failure};
use crate::report::Report;
use regex::bytes::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::sync::OnceLock;

/// The catalog source.
pub const CATALOG_YAML: &str = include_str!("log-signatures.yaml");
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
    /// Failure domain.
    pub domain: String,
    /// `cause` or `symptom`.
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
    /// Failure domain.
    pub domain: String,
    /// `cause` or `symptom`.
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

/// Scans inputs in order, collecting findings.
#[derive(Default)]
pub struct Scanner {
    findings: Vec<Option<Finding>>,
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
        Scanner { findings: vec![None; catalog().signatures.len()], ..Default::default() }
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
            for i in cat.matches(line) {
                let f = self.findings[i].get_or_insert_with(|| {
                    let s = &cat.signatures[i];
                    let text = String::from_utf8_lossy(line).trim_end().to_string();
                    Finding {
                        id: s.id.clone(),
                        domain: s.domain.clone(),
                        role: s.role.clone(),
                        meaning: s.meaning.clone(),
                        fix: s.fix.clone(),
                        count: 0,
                        lines: Vec::new(),
                        example: text.chars().take(400).collect(),
                        order: (self.source_index, line_no),
                    }
                });
                f.count += 1;
                if f.lines.len() < MAX_LINES_PER_FINDING {
                    f.lines.push(Location { source: source.to_string(), line: line_no });
                }
            }
        }
        self.lines += line_no;
        self.source_index += 1;
        Ok(())
    }

    /// Findings in order of first appearance.
    pub fn findings(&self) -> Vec<Finding> {
        let mut v: Vec<Finding> = self.findings.iter().flatten().cloned().collect();
        v.sort_by_key(|f| f.order);
        v
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

/// The root cause: the earliest cause, else the earliest symptom.
pub fn root_cause(findings: &[Finding]) -> Option<&Finding> {
    findings.iter().find(|f| f.role == "cause").or_else(|| findings.first())
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
                Failure::new(Code::InputUnreadable, format!("read {name}"), message)
                    .cause("the path is wrong, not readable, or not a log (a device or a directory)")
                    .fix("pass a log file, or pipe the log into `joinkit explain-log -`"),
            );
            return report;
        }
        let cut = scanner.truncated - cut_before;
        let lines = scanner.lines - before;
        if cut > 0 {
            report.warn(
                &format!("read {name}"),
                format!(
                    "{lines} lines; {cut} longer than {}, matched on their first {} only",
                    crate::fsutil::human_size(MAX_LINE_BYTES as u64),
                    crate::fsutil::human_size(MAX_LINE_BYTES as u64)
                ),
            );
        } else {
            report.pass(&format!("read {name}"), format!("{lines} lines"));
        }
    }
    let findings = scanner.findings();
    report.start();
    report.set("lines", scanner.lines);
    report.set("truncatedLines", scanner.truncated);
    report.set("findings", &findings);
    let Some(root) = root_cause(&findings) else {
        report.pass(
            "match",
            format!(
                "no known join-failure signature in {} lines ({} signatures checked)",
                scanner.lines,
                catalog().signatures.len()
            ),
        );
        report.line("clean: no known join failure in this log.");
        return report;
    };
    report.set("rootCause", root);
    for f in &findings {
        let at = f.lines.first().map(|l| format!("{}:{}", l.source, l.line)).unwrap_or_default();
        let tag = if std::ptr::eq(f, root) { " (root cause)" } else { "" };
        report.line(format!(
            "{at}  [{}] {}{tag}{}\n    {}\n    meaning: {}\n    fix:     {}",
            f.domain,
            f.id,
            if f.count > 1 { format!(" x{}", f.count) } else { String::new() },
            f.example,
            f.meaning,
            f.fix
        ));
    }
    let at = root.lines.first().map(|l| format!("{}:{}", l.source, l.line)).unwrap_or_default();
    let mut failure = Failure::new(
        Code::for_domain(&root.domain),
        "match",
        format!("{} signature(s) matched; the root cause is {} at {at}: {}", findings.len(), root.id, root.example),
    )
    .cause(root.meaning.clone())
    .fix(root.fix.clone());
    if root.id.starts_with("kubeadm-") || root.id.starts_with("preflight-") {
        failure = failure.kubeadm(root.example.clone());
    }
    report.set("failureDomain", &root.domain);
    report.fail(failure);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

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
