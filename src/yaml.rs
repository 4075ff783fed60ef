//! YAML with positions: a small node tree built from granit-parser events (the maintained
//! parser under serde-saphyr), so that validation can name `file:line:column` for every field,
//! see duplicate keys, and type scalars the way kubeadm reads them.
//!
//! kubeadm reads configs with `sigs.k8s.io/yaml` (go-yaml v2 to JSON, then strict JSON
//! decoding). Differences that matter and how joinkit handles them:
//! - go-yaml v2 is YAML 1.1: plain `yes/no/on/off/y/n` are booleans there; [`Scalar::yaml11_bool`]
//!   reports them so validation can warn.
//! - A plain scalar that looks like a number or boolean is not a string for Go's decoder
//!   (`name: 123` fails to decode into a string field); [`Scalar::kind`] types plain scalars
//!   the same way.
//! - Duplicate keys are kept here in order, so validation can report each one.

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
    pub fn yaml11_bool(&self) -> Option<bool> {
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
    pub fn as_bool(&self) -> Option<bool> {
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
                ScalarKind::Int => {
                    s.value.replace('_', "").parse::<i64>().map(J::from).unwrap_or_else(|_| J::String(s.value.clone()))
                }
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
}

fn pos(m: &granit_parser::Marker) -> Pos {
    Pos { line: m.line(), col: m.col() + 1 }
}

enum Frame {
    Map(Vec<(Key, Node)>, Pos, Option<Key>, usize),
    Seq(Vec<Node>, Pos, usize),
}

/// Parses a YAML stream into documents. Anchors and aliases are resolved by copying.
pub fn parse(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut root: Option<Node> = None;
    let mut doc_start = Pos::default();
    let mut doc_offset = 0usize;
    let line_offsets: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset_of = |p: Pos| line_offsets.get(p.line.saturating_sub(1)).copied().unwrap_or(text.len());
    // Completes a node: attach to the parent frame or make it the root.
    fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node, key_pos: Pos) -> Result<(), SyntaxError> {
        match stack.last_mut() {
            None => {
                *root = Some(node);
                Ok(())
            }
            Some(Frame::Seq(items, _, _)) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map(entries, _, pending, _)) => match pending.take() {
                None => match node.value {
                    Value::Scalar(s) => {
                        *pending = Some(Key { name: s.value, pos: key_pos });
                        Ok(())
                    }
                    _ => Err(SyntaxError { message: "a mapping key must be a scalar here".into(), pos: node.pos }),
                },
                Some(k) => {
                    entries.push((k, node));
                    Ok(())
                }
            },
        }
    }
    for ev in Parser::new_from_str(text) {
        let (event, span) = ev.map_err(|e| SyntaxError { message: e.info(), pos: pos(e.marker()) })?;
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
            Event::MappingStart(_, anchor, _) => stack.push(Frame::Map(Vec::new(), p, None, anchor)),
            Event::SequenceStart(_, anchor, _) => stack.push(Frame::Seq(Vec::new(), p, anchor)),
            Event::MappingEnd | Event::SequenceEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Map(entries, start, _, anchor)) => {
                        (Node { value: Value::Map(entries), pos: start }, anchor)
                    }
                    Some(Frame::Seq(items, start, anchor)) => (Node { value: Value::Seq(items), pos: start }, anchor),
                    None => return Err(SyntaxError { message: "unbalanced collection end".into(), pos: p }),
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                let npos = node.pos;
                attach(&mut stack, &mut root, node, npos)?;
            }
            Event::Scalar(value, style, anchor, _) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                let node = Node { value: Value::Scalar(Scalar { value: value.into_owned(), quoted }), pos: p };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                attach(&mut stack, &mut root, node, p)?;
            }
            Event::Alias(id) => {
                let node =
                    anchors.get(&id).cloned().ok_or_else(|| SyntaxError { message: "unknown alias".into(), pos: p })?;
                let node = Node { pos: p, ..node };
                attach(&mut stack, &mut root, node, p)?;
            }
            _ => {}
        }
    }
    Ok(docs)
}

/// Levenshtein distance (for "did you mean").
pub fn edit_distance(a: &str, b: &str) -> usize {
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
