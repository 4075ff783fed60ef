//! The admin client's failures, one mapping each (client-go's `errors.FromObject` reasons and
//! kubectl's wording as models): an HTTP error answer to a code with the server's Status message
//! (401 `api-unauthorized`, 403 `api-forbidden`, 404 `api-not-found`, 409 `api-conflict`, 422
//! `api-invalid`, others `api-error`), a transport error to verify-discovery's codes, and answers
//! that are not what the API returns (too large, not JSON, the wrong kind). Quoted server text is
//! bounded and stripped of control characters.

use super::api::MAX_RESPONSE_BODY;
use super::ApiStage;
use crate::error::{Code, Failure};
use serde_json::Value;

/// Characters of a response body (or a Status message) quoted in an error.
pub(crate) const QUOTED_BODY_CHARS: usize = 300;

/// Maps an HTTP error answer to a failure with the server's Status message.
pub(crate) fn api_failure(status: u16, body: &Value, method: &str, path: &str, attempts: u32) -> Failure {
    let msg = quote(body.get("message").and_then(Value::as_str).or(body.as_str()).unwrap_or(""));
    let what = format!("{method} {path}: HTTP {status}: {msg}");
    let (code, cause, fix) = match status {
        401 => (
            Code::ApiUnauthorized,
            "the kubeconfig's credentials are not accepted (expired token or certificate, wrong cluster)".to_string(),
            "refresh the credentials (an exec plugin login, a new admin.conf) or pick the right --context".to_string(),
        ),
        403 => (
            Code::ApiForbidden,
            format!("RBAC denies this user the request: {msg}"),
            "use an admin kubeconfig (/etc/kubernetes/admin.conf) or grant the verb on the resource to this user"
                .to_string(),
        ),
        404 => (Code::ApiNotFound, "the object does not exist".to_string(), "check the name".to_string()),
        409 => (
            Code::ApiConflict,
            "the object already exists or changed meanwhile".to_string(),
            "use another name or retry".to_string(),
        ),
        422 => (
            Code::ApiInvalid,
            "the API server refused the object as invalid".to_string(),
            "fix the fields the message names".to_string(),
        ),
        s if s == 429 || s >= 500 => (
            Code::ApiError,
            format!("the API server is overloaded or failing; still failing after {attempts} attempt(s)"),
            "check the control plane's health (`kubectl get --raw /readyz?verbose`) and retry later".to_string(),
        ),
        _ => (
            Code::ApiError,
            "the API server answered with an unexpected status".to_string(),
            "check the request and the server".to_string(),
        ),
    };
    Failure::new(code, ApiStage::Api, what).cause(cause).fix(fix)
}

/// Maps a reqwest transport error to verify-discovery's codes.
pub(crate) fn transport_failure(e: &reqwest::Error, server: &str, method: &str, path: &str) -> Failure {
    use std::error::Error as _;
    let mut io_kind = None;
    let mut tls: Option<String> = None;
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            tls.get_or_insert(r.to_string());
        }
        src = s.source();
    }
    use std::io::ErrorKind as K;
    let (code, cause, fix) = if e.is_timeout() && !e.is_connect() {
        (
            Code::RequestTimeout,
            "the API server did not answer in time",
            "check the API server's health, or raise --timeout",
        )
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        (Code::DnsFailure, "the server's host name does not resolve", "fix DNS or the kubeconfig's server")
    } else if tls.as_deref().is_some_and(|t| t.contains("certificate")) || text.contains("invalid peer certificate") {
        (
            Code::TlsVerifyFailed,
            "the API server's certificate does not verify against the kubeconfig's CA",
            "fix certificate-authority-data in the kubeconfig",
        )
    } else if tls.is_some() {
        (
            Code::TlsHandshakeFailed,
            "the TLS handshake failed",
            "check that the server URL points at the API server's secure port",
        )
    } else {
        match io_kind {
            Some(K::ConnectionRefused) => (
                Code::ConnectionRefused,
                "nothing listens on the API server's address",
                "check the kubeconfig's server and that kube-apiserver runs",
            ),
            Some(K::NetworkUnreachable | K::HostUnreachable) => {
                (Code::NoRoute, "no route to the API server", "check routes and firewalls")
            }
            Some(K::TimedOut) => {
                (Code::ConnectTimeout, "the TCP connect timed out", "check firewalls and that the API server is up")
            }
            _ if e.is_timeout() => {
                (Code::ConnectTimeout, "the TCP connect timed out", "check firewalls and that the API server is up")
            }
            _ if e.is_connect() => (
                Code::ConnectionRefused,
                "the connection to the API server failed",
                "check the kubeconfig's server and that kube-apiserver runs",
            ),
            _ => (Code::ApiError, "the request failed in transport", "retry; check the network"),
        }
    };
    Failure::new(code, ApiStage::Api, format!("{method} {server}{path}: {text}")).cause(cause).fix(fix)
}

/// The JSON of an error answer, or its text as a JSON string.
pub(super) fn error_body(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// `text` for an error message: control characters replaced, at most [`QUOTED_BODY_CHARS`]
/// characters.
pub(super) fn quote(text: &str) -> String {
    let text = text.trim();
    let mut out: String = text.chars().take(QUOTED_BODY_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().nth(QUOTED_BODY_CHARS).is_some() {
        out.push_str(" [...]");
    }
    out
}

pub(super) fn too_large(status: u16, method: &str, path: &str) -> Failure {
    Failure::new(
        Code::ApiError,
        ApiStage::Api,
        format!("{method} {path}: HTTP {status}: response body exceeds {} MiB", MAX_RESPONSE_BODY >> 20),
    )
    .cause("the answer is far larger than any API object joinkit reads: something other than the API server (a broken proxy or load balancer) or a misbehaving server answered")
    .fix("check that the kubeconfig's server is the API server itself, e.g. `kubectl get --raw /version`")
}

pub(super) fn not_json(status: u16, content_type: &str, bytes: &[u8], method: &str, path: &str) -> Failure {
    let ct = if content_type.is_empty() { "no Content-Type".to_string() } else { content_type.to_string() };
    let what = if bytes.iter().all(u8::is_ascii_whitespace) {
        format!("{method} {path}: HTTP {status} with an empty body ({ct}), not the JSON an API server sends")
    } else {
        format!(
            "{method} {path}: HTTP {status} with a {ct} body that is not JSON: {}",
            quote(&String::from_utf8_lossy(bytes))
        )
    };
    Failure::new(Code::ApiError, ApiStage::Api, what)
        .cause("something other than the API server answered (a proxy's HTML login page, a load balancer's error page); nothing was read or changed as intended")
        .fix("check that the kubeconfig's server is the API server itself and that no proxy intercepts it")
}

/// Checks that an answer is one of the `kinds` a caller expects (`what` names the request in
/// the message), e.g. a SecretList for a list of Secrets. Errors: `api-error`.
pub(crate) fn expect_kind(v: &Value, kinds: &[&str], what: &str) -> Result<(), Failure> {
    let kind = v.get("kind").and_then(Value::as_str);
    if kind.is_some_and(|k| kinds.contains(&k)) {
        return Ok(());
    }
    let got = match kind {
        Some(k) => format!("a {}", quote(k)),
        None => format!("JSON with no kind: {}", quote(&v.to_string())),
    };
    Err(Failure::new(Code::ApiError, ApiStage::Api, format!("{what}: expected {}, got {got}", kinds.join(" or ")))
        .cause("the server's answer is not what the Kubernetes API returns for this request (a proxy or a different service answered)")
        .fix("check that the kubeconfig's server is the API server itself"))
}
