//! The kubelet's CertificateSigningRequest and the check of the certificate it gets back
//! (`k8s.io/kubernetes/pkg/kubelet/certificate/bootstrap`, spec section 6): ECDSA P-256 key,
//! subject `O=system:nodes, CN=system:node:<name>`, no SANs, signer
//! `kubernetes.io/kube-apiserver-client-kubelet`, usages digital signature, key encipherment,
//! client auth, named `node-csr-<digest>` where the digest is base64url (unpadded) of
//! SHA-512/256 over `b64url(SPKI)|b64url(CN)|b64url(O)...|b64url(usage)...|`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use k8s_openapi::api::certificates::v1::{CertificateSigningRequest, CertificateSigningRequestSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use rustls::pki_types::CertificateDer;
use secrecy::SecretString;
use serde_json::Value;
use sha2::Digest;

/// The usages the kubelet requests.
pub const USAGES: &[&str] = &["digital signature", "key encipherment", "client auth"];

/// The kubelet client signer.
pub const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";

/// The DER of a PEM certificate request (a CSR's `spec.request`, base64-decoded): the one
/// strict block [`crate::pem::one_block`] accepts, so every reader of a CSR in joinkit reads the
/// block the signer reads.
fn pem_request_der(pem: &[u8]) -> Option<Vec<u8>> {
    crate::pem::one_block(pem, "CERTIFICATE REQUEST").ok()
}

/// The DER of a typed CSR's `spec.request`.
pub(crate) fn typed_request_der(csr: &CertificateSigningRequest) -> Option<Vec<u8>> {
    pem_request_der(&csr.spec.request.0)
}

/// The DER of a CSR's `spec.request` (base64 of PEM), from the CSR as JSON. JSON on purpose:
/// the lab's store keeps objects as JSON and reads only this field of whatever a client posted
/// (a deliberately partial shape); the PEM rule is the typed one's.
pub fn request_der(csr: &Value) -> Option<Vec<u8>> {
    let b64 = csr.pointer("/spec/request")?.as_str()?;
    pem_request_der(&crate::kubeconfig::decode_b64(b64).ok()?)
}

/// A fresh key and the kubelet's CSR for `node`.
pub struct NodeCsr {
    /// The CSR, PEM.
    pub csr_pem: String,
    /// The private key, PEM.
    pub key_pem: SecretString,
    /// The key's DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// `node-csr-...`.
    pub name: String,
}

impl NodeCsr {
    /// The CertificateSigningRequest object the kubelet posts.
    pub(crate) fn object(&self) -> CertificateSigningRequest {
        CertificateSigningRequest {
            metadata: ObjectMeta { name: Some(self.name.clone()), ..Default::default() },
            spec: CertificateSigningRequestSpec {
                request: ByteString(self.csr_pem.as_bytes().to_vec()),
                signer_name: KUBELET_CLIENT_SIGNER.to_string(),
                usages: Some(USAGES.iter().map(|u| u.to_string()).collect()),
                ..Default::default()
            },
            status: None,
        }
    }
}

/// The kubelet's CSR name for a public key, subject and usages (see module docs).
pub(crate) fn csr_name(spki_der: &[u8], cn: &str, orgs: &[&str], usages: &[&str]) -> String {
    let mut h = sha2::Sha512_256::new();
    let mut write = |d: &[u8]| {
        h.update(URL_SAFE_NO_PAD.encode(d).as_bytes());
        h.update(b"|");
    };
    write(spki_der);
    write(cn.as_bytes());
    for o in orgs {
        write(o.as_bytes());
    }
    for u in usages {
        write(u.as_bytes());
    }
    format!("node-csr-{}", URL_SAFE_NO_PAD.encode(h.finalize()))
}

/// A subject value encoded as the kubelet's Go encodes it: `crypto/x509`
/// `CreateCertificateRequest` marshals `pkix.Name` strings with `encoding/asn1`, which writes a
/// PrintableString when every character is in that set (as in `system:node:<DNS name>`) and a
/// UTF8String otherwise (`encoding/asn1/marshal.go`, `makeField`). rcgen writes UTF8String by
/// default; docs/real-kubelet.md compares the two CSRs.
fn go_string(s: &str) -> rcgen::DnValue {
    match rcgen::string::PrintableString::try_from(s) {
        Ok(p) => rcgen::DnValue::PrintableString(p),
        Err(_) => rcgen::DnValue::Utf8String(s.to_string()),
    }
}

/// Makes a new ECDSA P-256 key and the kubelet's CSR for `node`.
pub fn node_csr(node: &str) -> Result<NodeCsr, String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, go_string("system:nodes"));
    dn.push(rcgen::DnType::CommonName, go_string(&format!("system:node:{node}")));
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key).map_err(|e| e.to_string())?;
    let spki_der = rcgen::PublicKeyData::subject_public_key_info(&key);
    let cn = format!("system:node:{node}");
    Ok(NodeCsr {
        csr_pem: csr.pem().map_err(|e| e.to_string())?,
        key_pem: SecretString::from(key.serialize_pem()),
        name: csr_name(&spki_der, &cn, &["system:nodes"], USAGES),
        spki_der,
    })
}

/// Checks the issued certificate: chains to the CA, subject and O, client auth, validity, key.
pub(crate) fn verify_certificate(
    cert_pem: &[u8],
    ca: &[CertificateDer<'static>],
    node: &str,
    spki: &[u8],
) -> Result<String, String> {
    use x509_parser::prelude::*;
    let certs = crate::pin::read_certificates(cert_pem, "issued certificate").map_err(|f| f.message)?;
    let (_, cert) = X509Certificate::from_der(certs[0].as_ref()).map_err(|e| e.to_string())?;
    let issuer_ok = ca.iter().any(|c| {
        X509Certificate::from_der(c.as_ref())
            .ok()
            .is_some_and(|(_, ca)| cert.verify_signature(Some(ca.public_key())).is_ok())
    });
    if !issuer_ok {
        return Err("it is not signed by the cluster CA".into());
    }
    let cn = cert.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or("");
    if cn != format!("system:node:{node}") {
        return Err(format!("CN is {cn:?}, not system:node:{node}"));
    }
    let orgs: Vec<&str> = cert.subject().iter_organization().filter_map(|o| o.as_str().ok()).collect();
    if orgs != ["system:nodes"] {
        return Err(format!("O is {orgs:?}, not [system:nodes]"));
    }
    let client_auth = cert.extended_key_usage().ok().flatten().is_some_and(|e| e.value.client_auth);
    if !client_auth {
        return Err("it lacks the client auth extended key usage".into());
    }
    let now = ASN1Time::now();
    if !cert.validity().is_valid_at(now) {
        return Err(format!(
            "it is not valid now (valid {} to {})",
            cert.validity().not_before,
            cert.validity().not_after
        ));
    }
    if cert.public_key().raw != spki {
        return Err("its public key is not the key of the CSR".into());
    }
    Ok(format!("{} issued by {}, valid until {}", cert.subject(), cert.issuer(), cert.validity().not_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_posted_object_carries_the_request_the_json_reader_finds() {
        let csr = node_csr("worker-1").unwrap();
        let v = serde_json::to_value(csr.object()).unwrap();
        assert_eq!(v["apiVersion"], "certificates.k8s.io/v1");
        assert_eq!(v["kind"], "CertificateSigningRequest");
        assert_eq!(v["metadata"]["name"], csr.name.as_str());
        assert_eq!(v["spec"]["signerName"], KUBELET_CLIENT_SIGNER);
        assert_eq!(v["spec"]["usages"], serde_json::json!(USAGES));
        assert_eq!(request_der(&v), typed_request_der(&csr.object()));
        assert!(request_der(&v).is_some());
    }

    #[test]
    fn the_subject_strings_are_encoded_as_go_encodes_them() {
        use x509_parser::der_parser::asn1_rs::Tag;
        use x509_parser::prelude::*;
        let tags = |node: &str| -> Vec<(String, Tag)> {
            let der = request_der(&serde_json::to_value(node_csr(node).unwrap().object()).unwrap()).unwrap();
            let (_, req) = X509CertificationRequest::from_der(&der).unwrap();
            let subject = &req.certification_request_info.subject;
            subject.iter_attributes().map(|a| (a.as_str().unwrap().to_string(), a.attr_value().tag())).collect()
        };
        // O first, then CN, both PrintableString, as the real kubelet's (docs/real-kubelet.md).
        assert_eq!(
            tags("worker-1.example"),
            [
                ("system:nodes".to_string(), Tag::PrintableString),
                ("system:node:worker-1.example".into(), Tag::PrintableString)
            ]
        );
        // A character outside PrintableString: UTF8String, as Go falls back.
        assert_eq!(tags("w_1")[1], ("system:node:w_1".to_string(), Tag::Utf8String));
    }
}
