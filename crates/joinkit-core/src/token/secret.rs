//! The bootstrap-token Secret, exactly as kubeadm writes it and as the API server's
//! authenticator and the bootstrapsigner read it (spec section 1;
//! `k8s.io/cluster-bootstrap/token/api`, kubeadm's `bootstraptoken/v1` encoding).

use crate::kubeconfig::decode_b64;
use crate::token::BootstrapToken;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Builds a bootstrap-token Secret exactly as kubeadm does (spec section 1): name
/// `bootstrap-token-<id>`, namespace kube-system, type `bootstrap.kubernetes.io/token`, data
/// keys base64, `expiration` RFC 3339 UTC (absent for no TTL), `description` only when
/// non-empty.
pub fn token_secret(
    token: &BootstrapToken,
    expiration: Option<time::OffsetDateTime>,
    usages: &[&str],
    groups: &[&str],
    description: &str,
) -> Value {
    let mut data = BTreeMap::new();
    let b = |s: &str| STANDARD.encode(s.as_bytes());
    data.insert("token-id".to_string(), b(token.id()));
    data.insert("token-secret".to_string(), b(token.secret()));
    if let Some(e) = expiration {
        data.insert("expiration".to_string(), b(&crate::duration::rfc3339(e)));
    }
    for u in usages {
        data.insert(format!("usage-bootstrap-{u}"), b("true"));
    }
    if !groups.is_empty() {
        data.insert("auth-extra-groups".to_string(), b(&groups.join(",")));
    }
    if !description.is_empty() {
        data.insert("description".to_string(), b(description));
    }
    json!({
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": format!("bootstrap-token-{}", token.id()), "namespace": "kube-system"},
        "data": data,
        "type": "bootstrap.kubernetes.io/token",
    })
}

/// A decoded bootstrap-token Secret.
#[derive(Debug, Clone)]
pub struct TokenSecret {
    /// Token ID.
    pub id: String,
    /// Token secret.
    pub secret: String,
    /// Expiration, Unix seconds.
    pub expiration: Option<i64>,
    /// usage-bootstrap-signing == "true".
    pub signing: bool,
    /// usage-bootstrap-authentication == "true".
    pub authentication: bool,
    /// auth-extra-groups.
    pub groups: Vec<String>,
}

impl TokenSecret {
    /// Reads a Secret; None unless it is a well-formed bootstrap token Secret named after its ID.
    pub fn from_secret(s: &Value) -> Option<TokenSecret> {
        if s.get("type").and_then(Value::as_str) != Some("bootstrap.kubernetes.io/token") {
            return None;
        }
        let data = s.get("data")?.as_object()?;
        let get = |k: &str| {
            data.get(k).and_then(Value::as_str).and_then(|v| decode_b64(v).ok()).and_then(|b| String::from_utf8(b).ok())
        };
        let id = get("token-id")?;
        let secret = get("token-secret")?;
        BootstrapToken::from_parts(&id, &secret).ok()?;
        if s.pointer("/metadata/name").and_then(Value::as_str) != Some(&format!("bootstrap-token-{id}")) {
            return None;
        }
        let expiration = get("expiration").map(|e| {
            time::OffsetDateTime::parse(&e, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .unwrap_or(i64::MIN)
        });
        Some(TokenSecret {
            id,
            secret,
            expiration,
            signing: get("usage-bootstrap-signing").as_deref() == Some("true"),
            authentication: get("usage-bootstrap-authentication").as_deref() == Some("true"),
            groups: get("auth-extra-groups")
                .map(|g| g.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
        })
    }

    /// True when expired at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expiration.is_some_and(|e| e <= now)
    }
}
