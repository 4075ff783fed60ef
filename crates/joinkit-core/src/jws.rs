//! Detached JWS (HS256) signatures of the cluster-info kubeconfig.
//!
//! Rule (`k8s.io/cluster-bootstrap/token/jws`, spec section 2.3): protected header bytes
//! exactly `{"alg":"HS256","kid":"<token id>"}`, payload the raw kubeconfig string, key the
//! token **secret**, HMAC-SHA256 over `b64url(header) + "." + b64url(payload)` with unpadded
//! base64url; stored detached as `<b64url(header)>..<b64url(mac)>`.
//!
//! kubeadm verifies by recomputing the whole detached string and comparing. [`verify`] does the
//! same in effect: the header part must equal the recomputed one byte for byte, the MAC part
//! must be canonical unpadded base64url, and the MAC is checked with `ring::hmac::verify`
//! (constant time). A canonical encoding is a bijection, so this accepts exactly the strings
//! kubeadm accepts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

/// The detached JWS kubeadm's bootstrapsigner writes for `content` under token `id`/`secret`.
/// Shape: `<b64url header>..<b64url 32-byte HMAC>` (no padding).
pub fn sign_detached(content: &str, token_id: &str, token_secret: &str) -> String {
    let header = protected_header(token_id);
    let key = hmac::Key::new(hmac::HMAC_SHA256, token_secret.as_bytes());
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(content.as_bytes()));
    let mac = hmac::sign(&key, signing_input.as_bytes());
    format!("{header}..{}", URL_SAFE_NO_PAD.encode(mac.as_ref()))
}

/// The base64url protected header for `token_id`: `b64url({"alg":"HS256","kid":"<id>"})`.
pub(crate) fn protected_header(token_id: &str) -> String {
    // serde_json escapes the id exactly as Go's encoding/json does for the token alphabet.
    let kid = serde_json::to_string(token_id).unwrap_or_else(|_| format!("\"{token_id}\""));
    URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"HS256\",\"kid\":{kid}}}"))
}

/// Why a detached JWS did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwsError {
    /// Not `<header>..<signature>`.
    Malformed,
    /// The protected header is not `{"alg":"HS256","kid":"<id>"}` for this token ID.
    WrongHeader,
    /// The MAC does not match: wrong secret or changed content.
    BadSignature,
}

impl std::fmt::Display for JwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JwsError::Malformed => "not a detached JWS of the form <header>..<signature>",
            JwsError::WrongHeader => "the protected header is not {\"alg\":\"HS256\",\"kid\":\"<token id>\"}",
            JwsError::BadSignature => "the HMAC-SHA256 does not match the token secret and content",
        })
    }
}

/// Verifies a detached JWS as kubeadm does (see module docs). Constant time in the MAC.
pub fn verify(content: &str, detached: &str, token_id: &str, token_secret: &str) -> Result<(), JwsError> {
    let (header, mac_b64) = detached.split_once("..").ok_or(JwsError::Malformed)?;
    if header.is_empty() || mac_b64.contains('.') {
        return Err(JwsError::Malformed);
    }
    if header != protected_header(token_id) {
        return Err(JwsError::WrongHeader);
    }
    let mac = URL_SAFE_NO_PAD.decode(mac_b64).map_err(|_| JwsError::Malformed)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, token_secret.as_bytes());
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(content.as_bytes()));
    hmac::verify(&key, signing_input.as_bytes(), &mac).map_err(|_| JwsError::BadSignature)
}

/// Constant-time equality of two secrets of any length (double-HMAC comparison under a random
/// key: the comparison time depends on neither value's content).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    let rng = ring::rand::SystemRandom::new();
    let Ok(key) = hmac::Key::generate(hmac::HMAC_SHA256, &rng) else {
        return false;
    };
    let tag = hmac::sign(&key, a);
    hmac::verify(&key, b, tag.as_ref()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_vector() {
        let sig = sign_detached(
            "Hello from the other side. I must have called a thousand times.",
            "joshua",
            "my voice is my passcode",
        );
        assert_eq!(sig, "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8");
    }

    #[test]
    fn rejects_noncanonical_and_malformed() {
        let good = sign_detached("x", "abcdef", "0123456789abcdef");
        assert!(verify("x", &good, "abcdef", "0123456789abcdef").is_ok());
        // Flip the last base64 char to one that decodes to the same bytes but is non-canonical.
        let mut chars: Vec<char> = good.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let changed: String = chars.into_iter().collect();
        assert!(verify("x", &changed, "abcdef", "0123456789abcdef").is_err());
        assert_eq!(verify("x", "", "abcdef", "s"), Err(JwsError::Malformed));
        assert_eq!(verify("x", "abc.def.ghi", "abcdef", "s"), Err(JwsError::Malformed));
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
    }
}
