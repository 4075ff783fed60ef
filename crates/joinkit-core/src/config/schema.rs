//! The shape of every document `kubeadm config validate` decodes: the schemas of kubeadm's
//! kinds in both API versions (`cmd/kubeadm/app/apis/kubeadm/v1beta3|v1beta4/types.go`) and the
//! top level of the component configurations it loads (`KubeletConfiguration`,
//! `KubeProxyConfiguration`); the structural checker that walks a document against one the way
//! kubeadm's strict decoding does (unknown fields, duplicate keys, wrong types, durations and
//! times); and the extraction of the JoinConfiguration model the semantic rules of
//! [`super::validate`] read.
//!
//! The field names of every object were read from the kubeadm binaries themselves (each
//! release's strict decoder names every field it does not know; method and tables in
//! `docs/kubeadm-config-parity.md`).

use super::kubeadm::KubeadmVersion;
use super::model::{ApiVersion, JoinConfig, Secret, Taint};
use super::validate::{shown, Origin, Problem, Severity, MAX_MESSAGE_CHARS, MAX_PATH_CHARS};
use crate::error::Code;
use crate::report::truncate_for_display;
use crate::yaml::{self, Key, Node, Pos, ScalarKind, Value};
use std::collections::HashMap;

/// A field's type as Go's JSON decoder (after sigs.k8s.io/yaml's YAML-to-JSON step) sees it.
#[derive(Clone)]
pub(crate) enum Ty {
    /// `string`.
    Str,
    /// `bool` / `*bool`.
    Bool,
    /// An integer type: the inclusive range.
    Int(i64, i64),
    /// `*metav1.Duration` (a Go duration string).
    Duration,
    /// `metav1.Time` (an RFC 3339 string).
    Time,
    /// `[]T`.
    List(Box<Ty>),
    /// `map[string]string`.
    StrMap,
    /// `map[string]bool`.
    BoolMap,
    /// A struct.
    Obj(Vec<Field>),
    /// Not checked beyond duplicate keys (nested component-config objects, `valueFrom`).
    Any,
}

/// A struct field.
#[derive(Clone)]
pub(crate) struct Field {
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

fn list(t: Ty) -> Ty {
    Ty::List(Box::new(t))
}

const INT32: Ty = Ty::Int(i32::MIN as i64, i32::MAX as i64);

/// `metav1.TypeMeta`, inlined in every top-level kind.
fn type_meta() -> Vec<Field> {
    vec![f("apiVersion", Ty::Str), f("kind", Ty::Str)]
}

fn extra_args(v: ApiVersion) -> Ty {
    match v {
        ApiVersion::V1beta4 => list(Ty::Obj(vec![f("name", Ty::Str), f("value", Ty::Str)])),
        ApiVersion::V1beta3 => Ty::StrMap,
    }
}

fn node_registration(v: ApiVersion) -> Ty {
    use ApiVersion::*;
    let taint = Ty::Obj(vec![f("key", Ty::Str), f("value", Ty::Str), f("effect", Ty::Str), f("timeAdded", Ty::Time)]);
    Ty::Obj(vec![
        f("name", Ty::Str),
        f("criSocket", Ty::Str),
        f("taints", list(taint)),
        f("kubeletExtraArgs", extra_args(v)),
        f("ignorePreflightErrors", list(Ty::Str)),
        f("imagePullPolicy", Ty::Str),
        only("imagePullSerial", Ty::Bool, V1beta4),
    ])
}

fn api_endpoint() -> Ty {
    Ty::Obj(vec![f("advertiseAddress", Ty::Str), f("bindPort", INT32)])
}

fn patches() -> Ty {
    Ty::Obj(vec![f("directory", Ty::Str)])
}

fn timeouts() -> Ty {
    Ty::Obj(TIMEOUTS.iter().map(|n| f(n, Ty::Duration)).collect())
}

fn component(v: ApiVersion) -> Vec<Field> {
    let mount = Ty::Obj(vec![
        f("name", Ty::Str),
        f("hostPath", Ty::Str),
        f("mountPath", Ty::Str),
        f("readOnly", Ty::Bool),
        f("pathType", Ty::Str),
    ]);
    vec![
        f("extraArgs", extra_args(v)),
        f("extraVolumes", list(mount)),
        only("extraEnvs", list(env_var()), ApiVersion::V1beta4),
    ]
}

fn env_var() -> Ty {
    Ty::Obj(vec![f("name", Ty::Str), f("value", Ty::Str), f("valueFrom", Ty::Any)])
}

fn cluster_configuration(v: ApiVersion, kv: KubeadmVersion) -> Ty {
    use ApiVersion::*;
    let mut api_server = component(v);
    api_server.push(f("certSANs", list(Ty::Str)));
    api_server.push(only("timeoutForControlPlane", Ty::Duration, V1beta3));
    let mut external =
        vec![f("endpoints", list(Ty::Str)), f("caFile", Ty::Str), f("certFile", Ty::Str), f("keyFile", Ty::Str)];
    if v == V1beta4 && kv.has_etcd_http_endpoints() {
        external.push(f("httpEndpoints", list(Ty::Str)));
    }
    let local = Ty::Obj(vec![
        f("imageRepository", Ty::Str),
        f("imageTag", Ty::Str),
        f("dataDir", Ty::Str),
        f("extraArgs", extra_args(v)),
        only("extraEnvs", list(env_var()), V1beta4),
        f("serverCertSANs", list(Ty::Str)),
        f("peerCertSANs", list(Ty::Str)),
    ]);
    let mut fields = type_meta();
    fields.extend([
        f("etcd", Ty::Obj(vec![f("local", local), f("external", Ty::Obj(external))])),
        f("networking", Ty::Obj(vec![f("serviceSubnet", Ty::Str), f("podSubnet", Ty::Str), f("dnsDomain", Ty::Str)])),
        f("kubernetesVersion", Ty::Str),
        f("controlPlaneEndpoint", Ty::Str),
        f("apiServer", Ty::Obj(api_server)),
        f("controllerManager", Ty::Obj(component(v))),
        f("scheduler", Ty::Obj(component(v))),
        f(
            "dns",
            Ty::Obj(vec![f("imageRepository", Ty::Str), f("imageTag", Ty::Str), only("disabled", Ty::Bool, V1beta4)]),
        ),
        only("proxy", Ty::Obj(vec![f("disabled", Ty::Bool)]), V1beta4),
        f("certificatesDir", Ty::Str),
        f("imageRepository", Ty::Str),
        f("featureGates", Ty::BoolMap),
        f("clusterName", Ty::Str),
        only("encryptionAlgorithm", Ty::Str, V1beta4),
        only("certificateValidityPeriod", Ty::Duration, V1beta4),
        only("caCertificateValidityPeriod", Ty::Duration, V1beta4),
    ]);
    Ty::Obj(fields)
}

fn init_configuration(v: ApiVersion) -> Ty {
    use ApiVersion::*;
    let token = Ty::Obj(vec![
        f("token", Ty::Str),
        f("description", Ty::Str),
        f("ttl", Ty::Duration),
        f("expires", Ty::Time),
        f("usages", list(Ty::Str)),
        f("groups", list(Ty::Str)),
    ]);
    let mut fields = type_meta();
    fields.extend([
        f("bootstrapTokens", list(token)),
        only("dryRun", Ty::Bool, V1beta4),
        f("nodeRegistration", node_registration(v)),
        f("localAPIEndpoint", api_endpoint()),
        f("certificateKey", Ty::Str),
        f("skipPhases", list(Ty::Str)),
        f("patches", patches()),
        only("timeouts", timeouts(), V1beta4),
    ]);
    Ty::Obj(fields)
}

fn join_configuration(v: ApiVersion) -> Ty {
    use ApiVersion::*;
    let mut fields = type_meta();
    fields.extend([
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
                        f("caCertHashes", list(Ty::Str)),
                        f("unsafeSkipCAVerification", Ty::Bool),
                    ]),
                ),
                f("file", Ty::Obj(vec![f("kubeConfigPath", Ty::Str)])),
                f("tlsBootstrapToken", Ty::Str),
                only("timeout", Ty::Duration, V1beta3),
            ]),
        ),
        f("nodeRegistration", node_registration(v)),
        f("controlPlane", Ty::Obj(vec![f("localAPIEndpoint", api_endpoint()), f("certificateKey", Ty::Str)])),
        f("skipPhases", list(Ty::Str)),
        f("patches", patches()),
        only("timeouts", timeouts(), V1beta4),
    ]);
    Ty::Obj(fields)
}

fn reset_configuration() -> Ty {
    let mut fields = type_meta();
    fields.extend([
        f("certificatesDir", Ty::Str),
        f("cleanupTmpDir", Ty::Bool),
        f("criSocket", Ty::Str),
        f("dryRun", Ty::Bool),
        f("force", Ty::Bool),
        f("ignorePreflightErrors", list(Ty::Str)),
        f("skipPhases", list(Ty::Str)),
        f("unmountFlags", list(Ty::Str)),
        f("timeouts", timeouts()),
    ]);
    Ty::Obj(fields)
}

fn upgrade_configuration() -> Ty {
    let b = |n| f(n, Ty::Bool);
    let ipe = || f("ignorePreflightErrors", list(Ty::Str));
    let mut fields = type_meta();
    fields.extend([
        f(
            "apply",
            Ty::Obj(vec![
                b("allowExperimentalUpgrades"),
                b("allowRCUpgrades"),
                b("certificateRenewal"),
                b("dryRun"),
                b("etcdUpgrade"),
                b("forceUpgrade"),
                ipe(),
                f("imagePullPolicy", Ty::Str),
                b("imagePullSerial"),
                f("kubernetesVersion", Ty::Str),
                f("patches", patches()),
                b("printConfig"),
                f("skipPhases", list(Ty::Str)),
            ]),
        ),
        f("diff", Ty::Obj(vec![f("contextLines", Ty::Int(i64::MIN, i64::MAX)), f("kubernetesVersion", Ty::Str)])),
        f(
            "node",
            Ty::Obj(vec![
                b("certificateRenewal"),
                b("dryRun"),
                b("etcdUpgrade"),
                ipe(),
                f("imagePullPolicy", Ty::Str),
                b("imagePullSerial"),
                f("patches", patches()),
                f("skipPhases", list(Ty::Str)),
            ]),
        ),
        f(
            "plan",
            Ty::Obj(vec![
                b("allowExperimentalUpgrades"),
                b("allowRCUpgrades"),
                b("dryRun"),
                b("etcdUpgrade"),
                ipe(),
                f("kubernetesVersion", Ty::Str),
                b("printConfig"),
            ]),
        ),
        f("timeouts", timeouts()),
    ]);
    Ty::Obj(fields)
}

/// Top-level fields of `kubelet.config.k8s.io/v1beta1` `KubeletConfiguration` in every release
/// joinkit knows (kubeadm v1.36 adds [`KUBELET_FIELDS_1_36`]); typed where
/// [`component_field_type`] says, otherwise [`Ty::Any`].
const KUBELET_FIELDS: &[&str] = &[
    "address",
    "allowedUnsafeSysctls",
    "authentication",
    "authorization",
    "cgroupDriver",
    "cgroupRoot",
    "cgroupsPerQOS",
    "clusterDNS",
    "clusterDomain",
    "configMapAndSecretChangeDetectionStrategy",
    "containerLogMaxFiles",
    "containerLogMaxSize",
    "containerLogMaxWorkers",
    "containerLogMonitorInterval",
    "containerRuntimeEndpoint",
    "contentType",
    "cpuCFSQuota",
    "cpuCFSQuotaPeriod",
    "cpuManagerPolicy",
    "cpuManagerPolicyOptions",
    "cpuManagerReconcilePeriod",
    "crashLoopBackOff",
    "enableContentionProfiling",
    "enableControllerAttachDetach",
    "enableDebugFlagsHandler",
    "enableDebuggingHandlers",
    "enableProfilingHandler",
    "enableServer",
    "enableSystemLogHandler",
    "enableSystemLogQuery",
    "enforceNodeAllocatable",
    "eventBurst",
    "eventRecordQPS",
    "evictionHard",
    "evictionMaxPodGracePeriod",
    "evictionMinimumReclaim",
    "evictionPressureTransitionPeriod",
    "evictionSoft",
    "evictionSoftGracePeriod",
    "failCgroupV1",
    "failSwapOn",
    "featureGates",
    "fileCheckFrequency",
    "hairpinMode",
    "healthzBindAddress",
    "healthzPort",
    "httpCheckFrequency",
    "imageGCHighThresholdPercent",
    "imageGCLowThresholdPercent",
    "imageMaximumGCAge",
    "imageMinimumGCAge",
    "imagePullCredentialsVerificationPolicy",
    "imageServiceEndpoint",
    "iptablesDropBit",
    "iptablesMasqueradeBit",
    "kernelMemcgNotification",
    "kubeAPIBurst",
    "kubeAPIQPS",
    "kubeReserved",
    "kubeReservedCgroup",
    "kubeletCgroups",
    "localStorageCapacityIsolation",
    "logging",
    "makeIPTablesUtilChains",
    "maxOpenFiles",
    "maxParallelImagePulls",
    "maxPods",
    "memoryManagerPolicy",
    "memorySwap",
    "memoryThrottlingFactor",
    "mergeDefaultEvictionSettings",
    "nodeLeaseDurationSeconds",
    "nodeStatusMaxImages",
    "nodeStatusReportFrequency",
    "nodeStatusUpdateFrequency",
    "oomScoreAdj",
    "podCIDR",
    "podLogsDir",
    "podPidsLimit",
    "podsPerCore",
    "port",
    "preloadedImagesVerificationAllowlist",
    "protectKernelDefaults",
    "providerID",
    "qosReserved",
    "readOnlyPort",
    "registerNode",
    "registerWithTaints",
    "registryBurst",
    "registryPullQPS",
    "reservedMemory",
    "reservedSystemCPUs",
    "resolvConf",
    "rotateCertificates",
    "runOnce",
    "runtimeRequestTimeout",
    "seccompDefault",
    "serializeImagePulls",
    "serverTLSBootstrap",
    "showHiddenMetricsForVersion",
    "shutdownGracePeriod",
    "shutdownGracePeriodByPodPriority",
    "shutdownGracePeriodCriticalPods",
    "singleProcessOOMKill",
    "staticPodPath",
    "staticPodURL",
    "staticPodURLHeader",
    "streamingConnectionIdleTimeout",
    "syncFrequency",
    "systemCgroups",
    "systemReserved",
    "systemReservedCgroup",
    "tlsCertFile",
    "tlsCipherSuites",
    "tlsMinVersion",
    "tlsPrivateKeyFile",
    "topologyManagerPolicy",
    "topologyManagerPolicyOptions",
    "topologyManagerScope",
    "tracing",
    "userNamespaces",
    "volumePluginDir",
    "volumeStatsAggPeriod",
];

/// `KubeletConfiguration` fields new in kubeadm v1.36's kubelet scheme.
const KUBELET_FIELDS_1_36: &[&str] = &["memoryReservationPolicy", "tlsCurvePreferences"];

/// Top-level fields of `kubeproxy.config.k8s.io/v1alpha1` `KubeProxyConfiguration`.
const KUBE_PROXY_FIELDS: &[&str] = &[
    "bindAddress",
    "bindAddressHardFail",
    "clientConnection",
    "clusterCIDR",
    "configSyncPeriod",
    "conntrack",
    "detectLocal",
    "detectLocalMode",
    "enableProfiling",
    "featureGates",
    "healthzBindAddress",
    "hostnameOverride",
    "iptables",
    "ipvs",
    "logging",
    "metricsBindAddress",
    "mode",
    "nftables",
    "nodePortAddresses",
    "oomScoreAdj",
    "portRange",
    "showHiddenMetricsForVersion",
    "windowsRunAsService",
    "winkernel",
];

/// The types joinkit checks among the component configurations' top-level fields (the
/// others are [`Ty::Any`]).
fn component_field_type(name: &str) -> Ty {
    match name {
        "cgroupDriver"
        | "clusterDomain"
        | "containerRuntimeEndpoint"
        | "address"
        | "staticPodPath"
        | "resolvConf"
        | "healthzBindAddress"
        | "mode"
        | "clusterCIDR"
        | "bindAddress"
        | "metricsBindAddress"
        | "portRange"
        | "hostnameOverride"
        | "detectLocalMode"
        | "providerID"
        | "podCIDR" => Ty::Str,
        "failSwapOn"
        | "serverTLSBootstrap"
        | "rotateCertificates"
        | "failCgroupV1"
        | "cgroupsPerQOS"
        | "enableProfiling"
        | "bindAddressHardFail"
        | "registerNode" => Ty::Bool,
        "maxPods" | "port" | "healthzPort" | "oomScoreAdj" => INT32,
        "clusterDNS" | "enforceNodeAllocatable" | "nodePortAddresses" => list(Ty::Str),
        "featureGates" => Ty::BoolMap,
        _ => Ty::Any,
    }
}

/// The schema of a document kubeadm decodes, by kind; None for kinds without one.
pub(crate) fn schema(kind: &str, v: ApiVersion, kv: KubeadmVersion) -> Option<Ty> {
    let component = |names: &[&'static str]| {
        let mut fields = type_meta();
        fields.extend(names.iter().map(|n| f(n, component_field_type(n))));
        Ty::Obj(fields)
    };
    Some(match kind {
        "JoinConfiguration" => join_configuration(v),
        "InitConfiguration" => init_configuration(v),
        "ClusterConfiguration" => cluster_configuration(v, kv),
        "ResetConfiguration" => reset_configuration(),
        "UpgradeConfiguration" => upgrade_configuration(),
        "KubeletConfiguration" => {
            let mut names = KUBELET_FIELDS.to_vec();
            if kv >= KubeadmVersion::V1_36 {
                names.extend_from_slice(KUBELET_FIELDS_1_36);
            }
            component(&names)
        }
        "KubeProxyConfiguration" => component(KUBE_PROXY_FIELDS),
        _ => return None,
    })
}

/// v1beta4 `timeouts` fields.
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

/// How strictly a document's values are typed: kubeadm's full decoding (a number is not a
/// string), or the strict field check alone, which converts numbers and booleans given for a
/// string field (sigs.k8s.io/yaml's `UnmarshalStrict` into a typed target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoding {
    /// `runtime.Decode` into the type: every type mismatch is an error.
    Full,
    /// Only `strict.VerifyUnmarshalStrict`: scalars convert to strings.
    FieldsOnly,
}

/// Collects problems and positions while walking one document.
pub(crate) struct Checker<'a> {
    file: &'a str,
    version: ApiVersion,
    decoding: Decoding,
    /// Problems found.
    pub(super) problems: Vec<Problem>,
    positions: HashMap<String, Pos>,
    doc_pos: Pos,
}

impl<'a> Checker<'a> {
    /// Walks `root` against `ty` as kubeadm's strict decoding does: the structural problems,
    /// and the checker the semantic rules continue with.
    pub(super) fn check_shape(file: &'a str, root: &Node, version: ApiVersion, ty: &Ty, decoding: Decoding) -> Self {
        let mut c = Checker::new(file, version, root.pos, decoding);
        c.walk(root, ty, "");
        c
    }

    /// A checker for semantic rules alone (no walk).
    pub(super) fn new(file: &'a str, version: ApiVersion, doc_pos: Pos, decoding: Decoding) -> Self {
        Checker { file, version, decoding, problems: Vec::new(), positions: HashMap::new(), doc_pos }
    }

    /// Where `path` (or its closest recorded ancestor) is.
    pub(super) fn pos_of(&self, path: &str) -> Pos {
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

    /// Records a problem.
    pub(super) fn push(
        &mut self,
        origin: Origin,
        path: &str,
        pos: Pos,
        message: impl Into<String>,
        kubeadm_words: bool,
        fix: impl Into<String>,
    ) {
        let severity = if origin == Origin::Kubeadm { Severity::Error } else { Severity::Warning };
        self.problems.push(Problem {
            severity,
            origin,
            machine_dependent: false,
            file: self.file.to_string(),
            line: pos.line,
            column: pos.col,
            path: truncate_for_display(path, MAX_PATH_CHARS),
            message: truncate_for_display(&message.into(), MAX_MESSAGE_CHARS),
            kubeadm_rule: kubeadm_words,
            fix: truncate_for_display(&fix.into(), MAX_MESSAGE_CHARS),
            code: Code::ConfigInvalid,
        });
    }

    /// An error `kubeadm config validate` reports, in kubeadm's words.
    pub(super) fn kubeadm(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let pos = self.pos_of(path);
        self.push(Origin::Kubeadm, path, pos, message, true, fix);
    }

    /// A finding beyond `kubeadm config validate` (the message says which later step fails).
    pub(super) fn beyond(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let pos = self.pos_of(path);
        self.push(Origin::BeyondKubeadm, path, pos, message, false, fix);
    }

    /// Advice: always a warning.
    pub(super) fn advice(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let pos = self.pos_of(path);
        self.push(Origin::Advice, path, pos, message, false, fix);
    }

    /// A finding whose verdict depends on this machine.
    pub(super) fn machine(&mut self, origin: Origin, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        let pos = self.pos_of(path);
        self.push(origin, path, pos, message, false, fix);
        if let Some(p) = self.problems.last_mut() {
            p.machine_dependent = true;
        }
    }

    fn error_at(&mut self, path: &str, pos: Pos, message: impl Into<String>, fix: impl Into<String>) {
        self.push(Origin::Kubeadm, path, pos, message, false, fix);
    }

    /// go-yaml's strict mode refuses a key given twice in one mapping, at any depth: an error
    /// at each repetition. Returns, for each entry, whether it is the last of its key (the one
    /// Go's JSON decoding keeps, and that kubeadm goes on to check).
    fn duplicate_keys(&mut self, entries: &[(Key, Node)], path: &str) -> Vec<bool> {
        let mut first: HashMap<&str, Pos> = HashMap::new();
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, (k, _)) in entries.iter().enumerate() {
            last.insert(k.name.as_str(), i);
            if let Some(p) = first.get(k.name.as_str()) {
                let child = if path.is_empty() { k.name.clone() } else { format!("{path}.{}", k.name) };
                let line = p.line;
                self.error_at(
                    &child,
                    k.pos,
                    format!(
                        "key {:?} already set in map (first at line {line}): kubeadm config validate rejects it (strict decoding); kubeadm join and init only warn and keep the last",
                        shown(&k.name)
                    ),
                    "remove one of the two entries",
                );
            } else {
                first.insert(k.name.as_str(), k.pos);
            }
        }
        entries.iter().enumerate().map(|(i, (k, _))| last.get(k.name.as_str()) == Some(&i)).collect()
    }

    fn walk_any(&mut self, node: &Node, path: &str) {
        match &node.value {
            Value::Map(entries) => {
                self.duplicate_keys(entries, path);
                for (k, v) in entries {
                    self.walk_any(v, &format!("{path}.{}", k.name));
                }
            }
            Value::Seq(items) => {
                for (i, it) in items.iter().enumerate() {
                    self.walk_any(it, &format!("{path}[{i}]"));
                }
            }
            Value::Scalar(_) => {}
        }
    }

    fn walk(&mut self, node: &Node, ty: &Ty, path: &str) {
        self.positions.entry(path.to_string()).or_insert(node.pos);
        if node.is_null() {
            return;
        }
        match ty {
            Ty::Any => self.walk_any(node, path),
            Ty::Obj(fields) => {
                let Value::Map(entries) = &node.value else {
                    return self.type_error(node, path, "a mapping");
                };
                let last = self.duplicate_keys(entries, path);
                for ((k, v), is_last) in entries.iter().zip(last) {
                    let child = if path.is_empty() { k.name.clone() } else { format!("{path}.{}", k.name) };
                    self.positions.entry(child.clone()).or_insert(k.pos);
                    if !is_last {
                        self.walk_any(v, &child);
                        continue;
                    }
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
                            let known: Vec<&str> = fields
                                .iter()
                                .filter(|f| f.only.is_none_or(|v| v == self.version))
                                .map(|f| f.name)
                                .collect();
                            let best = known.iter().map(|n| (yaml::edit_distance(&k.name, n), *n)).min();
                            let hint = match best {
                                Some((d, name)) if d <= 3 || name.to_lowercase() == k.name.to_lowercase() => {
                                    format!("did you mean {name:?}?")
                                }
                                _ => format!("known fields here: {}", known.join(", ")),
                            };
                            self.unknown(k, &child, format!("unknown field {:?}", shown(&k.name)), hint);
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
            Ty::StrMap | Ty::BoolMap => {
                let Value::Map(entries) = &node.value else {
                    return self.type_error(
                        node,
                        path,
                        if matches!(ty, Ty::StrMap) { "a map of strings" } else { "a map of booleans" },
                    );
                };
                let last = self.duplicate_keys(entries, path);
                let value_ty = if matches!(ty, Ty::StrMap) { Ty::Str } else { Ty::Bool };
                for ((k, v), is_last) in entries.iter().zip(last) {
                    let child = format!("{path}.{}", k.name);
                    self.positions.entry(child.clone()).or_insert(k.pos);
                    if is_last {
                        self.walk(v, &value_ty, &child);
                    }
                }
            }
            Ty::Str => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Str => {}
                Some(_) if self.decoding == Decoding::FieldsOnly => {}
                Some(s) => {
                    let what = match s.kind() {
                        ScalarKind::Bool => "a boolean",
                        _ => "a number",
                    };
                    self.error_at(
                        path,
                        node.pos,
                        format!("expected a string, found {what} ({}); kubeadm cannot decode it (json: cannot unmarshal {} into a string field)", shown(&s.value), if what == "a boolean" { "bool" } else { "number" }),
                        format!("quote it: \"{}\"", shown(&s.value)),
                    );
                }
                None => self.type_error(node, path, "a string"),
            },
            Ty::Bool => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Bool => {
                    if s.yaml11_bool().is_some() {
                        self.push(
                            Origin::Advice,
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
            Ty::Int(lo, hi) => match node.scalar().map(|s| (s, node.to_json())) {
                Some((_, serde_json::Value::Number(n))) => {
                    let v = n.as_f64().unwrap_or(f64::NAN);
                    if v.fract() != 0.0 || v < *lo as f64 || v > *hi as f64 {
                        self.error_at(
                            path,
                            node.pos,
                            format!("json: cannot unmarshal number {n} into an integer field (from {lo} to {hi})"),
                            "write a whole number in range",
                        );
                    }
                }
                _ => self.type_error(node, path, "an integer"),
            },
            Ty::Duration => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Str => {
                    if let Err(e) = crate::duration::parse_go(&s.value) {
                        self.error_at(
                            path,
                            node.pos,
                            format!("{e}; kubeadm cannot decode it"),
                            "use Go duration syntax, e.g. 5m0s, 90s, 1h",
                        );
                    }
                }
                _ => self.error_at(
                    path,
                    node.pos,
                    format!(
                        "expected a duration string such as \"5m0s\", found {}; kubeadm cannot decode it",
                        node.str().map(|v| format!("{:?}", shown(v))).unwrap_or_else(|| "a collection".into())
                    ),
                    "use Go duration syntax with a unit, in quotes if needed, e.g. 5m0s",
                ),
            },
            Ty::Time => match node.scalar() {
                Some(s) if s.kind() == ScalarKind::Str => {
                    if let Some(e) = super::golang::rfc3339_error(&s.value) {
                        self.error_at(
                            path,
                            node.pos,
                            format!("{e}; kubeadm cannot decode it"),
                            "write an RFC 3339 time, e.g. 2026-01-02T15:04:05Z",
                        );
                    }
                }
                _ => self.type_error(node, path, "an RFC 3339 time string"),
            },
        }
    }

    fn unknown(&mut self, k: &Key, path: &str, message: String, fix: String) {
        self.error_at(
            path,
            k.pos,
            format!("{message}: kubeadm config validate rejects it (strict decoding); kubeadm join and init only warn and ignore it"),
            fix,
        );
    }

    fn type_error(&mut self, node: &Node, path: &str, want: &str) {
        let found = match &node.value {
            Value::Map(_) => "a mapping".to_string(),
            Value::Seq(_) => "a list".to_string(),
            Value::Scalar(s) => format!("{:?}", shown(&s.value)),
        };
        let fix = if path.ends_with("extraArgs") || path.ends_with("kubeletExtraArgs") {
            match self.version {
                ApiVersion::V1beta4 => "in v1beta4 extra arguments are a list of {name, value}; `joinkit migrate-config` converts a v1beta3 JoinConfiguration".to_string(),
                ApiVersion::V1beta3 => "in v1beta3 extra arguments are a map of flag name to value".to_string(),
            }
        } else {
            format!("write {want}")
        };
        self.error_at(path, node.pos, format!("expected {want}, found {found}; kubeadm cannot decode it"), fix);
    }
}

fn s(n: Option<&Node>) -> Option<String> {
    n.and_then(|n| n.scalar()).filter(|s| s.kind() != ScalarKind::Null).map(|s| s.value.clone())
}

/// An integer field as Go's decoder reads it (a whole float such as `6443.0` included).
pub(crate) fn integer(n: Option<&Node>) -> Option<i64> {
    match n?.to_json() {
        serde_json::Value::Number(v) => {
            v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18).map(|f| f as i64))
        }
        _ => None,
    }
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
        cri_socket: s(nr.and_then(|n| n.get("criSocket"))),
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
        control_plane: cp.is_some_and(|c| !c.is_null()),
        advertise_address: s(ep.and_then(|e| e.get("advertiseAddress"))),
        bind_port: integer(ep.and_then(|e| e.get("bindPort"))),
        certificate_key: s(cp.and_then(|c| c.get("certificateKey"))).map(Secret::from),
        skip_phases: strs(root.get("skipPhases")),
        patches_directory: s(root.get("patches").and_then(|p| p.get("directory"))),
        dry_run: root.get("dryRun").and_then(|n| n.scalar()).and_then(|s| s.as_bool()),
    }
}
