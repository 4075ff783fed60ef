//! `joinkit lab`: a loopback-only simulated kube-apiserver and controller-manager.
//!
//! It makes its own CA and serving certificate, keeps Kubernetes objects in a [`store::Store`],
//! authorizes with a small RBAC model holding kubeadm's bindings ([`rbac`]), and runs the two
//! controllers the join path depends on: the bootstrapsigner (one `jws-kubeconfig-<id>` in
//! cluster-info per valid signing token, kept current) and the tokencleaner (deletes expired
//! token Secrets). Answers match the v1.24 transcripts in `shared/vectors/apiserver-v1.24/`:
//! same status codes, Status bodies, messages and headers; compact JSON with a trailing newline,
//! pretty JSON for a `curl` user agent.
//!
//! A [`Scenario`] injects one fault. Later issues add resources by adding routes in
//! [`server`] and objects in the store.

// A lab handler answers with a ready hyper Response as its error (as the API server would).
#![allow(clippy::result_large_err)]

pub mod csr;
pub mod pki;
pub mod rbac;
pub mod server;
pub mod store;

use joinkit_core::jws;
use joinkit_core::pin::Pin;
pub use joinkit_core::token::secret::{token_secret, TokenSecret};
use joinkit_core::token::BootstrapToken;
use pki::{Ca, CaValidity, KeyKind};
use rbac::UserInfo;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;

/// One injected fault. [`Scenario::ALL`] is the one list: names, help and the order of
/// `joinkit lab scenarios`; the real-control-plane suite's table refers to these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// Everything works.
    #[default]
    Healthy,
    /// The printed token expired (the tokencleaner removes it; it is never signed).
    TokenExpired,
    /// The printed token was signed, then its Secret was deleted.
    TokenDeleted,
    /// The printed token lacks the "signing" usage, so it is never signed.
    TokenNoSigning,
    /// The bootstrapsigner is not running: no token gets signed.
    SignerStopped,
    /// The RoleBinding letting system:anonymous read cluster-info is gone (403).
    AnonymousRevoked,
    /// kube-apiserver runs with --anonymous-auth=false (401 for unauthenticated requests).
    AnonymousAuthOff,
    /// There is no cluster-info ConfigMap (404).
    ClusterInfoMissing,
    /// cluster-info has no kubeconfig key.
    KubeconfigMissing,
    /// The printed token's signature in cluster-info was made with another secret.
    TamperedSignature,
    /// The printed token's signature in cluster-info is empty.
    JwsEmpty,
    /// The CA's validity starts tomorrow.
    CaNotYetValid,
    /// The CA expired yesterday.
    CaExpired,
    /// The serving certificate is issued by another CA (a man in the middle).
    Mitm,
    /// The serving certificate does not name 127.0.0.1 / localhost.
    WrongSan,
    /// The server's clock is 10 minutes ahead of this machine's.
    ClockSkew,
    /// The kubeadm:node-autoapprove-bootstrap binding is missing: CSRs stay Pending.
    NoAutoapproveBinding,
    /// The kubeadm:kubelet-bootstrap binding is missing: tokens cannot create CSRs.
    NoBootstrapperBinding,
    /// The CSR approver (controller-manager) is not running: CSRs stay Pending.
    ApproverDown,
    /// The CSR signer is not running (no --cluster-signing-* files): approved, never issued.
    CsrSignerDown,
    /// Node-client CSRs are denied.
    CsrDenied,
    /// A Ready Node named worker-1 already exists.
    ReadyNodeExists,
    /// The uploaded control-plane certificates (Secret kubeadm-certs) expired and are gone.
    KubeadmCertsMissing,
    /// A pre-1.28 API server answering as the recorded v1.24.0: SelfSubjectReview refused by RBAC (403; 404 for cluster admins), kubelet client CSRs need key encipherment.
    Pre128,
}

impl Scenario {
    /// Every scenario as (value, kebab-case name, one-line help), in `lab scenarios` order.
    pub const ALL: &'static [(Scenario, &'static str, &'static str)] = &[
        (Scenario::Healthy, "healthy", "Everything works"),
        (Scenario::TokenExpired, "token-expired", "The printed token expired (the tokencleaner removes it; it is never signed)"),
        (Scenario::TokenDeleted, "token-deleted", "The printed token was signed, then its Secret was deleted"),
        (Scenario::TokenNoSigning, "token-no-signing", "The printed token lacks the \"signing\" usage, so it is never signed"),
        (Scenario::SignerStopped, "signer-stopped", "The bootstrapsigner is not running: no token gets signed"),
        (Scenario::AnonymousRevoked, "anonymous-revoked", "The RoleBinding letting system:anonymous read cluster-info is gone (403)"),
        (Scenario::AnonymousAuthOff, "anonymous-auth-off", "kube-apiserver runs with --anonymous-auth=false (401 for unauthenticated requests)"),
        (Scenario::ClusterInfoMissing, "cluster-info-missing", "There is no cluster-info ConfigMap (404)"),
        (Scenario::KubeconfigMissing, "kubeconfig-missing", "cluster-info has no kubeconfig key"),
        (Scenario::TamperedSignature, "tampered-signature", "The printed token's signature in cluster-info was made with another secret"),
        (Scenario::JwsEmpty, "jws-empty", "The printed token's signature in cluster-info is empty"),
        (Scenario::CaNotYetValid, "ca-not-yet-valid", "The CA's validity starts tomorrow"),
        (Scenario::CaExpired, "ca-expired", "The CA expired yesterday"),
        (Scenario::Mitm, "mitm", "The serving certificate is issued by another CA (a man in the middle)"),
        (Scenario::WrongSan, "wrong-san", "The serving certificate does not name 127.0.0.1 / localhost"),
        (Scenario::ClockSkew, "clock-skew", "The server's clock is 10 minutes ahead of this machine's"),
        (Scenario::NoAutoapproveBinding, "no-autoapprove-binding", "The kubeadm:node-autoapprove-bootstrap binding is missing: CSRs stay Pending"),
        (Scenario::NoBootstrapperBinding, "no-bootstrapper-binding", "The kubeadm:kubelet-bootstrap binding is missing: tokens cannot create CSRs"),
        (Scenario::ApproverDown, "approver-down", "The CSR approver (controller-manager) is not running: CSRs stay Pending"),
        (Scenario::CsrSignerDown, "csr-signer-down", "The CSR signer is not running (no --cluster-signing-* files): approved, never issued"),
        (Scenario::CsrDenied, "csr-denied", "Node-client CSRs are denied"),
        (Scenario::ReadyNodeExists, "ready-node-exists", "A Ready Node named worker-1 already exists"),
        (Scenario::KubeadmCertsMissing, "kubeadm-certs-missing", "The uploaded control-plane certificates (Secret kubeadm-certs) expired and are gone"),
        (Scenario::Pre128, "pre-1-28", "A pre-1.28 API server answering as the recorded v1.24.0: SelfSubjectReview refused by RBAC (403; 404 for cluster admins), kubelet client CSRs need key encipherment"),
    ];

    /// The kebab-case name, e.g. `token-expired`.
    pub fn name(self) -> &'static str {
        Scenario::ALL.iter().find(|(s, _, _)| *s == self).map(|(_, n, _)| *n).unwrap_or("healthy")
    }

    /// Parses a kebab-case name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.iter().find(|(_, n, _)| *n == name).map(|(s, _, _)| *s)
    }
}

impl serde::Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Options for [`Lab::start`].
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Where to listen; must be a loopback address (port 0 picks one).
    pub listen: SocketAddr,
    /// CA key type.
    pub ca_key: KeyKind,
    /// The injected fault.
    pub scenario: Scenario,
    /// The token to create (a random one if None).
    pub token: Option<BootstrapToken>,
    /// `host:port` to put in cluster-info's server instead of the listen address.
    pub control_plane_endpoint: Option<String>,
    /// Called with the CSR's name and the time (Unix nanoseconds) when the lab's signer issues
    /// its certificate: `joinkit lab` prints it, so benchmarks can measure how soon a client's
    /// watch saw the certificate. (A real signer leaves no such mark; the lab adds none to the
    /// objects it serves.)
    pub on_issue: Option<fn(&str, i128)>,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ca_key: KeyKind::Ecdsa,
            scenario: Scenario::Healthy,
            token: None,
            control_plane_endpoint: None,
            on_issue: None,
        }
    }
}

/// Runtime switches the scenarios (and tests) flip.
#[derive(Debug, Clone)]
pub struct Faults {
    /// The bootstrapsigner runs.
    pub signer_running: bool,
    /// The tokencleaner runs.
    pub cleaner_running: bool,
    /// Unauthenticated requests are anonymous (else 401).
    pub anonymous_auth: bool,
    /// Sign this token ID with a wrong secret.
    pub tamper_jws: Option<String>,
    /// Write an empty signature for this token ID.
    pub empty_jws: Option<String>,
    /// Seconds added to the server's `Date`.
    pub clock_offset: i64,
    /// Status codes (429, 503) to answer the next requests with, before anything else.
    pub fail_next: std::collections::VecDeque<u16>,
    /// The CSR approver (csrapproving controller) runs.
    pub csr_approver_running: bool,
    /// The CSR signer (csrsigning controller with --cluster-signing-* files) runs.
    pub csr_signer_running: bool,
    /// Deny every node-client CSR instead of approving it.
    pub deny_csrs: bool,
    /// The server answers as the recorded v1.24.0 (`tests/vectors/apiserver-v1.24/bootstrap`):
    /// its `/version`; no SelfSubjectReview (system:basic-user does not grant it, so RBAC answers
    /// 403 before routing; an authorized caller gets 404); `authentication.k8s.io/v1` lists only
    /// tokenreviews; the approver and the signer of kubelet client CSRs accept exactly the usages
    /// {digital signature, key encipherment, client auth} (the signer fails an approved CSR with
    /// other usages: `usages did not match [...]`). Off: a v1.31 server.
    pub v1_24: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            signer_running: true,
            cleaner_running: true,
            anonymous_auth: true,
            tamper_jws: None,
            empty_jws: None,
            clock_offset: 0,
            fail_next: Default::default(),
            csr_approver_running: true,
            csr_signer_running: true,
            deny_csrs: false,
            v1_24: false,
        }
    }
}

/// Everything the server and controllers share.
#[derive(Debug)]
pub struct LabState {
    /// The objects.
    pub store: Store,
    /// The faults in force.
    pub faults: Faults,
    /// Accepted TCP connections and completed TLS handshakes, for tests and benchmarks.
    pub counters: Counters,
    /// The static admin bearer token.
    pub admin_token: String,
    /// The cluster CA (the CSR signer uses it).
    pub ca: Option<Arc<Ca>>,
    /// Called when the signer issues a certificate (see [`LabOptions::on_issue`]).
    pub on_issue: Option<fn(&str, i128)>,
}

/// Connection counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// TCP connections accepted.
    pub tcp_connections: u64,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// HTTP requests answered.
    pub requests: u64,
}

/// What the lab tells its user: written by `--write-json` and printed at start.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabInfo {
    /// `127.0.0.1:<port>`.
    pub endpoint: String,
    /// cluster-info's server URL.
    pub api_server: String,
    /// A bootstrap token (valid unless the scenario says otherwise).
    pub token: String,
    /// The CA public-key pin.
    pub ca_pin: String,
    /// The CA certificate, PEM.
    pub ca_cert_pem: String,
    /// The scenario in force.
    pub scenario: Scenario,
    /// An admin kubeconfig (client certificate `CN=kubernetes-admin, O=kubeadm:cluster-admins`
    /// embedded), like kubeadm's `admin.conf`.
    pub admin_kubeconfig: String,
    /// A static bearer token with cluster-admin rights (for token-auth kubeconfigs in tests).
    pub admin_token: String,
    /// The certificate key that decrypts the Secret kubeadm-certs (64 hex), as
    /// `kubeadm init phase upload-certs --upload-certs` prints it.
    pub certificate_key: String,
}

/// The Secret `kubeadm-certs` as `kubeadm init phase upload-certs` writes it (spec section 7):
/// data keys are file names with `/` as `-`, each AES-256-GCM under the key, laid out
/// nonce | ciphertext | tag; an empty value means the file was absent.
pub fn kubeadm_certs_secret(key_hex: &str, ca: &Ca) -> Result<Value, String> {
    use base64::Engine;
    let key = joinkit_core::diagnose::certs::decode_key(key_hex)?;
    let mut data = BTreeMap::new();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("ca.crt", ca.cert_pem.clone().into_bytes()),
        ("ca.key", b"-----BEGIN PRIVATE KEY-----\n(lab: not the real key)\n-----END PRIVATE KEY-----\n".to_vec()),
        ("front-proxy-ca.crt", ca.cert_pem.clone().into_bytes()),
        ("front-proxy-ca.key", b"lab".to_vec()),
        ("sa.pub", b"lab".to_vec()),
        ("sa.key", b"lab".to_vec()),
        ("etcd-ca.crt", ca.cert_pem.clone().into_bytes()),
        ("etcd-ca.key", b"lab".to_vec()),
    ];
    for (name, content) in files {
        let sealed = seal(&key, &content)?;
        data.insert(name.to_string(), base64::engine::general_purpose::STANDARD.encode(sealed));
    }
    Ok(
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "kubeadm-certs", "namespace": "kube-system"}, "type": "Opaque", "data": data}),
    )
}

/// A Node object; `ready` sets the Ready condition.
pub fn node_object(name: &str, ready: bool) -> Value {
    json!({"kind": "Node", "apiVersion": "v1", "metadata": {"labels": {"kubernetes.io/hostname": name}},
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": if ready { "KubeletReady" } else { "KubeletNotReady" }}]}})
}

/// An admin kubeconfig laid out like kubeadm's `admin.conf`.
pub fn admin_kubeconfig(server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> String {
    use base64::Engine;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\npreferences: {{}}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        b(ca_pem),
        b(cert_pem),
        b(key_pem)
    )
}

/// cluster-info's `managedFields` as a kubeadm cluster has them: kubeadm owns `kubeconfig`,
/// kube-controller-manager (the bootstrapsigner) the `jws-kubeconfig-*` keys.
fn cluster_info_managed_fields(jws: Option<serde_json::Map<String, Value>>) -> Value {
    let t = store::now_rfc3339();
    let mut v = vec![
        json!({"manager": "kubeadm", "operation": "Update", "apiVersion": "v1", "time": t, "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {".": {}, "f:kubeconfig": {}}}}),
    ];
    if let Some(j) = jws {
        v.push(json!({"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": t, "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": j}}));
    }
    Value::Array(v)
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl LabState {
    /// Runs the tokencleaner and the bootstrapsigner once.
    pub fn reconcile(&mut self) {
        let now = now_unix();
        if self.faults.cleaner_running {
            let expired: Vec<String> = self
                .store
                .list("secrets", "kube-system")
                .into_iter()
                .filter_map(|s| {
                    TokenSecret::from_secret(s).filter(|t| t.expired(now)).map(|t| format!("bootstrap-token-{}", t.id))
                })
                .collect();
            for name in expired {
                self.store.delete("secrets", "kube-system", &name);
            }
        }
        self.reconcile_csrs();
        self.reconcile_nodes();
        if !self.faults.signer_running {
            return;
        }
        let Some(ci) = self.store.get("configmaps", "kube-public", "cluster-info").cloned() else {
            return;
        };
        let Some(kubeconfig) = ci.pointer("/data/kubeconfig").and_then(Value::as_str).map(str::to_string) else {
            return;
        };
        let mut want: BTreeMap<String, String> = BTreeMap::new();
        for s in self.store.list("secrets", "kube-system") {
            let Some(t) = TokenSecret::from_secret(s) else {
                continue;
            };
            if !t.signing || t.expired(now) {
                continue;
            }
            let sig = if self.faults.empty_jws.as_deref() == Some(t.id.as_str()) {
                String::new()
            } else if self.faults.tamper_jws.as_deref() == Some(t.id.as_str()) {
                jws::sign_detached(&kubeconfig, &t.id, "tamperedtampered")
            } else {
                jws::sign_detached(&kubeconfig, &t.id, &t.secret)
            };
            want.insert(format!("jws-kubeconfig-{}", t.id), sig);
        }
        let data = ci.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
        let have: BTreeMap<String, String> = data
            .iter()
            .filter(|(k, _)| k.starts_with("jws-kubeconfig-"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        if have == want {
            return;
        }
        let mut new_data: BTreeMap<String, Value> =
            data.into_iter().filter(|(k, _)| !k.starts_with("jws-kubeconfig-")).collect();
        new_data.extend(want.into_iter().map(|(k, v)| (k, Value::String(v))));
        let mut obj = ci;
        let jws_fields: serde_json::Map<String, Value> = new_data
            .keys()
            .filter(|k| k.starts_with("jws-kubeconfig-"))
            .map(|k| (format!("f:{k}"), json!({})))
            .collect();
        obj["metadata"]["managedFields"] = cluster_info_managed_fields((!jws_fields.is_empty()).then_some(jws_fields));
        obj["data"] = json!(new_data);
        self.store.put("configmaps", "kube-public", "cluster-info", obj);
    }

    /// The node controllers a kubelet's join meets, once: the TTL controller annotates every
    /// Node with `node.alpha.kubernetes.io/ttl: "0"`; the node lifecycle controller removes the
    /// `node.kubernetes.io/not-ready` taint once the Node is Ready.
    fn reconcile_nodes(&mut self) {
        let nodes: Vec<Value> = self.store.list("nodes", "").into_iter().cloned().collect();
        for node in nodes {
            let name = node.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            let mut updated = node.clone();
            if node.pointer("/metadata/annotations/node.alpha.kubernetes.io~1ttl").is_none() {
                updated["metadata"]["annotations"]["node.alpha.kubernetes.io/ttl"] = json!("0");
            }
            let ready = node
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            if ready {
                if let Some(spec) = updated.get_mut("spec").and_then(Value::as_object_mut) {
                    if let Some(taints) = spec.get_mut("taints").and_then(Value::as_array_mut) {
                        taints.retain(|t| t["key"] != "node.kubernetes.io/not-ready");
                        if taints.is_empty() {
                            spec.remove("taints");
                        }
                    }
                }
            }
            if updated != node {
                self.store.put("nodes", "", &name, updated);
            }
        }
    }

    /// The csrapproving and csrsigning controllers, once.
    fn reconcile_csrs(&mut self) {
        let csrs: Vec<Value> = self.store.list("certificatesigningrequests", "").into_iter().cloned().collect();
        for csr in csrs {
            let name = csr.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            let conditions = csr.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            let has = |t: &str| conditions.iter().any(|c| c.get("type").and_then(Value::as_str) == Some(t));
            let decided = has("Approved") || has("Denied") || has("Failed");
            let mut updated = csr.clone();
            if !decided && self.faults.csr_approver_running {
                if let Some(verdict) =
                    csr::approve_decision(&csr, &self.store, self.faults.deny_csrs, self.faults.v1_24)
                {
                    let now = store::now_rfc3339();
                    let (t, reason, msg) = verdict;
                    let mut conds = conditions.clone();
                    conds.push(json!({"type": t, "status": "True", "reason": reason, "message": msg, "lastUpdateTime": now, "lastTransitionTime": now}));
                    updated["status"]["conditions"] = Value::Array(conds);
                    self.store.put("certificatesigningrequests", "", &name, updated.clone());
                }
            }
            let approved = updated
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c.get("type").and_then(Value::as_str) == Some("Approved")));
            let issued = updated.pointer("/status/certificate").is_some();
            let failed = updated
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c.get("type").and_then(Value::as_str) == Some("Failed")));
            if approved && !issued && !failed && self.faults.csr_signer_running {
                if let Some(ca) = &self.ca {
                    match csr::validate_for_signer(&updated, self.faults.v1_24).and_then(|()| csr::sign(&updated, ca)) {
                        Ok(pem) => {
                            use base64::Engine;
                            updated["status"]["certificate"] =
                                json!(base64::engine::general_purpose::STANDARD.encode(pem));
                            if let Some(f) = self.on_issue {
                                let name = updated.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                                f(name, time::OffsetDateTime::now_utc().unix_timestamp_nanos());
                            }
                        }
                        Err(e) => {
                            let now = store::now_rfc3339();
                            let mut conds = updated
                                .pointer("/status/conditions")
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default();
                            conds.push(json!({"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": e, "lastUpdateTime": now, "lastTransitionTime": now}));
                            updated["status"]["conditions"] = Value::Array(conds);
                        }
                    }
                    self.store.put("certificatesigningrequests", "", &name, updated);
                }
            }
        }
    }

    /// Authenticates a bearer token: the static admin token, else as the API server's
    /// bootstrap-token authenticator does (spec section 1). None for every failure (the caller
    /// answers a bare 401).
    pub fn authenticate_bearer(&self, bearer: &str) -> Option<UserInfo> {
        if jws::secrets_equal(bearer.as_bytes(), self.admin_token.as_bytes()) {
            return Some(UserInfo {
                name: "lab-admin".into(),
                groups: vec!["kubeadm:cluster-admins".into(), "system:authenticated".into()],
            });
        }
        let token = BootstrapToken::parse(bearer).ok()?;
        let s = self.store.get("secrets", "kube-system", &format!("bootstrap-token-{}", token.id()))?;
        let t = TokenSecret::from_secret(s)?;
        if !jws::secrets_equal(t.secret.as_bytes(), token.secret().as_bytes())
            || t.expired(now_unix())
            || !t.authentication
        {
            return None;
        }
        let mut groups = vec!["system:bootstrappers".to_string()];
        groups.extend(t.groups);
        groups.push("system:authenticated".into());
        Some(UserInfo { name: format!("system:bootstrap:{}", t.id), groups })
    }
}

/// A running lab. Dropping it stops the server.
pub struct Lab {
    /// What to tell the user.
    pub info: LabInfo,
    /// Shared state: tests may change it (then call [`Lab::reconcile`]).
    pub state: Arc<Mutex<LabState>>,
    /// The CA (for signing more certificates).
    pub ca: Arc<Ca>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab").field("endpoint", &self.info.endpoint).field("scenario", &self.info.scenario).finish()
    }
}

impl Lab {
    /// Builds the PKI and state, binds the listener and serves on a background thread with its
    /// own tokio runtime. Errors: a non-loopback listen address, a busy port, PKI failures.
    pub fn start(opts: LabOptions) -> Result<Lab, String> {
        if !opts.listen.ip().is_loopback() {
            return Err(format!("the lab listens on loopback only; {} is not a loopback address", opts.listen.ip()));
        }
        let validity = match opts.scenario {
            Scenario::CaNotYetValid => CaValidity::NotYetValid,
            Scenario::CaExpired => CaValidity::Expired,
            _ => CaValidity::Normal,
        };
        let ca = Ca::new("kubernetes", opts.ca_key, validity)?;
        let names: Vec<&str> = if opts.scenario == Scenario::WrongSan {
            vec!["kubernetes.example.invalid"]
        } else {
            vec!["127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"]
        };
        let serving = if opts.scenario == Scenario::Mitm {
            Ca::new("kubernetes", opts.ca_key, CaValidity::Normal)?.serving_cert(&names, opts.ca_key)?
        } else {
            ca.serving_cert(&names, opts.ca_key)?
        };
        let std_listener =
            std::net::TcpListener::bind(opts.listen).map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
        std_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
        let endpoint = joinkit_core::endpoint::Endpoint { host: addr.ip().to_string(), port: addr.port() }.to_string();
        let api_server = format!("https://{}", opts.control_plane_endpoint.clone().unwrap_or_else(|| endpoint.clone()));

        let token = opts.token.clone().unwrap_or_else(BootstrapToken::generate);
        let admin_token = format!("joinkit-lab-admin-{}", joinkit_core::token::random_string(24));
        let mut state = LabState {
            store: Store::default(),
            faults: Faults::default(),
            counters: Counters::default(),
            admin_token: admin_token.clone(),
            ca: None,
            on_issue: opts.on_issue,
        };
        for (res, ns, obj) in rbac::kubeadm_defaults() {
            let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            state.store.put(&res, &ns, &name, obj);
        }
        state.store.put(
            "configmaps",
            "kube-system",
            "kubeadm-config",
            json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"managedFields": [{"manager": "kubeadm", "operation": "Update", "apiVersion": "v1",
                "time": store::now_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:ClusterConfiguration": {}}}}]},
                "data": {"ClusterConfiguration": format!(
                "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nclusterName: kubernetes\ncontrolPlaneEndpoint: {}\nkubernetesVersion: v1.31.0\ncertificatesDir: /etc/kubernetes/pki\nnetworking: {{dnsDomain: cluster.local, serviceSubnet: 10.96.0.0/12}}\n",
                api_server.trim_start_matches("https://"))}}),
        );
        if opts.scenario != Scenario::ClusterInfoMissing {
            let mut data = serde_json::Map::new();
            if opts.scenario != Scenario::KubeconfigMissing {
                data.insert("kubeconfig".into(), json!(cluster_info_kubeconfig(&api_server, ca.cert_pem.as_bytes())));
            }
            let meta = json!({"managedFields": cluster_info_managed_fields(None)});
            state.store.put(
                "configmaps",
                "kube-public",
                "cluster-info",
                json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta, "data": data}),
            );
        }
        let day = Duration::from_secs(86400);
        let now = time::OffsetDateTime::now_utc();
        let (expiration, usages): (Option<time::OffsetDateTime>, &[&str]) = match opts.scenario {
            Scenario::TokenExpired => (Some(now - Duration::from_secs(3600)), &["signing", "authentication"]),
            Scenario::TokenNoSigning => (Some(now + day), &["authentication"]),
            _ => (Some(now + day), &["signing", "authentication"]),
        };
        let secret = token_secret(&token, expiration, usages, &[rbac::DEFAULT_NODE_TOKEN_GROUP], "joinkit lab token");
        state.store.put("secrets", "kube-system", &format!("bootstrap-token-{}", token.id()), secret);
        match opts.scenario {
            Scenario::SignerStopped => state.faults.signer_running = false,
            Scenario::AnonymousRevoked => {
                state.store.delete("rolebindings", "kube-public", "kubeadm:bootstrap-signer-clusterinfo");
            }
            Scenario::AnonymousAuthOff => state.faults.anonymous_auth = false,
            Scenario::TamperedSignature => state.faults.tamper_jws = Some(token.id().to_string()),
            Scenario::JwsEmpty => state.faults.empty_jws = Some(token.id().to_string()),
            Scenario::ClockSkew => state.faults.clock_offset = 600,
            Scenario::NoAutoapproveBinding => {
                state.store.delete("clusterrolebindings", "", "kubeadm:node-autoapprove-bootstrap");
            }
            Scenario::NoBootstrapperBinding => {
                state.store.delete("clusterrolebindings", "", "kubeadm:kubelet-bootstrap");
            }
            Scenario::ApproverDown => state.faults.csr_approver_running = false,
            Scenario::CsrSignerDown => state.faults.csr_signer_running = false,
            Scenario::CsrDenied => state.faults.deny_csrs = true,
            Scenario::Pre128 => {
                state.faults.v1_24 = true;
                // v1.24's system:basic-user has no rule for selfsubjectreviews (added in 1.28).
                if let Some(mut role) = state.store.get("clusterroles", "", "system:basic-user").cloned() {
                    if let Some(rules) = role.get_mut("rules").and_then(Value::as_array_mut) {
                        rules.retain(|r| !r.to_string().contains("selfsubjectreviews"));
                    }
                    state.store.put("clusterroles", "", "system:basic-user", role);
                }
            }
            Scenario::ReadyNodeExists => {
                state.store.put("nodes", "", "worker-1", node_object("worker-1", true));
            }
            _ => {}
        }
        let certificate_key = joinkit_core::token::random_hex(32);
        if opts.scenario != Scenario::KubeadmCertsMissing {
            let secret = kubeadm_certs_secret(&certificate_key, &ca)?;
            state.store.put("secrets", "kube-system", "kubeadm-certs", secret);
        }
        state.reconcile();
        if opts.scenario == Scenario::TokenDeleted {
            state.store.delete("secrets", "kube-system", &format!("bootstrap-token-{}", token.id()));
            state.reconcile();
        }

        let ca = Arc::new(ca);
        state.ca = Some(ca.clone());
        let ca_pin = Pin::of_spki(
            x509_parser::parse_x509_certificate(ca.cert_der.as_ref())
                .map_err(|e| e.to_string())?
                .1
                .tbs_certificate
                .subject_pki
                .raw,
        )
        .to_string();
        let admin = ca.client_cert("kubernetes-admin", Some("kubeadm:cluster-admins"), KeyKind::Ecdsa)?;
        let admin_kubeconfig =
            admin_kubeconfig(&format!("https://{endpoint}"), &ca.cert_pem, &admin.cert_pem, &admin.key_pem);
        let info = LabInfo {
            endpoint,
            api_server,
            token: token.expose(),
            ca_pin,
            ca_cert_pem: ca.cert_pem.clone(),
            scenario: opts.scenario,
            admin_kubeconfig,
            admin_token,
            certificate_key,
        };
        let state = Arc::new(Mutex::new(state));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let server_state = state.clone();
        let server_ca = ca.clone();
        let thread = std::thread::Builder::new()
            .name("joinkit-lab".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("joinkit lab: cannot start runtime: {e}");
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("joinkit lab: {e}");
                            return;
                        }
                    };
                    server::serve(listener, serving, server_ca, server_state, rx).await;
                });
            })
            .map_err(|e| e.to_string())?;
        Ok(Lab { info, state, ca, shutdown: Some(tx), thread: Some(thread) })
    }

    /// Runs the controllers once now (after a test changed the state).
    pub fn reconcile(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.reconcile();
        }
    }

    /// The connection counters so far.
    pub fn counters(&self) -> Counters {
        self.state.lock().map(|s| s.counters).unwrap_or_default()
    }

    /// The endpoint as `127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.info.endpoint
    }

    /// The lab's token.
    pub fn token(&self) -> BootstrapToken {
        BootstrapToken::parse(&self.info.token).expect("the lab's token is valid")
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// Serialises a kubeconfig with the cluster-info layout kubeadm writes (key order and the
/// `name: ""`, `contexts: null`, `users: null` lines), for the lab's cluster-info.
pub fn cluster_info_kubeconfig(server: &str, ca_pem: &[u8]) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, ca_pem),
        server
    )
}

/// Encrypts `data` as kubeadm uploads control-plane certificates (the inverse of
/// `joinkit_core::diagnose::certs::open`): nonce | ciphertext | tag. Empty input stays empty (an absent file).
pub fn seal(key: &[u8; 32], data: &[u8]) -> Result<Vec<u8>, String> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
    use ring::rand::{SecureRandom, SystemRandom};
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| "bad key")?);
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| "no randomness")?;
    let mut buf = data.to_vec();
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
        .map_err(|_| "seal failed")?;
    let mut out = nonce.to_vec();
    out.extend(buf);
    Ok(out)
}
