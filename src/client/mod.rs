//! Talking to an API server one request at a time, with every step reported as a stage.
//!
//! [`fetch`] does resolve, connect, TLS handshake and one HTTP/1.1 GET over a single TCP
//! connection and a single TLS handshake, each step bounded by a timeout and reported as its
//! own stage with its own failure code. The TLS handshake accepts any certificate chain but
//! still checks the handshake signature against the leaf's key (so the peer holds that key);
//! the chain is recorded and verified afterwards with [`verify_chain`] against a CA bundle
//! learned later (cluster-info's), which proves what a second, verified request would
//! (spec section 2.5). Nothing here trusts the recorded chain until it has been verified.
//!
//! hyper is used directly rather than reqwest because discovery must tell resolve, connect,
//! TLS and HTTP failures apart and must use exactly one connection; reqwest hides both.

pub mod api;
pub mod exec;

use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use crate::report::Report;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpStream;

/// The largest response body read (cluster-info is a few KiB).
pub const MAX_BODY: usize = 8 << 20;

/// The crypto provider joinkit uses everywhere: rustls on ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any chain, records it, and verifies handshake signatures (see module docs).
#[derive(Debug)]
struct RecordingVerifier {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut g) = self.chain.lock() {
            *g = chain;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Client credentials for a request.
#[derive(Debug, Default)]
pub enum Credentials {
    /// No credentials: the request is anonymous.
    #[default]
    Anonymous,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A TLS client certificate chain and key.
    ClientCert(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
}

/// Timeouts and credentials for [`fetch`].
#[derive(Debug)]
pub struct FetchOptions {
    /// Bound for the TCP connect and, separately, for the TLS handshake.
    pub connect_timeout: Duration,
    /// Absolute deadline for the whole exchange.
    pub deadline: Instant,
    /// Credentials to present.
    pub credentials: Credentials,
    /// Names the request in kubeadm-style messages ("the cluster-info ConfigMap").
    pub what: &'static str,
}

/// An HTTP answer and what was learned about the connection. The chain is unverified.
#[derive(Debug)]
pub struct Fetched {
    /// The address connected to.
    pub peer: SocketAddr,
    /// The certificate chain the server presented, leaf first (NOT verified).
    pub presented_chain: Vec<CertificateDer<'static>>,
    /// HTTP status code.
    pub status: u16,
    /// The `Date` header, if the server sent a valid one.
    pub date: Option<SystemTime>,
    /// `Retry-After`, in seconds, if sent.
    pub retry_after: Option<u64>,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Vec<u8>,
}

fn kubeadm_transport(what: &str, url: &str, err: &str) -> String {
    format!("failed to request {what}: Get \"{url}\": {err}")
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn timeout_failure(stage: &str, what: &str, url: &str, ep: &Endpoint, d: Duration) -> Failure {
    Failure::new(
        Code::RequestTimeout,
        stage,
        format!("expected an answer from {ep} within the command's --timeout; none came in {d:?}"),
    )
    .kubeadm(kubeadm_transport(what, url, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"))
    .cause("the API server is overloaded or hung, or a proxy in the path holds the connection open")
    .fix("check the API server's health (`curl -k https://ENDPOINT/readyz`), or raise --timeout")
}

/// Resolves, connects, handshakes and GETs `path` from `ep`, adding one passing stage per step
/// (`resolve`, `connect`, `tls-handshake`, `http-get`) to `report`; on error returns the
/// failure of the step that broke (the caller records it). `path` starts with `/`.
pub async fn fetch(report: &mut Report, ep: &Endpoint, path: &str, opts: FetchOptions) -> Result<Fetched, Failure> {
    let url = format!("{}{}", ep.url(), path);
    let what = opts.what;

    // resolve
    report.start();
    let addrs: Vec<SocketAddr> = match ep.ip() {
        Some(ip) => {
            report.pass("resolve", format!("{ip} is an address literal"));
            vec![SocketAddr::new(ip, ep.port)]
        }
        None => {
            let lookup = tokio::net::lookup_host((ep.host.as_str(), ep.port));
            let res = tokio::time::timeout(remaining(opts.deadline), lookup).await;
            match res {
                Err(_) => return Err(timeout_failure("resolve", what, &url, ep, remaining(opts.deadline))),
                Ok(Err(e)) => {
                    return Err(Failure::new(
                        Code::DnsFailure,
                        "resolve",
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
                        return Err(Failure::new(Code::DnsFailure, "resolve", format!("{:?} resolved to no address", ep.host))
                            .kubeadm(kubeadm_transport(what, &url, &format!("dial tcp: lookup {}: no such host", ep.host)))
                            .cause("the DNS record exists but has no A/AAAA data")
                            .fix("fix the DNS record or use the control-plane IP address"));
                    }
                    report.pass(
                        "resolve",
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
                            "connect",
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
        return Err(first_err.unwrap_or_else(|| Failure::new(Code::Internal, "connect", "no address to connect to")));
    };
    let _ = tcp.set_nodelay(true);
    report.pass("connect", format!("TCP connected to {peer}"));

    // tls-handshake
    report.start();
    let provider = provider();
    let verifier = Arc::new(RecordingVerifier { chain: Mutex::new(Vec::new()), provider: provider.clone() });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(Code::Internal, "tls-handshake", format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let (mut config, bearer) = match opts.credentials {
        Credentials::Anonymous => (builder.with_no_client_auth(), None),
        Credentials::Bearer(t) => (builder.with_no_client_auth(), Some(t)),
        Credentials::ClientCert(chain, key) => (
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Failure::new(
                    Code::BadInputFile,
                    "tls-handshake",
                    format!("the client certificate and key do not fit together: {e}"),
                )
                .cause("the kubeconfig's client-certificate and client-key are not a pair")
                .fix("regenerate the kubeconfig's credentials")
            })?,
            None,
        ),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let server_name: ServerName<'static> = match ep.ip() {
        Some(ip) => ServerName::IpAddress(ip.into()),
        None => ServerName::try_from(ep.host.clone()).map_err(|_| {
            Failure::new(Code::BadEndpoint, "tls-handshake", format!("{:?} is not a valid TLS server name", ep.host))
        })?,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let budget = opts.connect_timeout.min(remaining(opts.deadline));
    let tls = match tokio::time::timeout(budget, connector.connect(server_name, tcp)).await {
        Err(_) => {
            return Err(Failure::new(
                Code::TlsHandshakeFailed,
                "tls-handshake",
                format!("expected a TLS ServerHello from {peer} within {budget:?}; the port accepted TCP but sent nothing"),
            )
            .kubeadm(kubeadm_transport(what, &url, "net/http: TLS handshake timeout"))
            .cause("the process on that port is hung or is not a TLS server waiting for the client to speak (e.g. a stalled proxy or load balancer without a healthy backend)")
            .fix(format!("check what listens on {peer} (`ss -ltnp` there) and that the load balancer forwards to a healthy kube-apiserver")))
        }
        Ok(Err(e)) => return Err(tls_failure(&e, peer, what, &url)),
        Ok(Ok(s)) => s,
    };
    let chain = verifier.chain.lock().map(|g| g.clone()).unwrap_or_default();
    let (_, conn) = tls.get_ref();
    let version = conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
    report.pass(
        "tls-handshake",
        format!("{version}, server presented {} certificate(s): {}", chain.len(), describe_leaf(&chain)),
    );

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
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Empty::<Bytes>::new()).expect("static request parts are valid");
        let resp = sender.send_request(req).await?;
        Ok::<_, hyper::Error>(resp)
    };
    let resp = match tokio::time::timeout(remaining(opts.deadline), exchange).await {
        Err(_) => return Err(timeout_failure("http-get", what, &url, ep, remaining(opts.deadline))),
        Ok(Err(e)) => {
            return Err(Failure::new(
                Code::ClusterInfoHttpError,
                "http-get",
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
    let retry_after = resp
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok());
    let body = match tokio::time::timeout(remaining(opts.deadline), Limited::new(resp.into_body(), MAX_BODY).collect())
        .await
    {
        Err(_) => return Err(timeout_failure("http-get", what, &url, ep, remaining(opts.deadline))),
        Ok(Err(e)) => {
            return Err(Failure::new(
                Code::ClusterInfoHttpError,
                "http-get",
                format!("reading the response body failed: {e}"),
            )
            .cause("the connection broke mid-answer or the body exceeds 8 MiB")
            .fix("retry; if it persists, check the API server's logs"))
        }
        Ok(Ok(b)) => b.to_bytes().to_vec(),
    };
    report.pass("http-get", format!("GET {path} -> HTTP {status}, {} bytes", body.len()));
    Ok(Fetched { peer, presented_chain: chain, status, date, retry_after, body })
}

fn connect_failure(e: &std::io::Error, addr: SocketAddr, ep: &Endpoint, what: &str, url: &str) -> Failure {
    use std::io::ErrorKind as K;
    const ENETUNREACH: i32 = 101;
    const EHOSTUNREACH: i32 = 113;
    match (e.kind(), e.raw_os_error()) {
        (K::ConnectionRefused, _) => Failure::new(
            Code::ConnectionRefused,
            "connect",
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
            Failure::new(Code::NoRoute, "connect", format!("expected a route to {addr}; the kernel says: {e}"))
                .kubeadm(kubeadm_transport(what, url, &format!("dial tcp {addr}: connect: {go}")))
                .cause("this node has no route to the control plane's network (no default route, a subnet without a route table entry or NAT gateway, or a host firewall sending ICMP unreachable)")
                .fix("check `ip route get ADDRESS` on the node; add the missing route (cloud: subnet route table / NAT gateway) or fix the firewall")
        }
        _ => Failure::new(Code::NoRoute, "connect", format!("expected a TCP connection to {addr}; it failed: {e}"))
            .kubeadm(kubeadm_transport(what, url, &format!("dial tcp {addr}: connect: {e}")))
            .cause("the operating system refused the connection attempt")
            .fix("check the node's network configuration (`ip addr`, `ip route`)"),
    }
}

fn tls_failure(e: &std::io::Error, peer: SocketAddr, what: &str, url: &str) -> Failure {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let not_tls = matches!(inner, Some(rustls::Error::InvalidMessage(_)));
    let eof = e.kind() == std::io::ErrorKind::UnexpectedEof;
    let (seen, go, cause) = if not_tls {
        (
            format!("the server on {peer} answered with something that is not TLS ({e})"),
            "tls: first record does not look like a TLS handshake".to_string(),
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
    Failure::new(Code::TlsHandshakeFailed, "tls-handshake", format!("expected a TLS handshake; {seen}"))
        .kubeadm(kubeadm_transport(what, url, &go))
        .cause(cause)
        .fix("point joinkit at the kube-apiserver's secure port (usually 6443); `openssl s_client -connect ENDPOINT` shows what the port speaks")
}

fn describe_leaf(chain: &[CertificateDer<'_>]) -> String {
    use x509_parser::prelude::*;
    chain
        .first()
        .and_then(|c| X509Certificate::from_der(c.as_ref()).ok())
        .map(|(_, c)| format!("leaf {} issued by {}", c.subject(), c.issuer()))
        .unwrap_or_else(|| "no leaf".into())
}

/// Why a recorded chain did not verify: a readable reason and Go's x509 wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    /// Readable reason.
    pub reason: String,
    /// What Go's crypto/x509 (the kubelet, kubeadm) says for the same fault.
    pub go_message: String,
}

/// Verifies a recorded chain (leaf first) against `roots` for `name` at the current time, as
/// a verified TLS connection would (WebPKI path building, signature, validity, name match).
pub fn verify_chain(
    chain: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    name: &ServerName<'_>,
) -> Result<(), ChainError> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(ChainError {
            reason: "the server presented no certificate".into(),
            go_message: "tls: no certificates".into(),
        });
    };
    let mut store = RootCertStore::empty();
    for r in roots {
        if let Err(e) = store.add(r.clone()) {
            return Err(ChainError {
                reason: format!("a CA certificate cannot be used as a trust anchor: {e}"),
                go_message: "x509: certificate signed by unknown authority".into(),
            });
        }
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
        .build()
        .map_err(|e| ChainError { reason: format!("verifier: {e}"), go_message: e.to_string() })?;
    verifier.verify_server_cert(leaf, intermediates, name, &[], UnixTime::now()).map(|_| ()).map_err(|e| {
        use rustls::CertificateError as C;
        let (reason, go) = match &e {
            rustls::Error::InvalidCertificate(C::UnknownIssuer) => (
                "the serving certificate was not issued by the discovered cluster CA".to_string(),
                "x509: certificate signed by unknown authority".to_string(),
            ),
            rustls::Error::InvalidCertificate(C::NotValidForName)
            | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => (
                format!("the serving certificate is not valid for {}", server_name_str(name)),
                format!("x509: certificate is not valid for {}", server_name_str(name)),
            ),
            rustls::Error::InvalidCertificate(C::Expired)
            | rustls::Error::InvalidCertificate(C::ExpiredContext { .. }) => (
                "the serving certificate has expired".to_string(),
                "x509: certificate has expired or is not yet valid".to_string(),
            ),
            rustls::Error::InvalidCertificate(C::NotValidYet)
            | rustls::Error::InvalidCertificate(C::NotValidYetContext { .. }) => (
                "the serving certificate is not valid yet".to_string(),
                "x509: certificate has expired or is not yet valid".to_string(),
            ),
            rustls::Error::InvalidCertificate(C::BadSignature) => (
                "a certificate signature in the chain does not verify".to_string(),
                "x509: certificate signed by unknown authority".to_string(),
            ),
            other => (format!("{other}"), format!("x509: {other}")),
        };
        ChainError { reason, go_message: go }
    })
}

/// The server name as text (IP or DNS name).
pub fn server_name_str(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "?".into(),
    }
}

/// The TLS server name for an endpoint host (IP address or DNS name).
pub fn server_name_for(host: &str) -> Option<ServerName<'static>> {
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => Some(ServerName::IpAddress(ip.into())),
        Err(_) => ServerName::try_from(host.to_string()).ok(),
    }
}
