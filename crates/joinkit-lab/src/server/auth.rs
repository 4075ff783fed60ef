//! Authentication as the API server runs it for the lab: the static admin bearer token,
//! bootstrap tokens (`system:bootstrap:<id>` in `system:bootstrappers` plus the Secret's extra
//! groups), verified client certificates (CN the user, each O a group) and anonymous.
//! Upstream: `plugin/pkg/auth/authenticator/token/bootstrap/bootstrap.go`,
//! `staging/src/k8s.io/apiserver/pkg/authentication/request/x509` and `.../anonymous`.

use super::reply::{unauthorized, Ctx};
use super::Req;
use crate::controllers::now_unix;
use crate::rbac::UserInfo;
use crate::LabState;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Response;
use joinkit_core::jws;
use joinkit_core::token::secret::TokenSecret;
use joinkit_core::token::BootstrapToken;

/// The user a verified client certificate names: CN is the user, each O a group.
pub(super) fn user_from_cert(der: &[u8]) -> Option<UserInfo> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = c.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    let mut groups: Vec<String> =
        c.subject().iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    groups.push("system:authenticated".into());
    Some(UserInfo { name: cn, groups })
}

/// Authenticates a request: a bad bearer token is a bare 401, whatever anonymous could do.
/// Other schemes (Basic) have no authenticator since 1.19 and fall through, as on a real server.
pub(super) fn authenticate(
    req: &Req,
    cert_user: Option<UserInfo>,
    st: &LabState,
    ctx: &Ctx,
) -> Result<UserInfo, Response<Full<Bytes>>> {
    let bearer = req.authorization.as_deref().and_then(|h| h.strip_prefix("Bearer "));
    match bearer {
        Some(tok) => st.authenticate_bearer(tok.trim()).ok_or_else(|| unauthorized(ctx)),
        None => match cert_user {
            Some(u) => Ok(u),
            None if st.faults.anonymous_auth => Ok(UserInfo::anonymous()),
            None => Err(unauthorized(ctx)),
        },
    }
}

impl LabState {
    /// Authenticates a bearer token: the static admin token, else as the API server's
    /// bootstrap-token authenticator does (spec section 1). None for every failure (the caller
    /// answers a bare 401).
    fn authenticate_bearer(&self, bearer: &str) -> Option<UserInfo> {
        if jws::secrets_equal(bearer.as_bytes(), self.admin_token.as_bytes()) {
            return Some(UserInfo {
                name: "lab-admin".into(),
                groups: vec!["kubeadm:cluster-admins".into(), "system:authenticated".into()],
            });
        }
        let token = BootstrapToken::parse(bearer).ok()?;
        let s = self.store.get("secrets", "kube-system", &format!("bootstrap-token-{}", token.id()))?;
        let t = TokenSecret::from_secret(s)?;
        if !jws::secrets_equal(t.secret.as_bytes(), token.secret().as_bytes())
            || t.expired(now_unix())
            || !t.authentication
        {
            return None;
        }
        let mut groups = vec!["system:bootstrappers".to_string()];
        groups.extend(t.groups);
        groups.push("system:authenticated".into());
        Some(UserInfo { name: format!("system:bootstrap:{}", t.id), groups })
    }
}
