//! The lab's PKI: a cluster CA (`CN=kubernetes`, like kubeadm's) and a serving certificate for
//! 127.0.0.1, ::1 and localhost, made with rcgen. RSA keys are generated with the `rsa` crate
//! (ring cannot generate RSA keys) and signed through ring; ECDSA keys are P-256.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::time::Duration;
use time::OffsetDateTime;

/// Key type of the lab's CA and certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    /// RSA-2048 (kubeadm's default).
    #[default]
    Rsa,
    /// ECDSA P-256.
    Ecdsa,
}

impl KeyKind {
    /// Every key kind as (value, name, help).
    pub const ALL: &'static [(KeyKind, &'static str, &'static str)] =
        &[(KeyKind::Rsa, "rsa", "RSA-2048 (kubeadm's default)"), (KeyKind::Ecdsa, "ecdsa", "ECDSA P-256")];
}

/// When the CA is valid, relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaValidity {
    /// From an hour ago for ten years.
    Normal,
    /// From tomorrow on.
    NotYetValid,
    /// Expired yesterday.
    Expired,
}

/// A CA: its certificate and key.
pub struct Ca {
    /// The CA certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// The CA certificate, PEM.
    pub cert_pem: String,
    params: CertificateParams,
    key: KeyPair,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

/// A leaf certificate and its key, ready for rustls.
pub struct Leaf {
    /// Certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// Key, PEM.
    pub key_pem: String,
}

impl Leaf {
    /// The key for rustls.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// A new key pair of `kind`.
pub(crate) fn new_key(kind: KeyKind) -> Result<KeyPair, String> {
    match kind {
        KeyKind::Ecdsa => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string()),
        KeyKind::Rsa => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|e| e.to_string())?;
            let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
            KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(der.as_bytes().to_vec()),
                &rcgen::PKCS_RSA_SHA256,
            )
            .map_err(|e| e.to_string())
        }
    }
}

fn dn(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    if let Some(o) = org {
        d.push(DnType::OrganizationName, o);
    }
    d.push(DnType::CommonName, cn);
    d
}

impl Ca {
    /// A new self-signed CA `CN=<cn>` with a key of `kind` and the given validity.
    pub fn new(cn: &str, kind: KeyKind, validity: CaValidity) -> Result<Ca, String> {
        let key = new_key(kind)?;
        let now = OffsetDateTime::now_utc();
        let day = Duration::from_secs(86400);
        let (nb, na) = match validity {
            CaValidity::Normal => (now - Duration::from_secs(3600), now + day * 3650),
            CaValidity::NotYetValid => (now + day, now + day * 3650),
            CaValidity::Expired => (now - day * 3650, now - day),
        };
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(cn, None);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyCertSign];
        params.not_before = nb;
        params.not_after = na;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        Ok(Ca { cert_der: cert.der().clone(), cert_pem: cert.pem(), params, key })
    }

    /// Signs a serving certificate for `names` (IP addresses or DNS names).
    pub fn serving_cert(&self, names: &[&str], kind: KeyKind) -> Result<Leaf, String> {
        let key = new_key(kind)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn("kube-apiserver", None);
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.to_string().try_into().map(SanType::DnsName).map_err(|e: rcgen::Error| e.to_string()),
            })
            .collect::<Result<_, _>>()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::from_secs(3600);
        params.not_after = now + Duration::from_secs(365 * 86400);
        self.sign(params, key)
    }

    /// Signs a client certificate `CN=<cn>, O=<org>` (for the lab's admin and node users).
    pub fn client_cert(&self, cn: &str, org: Option<&str>, kind: KeyKind) -> Result<Leaf, String> {
        let key = new_key(kind)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(cn, org);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::from_secs(3600);
        params.not_after = now + Duration::from_secs(365 * 86400);
        self.sign(params, key)
    }

    /// Signs a kubelet client CSR (DER): the CSR's subject and key, one year, digital
    /// signature + key encipherment, client auth, as the csrsigning controller does. PEM.
    pub(crate) fn sign_csr(&self, csr_der: &[u8]) -> Result<String, String> {
        let der = rustls::pki_types::CertificateSigningRequestDer::from(csr_der.to_vec());
        let mut req = rcgen::CertificateSigningRequestParams::from_der(&der).map_err(|e| e.to_string())?;
        let now = OffsetDateTime::now_utc();
        // Recorded (rec-node-1.crt): NotBefore five minutes before issuance, for clock skew.
        req.params.not_before = now - Duration::from_secs(300);
        req.params.not_after = now + Duration::from_secs(365 * 86400);
        req.params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        req.params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        req.params.is_ca = IsCa::ExplicitNoCa;
        req.params.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_params(&self.params, &self.key);
        req.signed_by(&issuer).map(|c| c.pem()).map_err(|e| e.to_string())
    }

    fn sign(&self, mut params: CertificateParams, key: KeyPair) -> Result<Leaf, String> {
        params.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
        Ok(Leaf {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
        })
    }
}
