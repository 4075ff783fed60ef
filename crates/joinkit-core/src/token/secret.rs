//! The bootstrap-token Secret, exactly as kubeadm writes it and as the API server's
//! authenticator and the bootstrapsigner read it (spec section 1;
//! `k8s.io/cluster-bootstrap/token/api`, kubeadm's `bootstraptoken/v1` encoding).

use crate::token::BootstrapToken;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use serde_json::Value;
use std::collections::BTreeMap;

/// The Secret type of bootstrap tokens.
pub(crate) const SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";

/// Builds a bootstrap-token Secret exactly as kubeadm does (spec section 1): name
/// `bootstrap-token-<id>`, namespace kube-system, type `bootstrap.kubernetes.io/token`, data
/// keys base64, `expiration` RFC 3339 UTC (absent for no TTL), `description` only when
/// non-empty.
pub(crate) fn token_secret_object(
    token: &BootstrapToken,
    expiration: Option<time::OffsetDateTime>,
    usages: &[&str],
    groups: &[&str],
    description: &str,
) -> Secret {
    let mut data = BTreeMap::new();
    let mut put = |k: String, v: &str| data.insert(k, ByteString(v.as_bytes().to_vec()));
    put("token-id".into(), token.id());
    put("token-secret".into(), token.secret());
    if let Some(e) = expiration {
        put("expiration".into(), &crate::duration::rfc3339(e));
    }
    for u in usages {
        put(format!("usage-bootstrap-{u}"), "true");
    }
    if !groups.is_empty() {
        put("auth-extra-groups".into(), &groups.join(","));
    }
    if !description.is_empty() {
        put("description".into(), description);
    }
    Secret {
        metadata: ObjectMeta {
            name: Some(format!("bootstrap-token-{}", token.id())),
            namespace: Some("kube-system".into()),
            ..Default::default()
        },
        data: Some(data),
        type_: Some(SECRET_TYPE.into()),
        ..Default::default()
    }
}

/// [`token_secret_object`] as the JSON the API server stores and returns: the body `token
/// create` posts, and what the lab's store (JSON) keeps.
pub fn token_secret(
    token: &BootstrapToken,
    expiration: Option<time::OffsetDateTime>,
    usages: &[&str],
    groups: &[&str],
    description: &str,
) -> Value {
    serde_json::to_value(token_secret_object(token, expiration, usages, groups, description)).unwrap_or(Value::Null)
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
    /// description (empty when absent).
    pub description: String,
}

impl TokenSecret {
    /// Reads a Secret; None unless it is a well-formed bootstrap token Secret named after its ID
    /// (the authenticator's and the bootstrapsigner's rule).
    pub(crate) fn of(s: &Secret) -> Option<TokenSecret> {
        if s.type_.as_deref() != Some(SECRET_TYPE) {
            return None;
        }
        let data = s.data.as_ref()?;
        let get = |k: &str| data.get(k).and_then(|v| String::from_utf8(v.0.clone()).ok());
        let id = get("token-id")?;
        let secret = get("token-secret")?;
        BootstrapToken::from_parts(&id, &secret).ok()?;
        if s.metadata.name.as_deref() != Some(&format!("bootstrap-token-{id}")) {
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
            description: data
                .get("description")
                .map(|d| String::from_utf8_lossy(&d.0).into_owned())
                .unwrap_or_default(),
        })
    }

    /// [`TokenSecret::of`] a Secret held as JSON (the lab's store): None when it is not a
    /// Secret at all.
    pub fn from_secret(s: &Value) -> Option<TokenSecret> {
        TokenSecret::of(&serde_json::from_value(s.clone()).ok()?)
    }

    /// True when expired at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expiration.is_some_and(|e| e <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeadm_layout_round_trips() {
        let t = BootstrapToken::parse("abcdef.0123456789abcdef").unwrap();
        let v = token_secret(&t, None, &["signing", "authentication"], &["system:bootstrappers:x"], "d");
        assert_eq!(v["kind"], "Secret");
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["metadata"]["name"], "bootstrap-token-abcdef");
        assert_eq!(v["metadata"]["namespace"], "kube-system");
        assert_eq!(v["type"], SECRET_TYPE);
        assert_eq!(v["data"]["token-id"], "YWJjZGVm");
        assert_eq!(v["data"]["usage-bootstrap-signing"], "dHJ1ZQ==");
        assert!(v["data"].get("expiration").is_none());
        let ts = TokenSecret::from_secret(&v).unwrap();
        assert_eq!((ts.id.as_str(), ts.signing, ts.authentication), ("abcdef", true, true));
        assert_eq!((ts.groups, ts.description.as_str()), (vec!["system:bootstrappers:x".to_string()], "d"));
        let mut wrong_name = v.clone();
        wrong_name["metadata"]["name"] = "bootstrap-token-zzzzzz".into();
        assert!(TokenSecret::from_secret(&wrong_name).is_none());
        assert!(TokenSecret::from_secret(&serde_json::json!({"kind": "ConfigMap"})).is_none());
    }
}
