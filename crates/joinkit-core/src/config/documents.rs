//! A configuration file read the way `kubeadm config validate` reads it, before any field is
//! looked at: split into documents, each read with go-yaml's line breaks, typed by its
//! `apiVersion` and `kind`, and sorted into the kinds kubeadm knows.
//!
//! Upstream (kubeadm v1.33 to v1.36, checked against each binary, `docs/kubeadm-config-parity.md`):
//! - `kubeadmutil.SplitConfigDocuments` (`cmd/kubeadm/app/util/marshal.go`) reads the file with
//!   `k8s.io/apimachinery/pkg/util/yaml.YAMLReader`: LF-terminated lines, a line starting with
//!   `---` followed by nothing, spaces or a `#` comment separates documents, and every
//!   non-empty part between separators is a document, also one holding only blank lines or
//!   comments (then without `apiVersion` and `kind`, an error).
//! - Each part is read by go-yaml v2 (YAML 1.1), which breaks lines at CR, NEL U+0085, LS U+2028
//!   and PS U+2029 too, and reads the first YAML document of the part only.
//! - `DefaultMetaFactory.Interpret` takes `apiVersion` and `kind` (JSON field matching: case
//!   does not matter there); group, version and kind must all be set; a kind may appear once.
//! - `validateKnownGVKs` (`cmd/kubeadm/app/util/config/common.go`): every document must be of a
//!   kind kubeadm's or the component-config scheme knows, or of a removed kubeadm API version.

use super::kubeadm::KubeadmVersion;
use super::model::ApiVersion;
use crate::yaml::{self, Node, Pos, Value};

/// The kubeadm API group.
pub(crate) const KUBEADM_GROUP: &str = "kubeadm.k8s.io";

/// kubeadm API versions kubeadm removed, with the last kubeadm release that reads them
/// (`validateSupportedVersion` in `cmd/kubeadm/app/util/config/common.go`).
pub(crate) const REMOVED_VERSIONS: &[(&str, &str)] =
    &[("v1alpha1", "v1.11"), ("v1alpha2", "v1.12"), ("v1alpha3", "v1.14"), ("v1beta1", "v1.15"), ("v1beta2", "v1.22")];

/// Kinds every runtime scheme knows in any group (apimachinery's unversioned kinds, registered
/// by `metav1.AddToGroupVersion`).
const UNVERSIONED_KINDS: &[&str] = &["Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList"];

/// Option kinds `metav1.AddToGroupVersion` registers in kubeadm's API versions.
const KUBEADM_META_KINDS: &[&str] =
    &["WatchEvent", "ListOptions", "GetOptions", "DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions"];

/// A kind of component configuration kubeadm reads beside its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    /// `kubelet.config.k8s.io/v1beta1` `KubeletConfiguration`.
    Kubelet,
    /// `kubeproxy.config.k8s.io/v1alpha1` `KubeProxyConfiguration`.
    KubeProxy,
    /// Another kind of one of those two groups (known to the scheme, but not a configuration
    /// kubeadm can load: an error when kubeadm loads the group).
    OtherOfGroup,
}

/// What kubeadm's schemes make of a document's group, version and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// A kubeadm configuration kind of a supported API version.
    Kubeadm(ApiVersion),
    /// A kubeadm API version kubeadm removed: the last release that reads it.
    Removed(&'static str),
    /// A component configuration.
    Component(Component),
    /// An apimachinery kind registered in every scheme (`Status`, `ListOptions`, ...): no
    /// configuration, ignored unless kubeadm decodes every document.
    Meta {
        /// `WatchEvent` has no `apiVersion`/`kind` fields: strict decoding rejects them.
        without_type_meta: bool,
    },
    /// Neither scheme knows it.
    Unknown,
}

/// Group, version and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gvk {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
}

impl Gvk {
    /// As kubeadm prints it in `unknown configuration APIs`.
    pub(crate) fn go_syntax(&self) -> String {
        format!("schema.GroupVersionKind{{Group:{:?}, Version:{:?}, Kind:{:?}}}", self.group, self.version, self.kind)
    }

    /// What the schemes know of it.
    pub(crate) fn known(&self, kv: KubeadmVersion) -> Known {
        let (g, v, k) = (self.group.as_str(), self.version.as_str(), self.kind.as_str());
        if g == KUBEADM_GROUP {
            if let Some((_, last)) = REMOVED_VERSIONS.iter().find(|(old, _)| *old == v) {
                return Known::Removed(last);
            }
            let api = match v {
                "v1beta3" => Some(ApiVersion::V1beta3),
                "v1beta4" => Some(ApiVersion::V1beta4),
                _ => None,
            };
            if let Some(api) = api {
                let kinds: &[&str] = match api {
                    ApiVersion::V1beta3 => &["InitConfiguration", "ClusterConfiguration", "JoinConfiguration"],
                    ApiVersion::V1beta4 => &[
                        "InitConfiguration",
                        "ClusterConfiguration",
                        "JoinConfiguration",
                        "ResetConfiguration",
                        "UpgradeConfiguration",
                    ],
                };
                if kinds.contains(&k) {
                    return Known::Kubeadm(api);
                }
                if KUBEADM_META_KINDS.contains(&k) {
                    return Known::Meta { without_type_meta: k == "WatchEvent" };
                }
            }
        }
        if g == "kubelet.config.k8s.io" && v == "v1beta1" && kv.kubelet_kinds().contains(&k) {
            return Known::Component(if k == "KubeletConfiguration" {
                Component::Kubelet
            } else {
                Component::OtherOfGroup
            });
        }
        if g == "kubeproxy.config.k8s.io" && v == "v1alpha1" && k == "KubeProxyConfiguration" {
            return Known::Component(Component::KubeProxy);
        }
        if UNVERSIONED_KINDS.contains(&k) {
            if matches!(g, "kubelet.config.k8s.io" | "kubeproxy.config.k8s.io") {
                return Known::Component(Component::OtherOfGroup);
            }
            return Known::Meta { without_type_meta: false };
        }
        Known::Unknown
    }
}

/// One kubeadm document: a part of the file between separators, read as kubeadm reads it.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// 0-based index among the parts.
    pub(crate) index: usize,
    /// Where the part starts in the file.
    pub(crate) pos: Pos,
    /// The part's text as written (for migrate-config's pass-through).
    pub(crate) text: String,
    /// The first YAML document of the part, positions in the file's lines and columns; None
    /// when the part holds only blank lines and comments, or does not parse.
    pub(crate) root: Option<Node>,
    /// `apiVersion` and `kind` as kubeadm reads them (empty when absent).
    pub(crate) api_version: String,
    /// See `api_version`.
    pub(crate) kind: String,
    /// Group, version and kind, when all three are set.
    pub(crate) gvk: Option<Gvk>,
}

/// Something wrong with the file's documents, found while splitting and typing them.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    /// Where.
    pub(crate) pos: Pos,
    /// What kind of finding.
    pub(crate) what: FindingKind,
    /// The message.
    pub(crate) message: String,
}

/// The kinds of [`Finding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FindingKind {
    /// go-yaml cannot read the part (kubeadm: `couldn't get version/kind; json parse error`).
    Syntax,
    /// `apiVersion` or `kind` is missing, empty or not a string, or the part is not a mapping.
    TypeMeta,
    /// A kind appears in a second document.
    DuplicateKind,
    /// A character go-yaml breaks lines at and YAML 1.2 readers do not (kubeadm accepts it).
    Yaml11Break,
    /// A part holds more than one YAML document; kubeadm reads the first.
    IgnoredDocument,
    /// A `---` line followed by text (kubeadm: `invalid Yaml document separator`).
    Separator,
}

/// A text and the line it starts on.
pub(crate) type Numbered = (usize, String);

/// The parts of `text` as kubeadm's `YAMLReader` splits it: (first line, text). A line
/// starting with `---` ends a part (and is dropped) when one is open; before any content it
/// opens the next part and stays in it (so `---` twice at the start, or at the end, makes a
/// part without content). A line `---` followed by anything but spaces or a `#` comment is
/// YAMLReader's `invalid Yaml document separator`: reading stops there, and its line and the
/// text after `---` come second.
pub(crate) fn parts(text: &str) -> (Vec<Numbered>, Option<Numbered>) {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start = 1;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let no = i + 1;
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return (out, Some((no, rest.to_string())));
            }
            if !buf.is_empty() {
                out.push((start, std::mem::take(&mut buf)));
                continue;
            }
        }
        if buf.is_empty() {
            start = no;
        }
        buf.push_str(line);
    }
    if !buf.is_empty() {
        out.push((start, buf));
    }
    (out, None)
}

/// A part's text with go-yaml's extra line breaks (lone CR, NEL, LS, PS) turned into LF, and
/// for each line of the result the file line it is on and the characters before it there.
struct Normalized {
    text: String,
    lines: Vec<(usize, usize)>,
    breaks: Vec<(Pos, char)>,
}

fn normalize(first_line: usize, part: &str) -> Normalized {
    let mut text = String::with_capacity(part.len());
    let mut lines = vec![(first_line, 0)];
    let mut breaks = Vec::new();
    let (mut line, mut col) = (first_line, 0usize);
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                text.push('\n');
                line += 1;
                col = 0;
                lines.push((line, 0));
            }
            '\r' if chars.peek() == Some(&'\n') => text.push('\r'),
            '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}' => {
                breaks.push((Pos { line, col: col + 1 }, c));
                text.push('\n');
                col += 1;
                lines.push((line, col));
            }
            '\u{FEFF}' if line == 1 && col == 0 && text.is_empty() => text.push(c),
            _ => {
                text.push(c);
                col += 1;
            }
        }
    }
    Normalized { text, lines, breaks }
}

impl Normalized {
    fn map(&self, p: Pos) -> Pos {
        match self.lines.get(p.line.saturating_sub(1)) {
            Some(&(line, before)) => Pos { line, col: before + p.col },
            None => p,
        }
    }

    fn map_node(&self, n: &mut Node) {
        n.pos = self.map(n.pos);
        match &mut n.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    k.pos = self.map(k.pos);
                    self.map_node(v);
                }
            }
            Value::Seq(items) => items.iter_mut().for_each(|i| self.map_node(i)),
            Value::Scalar(_) => {}
        }
    }
}

/// `apiVersion` or `kind` as `DefaultMetaFactory.Interpret` reads them: the last key that
/// matches ignoring case; a number or boolean is read as its text (sigs.k8s.io/yaml converts
/// scalars for string targets); a mapping or list is an error.
fn type_meta_field(root: &Node, name: &str) -> Result<(String, Option<Pos>), String> {
    let Value::Map(entries) = &root.value else { return Ok((String::new(), None)) };
    let mut found = (String::new(), None);
    // A key spelled exactly as the field wins over one that differs in case: kubeadm v1.36.2
    // reads `kind: ""` beside `Kind: JoinConfiguration` as an empty kind (its "kind and
    // apiVersion is mandatory" error); without an exact key, a case-insensitive one is read.
    let exact = entries.iter().any(|(k, _)| k.name == name);
    for (k, v) in entries {
        if if exact { k.name == name } else { k.name.eq_ignore_ascii_case(name) } {
            found = match &v.value {
                Value::Scalar(s) if s.kind() == yaml::ScalarKind::Null => (String::new(), Some(k.pos)),
                Value::Scalar(s) => (s.value.clone(), Some(k.pos)),
                Value::Map(_) => {
                    return Err(format!("json: cannot unmarshal object into Go struct field .{name} of type string"))
                }
                Value::Seq(_) => {
                    return Err(format!("json: cannot unmarshal array into Go struct field .{name} of type string"))
                }
            };
        }
    }
    Ok(found)
}

/// `apimachinery`'s `schema.ParseGroupVersion` then `FromAPIVersionAndKind`.
fn gvk_of(api_version: &str, kind: &str) -> Gvk {
    let (group, version) = match api_version.matches('/').count() {
        _ if api_version.is_empty() || api_version == "/" => (String::new(), String::new()),
        0 => (String::new(), api_version.to_string()),
        1 => {
            let (g, v) = api_version.split_once('/').unwrap_or_default();
            (g.to_string(), v.to_string())
        }
        _ => (String::new(), String::new()),
    };
    Gvk { group, version, kind: kind.to_string() }
}

/// Splits and types the file as kubeadm does. Returns every part (also those kubeadm would
/// stop at) and the findings, in file order.
pub(crate) fn read(text: &str) -> (Vec<Part>, Vec<Finding>) {
    let mut out = Vec::new();
    let mut findings = Vec::new();
    let mut kinds_seen: Vec<String> = Vec::new();
    let (parts, bad_separator) = parts(text);
    if let Some((line, rest)) = bad_separator {
        findings.push(Finding {
            pos: Pos { line, col: 1 },
            what: FindingKind::Separator,
            message: format!("invalid Yaml document separator: {rest}"),
        });
    }
    for (index, (first_line, part_text)) in parts.into_iter().enumerate() {
        let n = normalize(first_line, &part_text);
        let pos = Pos { line: first_line, col: 1 };
        for (p, c) in &n.breaks {
            let name = yaml::YAML11_ONLY_BREAKS.iter().find(|(b, _)| b == c).map_or("", |(_, name)| name);
            let why = if *c == '\r' {
                "go-yaml (kubeadm's reader) starts a new line here; YAML tools that split documents at `---` lines see other documents than kubeadm, which splits at line feeds only"
            } else {
                "go-yaml (kubeadm's YAML 1.1 reader) starts a new line here and reads what follows as YAML; YAML 1.2 readers read it as part of this line, so the file means different things to different tools"
            };
            findings.push(Finding { pos: *p, what: FindingKind::Yaml11Break, message: format!("{name}: {why}") });
        }
        let mut part = Part {
            index,
            pos,
            text: part_text.clone(),
            root: None,
            api_version: String::new(),
            kind: String::new(),
            gvk: None,
        };
        let docs = match yaml::parse(&n.text) {
            Ok(d) => d,
            Err(e) => {
                findings.push(Finding { pos: n.map(e.pos), what: FindingKind::Syntax, message: e.message });
                out.push(part);
                continue;
            }
        };
        let mut docs = docs.into_iter().filter(|d| d.root.is_some());
        if let Some(first) = docs.next() {
            let mut root = first.root.expect("filtered");
            n.map_node(&mut root);
            part.root = Some(root);
        }
        if let Some(extra) = docs.next() {
            findings.push(Finding {
                pos: n.map(extra.pos),
                what: FindingKind::IgnoredDocument,
                message: "a second YAML document in the same part of the file: kubeadm splits files only at lines that are exactly `---` and reads one document per part, so it never reads this one".into(),
            });
        }
        let typed = match &part.root {
            None => Ok(((String::new(), None), (String::new(), None))),
            Some(root) => match &root.value {
                Value::Map(_) => {
                    type_meta_field(root, "apiVersion").and_then(|a| type_meta_field(root, "kind").map(|k| (a, k)))
                }
                Value::Seq(_) => Err("json: cannot unmarshal array into Go value of type struct".into()),
                Value::Scalar(s) if s.kind() == yaml::ScalarKind::Null => {
                    Ok(((String::new(), None), (String::new(), None)))
                }
                Value::Scalar(_) => Err("json: cannot unmarshal a scalar into Go value of type struct".into()),
            },
        };
        let ((api, api_pos), (kind, kind_pos)) = match typed {
            Ok(t) => t,
            Err(e) => {
                let at = part.root.as_ref().map_or(pos, |r| r.pos);
                findings.push(Finding {
                    pos: at,
                    what: FindingKind::TypeMeta,
                    message: format!("couldn't get version/kind; json parse error: {e}"),
                });
                out.push(part);
                continue;
            }
        };
        part.api_version = api.clone();
        part.kind = kind.clone();
        let gvk = gvk_of(&api, &kind);
        if gvk.group.is_empty() || gvk.version.is_empty() || gvk.kind.is_empty() {
            let at = api_pos.or(kind_pos).unwrap_or_else(|| part.root.as_ref().map_or(pos, |r| r.pos));
            findings.push(Finding {
                pos: at,
                what: FindingKind::TypeMeta,
                message: format!(
                    "invalid configuration for GroupVersionKind {}/{}, Kind={}: kind and apiVersion is mandatory information that must be specified",
                    gvk.group, gvk.version, gvk.kind
                ),
            });
            out.push(part);
            continue;
        }
        if kinds_seen.contains(&gvk.kind) {
            findings.push(Finding {
                pos: kind_pos.unwrap_or(pos),
                what: FindingKind::DuplicateKind,
                message: format!("invalid configuration: kind {:?} is specified twice in YAML file", gvk.kind),
            });
            out.push(part);
            continue;
        }
        kinds_seen.push(gvk.kind.clone());
        part.gvk = Some(gvk);
        out.push(part);
    }
    (out, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_yaml_reader() {
        let (p, bad) = parts("# c\n---\na: 1\n--- # x\n---\nb: 2\n");
        assert_eq!(p, vec![(1, "# c\n".to_string()), (3, "a: 1\n".to_string()), (5, "---\nb: 2\n".to_string())]);
        assert!(bad.is_none());
        assert_eq!(parts("a: 1\n---\n").0, vec![(1, "a: 1\n".to_string())]);
        assert_eq!(parts("a: 1\n---\n\n").0.len(), 2);
        assert_eq!(parts("---\n---\na: 1\n").0, vec![(1, "---\n".to_string()), (3, "a: 1\n".to_string())]);
        assert_eq!(parts("a: 1\n---\n---\n").0.len(), 2);
        assert_eq!(parts("a: 1\n----\n"), (vec![], Some((2, "-".to_string()))));
        assert_eq!(
            parts("a: 1\n---\nb: 1\n--- foo\n"),
            (vec![(1, "a: 1\n".to_string())], Some((4, "foo".to_string())))
        );
        assert!(parts("").0.is_empty());
    }

    #[test]
    fn comment_only_and_blank_parts_lack_type_meta() {
        for text in ["# only a comment\n---\napiVersion: a/b\nkind: C\n", "\n\n---\napiVersion: a/b\nkind: C\n"] {
            let (_, f) = read(text);
            assert_eq!(f.len(), 1, "{text:?}");
            assert_eq!(f[0].what, FindingKind::TypeMeta);
            assert!(f[0].message.contains("GroupVersionKind /, Kind="), "{}", f[0].message);
        }
    }

    #[test]
    fn yaml11_breaks_are_lines_with_file_positions() {
        let (parts, f) = read("apiVersion: a/b # x\u{2028}kind: C\nfoo: 1\n");
        assert_eq!(parts[0].kind, "C");
        assert_eq!(f[0].what, FindingKind::Yaml11Break);
        assert_eq!(f[0].pos, Pos { line: 1, col: 20 });
        let root = parts[0].root.as_ref().unwrap();
        let Value::Map(m) = &root.value else { panic!() };
        assert_eq!(m[1].0.pos, Pos { line: 1, col: 21 });
        assert_eq!(m[2].0.pos, Pos { line: 2, col: 1 });
        // A lone CR: one part for kubeadm, whose first YAML document is all it reads.
        let (parts, f) = read("apiVersion: a/b\rkind: C\r---\rapiVersion: d/e\rkind: F\r");
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].kind, "C");
        assert!(f.iter().any(|x| x.what == FindingKind::IgnoredDocument));
    }

    #[test]
    fn group_version_kind_rules() {
        assert_eq!(gvk_of("v1", "ConfigMap").group, "");
        assert_eq!(gvk_of("a/b/c", "K").version, "");
        let (_, f) = read("apiVersion: a/b\nkind: K\n---\napiVersion: c/d\nkind: K\n");
        assert_eq!(f[0].what, FindingKind::DuplicateKind);
        let (p, f) = read("APIVERSION: a/b\nKind: K\n");
        assert!(f.is_empty());
        assert_eq!(p[0].gvk.as_ref().unwrap().kind, "K");
        // The exact spelling wins over another case (kubeadm v1.36.2: an empty kind).
        let (_, f) = read("kind: \"\"\napiVersion: a/b\nKind: K\n");
        assert_eq!(f[0].what, FindingKind::TypeMeta, "{f:?}");
        assert!(f[0].message.contains("kind and apiVersion is mandatory"), "{f:?}");
    }
}
