//! explain-log's scanner: reads a log line by line with a fixed buffer and collects, per catalog
//! signature, one finding with a count (repeated lines collapse), the first lines where it
//! matched, and the text of the first few; a success line (kubeadm join's final message) moves
//! the failures seen so far to `resolved`.

use super::catalog::{catalog, ROLE_SUCCESS};
use crate::error::Domain;
use serde::Serialize;
use std::io::BufRead;

/// Lines kept per finding.
pub const MAX_LINES_PER_FINDING: usize = 20;
/// Lines of a finding whose text is kept (to show which lines decided the root cause).
pub const MAX_TEXTS_PER_FINDING: usize = 5;
/// The most characters kept of a line that decides the root cause (the report quotes it).
pub const MAX_TEXT_CHARS: usize = 1000;
/// The most bytes of one log line that are kept and matched (64 KiB); the rest of a longer line
/// is read and dropped, and the line counts in [`Scanner::truncated`].
pub const MAX_LINE_BYTES: usize = 64 << 10;

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
    /// The text of the first [`MAX_TEXTS_PER_FINDING`] lines in `lines` (at most
    /// [`MAX_TEXT_CHARS`] characters each).
    #[serde(skip)]
    pub(crate) texts: Vec<String>,
    #[serde(skip)]
    pub(crate) order: (usize, u64),
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
                    texts: Vec::new(),
                    order: (self.source_index, line_no),
                });
                f.count += 1;
                if f.lines.len() < MAX_LINES_PER_FINDING {
                    f.lines.push(Location { source: source.to_string(), line: line_no });
                }
                if f.texts.len() < MAX_TEXTS_PER_FINDING {
                    f.texts.push(trimmed_to(line, MAX_TEXT_CHARS));
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
                    let room = MAX_TEXTS_PER_FINDING.saturating_sub(d.texts.len());
                    d.texts.extend(f.texts.into_iter().take(room));
                }
                None => *done = Some(f),
            }
        }
    }

    /// Failure findings after the last success line (all of them if there is none), in order
    /// of first appearance (on one line, in catalog order).
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

/// Findings in order of first appearance; the sort is stable, so findings first seen on the
/// same line keep catalog order.
fn sorted(v: &[Option<Finding>]) -> Vec<Finding> {
    let mut v: Vec<Finding> = v.iter().flatten().cloned().collect();
    v.sort_by_key(|f| f.order);
    v
}

/// A line as text, without its line ending, at most 400 characters.
pub(crate) fn trimmed(line: &[u8]) -> String {
    trimmed_to(line, 400)
}

/// A line as text, without its line ending, at most `max` characters.
fn trimmed_to(line: &[u8], max: usize) -> String {
    String::from_utf8_lossy(line).trim_end().chars().take(max).collect()
}

/// Reads one line (through `\n`) into `buf`, keeping at most `max` bytes of it and consuming
/// the rest without buffering it. Returns the bytes consumed (0 at the end of input) and
/// whether the line was cut.
pub(crate) fn read_line_capped<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<(u64, bool)> {
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
