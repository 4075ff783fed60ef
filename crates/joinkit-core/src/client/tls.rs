//! TLS trust for the client: [`TrustAnchors`] (the CA a server must chain to, never empty), the
//! recording verifier both fetches use (rustls's `ServerCertVerifier`, `rustls/src/verify.rs`:
//! it records the chain and checks every handshake signature; with anchors it also verifies the
//! chain during the handshake), and the chain check with Go's crypto/x509 wording for failures.

use super::{kubeadm_transport, provider, FetchStage};
use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::{Arc, Mutex};

/// The CA certificates a server must chain to: never empty, every certificate usable as a
/// trust anchor. Built from a pinned and JWS-verified cluster-info, a discovery file's or an
/// admin kubeconfig's CA, or the system's roots; `fetch_verified` and the admin client
/// ([`super::api::ApiClient`]) accept nothing else.
#[derive(Clone)]
pub struct TrustAnchors {
    certs: Vec<CertificateDer<'static>>,
    store: Arc<RootCertStore>,
    source: String,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustAnchors({} certificate(s) from {})", self.certs.len(), self.source)
    }
}

impl TrustAnchors {
    /// Anchors from `certs` (DER); `source` names where they came from, for messages. Errors
    /// (a readable reason) when `certs` is empty or a certificate cannot be a trust anchor.
    pub fn new(certs: Vec<CertificateDer<'static>>, source: impl Into<String>) -> Result<TrustAnchors, String> {
        let source = source.into();
        if certs.is_empty() {
            return Err(format!("{source} holds no CA certificate"));
        }
        let mut store = RootCertStore::empty();
        for c in &certs {
            store.add(c.clone()).map_err(|e| format!("a CA certificate in {source} cannot be a trust anchor: {e}"))?;
        }
        Ok(TrustAnchors { certs, store: Arc::new(store), source })
    }

    /// The system's trust store (`SSL_CERT_FILE`, `/etc/ssl/certs`), for https URLs that are
    /// not API servers (a discovery file download). Errors when it holds no usable root.
    pub fn system() -> Result<TrustAnchors, String> {
        let certs = rustls_native_certs::load_native_certs().certs;
        let mut store = RootCertStore::empty();
        store.add_parsable_certificates(certs.iter().cloned());
        if store.is_empty() {
            return Err("the system trust store holds no usable CA certificate".into());
        }
        Ok(TrustAnchors { certs, store: Arc::new(store), source: "the system trust store".into() })
    }

    /// The certificates, DER, in the order given.
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// Where the anchors came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// A rustls client configuration builder that verifies servers against these anchors
    /// (WebPKI, as `with_root_certificates` would) through the recording verifier, which also
    /// keeps the last verified chain (`ApiClient::served_certificate`: the API server's own
    /// names, which `joinkit csr` never approves for a node).
    pub(crate) fn client_config_builder(
        &self,
    ) -> Result<(rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>, Arc<Recorder>), String>
    {
        let webpki = self.webpki_verifier().map_err(|e| format!("TLS configuration: {}", e.reason))?;
        let recorder = Arc::new(Recorder::new(Some(webpki), provider()));
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone());
        Ok((builder, recorder))
    }

    pub(super) fn webpki_verifier(&self) -> Result<Arc<WebPkiServerVerifier>, ChainError> {
        WebPkiServerVerifier::builder_with_provider(self.store.clone(), provider())
            .build()
            .map_err(|e| ChainError { reason: format!("verifier: {e}"), go_message: e.to_string() })
    }
}

/// Records the chain the server presents and checks every handshake signature against the
/// leaf's key. Without `webpki` (the unverified fetch) any chain is accepted and only recorded;
/// with it (the verified fetch) the chain must verify against [`TrustAnchors`] for the server
/// name, and a rejection (kept for the report) aborts the handshake before any client
/// certificate or request is sent. One verifier for both, so the two fetches differ only in that.
#[derive(Debug)]
pub struct Recorder {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
    error: Mutex<Option<rustls::Error>>,
}

impl Recorder {
    pub(super) fn new(webpki: Option<Arc<WebPkiServerVerifier>>, provider: Arc<CryptoProvider>) -> Recorder {
        Recorder { webpki, provider, chain: Mutex::new(Vec::new()), error: Mutex::new(None) }
    }

    /// The chain of the last handshake (leaf first), after verification when the recorder
    /// verifies.
    pub(crate) fn recorded(&self) -> Vec<CertificateDer<'static>> {
        self.chain.lock().map(|g| g.clone()).unwrap_or_default()
    }

    pub(super) fn rejection(&self) -> Option<rustls::Error> {
        self.error.lock().ok().and_then(|g| g.clone())
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut g) = self.chain.lock() {
            *g = chain;
        }
        let Some(webpki) = &self.webpki else { return Ok(ServerCertVerified::assertion()) };
        let r = webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        if let (Err(e), Ok(mut g)) = (&r, self.error.lock()) {
            *g = Some(e.clone());
        }
        r
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

pub(super) fn describe_leaf(chain: &[CertificateDer<'_>]) -> String {
    use x509_parser::prelude::*;
    chain
        .first()
        .and_then(|c| X509Certificate::from_der(c.as_ref()).ok())
        .map(|(_, c)| format!("leaf {} issued by {}", c.subject(), c.issuer()))
        .unwrap_or_else(|| "no leaf".into())
}

/// Why a recorded chain did not verify: a readable reason and Go's x509 wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainError {
    /// Readable reason.
    pub reason: String,
    /// What Go's crypto/x509 (the kubelet, kubeadm) says for the same fault.
    pub go_message: String,
}

/// Verifies a recorded chain (leaf first) against `anchors` for `name` at the current time, as
/// a verified TLS connection would (WebPKI path building, signature, validity, name match).
pub(super) fn verify_chain(
    chain: &[CertificateDer<'static>],
    anchors: &TrustAnchors,
    name: &ServerName<'_>,
) -> Result<(), ChainError> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(ChainError {
            reason: "the server presented no certificate".into(),
            go_message: "tls: no certificates".into(),
        });
    };
    let verifier = anchors.webpki_verifier()?;
    verifier
        .verify_server_cert(leaf, intermediates, name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| chain_error(&e, name, Some(leaf)))
}

/// Go's `x509.HostnameError` text for `leaf` and the name asked for (`crypto/x509/verify.go`,
/// `HostnameError.Error`): the legacy Common Name note, "cannot validate certificate for IP
/// because it doesn't contain any IP SANs", "certificate is not valid for any names, but wanted
/// to match NAME", or "certificate is valid for SAN, SAN, not NAME" (IP SANs for an IP address,
/// DNS SANs for a name).
fn go_hostname_error(leaf: &CertificateDer<'_>, host: &str, is_ip: bool) -> Option<String> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::*;
    let (_, c) = X509Certificate::from_der(leaf.as_ref()).ok()?;
    let san = c.subject_alternative_name().ok().flatten();
    let names: Vec<&GeneralName<'_>> = san.as_ref().map(|s| s.value.general_names.iter().collect()).unwrap_or_default();
    if san.is_none() {
        let cn = c.subject().iter_common_name().next().and_then(|a| a.as_str().ok());
        if cn.is_some_and(|cn| cn.eq_ignore_ascii_case(host)) {
            return Some("x509: certificate relies on legacy Common Name field, use SANs instead".into());
        }
    }
    let valid: Vec<String> = if is_ip {
        let ips: Vec<String> = names
            .iter()
            .filter_map(|n| match n {
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).ok()?).to_string())
                }
                GeneralName::IPAddress(b) if b.len() == 16 => {
                    Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).ok()?).to_string())
                }
                _ => None,
            })
            .collect();
        if ips.is_empty() {
            return Some(format!(
                "x509: cannot validate certificate for {host} because it doesn't contain any IP SANs"
            ));
        }
        ips
    } else {
        names.iter().filter_map(|n| if let GeneralName::DNSName(d) = n { Some(d.to_string()) } else { None }).collect()
    };
    if valid.is_empty() {
        return Some(format!("x509: certificate is not valid for any names, but wanted to match {host}"));
    }
    Some(format!("x509: certificate is valid for {}, not {host}", valid.join(", ")))
}

/// Maps a rustls certificate error to a readable reason and Go's crypto/x509 wording.
/// `leaf`, when known, gives Go's exact wording for a name mismatch.
pub(super) fn chain_error(e: &rustls::Error, name: &ServerName<'_>, leaf: Option<&CertificateDer<'_>>) -> ChainError {
    use rustls::CertificateError as C;
    let (reason, go) = match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => (
            "the serving certificate was not issued by the trusted CA".to_string(),
            "x509: certificate signed by unknown authority".to_string(),
        ),
        rustls::Error::InvalidCertificate(C::NotValidForName)
        | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => (
            format!("the serving certificate is not valid for {}", server_name_str(name)),
            leaf.and_then(|l| go_hostname_error(l, &server_name_str(name), matches!(name, ServerName::IpAddress(_))))
                .unwrap_or_else(|| format!("x509: certificate is not valid for {}", server_name_str(name))),
        ),
        rustls::Error::InvalidCertificate(C::Expired) | rustls::Error::InvalidCertificate(C::ExpiredContext { .. }) => {
            (
                "the serving certificate has expired".to_string(),
                "x509: certificate has expired or is not yet valid".to_string(),
            )
        }
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
}

/// The `tls-verify-failed` failure for a chain that did not verify against `anchors` when
/// connecting to `ep` (one wording for token discovery, file discovery and downloads).
pub(crate) fn verify_failure(
    e: &ChainError,
    ep: &Endpoint,
    anchors: &TrustAnchors,
    what: super::KubeadmRequest,
    url: &str,
) -> Failure {
    let name_problem =
        e.go_message.contains("valid for") || e.go_message.contains("IP SANs") || e.go_message.contains("Common Name");
    Failure::new(
        Code::TlsVerifyFailed,
        FetchStage::TlsVerify,
        format!(
            "expected the serving certificate of {ep} to chain to {} and be valid for {}; {}",
            anchors.source(),
            ep.host,
            e.reason
        ),
    )
    .kubeadm(kubeadm_transport(what, url, &format!("tls: failed to verify certificate: {}", e.go_message)))
    .cause(if name_problem {
        "the API server's serving certificate does not list this address or name in its SANs (joining through an address that was not in apiServer.certSANs)"
    } else {
        "the server on this address is not the API server of the trusted cluster: a TLS-terminating proxy or load balancer, or a man in the middle, or the API server's certificate was issued by another CA"
    })
    .fix(if name_problem {
        "join through an address the certificate lists, or add it to apiServer.certSANs and regenerate the certificate (`kubeadm init phase certs apiserver`)"
    } else {
        "connect to the API server directly or make the load balancer pass TLS through (TCP mode); if no proxy should be there, treat this as an attack"
    })
}

/// The server name as text (IP or DNS name).
pub(crate) fn server_name_str(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "?".into(),
    }
}

/// The TLS server name for an endpoint host (IP address or DNS name).
pub(crate) fn server_name_for(host: &str) -> Option<ServerName<'static>> {
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => Some(ServerName::IpAddress(ip.into())),
        Err(_) => ServerName::try_from(host.to_string()).ok(),
    }
}

/// Why a client certificate and key cannot be presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientAuthError {
    /// The chain is empty.
    NoCertificate,
    /// The first certificate is not DER X.509 (x509-parser's reason).
    NotACertificate(String),
    /// The key is of a type the crypto provider cannot sign with (rustls's reason).
    UnsupportedKey(String),
    /// The key's public half is not the certificate's `SubjectPublicKeyInfo`.
    NotAPair,
}

impl std::fmt::Display for ClientAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuthError::NoCertificate => f.write_str("no certificate"),
            ClientAuthError::NotACertificate(e) => write!(f, "the certificate does not parse as X.509: {e}"),
            ClientAuthError::UnsupportedKey(e) => write!(f, "the key cannot sign: {e}"),
            ClientAuthError::NotAPair => f.write_str("the key's public key is not the certificate's public key"),
        }
    }
}

/// A client TLS configuration presenting `chain` (leaf first) with `key`, accepting what
/// kubectl accepts. Go's `crypto/tls.X509KeyPair` (`crypto/tls/tls.go`), which kubectl and
/// client-go use, parses the leaf with `x509.ParseCertificate` (X.509 v1, v2 and v3 alike) and
/// requires only that the key's public key equal the certificate's. rustls's
/// `with_client_auth_cert` parses the leaf with webpki, which refuses anything but v3
/// (`UnsupportedCertVersion`), so a v1 certificate, what `openssl x509 -req` makes without an
/// extension file, would be refused as not a pair. Here the leaf is parsed by x509-parser (any
/// version), the `SubjectPublicKeyInfo` bytes compared with the key's (as rustls's
/// `CertifiedKey::keys_match` does), and the pair handed to rustls unparsed. The server
/// decides whether it trusts the certificate; the client only presents it.
pub(crate) fn with_client_cert(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    chain: Vec<CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Result<rustls::ClientConfig, ClientAuthError> {
    use rustls::sign::{CertifiedKey, SingleCertAndKey};
    use x509_parser::prelude::*;
    let leaf = chain.first().ok_or(ClientAuthError::NoCertificate)?;
    let (_, cert) =
        X509Certificate::from_der(leaf.as_ref()).map_err(|e| ClientAuthError::NotACertificate(e.to_string()))?;
    let signing_key = builder
        .crypto_provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| ClientAuthError::UnsupportedKey(e.to_string()))?;
    match signing_key.public_key() {
        Some(spki) if spki.as_ref() == cert.tbs_certificate.subject_pki.raw => {}
        Some(_) => return Err(ClientAuthError::NotAPair),
        // A key type whose public half the provider cannot give: rustls's own rule
        // (`CertifiedKey::from_der`) does not treat unknown consistency as an error.
        None => {}
    }
    let certified = CertifiedKey::new(chain, signing_key);
    Ok(builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified))))
}

#[cfg(test)]
mod client_cert_tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    fn builder() -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
        rustls::ClientConfig::builder_with_provider(super::super::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(RootCertStore::empty())
    }

    /// An X.509 v1 certificate (no extensions, as `openssl x509 -req` makes it) and its key,
    /// and a second key that is not its pair: `tests/fixtures/client-cert-v1/` (made by
    /// `tests/fixtures/client-cert-v1/make.sh`).
    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../tests/fixtures/client-cert-v1/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn a_v1_certificate_with_its_key_is_presented_and_another_key_is_not_a_pair() {
        let cert = fixture("client.crt");
        let (_, parsed) = x509_parser::pem::parse_x509_pem(&cert).unwrap();
        let parsed = parsed.parse_x509().unwrap();
        assert_eq!(parsed.version(), x509_parser::x509::X509Version::V1, "the fixture must be v1");
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&cert).collect::<Result<_, _>>().unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&fixture("client.key")).unwrap();
        // rustls's own rule refuses it: the reason this function exists.
        assert!(builder().with_client_auth_cert(chain.clone(), key.clone_key()).is_err());
        assert!(with_client_cert(builder(), chain.clone(), key).is_ok());
        let other = rustls::pki_types::PrivateKeyDer::from_pem_slice(&fixture("other.key")).unwrap();
        assert_eq!(with_client_cert(builder(), chain, other).unwrap_err(), ClientAuthError::NotAPair);
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&fixture("client.key")).unwrap();
        assert_eq!(with_client_cert(builder(), vec![], key).unwrap_err(), ClientAuthError::NoCertificate);
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&fixture("client.key")).unwrap();
        let junk = vec![CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00])];
        assert!(matches!(with_client_cert(builder(), junk, key), Err(ClientAuthError::NotACertificate(_))));
    }
}
