//! A small typed client for the few API calls joinkit makes as an admin, over reqwest with
//! rustls on ring.
//!
//! Kubeconfig loading is kube-client's `config` module (kubectl's rules: `--kubeconfig`, then
//! `KUBECONFIG` with several paths merged, first value wins, then `~/.kube/config`; `--context`;
//! relative paths against the file that names them). It was chosen over our own structs: it is
//! maintained, it parses with serde-saphyr like the rest of joinkit, and the measured cost is one
//! more crate family (k8s-openapi) and about 25 s of a first build. Credentials: client
//! certificate and key (data or files), bearer token or token file, exec plugins
//! ([`super::exec`]); CA data or file; `insecure-skip-tls-verify` is honoured with a warning.
//!
//! Errors carry the server's Status message and a code: 401 `api-unauthorized`, 403
//! `api-forbidden` (the RBAC message quoted), 404 `api-not-found`, 409 `api-conflict`, 422
//! `api-invalid`; transport errors use verify-discovery's codes; 429 and 5xx are retried with
//! bounded backoff honouring `Retry-After`.

use super::TrustAnchors;
use crate::discovery::TrustedClusterInfo;
use crate::error::{Code, Failure};
use kube_client::config::{Config, KubeConfigOptions, Kubeconfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to find and use the admin kubeconfig.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
}

/// A connected admin client.
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    bearer: Option<SecretString>,
    /// The server URL from the kubeconfig.
    pub server: String,
    /// The kubeconfig's CA certificates (DER), empty when it names none.
    pub ca: Vec<CertificateDer<'static>>,
    /// Warnings to show (insecure TLS, ...).
    pub warnings: Vec<String>,
    /// Bound for retries of 429/5xx.
    pub retry_budget: Duration,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient").field("server", &self.server).finish_non_exhaustive()
    }
}

fn unusable(msg: impl Into<String>, fix: impl Into<String>) -> Failure {
    Failure::new(Code::KubeconfigUnusable, "kubeconfig", msg)
        .cause("joinkit needs an admin kubeconfig for this command, as kubectl does")
        .fix(fix)
}

/// Accepts any server certificate (for `insecure-skip-tls-verify`), still checking handshake
/// signatures.
#[derive(Debug)]
struct InsecureVerifier(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for InsecureVerifier {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn read_data_or_file(data: &Option<String>, file: &Option<String>, what: &str) -> Result<Option<Vec<u8>>, Failure> {
    if let Some(d) = data.as_deref().filter(|d| !d.is_empty()) {
        return crate::kubeconfig::decode_b64(d)
            .map(Some)
            .map_err(|e| unusable(format!("{what}-data: {e}"), "fix the kubeconfig"));
    }
    if let Some(f) = file.as_deref().filter(|f| !f.is_empty()) {
        return crate::fsutil::read_bounded(std::path::Path::new(f), crate::fsutil::MAX_INPUT_FILE)
            .map(Some)
            .map_err(|e| unusable(format!("{what}: {e}"), "fix the path in the kubeconfig"));
    }
    Ok(None)
}

/// Credentials for [`ApiClient::for_discovered`]. `Debug` never shows the secret.
pub enum Identity {
    /// No credentials.
    Anonymous,
    /// A bearer token.
    Bearer(SecretString),
    /// A client certificate (PEM) and its key (PEM, secret).
    ClientCert(Vec<u8>, SecretSlice<u8>),
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Identity::Anonymous => "Anonymous",
            Identity::Bearer(_) => "Bearer(<redacted>)",
            Identity::ClientCert(..) => "ClientCert(certificate, key <redacted>)",
        })
    }
}

/// The HTTP client over a verifying rustls configuration: https only (a plain-HTTP URL is
/// refused before connecting), no redirects (a redirect never carries credentials elsewhere or
/// downgrades to http), no proxy.
fn build_http(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    identity: Option<(Vec<u8>, SecretSlice<u8>)>,
    timeout: Duration,
    source: &str,
) -> Result<reqwest::Client, Failure> {
    let mut config = match identity {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(&cert).collect::<Result<_, _>>().map_err(|e| {
                    unusable(format!("{source}: client certificate: {e}"), "fix client-certificate(-data)")
                })?;
            let key = PrivateKeyDer::from_pem_slice(key.expose_secret()).map_err(|_| {
                unusable(format!("{source}: client key: not a PEM private key"), "fix client-key(-data)")
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                unusable(format!("{source}: client certificate and key: {e}"), "the certificate and key must be a pair")
            })?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .user_agent(concat!("joinkit/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure::new(Code::Internal, "kubeconfig", format!("HTTP client: {e}")))
}

impl ApiClient {
    /// A client for the API server of a [`TrustedClusterInfo`] (JWS, pin and serving
    /// certificate verified), trusting exactly its CA, presenting `identity`. This is the only
    /// way to send the bootstrap token or a new node certificate to a discovered server: an
    /// unverified cluster-info cannot reach here, and its server is `https://` by construction.
    pub fn for_discovered(
        trusted: &TrustedClusterInfo,
        identity: Identity,
        timeout: Duration,
    ) -> Result<ApiClient, Failure> {
        Self::with_anchors(trusted.api_server(), trusted.anchors(), identity, timeout)
    }

    fn with_anchors(
        server: &str,
        anchors: &TrustAnchors,
        identity: Identity,
        timeout: Duration,
    ) -> Result<ApiClient, Failure> {
        if !server.starts_with("https://") {
            return Err(unusable(format!("the server {server} is not https"), "use the API server's https URL"));
        }
        let builder = anchors.client_config_builder().map_err(|e| Failure::new(Code::Internal, "kubeconfig", e))?;
        let (bearer, id) = match identity {
            Identity::Anonymous => (None, None),
            Identity::Bearer(t) => (Some(t), None),
            Identity::ClientCert(c, k) => (None, Some((c, k))),
        };
        let http = build_http(builder, id, timeout, server)?;
        let server = server.trim_end_matches('/').to_string();
        Ok(ApiClient {
            http,
            base: server.clone(),
            bearer,
            server,
            ca: anchors.certs().to_vec(),
            warnings: Vec::new(),
            retry_budget: Duration::from_secs(10),
        })
    }

    /// Sends a GET and returns the response as a [`WatchStream`] when it is 2xx (for watches);
    /// an error answer's body is read with the [`MAX_RESPONSE_BODY`] bound.
    pub async fn get_stream(&self, path: &str, timeout: Duration) -> Result<WatchStream, Failure> {
        let mut req =
            self.http.get(format!("{}{path}", self.base)).header("accept", "application/json").timeout(timeout);
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t.expose_secret());
        }
        let mut resp = req.send().await.map_err(|e| transport_failure(&e, &self.server, "GET", path))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(WatchStream { resp, line: 0 });
        }
        let bytes = match read_body(&mut resp, MAX_RESPONSE_BODY).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => return Err(too_large(status, "GET", path)),
            Err(BodyError::Transport(_)) => Vec::new(),
        };
        Err(api_failure(status, &error_body(&bytes), "GET", path, 1))
    }

    /// Loads the kubeconfig as kubectl does and builds the client (runs an exec plugin if the
    /// user has one). Every file involved (the kubeconfigs, and the CA, client certificate, key
    /// and token file of the selected context) is read bounded by joinkit, never by
    /// kube-client. A configured CA (`certificate-authority(-data)`) that yields no certificate
    /// is an error, as kubectl's "unable to load root certificates" is: only a kubeconfig that
    /// names no CA at all uses the system trust store. Errors: `kubeconfig-unusable`.
    pub async fn connect(opts: &ApiOptions) -> Result<ApiClient, Failure> {
        let (mut kc, source) = load_kubeconfig(opts)?;
        let selected = inline_selected_files(&mut kc, opts.context.as_deref(), &source)?;
        let kopts = KubeConfigOptions { context: opts.context.clone(), ..Default::default() };
        let cfg = Config::from_custom_kubeconfig(kc, &kopts).await.map_err(|e| {
            unusable(
                format!("{source}: {}", crate::redact::redact(&e.to_string())),
                "check current-context / --context and the cluster and user it names",
            )
        })?;
        let server = cfg.cluster_url.to_string().trim_end_matches('/').to_string();
        if !server.starts_with("https://") {
            return Err(unusable(
                format!("{source}: the server {server} is not https"),
                "use the API server's https URL",
            ));
        }
        let mut warnings = Vec::new();
        let provider = super::provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::new(Code::Internal, "kubeconfig", e.to_string()))?;
        let (builder, ca) = if cfg.accept_invalid_certs {
            warnings
                .push(format!("{source}: insecure-skip-tls-verify is set: the API server's identity is not checked"));
            (
                builder.dangerous().with_custom_certificate_verifier(Arc::new(InsecureVerifier(provider.clone()))),
                Vec::new(),
            )
        } else {
            match selected.ca_bundle {
                Some(bundle) => {
                    let certs = crate::pin::read_certificates(&bundle, "certificate-authority").map_err(|f| {
                        unusable(
                            format!("{source}: unable to load root certificates: {}", f.message),
                            "certificate-authority(-data) must hold the cluster's CA certificate (PEM)",
                        )
                    })?;
                    let anchors =
                        TrustAnchors::new(certs, format!("{source}'s certificate-authority")).map_err(|e| {
                            unusable(
                                format!("{source}: unable to load root certificates: {e}"),
                                "fix certificate-authority(-data)",
                            )
                        })?;
                    let b =
                        anchors.client_config_builder().map_err(|e| Failure::new(Code::Internal, "kubeconfig", e))?;
                    (b, anchors.certs().to_vec())
                }
                None => {
                    let anchors = TrustAnchors::system().map_err(|e| {
                        unusable(
                            format!("{source}: names no CA and {e}"),
                            "add certificate-authority-data to the kubeconfig",
                        )
                    })?;
                    let b =
                        anchors.client_config_builder().map_err(|e| Failure::new(Code::Internal, "kubeconfig", e))?;
                    (b, Vec::new())
                }
            }
        };
        if cfg.tls_server_name.is_some() {
            warnings.push(format!("{source}: tls-server-name is not supported by joinkit; the URL's host is verified"));
        }
        let user = cfg.auth_info.clone();
        let has_credentials = user.exec.is_some()
            || user.token.is_some()
            || user.client_certificate_data.is_some()
            || user.client_key_data.is_some()
            || user.username.is_some();
        if cfg.accept_invalid_certs && has_credentials {
            // kubectl would send them; joinkit sends no credential to a server it has not
            // verified (SECURITY.md). Anonymous requests with the flag still work, with a warning.
            return Err(unusable(
                format!("{source}: insecure-skip-tls-verify is set and the user has credentials; joinkit does not send credentials to an API server whose certificate it has not verified"),
                "put the cluster's CA in certificate-authority-data (on a control-plane node: /etc/kubernetes/pki/ca.crt, `kubectl config set-cluster NAME --certificate-authority=ca.crt --embed-certs`) and remove insecure-skip-tls-verify",
            ));
        }
        let mut bearer: Option<SecretString> = None;
        let mut identity: Option<(Vec<u8>, SecretSlice<u8>)> = None;
        if let Some(exec) = &user.exec {
            let timeout = opts.timeout.unwrap_or(Duration::from_secs(30));
            // On a blocking thread: the caller's runtime (and its timeouts) keeps running.
            match super::exec::run_async(exec, &server, timeout).await? {
                super::exec::ExecCredential::Token(t) => bearer = Some(t),
                super::exec::ExecCredential::ClientCert { cert_pem, key_pem } => {
                    identity = Some((cert_pem.into_bytes(), SecretSlice::from(key_pem.into_bytes())))
                }
            }
        } else if let Some(t) = &user.token {
            bearer = Some(t.clone());
        } else {
            let cert =
                read_data_or_file(&user.client_certificate_data, &user.client_certificate, "client-certificate")?;
            let key = read_data_or_file(
                &user.client_key_data.as_ref().map(|s| s.expose_secret().to_string()),
                &user.client_key,
                "client-key",
            )?;
            if let (Some(c), Some(k)) = (cert, key) {
                identity = Some((c, SecretSlice::from(k)));
            }
        }
        let http = build_http(builder, identity, opts.timeout.unwrap_or(Duration::from_secs(15)), &source)?;
        Ok(ApiClient {
            http,
            base: server.clone(),
            bearer,
            server,
            ca,
            warnings,
            retry_budget: Duration::from_secs(10),
        })
    }

    /// GET `path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.request(reqwest::Method::GET, path, None).await
    }

    /// GET `path`; `Ok(None)` for 404.
    pub async fn get_opt(&self, path: &str) -> Result<Option<Value>, Failure> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(f) if f.code == Code::ApiNotFound => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// POST `body` to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Result<Value, Failure> {
        self.request(reqwest::Method::DELETE, path, None).await
    }

    async fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req =
                self.http.request(method.clone(), format!("{}{path}", self.base)).header("accept", "application/json");
            if let Some(t) = &self.bearer {
                req = req.bearer_auth(t.expose_secret());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let mut resp = req.send().await.map_err(|e| transport_failure(&e, &self.server, method.as_str(), path))?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u64>().ok());
            let content_type =
                resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let bytes = match read_body(&mut resp, MAX_RESPONSE_BODY).await {
                Ok(b) => b,
                Err(BodyError::TooLarge) => return Err(too_large(status, method.as_str(), path)),
                Err(BodyError::Transport(e)) => return Err(transport_failure(&e, &self.server, method.as_str(), path)),
            };
            if (200..300).contains(&status) {
                return serde_json::from_slice(&bytes)
                    .map_err(|_| not_json(status, &content_type, &bytes, method.as_str(), path));
            }
            let v = error_body(&bytes);
            let retryable = status == 429 || status >= 500;
            let wait = retry_after.map(Duration::from_secs).unwrap_or(backoff).min(Duration::from_secs(5));
            if retryable && attempt < 5 && started.elapsed() + wait < self.retry_budget {
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
            return Err(api_failure(status, &v, method.as_str(), path, attempt));
        }
    }
}

/// What [`inline_selected_files`] found for the selected context.
struct Selected {
    /// The CA bundle bytes when the cluster names a CA (data or file); `None` when it names none.
    ca_bundle: Option<Vec<u8>>,
}

/// Reads the kubeconfig(s) as kubectl does (`--kubeconfig`, else every path of `KUBECONFIG`
/// merged first-wins, else `~/.kube/config`), each file bounded, relative paths resolved against
/// the file that names them. Parse errors never quote the file.
fn load_kubeconfig(opts: &ApiOptions) -> Result<(Kubeconfig, String), Failure> {
    let (paths, source): (Vec<PathBuf>, String) = match &opts.kubeconfig {
        Some(p) => (vec![p.clone()], p.display().to_string()),
        None => match std::env::var_os("KUBECONFIG") {
            Some(v) if std::env::split_paths(&v).any(|p| !p.as_os_str().is_empty()) => (
                std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect(),
                format!("KUBECONFIG={}", v.to_string_lossy()),
            ),
            _ => {
                let home = std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| {
                    unusable(
                        "no --kubeconfig, no KUBECONFIG and no HOME",
                        "pass --kubeconfig /etc/kubernetes/admin.conf",
                    )
                })?;
                (vec![home.join(".kube").join("config")], "~/.kube/config".to_string())
            }
        },
    };
    let fix = if opts.kubeconfig.is_some() {
        "pass a readable kubeconfig with --kubeconfig"
    } else {
        "pass --kubeconfig /etc/kubernetes/admin.conf (on a control-plane node) or set KUBECONFIG"
    };
    let mut merged = Kubeconfig::default();
    for p in &paths {
        let text = crate::fsutil::read_bounded_string(p, crate::fsutil::MAX_INPUT_FILE)
            .map_err(|e| unusable(format!("{source}: {e}"), fix))?;
        let mut kc = Kubeconfig::from_yaml(&text).map_err(|e| {
            let why = match &e {
                kube_client::config::KubeconfigError::Parse(pe) => crate::kubeconfig::yaml_error(pe),
                other => crate::redact::redact(&other.to_string()),
            };
            unusable(format!("{}: not a valid kubeconfig: {why}", p.display()), fix)
        })?;
        if let Some(dir) = p.parent() {
            let abs = |f: &mut Option<String>| {
                if let Some(v) = f.as_ref().filter(|v| !v.is_empty() && !std::path::Path::new(v).is_absolute()) {
                    *f = Some(dir.join(v).to_string_lossy().into_owned());
                }
            };
            for c in kc.clusters.iter_mut().filter_map(|n| n.cluster.as_mut()) {
                abs(&mut c.certificate_authority);
            }
            for a in kc.auth_infos.iter_mut().filter_map(|n| n.auth_info.as_mut()) {
                abs(&mut a.client_certificate);
                abs(&mut a.client_key);
                abs(&mut a.token_file);
                if let Some(exec) = a.exec.as_mut() {
                    if exec.command.as_deref().is_some_and(|c| c.contains('/')) {
                        abs(&mut exec.command);
                    }
                }
            }
        }
        merged = merged.merge(kc).map_err(|e| unusable(format!("{source}: {e}"), fix))?;
    }
    Ok((merged, source))
}

/// Reads, bounded, the files that the selected context's cluster and user name (CA, client
/// certificate, client key, token file) and puts their contents in the `-data` fields, so that
/// kube-client never opens a file itself. Unknown contexts are left for kube-client to report.
fn inline_selected_files(kc: &mut Kubeconfig, context: Option<&str>, source: &str) -> Result<Selected, Failure> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ctx_name = context.map(str::to_string).or_else(|| kc.current_context.clone()).unwrap_or_default();
    let Some(ctx) = kc.contexts.iter().find(|c| c.name == ctx_name).and_then(|c| c.context.clone()) else {
        return Ok(Selected { ca_bundle: None });
    };
    let read = |what: &str, f: &str| {
        crate::fsutil::read_bounded(std::path::Path::new(f), crate::fsutil::MAX_INPUT_FILE)
            .map_err(|e| unusable(format!("{source}: {what}: {e}"), "fix the path in the kubeconfig"))
    };
    let mut ca_bundle = None;
    if let Some(cluster) = kc.clusters.iter_mut().find(|c| c.name == ctx.cluster).and_then(|c| c.cluster.as_mut()) {
        if let Some(d) = cluster.certificate_authority_data.as_deref().filter(|d| !d.trim().is_empty()) {
            let bytes = crate::kubeconfig::decode_b64(d).map_err(|e| {
                unusable(
                    format!("{source}: unable to load root certificates: certificate-authority-data: {e}"),
                    "fix certificate-authority-data",
                )
            })?;
            ca_bundle = Some(bytes);
        } else if let Some(f) = cluster.certificate_authority.clone().filter(|f| !f.is_empty()) {
            let bytes = read("certificate-authority", &f)?;
            cluster.certificate_authority_data = Some(b64.encode(&bytes));
            ca_bundle = Some(bytes);
        }
        cluster.certificate_authority = None;
    }
    let user_name = ctx.user.clone().unwrap_or_default();
    if let Some(user) = kc.auth_infos.iter_mut().find(|a| a.name == user_name).and_then(|a| a.auth_info.as_mut()) {
        if user.client_certificate_data.is_none() {
            if let Some(f) = user.client_certificate.take().filter(|f| !f.is_empty()) {
                user.client_certificate_data = Some(b64.encode(read("client-certificate", &f)?));
            }
        }
        if user.client_key_data.is_none() {
            if let Some(f) = user.client_key.take().filter(|f| !f.is_empty()) {
                user.client_key_data = Some(SecretString::from(b64.encode(read("client-key", &f)?)));
            }
        }
        if user.token.is_none() {
            if let Some(f) = user.token_file.take().filter(|f| !f.is_empty()) {
                let t = String::from_utf8(read("tokenFile", &f)?)
                    .map_err(|_| unusable(format!("{source}: tokenFile: not UTF-8 text"), "fix tokenFile"))?;
                user.token = Some(SecretString::from(t.trim().to_string()));
            }
        }
    }
    Ok(Selected { ca_bundle })
}

/// Maps an HTTP error answer to a failure with the server's Status message.
pub fn api_failure(status: u16, body: &Value, method: &str, path: &str, attempts: u32) -> Failure {
    let msg = quote(body.get("message").and_then(Value::as_str).or(body.as_str()).unwrap_or(""));
    let what = format!("{method} {path}: HTTP {status}: {msg}");
    let (code, cause, fix) = match status {
        401 => (
            Code::ApiUnauthorized,
            "the kubeconfig's credentials are not accepted (expired token or certificate, wrong cluster)".to_string(),
            "refresh the credentials (an exec plugin login, a new admin.conf) or pick the right --context".to_string(),
        ),
        403 => (
            Code::ApiForbidden,
            format!("RBAC denies this user the request: {msg}"),
            "use an admin kubeconfig (/etc/kubernetes/admin.conf) or grant the verb on the resource to this user"
                .to_string(),
        ),
        404 => (Code::ApiNotFound, "the object does not exist".to_string(), "check the name".to_string()),
        409 => (
            Code::ApiConflict,
            "the object already exists or changed meanwhile".to_string(),
            "use another name or retry".to_string(),
        ),
        422 => (
            Code::ApiInvalid,
            "the API server refused the object as invalid".to_string(),
            "fix the fields the message names".to_string(),
        ),
        s if s == 429 || s >= 500 => (
            Code::ApiError,
            format!("the API server is overloaded or failing; still failing after {attempts} attempt(s)"),
            "check the control plane's health (`kubectl get --raw /readyz?verbose`) and retry later".to_string(),
        ),
        _ => (
            Code::ApiError,
            "the API server answered with an unexpected status".to_string(),
            "check the request and the server".to_string(),
        ),
    };
    Failure::new(code, "api", what).cause(cause).fix(fix)
}

/// Maps a reqwest transport error to verify-discovery's codes.
pub fn transport_failure(e: &reqwest::Error, server: &str, method: &str, path: &str) -> Failure {
    use std::error::Error as _;
    let mut io_kind = None;
    let mut tls: Option<String> = None;
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            tls.get_or_insert(r.to_string());
        }
        src = s.source();
    }
    use std::io::ErrorKind as K;
    let (code, cause, fix) = if e.is_timeout() && !e.is_connect() {
        (
            Code::RequestTimeout,
            "the API server did not answer in time",
            "check the API server's health, or raise --timeout",
        )
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        (Code::DnsFailure, "the server's host name does not resolve", "fix DNS or the kubeconfig's server")
    } else if tls.as_deref().is_some_and(|t| t.contains("certificate")) || text.contains("invalid peer certificate") {
        (
            Code::TlsVerifyFailed,
            "the API server's certificate does not verify against the kubeconfig's CA",
            "fix certificate-authority-data in the kubeconfig",
        )
    } else if tls.is_some() {
        (
            Code::TlsHandshakeFailed,
            "the TLS handshake failed",
            "check that the server URL points at the API server's secure port",
        )
    } else {
        match io_kind {
            Some(K::ConnectionRefused) => (
                Code::ConnectionRefused,
                "nothing listens on the API server's address",
                "check the kubeconfig's server and that kube-apiserver runs",
            ),
            Some(K::NetworkUnreachable | K::HostUnreachable) => {
                (Code::NoRoute, "no route to the API server", "check routes and firewalls")
            }
            Some(K::TimedOut) => {
                (Code::ConnectTimeout, "the TCP connect timed out", "check firewalls and that the API server is up")
            }
            _ if e.is_timeout() => {
                (Code::ConnectTimeout, "the TCP connect timed out", "check firewalls and that the API server is up")
            }
            _ if e.is_connect() => (
                Code::ConnectionRefused,
                "the connection to the API server failed",
                "check the kubeconfig's server and that kube-apiserver runs",
            ),
            _ => (Code::ApiError, "the request failed in transport", "retry; check the network"),
        }
    };
    Failure::new(code, "api", format!("{method} {server}{path}: {text}")).cause(cause).fix(fix)
}

/// The largest API response body joinkit reads: 16 MiB. The biggest answers joinkit asks for
/// (a SecretList or ClusterRoleBindingList of a large cluster) are a few MiB; a body beyond the
/// bound (an endless chunked stream from a broken proxy or a hostile server) is refused with
/// `api-error` as soon as the bound is crossed, so memory stays bounded. For watches
/// ([`WatchStream`]) the bound applies to each event line.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// Characters of a response body (or a Status message) quoted in an error.
pub const QUOTED_BODY_CHARS: usize = 300;

/// A 2xx watch response. [`WatchStream::chunk`] hands out the body as reqwest does, but ends the
/// stream once more than [`MAX_RESPONSE_BODY`] bytes arrive without a newline (a watch event is
/// one JSON line), so a caller that buffers until a newline holds at most that much; the caller
/// then watches again within its own time bound.
#[derive(Debug)]
pub struct WatchStream {
    resp: reqwest::Response,
    line: usize,
}

impl WatchStream {
    /// The next chunk of the body; `Ok(None)` at its end or once a line exceeds the bound.
    pub async fn chunk(&mut self) -> Result<Option<hyper::body::Bytes>, reqwest::Error> {
        if self.line > MAX_RESPONSE_BODY {
            return Ok(None);
        }
        let Some(c) = self.resp.chunk().await? else { return Ok(None) };
        match c.iter().rposition(|b| *b == b'\n') {
            Some(i) => self.line = c.len() - i - 1,
            None => self.line += c.len(),
        }
        if self.line > MAX_RESPONSE_BODY {
            return Ok(None);
        }
        Ok(Some(c))
    }
}

enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads the body chunk by chunk, failing as soon as it exceeds `limit` bytes (or announces more
/// in Content-Length).
async fn read_body(resp: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(c) = resp.chunk().await.map_err(BodyError::Transport)? {
        if out.len() + c.len() > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&c);
    }
    Ok(out)
}

/// The JSON of an error answer, or its text as a JSON string.
fn error_body(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// `text` for an error message: control characters replaced, at most [`QUOTED_BODY_CHARS`]
/// characters.
fn quote(text: &str) -> String {
    let text = text.trim();
    let mut out: String = text.chars().take(QUOTED_BODY_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().nth(QUOTED_BODY_CHARS).is_some() {
        out.push_str(" [...]");
    }
    out
}

fn too_large(status: u16, method: &str, path: &str) -> Failure {
    Failure::new(
        Code::ApiError,
        "api",
        format!("{method} {path}: HTTP {status}: response body exceeds {} MiB", MAX_RESPONSE_BODY >> 20),
    )
    .cause("the answer is far larger than any API object joinkit reads: something other than the API server (a broken proxy or load balancer) or a misbehaving server answered")
    .fix("check that the kubeconfig's server is the API server itself, e.g. `kubectl get --raw /version`")
}

fn not_json(status: u16, content_type: &str, bytes: &[u8], method: &str, path: &str) -> Failure {
    let ct = if content_type.is_empty() { "no Content-Type".to_string() } else { content_type.to_string() };
    let what = if bytes.iter().all(u8::is_ascii_whitespace) {
        format!("{method} {path}: HTTP {status} with an empty body ({ct}), not the JSON an API server sends")
    } else {
        format!(
            "{method} {path}: HTTP {status} with a {ct} body that is not JSON: {}",
            quote(&String::from_utf8_lossy(bytes))
        )
    };
    Failure::new(Code::ApiError, "api", what)
        .cause("something other than the API server answered (a proxy's HTML login page, a load balancer's error page); nothing was read or changed as intended")
        .fix("check that the kubeconfig's server is the API server itself and that no proxy intercepts it")
}

/// Checks that an answer is one of the `kinds` a caller expects (`what` names the request in
/// the message), e.g. a SecretList for a list of Secrets. Errors: `api-error`.
pub fn expect_kind(v: &Value, kinds: &[&str], what: &str) -> Result<(), Failure> {
    let kind = v.get("kind").and_then(Value::as_str);
    if kind.is_some_and(|k| kinds.contains(&k)) {
        return Ok(());
    }
    let got = match kind {
        Some(k) => format!("a {}", quote(k)),
        None => format!("JSON with no kind: {}", quote(&v.to_string())),
    };
    Err(Failure::new(Code::ApiError, "api", format!("{what}: expected {}, got {got}", kinds.join(" or ")))
        .cause("the server's answer is not what the Kubernetes API returns for this request (a proxy or a different service answered)")
        .fix("check that the kubeconfig's server is the API server itself"))
}
