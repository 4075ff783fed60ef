//! CA public-key pins and certificate reading.
//!
//! kubeadm pubkeypin (`cmd/kubeadm/app/util/pubkeypin`, spec section 3): a pin is
//! `sha256:<64 lowercase hex>` of SHA-256 over the certificate's DER SubjectPublicKeyInfo, for
//! any key type (RSA, ECDSA, Ed25519). Parsing splits on `:`, the algorithm is
//! case-insensitive, the hex is lowercased and must be 32 bytes; a bare hex string is rejected.
//! A set of pins matches if ANY certificate matches ANY pin.
//!
//! Certificates are read from PEM (one or many blocks; other block types such as keys are
//! skipped; CRLF and text around blocks are fine) or from a single DER certificate.

use crate::error::{Code, Failure};
use crate::report::Common;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

/// A parsed, validated CA public-key pin (`sha256:<64 lowercase hex>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pin(String);

impl Pin {
    /// Parses a pin with kubeadm's rules and messages (`bad-pin-format` on error).
    pub fn parse(s: &str) -> Result<Pin, Failure> {
        // Echoed values are cut: a pin is 71 characters, the input may be megabytes.
        let shown = |v: &str| crate::report::truncate_for_display(v, crate::report::MAX_ECHO_CHARS);
        let bad = |msg: String| {
            Failure::new(Code::BadPinFormat, Common::Input, format!("expected sha256:<64 hex digits>, got {:?}", shown(s)))
                .kubeadm(msg)
                .cause("the --discovery-token-ca-cert-hash value was truncated, lost its sha256: prefix, or is not a pin")
                .fix("compute the pin with `joinkit ca-hash /etc/kubernetes/pki/ca.crt` on a control-plane node (or `kubeadm token create --print-join-command`)")
        };
        let Some((algo, hex)) = s.split_once(':') else {
            return Err(bad("invalid hash, expected \"format:hex-value\". Known format(s) are: sha256".into()));
        };
        if !algo.eq_ignore_ascii_case("sha256") {
            return Err(bad(format!("unknown hash format {:?}. Known format(s) are: sha256", shown(algo))));
        }
        let hex = hex.to_ascii_lowercase();
        if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("invalid hash {:?}: not hexadecimal", shown(s))));
        }
        if hex.len() != 64 {
            return Err(bad(format!(
                "invalid hash {:?}, expected a 32 byte SHA-256 hash, found {} bytes",
                shown(&hex),
                hex.len() / 2
            )));
        }
        Ok(Pin(format!("sha256:{hex}")))
    }

    /// The pin of a DER SubjectPublicKeyInfo.
    pub fn of_spki(spki_der: &[u8]) -> Pin {
        let digest = Sha256::digest(spki_der);
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in digest {
            s.push_str(&format!("{b:02x}"));
        }
        Pin(s)
    }

    /// The pin as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of pins, never empty; matches if any certificate matches any pin (kubeadm >= 1.22,
/// kubeadm#2471). A trust decision cannot be made with no pin, so an empty set cannot be built:
/// [`PinSet::parse_all`] returns `None` for no pins and callers must say so (`no-pins`).
#[derive(Debug, Clone)]
pub struct PinSet(Vec<Pin>);

impl PinSet {
    /// Parses every value (each may hold several comma-separated pins, like kubeadm's
    /// string-slice flag). `Ok(None)` when no pin was given; `bad-pin-format` on a malformed pin.
    pub fn parse_all<S: AsRef<str>>(values: &[S]) -> Result<Option<PinSet>, Failure> {
        let mut v = Vec::new();
        for raw in values {
            for p in raw.as_ref().split(',').map(str::trim).filter(|p| !p.is_empty()) {
                v.push(Pin::parse(p)?);
            }
        }
        Ok(PinSet::new(v))
    }

    /// A set of these pins; `None` when `pins` is empty.
    pub fn new(pins: Vec<Pin>) -> Option<PinSet> {
        (!pins.is_empty()).then_some(PinSet(pins))
    }

    /// The pins (at least one).
    pub fn pins(&self) -> &[Pin] {
        &self.0
    }

    /// The first pin of `seen` that is in the set.
    pub(crate) fn find_match<'a>(&self, seen: &'a [Pin]) -> Option<&'a Pin> {
        seen.iter().find(|p| self.0.contains(p))
    }
}

/// A certificate read from input, with what `ca-hash -o json` shows about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    /// The CA public-key pin.
    pub pin: String,
    /// Subject DN (RFC 4514 style, as x509-parser prints it).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, lowercase hex with colons.
    pub serial: String,
    /// Validity start, RFC 3339 UTC.
    pub not_before: String,
    /// Validity end, RFC 3339 UTC.
    pub not_after: String,
    /// `RSA-2048`, `ECDSA-P256`, `ECDSA-P384`, `ECDSA-P521`, `Ed25519`, ...
    pub key_algorithm: String,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
    /// Validity start as Unix seconds.
    #[serde(skip)]
    pub not_before_unix: i64,
    /// Validity end as Unix seconds.
    #[serde(skip)]
    pub not_after_unix: i64,
}

impl CertInfo {
    /// `expired`, `not yet valid`, or `None` when valid at `now_unix`.
    pub fn validity_problem(&self, now_unix: i64) -> Option<&'static str> {
        if now_unix > self.not_after_unix {
            Some("expired")
        } else if now_unix < self.not_before_unix {
            Some("not yet valid")
        } else {
            None
        }
    }
}

fn rfc3339(t: i64) -> String {
    ::time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&::time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

fn key_algorithm(spki: &SubjectPublicKeyInfo<'_>) -> String {
    use x509_parser::public_key::PublicKey;
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA-{}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P256".to_string(),
                    "1.3.132.0.34" => "P384".to_string(),
                    "1.3.132.0.35" => "P521".to_string(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "unknown-curve".into());
            format!("ECDSA-{curve}")
        }
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".into(),
            "1.3.101.113" => "Ed448".into(),
            other => other.to_string(),
        },
    }
}

/// Parses one DER certificate into [`CertInfo`]. Errors name `what` (e.g. the file).
pub fn inspect(der: &[u8], what: &str) -> Result<CertInfo, Failure> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| {
        Failure::new(Code::BadCertificate, Common::Read, format!("{what}: not a valid X.509 certificate: {e}"))
            .cause("the data is truncated, corrupted, or not a certificate")
            .fix("check the file; `openssl x509 -in FILE -noout -text` shows what it holds")
    })?;
    if !rest.is_empty() {
        return Err(Failure::new(
            Code::BadCertificate,
            Common::Read,
            format!("{what}: {} trailing bytes after the certificate", rest.len()),
        )
        .cause("the DER data has garbage after the certificate")
        .fix("re-export the certificate"));
    }
    let tbs = &cert.tbs_certificate;
    let serial = tbs.raw_serial().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    let nb = tbs.validity.not_before.timestamp();
    let na = tbs.validity.not_after.timestamp();
    Ok(CertInfo {
        pin: Pin::of_spki(tbs.subject_pki.raw).0,
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial,
        not_before: rfc3339(nb),
        not_after: rfc3339(na),
        key_algorithm: key_algorithm(&tbs.subject_pki),
        is_ca: cert.is_ca(),
        not_before_unix: nb,
        not_after_unix: na,
    })
}

/// Reads every certificate in `data`: PEM (other block types skipped) or one DER certificate.
/// Errors: `no-certificate` when there is none, `bad-certificate` for a truncated or corrupt
/// PEM block or DER. `what` names the source in messages.
pub fn read_certificates(data: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let has_pem = data.windows(11).any(|w| w == b"-----BEGIN ");
    if !has_pem {
        if data.first() == Some(&0x30) {
            // One DER certificate; validate it now so garbage is reported as such.
            inspect(data, what)?;
            return Ok(vec![CertificateDer::from(data.to_vec())]);
        }
        return Err(no_certificate(what));
    }
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(data) {
        match item {
            Ok(c) => certs.push(c),
            Err(e) => {
                return Err(Failure::new(
                    Code::BadCertificate,
                    Common::Read,
                    format!("{what}: bad PEM: {}", pem_error(&e)),
                )
                .cause("a PEM block is truncated (no END line), has invalid base64, or was edited")
                .fix("copy the certificate again, including the -----BEGIN/END CERTIFICATE----- lines"))
            }
        }
    }
    // A BEGIN CERTIFICATE without a matching END is skipped silently by the PEM reader: catch it.
    let begins = count(data, b"-----BEGIN CERTIFICATE-----");
    if begins > certs.len() {
        return Err(Failure::new(
            Code::BadCertificate,
            Common::Read,
            format!("{what}: {begins} BEGIN CERTIFICATE lines but only {} complete certificates", certs.len()),
        )
        .cause("a PEM block is truncated: its -----END CERTIFICATE----- line is missing")
        .fix("copy the certificate again, including the END line"));
    }
    if certs.is_empty() {
        return Err(no_certificate(what));
    }
    for c in &certs {
        inspect(c.as_ref(), what)?;
    }
    Ok(certs)
}

/// A PEM parse error for people: the PEM reader's `Display` prints the offending line as a
/// list of byte values (a 5 MB line becomes 20+ MB of numbers), so lines are shown as text, cut
/// to [`crate::report::MAX_ECHO_CHARS`] characters.
fn pem_error(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    let text = |b: &[u8]| {
        let cut = &b[..b.len().min(4 * crate::report::MAX_ECHO_CHARS)];
        let lossy = String::from_utf8_lossy(cut);
        let line = lossy.trim_end();
        let shown: String = line.chars().take(crate::report::MAX_ECHO_CHARS).collect();
        if shown.len() == line.len() && cut.len() == b.len() {
            format!("{shown:?}")
        } else {
            format!("{shown:?}… ({} bytes in all)", b.len())
        }
    };
    match e {
        Error::MissingSectionEnd { end_marker } => {
            format!("missing the END line of a {} block", text(end_marker))
        }
        Error::IllegalSectionStart { line } => format!("malformed BEGIN line {}", text(line)),
        other => crate::report::truncate_for_display(&other.to_string(), 4 * crate::report::MAX_ECHO_CHARS),
    }
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn no_certificate(what: &str) -> Failure {
    Failure::new(Code::NoCertificate, Common::Read, format!("{what}: expected a PEM or DER certificate, found none"))
        .cause("the input is empty, a private key only, or not a certificate")
        .fix("pass the CA certificate, e.g. /etc/kubernetes/pki/ca.crt on a control-plane node")
}

/// The pins of every certificate in a PEM bundle, in order (errors as [`read_certificates`]).
pub fn pins_of_pem(data: &[u8], what: &str) -> Result<Vec<Pin>, Failure> {
    read_certificates(data, what)?.iter().map(|c| inspect(c.as_ref(), what).map(|i| Pin(i.pin))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_parse_rules() {
        let hex = "3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";
        assert_eq!(Pin::parse(&format!("SHA256:{}", hex.to_uppercase())).unwrap().as_str(), format!("sha256:{hex}"));
        let f = Pin::parse(hex).unwrap_err();
        assert_eq!(f.code, Code::BadPinFormat);
        assert_eq!(
            f.kubeadm_message.as_deref(),
            Some("invalid hash, expected \"format:hex-value\". Known format(s) are: sha256")
        );
        let f = Pin::parse(&format!("md5:{hex}")).unwrap_err();
        assert_eq!(f.kubeadm_message.as_deref(), Some("unknown hash format \"md5\". Known format(s) are: sha256"));
        let f = Pin::parse("sha256:abcd").unwrap_err();
        assert_eq!(
            f.kubeadm_message.as_deref(),
            Some("invalid hash \"abcd\", expected a 32 byte SHA-256 hash, found 2 bytes")
        );
        // A huge value is echoed cut, in the message and in kubeadm's.
        let huge = format!("sha256:{}", "g".repeat(1 << 20));
        let f = Pin::parse(&huge).unwrap_err();
        assert!(f.message.len() < 400 && f.message.contains("bytes in all"), "{}", f.message);
        assert!(f.kubeadm_message.as_deref().is_some_and(|k| k.len() < 400), "{:?}", f.kubeadm_message);
        let set = PinSet::parse_all(&[format!("sha256:{hex},sha256:{}", "0".repeat(64))]).unwrap().unwrap();
        assert_eq!(set.pins().len(), 2);
        // A pinned trust set cannot be empty: no pins (or only separators) is None, not a set.
        assert!(PinSet::parse_all::<&str>(&[]).unwrap().is_none());
        assert!(PinSet::parse_all(&[",", " "]).unwrap().is_none());
        assert!(PinSet::new(Vec::new()).is_none());
    }
}
