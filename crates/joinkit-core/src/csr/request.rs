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
//! - SANs that Go reads the same way: DNS, email and URI as IA5String, IPs of 4 or 16 bytes and
//!   no IPv4-mapped IPv6 address (Go's `crypto/x509/parser.go` `parseSANExtension` refuses it;
//!   older Go read it as the IPv4 address), URIs only in a form Go's `net/url` parses and writes
//!   back unchanged (`uri_reads_alike`; the signer writes `url.URL.String()`, which lower-cases
//!   the scheme and rewrites escapes); at most [`MAX_SANS`];
//! - every OBJECT IDENTIFIER minimally encoded (the `der` crate keeps an OID's bytes as they
//!   came; Go refuses a non-minimal one);
//! - the signature and the key as whole bytes (a BIT STRING's unused bits survive the
//!   re-encoding; Go refuses them when they are not zero);
//! - the requested extensions and the SubjectAltName canonical DER too (decoded and re-encoded
//!   to the same bytes: they sit inside the attribute and the extension as opaque values, which
//!   the whole request's re-encoding does not check).
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
    if !oids_minimal(der) {
        return Err("an OBJECT IDENTIFIER is not minimally encoded, or a value inside does not parse as DER: readers could disagree on what it asks for (Go refuses the first)".into());
    }
    let info = &req.info;
    // The signature and the key are whole bytes. The re-encoding above keeps a BIT STRING's
    // unused bits as they came, while DER wants them zero (X.690 11.2.1) and Go's
    // encoding/asn1 (asn1.go parseBitString) refuses the request when they are not.
    if req.signature.unused_bits() != 0 || info.public_key.subject_public_key.unused_bits() != 0 {
        return Err("the signature or the key is a BIT STRING with unused bits: whole bytes only".into());
    }
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
        let value = attr.values.iter().next().ok_or("the extensionRequest attribute has no value")?;
        let exts: Vec<x509_cert::ext::Extension> =
            value.decode_as().map_err(|e| format!("the requested extensions do not parse: {e}"))?;
        if exts.to_der().ok() != value.to_der().ok() {
            return Err("the requested extensions are not canonical DER (re-encoding them gives other bytes): readers could disagree on what they ask for".into());
        }
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
            if names.to_der().ok().as_deref() != Some(san.extn_value.as_bytes()) {
                return Err("the SubjectAltName extension is not canonical DER (re-encoding it gives other bytes): readers could disagree on what it asks for".into());
            }
            if names.0.len() > MAX_SANS {
                return Err(format!("{} SANs: at most {MAX_SANS}", names.0.len()));
            }
            for n in &names.0 {
                match n {
                    GeneralName::DnsName(d) => dns.push(d.to_string()),
                    GeneralName::IpAddress(b) => match ip(b.as_bytes()) {
                        Some(a) => ips.push(a),
                        None if b.as_bytes().len() == 16 => {
                            return Err("an IPv4-mapped IPv6 SAN: Go refuses it (older Go read it as the IPv4 address)".into())
                        }
                        None => return Err(format!("an IP SAN of {} bytes: Go refuses it (4 or 16)", b.as_bytes().len())),
                    },
                    GeneralName::UniformResourceIdentifier(u) if uri_reads_alike(u.as_str()) => uris.push(u.to_string()),
                    GeneralName::UniformResourceIdentifier(_) => return Err(
                        "a URI SAN outside the form Go parses and writes back unchanged (lower-case scheme, then \"//\" and a host name or a path; no '%', '?' or '#')".into(),
                    ),
                    GeneralName::Rfc822Name(m) => emails.push(m.to_string()),
                    _ => other_sans += 1,
                }
            }
        }
    }
    Ok(Request { cn, orgs, dns, ips, uris, emails, other_sans, key: key(&info.public_key)? })
}

/// Whether every OBJECT IDENTIFIER in `der` is minimally encoded: no sub-identifier starts with
/// 0x80 (X.690 8.19.2). The `der` crate keeps an OID's bytes as they came, so the re-encoding
/// does not catch it, while Go's `encoding/asn1` and `cryptobyte` refuse the request; a reader
/// that decodes the arcs could read `2.5.4.3` (CN) in bytes no OID comparison matches. Walks
/// every constructed value (iteratively: attribute values may nest deeply), not the contents
/// of OCTET and BIT STRINGs; a TLV that does not parse, or a high tag number (none in a
/// request), is `false`.
fn oids_minimal(der: &[u8]) -> bool {
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, b) = b.split_first()?;
        let (&l, b) = b.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (len, b) = match l {
            0..=0x7f => (usize::from(l), b),
            0x81..=0x84 if b.len() >= usize::from(l & 0x7f) => {
                let (n, b) = b.split_at(usize::from(l & 0x7f));
                (n.iter().fold(0usize, |a, x| a << 8 | usize::from(*x)), b)
            }
            _ => return None,
        };
        (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
    }
    let oid_ok = |v: &[u8]| {
        v.last().is_some_and(|l| l & 0x80 == 0)
            && v.first() != Some(&0x80)
            && !v.windows(2).any(|w| w[0] & 0x80 == 0 && w[1] == 0x80)
    };
    let mut todo = vec![der];
    while let Some(mut b) = todo.pop() {
        while !b.is_empty() {
            let Some((tag, value, rest)) = tlv(b) else { return false };
            if tag & 0x20 != 0 {
                todo.push(value);
            } else if tag == 0x06 && !oid_ok(value) {
                return false;
            }
            b = rest;
        }
    }
    true
}

/// An IP SAN's address: 4 bytes, or 16 that are not an IPv4-mapped IPv6 address (Go's
/// `crypto/x509/parser.go` `parseSANExtension` refuses those, and any other length).
fn ip(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::from(v4));
    }
    let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?);
    v6.to_ipv4_mapped().is_none().then_some(IpAddr::V6(v6))
}

/// Whether Go reads URI SAN `u` as these very characters: the signer copies the `*url.URL` Go's
/// `crypto/x509/parser.go` `parseSANExtension` parsed (refusing the request when `url.Parse`
/// fails, or the host is not a valid domain name) and writes `url.URL.String()` into the
/// certificate (`crypto/x509/x509.go` `marshalSANs`). `String` lower-cases the scheme, rewrites
/// escapes and drops an empty fragment (Go's `net/url/url.go` `Parse`, `String`), so only this
/// strict form is read:
///
/// ```text
/// uri   = scheme ":" ( "//" host *( "/" *pchar ) / [ "/" ] [ pchar *( pchar / "/" ) ] )
/// scheme = lower *( lower / DIGIT / "+" / "-" / "." )
/// host  = label *( "." label ), label = 1*63( ALPHA / DIGIT / "-" )
/// pchar = ALPHA / DIGIT / "-" / "." / "_" / "~" / "!" / "$" / "&" / "'" / "(" / ")" / "*" /
///         "+" / "," / ";" / "=" / ":" / "@"
/// ```
///
/// (RFC 3986 3 without percent-encoding, query, fragment, user information, port or IP
/// literal; a path without a host does not start with "//"). Differentially tested in
/// `tests/it/csr_differential.rs`.
fn uri_reads_alike(u: &str) -> bool {
    let pchar = |c: u8| c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c);
    let Some((scheme, rest)) = u.split_once(':') else { return false };
    let scheme_ok = scheme.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
        && scheme.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+-.".contains(&c));
    if !scheme_ok {
        return false;
    }
    match rest.strip_prefix("//") {
        Some(authority_path) => {
            let (host, path) = authority_path.split_at(authority_path.find('/').unwrap_or(authority_path.len()));
            let label_ok =
                |l: &str| (1..=63).contains(&l.len()) && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
            host.split('.').all(label_ok) && path.bytes().all(|c| c == b'/' || pchar(c))
        }
        None => rest.bytes().all(|c| c == b'/' || pchar(c)),
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
    fn an_ipv4_mapped_ipv6_san_is_refused() {
        // Go refuses it; older Go read it as 10.0.0.1: either way not the ::ffff:10.0.0.1 joinkit
        // would judge (found by tests/it/csr_differential.rs).
        let mapped = "::ffff:10.0.0.1".parse().unwrap();
        let e = read(kubelet_serving(&[rcgen::SanType::IpAddress(mapped)]).as_bytes()).unwrap_err();
        assert!(e.contains("IPv4-mapped"), "{e}");
        let v6 = "fd00::1".parse().unwrap();
        assert_eq!(read(kubelet_serving(&[rcgen::SanType::IpAddress(v6)]).as_bytes()).unwrap().ips, [v6]);
    }

    #[test]
    fn only_uris_go_writes_back_unchanged_are_read() {
        // Each refused one is parsed by Go's net/url into another string, or refused by Go
        // (found by tests/it/csr_differential.rs: "HTTPS://h" became "https://h", "a:/%41 ,"
        // became "a:/A%20,", "1a:" failed to parse).
        for u in ["spiffe://cluster.local/ns/a/sa/b", "https://H.example//p/", "urn:x:y", "a:", "a:/x", "a:b/c;d=e"] {
            assert!(uri_reads_alike(u), "{u}");
            let r = read(kubelet_serving(&[rcgen::SanType::URI(u.try_into().unwrap())]).as_bytes()).unwrap();
            assert_eq!(r.uris, [u]);
        }
        for u in [
            "HTTPS://h",
            "a:/%41",
            "a://x/%zz",
            "1a:",
            "a://",
            "a:////x",
            "a://x/y#",
            "a://x/y?q",
            "a://x:80/",
            "a://u@x/",
            "a://x./",
            "a://x..y",
            "a://[::1]/",
            "a:b c",
            "a:b\\c",
            "a:\"",
            "",
            "spiffe",
        ] {
            assert!(!uri_reads_alike(u), "{u}");
        }
        let e = read(kubelet_serving(&[rcgen::SanType::URI("HTTPS://h".try_into().unwrap())]).as_bytes()).unwrap_err();
        assert!(e.contains("URI SAN"), "{e}");
    }

    #[test]
    fn a_signature_with_unused_bits_is_refused() {
        // A BIT STRING's unused-bits count survives the DER round trip, and Go's encoding/asn1
        // refuses non-zero padding bits (found by tests/it/csr_differential.rs).
        let pem = kubelet_serving(&[rcgen::SanType::DnsName("n1".try_into().unwrap())]);
        let mut der = crate::pem::one_block(pem.as_bytes(), "CERTIFICATE REQUEST").unwrap();
        let sig_len = CertReq::from_der(&der).unwrap().signature.raw_bytes().len();
        let unused = der.len() - sig_len - 1;
        assert_eq!(der[unused], 0);
        assert!(read_der(&der).is_ok());
        der[unused] = 1;
        *der.last_mut().unwrap() |= 1;
        let e = read_der(&der).unwrap_err();
        assert!(e.contains("unused bits"), "{e}");
    }

    #[test]
    fn a_non_minimal_oid_is_refused() {
        // 2.5.4.10 (O) written 55 80 04 0a: the der crate keeps the bytes, Go refuses them
        // (found by tests/it/csr_differential.rs).
        let pem = kubelet_serving(&[rcgen::SanType::DnsName("n1".try_into().unwrap())]);
        let der = crate::pem::one_block(pem.as_bytes(), "CERTIFICATE REQUEST").unwrap();
        assert!(read_der(&der).is_ok());
        let o = [0x06, 0x03, 0x55, 0x04, 0x0a];
        let at = der.windows(5).position(|w| w == o).unwrap();
        // Same length: 2.5.4.10 becomes 2.5.10 with a padded arc (55 80 0a), as a byte flip made it.
        let mut bad = der.clone();
        bad[at + 3] = 0x80;
        let e = read_der(&bad).unwrap_err();
        assert!(e.contains("OBJECT IDENTIFIER"), "{e}");
        assert!(oids_minimal(&der));
        assert!(!oids_minimal(&[0x06, 0x02, 0x80, 0x01]));
        assert!(!oids_minimal(&[0x30, 0x04, 0x06, 0x02, 0x2a, 0x81]));
        assert!(!oids_minimal(&[0x30, 0x05, 0x06, 0x01]));
    }

    #[test]
    fn a_second_pem_block_is_refused() {
        let a = kubelet_serving(&[rcgen::SanType::DnsName("n1".try_into().unwrap())]);
        let b = kubelet_serving(&[rcgen::SanType::DnsName("kubernetes.default.svc".try_into().unwrap())]);
        let e = read(format!("{a}{b}").as_bytes()).unwrap_err();
        assert!(e.contains("text after the END line"), "{e}");
    }
}
