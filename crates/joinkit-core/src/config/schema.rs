//! The JoinConfiguration's shape: the schema of both API versions (kubeadm's
//! `cmd/kubeadm/app/apis/kubeadm/v1beta3|v1beta4/types.go`: fields, types, version-only fields),
//! the structural checker that walks a document against it (unknown fields with the nearest
//! known one, duplicate keys, wrong types, duration syntax) and the extraction of the model the
//! semantic rules of [`super::validate`] read. Mostly a data table (the schema) and one walker.

use super::model::{ApiVersion, JoinConfig, Secret, Taint};
use super::validate::{shown, Problem, Severity, MAX_MESSAGE_CHARS, MAX_PATH_CHARS};
use crate::report::truncate_for_display;
use crate::yaml::{self, Key, Node, Pos, ScalarKind, Value};
use std::collections::HashMap;

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
pub(crate) const TIMEOUTS: &[&str] = &[
    "controlPlaneComponentHealthCheck",
    "kubeletHealthCheck",
    "kubernetesAPICall",
    "etcdAPICall",
    "tlsBootstrap",
    "discovery",
    "upgradeManifests",
];

/// Join phases kubeadm knows (for `skipPhases`).
pub(crate) const JOIN_PHASES: &[&str] = &[
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
pub(crate) struct Checker<'a> {
    file: &'a str,
    version: ApiVersion,
    /// Problems found.
    pub(super) problems: Vec<Problem>,
    positions: HashMap<String, Pos>,
    doc_pos: Pos,
}

impl<'a> Checker<'a> {
    /// Walks `root` against the schema of `version`: the structural problems, and the checker
    /// the semantic rules continue with.
    pub(super) fn check_shape(file: &'a str, root: &Node, version: ApiVersion) -> Self {
        let mut c = Checker::new(file, version, root.pos);
        c.walk(root, &schema(version), "");
        c
    }

    fn new(file: &'a str, version: ApiVersion, doc_pos: Pos) -> Self {
        Checker { file, version, problems: Vec::new(), positions: HashMap::new(), doc_pos }
    }

    pub(super) fn pos_of(&self, path: &str) -> Pos {
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

    pub(super) fn push(
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
    pub(super) fn kubeadm(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let pos = self.pos_of(path);
        self.push(Severity::Error, path, pos, message, true, fix);
    }

    /// An error joinkit raises where kubeadm does not (yet).
    pub(super) fn stricter(&mut self, sev: Severity, path: &str, message: impl Into<String>, fix: impl Into<String>) {
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

    pub(super) fn unknown(&mut self, k: &Key, path: &str, message: String, fix: String) {
        self.push(Severity::Error, path, k.pos, message, false, fix);
    }

    pub(super) fn type_error(&mut self, node: &Node, path: &str, want: &str) {
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
pub(crate) fn extract(root: &Node, version: ApiVersion) -> JoinConfig {
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
