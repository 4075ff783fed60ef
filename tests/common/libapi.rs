//! The only joinkit library calls made by tests/hostile.rs and tests/fuzz.rs, in one place so
//! they are easy to adapt when the library's signatures change. Everything else those tests do
//! goes through the `joinkit` binary, whose flags are stable.
#![allow(dead_code)]

/// PEM bundle or DER → certificates (DER). `Err` carries the failure message.
pub fn read_certificates(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    joinkit_core::pin::read_certificates(data, "fuzz")
        .map(|v| v.into_iter().map(|c| c.as_ref().to_vec()).collect())
        .map_err(|f| f.message)
}

/// One DER certificate → its kubeadm pin (`sha256:<hex>`).
pub fn inspect_pin(der: &[u8]) -> Result<String, String> {
    joinkit_core::pin::inspect(der, "fuzz").map(|i| i.pin).map_err(|f| f.message)
}

/// Detached HS256 JWS over `content`, as the bootstrapsigner writes it.
pub fn sign_detached(content: &str, token_id: &str, token_secret: &str) -> String {
    joinkit_core::jws::sign_detached(content, token_id, token_secret)
}

/// Does `detached` verify over `content` with the token?
pub fn jws_verify(content: &str, detached: &str, token_id: &str, token_secret: &str) -> bool {
    joinkit_core::jws::verify(content, detached, token_id, token_secret).is_ok()
}

/// A cluster-info ConfigMap from JSON or YAML text; Ok holds the number of data keys.
pub fn cluster_info_from_text(text: &str) -> Result<usize, String> {
    joinkit_core::discovery::UntrustedClusterInfo::from_text(text).map(|ci| ci.keys().len())
}

/// joinkit's YAML reader; Ok holds the number of documents.
pub fn yaml_parse(text: &str) -> Result<usize, String> {
    joinkit_core::yaml::parse(text).map(|d| d.len()).map_err(|e| e.message)
}

/// validate-config's check of one file's text (`joinkit_core::config::check_text`, public in
/// src/config); returns the number of problems.
pub fn validate_config_text(text: &str) -> usize {
    joinkit_core::config::check_text("fuzz.yaml", text).problems.len()
}

/// The DER of a CSR object's `spec.request` (base64 of PEM).
pub fn request_der(csr: &serde_json::Value) -> Option<Vec<u8>> {
    joinkit_core::bootstrap::request_der(csr)
}
