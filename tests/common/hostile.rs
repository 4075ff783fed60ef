//! A hostile API server and bounded process runs, for tests/hostile.rs and tests/fuzz.rs.
//!
//! [`Server::tls`] listens on 127.0.0.1:0 with a serving certificate issued by a [`TestCa`] of
//! the test's choosing (usually one the client does NOT trust). It asks for a client
//! certificate without requiring one and records whether one was presented; it records every
//! connection, TLS handshake and request (method, path, headers, body) and answers with a
//! configurable [`Responder`]. [`Server::plain`] is the same over plain HTTP.
//!
//! [`run_bounded`] runs the joinkit binary with a wall-clock bound (the child is killed when it
//! runs out) and optionally an address-space limit, so a hang or a memory blow-up fails a test
//! instead of hanging CI or the machine.
#![allow(dead_code)]

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName as TlsDn, SignatureScheme};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Certificates

/// A CA made with rcgen (ECDSA P-256: fast).
pub struct TestCa {
    pub pem: String,
    pub der: Vec<u8>,
    params: CertificateParams,
    key: KeyPair,
}

/// A certificate and its key, PEM and DER.
pub struct Issued {
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub key_pem: String,
    pub key_der: Vec<u8>,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

fn validity(p: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - Duration::from_secs(3600);
    p.not_after = now + Duration::from_secs(30 * 86400);
}

impl TestCa {
    pub fn new(cn: &str) -> TestCa {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyCertSign];
        validity(&mut params);
        let cert = params.self_signed(&key).unwrap();
        TestCa { pem: cert.pem(), der: cert.der().to_vec(), params, key }
    }

    /// The kubeadm pin of this CA.
    pub fn pin(&self) -> String {
        super::libapi::inspect_pin(&self.der).unwrap()
    }

    fn issue(&self, cn: &str, names: &[&str], eku: ExtendedKeyUsagePurpose) -> Issued {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name = dn(cn);
        p.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.to_string().try_into().unwrap()),
            })
            .collect();
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        p.extended_key_usages = vec![eku];
        p.use_authority_key_identifier_extension = true;
        validity(&mut p);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = p.signed_by(&key, &issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }

    /// A serving certificate for 127.0.0.1 and localhost.
    pub fn serving(&self) -> Issued {
        self.issue("kube-apiserver", &["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (`CN=<cn>`).
    pub fn client(&self, cn: &str) -> Issued {
        self.issue(cn, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

// ---------------------------------------------------------------------------------------------
// The server

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Everything the server saw.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// TCP connections accepted.
    pub connections: usize,
    /// TLS handshakes completed.
    pub handshakes: usize,
    /// Client certificates presented (subjects are not kept; one per handshake that had one).
    pub client_certs: usize,
    pub requests: Vec<Request>,
}

impl Log {
    /// Every Authorization header received, in order.
    pub fn authorization(&self) -> Vec<String> {
        self.requests.iter().filter_map(|r| r.header("authorization").map(str::to_string)).collect()
    }
}

/// Answers a request: status and JSON body.
pub type Responder = Arc<dyn Fn(&Request) -> (u16, String) + Send + Sync>;

/// Always `200 {}`.
pub fn empty_ok() -> Responder {
    Arc::new(|_| (200, "{}".to_string()))
}

/// `body` for GETs of cluster-info, the API server's 404 Status for everything else.
pub fn serve_cluster_info(body: String) -> Responder {
    Arc::new(move |r: &Request| {
        if r.method == "GET" && r.path.starts_with("/api/v1/namespaces/kube-public/configmaps/cluster-info") {
            (200, body.clone())
        } else {
            (404, r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#.to_string())
        }
    })
}

#[derive(Debug)]
struct RecordAnyClientCert {
    log: Arc<Mutex<Log>>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for RecordAnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[TlsDn] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.log.lock().unwrap().client_certs += 1;
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A recording server on 127.0.0.1 (TLS or plain HTTP). Stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

async fn serve<I>(io: I, log: Arc<Mutex<Log>>, responder: Responder)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let log = log.clone();
        let responder = responder.clone();
        async move {
            let method = req.method().to_string();
            let path = req.uri().to_string();
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
                Ok(b) => b.to_bytes().to_vec(),
                Err(_) => Vec::new(),
            };
            let r = Request { method, path, headers, body };
            let (status, answer) = responder(&r);
            log.lock().unwrap().requests.push(r);
            let resp = hyper::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(answer)))
                .unwrap();
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(io), svc).await;
}

impl Server {
    /// HTTPS with a serving certificate (127.0.0.1, localhost) issued by `ca`.
    pub fn tls(ca: &TestCa, responder: Responder) -> Server {
        Self::tls_with(ca, |_| responder)
    }

    /// HTTPS, with a responder made once the address is known (to name itself).
    pub fn tls_with(ca: &TestCa, make: impl FnOnce(SocketAddr) -> Responder) -> Server {
        let leaf = ca.serving();
        Self::start(Some((leaf.cert_der, leaf.key_der)), make)
    }

    /// Plain HTTP.
    pub fn plain(responder: Responder) -> Server {
        Self::start(None, |_| responder)
    }

    fn start(tls: Option<(Vec<u8>, Vec<u8>)>, make: impl FnOnce(SocketAddr) -> Responder) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let log = Arc::new(Mutex::new(Log::default()));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let responder = make(addr);
        let acceptor = tls.map(|(cert, key)| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = Arc::new(RecordAnyClientCert { log: log.clone(), provider: provider.clone() });
            let cfg = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(vec![CertificateDer::from(cert)], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
                .unwrap();
            tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
        });
        let log2 = log.clone();
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                log2.lock().unwrap().connections += 1;
                let (log, responder, acceptor) = (log2.clone(), responder.clone(), acceptor.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), a.accept(tcp)).await {
                                log.lock().unwrap().handshakes += 1;
                                serve(tls, log, responder).await;
                            }
                        }
                        None => serve(tcp, log, responder).await,
                    }
                });
            }
        });
        Server { addr, log, rt: Some(rt) }
    }

    /// `127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// `https://127.0.0.1:PORT`.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A snapshot of what the server saw.
    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded runs of the binary

/// The outcome of [`run_bounded`].
#[derive(Debug)]
pub struct Bounded {
    /// Exit code; None when killed by a signal (or by us).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// We killed it because it ran out of time.
    pub timed_out: bool,
}

impl Bounded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
    /// The failure code in a JSON report, if any.
    pub fn failure_code(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.stdout)
            .ok()
            .and_then(|v| v["failure"]["code"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
    pub fn describe(&self) -> String {
        format!(
            "exit {:?} after {:?}{}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.elapsed,
            if self.timed_out { " (KILLED: out of time)" } else { "" },
            truncate(&self.stdout, 4000),
            truncate(&self.stderr, 2000)
        )
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Options for [`run_bounded`].
pub struct Limits {
    /// Kill the child after this long.
    pub wall: Duration,
    /// RLIMIT_AS for the child, bytes (default 2 GiB, so an unbounded read fails fast instead
    /// of exhausting a shared machine).
    pub address_space: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { wall: Duration::from_secs(20), address_space: Some(2 << 30) }
    }
}

/// Runs joinkit with `args`, a clean environment for its variables (no JOINKIT_*, no
/// KUBECONFIG, HOME set to an empty directory unless `env` says otherwise) plus `env`, and
/// optional stdin, killing it when `limits.wall` runs out.
pub fn run_bounded(args: &[&str], env: &[(&str, &str)], stdin: Option<Vec<u8>>, limits: Limits) -> Bounded {
    let mut c = Command::new(env!("CARGO_BIN_EXE_joinkit"));
    c.args(args).env("NO_COLOR", "1").env_remove("KUBECONFIG").env("HOME", "/nonexistent-joinkit-test-home");
    for (k, _) in std::env::vars() {
        if k.starts_with("JOINKIT_") {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    if let Some(limit) = limits.address_space {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            c.pre_exec(move || {
                let r = libc::rlimit { rlim_cur: limit as libc::rlim_t, rlim_max: limit as libc::rlim_t };
                if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = c.spawn().expect("spawn joinkit");
    let writer = stdin.map(|data| {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        })
    });
    // Keep at most 16 MiB of each stream; read the rest so the child never blocks on a pipe.
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 65536];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if kept.len() < 16 << 20 {
                            kept.extend_from_slice(&buf[..n]);
                        }
                    }
                }
            }
            kept
        })
    };
    let out_t = reader(Box::new(child.stdout.take().unwrap()));
    let err_t = reader(Box::new(child.stderr.take().unwrap()));
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limits.wall {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = String::from_utf8_lossy(&out_t.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap()).into_owned();
    Bounded { code: status.code(), stdout, stderr, elapsed, timed_out }
}
