//! How the lab's API server writes a response: the headers every answer carries (`audit-id`,
//! `cache-control`, the priority-and-fairness UIDs, `date` with the clock-skew fault), JSON
//! bodies (compact plus newline, pretty for `curl`), and the Status objects of 401, 403 and 404
//! with the real messages. Upstream: `staging/src/k8s.io/apimachinery/pkg/api/errors`,
//! `staging/src/k8s.io/apiserver/pkg/endpoints/{filters,handlers/responsewriters}` and
//! `plugin/pkg/auth/authorizer/rbac` (the forbidden message).

use crate::rbac::{Attributes, UserInfo};
use crate::store::uuid;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// The priority-and-fairness FlowSchema UID the recorded server answered with.
pub(super) const FLOWSCHEMA: &str = "75280538-532b-49ad-99a7-08bec99abdf6";
/// The priority-and-fairness PriorityLevel UID the recorded server answered with.
pub(super) const PRIORITY: &str = "54c73113-319d-43dc-918d-3e1428713308";

/// What shapes every answer to one request.
pub(super) struct Ctx {
    /// Pretty JSON (a `curl` user agent).
    pub(super) pretty: bool,
    /// Seconds added to `date` (the clock-skew fault).
    pub(super) clock_offset: i64,
}

/// The status line and the headers every answer carries.
pub(super) fn base(
    ctx: &Ctx,
    status: StatusCode,
    content_type: &str,
    nosniff: bool,
    pf: bool,
) -> hyper::http::response::Builder {
    let date = std::time::SystemTime::now()
        .checked_add(Duration::from_secs(ctx.clock_offset.max(0) as u64))
        .and_then(|t| t.checked_sub(Duration::from_secs((-ctx.clock_offset).max(0) as u64)))
        .unwrap_or_else(std::time::SystemTime::now);
    let mut b = Response::builder()
        .status(status)
        .header("audit-id", uuid())
        .header("cache-control", "no-cache, private")
        .header("content-type", content_type);
    if nosniff {
        b = b.header("x-content-type-options", "nosniff");
    }
    if pf {
        b = b
            .header("x-kubernetes-pf-flowschema-uid", FLOWSCHEMA)
            .header("x-kubernetes-pf-prioritylevel-uid", PRIORITY);
    }
    b.header("date", httpdate::fmt_http_date(date))
}

/// A JSON body: pretty for `curl`, else compact with a trailing newline.
pub(super) fn json_body(ctx: &Ctx, v: &Value) -> Bytes {
    if ctx.pretty {
        Bytes::from(serde_json::to_string_pretty(v).unwrap_or_default())
    } else {
        let mut s = serde_json::to_string(v).unwrap_or_default();
        s.push('\n');
        Bytes::from(s)
    }
}

/// A JSON answer (nosniff on 403; no priority-and-fairness headers on 401).
pub(super) fn reply_json(ctx: &Ctx, status: StatusCode, v: &Value) -> Response<Full<Bytes>> {
    let nosniff = status == StatusCode::FORBIDDEN;
    let pf = status != StatusCode::UNAUTHORIZED;
    base(ctx, status, "application/json", nosniff, pf).body(Full::new(json_body(ctx, v))).expect("valid response")
}

/// A Status object as the API server writes it.
pub(super) fn status_body(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut v = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason});
    if let Some(d) = details {
        v["details"] = d;
    }
    v["code"] = json!(code);
    v
}

/// A Status answer: `code` is the HTTP status and the Status's `code`.
pub(super) fn status(
    ctx: &Ctx,
    code: StatusCode,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Response<Full<Bytes>> {
    reply_json(ctx, code, &status_body(code.as_u16(), reason, message, details))
}

/// The 400 for a request body that is not JSON.
pub(super) fn bad_body(ctx: &Ctx) -> Response<Full<Bytes>> {
    status(ctx, StatusCode::BAD_REQUEST, "BadRequest", "the body of the request was in an unknown format", None)
}

/// The bare 401.
pub(super) fn unauthorized(ctx: &Ctx) -> Response<Full<Bytes>> {
    status(ctx, StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized", None)
}

/// A Status `details` naming the object of `a`.
pub(super) fn details(a: &Attributes) -> Value {
    let mut d = serde_json::Map::new();
    if !a.name.is_empty() {
        d.insert("name".into(), json!(a.name));
    }
    if !a.group.is_empty() {
        d.insert("group".into(), json!(a.group));
    }
    d.insert("kind".into(), json!(a.resource));
    Value::Object(d)
}

/// `resource.group` (`secrets`, `certificatesigningrequests.certificates.k8s.io`), as the API
/// server names a resource in Status messages.
pub(super) fn qualified(a: &Attributes) -> String {
    if a.group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.group)
    }
}

/// The real RBAC forbidden message for `a`.
fn forbidden_message(u: &UserInfo, a: &Attributes) -> String {
    if let Some(p) = &a.path {
        return format!("forbidden: User {:?} cannot {} path {:?}", u.name, a.verb, p);
    }
    let res = if a.subresource.is_empty() { a.resource.clone() } else { format!("{}/{}", a.resource, a.subresource) };
    let what = if a.name.is_empty() { qualified(a) } else { format!("{} {:?}", qualified(a), a.name) };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", a.namespace)
    };
    format!(
        "{what} is forbidden: User {:?} cannot {} resource {:?} in API group {:?} {scope}",
        u.name, a.verb, res, a.group
    )
}

/// The 403 RBAC answers with.
pub(super) fn forbidden(ctx: &Ctx, u: &UserInfo, a: &Attributes) -> Response<Full<Bytes>> {
    let msg = forbidden_message(u, a);
    let d = if a.path.is_some() { json!({}) } else { details(a) };
    status(ctx, StatusCode::FORBIDDEN, "Forbidden", &msg, Some(d))
}

/// The 404 for a named object that is not stored.
pub(super) fn not_found(ctx: &Ctx, a: &Attributes) -> Response<Full<Bytes>> {
    let msg = format!("{} {:?} not found", qualified(a), a.name);
    status(ctx, StatusCode::NOT_FOUND, "NotFound", &msg, Some(details(a)))
}

/// A plain-text answer (nosniff).
pub(super) fn text(ctx: &Ctx, status: StatusCode, body: String) -> Response<Full<Bytes>> {
    base(ctx, status, "text/plain; charset=utf-8", true, true)
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}
