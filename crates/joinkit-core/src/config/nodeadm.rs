//! The configuration of EKS worker nodes as their user data carries it, for `validate-config`
//! and `diagnose` (one reader, one set of rules): nodeadm's `NodeConfig` on AL2023 and the
//! `/etc/eks/bootstrap.sh` command line on AL2. docs/eks-nodeadm.md lists every rule.
//!
//! How nodeadm reads its configuration (awslabs/amazon-eks-ami, `nodeadm/`):
//! - The user data (or a config file) is MIME multi-part when `net/mail` reads headers from it
//!   and its `Content-Type` is `multipart/*` (`internal/configprovider/mime.go`,
//!   `getMultipartReader`); then every part of type `application/node.eks.aws` is decoded as a
//!   NodeConfig (a part that is all base64 is decoded first, `encoding.go`), and the NodeConfigs
//!   are merged in order (`ParseMultipart`, `internal/api/merge.go`: `mergo.WithOverride`, so a
//!   later non-empty value wins; `kubelet.flags` are appended). Otherwise the whole text is one
//!   NodeConfig.
//! - A NodeConfig is decoded by apimachinery's universal decoder (`internal/api/bridge/decode.go`)
//!   with a non-strict serializer: `sigs.k8s.io/yaml` converts the **first** YAML document to
//!   JSON, field names match case-sensitively, and an unknown field is silently dropped (the
//!   e2e case `test/e2e/cases/config-check/config-bad.yaml`, `name-not-real:`, fails only as
//!   "Name is missing"). `apiVersion` must be `node.eks.aws/v1alpha1` and `kind` `NodeConfig`
//!   (`api/v1alpha1/groupversion_info.go`, `nodeconfig_types.go`); `certificateAuthority` is a
//!   `[]byte`, so its JSON string must be standard base64. A decoding error in the user data is
//!   tolerated by the config chain (`configprovider/chain.go`): the node then has no config.
//! - `ValidateNodeConfig` (`internal/api/validation.go`) returns the first of: "Name is missing in
//!   cluster configuration", "Apiserver endpoint is missing in cluster configuration",
//!   "Certificate authority is missing in cluster configuration", "CIDR is missing in cluster
//!   configuration", and with `enableOutpost: true` "cluster ID must be provided for outposts".
//!   The CIDR is parsed later (`internal/api/net.go`, `GetCIDRIpFamily`: "%s is not a valid IP
//!   Address. error: %v").
//!
//! bootstrap.sh (AL2; amazon-eks-ami `templates/al2/runtime/bootstrap.sh` as of commit
//! 0ab842803d827b8087d78dd2eff0bc408caec771, the last before AL2 was removed): its option parser
//! is a `case` over the options listed in [`BOOTSTRAP_OPTIONS`], each taking the next word as its
//! value (`$2` under `set -o nounset`); any other word is kept as a positional argument, and the
//! first positional argument is the cluster name ("cluster name is not defined!" when there is
//! none). Without both `--apiserver-endpoint` and `--b64-cluster-ca` it calls `aws eks
//! describe-cluster`.

use super::eks::Sink;
use super::{CheckOptions, DocumentInfo, FileResult};
use crate::error::Code;
use crate::yaml::{self, Node, Pos, Value};
use base64::Engine;

/// The NodeConfig API group and version nodeadm registers.
pub const API_VERSION: &str = "node.eks.aws/v1alpha1";
/// The MIME type of a NodeConfig part (`configprovider/userdata.go`, `nodeConfigMediaType`).
pub const MEDIA_TYPE: &str = "application/node.eks.aws";

/// What kind of node configuration a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDataKind {
    /// MIME multi-part user data.
    Mime,
    /// A NodeConfig (YAML or JSON) alone.
    NodeConfig,
    /// A shell script that runs bootstrap.sh.
    Script,
}

/// Says whether `text` is EKS node user data, by content: MIME multi-part (headers, then a
/// `Content-Type: multipart/…`), a YAML or JSON document with `apiVersion: node.eks.aws/…` or
/// `kind: NodeConfig`, or a `#!` script that calls `bootstrap.sh`. None for anything else.
pub fn recognise(text: &str) -> Option<UserDataKind> {
    if looks_mime(text) || mime_header(text).is_some() {
        return Some(UserDataKind::Mime);
    }
    if text.trim_start().starts_with("#!") && text.contains("bootstrap.sh") {
        return Some(UserDataKind::Script);
    }
    if !text.contains("node.eks.aws") && !text.contains("NodeConfig") {
        return None;
    }
    let Ok(docs) = yaml::parse(text) else {
        // A NodeConfig that is not YAML: still nodeadm's, named by its apiVersion line.
        let named = text.lines().any(|l| {
            let l = l.trim().trim_start_matches('"');
            l.starts_with("apiVersion") && l.contains("node.eks.aws/")
        });
        return named.then_some(UserDataKind::NodeConfig);
    };
    let root = docs.into_iter().find_map(|d| d.root)?;
    let api = root.get("apiVersion").and_then(Node::str).unwrap_or("");
    let kind = root.get("kind").and_then(Node::str).unwrap_or("");
    (api.starts_with("node.eks.aws/") || kind == "NodeConfig").then_some(UserDataKind::NodeConfig)
}

/// True when the text starts with a MIME header (`MIME-Version:` or `Content-Type:`): it is
/// meant as MIME user data, even when [`split_mime`] then finds its headers malformed.
fn looks_mime(text: &str) -> bool {
    let first = text.trim_start_matches(['\n', '\r']).lines().next().unwrap_or("").to_ascii_lowercase();
    (first.starts_with("content-type:") && first.contains("multipart/")) || first.starts_with("mime-version:")
}

/// A header block: the Content-Type value and its line, and the index after the blank line.
type Headers = (Option<(String, usize)>, usize);

/// Reads a block of MIME headers (`net/textproto.ReadMIMEHeader`) from `lines`: up to the first
/// blank line; a continuation line starts with a space or tab. Returns the Content-Type value
/// with its line (1-based, plus `line0`), the index after the blank line, or the first line that
/// is not a header (`malformed MIME header line`).
fn read_headers(lines: &[&str], line0: usize) -> Result<Headers, (usize, String)> {
    let mut ct: Option<(String, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() {
            return Ok((ct, i + 1));
        }
        if line.starts_with([' ', '\t']) {
            if let Some((v, _)) = ct.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.is_empty() && !name.contains([' ', '\t']) => {
                if name.eq_ignore_ascii_case("content-type") {
                    ct = Some((value.trim().to_string(), line0 + i + 1));
                }
            }
            _ => return Err((line0 + i + 1, format!("malformed MIME header line: {}", super::validate::shown(line)))),
        }
    }
    Ok((ct, lines.len()))
}

/// The top-level multipart Content-Type and its line, when the text is MIME with a
/// `multipart/` type (what `getMultipartReader` accepts).
fn mime_header(text: &str) -> Option<(String, usize)> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let (ct, _) = read_headers(&lines, 0).ok()?;
    ct.filter(|(v, _)| v.to_ascii_lowercase().starts_with("multipart/"))
}

/// The value of a parameter of a MIME header (`boundary="X"` or `boundary=X`).
fn mime_param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// One part of MIME user data: its content type, and its body with the line it starts on.
#[derive(Debug, Clone)]
pub struct Part {
    /// The media type, lowercased, without parameters (`text/plain` when absent, as MIME says).
    pub media_type: String,
    /// The line of its `Content-Type` header (or of the delimiter).
    pub header_line: usize,
    /// The body text.
    pub body: String,
    /// The file line of the body's first line.
    pub body_line: usize,
}

/// How MIME user data splits: the parts, and what Go's `mime/multipart` refuses (line, message).
#[derive(Debug, Clone, Default)]
pub struct Mime {
    /// The parts, in order.
    pub parts: Vec<Part>,
    /// An error nodeadm's reader stops at.
    pub error: Option<(usize, String)>,
}

/// Splits MIME multi-part user data as Go's `mime/multipart` reads it: the boundary from the
/// top-level Content-Type, parts between `--BOUNDARY` lines, the last closed by `--BOUNDARY--`
/// (without it, reading the last part fails: `multipart: NextPart: EOF` / `unexpected EOF`).
pub fn split_mime(text: &str) -> Mime {
    let mut m = Mime::default();
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let (ct, ct_line) = match read_headers(&lines, 0) {
        Ok((Some((v, l)), _)) if v.to_ascii_lowercase().starts_with("multipart/") => (v, l),
        Ok(_) => {
            m.error = Some((1, "the headers have no multipart Content-Type: nodeadm (getMultipartReader) then reads the whole user data as one NodeConfig".into()));
            return m;
        }
        Err((line, msg)) => {
            m.error = Some((line, format!("{msg}: the headers must end with a blank line; net/mail (nodeadm's getMultipartReader) stops here, so nodeadm reads the whole user data as one NodeConfig, which does not decode (a YAML error such as `could not find expected ':'`)")));
            return m;
        }
    };
    let Some(boundary) = mime_param(&ct, "boundary").filter(|b| !b.is_empty()) else {
        m.error = Some((ct_line, "the multipart Content-Type has no boundary parameter: no part can be found".into()));
        return m;
    };
    let delim = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut i = lines.iter().position(|l| l.is_empty()).unwrap_or(lines.len());
    let mut closed = false;
    let mut current: Option<(usize, Vec<&str>)> = None;
    let finish = |m: &mut Mime, start: usize, body: Vec<&str>| {
        // Part headers end at the first blank line (`textproto.ReadMIMEHeader` in `NextPart`).
        let (ct, body_start) = match read_headers(&body, start) {
            Ok(x) => x,
            Err((line, msg)) => {
                if m.error.is_none() {
                    m.error = Some((line, format!("{msg}: a part's headers must end with a blank line; Go's mime/multipart (nodeadm's reader) fails on this part with this error, and nodeadm stops (config provider failed)")));
                }
                return;
            }
        };
        let (media_type, header_line) = match ct {
            Some((v, l)) => (v.split(';').next().unwrap_or("").trim().to_ascii_lowercase(), l),
            None => ("text/plain".to_string(), start),
        };
        let body_start = body_start.min(body.len());
        m.parts.push(Part {
            media_type,
            header_line,
            body: body[body_start..].iter().map(|l| format!("{l}\n")).collect(),
            body_line: start + body_start + 1,
        });
    };
    while i < lines.len() {
        let l = lines[i].trim_end();
        if l == close {
            if let Some((s, b)) = current.take() {
                finish(&mut m, s, b);
            }
            closed = true;
            break;
        }
        if l == delim {
            if let Some((s, b)) = current.take() {
                finish(&mut m, s, b);
            }
            current = Some((i + 1, Vec::new()));
        } else if let Some((_, b)) = current.as_mut() {
            b.push(lines[i]);
        }
        i += 1;
    }
    if let Some((s, b)) = current.take() {
        finish(&mut m, s, b);
    }
    if m.error.is_some() {
        // The part error stands.
    } else if m.parts.is_empty() {
        m.error = Some((ct_line, format!("no part starts with the boundary line {delim:?}: the boundary in the Content-Type does not match the delimiter lines")));
    } else if !closed {
        m.error = Some((lines.len().max(1), format!("the closing boundary line {close:?} is missing: Go's mime/multipart (nodeadm's reader) fails with `multipart: NextPart: EOF` (or `unexpected EOF` reading the last part), and cloud-init may drop the last part")));
    }
    m
}

/// The cluster part of a NodeConfig, with where each value was set.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// `spec.cluster.name`.
    pub name: Field,
    /// `spec.cluster.apiServerEndpoint`.
    pub endpoint: Field,
    /// `spec.cluster.certificateAuthority` (the base64 text).
    pub ca: Field,
    /// `spec.cluster.cidr`.
    pub cidr: Field,
    /// `spec.cluster.id`.
    pub id: Field,
    /// `spec.cluster.enableOutpost`.
    pub enable_outpost: Option<bool>,
    /// `spec.kubelet.flags`, appended over the configs.
    pub kubelet_flags: Vec<String>,
    /// Where the last NodeConfig's `spec.cluster` (or the document) starts.
    pub pos: Pos,
    /// The sources merged (file names, for diagnose).
    pub sources: Vec<String>,
}

/// One string value and where it was set (empty when unset).
#[derive(Debug, Clone, Default)]
pub struct Field {
    /// The value, trimmed.
    pub value: String,
    /// Its position.
    pub pos: Pos,
}

impl Field {
    fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

impl Cluster {
    /// Merges a later NodeConfig over this one as nodeadm does (`MergeNodeConfigs`,
    /// `mergo.WithOverride`: non-empty values win, `kubelet.flags` are appended).
    pub fn merge(&mut self, later: &Cluster, source: &str) {
        let mut any = false;
        for (into, from) in [
            (&mut self.name, &later.name),
            (&mut self.endpoint, &later.endpoint),
            (&mut self.ca, &later.ca),
            (&mut self.cidr, &later.cidr),
            (&mut self.id, &later.id),
        ] {
            if !from.is_empty() {
                *into = from.clone();
                any = true;
            }
        }
        if later.enable_outpost.is_some() {
            self.enable_outpost = later.enable_outpost;
        }
        self.kubelet_flags.extend(later.kubelet_flags.iter().cloned());
        self.pos = later.pos;
        if any && !self.sources.iter().any(|s| s == source) {
            self.sources.push(source.to_string());
        }
    }

    /// nodeadm's `ValidateNodeConfig` (`internal/api/validation.go`): its first error message
    /// and the field it is about, or None.
    pub fn nodeadm_error(&self) -> Option<(&'static str, &'static str)> {
        if self.name.is_empty() {
            return Some(("spec.cluster.name", "Name is missing in cluster configuration"));
        }
        if self.endpoint.is_empty() {
            return Some(("spec.cluster.apiServerEndpoint", "Apiserver endpoint is missing in cluster configuration"));
        }
        if self.ca.is_empty() {
            return Some((
                "spec.cluster.certificateAuthority",
                "Certificate authority is missing in cluster configuration",
            ));
        }
        if self.cidr.is_empty() {
            return Some(("spec.cluster.cidr", "CIDR is missing in cluster configuration"));
        }
        if self.enable_outpost == Some(true) && self.id.is_empty() {
            return Some(("spec.cluster.id", "cluster ID must be provided for outposts"));
        }
        None
    }
}

/// A NodeConfig read from one YAML or JSON text: the cluster details, and the problems of its
/// decoding (position, path, message, error?).
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// The cluster details (positions in the text, shifted by the caller's line offset).
    pub cluster: Cluster,
    /// Whether nodeadm decodes it (no decoding error).
    pub ok: bool,
    /// Problems: (pos, path, message, fix, is_error).
    pub problems: Vec<(Pos, String, String, String, bool)>,
    /// `apiVersion`, `kind`.
    pub type_meta: (String, String),
}

/// The fields of the v1alpha1 types (`api/v1alpha1/nodeconfig_types.go`), by path; a path not
/// here whose parent is a struct is unknown. `*` marks a map of free keys.
const FIELDS: &[(&str, &[&str])] = &[
    ("", &["apiVersion", "kind", "metadata", "spec"]),
    ("spec", &["cluster", "containerd", "instance", "kubelet", "featureGates"]),
    ("spec.cluster", &["name", "apiServerEndpoint", "certificateAuthority", "cidr", "enableOutpost", "id"]),
    ("spec.kubelet", &["config", "flags", "maxPodsExpression"]),
    ("spec.containerd", &["config", "baseRuntimeSpec"]),
    ("spec.instance", &["localStorage", "environment", "network"]),
    ("spec.instance.localStorage", &["strategy", "mountPath", "disabledMounts"]),
    ("spec.instance.network", &["nameservers", "domains"]),
];

/// Decodes one NodeConfig text (the first YAML document, as `sigs.k8s.io/yaml` reads it) with
/// nodeadm's decoder's rules. `line0` is added to every line (the text's place in a file).
/// `cache`: nodeadm's own config cache, which is decoded with the kind given, so a missing
/// apiVersion/kind is fine there.
pub fn decode(text: &str, line0: usize, cache: bool) -> Decoded {
    let mut d = Decoded::default();
    let at = |p: Pos| Pos { line: p.line + line0, col: p.col };
    let push = |d: &mut Decoded, p: Pos, path: &str, msg: String, fix: &str, err: bool| {
        d.problems.push((at(p), path.to_string(), msg, fix.to_string(), err));
    };
    let docs = match yaml::parse(text) {
        Ok(docs) => docs,
        Err(e) => {
            push(
                &mut d,
                e.pos,
                "",
                format!("failed to decode node config: YAML syntax error: {}", e.message),
                "fix the YAML syntax at this position",
                true,
            );
            return d;
        }
    };
    let mut roots = docs.into_iter().filter_map(|doc| doc.root);
    let Some(root) = roots.next() else {
        push(
            &mut d,
            Pos { line: 1, col: 1 },
            "",
            "failed to decode node config: the NodeConfig is empty".into(),
            "write apiVersion: node.eks.aws/v1alpha1, kind: NodeConfig and spec.cluster",
            true,
        );
        return d;
    };
    for later in roots {
        push(&mut d, later.pos, "", "nodeadm reads only the first YAML document of a NodeConfig (sigs.k8s.io/yaml converts one document): this one is ignored".into(), "put each NodeConfig in its own MIME part (Content-Type: application/node.eks.aws), or merge them into one document", false);
    }
    let Value::Map(_) = &root.value else {
        push(
            &mut d,
            root.pos,
            "",
            "failed to decode node config: the document is not a map".into(),
            "write the NodeConfig as a YAML map",
            true,
        );
        return d;
    };
    let api = root.get("apiVersion").and_then(Node::str).unwrap_or("").to_string();
    let kind = root.get("kind").and_then(Node::str).unwrap_or("").to_string();
    d.type_meta = (api.clone(), kind.clone());
    let mut decodes = true;
    if !cache {
        let tm = |k: &str| root.get(k).map_or(root.pos, |n| n.pos);
        let fix = "write apiVersion: node.eks.aws/v1alpha1 and kind: NodeConfig";
        if kind.is_empty() {
            push(&mut d, root.pos, "kind", "failed to decode node config, Object 'Kind' is missing (apimachinery's decoder needs kind: NodeConfig)".into(), fix, true);
            decodes = false;
        } else if api.is_empty() {
            push(
                &mut d,
                root.pos,
                "apiVersion",
                "failed to decode node config, Object 'apiVersion' is missing".into(),
                fix,
                true,
            );
            decodes = false;
        } else if api != API_VERSION || kind != "NodeConfig" {
            let msg = if api.starts_with("node.eks.aws/") || api == API_VERSION {
                format!("failed to decode node config, no kind {kind:?} is registered for version {api:?} (nodeadm knows only kind NodeConfig in {API_VERSION})")
            } else {
                format!("failed to decode node config, no kind {kind:?} is registered for version {api:?}")
            };
            push(
                &mut d,
                if api != API_VERSION { tm("apiVersion") } else { tm("kind") },
                if api != API_VERSION { "apiVersion" } else { "kind" },
                msg,
                fix,
                true,
            );
            decodes = false;
        }
    }
    let before = d.problems.len();
    walk(&mut d, &root, "", &mut decodes);
    for p in &mut d.problems[before..] {
        p.0 = at(p.0);
    }
    // The cluster details.
    let cluster = root.get("spec").and_then(|s| s.get("cluster"));
    let mut c = Cluster { pos: root.get("spec").map_or(root.pos, |s| s.pos), ..Cluster::default() };
    if let Some(cl) = cluster {
        c.pos = cl.pos;
        let field = |k: &str| match cl.get(k) {
            Some(n) if n.scalar().is_some() && !n.is_null() => {
                Field { value: n.str().unwrap_or("").trim().to_string(), pos: at(n.pos) }
            }
            _ => Field::default(),
        };
        c.name = field("name");
        c.endpoint = field("apiServerEndpoint");
        c.ca = field("certificateAuthority");
        c.cidr = field("cidr");
        c.id = field("id");
        c.enable_outpost = cl.get("enableOutpost").and_then(Node::scalar).and_then(|s| match s.value.as_str() {
            "true" | "True" | "TRUE" if !s.quoted => Some(true),
            "false" | "False" | "FALSE" if !s.quoted => Some(false),
            _ => None,
        });
    }
    if let Some(flags) = root.get("spec").and_then(|s| s.get("kubelet")).and_then(|k| k.get("flags")) {
        c.kubelet_flags = flags.items().iter().filter_map(|f| f.str().map(str::to_string)).collect();
    }
    c.pos = at(c.pos);
    d.cluster = c;
    d.ok = decodes;
    d
}

/// Walks the document for unknown fields, duplicate keys and values Go's decoder refuses.
fn walk(d: &mut Decoded, node: &Node, path: &str, decodes: &mut bool) {
    let Value::Map(m) = &node.value else { return };
    let Some((_, known)) = FIELDS.iter().find(|(p, _)| *p == path) else { return };
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in m {
        let child = if path.is_empty() { k.name.clone() } else { format!("{path}.{}", k.name) };
        if seen.contains(&k.name.as_str()) {
            d.problems.push((
                k.pos,
                child.clone(),
                format!("{:?} is given twice: sigs.k8s.io/yaml keeps the later value", k.name),
                "keep one".into(),
                false,
            ));
        }
        seen.push(&k.name);
        if !known.contains(&k.name.as_str()) {
            let near = known
                .iter()
                .find(|f| f.eq_ignore_ascii_case(&k.name))
                .map_or(String::new(), |f| format!(" (did you mean {f}? field names are case-sensitive)"));
            d.problems.push((
                k.pos,
                child,
                format!("unknown field {:?}: nodeadm's decoder is not strict and silently drops it{near}", k.name),
                "remove it or spell it as in node.eks.aws/v1alpha1 (nodeadm's api/v1alpha1/nodeconfig_types.go)".into(),
                false,
            ));
            continue;
        }
        // Types Go's encoding/json refuses (the whole NodeConfig then fails to decode).
        let want = match child.as_str() {
            "spec.cluster.name"
            | "spec.cluster.apiServerEndpoint"
            | "spec.cluster.cidr"
            | "spec.cluster.id"
            | "spec.cluster.certificateAuthority"
            | "spec.containerd.config"
            | "spec.kubelet.maxPodsExpression" => "string",
            "spec.cluster.enableOutpost" => "bool",
            "spec.kubelet.flags" => "list",
            "spec" | "spec.cluster" | "spec.kubelet" | "spec.containerd" | "spec.instance" | "metadata" => "map",
            _ => "",
        };
        let bad = match (want, &v.value) {
            (_, Value::Scalar(s)) if v.is_null() && !s.quoted => false,
            ("string", Value::Scalar(s)) => s.kind() != yaml::ScalarKind::Str,
            ("string", _) => true,
            ("bool", Value::Scalar(s)) => s.kind() != yaml::ScalarKind::Bool,
            ("bool", _) => true,
            ("list", v) => !matches!(v, Value::Seq(_)),
            ("map", v) => !matches!(v, Value::Map(_)),
            _ => false,
        };
        if bad {
            *decodes = false;
            d.problems.push((
                v.pos,
                child.clone(),
                format!("failed to decode node config: json: cannot unmarshal into {child} (a {want} is needed here)"),
                format!("write {child} as a {want}{}", if want == "string" { " (quote it)" } else { "" }),
                true,
            ));
            continue;
        }
        if child == "spec.cluster.certificateAuthority" {
            if let Some(s) = v.str().filter(|s| !s.trim().is_empty()) {
                if let Err(e) = decode_b64(s) {
                    *decodes = false;
                    d.problems.push((v.pos, child.clone(), format!("failed to decode node config: {e} (certificateAuthority is a []byte: its JSON string is standard base64)"), "copy certificateAuthority.data from `aws eks describe-cluster` as it is (base64 of the PEM)".into(), true));
                }
            }
        }
        if child == "spec.kubelet.flags" {
            for (i, f) in v.items().iter().enumerate() {
                if f.scalar().is_none_or(|s| s.kind() != yaml::ScalarKind::Str) {
                    *decodes = false;
                    d.problems.push((
                        f.pos,
                        format!("{child}[{i}]"),
                        "failed to decode node config: a kubelet flag must be a string".into(),
                        "quote it: \"--max-pods=110\"".into(),
                        true,
                    ));
                }
            }
        }
        walk(d, v, &child, decodes);
    }
}

/// Go's `encoding/json` decoding of a `[]byte`: standard base64 (padding required); CR and LF
/// are skipped. The error is Go's (`illegal base64 data at input byte N`).
pub fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
    let compact: String = s.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).map_err(|e| {
        use base64::DecodeError as E;
        let at = match e {
            E::InvalidByte(at, _) | E::InvalidLastSymbol(at, _) => at,
            E::InvalidLength(n) => n,
            E::InvalidPadding => compact.len(),
        };
        format!("illegal base64 data at input byte {at}")
    })
}

/// The certificates of a base64 CA (as EKS gives it: base64 of a PEM chain) and why they are
/// unusable: not base64, not PEM/DER certificates, or no CA among them.
pub fn ca_certificates(b64: &str, what: &str) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    let compact: String = b64.split_whitespace().collect();
    let pem = decode_b64(&compact).map_err(|e| format!("{what} is not base64: {e}"))?;
    let certs = crate::pin::read_certificates(&pem, what).map_err(|f| f.message)?;
    let infos: Vec<crate::pin::CertInfo> =
        certs.iter().filter_map(|c| crate::pin::inspect(c.as_ref(), what).ok()).collect();
    if infos.iter().all(|i| !i.is_ca) {
        return Err(format!(
            "{what} holds no CA certificate (basicConstraints CA:TRUE): {}",
            infos.iter().map(|i| i.subject.clone()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(certs)
}

/// EKS cluster names (EKS API reference, `CreateCluster` `name`): 1 to 100 characters,
/// `^[0-9A-Za-z][A-Za-z0-9\-_]*$`.
pub fn cluster_name_issue(name: &str) -> Option<String> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let ok_first = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 100 || !ok_chars || !ok_first {
        return Some(format!("{:?} cannot be an EKS cluster name (CreateCluster: 1-100 characters, letters, digits, - and _, starting with a letter or digit)", super::validate::shown(name)));
    }
    None
}

/// Judges an API server endpoint: an `https://` URL with a host (EKS endpoints are
/// `https://ID.REGION.eks.amazonaws.com`); the kubelet's kubeconfig takes it as `server:`.
pub fn endpoint_issue(ep: &str) -> Option<String> {
    if !ep.starts_with("https://") {
        return Some(format!("the API server endpoint {:?} is not an https:// URL: the kubelet talks TLS to the EKS endpoint on 443, so the node never registers", super::validate::shown(ep)));
    }
    crate::endpoint::Endpoint::from_server_url(ep).err().map(|e| format!("the API server endpoint: {e}"))
}

/// The IPv4 or IPv6 CIDR check of Go's `net.ParseCIDR`, with nodeadm's message (`net.go`).
pub fn cidr_issue(cidr: &str) -> Option<String> {
    let ok = cidr.split_once('/').is_some_and(|(ip, bits)| {
        let Ok(ip) = ip.parse::<std::net::IpAddr>() else { return false };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        !bits.is_empty()
            && bits.len() <= 3
            && bits.bytes().all(|b| b.is_ascii_digit())
            && bits.parse::<u32>().is_ok_and(|b| b <= max)
    });
    (!ok).then(|| format!("{cidr} is not a valid IP Address. error: invalid CIDR address: {cidr}"))
}

/// The options of AL2's bootstrap.sh and whether each takes a value (all do but `--help`).
pub const BOOTSTRAP_OPTIONS: &[&str] = &[
    "--use-max-pods",
    "--b64-cluster-ca",
    "--apiserver-endpoint",
    "--kubelet-extra-args",
    "--enable-docker-bridge",
    "--aws-api-retry-attempts",
    "--docker-config-json",
    "--containerd-config-file",
    "--pause-container-account",
    "--pause-container-version",
    "--dns-cluster-ip",
    "--container-runtime",
    "--ip-family",
    "--service-ipv4-cidr",
    "--service-ipv6-cidr",
    "--enable-local-outpost",
    "--cluster-id",
    "--mount-bpf-fs",
    "--local-disks",
];

/// A shell word and where it starts; `expands` when it holds an unquoted or double-quoted `$`.
#[derive(Debug, Clone)]
pub struct Word {
    /// The word after quote removal.
    pub text: String,
    /// Its position.
    pub pos: Pos,
    /// It holds a parameter expansion or command substitution (its value is unknown here).
    pub expands: bool,
    /// It holds an unquoted expansion, which may split into several words.
    pub splits: bool,
}

/// The bootstrap.sh command lines of a shell script: the words after `…bootstrap.sh` up to the
/// end of the command (`;`, `&&`, `||`, `|`, `&`, a redirection, a newline not escaped).
/// `line0` is added to every line.
pub fn bootstrap_commands(script: &str, line0: usize) -> Vec<(Pos, Vec<Word>)> {
    let mut out = Vec::new();
    let mut cmd: Vec<Word> = Vec::new();
    let chars: Vec<char> = script.chars().collect();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let flush = |cmd: &mut Vec<Word>, out: &mut Vec<(Pos, Vec<Word>)>| {
        if let Some(k) = cmd.iter().position(|w| w.text.ends_with("bootstrap.sh") && !w.text.contains("curl")) {
            // `bash -x /etc/eks/bootstrap.sh`, `sudo …`: the script's arguments follow it.
            let start = cmd[k].pos;
            out.push((start, cmd.split_off(k + 1)));
        }
        cmd.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let adv = |i: &mut usize, line: &mut usize, col: &mut usize, c: char| {
            *i += 1;
            if c == '\n' {
                *line += 1;
                *col = 1;
            } else {
                *col += 1;
            }
        };
        match c {
            '\n' | ';' | '|' | '&' => {
                flush(&mut cmd, &mut out);
                adv(&mut i, &mut line, &mut col, c);
            }
            ' ' | '\t' | '\r' => adv(&mut i, &mut line, &mut col, c),
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                adv(&mut i, &mut line, &mut col, c);
                adv(&mut i, &mut line, &mut col, '\n');
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    {
                        let ch = chars[i];
                        adv(&mut i, &mut line, &mut col, ch);
                    }
                }
            }
            '>' | '<' => {
                // A redirection ends the arguments that matter; skip its target.
                flush(&mut cmd, &mut out);
                while i < chars.len() && chars[i] != '\n' {
                    {
                        let ch = chars[i];
                        adv(&mut i, &mut line, &mut col, ch);
                    }
                }
            }
            _ => {
                let pos = Pos { line: line + line0, col };
                let mut w = Word { text: String::new(), pos, expands: false, splits: false };
                while i < chars.len() {
                    let c = chars[i];
                    match c {
                        ' ' | '\t' | '\n' | '\r' | ';' | '|' | '&' | '>' | '<' => break,
                        '\\' if chars.get(i + 1) == Some(&'\n') => {
                            adv(&mut i, &mut line, &mut col, c);
                            adv(&mut i, &mut line, &mut col, '\n');
                            break;
                        }
                        '\\' => {
                            adv(&mut i, &mut line, &mut col, c);
                            if let Some(&n) = chars.get(i) {
                                w.text.push(n);
                                adv(&mut i, &mut line, &mut col, n);
                            }
                        }
                        '\'' => {
                            adv(&mut i, &mut line, &mut col, c);
                            while i < chars.len() && chars[i] != '\'' {
                                w.text.push(chars[i]);
                                {
                                    let ch = chars[i];
                                    adv(&mut i, &mut line, &mut col, ch);
                                }
                            }
                            if i < chars.len() {
                                adv(&mut i, &mut line, &mut col, '\'');
                            }
                        }
                        '"' => {
                            adv(&mut i, &mut line, &mut col, c);
                            while i < chars.len() && chars[i] != '"' {
                                if chars[i] == '\\' && matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) {
                                    adv(&mut i, &mut line, &mut col, '\\');
                                } else if chars[i] == '$' || chars[i] == '`' {
                                    w.expands = true;
                                }
                                w.text.push(chars[i]);
                                {
                                    let ch = chars[i];
                                    adv(&mut i, &mut line, &mut col, ch);
                                }
                            }
                            if i < chars.len() {
                                adv(&mut i, &mut line, &mut col, '"');
                            }
                        }
                        '$' | '`' => {
                            w.expands = true;
                            w.splits = true;
                            w.text.push(c);
                            adv(&mut i, &mut line, &mut col, c);
                            // ${…} and $(…) as one piece.
                            if c == '$' && matches!(chars.get(i), Some('{') | Some('(')) {
                                let close = if chars[i] == '{' { '}' } else { ')' };
                                while i < chars.len() && chars[i] != close && chars[i] != '\n' {
                                    w.text.push(chars[i]);
                                    {
                                        let ch = chars[i];
                                        adv(&mut i, &mut line, &mut col, ch);
                                    }
                                }
                                if i < chars.len() && chars[i] == close {
                                    w.text.push(close);
                                    adv(&mut i, &mut line, &mut col, close);
                                }
                            }
                        }
                        _ => {
                            w.text.push(c);
                            adv(&mut i, &mut line, &mut col, c);
                        }
                    }
                }
                cmd.push(w);
            }
        }
    }
    flush(&mut cmd, &mut out);
    out
}

/// Checks the arguments of one bootstrap.sh command line with the script's own parser and
/// checks (see the module documentation).
pub(super) fn check_bootstrap(sink: &mut Sink, at: Pos, args: &[Word]) {
    let mut positional: Vec<&Word> = Vec::new();
    let mut values: Vec<(&str, &Word)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        if w.text == "-h" || w.text == "--help" {
            sink.error(
                w.pos,
                "bootstrap.sh",
                format!("{} prints the usage and exits 1: the node never joins", w.text),
                Code::ConfigInvalid,
                "remove it",
            );
            i += 1;
            continue;
        }
        if let Some(opt) = BOOTSTRAP_OPTIONS.iter().find(|o| **o == w.text) {
            match args.get(i + 1) {
                None => sink.error(w.pos, opt, format!("{opt} takes a value and none follows: bootstrap.sh reads $2 under `set -o nounset` and stops with `$2: unbound variable`"), Code::ConfigInvalid, &format!("give {opt} its value")),
                Some(v) if BOOTSTRAP_OPTIONS.contains(&v.text.as_str()) && *opt != "--kubelet-extra-args" => sink.error(
                    v.pos,
                    opt,
                    format!("{opt} takes a value, and the next word is the option {}: bootstrap.sh takes it as {opt}'s value, so {} is never set", v.text, v.text),
                    Code::ConfigInvalid,
                    &format!("give {opt} its value before {}", v.text),
                ),
                Some(v) => values.push((opt, v)),
            }
            i += 2;
            continue;
        }
        if w.text.starts_with('-') && !w.expands {
            let near = BOOTSTRAP_OPTIONS
                .iter()
                .find(|o| {
                    o.trim_end_matches('s') == w.text.trim_end_matches('s')
                        || o.replace('-', "") == w.text.replace(['-', '_'], "")
                })
                .map_or(String::new(), |o| format!(" (did you mean {o}?)"));
            sink.error(
                w.pos,
                &w.text,
                format!(
                    "bootstrap.sh has no option {}{near}: its parser keeps unknown words as positional arguments, so {} (the script prints no error)",
                    w.text,
                    if positional.is_empty() { "this word becomes the cluster name" } else { "it is silently ignored" }
                ),
                Code::ConfigInvalid,
                &format!("use one of bootstrap.sh's options: {}", BOOTSTRAP_OPTIONS.join(", ")),
            );
        }
        positional.push(w);
        i += 1;
    }
    // An unquoted expansion may hold several words (${BootstrapArguments}): what it holds is
    // unknown here, so the absence of the cluster name is not judged then.
    let opaque = args.iter().any(|w| w.splits);
    match positional.first() {
        None if !opaque => sink.error(
            at,
            "bootstrap.sh",
            "cluster name is not defined! (bootstrap.sh: no positional argument; the first one is the cluster name)"
                .into(),
            Code::ConfigInvalid,
            "pass the cluster name: /etc/eks/bootstrap.sh CLUSTER_NAME --apiserver-endpoint … --b64-cluster-ca …",
        ),
        Some(w) if !w.expands && !w.text.starts_with('-') => {
            if let Some(m) = cluster_name_issue(&w.text) {
                sink.error(
                    w.pos,
                    "bootstrap.sh CLUSTER",
                    m,
                    Code::ConfigInvalid,
                    "pass the cluster's name as `aws eks list-clusters` prints it",
                );
            }
        }
        _ => {}
    }
    if positional.len() > 1 && !positional[1].expands {
        sink.warn(positional[1].pos, "bootstrap.sh", format!("{:?} is a second positional argument: bootstrap.sh ignores it (only the first, the cluster name, is read)", super::validate::shown(&positional[1].text)), "quote values with spaces (--kubelet-extra-args '--node-labels=a=b --register-with-taints=…')");
    }
    let get = |o: &str| values.iter().rev().find(|(k, _)| *k == o).map(|(_, v)| *v);
    let known = |o: &str| get(o).filter(|v| !v.expands);
    if let Some(v) = known("--apiserver-endpoint") {
        if let Some(m) = endpoint_issue(&v.text) {
            sink.error(
                v.pos,
                "--apiserver-endpoint",
                m,
                Code::ConfigInvalid,
                "copy the endpoint from `aws eks describe-cluster --query cluster.endpoint`",
            );
        }
    }
    if let Some(v) = known("--b64-cluster-ca") {
        if let Err(m) = ca_certificates(&v.text, "--b64-cluster-ca") {
            sink.error(v.pos, "--b64-cluster-ca", m, Code::ConfigInvalid, "copy certificateAuthority.data from `aws eks describe-cluster` (bootstrap.sh runs `base64 -d` on it and writes /etc/kubernetes/pki/ca.crt)");
        }
    }
    let both = get("--apiserver-endpoint").is_some() && get("--b64-cluster-ca").is_some();
    if get("--apiserver-endpoint").is_some() != get("--b64-cluster-ca").is_some() {
        let (given, other) = if get("--apiserver-endpoint").is_some() {
            ("--apiserver-endpoint", "--b64-cluster-ca")
        } else {
            ("--b64-cluster-ca", "--apiserver-endpoint")
        };
        sink.warn(get(given).map_or(at, |v| v.pos), given, format!("{given} without {other}: bootstrap.sh ignores it and calls `aws eks describe-cluster` (it needs eks:DescribeCluster and a route to the EKS API; throttled at scale)"), &format!("pass both {given} and {other}"));
    }
    let ip_family = known("--ip-family").map(|v| v.text.to_ascii_lowercase());
    if let (Some(f), Some(v)) = (&ip_family, known("--ip-family")) {
        if f != "ipv4" && f != "ipv6" {
            sink.error(
                v.pos,
                "--ip-family",
                "Invalid --ip-family. Only ipv4 or ipv6 are allowed (bootstrap.sh)".into(),
                Code::ConfigInvalid,
                "write --ip-family ipv4 or ipv6",
            );
        }
    }
    if let Some(v) = known("--service-ipv6-cidr") {
        if ip_family.as_deref() == Some("ipv4") {
            sink.error(
                v.pos,
                "--service-ipv6-cidr",
                "--ip-family should be ipv6 when --service-ipv6-cidr is specified (bootstrap.sh)".into(),
                Code::ConfigInvalid,
                "drop --ip-family ipv4 or --service-ipv6-cidr",
            );
        }
        if let Some(m) = cidr_issue(&v.text).filter(|_| !v.text.contains(':')).or_else(|| cidr_issue(&v.text)) {
            sink.error(
                v.pos,
                "--service-ipv6-cidr",
                m,
                Code::ConfigInvalid,
                "write the cluster's service IPv6 CIDR (describe-cluster kubernetesNetworkConfig.serviceIpv6Cidr)",
            );
        }
    }
    if ip_family.as_deref() == Some("ipv6")
        && both
        && get("--service-ipv6-cidr").is_none()
        && get("--dns-cluster-ip").is_none()
    {
        sink.error(
            get("--ip-family").map_or(at, |v| v.pos),
            "--ip-family",
            "One of --service-ipv6-cidr or --dns-cluster-ip must be provided when --ip-family is ipv6 (bootstrap.sh)"
                .into(),
            Code::ConfigInvalid,
            "add --service-ipv6-cidr",
        );
    }
    if let Some(v) = known("--service-ipv4-cidr") {
        if cidr_issue(&v.text).is_some() || v.text.contains(':') {
            sink.error(
                v.pos,
                "--service-ipv4-cidr",
                format!(
                    "{:?} is not an IPv4 CIDR: bootstrap.sh derives the DNS address as ${{SERVICE_IPV4_CIDR%.*}}.10",
                    super::validate::shown(&v.text)
                ),
                Code::ConfigInvalid,
                "write the cluster's service CIDR, e.g. 10.100.0.0/16",
            );
        }
    }
    if let Some(v) = known("--dns-cluster-ip") {
        if v.text.split(',').any(|ip| ip.trim().parse::<std::net::IpAddr>().is_err()) {
            sink.error(
                v.pos,
                "--dns-cluster-ip",
                format!(
                    "{:?} is not a comma-separated list of IP addresses (it becomes the kubelet's clusterDNS)",
                    super::validate::shown(&v.text)
                ),
                Code::ConfigInvalid,
                "write the kube-dns service IP, e.g. 10.100.0.10",
            );
        }
    }
    if let Some(v) = known("--container-runtime") {
        match v.text.as_str() {
            "containerd" => {}
            "dockerd" => sink.warn(v.pos, "--container-runtime", "dockerd: \"containerd is the only supported container runtime as of Kubernetes version 1.24\" (bootstrap.sh exits 1 on 1.24 and later)".into(), "remove --container-runtime (containerd is the default from 1.24)"),
            other => sink.error(v.pos, "--container-runtime", format!("unsupported container runtime: '{}' (bootstrap.sh)", super::validate::shown(other)), Code::ConfigInvalid, "write containerd"),
        }
    }
    for opt in ["--use-max-pods", "--enable-docker-bridge", "--mount-bpf-fs", "--enable-local-outpost"] {
        if let Some(v) = known(opt).filter(|v| v.text != "true" && v.text != "false") {
            sink.warn(
                v.pos,
                opt,
                format!(
                    "{opt} {:?}: bootstrap.sh compares the value with \"true\", so anything else means false",
                    super::validate::shown(&v.text)
                ),
                "write true or false",
            );
        }
    }
    if let Some(v) = known("--local-disks").filter(|v| !matches!(v.text.as_str(), "mount" | "raid0" | "raid10")) {
        sink.error(
            v.pos,
            "--local-disks",
            format!(
                "--local-disks {:?}: setup-local-disks takes mount, raid0 or raid10",
                super::validate::shown(&v.text)
            ),
            Code::ConfigInvalid,
            "write mount, raid0 or raid10",
        );
    }
    if known("--enable-local-outpost").is_some_and(|v| v.text == "true") && both && get("--cluster-id").is_none() {
        sink.error(
            get("--enable-local-outpost").map_or(at, |v| v.pos),
            "--enable-local-outpost",
            "Cluster ID is required when local outpost support is enabled (bootstrap.sh)".into(),
            Code::ConfigInvalid,
            "add --cluster-id",
        );
    }
}

/// Checks one user-data or NodeConfig file (`recognise` said which) as `validate-config` does.
pub fn check(name: &str, text: &str, kind: UserDataKind, o: &CheckOptions) -> FileResult {
    let mut r = FileResult::default();
    let mut sink = Sink { file: name, strict: o.strict, problems: Vec::new() };
    let mut configs: Vec<(Decoded, usize)> = Vec::new();
    let mut scripts: Vec<(String, usize)> = Vec::new();
    match kind {
        UserDataKind::Mime => {
            let m = split_mime(text);
            if let Some((line, msg)) = &m.error {
                sink.error(Pos { line: *line, col: 1 }, "", msg.clone(), Code::ConfigInvalid, "end the user data with the line --BOUNDARY-- and start every part with --BOUNDARY, the boundary of the top-level Content-Type");
            }
            for (i, p) in m.parts.iter().enumerate() {
                match p.media_type.as_str() {
                    MEDIA_TYPE => {
                        let body = base64_body(&p.body).unwrap_or_else(|| p.body.clone());
                        configs.push((decode(&body, p.body_line - 1, false), i));
                    }
                    "text/x-shellscript" | "text/plain" => scripts.push((p.body.clone(), p.body_line - 1)),
                    "application/node.eks.aws/v1alpha1" | "application/yaml" | "text/yaml" | "text/x-yaml"
                        if p.body.contains("node.eks.aws") =>
                    {
                        sink.error(Pos { line: p.header_line, col: 1 }, &format!("part {i}"), format!("a NodeConfig in a part of type {}: nodeadm reads only parts of type {MEDIA_TYPE}, so this one is ignored", p.media_type), Code::ConfigInvalid, &format!("write Content-Type: {MEDIA_TYPE}"));
                    }
                    _ => {}
                }
            }
            if configs.is_empty() && scripts.iter().all(|(s, _)| !s.contains("bootstrap.sh")) && m.error.is_none() {
                sink.error(Pos { line: 1, col: 1 }, "", format!("could not find NodeConfig within UserData: no part of type {MEDIA_TYPE} (nodeadm) and no bootstrap.sh call (AL2)"), Code::ConfigInvalid, &format!("add a part with Content-Type: {MEDIA_TYPE} holding the NodeConfig"));
            }
        }
        UserDataKind::NodeConfig => configs.push((decode(text, 0, false), 0)),
        UserDataKind::Script => scripts.push((text.to_string(), 0)),
    }
    let mut merged: Option<Cluster> = None;
    for (d, i) in &configs {
        for (pos, path, msg, fix, err) in &d.problems {
            if *err {
                let code = if msg.contains("YAML syntax") { Code::ConfigYamlSyntax } else { Code::ConfigInvalid };
                let msg = format!(
                    "{msg}{}",
                    if kind == UserDataKind::Mime {
                        "; nodeadm tolerates a NodeConfig that does not decode in the user data by reading nothing from it, so the node has no cluster details"
                    } else {
                        ""
                    }
                );
                sink.error(*pos, path, msg, code, fix);
            } else {
                sink.warn(*pos, path, msg.clone(), fix);
            }
        }
        r.documents.push(DocumentInfo {
            file: name.into(),
            index: *i,
            line: d.cluster.pos.line,
            kind: if d.type_meta.1.is_empty() { "NodeConfig".into() } else { d.type_meta.1.clone() },
            api_version: d.type_meta.0.clone(),
            action: if d.ok { "checked" } else { "invalid" }.into(),
        });
        if d.ok {
            merged.get_or_insert_with(Cluster::default).merge(&d.cluster, name);
        }
    }
    if let Some(c) = &merged {
        let no_cluster = [&c.name, &c.endpoint, &c.ca, &c.cidr].iter().all(|f| f.is_empty());
        if kind == UserDataKind::Mime && no_cluster {
            // Managed node groups without a custom AMI: EKS merges its own NodeConfig with the
            // cluster details into the launch template's user data (EKS user guide, "Customize
            // managed nodes with launch templates"); alone, nodeadm refuses it.
            let (path, msg) = c.nodeadm_error().expect("no name");
            sink.warn(c.pos, path, format!("{msg}: no NodeConfig here has spec.cluster; fine as the launch template of a managed node group on an EKS AMI (EKS adds the cluster details), but a self-managed node or a custom AMI gets none and nodeadm stops"), "for self-managed nodes or a custom AMI, add spec.cluster name, apiServerEndpoint, certificateAuthority and cidr from `aws eks describe-cluster` (joinkit render-config --format nodeadm writes them)");
        } else {
            check_cluster(&mut sink, c);
        }
    }
    let mut calls = 0;
    for (s, line0) in &scripts {
        for (at, args) in bootstrap_commands(s, *line0) {
            calls += 1;
            r.documents.push(DocumentInfo {
                file: name.into(),
                index: r.documents.len(),
                line: at.line,
                kind: "bootstrap.sh".into(),
                api_version: String::new(),
                action: "checked".into(),
            });
            check_bootstrap(&mut sink, at, &args);
        }
    }
    if calls > 0 && !configs.is_empty() {
        sink.warn(Pos { line: 1, col: 1 }, "", "the user data has both a NodeConfig (nodeadm, AL2023) and a bootstrap.sh call (AL2): on AL2023 bootstrap.sh is a stub that exits 1 (\"bootstrap.sh has been removed from AL2023-based EKS AMIs\"), on AL2 nothing reads the NodeConfig".into(), "keep the form of the AMI the node runs");
    }
    r.problems = sink.problems;
    r.problems.sort_by_key(|p| (p.line, p.column));
    r.code = r.problems.iter().find(|p| p.severity == super::Severity::Error).map(|p| p.code);
    r
}

/// A part body that is entirely standard base64 decodes to text (nodeadm's `decodeIfBase64`).
fn base64_body(body: &str) -> Option<String> {
    let compact: String = body.split_whitespace().collect();
    if compact.is_empty() || compact.contains(':') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).ok()?;
    String::from_utf8(bytes).ok()
}

/// The rules on the merged NodeConfig: nodeadm's `ValidateNodeConfig`, then the formats nodeadm
/// uses the values in (the CIDR's parse in `net.go`; the endpoint and CA the kubelet's
/// kubeconfig takes; the cluster name `aws eks get-token` and the authenticator compare).
pub(super) fn check_cluster(sink: &mut Sink, c: &Cluster) {
    if let Some((path, msg)) = c.nodeadm_error() {
        sink.error(c.pos, path, format!("{msg} (nodeadm's ValidateNodeConfig: `nodeadm init` and `nodeadm config check` stop here)"), Code::ConfigInvalid, "add the value from `aws eks describe-cluster` (name, endpoint, certificateAuthority.data, kubernetesNetworkConfig.serviceIpv4Cidr) to spec.cluster");
    }
    if !c.name.is_empty() {
        if let Some(m) = cluster_name_issue(&c.name.value) {
            sink.error(
                c.name.pos,
                "spec.cluster.name",
                m,
                Code::ConfigInvalid,
                "write the cluster's name as `aws eks list-clusters` prints it",
            );
        }
    }
    if !c.endpoint.is_empty() {
        if let Some(m) = endpoint_issue(&c.endpoint.value) {
            sink.error(
                c.endpoint.pos,
                "spec.cluster.apiServerEndpoint",
                m,
                Code::ConfigInvalid,
                "copy the endpoint from `aws eks describe-cluster --query cluster.endpoint`",
            );
        }
    }
    if !c.ca.is_empty() && decode_b64(&c.ca.value).is_ok() {
        if let Err(m) = ca_certificates(&c.ca.value, "the certificate authority") {
            sink.error(
                c.ca.pos,
                "spec.cluster.certificateAuthority",
                format!("{m}: nodeadm config check accepts it, but the kubelet cannot verify the API server with it (nodeadm writes it to /etc/kubernetes/pki/ca.crt)"),
                Code::ConfigInvalid,
                "copy certificateAuthority.data from `aws eks describe-cluster`: the base64 of the cluster CA's PEM",
            );
        }
    }
    if !c.cidr.is_empty() {
        if let Some(m) = cidr_issue(&c.cidr.value) {
            sink.error(c.cidr.pos, "spec.cluster.cidr", format!("{m} (nodeadm's GetCIDRIpFamily: `nodeadm init` fails configuring the kubelet)"), Code::ConfigInvalid, "write the service CIDR from `aws eks describe-cluster --query cluster.kubernetesNetworkConfig.serviceIpv4Cidr`, e.g. 10.100.0.0/16");
        }
    }
}

/// The NodeConfigs in a text as nodeadm would read it: MIME parts of type
/// `application/node.eks.aws` or the whole text. `cache`: nodeadm's config cache (JSON without
/// type meta). Used by `diagnose` on the node's user data, drop-ins and cache.
pub fn node_configs(text: &str, cache: bool) -> Vec<Cluster> {
    let bodies: Vec<String> = if looks_mime(text) || mime_header(text).is_some() {
        split_mime(text)
            .parts
            .into_iter()
            .filter(|p| p.media_type == MEDIA_TYPE)
            .map(|p| base64_body(&p.body).unwrap_or(p.body))
            .collect()
    } else {
        vec![text.to_string()]
    };
    bodies
        .iter()
        .map(|b| decode(b, 0, cache))
        // A document that says it is a NodeConfig stays one even when a field does not decode
        // (a CA that is not base64): diagnose checks its fields one by one and names the bad one.
        .filter(|d| if cache { d.ok } else { d.type_meta.1 == "NodeConfig" })
        .map(|d| d.cluster)
        .collect()
}

#[cfg(test)]
mod tests;
