//! explain-log's scanner: reads a log line by line with a fixed buffer and collects, per catalog
//! signature, one finding with a count (repeated lines collapse), the first lines where it
//! matched, and the text of the first few; a success line (kubeadm join's final message) moves
//! the failures seen so far to `resolved`. Lines end at `\n`, `\r\n` or a lone `\r`
//! ([`for_each_line`]); a line is matched where it lies in the read buffer, without copying,
//! and nothing is allocated per line (a matching line allocates only while its finding keeps
//! fewer than [`MAX_TEXTS_PER_FINDING`] texts).

use super::catalog::{catalog, ROLE_SUCCESS};
use crate::error::Domain;
use serde::Serialize;
use std::io::BufRead;
use std::ops::ControlFlow;

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

/// How a scan of one input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanEnd {
    /// The input was read to its end.
    Complete,
    /// The deadline passed first: the scan stopped after the lines counted so far
    /// ([`Scanner::lines`], [`Scanner::bytes`]); the findings cover those lines only.
    CutShort,
}

/// How often a scan with a deadline looks at the clock: after this many lines or bytes since
/// the last look, whichever comes first (lines are at most [`MAX_LINE_BYTES`], so a look is at
/// most 1 MiB + 64 KiB of matching away).
const CLOCK_EVERY_LINES: u32 = 1024;
const CLOCK_EVERY_BYTES: u64 = 1 << 20;

/// One signature's tally in the input: the parts of a [`Finding`] that depend on the lines
/// (the rest comes from the catalog when the finding is built). A tally is cleared, not
/// dropped, when a success line resolves it, so its buffers serve the next attempt: a log with
/// a success line every few lines allocates nothing per line.
#[derive(Debug, Clone, Default)]
struct Tally {
    /// Lines matched (0: none, and the rest is empty).
    count: u64,
    /// (input index, 1-based line number), the first [`MAX_LINES_PER_FINDING`].
    lines: Vec<(usize, u64)>,
    /// Text buffers; the first `texts_used` hold the text of the first lines in `lines` (the
    /// first is the example).
    texts: Vec<String>,
    texts_used: usize,
    /// Where it first matched (input index, line number).
    order: (usize, u64),
}

impl Tally {
    /// The texts kept (at most [`MAX_TEXTS_PER_FINDING`]).
    fn texts(&self) -> &[String] {
        &self.texts[..self.texts_used]
    }

    /// A text slot, if fewer than [`MAX_TEXTS_PER_FINDING`] are kept: a cleared buffer.
    fn text_slot(&mut self) -> Option<&mut String> {
        if self.texts_used == MAX_TEXTS_PER_FINDING {
            return None;
        }
        if self.texts_used == self.texts.len() {
            self.texts.push(String::new());
        }
        self.texts_used += 1;
        let t = &mut self.texts[self.texts_used - 1];
        t.clear();
        Some(t)
    }

    /// Counts line `at` (input index, line number), whose text is `line`.
    fn add(&mut self, at: (usize, u64), line: &[u8]) {
        if self.count == 0 {
            self.order = at;
        }
        self.count += 1;
        if self.lines.len() < MAX_LINES_PER_FINDING {
            self.lines.push(at);
        }
        if let Some(t) = self.text_slot() {
            push_text(t, line, MAX_TEXT_CHARS);
        }
    }

    /// Adds `later`'s lines and texts (which come after this tally's), within the bounds.
    fn merge(&mut self, later: &Tally) {
        if self.count == 0 {
            self.order = later.order;
        }
        self.count += later.count;
        let room = MAX_LINES_PER_FINDING.saturating_sub(self.lines.len());
        self.lines.extend(later.lines.iter().take(room));
        for text in later.texts() {
            let Some(t) = self.text_slot() else { break };
            t.push_str(text);
        }
    }

    /// Back to no line, keeping the buffers.
    fn clear(&mut self) {
        self.count = 0;
        self.lines.clear();
        self.texts_used = 0;
    }
}

/// Scans inputs in order (as one log), collecting findings. A success line moves the failures
/// seen so far to `resolved`, so `findings` holds only the failures after the last success.
/// Lines end at `\n`, `\r\n` or a lone `\r` ([`for_each_line`]).
#[derive(Default)]
pub struct Scanner {
    /// Per catalog signature: failures since the last success line, and context lines.
    active: Vec<Tally>,
    /// Per catalog signature: failures before the last success line.
    resolved: Vec<Tally>,
    joined: Option<Joined>,
    /// Input names, by input index.
    sources: Vec<String>,
    /// The signatures matching the current line (reused).
    hits: Vec<usize>,
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines longer than [`MAX_LINE_BYTES`], matched on their first [`MAX_LINE_BYTES`] only.
    pub truncated: u64,
    /// Failure lines no signature matched, since the last success line ([`super::unmatched`]).
    pub(crate) unmatched: super::unmatched::Unmatched,
    /// The last line that starts with one of kubeadm's step tags (`[csr] ...`): (input, line
    /// number, its [`super::STEPS`] entry, text), for a log that stops without a failure
    /// ([`super::stopped_verdict`]). The text's buffer is reused from one step line to the next.
    pub(crate) last_step: Option<(usize, u64, &'static (&'static str, crate::error::Domain), String)>,
}

impl Scanner {
    /// A scanner over the catalog.
    pub fn new() -> Self {
        let n = catalog().len();
        Scanner { active: vec![Tally::default(); n], resolved: vec![Tally::default(); n], ..Default::default() }
    }

    /// Reads one input to its end. `source` names it in locations.
    pub fn scan<R: BufRead>(&mut self, r: R, source: &str) -> std::io::Result<()> {
        self.scan_until(r, source, None).map(|_| ())
    }

    /// Reads one input to its end or until `deadline` (checked every 1,024 lines or 1 MiB),
    /// whichever comes first. `source` names it in locations. A read error ends the scan with
    /// the error; what was scanned before it is kept.
    pub fn scan_until<R: BufRead>(
        &mut self,
        mut r: R,
        source: &str,
        deadline: Option<std::time::Instant>,
    ) -> std::io::Result<ScanEnd> {
        let cat = catalog();
        let src = self.sources.len();
        self.sources.push(source.to_string());
        let (mut line_no, mut done, mut lines_left, mut bytes_at_look) = (0u64, 0u64, CLOCK_EVERY_LINES, 0u64);
        let mut end = ScanEnd::Complete;
        let mut hits = std::mem::take(&mut self.hits);
        // Inside kubeadm <= 1.8's fatal preflight block (`Catalog::matches_line`).
        let mut old_block = false;
        let read = for_each_line(&mut r, MAX_LINE_BYTES, |line, cut, read| {
            if let Some(deadline) = deadline {
                lines_left -= 1;
                if lines_left == 0 || read - bytes_at_look >= CLOCK_EVERY_BYTES {
                    (lines_left, bytes_at_look) = (CLOCK_EVERY_LINES, read);
                    if std::time::Instant::now() >= deadline {
                        // This line is not matched, so not counted either.
                        end = ScanEnd::CutShort;
                        return ControlFlow::Break(());
                    }
                }
            }
            (line_no, done) = (line_no + 1, read);
            self.truncated += u64::from(cut);
            let word = cat.matches_line(line, &mut hits, &mut old_block);
            if line.first() == Some(&b'[') {
                if let Some(step) = super::kubeadm_step(line) {
                    let mut text = self.last_step.take().map(|l| l.3).unwrap_or_default();
                    text.clear();
                    push_text(&mut text, line, MAX_TEXT_CHARS);
                    self.last_step = Some((src, line_no, step, text));
                }
            }
            if !hits.is_empty() {
                self.record(&hits, line, src, line_no);
            } else {
                self.unmatched.add((src, line_no), line, word, MAX_TEXT_CHARS);
            }
            ControlFlow::Continue(())
        });
        self.hits = hits;
        self.lines += line_no;
        // The bytes of the lines counted (a scan cut short read one line more).
        self.bytes += match (&read, end) {
            (Ok(all), ScanEnd::Complete) => *all,
            _ => done,
        };
        read.map(|_| end)
    }

    /// Records the signatures `hits` (catalog indexes) matched on line `line_no` of input `src`.
    fn record(&mut self, hits: &[usize], line: &[u8], src: usize, line_no: u64) {
        let cat = catalog();
        let mut success = None;
        // After a successful join, a line that is the normal state (kubeadm removed the
        // bootstrap kubeconfig) is no failure, nor are the other signatures on it (the kubelet's
        // fatal-error wrapper around it).
        if self.joined.is_some() && hits.iter().any(|&i| cat.signature(i).normal_after_join) {
            return;
        }
        for &i in hits {
            self.active[i].add((src, line_no), line);
            if cat.signature(i).role == ROLE_SUCCESS {
                success = Some(i);
            }
        }
        if let Some(i) = success {
            // The failures so far were resolved: a later attempt got through.
            self.resolve();
            self.unmatched.clear();
            self.last_step = None;
            // The last success line is kept, in place (a log may have one on every line).
            let j = self.joined.get_or_insert_with(|| Joined {
                source: String::new(),
                line: 0,
                signature: String::new(),
                text: String::new(),
            });
            j.source.clear();
            j.source.push_str(&self.sources[src]);
            j.line = line_no;
            j.signature.clear();
            j.signature.push_str(&cat.signature(i).id);
            j.text.clear();
            push_text(&mut j.text, line, 400);
        }
    }

    /// Moves the active failures into `resolved`, merging with earlier resolved ones.
    fn resolve(&mut self) {
        let cat = catalog();
        for (i, (active, done)) in self.active.iter_mut().zip(self.resolved.iter_mut()).enumerate() {
            if active.count > 0 && cat.signature(i).is_failure() {
                done.merge(active);
                active.clear();
            }
        }
    }

    /// Failure findings after the last success line (all of them if there is none), in order
    /// of first appearance (on one line, in catalog order).
    pub fn findings(&self) -> Vec<Finding> {
        self.sorted(&self.active, true)
    }

    /// Failure findings before the last success line: resolved by a later attempt.
    pub fn resolved(&self) -> Vec<Finding> {
        self.sorted(&self.resolved, true)
    }

    /// Progress and success lines, in order of first appearance: context, never a root cause.
    pub fn context(&self) -> Vec<Finding> {
        self.sorted(&self.active, false)
    }

    /// The last success line, if the log reaches one.
    pub fn joined(&self) -> Option<&Joined> {
        self.joined.as_ref()
    }

    /// The name of input `src` (`-` for stdin).
    pub(crate) fn source_name(&self, src: usize) -> &str {
        &self.sources[src]
    }

    /// The findings of failure (or context) signatures in `v`, in order of first appearance;
    /// the sort is stable, so findings first seen on the same line keep catalog order.
    fn sorted(&self, v: &[Tally], failures: bool) -> Vec<Finding> {
        let cat = catalog();
        let mut out: Vec<Finding> = v
            .iter()
            .enumerate()
            .map(|(i, t)| (i, t, cat.signature(i)))
            .filter(|(_, t, s)| t.count > 0 && s.is_failure() == failures)
            .map(|(i, t, s)| Finding {
                id: s.id.clone(),
                domain: s.domain,
                role: s.role.clone(),
                // The status-error rule's meaning names who was refused what (its first line).
                meaning: match (cat.status_class(i), cat.transport_class(i), t.texts().first()) {
                    (Some(c), _, Some(text)) => super::status::meaning(c, text),
                    // The transport rule's names the times, the name or the address.
                    (_, Some(c), Some(text)) => super::transport::meaning(c, text),
                    _ => s.meaning.clone(),
                },
                fix: s.fix.clone(),
                count: t.count,
                lines: t
                    .lines
                    .iter()
                    .map(|&(src, line)| Location { source: self.sources[src].clone(), line })
                    .collect(),
                // The first line's text, as the report shows it (400 of its 1,000 characters).
                example: t.texts().first().map(|x| first_chars(x, 400).to_string()).unwrap_or_default(),
                texts: t.texts().to_vec(),
                order: t.order,
            })
            .collect();
        out.sort_by_key(|f| f.order);
        out
    }
}

/// Appends `line` as text to `out`: invalid UTF-8 replaced (U+FFFD), trailing whitespace and
/// the line ending dropped, at most `max` characters.
pub(crate) fn push_text(out: &mut String, line: &[u8], max: usize) {
    // `from_utf8` first: its check is much quicker than the lossy conversion's, and most lines pass.
    match std::str::from_utf8(line) {
        Ok(text) => out.push_str(first_chars(text.trim_end(), max)),
        Err(_) => out.push_str(first_chars(String::from_utf8_lossy(line).trim_end(), max)),
    }
}

/// The first `max` characters of `text` (all of it when shorter), without copying.
fn first_chars(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    text.char_indices().nth(max).map_or(text, |(i, _)| &text[..i])
}

/// Splits `r` into lines and calls `f(line, cut, read)` for each, in order, until the input
/// ends or `f` breaks. A line ends at `\n`, at `\r\n` (one line ending, not two) or at a lone
/// `\r` (classic Mac OS text, and terminals that redraw a line with a carriage return), so a
/// log has the same lines whatever its line endings; the ending is not part of `line`. A last
/// line without an ending is a line too; an input that ends with a line ending has no empty
/// line after it. At most `max` bytes of a line are passed (`cut` says the line was longer);
/// the rest is read and dropped without buffering it. `read` is the number of bytes of the
/// input read so far. Lines that lie in `r`'s buffer are passed without copying; a line that
/// spans two refills is copied (at most `max` bytes). Returns the bytes read. (`read` counts a
/// line's ending, except the `\n` of a `\r\n` split between two refills, which counts with
/// the next line.)
pub(crate) fn for_each_line<R: BufRead>(
    r: &mut R,
    max: usize,
    mut f: impl FnMut(&[u8], bool, u64) -> ControlFlow<()>,
) -> std::io::Result<u64> {
    // A line that started in an earlier refill: its kept bytes, whether it was cut.
    let (mut buf, mut started, mut cut) = (Vec::new(), false, false);
    // The previous refill ended with `\r`: a `\n` first in this one belongs to it.
    let mut after_cr = false;
    let mut read = 0u64;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            if started {
                let _ = f(&buf, cut, read);
            }
            return Ok(read);
        }
        let mut i = 0;
        if std::mem::take(&mut after_cr) && avail[0] == b'\n' {
            i = 1;
        }
        let mut flow = ControlFlow::Continue(());
        while i < avail.len() && flow.is_continue() {
            let rest = &avail[i..];
            let Some(k) = memchr::memchr2(b'\n', b'\r', rest) else {
                // The line goes on in the next refill: keep what fits, drop the rest.
                let room = max.saturating_sub(buf.len());
                cut |= rest.len() > room;
                buf.extend_from_slice(&rest[..rest.len().min(room)]);
                started = true;
                i = avail.len();
                break;
            };
            let mut next = i + k + 1;
            if avail[i + k] == b'\r' {
                match avail.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => after_cr = true,
                }
            }
            let seg = &rest[..k];
            let read_now = read + next as u64;
            flow = if started {
                let room = max.saturating_sub(buf.len());
                let c = cut || seg.len() > room;
                buf.extend_from_slice(&seg[..seg.len().min(room)]);
                let flow = f(&buf, c, read_now);
                buf.clear();
                (started, cut) = (false, false);
                flow
            } else {
                f(&seg[..seg.len().min(max)], seg.len() > max, read_now)
            };
            i = next;
        }
        read += i as u64;
        r.consume(i);
        if flow.is_break() {
            return Ok(read);
        }
    }
}
