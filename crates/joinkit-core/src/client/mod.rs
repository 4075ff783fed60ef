//! Talking to an API server one request at a time, with every step reported as a stage.
//!
//! Two entry points, and the types keep them apart (rustls's verifier model,
//! `rustls/src/verify.rs`: verification results are values that cannot be forged):
//!
//! - `fetch_unverified` does resolve, connect, TLS handshake and one anonymous HTTP/1.1 GET
//!   over a single TCP connection and a single TLS handshake. It takes **no credentials at all**
//!   (there is no parameter for them), accepts any certificate chain while still checking the
//!   handshake signature against the leaf's key (so the peer holds that key), and returns an
//!   `UnverifiedResponse`: the recorded chain and the body, usable only as untrusted bytes.
//!   Token discovery uses it for cluster-info (spec section 2.5): the chain is verified
//!   afterwards with `UnverifiedResponse::verify_for` against the CA that the JWS and the pin
//!   vouched for, which proves what kubeadm's second, verified request would.
//! - `fetch_verified` verifies the server's chain **during** the handshake against a
//!   [`TrustAnchors`] (never empty) and only then sends credentials: a client certificate is sent
//!   only after the server's certificate verified, a bearer token only inside the verified
//!   connection. File discovery uses it (kubeadm builds its client from the file's CA before it
//!   fetches, `cmd/kubeadm/app/discovery/file`).
//!
//! Each step is bounded by a timeout and reported as its own stage with its own failure code.
//! hyper is used directly rather than reqwest because discovery must tell resolve, connect,
//! TLS and HTTP failures apart and must use exactly one connection; reqwest hides both.

mod admin;
pub mod api;
mod api_errors;
pub mod exec;
pub mod in_cluster;
pub(crate) mod retry;
mod tls;

pub use tls::TrustAnchors;
use tls::{chain_error, describe_leaf, verify_chain, Recorder};
pub(crate) use tls::{server_name_for, verify_failure, ChainError};

use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use crate::report::Report;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;

crate::stages! {
    /// The stages of one fetch (`fetch_unverified`, `fetch_verified`), in order.
    pub enum FetchStage {
        /// The endpoint's name is resolved (an address literal passes at once).
        Resolve = "resolve",
        /// TCP connect, each address in turn.
        Connect = "connect",
        /// The TLS handshake; the server's chain is recorded.
        TlsHandshake = "tls-handshake",
        /// The chain verified against [`TrustAnchors`] (only `fetch_verified`).
        TlsVerify = "tls-verify",
        /// The one HTTP/1.1 GET.
        HttpGet = "http-get",
    }
}

crate::stages! {
    /// The stages of the admin client ([`api::ApiClient`]).
    pub enum ApiStage {
        /// Finding, reading and using the kubeconfig.
        Kubeconfig = "kubeconfig",
        /// Getting the user's credentials (an exec plugin).
        Credentials = "credentials",
        /// An API request.
        Api = "api",
    }
}

/// The largest response body read (cluster-info is a few KiB).
pub(crate) const MAX_BODY: usize = 8 << 20;

/// The crypto provider joinkit uses everywhere: rustls on ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Client credentials, presented only by `fetch_verified` (over a connection whose server
/// chain verified against [`TrustAnchors`]). `Debug` never shows the secret.
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretString),
    /// A TLS client certificate chain and its key.
    ClientCert(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
}

impl Credentials {
    /// The credentials of an [`api::Identity`] (what the one credential loader,
    /// [`crate::kubeconfig::load_credentials`], returns): `None` for anonymous; a client
    /// certificate's PEM chain and key parsed. Errors: a readable reason, never the key.
    pub(crate) fn from_identity(identity: api::Identity) -> Result<Option<Credentials>, String> {
        use rustls::pki_types::pem::PemObject;
        match identity {
            api::Identity::Anonymous => Ok(None),
            api::Identity::Bearer(t) => Ok(Some(Credentials::Bearer(t))),
            api::Identity::ClientCert(cert, key) => {
                let chain = crate::pin::read_certificates(&cert, "client certificate").map_err(|f| f.message)?;
                let key = PrivateKeyDer::from_pem_slice(key.expose_secret())
                    .map_err(|_| "client key: not a PEM private key".to_string())?;
                Ok(Some(Credentials::ClientCert(chain, key)))
            }
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::ClientCert(chain, _) => {
                write!(f, "ClientCert({} certificate(s), key <redacted>)", chain.len())
            }
        }
    }
}

/// Timeouts for [`fetch_unverified`] and [`fetch_verified`]. Holds no credentials.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchOptions {
    /// Bound for the TCP connect and, separately, for the TLS handshake.
    pub connect_timeout: Duration,
    /// Absolute deadline for the whole exchange.
    pub deadline: Instant,
    /// How kubeadm words a failure of the same request.
    pub what: KubeadmRequest,
}

/// How kubeadm words a failed request, so that a transport failure carries kubeadm's line for
/// the same fault: `{prefix}failed to request {what}: Get "{url}{query}": {Go's error}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KubeadmRequest {
    /// What kubeadm calls the object ("the cluster-info ConfigMap").
    pub what: &'static str,
    /// What kubeadm's client-go appends to the URL (`?timeout=10s`: kubeadm's clients have a
    /// 10 s timeout, `cmd/kubeadm/app/util/kubeconfig` `ToClientSet`, and client-go sends it
    /// as the `timeout` query parameter), or "".
    pub query: &'static str,
    /// What kubeadm wraps the error in ("couldn't validate the identity of the API Server: "
    /// for discovery), or "".
    pub prefix: &'static str,
}

impl KubeadmRequest {
    /// A request kubeadm names `what`, with no query and no wrapping.
    pub(crate) const fn plain(what: &'static str) -> KubeadmRequest {
        KubeadmRequest { what, query: "", prefix: "" }
    }
}

/// An HTTP answer over a connection whose server chain has NOT been verified. Nothing in it
/// is trusted: the body is untrusted bytes, and the recorded chain proves something only once
/// [`UnverifiedResponse::verify_for`] accepted it. It cannot be turned into a
/// [`VerifiedResponse`]; no credential was sent to get it.
#[derive(Debug)]
pub(crate) struct UnverifiedResponse {
    presented_chain: Vec<CertificateDer<'static>>,
    status: u16,
    date: Option<SystemTime>,
    body: Vec<u8>,
}

impl UnverifiedResponse {
    /// The HTTP status (untrusted).
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The `Date` header, if valid (untrusted).
    pub fn date(&self) -> Option<SystemTime> {
        self.date
    }
    /// The body, at most [`MAX_BODY`] bytes (untrusted).
    pub fn untrusted_body(&self) -> &[u8] {
        &self.body
    }
    /// Verifies the recorded chain (leaf first) against `anchors` for `name` at the current
    /// time, as a verified TLS connection would (WebPKI path building, signatures, validity,
    /// name). The handshake signature was already checked against the leaf's key.
    pub fn verify_for(&self, anchors: &TrustAnchors, name: &ServerName<'_>) -> Result<(), ChainError> {
        verify_chain(&self.presented_chain, anchors, name)
    }
}

/// An HTTP answer over a connection whose server chain verified against [`TrustAnchors`]
/// during the handshake, before any credential was sent. Only [`fetch_verified`] makes one.
#[derive(Debug)]
pub(crate) struct VerifiedResponse {
    status: u16,
    date: Option<SystemTime>,
    body: Vec<u8>,
}

impl VerifiedResponse {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The `Date` header, if valid.
    pub fn date(&self) -> Option<SystemTime> {
        self.date
    }
    /// The body, at most [`MAX_BODY`] bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

fn kubeadm_transport(what: KubeadmRequest, url: &str, err: &str) -> String {
    format!("{}failed to request {}: Get \"{url}{}\": {err}", what.prefix, what.what, what.query)
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn timeout_failure(stage: FetchStage, what: KubeadmRequest, url: &str, ep: &Endpoint, d: Duration) -> Failure {
    Failure::new(
        Code::RequestTimeout,
        stage,
        format!("expected an answer from {ep} within the command's --timeout; none came in {d:?}"),
    )
    .kubeadm(kubeadm_transport(what, url, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"))
    .cause("the API server is overloaded or hung, or a proxy in the path holds the connection open")
    .fix("check the API server's health (`curl -k https://ENDPOINT/readyz`), or raise --timeout")
}

/// How the handshake treats the server's chain (private: the public functions fix it).
enum Mode<'a> {
    Record,
    Verify(&'a TrustAnchors, Option<Credentials>),
}

struct Exchange {
    chain: Vec<CertificateDer<'static>>,
    status: u16,
    date: Option<SystemTime>,
    body: Vec<u8>,
}

/// Resolves, connects, handshakes accepting any chain (recorded, handshake signature checked)
/// and GETs `path` from `ep` anonymously, adding one passing stage per step (`resolve`,
/// `connect`, `tls-handshake`, `http-get`) to `report`; on error returns the failure of the
/// step that broke (the caller records it). `path` starts with `/`.
pub(crate) async fn fetch_unverified(
    report: &mut Report,
    ep: &Endpoint,
    path: &str,
    opts: FetchOptions,
) -> Result<UnverifiedResponse, Failure> {
    let x = exchange(report, ep, path, opts, Mode::Record).await?;
    Ok(UnverifiedResponse { presented_chain: x.chain, status: x.status, date: x.date, body: x.body })
}

/// Like [`fetch_unverified`], but the server's chain must verify against `anchors` for the
/// endpoint's name during the handshake (stage `tls-verify`, code `tls-verify-failed`
/// otherwise), and only then are `credentials` presented: the client certificate in the
/// handshake after the server's certificate verified, the bearer token in the request.
pub(crate) async fn fetch_verified(
    report: &mut Report,
    ep: &Endpoint,
    path: &str,
    opts: FetchOptions,
    anchors: &TrustAnchors,
    credentials: Option<Credentials>,
) -> Result<VerifiedResponse, Failure> {
    let x = exchange(report, ep, path, opts, Mode::Verify(anchors, credentials)).await?;
    Ok(VerifiedResponse { status: x.status, date: x.date, body: x.body })
}

async fn exchange(
    report: &mut Report,
    ep: &Endpoint,
    path: &str,
    opts: FetchOptions,
    mode: Mode<'_>,
) -> Result<Exchange, Failure> {
    let url = format!("{}{}", ep.url(), path);
    let what = opts.what;

    // resolve
    report.start();
    let addrs: Vec<SocketAddr> = match ep.ip() {
        Some(ip) => {
            report.pass(FetchStage::Resolve, format!("{ip} is an address literal"));
            vec![SocketAddr::new(ip, ep.port)]
        }
        None => {
            let lookup = tokio::net::lookup_host((ep.host.as_str(), ep.port));
            let res = tokio::time::timeout(remaining(opts.deadline), lookup).await;
            match res {
                Err(_) => return Err(timeout_failure(FetchStage::Resolve, what, &url, ep, remaining(opts.deadline))),
                Ok(Err(e)) => {
                    return Err(Failure::new(
                        Code::DnsFailure,
                        FetchStage::Resolve,
                        format!("expected {:?} to resolve to an address; the resolver said: {e}", ep.host),
                    )
                    .kubeadm(kubeadm_transport(what, &url, &format!("dial tcp: lookup {}: no such host", ep.host)))
                    .cause("the name is mistyped, not in DNS, or the node's resolver (/etc/resolv.conf) cannot reach a DNS server")
                    .fix(format!(
                        "check `getent hosts {}` on this node; use the control-plane IP address or fix DNS / /etc/hosts",
                        ep.host
                    )))
                }
                Ok(Ok(it)) => {
                    let v: Vec<SocketAddr> = it.collect();
                    if v.is_empty() {
                        return Err(Failure::new(Code::DnsFailure, FetchStage::Resolve, format!("{:?} resolved to no address", ep.host))
                            .kubeadm(kubeadm_transport(what, &url, &format!("dial tcp: lookup {}: no such host", ep.host)))
                            .cause("the DNS record exists but has no A/AAAA data")
                            .fix("fix the DNS record or use the control-plane IP address"));
                    }
                    report.pass(
                        FetchStage::Resolve,
                        format!("{} -> {}", ep.host, v.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")),
                    );
                    v
                }
            }
        }
    };

    // connect: try each address in turn, report the first address's error if all fail.
    report.start();
    let mut first_err: Option<Failure> = None;
    let mut stream: Option<(TcpStream, SocketAddr)> = None;
    for addr in &addrs {
        let budget = opts.connect_timeout.min(remaining(opts.deadline));
        match tokio::time::timeout(budget, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                stream = Some((s, *addr));
                break;
            }
            Ok(Err(e)) => {
                if first_err.is_none() {
                    first_err = Some(connect_failure(&e, *addr, ep, what, &url));
                }
            }
            Err(_) => {
                if first_err.is_none() {
                    first_err = Some(
                        Failure::new(
                            Code::ConnectTimeout,
                            FetchStage::Connect,
                            format!("expected a TCP connection to {addr} within {budget:?}; no answer (SYN unanswered)"),
                        )
                        .kubeadm(kubeadm_transport(what, &url, &format!("dial tcp {addr}: i/o timeout")))
                        .cause("a firewall or security group drops traffic to the port, the host is down, or the address is wrong")
                        .fix(format!(
                            "allow TCP {} from this node to the control plane (security group / firewalld / iptables); check the API server is up on that address",
                            ep.port
                        )),
                    );
                }
            }
        }
    }
    let Some((tcp, peer)) = stream else {
        return Err(
            first_err.unwrap_or_else(|| Failure::new(Code::Internal, FetchStage::Connect, "no address to connect to"))
        );
    };
    let _ = tcp.set_nodelay(true);
    report.pass(FetchStage::Connect, format!("TCP connected to {peer}"));

    // tls-handshake (and, in verify mode, tls-verify inside it)
    report.start();
    let provider = provider();
    let (webpki, anchors, bearer, client_cert) = match mode {
        Mode::Record => (None, None, None, None),
        Mode::Verify(anchors, creds) => {
            let inner = anchors
                .webpki_verifier()
                .map_err(|e| Failure::new(Code::Internal, FetchStage::TlsHandshake, e.reason))?;
            let (bearer, cert) = match creds {
                None => (None, None),
                Some(Credentials::Bearer(t)) => (Some(t), None),
                Some(Credentials::ClientCert(chain, key)) => (None, Some((chain, key))),
            };
            (Some(inner), Some(anchors), bearer, cert)
        }
    };
    let recorder = Arc::new(Recorder::new(webpki, provider.clone()));
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(Code::Internal, FetchStage::TlsHandshake, format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone());
    let mut config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => tls::with_client_cert(builder, chain, key).map_err(|e| {
            let cause = match e {
                tls::ClientAuthError::NotAPair => "the kubeconfig's client-certificate and client-key are not a pair",
                tls::ClientAuthError::UnsupportedKey(_) => "the kubeconfig's client-key is of a type that cannot sign",
                _ => "the kubeconfig's client-certificate is not an X.509 certificate",
            };
            Failure::new(
                Code::BadInputFile,
                FetchStage::TlsHandshake,
                format!("the client certificate and key cannot be presented: {e}"),
            )
            .cause(cause)
            .fix("regenerate the kubeconfig's credentials")
        })?,
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let server_name: ServerName<'static> = match ep.ip() {
        Some(ip) => ServerName::IpAddress(ip.into()),
        None => ServerName::try_from(ep.host.clone()).map_err(|_| {
            Failure::new(
                Code::BadEndpoint,
                FetchStage::TlsHandshake,
                format!("{:?} is not a valid TLS server name", ep.host),
            )
        })?,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let budget = opts.connect_timeout.min(remaining(opts.deadline));
    let tcp = FirstBytes::new(tcp);
    let head = tcp.head.clone();
    let tls = match tokio::time::timeout(budget, connector.connect(server_name.clone(), tcp)).await {
        Err(_) => {
            return Err(Failure::new(
                Code::TlsHandshakeFailed,
                FetchStage::TlsHandshake,
                format!("expected a TLS ServerHello from {peer} within {budget:?}; the port accepted TCP but sent nothing"),
            )
            .kubeadm(kubeadm_transport(what, &url, "net/http: TLS handshake timeout"))
            .cause("the process on that port is hung or is not a TLS server waiting for the client to speak (e.g. a stalled proxy or load balancer without a healthy backend)")
            .fix(format!("check what listens on {peer} (`ss -ltnp` there) and that the load balancer forwards to a healthy kube-apiserver")))
        }
        Ok(Err(e)) => {
            // A chain our verifier rejected: the handshake stopped there, before any client
            // certificate or request left this process.
            if let (Some(anchors), Some(err)) = (anchors, recorder.rejection()) {
                let chain = recorder.recorded();
                report.pass(
                    FetchStage::TlsHandshake,
                    format!(
                        "server presented {} certificate(s): {}; joinkit stopped the handshake (see tls-verify)",
                        chain.len(),
                        describe_leaf(&chain)
                    ),
                );
                report.start();
                let ce = chain_error(&err, &server_name, chain.first());
                return Err(verify_failure(&ce, ep, anchors, what, &url));
            }
            let head = head.lock().map(|h| h.clone()).unwrap_or_default();
            return Err(tls_failure(&e, peer, what, &url, &head));
        }
        Ok(Ok(s)) => s,
    };
    let chain = recorder.recorded();
    let (_, conn) = tls.get_ref();
    let version = conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
    report.pass(
        FetchStage::TlsHandshake,
        format!("{version}, server presented {} certificate(s): {}", chain.len(), describe_leaf(&chain)),
    );
    if let Some(anchors) = anchors {
        report.start();
        report.pass(
            FetchStage::TlsVerify,
            format!("the serving certificate chains to {} and is valid for {}", anchors.source(), ep.host),
        );
    }

    // http-get
    report.start();
    let io = hyper_util::rt::TokioIo::new(tls);
    let exchange = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = hyper::Request::get(path)
            .header(hyper::header::HOST, ep.to_string())
            .header(hyper::header::USER_AGENT, concat!("joinkit/", env!("CARGO_PKG_VERSION")))
            .header(hyper::header::ACCEPT, "application/json, */*");
        if let Some(t) = &bearer {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {}", t.expose_secret()));
        }
        let req = req.body(Empty::<Bytes>::new()).expect("static request parts are valid");
        let resp = sender.send_request(req).await?;
        Ok::<_, hyper::Error>(resp)
    };
    let resp = match tokio::time::timeout(remaining(opts.deadline), exchange).await {
        Err(_) => return Err(timeout_failure(FetchStage::HttpGet, what, &url, ep, remaining(opts.deadline))),
        Ok(Err(e)) => {
            return Err(Failure::new(
                Code::ClusterInfoHttpError,
                FetchStage::HttpGet,
                format!("expected an HTTP/1.1 answer; the exchange failed: {e}"),
            )
            .kubeadm(kubeadm_transport(what, &url, &e.to_string()))
            .cause("the server closed the connection or answered with something that is not HTTP")
            .fix("check that the endpoint is a kube-apiserver (or a load balancer in front of one)"))
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status().as_u16();
    let date = resp
        .headers()
        .get(hyper::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| httpdate::parse_http_date(s).ok());
    let body = match tokio::time::timeout(remaining(opts.deadline), Limited::new(resp.into_body(), MAX_BODY).collect())
        .await
    {
        Err(_) => return Err(timeout_failure(FetchStage::HttpGet, what, &url, ep, remaining(opts.deadline))),
        Ok(Err(e)) => {
            return Err(Failure::new(
                Code::ClusterInfoHttpError,
                FetchStage::HttpGet,
                format!("reading the response body failed: {e}"),
            )
            .cause("the connection broke mid-answer or the body exceeds 8 MiB")
            .fix("retry; if it persists, check the API server's logs"))
        }
        Ok(Ok(b)) => b.to_bytes().to_vec(),
    };
    report.pass(FetchStage::HttpGet, format!("GET {path} -> HTTP {status}, {} bytes", body.len()));
    Ok(Exchange { chain, status, date, body })
}

fn connect_failure(e: &std::io::Error, addr: SocketAddr, ep: &Endpoint, what: KubeadmRequest, url: &str) -> Failure {
    use std::io::ErrorKind as K;
    const ENETUNREACH: i32 = 101;
    const EHOSTUNREACH: i32 = 113;
    match (e.kind(), e.raw_os_error()) {
        (K::ConnectionRefused, _) => Failure::new(
            Code::ConnectionRefused,
            FetchStage::Connect,
            format!("expected a TCP listener on {addr}; the host answered with a reset (nothing listens there)"),
        )
        .kubeadm(kubeadm_transport(what, url, &format!("dial tcp {addr}: connect: connection refused")))
        .cause("kube-apiserver is not running or listens on another port or address, or a firewall rejects (REJECT) the connection")
        .fix(format!(
            "on the control plane check `ss -ltnp | grep {}` and `crictl ps | grep kube-apiserver`; the API server port is usually 6443 (not 443 or 8443)",
            ep.port
        )),
        (K::NetworkUnreachable | K::HostUnreachable, _) | (_, Some(ENETUNREACH | EHOSTUNREACH)) => {
            let go = if e.raw_os_error() == Some(EHOSTUNREACH) { "no route to host" } else { "network is unreachable" };
            Failure::new(Code::NoRoute, FetchStage::Connect, format!("expected a route to {addr}; the kernel says: {e}"))
                .kubeadm(kubeadm_transport(what, url, &format!("dial tcp {addr}: connect: {go}")))
                .cause("this node has no route to the control plane's network (no default route, a subnet without a route table entry or NAT gateway, or a host firewall sending ICMP unreachable)")
                .fix("check `ip route get ADDRESS` on the node; add the missing route (cloud: subnet route table / NAT gateway) or fix the firewall")
        }
        _ => Failure::new(Code::NoRoute, FetchStage::Connect, format!("expected a TCP connection to {addr}; it failed: {e}"))
            .kubeadm(kubeadm_transport(what, url, &format!("dial tcp {addr}: connect: {e}")))
            .cause("the operating system refused the connection attempt")
            .fix("check the node's network configuration (`ip addr`, `ip route`)"),
    }
}

/// A stream that keeps the first five bytes the server sent (a TLS record header's length), so
/// that a failed handshake can be worded as Go's net/http words it.
struct FirstBytes<S> {
    inner: S,
    head: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl<S> FirstBytes<S> {
    fn new(inner: S) -> Self {
        FirstBytes { inner, head: Arc::new(std::sync::Mutex::new(Vec::with_capacity(5))) }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for FirstBytes<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = r {
            let new = &buf.filled()[before..];
            if let Ok(mut h) = self.head.lock() {
                let take = (5 - h.len().min(5)).min(new.len());
                h.extend_from_slice(&new[..take]);
            }
        }
        r
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for FirstBytes<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// `head`: the first bytes the server sent. Go's net/http turns a TLS record-header error whose
/// five bytes are `HTTP/` into "http: server gave HTTP response to HTTPS client"
/// (`net/http/transport.go`, `persistConn.addTLS`); other non-TLS answers keep crypto/tls's
/// "tls: first record does not look like a TLS handshake".
fn tls_failure(e: &std::io::Error, peer: SocketAddr, what: KubeadmRequest, url: &str, head: &[u8]) -> Failure {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let not_tls = matches!(inner, Some(rustls::Error::InvalidMessage(_)));
    let eof = e.kind() == std::io::ErrorKind::UnexpectedEof;
    let (seen, go, cause) = if not_tls {
        (
            format!("the server on {peer} answered with something that is not TLS ({e})"),
            if head == b"HTTP/" {
                "http: server gave HTTP response to HTTPS client".to_string()
            } else {
                "tls: first record does not look like a TLS handshake".to_string()
            },
            "this port does not speak TLS: it is plain HTTP (e.g. an insecure port, a health-check port or a proxy), or another service",
        )
    } else if eof {
        (
            format!("the server on {peer} closed the connection during the TLS handshake"),
            "EOF".to_string(),
            "the server rejected the handshake (no common TLS version or cipher, SNI routing with no match), or it is not a TLS server",
        )
    } else {
        (
            format!("the TLS handshake with {peer} failed: {e}"),
            format!("remote error: {e}"),
            "the server does not offer a TLS version or cipher suite joinkit and the kubelet accept, or an interception proxy broke the handshake",
        )
    };
    Failure::new(Code::TlsHandshakeFailed, FetchStage::TlsHandshake, format!("expected a TLS handshake; {seen}"))
        .kubeadm(kubeadm_transport(what, url, &go))
        .cause(cause)
        .fix("point joinkit at the kube-apiserver's secure port (usually 6443); `openssl s_client -connect ENDPOINT` shows what the port speaks")
}
