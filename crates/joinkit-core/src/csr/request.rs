//! One reading of a CSR's `spec.request`: the signer's. kube-apiserver and the CSR signers read
//! the request with Go (`pem.Decode`, then `x509.ParseCertificateRequest`:
//! `k8s.io/kubernetes/pkg/apis/certificates/v1/helpers.go` `ParseCSR`,
//! `pkg/controller/certificates/authority/authority.go` `Sign`, which copies the subject and the
//! DNS, IP, email and URI SANs that Go parsed into the certificate). A request that two readers
//! can read differently is refused, so what joinkit checks is what the signer signs:
//!
//! - exactly one PEM block in the form Go's `encoding/pem` accepts, nothing else but whitespace
//!   ([`crate::pem::one_block`]);
//! - canonical DER: decoded with the `der` crate (strict DER) and re-encoded to the same bytes
//!   (Go's `encoding/asn1` accepts some non-canonical forms, other readers others);
//! - at most one extensionRequest attribute, with exactly one value (Go's
//!   `crypto/x509/x509.go` `parseCSRExtensions` reads every such attribute but only the first
//!   value of each), and no extension twice (Go keeps the last SubjectAltName, other readers the
//!   first);
//! - subject values only as UTF8String, PrintableString or IA5String, and one CN at most (Go's
//!   `pkix.Name` keeps the last CN, other readers the first);
//! - SANs that Go reads the same way: DNS, email and URI as IA5String, IPs of 4 or 16 bytes; at
//!   most [`MAX_SANS`].
//!
//! The same function serves both signers, `joinkit csr list|explain|approve`, and the approver.

use std::collections::HashSet;
use std::net::IpAddr;
use x509_cert::der::asn1::{Any, Ia5StringRef, ObjectIdentifier, PrintableStringRef, UintRef};
use x509_cert::der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::request::CertReq;

/// At most this many SANs in one request (a kubelet names its hostname and its addresses: a
/// handful). More fails the `request` check before any SAN is compared.
pub const MAX_SANS: usize = 64;

/// The key of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with this many modulus bits.
    Rsa(usize),
    /// ECDSA on the curve with this OID.
    Ecdsa(String),
    /// Ed25519.
    Ed25519,
    /// Anything else: the algorithm OID.
    Other(String),
}

/// What a PKCS#10 request asks for, as the signer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The subject's CN ("" when none; a subject with several is refused).
    pub cn: String,
    /// The subject's O values, in order.
    pub orgs: Vec<String>,
    /// DNS SANs.
    pub dns: Vec<String>,
    /// IP SANs.
    pub ips: Vec<IpAddr>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// Email SANs.
    pub emails: Vec<String>,
    /// SANs of any other type (directory names, other names, registered IDs, ...).
    pub other_sans: usize,
    /// The key.
    pub key: KeyKind,
}

impl Request {
    /// The SANs as `DNS:x` / `IP:y` / `URI:z` / `email:w`.
    pub fn sans(&self) -> Vec<String> {
        let mut v: Vec<String> = self.dns.iter().map(|d| format!("DNS:{d}")).collect();
        v.extend(self.ips.iter().map(|i| format!("IP:{i}")));
        v.extend(self.uris.iter().map(|u| format!("URI:{u}")));
        v.extend(self.emails.iter().map(|e| format!("email:{e}")));
        v
    }

    /// `CN=..., O=...`.
    pub fn subject(&self) -> String {
        let mut s = format!("CN={}", self.cn);
        for o in &self.orgs {
            s.push_str(&format!(", O={o}"));
        }
        s
    }
}

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_EXTENSION_REQUEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
const OID_SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Reads `spec.request` (the PEM bytes) as the signer does, or says why joinkit will not judge
/// it (see the module docs). Errors: a readable reason naming the rule, never the content.
pub fn read(pem: &[u8]) -> Result<Request, String> {
    let der = crate::pem::one_block(pem, "CERTIFICATE REQUEST").map_err(|e| format!("spec.request: {e}"))?;
    read_der(&der)
}

/// Reads a DER PKCS#10 request (see [`read`]).
pub fn read_der(der: &[u8]) -> Result<Request, String> {
    let req = CertReq::from_der(der).map_err(|e| format!("spec.request is not a DER PKCS#10 request: {e}"))?;
    match req.to_der() {
        Ok(again) if again == der => {}
        _ => {
            return Err("spec.request is not canonical DER (re-encoding it gives other bytes): readers could disagree on what it asks for".into())
        }
    }
    let info = &req.info;
    let (cn, orgs) = subject(&info.subject)?;
    let ext_attrs: Vec<_> = info.attributes.iter().filter(|a| a.oid == OID_EXTENSION_REQUEST).collect();
    if ext_attrs.len() > 1 {
        return Err(format!(
            "{} extensionRequest attributes: at most one (Go reads each, other readers only the first)",
            ext_attrs.len()
        ));
    }
    let (mut dns, mut ips, mut uris, mut emails, mut other_sans) = (vec![], vec![], vec![], vec![], 0);
    if let Some(attr) = ext_attrs.first() {
        if attr.values.len() != 1 {
            return Err(format!(
                "the extensionRequest attribute has {} values: exactly one (Go reads only the first)",
                attr.values.len()
            ));
        }
        let exts: Vec<x509_cert::ext::Extension> = attr
            .values
            .iter()
            .next()
            .map(|v| v.decode_as())
            .transpose()
            .map_err(|e| format!("the requested extensions do not parse: {e}"))?
            .unwrap_or_default();
        let mut seen = HashSet::new();
        for ext in &exts {
            if !seen.insert(ext.extn_id) {
                return Err(format!(
                    "extension {} is requested twice (Go refuses it or keeps the last, other readers the first)",
                    ext.extn_id
                ));
            }
        }
        if let Some(san) = exts.iter().find(|e| e.extn_id == OID_SAN) {
            let names = SubjectAltName::from_der(san.extn_value.as_bytes())
                .map_err(|e| format!("the SubjectAltName extension does not parse: {e}"))?;
            if names.0.len() > MAX_SANS {
                return Err(format!("{} SANs: at most {MAX_SANS}", names.0.len()));
            }
            for n in &names.0 {
                match n {
                    GeneralName::DnsName(d) => dns.push(d.to_string()),
                    GeneralName::IpAddress(b) => match b.as_bytes().len() {
                        4 | 16 => ips.push(ip(b.as_bytes())),
                        l => return Err(format!("an IP SAN of {l} bytes: Go refuses it (4 or 16)")),
                    },
                    GeneralName::UniformResourceIdentifier(u) => uris.push(u.to_string()),
                    GeneralName::Rfc822Name(m) => emails.push(m.to_string()),
                    _ => other_sans += 1,
                }
            }
        }
    }
    Ok(Request { cn, orgs, dns, ips, uris, emails, other_sans, key: key(&info.public_key)? })
}

fn ip(b: &[u8]) -> IpAddr {
    match <[u8; 4]>::try_from(b) {
        Ok(v4) => IpAddr::from(v4),
        Err(_) => IpAddr::from(<[u8; 16]>::try_from(b).unwrap_or([0; 16])),
    }
}

/// The CN (one at most) and the O values; every value a string Go and joinkit read alike.
fn subject(name: &x509_cert::name::Name) -> Result<(String, Vec<String>), String> {
    let (mut cns, mut orgs) = (Vec::new(), Vec::new());
    for rdn in &name.0 {
        for atv in rdn.0.iter() {
            let s = directory_string(&atv.value).map_err(|t| {
                format!(
                    "a subject attribute ({}) is a {t}: only UTF8String, PrintableString and IA5String are read",
                    atv.oid
                )
            })?;
            if atv.oid == OID_CN {
                cns.push(s);
            } else if atv.oid == OID_O {
                orgs.push(s);
            }
        }
    }
    if cns.len() > 1 {
        return Err(format!(
            "the subject has {} CNs: ambiguous (Go's crypto/x509 takes the last, other readers the first)",
            cns.len()
        ));
    }
    Ok((cns.pop().unwrap_or_default(), orgs))
}

/// A subject value as text, or the tag it has when it is not a string type joinkit reads.
fn directory_string(v: &Any) -> Result<String, String> {
    let bytes = v.value();
    let text = match v.tag() {
        Tag::Utf8String => std::str::from_utf8(bytes).ok().map(str::to_string),
        Tag::PrintableString => PrintableStringRef::new(bytes).ok().map(|s| s.to_string()),
        Tag::Ia5String => Ia5StringRef::new(bytes).ok().map(|s| s.to_string()),
        t => return Err(format!("{t}")),
    };
    text.ok_or_else(|| format!("malformed {}", v.tag()))
}

/// The key type and size.
fn key(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<KeyKind, String> {
    let alg = spki.algorithm.oid;
    Ok(if alg == OID_RSA {
        let bits = spki.subject_public_key.as_bytes().ok_or("the RSA key's bit string is not whole bytes")?;
        KeyKind::Rsa(rsa_modulus_bits(bits).map_err(|e| format!("the RSA key does not parse: {e}"))?)
    } else if alg == OID_EC {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .map(|o| o.to_string())
            .unwrap_or_default();
        KeyKind::Ecdsa(curve)
    } else if alg == OID_ED25519 {
        KeyKind::Ed25519
    } else {
        KeyKind::Other(alg.to_string())
    })
}

/// The modulus size of a PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
/// INTEGER }`.
fn rsa_modulus_bits(der: &[u8]) -> Result<usize, x509_cert::der::Error> {
    let mut r = SliceReader::new(der)?;
    let n = r.sequence(|r| {
        let n = UintRef::decode(r)?;
        UintRef::decode(r)?;
        Ok(n)
    })?;
    r.finish(())?;
    let m = n.as_bytes();
    Ok(m.first().map(|b| m.len() * 8 - b.leading_zeros() as usize).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubelet_serving(sans: &[rcgen::SanType]) -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(rcgen::DnType::OrganizationName, "system:nodes");
        p.distinguished_name.push(rcgen::DnType::CommonName, "system:node:n1");
        p.subject_alt_names = sans.to_vec();
        p.serialize_request(&key).unwrap().pem().unwrap()
    }

    #[test]
    fn a_kubelet_request_reads_as_go_reads_it() {
        let pem = kubelet_serving(&[
            rcgen::SanType::DnsName("n1".try_into().unwrap()),
            rcgen::SanType::IpAddress("10.0.0.1".parse().unwrap()),
        ]);
        let r = read(pem.as_bytes()).unwrap();
        assert_eq!(r.cn, "system:node:n1");
        assert_eq!(r.orgs, ["system:nodes"]);
        assert_eq!(r.dns, ["n1"]);
        assert_eq!(r.ips, ["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(r.key, KeyKind::Ecdsa("1.2.840.10045.3.1.7".into()));
    }

    #[test]
    fn too_many_sans_fail_quickly() {
        let sans: Vec<_> =
            (0..=MAX_SANS).map(|i| rcgen::SanType::DnsName(format!("n{i}").try_into().unwrap())).collect();
        let e = read(kubelet_serving(&sans).as_bytes()).unwrap_err();
        assert!(e.contains("at most 64"), "{e}");
    }

    #[test]
    fn a_second_pem_block_is_refused() {
        let a = kubelet_serving(&[rcgen::SanType::DnsName("n1".try_into().unwrap())]);
        let b = kubelet_serving(&[rcgen::SanType::DnsName("kubernetes.default.svc".try_into().unwrap())]);
        let e = read(format!("{a}{b}").as_bytes()).unwrap_err();
        assert!(e.contains("text after the END line"), "{e}");
    }
}
