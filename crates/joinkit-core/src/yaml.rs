//! YAML with positions: a small node tree built from granit-parser events (the maintained
//! parser under serde-saphyr), so that validation can name `file:line:column` for every field,
//! see duplicate keys, and type scalars the way kubeadm reads them.
//!
//! kubeadm reads configs with `sigs.k8s.io/yaml` (go-yaml v2 to JSON, then strict JSON
//! decoding). Differences that matter and how joinkit handles them:
//! - go-yaml v2 is YAML 1.1: plain `yes/no/on/off/y/n` are booleans there; `Scalar::yaml11_bool`
//!   reports them so validation can warn.
//! - A plain scalar that looks like a number or boolean is not a string for Go's decoder
//!   (`name: 123` fails to decode into a string field); [`Scalar::kind`] types plain scalars
//!   the same way.
//! - Duplicate keys are kept here in order, so validation can report each one.
//! - go-yaml v2 takes NEL (U+0085), LS (U+2028), PS (U+2029) and a lone CR as line breaks;
//!   YAML 1.2 (this parser) reads the first three as ordinary characters, and kubeadm splits
//!   documents at LF only. [`check_line_breaks`] refuses all four, in [`parse`] and
//!   [`from_str`], the two ways joinkit reads YAML, so no caller can skip it.

use granit_parser::{Event, Parser, ScalarStyle};

/// A position in the source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// A scalar and how it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The value after escape processing.
    pub value: String,
    /// True when quoted or a block scalar (always a string).
    pub quoted: bool,
}

/// What a plain scalar means to Go's YAML-to-JSON conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// `~`, `null`, empty.
    Null,
    /// `true` / `false` (and YAML 1.1 forms).
    Bool,
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// Anything else, or quoted.
    Str,
}

impl Scalar {
    /// The scalar's type as go-yaml v2 resolves it.
    pub fn kind(&self) -> ScalarKind {
        if self.quoted {
            return ScalarKind::Str;
        }
        let v = self.value.as_str();
        match v {
            "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
            "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => ScalarKind::Bool,
            _ if self.yaml11_bool().is_some() => ScalarKind::Bool,
            _ if is_int(v) => ScalarKind::Int,
            _ if is_float(v) => ScalarKind::Float,
            _ => ScalarKind::Str,
        }
    }

    /// `Some(b)` for YAML 1.1 booleans that YAML 1.2 reads as strings (`yes`, `off`, ...).
    pub(crate) fn yaml11_bool(&self) -> Option<bool> {
        if self.quoted {
            return None;
        }
        match self.value.as_str() {
            "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => Some(true),
            "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => Some(false),
            _ => None,
        }
    }

    /// The boolean value, for `true/false` and YAML 1.1 forms.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        if self.quoted {
            return None;
        }
        match self.value.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => self.yaml11_bool(),
        }
    }
}

fn is_int(v: &str) -> bool {
    let d = v.strip_prefix(['-', '+']).unwrap_or(v);
    (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
        || d.strip_prefix("0x").is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        || d.strip_prefix("0o").is_some_and(|o| !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
}

/// The value of a scalar [`is_int`] accepts, in the same forms (decimal with `_`, `0x` hex,
/// `0o` octal, a sign), as Go's YAML reader gives it to kubeadm; None when it overflows i64.
fn int_value(v: &str) -> Option<i64> {
    let (neg, d) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let n = if let Some(h) = d.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = d.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()?
    } else {
        d.replace('_', "").parse::<i128>().ok()?
    };
    i64::try_from(if neg { -n } else { n }).ok()
}

fn is_float(v: &str) -> bool {
    matches!(v, ".inf" | "-.inf" | "+.inf" | ".Inf" | ".nan" | ".NaN")
        || (v.parse::<f64>().is_ok() && v.bytes().any(|b| b.is_ascii_digit()) && !v.contains(['i', 'I', 'n', 'N']))
}

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A mapping: keys in source order, duplicates kept.
    Map(Vec<(Key, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
    /// A scalar.
    Scalar(Scalar),
}

/// A mapping key and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Its position.
    pub pos: Pos,
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Its position.
    pub pos: Pos,
}

impl Node {
    /// The value of `key` in a map (the first, if duplicated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar, if this is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The string value of a scalar (any scalar, as text).
    pub fn str(&self) -> Option<&str> {
        self.scalar().map(|s| s.value.as_str())
    }

    /// Sequence items.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(v) => v,
            _ => &[],
        }
    }

    /// True for a null scalar.
    pub fn is_null(&self) -> bool {
        self.scalar().is_some_and(|s| s.kind() == ScalarKind::Null)
    }

    /// Converts to JSON the way Go's YAML-to-JSON conversion would (plain scalars typed; later
    /// duplicate keys win).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Scalar(s) => match s.kind() {
                ScalarKind::Null => J::Null,
                ScalarKind::Bool => J::Bool(s.as_bool().unwrap_or(false)),
                ScalarKind::Int => int_value(&s.value).map(J::from).unwrap_or_else(|| J::String(s.value.clone())),
                ScalarKind::Float => s
                    .value
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(J::Number)
                    .unwrap_or_else(|| J::String(s.value.clone())),
                ScalarKind::Str => J::String(s.value.clone()),
            },
        }
    }
}

/// One document of a stream: its root (None for an empty document) and where it starts.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root node.
    pub root: Option<Node>,
    /// Where the document starts.
    pub pos: Pos,
    /// The document's source text (for pass-through).
    pub text: String,
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
    /// How to fix it, when more can be said than "fix the syntax here".
    pub fix: Option<&'static str>,
}

impl SyntaxError {
    fn new(message: impl Into<String>, pos: Pos) -> SyntaxError {
        SyntaxError { message: message.into(), pos, fix: None }
    }
}

/// `MESSAGE at line L, column C`, the form serde-saphyr's own errors take.
impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at line {}, column {}", self.message, self.pos.line, self.pos.col)
    }
}

/// The characters that go-yaml v2 (kubeadm's and the kubelet's YAML reader: `sigs.k8s.io/yaml`
/// over its `goyaml.v2` fork) takes as line breaks and joinkit's YAML 1.2 reader does not: its
/// `is_break` (`yamlprivateh.go`, used throughout `scannerc.go`) is CR, LF, NEL U+0085,
/// LS U+2028 and PS U+2029, while YAML 1.2 (spec 1.2.2, 5.4 "Line Break Characters") breaks lines
/// only at LF, CR LF and CR. The lone CR is here too: go-yaml and granit-parser both break the
/// line there, but kubeadm first splits a file into documents with
/// `k8s.io/apimachinery/pkg/util/yaml`'s `YAMLReader`, which reads LF-terminated lines, so a
/// `---` after a lone CR starts a document for joinkit and none for kubeadm (checked with
/// kubeadm v1.36.2: it then never reads the second document).
pub const YAML11_ONLY_BREAKS: &[(char, &str)] = &[
    ('\u{0085}', "U+0085 NEXT LINE (NEL)"),
    ('\u{2028}', "U+2028 LINE SEPARATOR (LS)"),
    ('\u{2029}', "U+2029 PARAGRAPH SEPARATOR (PS)"),
    ('\r', "a carriage return (CR, U+000D) not followed by a line feed"),
];

/// The fix for a [`check_line_breaks`] error.
pub(crate) const LINE_BREAK_FIX: &str =
    "replace the character with a line feed (LF) where a new line is meant, or delete it; \
     inside a double-quoted string write it as an escape (\\N, \\L, \\P, \\r)";

/// Refuses a YAML text that a YAML 1.1 reader would split into other lines than joinkit's
/// reader does: the first raw NEL (U+0085), LS (U+2028), PS (U+2029) or CR not followed by LF,
/// anywhere (in a comment, a scalar or a block scalar alike; escapes such as `"\L"` are text,
/// not these characters, and are fine). kubeadm reads such a file with go-yaml v2, which breaks
/// the line there, so a key "hidden" in a comment after the character is a key for kubeadm and
/// not for joinkit (for example `caCertHashes: [...] # pinned<LS>    unsafeSkipCAVerification:
/// true`); see [`YAML11_ONLY_BREAKS`] for the upstream rules.
///
/// The error's position is the character's: line from 1 (lines end at LF or CR LF, as in every
/// other joinkit YAML error: none of the four can come before it), column from 1 in characters
/// (a leading byte-order mark is not counted, as granit-parser does not count it). Its message
/// names the character; `fix` says how to remove it. O(n) over the text, no allocation.
pub fn check_line_breaks(text: &str) -> Result<(), SyntaxError> {
    let (mut line, mut col) = (1usize, 1usize);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                col = 1;
                continue;
            }
            '\u{FEFF}' if i == 0 => continue,
            '\r' if chars.peek().is_some_and(|&(_, n)| n == '\n') => {}
            '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}' => {
                let name = YAML11_ONLY_BREAKS.iter().find(|(b, _)| *b == c).map_or("", |(_, n)| n);
                let why = if c == '\r' {
                    "go-yaml starts a new line here, but kubeadm splits a file into documents at line feeds only, \
                     so kubeadm and joinkit would read different documents from this file; joinkit refuses it"
                } else {
                    "kubeadm's YAML 1.1 reader (go-yaml, also the kubelet's and client-go's) starts a new line here and \
                     joinkit's YAML 1.2 reader does not, so kubeadm would read keys that joinkit never saw; joinkit refuses it"
                };
                return Err(SyntaxError {
                    message: format!("{name}: {why}"),
                    pos: Pos { line, col },
                    fix: Some(LINE_BREAK_FIX),
                });
            }
            _ => {}
        }
        col += 1;
    }
    Ok(())
}

/// Deserializes one YAML document with serde-saphyr, after [`check_line_breaks`]: the one way
/// joinkit reads YAML into a serde type (kubelet configurations, cluster-info ConfigMaps,
/// nodeadm NodeConfigs, its own catalogs). Errors are text with the position (`... at line L,
/// column C`) and without a quote of the document ([`saphyr_error`]).
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    check_line_breaks(text).map_err(|e| e.to_string())?;
    serde_saphyr::from_str(text).map_err(|e| saphyr_error(&e))
}

/// A serde-saphyr error as text without the source snippet it adds (the snippet would quote the
/// document, and a kubeconfig holds secrets): the position and reason, with anything shaped like
/// a secret redacted and the length capped at 300 characters.
pub(crate) fn saphyr_error(e: &serde_saphyr::Error) -> String {
    let inner = e.without_snippet();
    let mut text = crate::redact::redact(&inner.to_string());
    if text.chars().count() > 300 {
        text = text.chars().take(300).collect::<String>() + "…";
    }
    text
}

fn pos(m: &granit_parser::Marker) -> Pos {
    Pos { line: m.line(), col: m.col() + 1 }
}

/// Where serde-saphyr places an error (1-based line and column), when it knows: for messages
/// that must give the position without the text ([`crate::redact::parse_error`]).
pub(crate) fn saphyr_pos(e: &serde_saphyr::Error) -> Option<Pos> {
    e.location().map(|l| Pos { line: l.line() as usize, col: l.column() as usize })
}

/// The 1-based line and column (in characters) of byte `offset` of `text`, for parsers that
/// report byte spans (toml); an offset past the end is the end.
pub(crate) fn pos_at(text: &str, offset: usize) -> Pos {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Pos { line: before.matches('\n').count() + 1, col: before[line_start..].chars().count() + 1 }
}

/// The most nodes that anchors and aliases may copy in one stream (each anchored node is copied
/// once when defined and once per alias that names it, counting every node of the copied
/// subtree). A real kubeadm config copies a few dozen; a "billion laughs" alias bomb would copy
/// billions, so beyond this the stream is a syntax error (`config-yaml-syntax`) instead of
/// gigabytes of memory.
pub(crate) const MAX_ALIAS_NODES: u64 = 100_000;

/// The most scalar and key bytes that anchors and aliases may copy in one stream (1 MiB), so
/// that one large anchored scalar aliased many times cannot exhaust memory either.
pub(crate) const MAX_ALIAS_BYTES: u64 = 1 << 20;

/// The size of a subtree: nodes, and bytes of scalar values and keys.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    nodes: u64,
    bytes: u64,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// What anchors and aliases have copied so far, against [`MAX_ALIAS_NODES`] and
/// [`MAX_ALIAS_BYTES`].
#[derive(Default)]
struct CopyBudget(Cost);

impl CopyBudget {
    fn charge(&mut self, c: Cost, p: Pos) -> Result<(), SyntaxError> {
        self.0.add(c);
        if self.0.nodes > MAX_ALIAS_NODES || self.0.bytes > MAX_ALIAS_BYTES {
            return Err(SyntaxError::new(
                format!(
                    "anchors and aliases expand to more than {MAX_ALIAS_NODES} nodes or {} of text; \
                     joinkit refuses such a document (an alias bomb, or aliases far beyond what a kubeadm config needs)",
                    crate::fsutil::human_size(MAX_ALIAS_BYTES)
                ),
                p,
            ));
        }
        Ok(())
    }
}

enum Frame {
    Map(Vec<(Key, Node)>, Pos, Option<Key>, usize, Cost),
    Seq(Vec<Node>, Pos, usize, Cost),
}

/// Parses a YAML stream into documents. A character YAML 1.1 takes as a line break is refused
/// first ([`check_line_breaks`]). Anchors and aliases are resolved by copying, within
/// `MAX_ALIAS_NODES` and `MAX_ALIAS_BYTES` copied per stream (more is a [`SyntaxError`]).
pub fn parse(text: &str) -> Result<Vec<Document>, SyntaxError> {
    check_line_breaks(text)?;
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, (Node, Cost)> = std::collections::HashMap::new();
    let mut budget = CopyBudget::default();
    let mut root: Option<Node> = None;
    let mut doc_start = Pos::default();
    let mut doc_offset = 0usize;
    let line_offsets: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset_of = |p: Pos| line_offsets.get(p.line.saturating_sub(1)).copied().unwrap_or(text.len());
    // Completes a node: attach to the parent frame or make it the root.
    // `cost` is the node's subtree size, added to the parent's.
    fn attach(
        stack: &mut [Frame],
        root: &mut Option<Node>,
        node: Node,
        key_pos: Pos,
        cost: Cost,
    ) -> Result<(), SyntaxError> {
        match stack.last_mut() {
            None => {
                *root = Some(node);
                Ok(())
            }
            Some(Frame::Seq(items, _, _, c)) => {
                c.add(cost);
                items.push(node);
                Ok(())
            }
            Some(Frame::Map(entries, _, pending, _, c)) => match pending.take() {
                None => match node.value {
                    Value::Scalar(s) => {
                        c.add(cost);
                        *pending = Some(Key { name: s.value, pos: key_pos });
                        Ok(())
                    }
                    _ => Err(SyntaxError::new("a mapping key must be a scalar here", node.pos)),
                },
                Some(k) => {
                    c.add(cost);
                    entries.push((k, node));
                    Ok(())
                }
            },
        }
    }
    for ev in Parser::new_from_str(text) {
        let (event, span) = ev.map_err(|e| SyntaxError::new(e.info(), pos(e.marker())))?;
        let p = pos(&span.start);
        match event {
            Event::DocumentStart(..) => {
                doc_start = p;
                doc_offset = offset_of(p);
                root = None;
                anchors.clear();
            }
            Event::DocumentEnd => {
                let end = offset_of(pos(&span.start)).max(doc_offset);
                let end =
                    if span.start.col() > 0 { (end + span.start.col()).min(text.len()) } else { end.min(text.len()) };
                docs.push(Document {
                    root: root.take(),
                    pos: doc_start,
                    text: text.get(doc_offset..end).unwrap_or("").to_string(),
                });
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map(Vec::new(), p, None, anchor, Cost { nodes: 1, bytes: 0 }))
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), p, anchor, Cost { nodes: 1, bytes: 0 }))
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (node, anchor, cost) = match stack.pop() {
                    Some(Frame::Map(entries, start, _, anchor, cost)) => {
                        (Node { value: Value::Map(entries), pos: start }, anchor, cost)
                    }
                    Some(Frame::Seq(items, start, anchor, cost)) => {
                        (Node { value: Value::Seq(items), pos: start }, anchor, cost)
                    }
                    None => return Err(SyntaxError::new("unbalanced collection end", p)),
                };
                if anchor != 0 {
                    budget.charge(cost, node.pos)?;
                    anchors.insert(anchor, (node.clone(), cost));
                }
                let npos = node.pos;
                attach(&mut stack, &mut root, node, npos, cost)?;
            }
            Event::Scalar(value, style, anchor, _) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                let cost = Cost { nodes: 1, bytes: value.len() as u64 };
                let node = Node { value: Value::Scalar(Scalar { value: value.into_owned(), quoted }), pos: p };
                if anchor != 0 {
                    budget.charge(cost, p)?;
                    anchors.insert(anchor, (node.clone(), cost));
                }
                attach(&mut stack, &mut root, node, p, cost)?;
            }
            Event::Alias(id) => {
                let (node, cost) = anchors.get(&id).ok_or_else(|| SyntaxError::new("unknown alias", p))?;
                // Charge before copying: the budget is what keeps the copy small.
                budget.charge(*cost, p)?;
                let (node, cost) = (Node { pos: p, ..node.clone() }, *cost);
                attach(&mut stack, &mut root, node, p, cost)?;
            }
            _ => {}
        }
    }
    Ok(docs)
}

/// Levenshtein distance (for "did you mean").
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_convert_in_every_form_is_int_accepts() {
        for (v, want) in [("31", 31), ("0x1F", 31), ("-0x1f", -31), ("0o17", 15), ("+1_000", 1000), ("-5", -5)] {
            assert!(is_int(v), "{v}");
            assert_eq!(int_value(v), Some(want), "{v}");
        }
        assert_eq!(int_value("0x8000000000000000"), None, "overflows i64: kept as a string");
    }

    #[test]
    fn positions_duplicates_and_documents() {
        let docs = parse("a: 1\nb:\n  - x\n  - 'y'\na: 2\n---\nkind: X\n").unwrap();
        assert_eq!(docs.len(), 2);
        let r = docs[0].root.as_ref().unwrap();
        let Value::Map(m) = &r.value else { panic!() };
        assert_eq!(m.len(), 3, "duplicates kept");
        assert_eq!(m[2].0.pos, Pos { line: 5, col: 1 });
        assert_eq!(r.get("b").unwrap().items()[1].pos, Pos { line: 4, col: 5 });
        assert!(r.get("b").unwrap().items()[1].scalar().unwrap().quoted);
        assert_eq!(docs[1].root.as_ref().unwrap().get("kind").unwrap().str(), Some("X"));
        assert!(docs[1].text.contains("kind: X"));
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.pos.line >= 1);
        assert_eq!(edit_distance("caCertHash", "caCertHashes"), 2);
    }

    /// The classic "billion laughs": 9 levels of 9 aliases, 10^9 leaves from ~400 bytes.
    fn billion_laughs() -> String {
        let mut s = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let mut prev = 'a';
        for c in "bcdefghi".chars() {
            s.push_str(&format!("{c}: &{c} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
            prev = c;
        }
        s
    }

    #[test]
    fn alias_bomb_is_a_syntax_error_not_gigabytes() {
        let t = std::time::Instant::now();
        let e = parse(&billion_laughs()).unwrap_err();
        assert!(e.message.contains("anchors and aliases expand to more than 100000 nodes"), "{e:?}");
        assert!(e.pos.line > 1, "points at the alias that crossed the limit: {e:?}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
        // One big scalar aliased many times: few nodes, many bytes.
        let big = format!("a: &a \"{}\"\nb: [{}]\n", "x".repeat(64 << 10), vec!["*a"; 32].join(","));
        assert!(parse(&big).unwrap_err().message.contains("1 MiB of text"));
        // Nested anchors copy their subtrees too, without any alias.
        let leaves = vec!["x"; 2000].join(",");
        let mut flat = String::new();
        for i in 0..200 {
            flat.push_str(&format!("&a{i} ["));
        }
        flat.push_str(&leaves);
        flat.push_str(&"]".repeat(200));
        assert!(parse(&flat).unwrap_err().message.contains("anchors and aliases"));
    }

    #[test]
    fn ordinary_aliases_still_work() {
        let docs = parse("base: &b {x: 1, y: [a, b]}\none: *b\ntwo: *b\nname: &n worker\nalso: *n\n").unwrap();
        let r = docs[0].root.as_ref().unwrap();
        assert_eq!(r.get("two").unwrap().get("y").unwrap().items().len(), 2);
        assert_eq!(r.get("two").unwrap().pos, Pos { line: 3, col: 6 });
        assert_eq!(r.get("also").unwrap().str(), Some("worker"));
        // Right at the limit is fine: 999 aliases of a 100-node anchor copy 99,900 + 100 nodes.
        let items = vec!["x"; 99].join(",");
        let ok = format!("a: &a [{items}]\nb: [{}]\n", vec!["*a"; 999].join(","));
        assert!(parse(&ok).is_ok());
        let over = format!("a: &a [{items}]\nb: [{}]\n", vec!["*a"; 1000].join(","));
        assert!(parse(&over).is_err());
    }

    /// A JoinConfiguration whose comment after `caCertHashes` holds `br`: for go-yaml v2 the
    /// comment ends there and `unsafeSkipCAVerification: true` is a key of `bootstrapToken`.
    fn hidden_key(br: char) -> String {
        format!(
            "kind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    caCertHashes: [sha256:00] # pinned{br}    unsafeSkipCAVerification: true\n"
        )
    }

    #[test]
    fn yaml11_line_breaks_are_errors_with_their_position() {
        for &(c, name) in YAML11_ONLY_BREAKS {
            // What YAML 1.1 reads: the character as a line break reveals the hidden key.
            let as_go_yaml = parse(&hidden_key(c).replace(c, "\n")).unwrap();
            let bt = as_go_yaml[0].root.as_ref().unwrap().get("discovery").unwrap().get("bootstrapToken").unwrap();
            assert_eq!(bt.get("unsafeSkipCAVerification").unwrap().str(), Some("true"));
            // joinkit refuses the file instead of reading it without that key.
            let e = parse(&hidden_key(c)).unwrap_err();
            assert_eq!(e.pos, Pos { line: 4, col: 39 }, "{name}: {e:?}");
            assert!(e.message.starts_with(name), "{e:?}");
            assert!(
                e.message.contains("go-yaml") && e.message.contains("joinkit refuses it") && e.fix.is_some(),
                "{e:?}"
            );
            assert_eq!(e.to_string(), format!("{} at line 4, column 39", e.message));
            // The serde entry point applies the same rule.
            let e = from_str::<serde_json::Value>(&hidden_key(c)).unwrap_err();
            assert!(e.contains(name) && e.ends_with("at line 4, column 39"), "{e}");
        }
    }

    #[test]
    fn line_break_positions_count_characters_like_the_parser() {
        // Columns are characters (not bytes) after LF and CR LF line ends, and a leading BOM does
        // not count: the break stands where the parser puts a scalar written in its place.
        let text = "\u{feff}a: b\r\nc: [\"é中\", Z]\r\n";
        let docs = parse(text).unwrap();
        let z = docs[0].root.as_ref().unwrap().get("c").unwrap().items()[1].pos;
        assert_eq!(z, Pos { line: 2, col: 11 });
        for &(c, _) in YAML11_ONLY_BREAKS {
            assert_eq!(parse(&text.replace('Z', &format!("{c}{c}"))).unwrap_err().pos, z, "{c:?}");
        }
        let e = check_line_breaks("a\rb").unwrap_err();
        assert_eq!(e.pos, Pos { line: 1, col: 2 });
        assert!(e.message.starts_with("a carriage return"));
        assert_eq!(check_line_breaks("a\r").unwrap_err().pos, Pos { line: 1, col: 2 });
    }

    #[test]
    fn escapes_and_ordinary_text_are_fine() {
        // Escapes are text for both readers: the characters they stand for are not raw breaks.
        let docs = parse("a: \"x\\Ly\\Nz\\P\\r\"\nb: 'é中 — ok'\r\nc: |\r\n  line\r\n").unwrap();
        assert_eq!(docs[0].root.as_ref().unwrap().get("a").unwrap().str(), Some("x\u{2028}y\u{85}z\u{2029}\r"));
        assert!(check_line_breaks("").is_ok());
        assert!(from_str::<serde_json::Value>("a: 1\r\n").is_ok());
    }

    proptest::proptest! {
        /// For any text of ordinary lines (LF or CR LF ends, multi-byte characters), the rule
        /// passes; with one break-like character inserted, it fails exactly there.
        #[test]
        fn the_first_yaml11_break_is_reported_where_it_stands(
            lines in proptest::collection::vec(("[a-z:# é中\u{1F600}-]{0,12}", proptest::bool::ANY), 1..8),
            at in 0usize..200,
            which in 0usize..4,
        ) {
            let text: String = lines.iter().map(|(l, crlf)| format!("{l}{}", if *crlf { "\r\n" } else { "\n" })).collect();
            proptest::prop_assert!(check_line_breaks(&text).is_ok());
            let offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let i = offsets[at % offsets.len()];
            // Not between CR and LF: a CR inserted there would not be lone, an LS would split CR LF.
            proptest::prop_assume!(!(text[..i].ends_with('\r')));
            let c = YAML11_ONLY_BREAKS[which].0;
            let mut bad = text.clone();
            bad.insert(i, c);
            // A CR inserted before an LF is a CR LF line end, not an error.
            proptest::prop_assume!(!(c == '\r' && text[i..].starts_with('\n')));
            let before = &text[..i];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
            let e = check_line_breaks(&bad).unwrap_err();
            proptest::prop_assert_eq!(e.pos, Pos { line, col });
        }
    }

    #[test]
    fn positions_of_byte_offsets_and_of_serde_saphyr_errors() {
        let t = "a = 1\nbé = [\n";
        assert_eq!(pos_at(t, 0), Pos { line: 1, col: 1 });
        assert_eq!(pos_at(t, 6), Pos { line: 2, col: 1 });
        // Columns count characters: `é` (column 2) is two bytes; an offset inside it is it.
        assert_eq!(pos_at(t, 9), Pos { line: 2, col: 3 });
        assert_eq!(pos_at(t, 7), Pos { line: 2, col: 2 });
        assert_eq!(pos_at(t, 8), Pos { line: 2, col: 2 });
        assert_eq!(pos_at(t, 999), Pos { line: 3, col: 1 });
        let e = toml::from_str::<toml::Table>(t).unwrap_err();
        assert_eq!(e.span().map(|s| pos_at(t, s.start)).map(|p| p.line), Some(2));
        let e = serde_saphyr::from_str::<serde_json::Value>("a: 1\nb: [x, SECRET\n").unwrap_err();
        assert_eq!(saphyr_pos(&e).map(|p| p.line), Some(2));
        let m = crate::redact::parse_error("/f", "YAML", saphyr_pos(&e));
        assert!(m.starts_with("expected YAML; /f does not parse at line 2, column "), "{m}");
        assert!(!m.contains("SECRET"));
    }

    #[test]
    fn scalar_kinds_like_go_yaml_v2() {
        let s = |v: &str, q: bool| Scalar { value: v.into(), quoted: q };
        assert_eq!(s("123", false).kind(), ScalarKind::Int);
        assert_eq!(s("123", true).kind(), ScalarKind::Str);
        assert_eq!(s("yes", false).kind(), ScalarKind::Bool);
        assert_eq!(s("1.5", false).kind(), ScalarKind::Float);
        assert_eq!(s("10.0.0.1", false).kind(), ScalarKind::Str);
        assert_eq!(s("~", false).kind(), ScalarKind::Null);
        assert_eq!(s("abcdef.0123456789abcdef", false).kind(), ScalarKind::Str);
    }
}
