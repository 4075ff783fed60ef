//! A small typed client for the few API calls joinkit makes as an admin, over reqwest with
//! rustls on ring.
//!
//! [`ApiClient::connect`] (in `admin.rs`) builds it from a kubeconfig through the one loader;
//! `ApiClient::for_discovered` from a [`TrustedClusterInfo`]. Failures are mapped in
//! `api_errors.rs`: 401 `api-unauthorized`, 403 `api-forbidden` (the RBAC message quoted), 404
//! `api-not-found`, 409 `api-conflict`, 422 `api-invalid`; transport errors use
//! verify-discovery's codes; 429 and 5xx are retried by the one retry rule
//! (`super::retry::Policy::api`), honouring `Retry-After`.

pub(crate) use super::api_errors::{api_failure, expect_kind, transport_failure};
use super::api_errors::{error_body, not_json, too_large};
use super::retry::{Policy, Retry};
use super::{ApiStage, TrustAnchors};
use crate::discovery::TrustedClusterInfo;
use crate::error::{Code, Failure};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// The same TLS configuration without a total request timeout, for [`ApiClient::transport`].
    long: reqwest::Client,
    base: String,
    bearer: Option<Arc<Bearer>>,
    /// The server URL from the kubeconfig.
    pub server: String,
    /// The kubeconfig's CA certificates (DER), empty when it names none.
    pub ca: Vec<CertificateDer<'static>>,
    /// Warnings to show (insecure TLS, ...).
    pub warnings: Vec<String>,
    /// Bound for retries of 429/5xx.
    pub retry_budget: Duration,
    /// The verifier that records the server's chain (none with insecure-skip-tls-verify).
    served: Option<Arc<super::tls::Recorder>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient").field("server", &self.server).finish_non_exhaustive()
    }
}

/// A `kubeconfig-unusable` failure (stage `kubeconfig`) with `fix`.
pub(super) fn unusable(msg: impl Into<String>, fix: impl Into<String>) -> Failure {
    Failure::new(Code::KubeconfigUnusable, ApiStage::Kubeconfig, msg)
        .cause("joinkit needs an admin kubeconfig for this command, as kubectl does")
        .fix(fix)
}

/// Credentials for `ApiClient::for_discovered`. `Debug` never shows the secret.
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
/// Returns two clients over one rustls configuration: one whose requests end after `timeout`,
/// and one for long-lived requests (watches) with no total bound but [`LONG_READ_TIMEOUT`]
/// between reads.
fn build_http(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    identity: Option<(Vec<u8>, SecretSlice<u8>)>,
    timeout: Duration,
    source: &str,
) -> Result<(reqwest::Client, reqwest::Client), Failure> {
    let mut config = match identity {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(&cert).collect::<Result<_, _>>().map_err(|e| {
                    unusable(format!("{source}: client certificate: {e}"), "fix client-certificate(-data)")
                })?;
            let key = PrivateKeyDer::from_pem_slice(key.expose_secret()).map_err(|_| {
                unusable(format!("{source}: client key: not a PEM private key"), "fix client-key(-data)")
            })?;
            super::tls::with_client_cert(builder, chain, key).map_err(|e| {
                let fix = match e {
                    super::tls::ClientAuthError::NotAPair => {
                        "client-key(-data) must be the key of client-certificate(-data): regenerate the pair"
                    }
                    super::tls::ClientAuthError::UnsupportedKey(_) => {
                        "use an RSA, ECDSA (P-256/P-384) or Ed25519 key, as the API server accepts"
                    }
                    _ => "fix client-certificate(-data)",
                };
                unusable(format!("{source}: client certificate and key: {e}"), fix)
            })?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let base = || {
        reqwest::Client::builder()
            .use_preconfigured_tls(config.clone())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("joinkit/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
    };
    let err = |e: reqwest::Error| Failure::new(Code::Internal, ApiStage::Kubeconfig, format!("HTTP client: {e}"));
    Ok((base().timeout(timeout).build().map_err(err)?, base().read_timeout(LONG_READ_TIMEOUT).build().map_err(err)?))
}

/// The longest silence [`ApiClient::transport`] accepts between two reads of a response: 330
/// s, above the 290 s a watch lasts by default (kube-rs's `watcher::Config` timeout, as
/// client-go's reflector picks 5-10 minutes) and the API server's bookmarks.
pub const LONG_READ_TIMEOUT: Duration = Duration::from_secs(330);

/// Where a bearer token comes from. `Debug` never shows it.
pub(crate) enum Bearer {
    /// A token from the kubeconfig or an exec plugin.
    Fixed(SecretString),
    /// A projected service-account token, which the kubelet rotates: re-read (bounded) once it
    /// is a minute old, as client-go's `CachedFileTokenSource` does; a failed re-read keeps the
    /// last token.
    File {
        /// The token file.
        path: PathBuf,
        /// The last token read and when.
        cached: std::sync::Mutex<(SecretString, std::time::Instant)>,
        /// How old the cached token may get before the file is read again (a minute).
        refresh: Duration,
    },
}

impl Bearer {
    /// The token to send now.
    pub(crate) fn current(&self) -> SecretString {
        match self {
            Bearer::Fixed(t) => t.clone(),
            Bearer::File { path, cached, refresh } => {
                let mut c = cached.lock().unwrap_or_else(|e| e.into_inner());
                if c.1.elapsed() >= *refresh {
                    if let Ok(t) = super::in_cluster::read_token(path) {
                        *c = (t, std::time::Instant::now());
                    }
                }
                c.0.clone()
            }
        }
    }
}

impl ApiClient {
    /// A client for the API server of a [`TrustedClusterInfo`] (JWS, pin and serving
    /// certificate verified), trusting exactly its CA, presenting `identity`. This is the only
    /// way to send the bootstrap token or a new node certificate to a discovered server: an
    /// unverified cluster-info cannot reach here, and its server is `https://` by construction.
    pub(crate) fn for_discovered(
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
        let (builder, recorder) =
            anchors.client_config_builder().map_err(|e| Failure::new(Code::Internal, ApiStage::Kubeconfig, e))?;
        let mut client = Self::with_anchors_builder(builder, server, identity, timeout, server)?;
        client.ca = anchors.certs().to_vec();
        client.served = Some(recorder);
        Ok(client)
    }

    /// A client for `server` (https only) over `builder`'s server verification, presenting
    /// `identity`; `source` names the kubeconfig (or the server) in messages.
    pub(super) fn with_anchors_builder(
        builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
        server: &str,
        identity: Identity,
        timeout: Duration,
        source: &str,
    ) -> Result<ApiClient, Failure> {
        if !server.starts_with("https://") {
            return Err(unusable(format!("the server {server} is not https"), "use the API server's https URL"));
        }
        let (bearer, id) = match identity {
            Identity::Anonymous => (None, None),
            Identity::Bearer(t) => (Some(t), None),
            Identity::ClientCert(c, k) => (None, Some((c, k))),
        };
        let (http, long) = build_http(builder, id, timeout, source)?;
        let server = server.trim_end_matches('/').to_string();
        Ok(ApiClient {
            http,
            long,
            base: server.clone(),
            bearer: bearer.map(|t| Arc::new(Bearer::Fixed(t))),
            server,
            ca: Vec::new(),
            warnings: Vec::new(),
            retry_budget: Duration::from_secs(10),
            served: None,
        })
    }

    pub(super) fn set_served(&mut self, recorder: Arc<super::tls::Recorder>) {
        self.served = Some(recorder);
    }

    /// The API server's serving certificate (DER) as verified on the last connection, once a
    /// request has been made; `None` before, or with insecure-skip-tls-verify.
    pub fn served_certificate(&self) -> Option<CertificateDer<'static>> {
        self.served.as_ref().and_then(|r| r.recorded().into_iter().next())
    }

    /// Sends a GET and returns the response as a [`WatchStream`] when it is 2xx (for watches);
    /// an error answer's body is read with the [`MAX_RESPONSE_BODY`] bound.
    pub(crate) async fn get_stream(&self, path: &str, timeout: Duration) -> Result<WatchStream, Failure> {
        let mut req =
            self.http.get(format!("{}{path}", self.base)).header("accept", "application/json").timeout(timeout);
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t.current().expose_secret());
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

    /// The connection as a transport for a long-running client (the approver's kube-rs
    /// client): the same verified TLS configuration and credentials, no total timeout. See
    /// [`ApiTransport`].
    pub fn transport(&self) -> ApiTransport {
        ApiTransport { http: self.long.clone(), base: self.base.clone(), bearer: self.bearer.clone() }
    }

    pub(super) fn set_bearer(&mut self, bearer: Bearer) {
        self.bearer = Some(Arc::new(bearer));
    }

    /// GET `path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, Failure> {
        self.request(reqwest::Method::GET, path, None).await
    }

    /// GET `path`; `Ok(None)` for 404.
    pub(crate) async fn get_opt(&self, path: &str) -> Result<Option<Value>, Failure> {
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

    /// PUT `body` to `path` (a whole object: the CSR `/approval` subresource).
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        self.request(reqwest::Method::PUT, path, Some(body)).await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Result<Value, Failure> {
        self.request(reqwest::Method::DELETE, path, None).await
    }

    /// Lists the collection at `path` (whose list kind is `kind`) page by page, as kubectl's
    /// `--chunk-size` does (`limit` and `continue`: `k8s.io/apimachinery` list chunking), so
    /// that no single answer has to hold every object: pages of [`LIST_PAGE_LIMIT`] objects, and
    /// a page whose body exceeds [`MAX_RESPONSE_BODY`] is asked again with half the limit, down
    /// to one object. Returns the items. Errors: the API's, a body over the bound even for one
    /// object, or an answer of another kind.
    pub async fn list(&self, path: &str, kind: &str) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        let mut cont: Option<String> = None;
        let mut limit = LIST_PAGE_LIMIT;
        loop {
            let mut page_path = format!("{path}?limit={limit}");
            if let Some(c) = &cont {
                page_path.push_str("&continue=");
                page_path.push_str(&percent_encode(c));
            }
            let mut v = match self.request_bounded(reqwest::Method::GET, &page_path, None).await {
                Ok(v) => v,
                Err((_, true)) if limit > 1 => {
                    limit = (limit / 2).max(1);
                    continue;
                }
                Err((f, _)) => return Err(f),
            };
            expect_kind(&v, &[kind], &format!("GET {path}"))?;
            if let Some(a) = v.get_mut("items").and_then(Value::as_array_mut) {
                items.append(a);
            }
            cont =
                v.pointer("/metadata/continue").and_then(Value::as_str).filter(|c| !c.is_empty()).map(str::to_string);
            if cont.is_none() {
                return Ok(items);
            }
        }
    }

    async fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        self.request_bounded(method, path, body).await.map_err(|(f, _)| f)
    }

    /// One request (retried on 429/5xx); the error says whether the body was over
    /// [`MAX_RESPONSE_BODY`].
    async fn request_bounded(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, (Failure, bool)> {
        let mut retry = Retry::new(Policy::api(self.retry_budget));
        loop {
            let mut req =
                self.http.request(method.clone(), format!("{}{path}", self.base)).header("accept", "application/json");
            if let Some(t) = &self.bearer {
                req = req.bearer_auth(t.current().expose_secret());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let mut resp =
                req.send().await.map_err(|e| (transport_failure(&e, &self.server, method.as_str(), path), false))?;
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
                Err(BodyError::TooLarge) => return Err((too_large(status, method.as_str(), path), true)),
                Err(BodyError::Transport(e)) => {
                    return Err((transport_failure(&e, &self.server, method.as_str(), path), false))
                }
            };
            if (200..300).contains(&status) {
                return serde_json::from_slice(&bytes)
                    .map_err(|_| (not_json(status, &content_type, &bytes, method.as_str(), path), false));
            }
            let v = error_body(&bytes);
            let attempt = retry.attempts();
            match retry.pause_after(status == 429 || status >= 500, retry_after.map(Duration::from_secs)) {
                Some(pause) => tokio::time::sleep(pause).await,
                None => return Err((api_failure(status, &v, method.as_str(), path, attempt), false)),
            }
        }
    }
}

/// An [`ApiClient`]'s connection for another HTTP client stack: requests go to the client's
/// API server only (the request URI's path and query are appended to its https base URL; a
/// request cannot name another host), over the TLS configuration that verified it, with its
/// credentials (a client certificate in the handshake, a bearer token added here, after the
/// server's certificate is verified). No redirects, no proxy, a read timeout of
/// [`LONG_READ_TIMEOUT`]. Cheap to clone.
#[derive(Clone)]
pub struct ApiTransport {
    http: reqwest::Client,
    base: String,
    bearer: Option<Arc<Bearer>>,
}

impl std::fmt::Debug for ApiTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiTransport").field("base", &self.base).finish_non_exhaustive()
    }
}

impl ApiTransport {
    /// Sends one request (method, path and query, headers, body) to the API server. The
    /// response body streams (a watch); bounding it is the caller's. Errors: reqwest's
    /// (connection, TLS, read timeout).
    pub async fn send(
        &self,
        req: http::Request<hyper::body::Bytes>,
    ) -> Result<http::Response<reqwest::Body>, reqwest::Error> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut rb = self.http.request(parts.method, format!("{}{path}", self.base)).headers(parts.headers);
        if let Some(t) = &self.bearer {
            rb = rb.bearer_auth(t.current().expose_secret());
        }
        let resp = rb.body(body).send().await?;
        Ok(resp.into())
    }
}

/// The largest API response body joinkit reads: 16 MiB. The biggest answers joinkit asks for
/// (a SecretList or ClusterRoleBindingList of a large cluster) are a few MiB; a body beyond the
/// bound (an endless chunked stream from a broken proxy or a hostile server) is refused with
/// `api-error` as soon as the bound is crossed, so memory stays bounded. For watches
/// ([`WatchStream`]) the bound applies to each event line.
pub(crate) const MAX_RESPONSE_BODY: usize = 16 << 20;

/// Objects per page of [`ApiClient::list`] (kubectl's default `--chunk-size` is 500).
pub const LIST_PAGE_LIMIT: usize = 500;

/// A `continue` token for a query string (RFC 3986 unreserved characters kept, the rest
/// percent-encoded).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A 2xx watch response. [`WatchStream::chunk`] hands out the body as reqwest does, but ends the
/// stream once more than [`MAX_RESPONSE_BODY`] bytes arrive without a newline (a watch event is
/// one JSON line), so a caller that buffers until a newline holds at most that much; the caller
/// then watches again within its own time bound.
#[derive(Debug)]
pub(crate) struct WatchStream {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_re_read_once_the_cached_token_is_old_and_kept_when_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let first = super::super::in_cluster::read_token(&path).unwrap();
        assert_eq!(first.expose_secret(), "first");
        let at = std::time::Instant::now();
        let fresh = Bearer::File {
            path: path.clone(),
            cached: std::sync::Mutex::new((first.clone(), at)),
            refresh: Duration::from_secs(3600),
        };
        let stale =
            Bearer::File { path: path.clone(), cached: std::sync::Mutex::new((first, at)), refresh: Duration::ZERO };
        std::fs::write(&path, "rotated").unwrap();
        assert_eq!(fresh.current().expose_secret(), "first", "within the refresh interval the cache is used");
        assert_eq!(stale.current().expose_secret(), "rotated", "an old cache is re-read (the kubelet rotated it)");
        std::fs::write(&path, "").unwrap();
        assert_eq!(stale.current().expose_secret(), "rotated", "an empty file keeps the last token");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(stale.current().expose_secret(), "rotated", "a missing file keeps the last token");
    }
}
