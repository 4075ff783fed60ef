//! The JoinConfiguration model shared by render, validate and migrate, and its rendering to
//! kubeadm's YAML for `kubeadm.k8s.io/v1beta4` or `v1beta3` (spec section 5).
//!
//! Rendering follows kubeadm's printer (`sigs.k8s.io/yaml`: JSON field names, keys sorted at
//! every level) and omits what is unset rather than writing empty values. Key spelling is
//! kubeadm's, e.g. `unsafeSkipCAVerification`, `caCertHashes`, `apiServerEndpoint`.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

/// A JoinConfiguration API version joinkit reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `kubeadm.k8s.io/v1beta4` (current since kubeadm 1.31).
    #[default]
    V1beta4,
    /// `kubeadm.k8s.io/v1beta3` (deprecated in 1.31).
    V1beta3,
}

impl ApiVersion {
    /// Every version as (value, flag name, help).
    pub const ALL: &'static [(ApiVersion, &'static str, &'static str)] = &[
        (ApiVersion::V1beta4, "v1beta4", "kubeadm.k8s.io/v1beta4 (current since kubeadm 1.31)"),
        (ApiVersion::V1beta3, "v1beta3", "kubeadm.k8s.io/v1beta3 (deprecated in 1.31)"),
    ];

    /// `kubeadm.k8s.io/v1beta4` etc.
    pub fn api_version(self) -> &'static str {
        match self {
            ApiVersion::V1beta4 => "kubeadm.k8s.io/v1beta4",
            ApiVersion::V1beta3 => "kubeadm.k8s.io/v1beta3",
        }
    }
}

/// A node taint (`key[=value]:Effect`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value (may be empty).
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
    /// RFC 3339 time, rarely set.
    pub time_added: Option<String>,
}

impl Taint {
    /// Parses kubectl's taint syntax `key[=value]:Effect`.
    pub fn parse(s: &str) -> Result<Taint, String> {
        let (kv, effect) =
            s.rsplit_once(':').ok_or_else(|| format!("invalid taint {s:?}: expected key[=value]:Effect"))?;
        let (key, value) = match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (kv.to_string(), None),
        };
        if key.is_empty() {
            return Err(format!("invalid taint {s:?}: empty key"));
        }
        Ok(Taint { key, value, effect: effect.to_string(), time_added: None })
    }
}

/// A secret value of a JoinConfiguration (a bootstrap token, a certificate key): held as a
/// [`SecretString`] (zeroized on drop), shown as `<redacted>` by `Debug`, not `Serialize`.
/// Rendering writes it through [`Secret::expose`] only, because render-config's output is the
/// document the user asked for.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// The value, for the code that must use it (validate a token, render the document).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(SecretString::from(s))
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(SecretString::from(s))
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.expose() == other.expose()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything a JoinConfiguration can say. `None`/empty means unset (omitted when rendered).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinConfig {
    /// `caCertPath`.
    pub ca_cert_path: Option<String>,
    /// `discovery.bootstrapToken.token`. (secret)
    pub token: Option<Secret>,
    /// `discovery.bootstrapToken.apiServerEndpoint`.
    pub api_server_endpoint: Option<String>,
    /// `discovery.bootstrapToken.caCertHashes`.
    pub ca_cert_hashes: Vec<String>,
    /// `discovery.bootstrapToken.unsafeSkipCAVerification`.
    pub unsafe_skip_ca_verification: Option<bool>,
    /// True when the `bootstrapToken` section is present at all.
    pub has_bootstrap_token: bool,
    /// `discovery.file.kubeConfigPath`.
    pub discovery_file: Option<String>,
    /// True when the `file` section is present at all.
    pub has_file: bool,
    /// `discovery.tlsBootstrapToken`. (secret)
    pub tls_bootstrap_token: Option<Secret>,
    /// Discovery timeout (v1beta3 `discovery.timeout`, v1beta4 `timeouts.discovery`), Go syntax.
    pub discovery_timeout: Option<String>,
    /// Other v1beta4 `timeouts` (name, value), in order.
    pub timeouts: Vec<(String, String)>,
    /// `nodeRegistration.name`.
    pub node_name: Option<String>,
    /// `nodeRegistration.criSocket`.
    pub cri_socket: Option<String>,
    /// `nodeRegistration.taints` (`Some(vec![])` renders `taints: []`, meaning "no taints").
    pub taints: Option<Vec<Taint>>,
    /// `nodeRegistration.kubeletExtraArgs` in order (duplicates allowed in v1beta4).
    pub kubelet_extra_args: Vec<(String, String)>,
    /// `nodeRegistration.ignorePreflightErrors`.
    pub ignore_preflight_errors: Vec<String>,
    /// `nodeRegistration.imagePullPolicy`.
    pub image_pull_policy: Option<String>,
    /// `nodeRegistration.imagePullSerial` (v1beta4).
    pub image_pull_serial: Option<bool>,
    /// True for a control-plane join (`controlPlane` present).
    pub control_plane: bool,
    /// `controlPlane.localAPIEndpoint.advertiseAddress`.
    pub advertise_address: Option<String>,
    /// `controlPlane.localAPIEndpoint.bindPort`.
    pub bind_port: Option<i64>,
    /// `controlPlane.certificateKey`. (secret)
    pub certificate_key: Option<Secret>,
    /// `skipPhases`.
    pub skip_phases: Vec<String>,
    /// `patches.directory`.
    pub patches_directory: Option<String>,
    /// `dryRun` (v1beta4).
    pub dry_run: Option<bool>,
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v);
    }
}

fn nonempty(m: Map<String, Value>) -> Option<Value> {
    (!m.is_empty()).then_some(Value::Object(m))
}

fn list(v: &[String]) -> Option<Value> {
    (!v.is_empty()).then(|| json!(v))
}

/// Sorts object keys at every level (kubeadm's printer goes through JSON with sorted keys).
pub(crate) fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

impl JoinConfig {
    /// The document as JSON for `version` (keys sorted, unset fields omitted).
    pub(crate) fn to_value(&self, version: ApiVersion) -> Value {
        let v4 = version == ApiVersion::V1beta4;
        let mut root = Map::new();
        root.insert("apiVersion".into(), json!(version.api_version()));
        root.insert("kind".into(), json!("JoinConfiguration"));
        put(&mut root, "caCertPath", self.ca_cert_path.clone().map(Value::from));

        let mut disc = Map::new();
        if self.has_bootstrap_token
            || self.token.is_some()
            || self.api_server_endpoint.is_some()
            || !self.ca_cert_hashes.is_empty()
        {
            let mut bt = Map::new();
            put(&mut bt, "apiServerEndpoint", self.api_server_endpoint.clone().map(Value::from));
            put(&mut bt, "caCertHashes", list(&self.ca_cert_hashes));
            put(&mut bt, "token", self.token.as_ref().map(|t| Value::from(t.expose())));
            put(&mut bt, "unsafeSkipCAVerification", self.unsafe_skip_ca_verification.map(Value::from));
            disc.insert("bootstrapToken".into(), Value::Object(bt));
        }
        if self.has_file || self.discovery_file.is_some() {
            let mut f = Map::new();
            put(&mut f, "kubeConfigPath", self.discovery_file.clone().map(Value::from));
            disc.insert("file".into(), Value::Object(f));
        }
        put(&mut disc, "tlsBootstrapToken", self.tls_bootstrap_token.as_ref().map(|t| Value::from(t.expose())));
        if !v4 {
            put(&mut disc, "timeout", self.discovery_timeout.clone().map(Value::from));
        }
        root.insert("discovery".into(), Value::Object(disc));

        let mut nr = Map::new();
        put(&mut nr, "name", self.node_name.clone().map(Value::from));
        put(&mut nr, "criSocket", self.cri_socket.clone().map(Value::from));
        put(&mut nr, "imagePullPolicy", self.image_pull_policy.clone().map(Value::from));
        if v4 {
            put(&mut nr, "imagePullSerial", self.image_pull_serial.map(Value::from));
        }
        put(&mut nr, "ignorePreflightErrors", list(&self.ignore_preflight_errors));
        if let Some(taints) = &self.taints {
            let t: Vec<Value> = taints
                .iter()
                .map(|t| {
                    let mut m = Map::new();
                    m.insert("effect".into(), json!(t.effect));
                    m.insert("key".into(), json!(t.key));
                    put(&mut m, "timeAdded", t.time_added.clone().map(Value::from));
                    put(&mut m, "value", t.value.clone().map(Value::from));
                    Value::Object(m)
                })
                .collect();
            nr.insert("taints".into(), Value::Array(t));
        }
        if !self.kubelet_extra_args.is_empty() {
            let args = if v4 {
                Value::Array(self.kubelet_extra_args.iter().map(|(n, v)| json!({"name": n, "value": v})).collect())
            } else {
                // v1beta3 is a map: a repeated name keeps its last value, as Go's map would.
                Value::Object(self.kubelet_extra_args.iter().map(|(n, v)| (n.clone(), json!(v))).collect())
            };
            nr.insert("kubeletExtraArgs".into(), args);
        }
        put(&mut root, "nodeRegistration", nonempty(nr));

        if self.control_plane {
            let mut cp = Map::new();
            let mut ep = Map::new();
            put(&mut ep, "advertiseAddress", self.advertise_address.clone().map(Value::from));
            put(&mut ep, "bindPort", self.bind_port.map(Value::from));
            put(&mut cp, "localAPIEndpoint", nonempty(ep));
            put(&mut cp, "certificateKey", self.certificate_key.as_ref().map(|t| Value::from(t.expose())));
            root.insert("controlPlane".into(), Value::Object(cp));
        }
        put(&mut root, "skipPhases", list(&self.skip_phases));
        if let Some(d) = &self.patches_directory {
            root.insert("patches".into(), json!({"directory": d}));
        }
        if v4 {
            put(&mut root, "dryRun", self.dry_run.map(Value::from));
            let mut t = Map::new();
            for (k, v) in &self.timeouts {
                t.insert(k.clone(), json!(v));
            }
            put(&mut t, "discovery", self.discovery_timeout.clone().map(Value::from));
            put(&mut root, "timeouts", nonempty(t));
        }
        sorted(Value::Object(root))
    }

    /// The document as YAML for `version`.
    pub fn to_yaml(&self, version: ApiVersion) -> String {
        serde_saphyr::to_string(&self.to_value(version)).unwrap_or_default()
    }
}

/// A cloud-init user-data document (`#cloud-config`) that writes `config_yaml` to
/// `/etc/kubernetes/joinkit/join.yaml` and, when given, the discovery kubeconfig to
/// [`CLOUD_INIT_DISCOVERY_PATH`] (both mode 0600, root; cloud-init's `write_files`), and runs
/// `kubeadm join --config` on it.
pub fn cloud_init(config_yaml: &str, discovery_file: Option<&str>) -> String {
    let file = |path: &str, content: &str| json!({"path": path, "owner": "root:root", "permissions": "0600", "content": content});
    let mut files = Vec::new();
    if let Some(d) = discovery_file {
        files.push(file(CLOUD_INIT_DISCOVERY_PATH, d));
    }
    files.push(file(CLOUD_INIT_CONFIG_PATH, config_yaml));
    let doc = json!({
        "write_files": files,
        "runcmd": [["kubeadm", "join", "--config", CLOUD_INIT_CONFIG_PATH]],
    });
    format!("#cloud-config\n{}", serde_saphyr::to_string(&doc).unwrap_or_default())
}

/// Where the cloud-init document puts the JoinConfiguration.
pub(crate) const CLOUD_INIT_CONFIG_PATH: &str = "/etc/kubernetes/joinkit/join.yaml";
/// Where the cloud-init document puts a discovery kubeconfig read from this machine.
pub const CLOUD_INIT_DISCOVERY_PATH: &str = "/etc/kubernetes/joinkit/discovery.conf";
