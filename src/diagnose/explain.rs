//! `explain-log`: match kubeadm, kubelet, cloud-init or journalctl output against the catalog
//! of known join-failure signatures (`log-signatures.yaml`, compiled in) and name the earliest
//! root cause. Streams line by line with a fixed buffer, so memory stays bounded whatever the
//! log's size; matching is one `regex::bytes::RegexSet` pass per line.

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
            let n = r.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            self.bytes += n as u64;
            let line = if buf.len() > 65536 { &buf[..65536] } else { &buf[..] };
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
        let res = if name == "-" {
            scanner.scan(std::io::BufReader::with_capacity(1 << 20, std::io::stdin().lock()), name)
        } else {
            match std::fs::File::open(name) {
                Ok(f) => scanner.scan(std::io::BufReader::with_capacity(1 << 20, f), name),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = res {
            report.fail(
                Failure::new(Code::InputUnreadable, format!("read {name}"), format!("cannot read {name}: {e}"))
                    .cause("the path is wrong or not readable")
                    .fix("pass a log file, or pipe the log into `joinkit explain-log -`"),
            );
            return report;
        }
        report.pass(&format!("read {name}"), format!("{} lines", scanner.lines - before));
    }
    let findings = scanner.findings();
    report.start();
    report.set("lines", scanner.lines);
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
