//! `joinkit lab`: a loopback-only simulated kube-apiserver and controller-manager, as a kubeadm
//! cluster runs them (upstream: kubernetes `cmd/kube-apiserver`, `cmd/kube-controller-manager`
//! and kubeadm's `init` phases, recorded at v1.24 and v1.31).
//!
//! It makes its own CA and serving certificate, keeps Kubernetes objects in a [`store::Store`],
//! authorizes with a small RBAC model holding kubeadm's bindings ([`rbac`]), and runs the
//! controllers the join path depends on: the bootstrapsigner (one `jws-kubeconfig-<id>` in
//! cluster-info per valid signing token, kept current), the tokencleaner (deletes expired
//! token Secrets), the CSR approver and signer, and the node controllers. Answers match the
//! transcripts in `tests/vectors/apiserver-v1.24/`: same status codes, Status bodies, messages
//! and headers; compact JSON with a trailing newline, pretty JSON for a `curl` user agent.
//!
//! A [`Scenario`] injects one fault. Later issues add resources by adding routes in the
//! server (`server/routes.rs`) and objects in the store.
//!
//! Layout: this file holds the lab's handle ([`Lab`], [`LabOptions`], [`LabState`], [`Faults`])
//! and seeds a new lab; `scenario.rs` the fault table; `objects.rs` what kubeadm writes;
//! `controllers.rs` the controller-manager's loops; `server/` the HTTPS API server; [`pki`],
//! [`rbac`], `csr.rs` and [`store`] the pieces they share.

// A lab handler answers with a ready hyper Response as its error (as the API server would).
#![allow(clippy::result_large_err)]

mod controllers;
mod csr;
mod objects;
pub mod pki;
pub mod rbac;
mod scenario;
mod server;
pub mod store;

use joinkit_core::pin::Pin;
pub use joinkit_core::token::secret::token_secret;
use joinkit_core::token::BootstrapToken;
pub use objects::{admin_kubeconfig, seal};
use objects::{cluster_info_kubeconfig, cluster_info_managed_fields, kubeadm_certs_secret};
use pki::{Ca, CaValidity, KeyKind};
pub use scenario::Scenario;
use serde::Serialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::Store;

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
    pub(crate) admin_token: String,
    /// The cluster CA (the CSR signer uses it).
    pub(crate) ca: Option<Arc<Ca>>,
    /// Called when the signer issues a certificate (see [`LabOptions::on_issue`]).
    pub(crate) on_issue: Option<fn(&str, i128)>,
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
        let ca = Ca::new("kubernetes", opts.ca_key, opts.scenario.ca_validity())?;
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
        if matches!(opts.scenario, Scenario::TokenExpired | Scenario::TokenDeleted | Scenario::TokenNoSigning) {
            // A real cluster keeps other tokens (kubeadm init's) signed while this one is gone:
            // cluster-info then tells a token's own fault from a stopped signer (jws-missing
            // versus jws-none-signed).
            let other = BootstrapToken::generate();
            let s = token_secret(
                &other,
                Some(now + day),
                &["signing", "authentication"],
                &[rbac::DEFAULT_NODE_TOKEN_GROUP],
                "another token",
            );
            state.store.put("secrets", "kube-system", &format!("bootstrap-token-{}", other.id()), s);
        }
        opts.scenario.inject(&mut state, token.id());
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
