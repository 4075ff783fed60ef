//! `validate-config`: every kubeadm JoinConfiguration validation rule with kubeadm's message
//! (`cmd/kubeadm/app/apis/kubeadm/validation/validation.go`, spec section 5), plus stricter
//! checks kubeadm defers to join time or only warns about (each says so): CA pin syntax, token
//! format, certificate key format, endpoint syntax, unknown fields (with the nearest known
//! field), duplicate keys, wrong types for the version, duration syntax.
//!
//! Every problem carries a severity, `file:line:column`, the field path
//! (`discovery.bootstrapToken.caCertHashes[0]`), the message and a fix.

use super::model::{ApiVersion, JoinConfig, Secret, Taint};
use crate::report::truncate_for_display;
use crate::yaml::{self, Key, Node, Pos, ScalarKind, Value};
use serde::Serialize;
use std::collections::HashMap;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// kubeadm would fail (or joinkit is sure the join would).
    Error,
    /// Worth fixing; the join may still work.
    Warning,
}

/// One problem in a config file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The field path, e.g. `discovery.bootstrapToken.caCertHashes[0]`.
    pub path: String,
    /// What is wrong (kubeadm's message where kubeadm has the rule).
    pub message: String,
    /// True when `message` is kubeadm's own wording for the rule.
    pub kubeadm_rule: bool,
    /// How to fix it.
    pub fix: String,
}

/// The most characters of a problem's message or fix (a safety net: echoed values are cut to
/// [`crate::report::MAX_ECHO_CHARS`] where they are formatted; kubeadm's longest messages are
/// about 350 characters).
pub const MAX_MESSAGE_CHARS: usize = 1000;
/// The most characters of a problem's field path.
pub const MAX_PATH_CHARS: usize = 400;

/// An input value as messages echo it: at most [`crate::report::MAX_ECHO_CHARS`] characters.
fn shown(s: &str) -> String {
    truncate_for_display(s, crate::report::MAX_ECHO_CHARS)
}

#[derive(Clone)]
enum Ty {
    Str,
    Bool,
    Int,
    Duration,
    List(Box<Ty>),
    StrMap,
    Obj(Vec<Field>),
}

#[derive(Clone)]
struct Field {
    name: &'static str,
    ty: Ty,
    only: Option<ApiVersion>,
}

fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, ty, only: None }
}

fn only(name: &'static str, ty: Ty, v: ApiVersion) -> Field {
    Field { name, ty, only: Some(v) }
}

/// The JoinConfiguration schema of both versions; version-only fields are tagged.
fn schema(version: ApiVersion) -> Ty {
    use ApiVersion::*;
    let taint = Ty::Obj(vec![f("key", Ty::Str), f("value", Ty::Str), f("effect", Ty::Str), f("timeAdded", Ty::Str)]);
    let kubelet_args = match version {
        V1beta4 => Ty::List(Box::new(Ty::Obj(vec![f("name", Ty::Str), f("value", Ty::Str)]))),
        V1beta3 => Ty::StrMap,
    };
    Ty::Obj(vec![
        f("apiVersion", Ty::Str),
        f("kind", Ty::Str),
        only("dryRun", Ty::Bool, V1beta4),
        f("caCertPath", Ty::Str),
        f(
            "discovery",
            Ty::Obj(vec![
                f(
                    "bootstrapToken",
                    Ty::Obj(vec![
                        f("token", Ty::Str),
                        f("apiServerEndpoint", Ty::Str),
                        f("caCertHashes", Ty::List(Box::new(Ty::Str))),
                        f("unsafeSkipCAVerification", Ty::Bool),
                    ]),
                ),
                f("file", Ty::Obj(vec![f("kubeConfigPath", Ty::Str)])),
                f("tlsBootstrapToken", Ty::Str),
                only("timeout", Ty::Duration, V1beta3),
            ]),
        ),
        f(
            "nodeRegistration",
            Ty::Obj(vec![
                f("name", Ty::Str),
                f("criSocket", Ty::Str),
                f("taints", Ty::List(Box::new(taint))),
                f("kubeletExtraArgs", kubelet_args),
                f("ignorePreflightErrors", Ty::List(Box::new(Ty::Str))),
                f("imagePullPolicy", Ty::Str),
                only("imagePullSerial", Ty::Bool, V1beta4),
            ]),
        ),
        f(
            "controlPlane",
            Ty::Obj(vec![
                f("localAPIEndpoint", Ty::Obj(vec![f("advertiseAddress", Ty::Str), f("bindPort", Ty::Int)])),
                f("certificateKey", Ty::Str),
            ]),
        ),
        f("skipPhases", Ty::List(Box::new(Ty::Str))),
        f("patches", Ty::Obj(vec![f("directory", Ty::Str)])),
        only("timeouts", Ty::Obj(TIMEOUTS.iter().map(|n| f(n, Ty::Duration)).collect()), V1beta4),
    ])
}

/// v1beta4 `timeouts` fields with kubeadm's defaults.
pub const TIMEOUTS: &[&str] = &[
    "controlPlaneComponentHealthCheck",
    "kubeletHealthCheck",
    "kubernetesAPICall",
    "etcdAPICall",
    "tlsBootstrap",
    "discovery",
    "upgradeManifests",
];

/// Join phases kubeadm knows (for `skipPhases`).
pub const JOIN_PHASES: &[&str] = &[
    "preflight",
    "control-plane-prepare",
    "control-plane-prepare/download-certs",
    "control-plane-prepare/certs",
    "control-plane-prepare/kubeconfig",
    "control-plane-prepare/control-plane",
    "kubelet-start",
    "control-plane-join",
    "control-plane-join/etcd",
    "control-plane-join/update-status",
    "control-plane-join/mark-control-plane",
    "wait-control-plane",
    "kubelet-wait-bootstrap",
    "etcd-join",
    "mark-control-plane",
];

/// Collects problems and positions while walking one document.
pub struct Checker<'a> {
    file: &'a str,
    version: ApiVersion,
    /// Problems found.
    pub problems: Vec<Problem>,
    positions: HashMap<String, Pos>,
    doc_pos: Pos,
}

impl<'a> Checker<'a> {
    fn new(file: &'a str, version: ApiVersion, doc_pos: Pos) -> Self {
        Checker { file, version, problems: Vec::new(), positions: HashMap::new(), doc_pos }
    }

    fn pos_of(&self, path: &str) -> Pos {
        // The closest recorded ancestor.
        let mut p = path.to_string();
        loop {
            if let Some(pos) = self.positions.get(&p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => return self.doc_pos,
            }
        }
    }

    fn push(
        &mut self,
        sev: Severity,
        path: &str,
        pos: Pos,
        message: impl Into<String>,
        kubeadm_rule: bool,
        fix: impl Into<String>,
    ) {
        self.problems.push(Problem {
            severity: sev,
            file: self.file.to_string(),
            line: pos.line,
            column: pos.col,
            path: truncate_for_display(path, MAX_PATH_CHARS),
            message: truncate_for_display(&message.into(), MAX_MESSAGE_CHARS),
            kubeadm_rule,
            fix: truncate_for_display(&fix.into(), MAX_MESSAGE_CHARS),
        });
    }

    /// An error with kubeadm's message for a field.
    fn kubeadm(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let pos = self.pos_of(path);
        self.push(Severity::Error, path, pos, message, true, fix);
    }

    /// An error joinkit raises where kubeadm does not (yet).
    fn stricter(&mut self, sev: Severity, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let pos = self.pos_of(path);
        self.push(sev, path, pos, message, false, fix);
    }

    fn walk(&mut self, node: &Node, ty: &Ty, path: &str) {
        self.positions.entry(path.to_string()).or_insert(node.pos);
        if node.is_null() && !matches!(ty, Ty::Obj(_)) {
            return;
        }
        match ty {
            Ty::Obj(fields) => {
                if node.is_null() {
                    return;
                }
                let Value::Map(entries) = &node.value else {
                    return self.type_error(node, path, "a mapping");
                };
                let mut seen: HashMap<&str, Pos> = HashMap::new();
                for (k, v) in entries {
                    let child = if path.is_empty() { k.name.clone() } else { format!("{path}.{}", k.name) };
                    self.positions.entry(child.clone()).or_insert(k.pos);
                    if let Some(first) = seen.get(k.name.as_str()) {
                        self.push(
                            Severity::Error,
                            &child,
                            k.pos,
                            format!("duplicate key {:?} (first at line {}); kubeadm's strict decoding warns and keeps one of them", shown(&k.name), first.line),
                            false,
                            "remove one of the two entries",
                        );
                        continue;
                    }
                    seen.insert(&k.name, k.pos);
                    match fields.iter().find(|f| f.name == k.name) {
                        Some(fl) if fl.only.is_none_or(|v| v == self.version) => self.walk(v, &fl.ty, &child),
                        Some(fl) => {
                            let other = fl.only.map(|v| v.api_version()).unwrap_or("");
                            let fix = match (k.name.as_str(), self.version) {
                                ("timeout", ApiVersion::V1beta4) => "in v1beta4 the discovery timeout is timeouts.discovery".to_string(),
                                ("timeouts", ApiVersion::V1beta3) => "v1beta3 has only discovery.timeout; use apiVersion kubeadm.k8s.io/v1beta4 for timeouts".to_string(),
                                _ => format!("remove it, or use apiVersion {other}"),
                            };
                            self.unknown(
                                k,
                                &child,
                                format!("unknown field {:?}: it exists only in {other}", shown(&k.name)),
                                fix,
                            );
                        }
                        None => {
                            let best = fields
                                .iter()
                                .filter(|f| f.only.is_none_or(|v| v == self.version))
                                .map(|f| (yaml::edit_distance(&k.name, f.name), f.name))
                                .min();
                            let hint = match best {
                                Some((d, name)) if d <= 3 || name.to_lowercase() == k.name.to_lowercase() => {
                                    format!("did you mean {name:?}?")
                                }
                                _ => format!(
                                    "known fields here: {}",
                                    fields
                                        .iter()
                                        .filter(|f| f.only.is_none_or(|v| v == self.version))
                                        .map(|f| f.name)
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            };
                            self.unknown(
                                k,
                                &child,
                                format!("unknown field {:?} (kubeadm ignores it with only a warning)", shown(&k.name)),
                                hint,
                            );
                        }
                    }
                }
            }
            Ty::List(item) => {
                let Value::Seq(items) = &node.value else {
                    return self.type_error(node, path, "a list");
                };
                for (i, it) in items.iter().enumerate() {
                    self.walk(it, item, &format!("{path}[{i}]"));
                }
            }
            Ty::StrMap => {
                let Value::Map(entries) = &node.value else {
                    return self.type_error(node, path, "a map of strings");
                };
                let mut seen: HashMap<&str, usize> = HashMap::new();
                for (k, v) in entries {
                    let child = format!("{path}.{}", k.name);
                    self.positions.entry(child.clone()).or_insert(k.pos);
                    if let Some(line) = seen.insert(&k.name, k.pos.line) {
                        self.push(
                            Severity::Error,
                            &child,
                            k.pos,
                            format!("duplicate key {:?} (first at line {line})", shown(&k.name)),
                            false,
                            "remove one of them; a map keeps one value per flag (v1beta4's list allows repeats)",
                        );
                    }
                    self.walk(v, &Ty::Str, &child);
                }
            }
            Ty::Str => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Str => {}
                Some(s) => {
                    let what = match s.kind() {
                        ScalarKind::Bool => "a boolean",
                        ScalarKind::Int | ScalarKind::Float => "a number",
                        _ => "a null",
                    };
                    self.push(
                        Severity::Error,
                        path,
                        node.pos,
                        format!("expected a string, found {what} ({}); kubeadm fails to decode it", shown(&s.value)),
                        false,
                        format!("quote it: \"{}\"", shown(&s.value)),
                    );
                }
                None => self.type_error(node, path, "a string"),
            },
            Ty::Bool => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Bool => {
                    if s.yaml11_bool().is_some() {
                        self.push(
                            Severity::Warning,
                            path,
                            node.pos,
                            format!("{:?} is a boolean only in YAML 1.1 (kubeadm's go-yaml v2 reads it as {}); YAML 1.2 tools read a string", s.value, s.as_bool().unwrap_or(false)),
                            false,
                            format!("write {}", s.as_bool().unwrap_or(false)),
                        );
                    }
                }
                _ => self.type_error(node, path, "a boolean (true or false)"),
            },
            Ty::Int => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Int => {}
                _ => self.type_error(node, path, "an integer"),
            },
            Ty::Duration => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Str => {
                    if let Err(e) = crate::duration::parse(&s.value) {
                        self.push(
                            Severity::Error,
                            path,
                            node.pos,
                            format!("{e}; kubeadm fails to decode it"),
                            false,
                            "use Go duration syntax, e.g. 5m0s, 90s, 1h",
                        );
                    }
                }
                _ => self.push(
                    Severity::Error,
                    path,
                    node.pos,
                    format!(
                        "expected a duration string such as \"5m0s\", found {:?}",
                        node.str().map(shown).unwrap_or_else(|| "a collection".into())
                    ),
                    false,
                    "use Go duration syntax with a unit, e.g. 5m0s",
                ),
            },
        }
    }

    fn unknown(&mut self, k: &Key, path: &str, message: String, fix: String) {
        self.push(Severity::Error, path, k.pos, message, false, fix);
    }

    fn type_error(&mut self, node: &Node, path: &str, want: &str) {
        let found = match &node.value {
            Value::Map(_) => "a mapping".to_string(),
            Value::Seq(_) => "a list".to_string(),
            Value::Scalar(s) => format!("{:?}", shown(&s.value)),
        };
        let fix = if path.ends_with("kubeletExtraArgs") {
            match self.version {
                ApiVersion::V1beta4 => "in v1beta4 kubeletExtraArgs is a list of {name, value}; `joinkit migrate-config` converts a v1beta3 file".to_string(),
                ApiVersion::V1beta3 => "in v1beta3 kubeletExtraArgs is a map of flag name to value".to_string(),
            }
        } else {
            format!("write {want}")
        };
        self.push(Severity::Error, path, node.pos, format!("expected {want}, found {found}"), false, fix);
    }
}

fn s(n: Option<&Node>) -> Option<String> {
    n.and_then(|n| n.scalar()).filter(|s| s.kind() != ScalarKind::Null).map(|s| s.value.clone())
}

fn strs(n: Option<&Node>) -> Vec<String> {
    n.map(|n| n.items().iter().filter_map(|i| i.str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Reads the model from a document tree (lenient: type errors are the checker's business).
pub fn extract(root: &Node, version: ApiVersion) -> JoinConfig {
    let disc = root.get("discovery");
    let bt = disc.and_then(|d| d.get("bootstrapToken"));
    let file = disc.and_then(|d| d.get("file"));
    let nr = root.get("nodeRegistration");
    let cp = root.get("controlPlane");
    let ep = cp.and_then(|c| c.get("localAPIEndpoint"));
    let kubelet_extra_args = match nr.and_then(|n| n.get("kubeletExtraArgs")).map(|n| &n.value) {
        Some(Value::Map(m)) => m.iter().map(|(k, v)| (k.name.clone(), v.str().unwrap_or("").to_string())).collect(),
        Some(Value::Seq(items)) => items
            .iter()
            .map(|i| (s(i.get("name")).unwrap_or_default(), s(i.get("value")).unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    };
    let timeouts_node = root.get("timeouts");
    let discovery_timeout = match version {
        ApiVersion::V1beta3 => s(disc.and_then(|d| d.get("timeout"))),
        ApiVersion::V1beta4 => s(timeouts_node.and_then(|t| t.get("discovery"))),
    };
    let timeouts = match timeouts_node.map(|t| &t.value) {
        Some(Value::Map(m)) => m
            .iter()
            .filter(|(k, _)| k.name != "discovery")
            .map(|(k, v)| (k.name.clone(), v.str().unwrap_or("").to_string()))
            .collect(),
        _ => Vec::new(),
    };
    JoinConfig {
        ca_cert_path: s(root.get("caCertPath")),
        token: s(bt.and_then(|b| b.get("token"))).map(Secret::from),
        api_server_endpoint: s(bt.and_then(|b| b.get("apiServerEndpoint"))),
        ca_cert_hashes: strs(bt.and_then(|b| b.get("caCertHashes"))),
        unsafe_skip_ca_verification: bt
            .and_then(|b| b.get("unsafeSkipCAVerification"))
            .and_then(|n| n.scalar())
            .and_then(|s| s.as_bool()),
        has_bootstrap_token: bt.is_some_and(|b| !b.is_null()),
        discovery_file: s(file.and_then(|f| f.get("kubeConfigPath"))),
        has_file: file.is_some_and(|f| !f.is_null()),
        tls_bootstrap_token: s(disc.and_then(|d| d.get("tlsBootstrapToken"))).map(Secret::from),
        discovery_timeout,
        timeouts,
        node_name: s(nr.and_then(|n| n.get("name"))),
        cri_socket: nr.and_then(|n| n.get("criSocket")).and_then(|n| n.str()).map(str::to_string),
        taints: nr.and_then(|n| n.get("taints")).filter(|n| !n.is_null()).map(|n| {
            n.items()
                .iter()
                .map(|t| Taint {
                    key: s(t.get("key")).unwrap_or_default(),
                    value: s(t.get("value")),
                    effect: s(t.get("effect")).unwrap_or_default(),
                    time_added: s(t.get("timeAdded")),
                })
                .collect()
        }),
        kubelet_extra_args,
        ignore_preflight_errors: strs(nr.and_then(|n| n.get("ignorePreflightErrors"))),
        image_pull_policy: s(nr.and_then(|n| n.get("imagePullPolicy"))),
        image_pull_serial: nr.and_then(|n| n.get("imagePullSerial")).and_then(|n| n.scalar()).and_then(|s| s.as_bool()),
        control_plane: cp.is_some(),
        advertise_address: s(ep.and_then(|e| e.get("advertiseAddress"))),
        bind_port: ep.and_then(|e| e.get("bindPort")).and_then(|n| n.str()).and_then(|v| v.parse().ok()),
        certificate_key: s(cp.and_then(|c| c.get("certificateKey"))).map(Secret::from),
        skip_phases: strs(root.get("skipPhases")),
        patches_directory: s(root.get("patches").and_then(|p| p.get("directory"))),
        dry_run: root.get("dryRun").and_then(|n| n.scalar()).and_then(|s| s.as_bool()),
    }
}

/// Go's `net.SplitHostPort` error for `addr`, if any (kubeadm's endpoint rule).
pub fn split_host_port_error(addr: &str) -> Option<String> {
    let err = |why: &str| Some(format!("address {addr}: {why}"));
    if let Some(rest) = addr.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return err("missing ']' in address");
        };
        let after = &rest[end + 1..];
        if after.is_empty() {
            return err("missing port in address");
        }
        if !after.starts_with(':') {
            return err("missing port in address");
        }
        if after[1..].contains(':') {
            return err("too many colons in address");
        }
        return None;
    }
    match addr.matches(':').count() {
        0 => err("missing port in address"),
        1 => None,
        _ => err("too many colons in address"),
    }
}

/// DNS-1123 subdomain (node names): kubeadm's message when it does not match.
pub fn dns1123_subdomain_error(name: &str) -> Option<String> {
    const MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    if name.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    let ok = !name.is_empty()
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    (!ok).then(|| MSG.to_string())
}

/// The semantic rules on an extracted model.
fn rules(c: &mut Checker<'_>, j: &JoinConfig) {
    let bt = "discovery.bootstrapToken";
    // Discovery: exactly one method.
    match (j.has_bootstrap_token, j.has_file) {
        (false, false) => c.kubeadm(
            "discovery",
            "bootstrapToken or file must be set",
            "set discovery.bootstrapToken (token discovery) or discovery.file.kubeConfigPath",
        ),
        (true, true) => {
            c.kubeadm("discovery", "bootstrapToken and file cannot both be set", "keep one discovery method")
        }
        _ => {}
    }
    if j.has_bootstrap_token {
        match j.api_server_endpoint.as_deref() {
            None | Some("") => c.kubeadm(
                &format!("{bt}.apiServerEndpoint"),
                "APIServerEndpoint is not set",
                "set discovery.bootstrapToken.apiServerEndpoint to host:port, e.g. 10.0.0.10:6443",
            ),
            Some(ep) => {
                if let Some(e) = split_host_port_error(ep) {
                    c.kubeadm(
                        &format!("{bt}.apiServerEndpoint"),
                        e,
                        "write host:port, with brackets for IPv6: [fd00::10]:6443",
                    );
                } else if let Err(f) = crate::endpoint::Endpoint::parse(ep) {
                    c.stricter(
                        Severity::Error,
                        &format!("{bt}.apiServerEndpoint"),
                        format!("{} (kubeadm checks only the host:port split and fails at discovery)", f.message),
                        "write host:port with a valid host and a port from 1 to 65535",
                    );
                }
            }
        }
        match j.token.as_ref().map(Secret::expose) {
            None | Some("") => c.kubeadm(
                &format!("{bt}.token"),
                "the bootstrap token is invalid",
                "set discovery.bootstrapToken.token (from `kubeadm token create` / `joinkit token create`)",
            ),
            Some(t) if crate::token::BootstrapToken::parse(t).is_err() => c.kubeadm(
                &format!("{bt}.token"),
                "the bootstrap token is invalid",
                "a token is [a-z0-9]{6}.[a-z0-9]{16}",
            ),
            _ => {}
        }
        if j.ca_cert_hashes.is_empty() && j.unsafe_skip_ca_verification != Some(true) {
            c.kubeadm(
                &format!("{bt}.caCertHashes"),
                "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue",
                "add the CA pin (`joinkit ca-hash /etc/kubernetes/pki/ca.crt` on a control-plane node) to caCertHashes",
            );
        }
        if j.unsafe_skip_ca_verification == Some(true) {
            c.stricter(
                Severity::Warning,
                &format!("{bt}.unsafeSkipCAVerification"),
                "the CA is not pinned: anyone who knows the token can impersonate the control plane",
                "pin the CA with caCertHashes",
            );
        }
        for (i, h) in j.ca_cert_hashes.iter().enumerate() {
            if let Err(f) = crate::pin::Pin::parse(h) {
                c.stricter(
                    Severity::Error,
                    &format!("{bt}.caCertHashes[{i}]"),
                    format!(
                        "{} (kubeadm checks this only at discovery time, then fails the join)",
                        f.kubeadm_message.unwrap_or(f.message)
                    ),
                    "a pin is sha256:<64 hex digits>; compute it with `joinkit ca-hash`",
                );
            }
        }
    }
    if let Some(t) = &j.tls_bootstrap_token {
        if crate::token::BootstrapToken::parse(t.expose()).is_err() {
            c.kubeadm(
                "discovery.tlsBootstrapToken",
                "the bootstrap token is invalid",
                "a token is [a-z0-9]{6}.[a-z0-9]{16}",
            );
        }
    }
    if j.has_file {
        match j.discovery_file.as_deref() {
            None | Some("") => c.kubeadm("discovery.file.kubeConfigPath", "not a valid HTTPS URL or a file on disk", "set the path of the discovery kubeconfig or an https:// URL"),
            Some(p) if p.contains("://") && !p.starts_with("https://") => {
                c.kubeadm("discovery.file.kubeConfigPath", "if a URL is used, the scheme must be https", "serve the discovery file over https")
            }
            Some(p) if !p.contains("://") && !std::path::Path::new(p).exists() => c.stricter(
                Severity::Warning,
                "discovery.file.kubeConfigPath",
                format!("{p} does not exist on this machine; kubeadm requires it on the node (\"not a valid HTTPS URL or a file on disk\")"),
                "make sure the file is on the node before `kubeadm join` runs",
            ),
            _ => {}
        }
        if j.tls_bootstrap_token.is_none() {
            c.stricter(Severity::Warning, "discovery.file", "file discovery needs credentials in the discovery file or discovery.tlsBootstrapToken for the TLS bootstrap", "set discovery.tlsBootstrapToken unless the file embeds credentials");
        }
    }
    if let Some(p) = &j.ca_cert_path {
        if !p.starts_with('/') {
            c.kubeadm(
                "caCertPath",
                "the ca certificate path must be an absolute path",
                "use an absolute path such as /etc/kubernetes/pki/ca.crt",
            );
        }
    }
    // Node registration.
    if let Some(n) = &j.node_name {
        if let Some(e) = dns1123_subdomain_error(n) {
            c.kubeadm("nodeRegistration.name", e, "use a lowercase DNS name, e.g. worker-1");
        }
    }
    if let Some(sock) = &j.cri_socket {
        if sock.is_empty() {
            c.kubeadm(
                "nodeRegistration.criSocket",
                "empty CRI socket",
                "remove the field (kubeadm detects the runtime) or set e.g. unix:///run/containerd/containerd.sock",
            );
        } else if let Some((scheme, _)) = sock.split_once("://") {
            if scheme != "unix" {
                c.kubeadm(
                    "nodeRegistration.criSocket",
                    format!("only URL scheme \"unix\" is supported, got {scheme:?}"),
                    "use unix:///path/to/socket",
                );
            }
        } else {
            c.stricter(
                Severity::Warning,
                "nodeRegistration.criSocket",
                format!("{sock:?} has no URL scheme; kubeadm prepends unix:// with a deprecation warning"),
                format!("write unix://{sock}"),
            );
        }
    }
    if let Some(p) = &j.image_pull_policy {
        if !matches!(p.as_str(), "Always" | "IfNotPresent" | "Never") {
            c.kubeadm("nodeRegistration.imagePullPolicy", "invalid pull policy", "use Always, IfNotPresent or Never");
        }
    }
    let lower: Vec<String> = j.ignore_preflight_errors.iter().map(|e| e.to_lowercase()).collect();
    if lower.iter().any(|e| e == "all") && lower.len() > 1 {
        c.kubeadm(
            "nodeRegistration.ignorePreflightErrors",
            "don't specify \"all\" along with other values",
            "use either all or a list of checks",
        );
    }
    for (i, t) in j.taints.iter().flatten().enumerate() {
        if !matches!(t.effect.as_str(), "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            c.stricter(
                Severity::Error,
                &format!("nodeRegistration.taints[{i}].effect"),
                format!("taint effect {:?} is not NoSchedule, PreferNoSchedule or NoExecute (kubeadm does not validate taints; the kubelet fails to register the node)", t.effect),
                "use NoSchedule, PreferNoSchedule or NoExecute",
            );
        }
        if t.key.is_empty() {
            c.stricter(
                Severity::Error,
                &format!("nodeRegistration.taints[{i}].key"),
                "a taint needs a key (kubeadm does not validate taints)",
                "set key",
            );
        }
    }
    // Control plane.
    if j.control_plane {
        if let Some(a) = &j.advertise_address {
            if a.parse::<std::net::IpAddr>().is_err() {
                c.kubeadm(
                    "controlPlane.localAPIEndpoint.advertiseAddress",
                    "ip address is not valid",
                    "use an IP address of this node",
                );
            }
        }
        if let Some(p) = j.bind_port {
            if !(1..=65535).contains(&p) {
                c.kubeadm(
                    "controlPlane.localAPIEndpoint.bindPort",
                    "port number is not valid",
                    "use a port from 1 to 65535 (6443 by default)",
                );
            }
        }
        match &j.certificate_key {
            Some(k) => {
                if let Some(e) = certificate_key_error(k.expose()) {
                    c.kubeadm(
                        "controlPlane.certificateKey",
                        e,
                        "use the 64-hex-digit key printed by `kubeadm init phase upload-certs --upload-certs`",
                    );
                }
            }
            None => c.stricter(
                Severity::Warning,
                "controlPlane",
                "no certificateKey: the control-plane certificates must already be on this node",
                "set controlPlane.certificateKey from `kubeadm init phase upload-certs --upload-certs`",
            ),
        }
    }
    for (i, p) in j.skip_phases.iter().enumerate() {
        if !JOIN_PHASES.contains(&p.as_str()) {
            c.stricter(
                Severity::Warning,
                &format!("skipPhases[{i}]"),
                format!("{p:?} is not a kubeadm join phase"),
                format!("known phases: {}", JOIN_PHASES.join(", ")),
            );
        }
    }
}

/// kubeadm's certificate key rule: hex-decodes to exactly 32 bytes.
pub fn certificate_key_error(k: &str) -> Option<String> {
    if !k.len().is_multiple_of(2) || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bad = k.bytes().position(|b| !b.is_ascii_hexdigit());
        let why = match bad {
            Some(i) => format!("encoding/hex: invalid byte: U+{:04X} {:?}", k.as_bytes()[i], k.as_bytes()[i] as char),
            None => "encoding/hex: odd length hex string".into(),
        };
        return Some(format!("certificate key decoding error: {why}"));
    }
    (k.len() != 64)
        .then(|| format!("invalid certificate key size {}, the key must be an AES key of size 32", k.len() / 2))
}

/// Checks one JoinConfiguration document; returns the problems and the extracted model.
pub fn check_document(file: &str, root: &Node, version: ApiVersion) -> (Vec<Problem>, JoinConfig) {
    let mut c = Checker::new(file, version, root.pos);
    c.walk(root, &schema(version), "");
    let model = extract(root, version);
    rules(&mut c, &model);
    let mut problems = c.problems;
    problems.sort_by_key(|p| (p.line, p.column));
    (problems, model)
}
