//! The uploaded control-plane certificates (Secret `kubeadm-certs`, spec section 7): each data
//! value is AES-256-GCM under the 32-byte certificate key, laid out nonce (12 bytes) |
//! ciphertext | tag (16 bytes), as kubeadm's `cmd/kubeadm/app/util/crypto` writes it. ring does
//! the AEAD.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// Decodes a 64-hex-digit certificate key (kubeadm's messages on error).
pub fn decode_key(hex: &str) -> Result<[u8; 32], String> {
    if let Some(e) = crate::config::validate::certificate_key_error(hex) {
        return Err(e);
    }
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(k)
}

/// What kubeadm's DownloadCerts (cmd/kubeadm/app/phases/copycerts/copycerts.go) wraps every
/// decryption error in.
pub const DECODE_ERROR: &str = "error decoding secret data with provided key";
/// Go's `cipher: message authentication failed` (crypto/cipher's GCM Open): a wrong key, or a
/// value shorter than nonce + tag, or altered.
pub const AUTH_FAILED: &str = "cipher: message authentication failed";

/// Decrypts one value; `Err` is kubeadm's whole message for it
/// (`error decoding secret data with provided key: ...`), as `kubeadm join --control-plane`
/// prints it after `error downloading certs: `. An empty value is an entry kubeadm uploaded
/// empty (a file absent on the control plane, e.g. etcd/ca.* with an external etcd) and opens
/// to nothing, as in kubeadm's getDataFromSecret.
pub fn open(key: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>, String> {
    if sealed.is_empty() {
        return Ok(Vec::new());
    }
    // kubeadm's DecryptBytes (cmd/kubeadm/app/util/crypto/crypto.go): shorter than the nonce is
    // its own error; anything else that does not open is GCM's authentication failure.
    if sealed.len() < NONCE_LEN {
        return Err(format!("{DECODE_ERROR}: size of data is less than the nonce size"));
    }
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return Err(format!("{DECODE_ERROR}: {AUTH_FAILED}"));
    }
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| "bad key")?);
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce")?;
    let mut buf = rest.to_vec();
    let plain = k.open_in_place(nonce, Aad::empty(), &mut buf).map_err(|_| format!("{DECODE_ERROR}: {AUTH_FAILED}"))?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        // Sealed as kubeadm (and the lab's `seal`) do: nonce | ciphertext | tag.
        let k = decode_key(&"ab".repeat(32)).unwrap();
        let nonce = [7u8; NONCE_LEN];
        let mut buf = b"secret".to_vec();
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &k).unwrap())
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .unwrap();
        let s = [nonce.to_vec(), buf].concat();
        assert_eq!(s.len(), 12 + 6 + 16);
        assert_eq!(open(&k, &s).unwrap(), b"secret");
        let other = decode_key(&"cd".repeat(32)).unwrap();
        assert_eq!(
            open(&other, &s).unwrap_err(),
            "error decoding secret data with provided key: cipher: message authentication failed"
        );
        assert_eq!(open(&k, &s[..20]).unwrap_err(), open(&other, &s).unwrap_err());
        assert!(open(&k, &s[..11]).unwrap_err().ends_with(": size of data is less than the nonce size"));
        assert_eq!(open(&k, &[]).unwrap(), Vec::<u8>::new());
        assert!(decode_key("abcd").unwrap_err().contains("invalid certificate key size 2"));
    }
}
