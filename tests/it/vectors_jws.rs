//! Every JWS vector from Kubernetes' own signer signs and verifies byte for byte, fails when
//! content, token ID or secret change, and josekit (an independent JOSE library) agrees.

use crate::common;
use joinkit_core::jws;
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(common::vectors().join("jws.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let list = v["vectors"].as_array().unwrap().clone();
    assert!(list.len() >= 10, "expected the full vector set, got {}", list.len());
    list
}

fn fields(v: &Value) -> (&str, &str, &str, &str) {
    (
        v["token_id"].as_str().unwrap(),
        v["token_secret"].as_str().unwrap(),
        v["content"].as_str().unwrap(),
        v["signature"].as_str().unwrap(),
    )
}

#[test]
fn every_vector_signs_byte_for_byte() {
    for v in vectors() {
        let (id, secret, content, sig) = fields(&v);
        assert_eq!(jws::sign_detached(content, id, secret), sig, "{}", v["description"]);
    }
}

#[test]
fn every_vector_verifies_and_rejects_changes() {
    for v in vectors() {
        let (id, secret, content, sig) = fields(&v);
        let d = v["description"].as_str().unwrap();
        assert_eq!(jws::verify(content, sig, id, secret), Ok(()), "{d}");
        assert!(jws::verify(&format!("{content} "), sig, id, secret).is_err(), "content change accepted: {d}");
        if !content.is_empty() {
            assert!(jws::verify(&content[..content.len() - 1], sig, id, secret).is_err(), "truncation accepted: {d}");
        }
        let other_id = if id == "abcdef" { "abcdeg" } else { "abcdef" };
        assert!(jws::verify(content, sig, other_id, secret).is_err(), "id change accepted: {d}");
        assert!(jws::verify(content, sig, id, &format!("{secret}x")).is_err(), "secret change accepted: {d}");
        // A flipped MAC byte is rejected.
        let (head, mac) = sig.split_once("..").unwrap();
        let mut m: Vec<char> = mac.chars().collect();
        m[0] = if m[0] == 'A' { 'B' } else { 'A' };
        let bad = format!("{head}..{}", m.into_iter().collect::<String>());
        assert_eq!(jws::verify(content, &bad, id, secret), Err(jws::JwsError::BadSignature), "{d}");
    }
}

/// josekit refuses HMAC keys under 32 bytes, so the secret is zero-padded to 32 bytes, which
/// gives the same HMAC (HMAC zero-pads keys to the block size anyway).
#[test]
fn josekit_agrees() {
    use josekit::jws::{JwsHeader, HS256};
    for v in vectors() {
        let (id, secret, content, sig) = fields(&v);
        let mut key = secret.as_bytes().to_vec();
        if key.len() > 64 {
            continue; // longer keys are hashed by HMAC; no vector has one
        }
        key.resize(key.len().max(32), 0);
        let mut header = JwsHeader::new();
        header.set_key_id(id);
        let signer = HS256.signer_from_bytes(&key).unwrap();
        let compact = josekit::jws::serialize_compact(content.as_bytes(), &header, &signer).unwrap();
        let parts: Vec<&str> = compact.split('.').collect();
        // josekit orders header members its own way; compare the MAC over kubeadm's header.
        let verifier = HS256.verifier_from_bytes(&key).unwrap();
        let ours = jws::sign_detached(content, id, secret);
        let (our_head, our_mac) = ours.split_once("..").unwrap();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let input = format!("{our_head}.{}", b64.encode(content));
        josekit::jws::JwsVerifier::verify(&verifier, input.as_bytes(), &b64.decode(our_mac).unwrap())
            .expect("josekit verifies our MAC");
        assert_eq!(ours, sig);
        // And josekit's own token verifies with josekit (sanity of the setup).
        assert_eq!(parts.len(), 3);
        josekit::jws::deserialize_compact(&compact, &verifier).unwrap();
        // A wrong secret is rejected by josekit too.
        let mut wrong = key.clone();
        wrong[0] ^= 1;
        let wv = HS256.verifier_from_bytes(&wrong).unwrap();
        assert!(josekit::jws::JwsVerifier::verify(&wv, input.as_bytes(), &b64.decode(our_mac).unwrap()).is_err());
    }
}
