//! Routing of the API paths: authentication, authorization before routing (a resource the
//! server does not have is 403 for whoever may not use it, 404 for those who may), then get,
//! list, create and delete of stored objects, SelfSubjectReview, SelfSubjectAccessReview, CSR
//! creation and approval, and Node status patches, with the real status codes and Status
//! messages. Upstream: `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/{get,create,delete,
//! patch,update}.go`, `pkg/registry/{authentication,authorization,certificates}`.

use super::auth::authenticate;
use super::discovery::{discovery, health, kind_of, list_kind, version_body, SERVED};
use super::fields::{
    field_selector_name, field_selector_type, is_dns_subdomain, managed_fields, manager_of, node_defaults,
    strategic_merge, strip_type_meta, DNS_SUBDOMAIN_MSG,
};
use super::reply::{
    bad_body, base, details, forbidden, json_body, not_found, qualified, reply_json, status, status_body, text, Ctx,
};
use super::Req;
use crate::rbac::{self, Attributes, UserInfo};
use crate::LabState;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use std::sync::Mutex;

/// Splits an API path into attributes: `/api/v1/[namespaces/NS/]RES[/NAME[/SUB]]` or
/// `/apis/GROUP/VERSION/...`. None for anything else.
pub(super) fn parse_path(path: &str, method: &str) -> Option<Attributes> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", g, _v, rest @ ..] => (*g, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (ns.to_string(), rest),
        _ => (String::new(), rest),
    };
    let (resource, name, sub) = match rest {
        [r] => (*r, "", ""),
        [r, n] => (*r, *n, ""),
        [r, n, s] => (*r, *n, *s),
        _ => return None,
    };
    let verb = match (method, name.is_empty()) {
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "deletecollection",
        ("DELETE", false) => "delete",
        _ => "get",
    };
    Some(Attributes {
        verb: verb.into(),
        group: group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        namespace,
        name: name.into(),
        path: None,
    })
}

/// Answers one request whole (everything but a watch).
pub(super) fn route_full(req: Req, cert_user: Option<UserInfo>, state: &Mutex<LabState>) -> Response<Full<Bytes>> {
    let pretty = req.user_agent.starts_with("curl");
    let Ok(mut st) = state.lock() else {
        return Response::builder()
            .status(500)
            .body(Full::new(Bytes::from_static(b"lab state poisoned")))
            .expect("valid response");
    };
    st.counters.requests += 1;
    let ctx = Ctx { pretty, clock_offset: st.faults.clock_offset };
    if let Some(code) = st.faults.fail_next.pop_front() {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let (reason, msg) = if code == 429 {
            ("TooManyRequests", "Too many requests, please try again later.")
        } else {
            ("ServiceUnavailable", "the server is currently unable to handle the request")
        };
        let body = json_body(&ctx, &status_body(code, reason, msg, Some(json!({"retryAfterSeconds": 1}))));
        return base(&ctx, status, "application/json", false, true)
            .header("retry-after", "1")
            .body(Full::new(body))
            .expect("valid response");
    }

    let user = match authenticate(&req, cert_user, &st, &ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };

    let path = req.path.clone();
    let nonres = ["/version", "/healthz", "/livez", "/readyz"];
    let trimmed = path.trim_end_matches('/');
    let v1_24 = st.faults.v1_24;
    if nonres.contains(&trimmed) || discovery(trimmed, v1_24).is_some() {
        let a = Attributes { verb: "get".into(), path: Some(path.clone()), ..Default::default() };
        let (ok, _) = rbac::authorize(&st.store, &user, &a);
        if !ok {
            return forbidden(&ctx, &user, &a);
        }
        let verbose = req.query.split('&').any(|q| q == "verbose" || q.starts_with("verbose="));
        if let Some(d) = discovery(trimmed, v1_24) {
            return reply_json(&ctx, StatusCode::OK, &d);
        }
        return match trimmed {
            "/version" => {
                let v = version_body(st.faults.v1_24);
                base(&ctx, StatusCode::OK, "application/json", false, true)
                    .body(Full::new(Bytes::from(serde_json::to_string_pretty(&v).unwrap_or_default())))
                    .expect("valid response")
            }
            p => health(&ctx, p.trim_start_matches('/'), verbose),
        };
    }

    let Some(mut a) = parse_path(&path, &req.method) else {
        if user.name == "system:anonymous" {
            let a = Attributes { verb: req.method.to_lowercase(), path: Some(path.clone()), ..Default::default() };
            return forbidden(&ctx, &user, &a);
        }
        return text(&ctx, StatusCode::NOT_FOUND, "404 page not found\n".into());
    };
    if a.verb == "list" {
        if let Some(n) = field_selector_name(&req.query) {
            a.name = n;
        }
    }
    // Authorization runs before routing: a resource the server does not have is 403 for whoever
    // may not use it, and 404 only for those who may.
    let (ok, _) = rbac::authorize(&st.store, &user, &a);
    if !ok {
        return forbidden(&ctx, &user, &a);
    }
    let version = path.trim_start_matches('/').split('/').nth(if a.group.is_empty() { 1 } else { 2 }).unwrap_or("");
    match (a.verb.as_str(), a.resource.as_str()) {
        // SelfSubjectReview: GA (v1 only) in 1.28; v1.24 has none.
        ("create", "selfsubjectreviews") if !v1_24 && version == "v1" && a.group == "authentication.k8s.io" => {
            let v = json!({"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {"creationTimestamp": crate::store::now_rfc3339()},
                "status": {"userInfo": {"username": user.name, "groups": user.groups}}});
            return reply_json(&ctx, StatusCode::CREATED, &v);
        }
        ("create", "selfsubjectaccessreviews") => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let ra = body.pointer("/spec/resourceAttributes").cloned().unwrap_or(Value::Null);
            let g = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let q = Attributes {
                verb: g("verb"),
                group: g("group"),
                resource: g("resource"),
                subresource: g("subresource"),
                namespace: g("namespace"),
                name: g("name"),
                path: None,
            };
            let (allowed, reason) = rbac::authorize(&st.store, &user, &q);
            let mut status = json!({"allowed": allowed});
            if !reason.is_empty() {
                status["reason"] = json!(reason);
            }
            let mf = managed_fields(
                &manager_of(&req.user_agent),
                "authorization.k8s.io/v1",
                &json!({"spec": {"resourceAttributes": ra}}),
            );
            let v = json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "metadata": {"creationTimestamp": null, "managedFields": mf},
                "spec": {"resourceAttributes": ra}, "status": status});
            return reply_json(&ctx, StatusCode::CREATED, &v);
        }
        ("create", "certificatesigningrequests") => {
            let Ok(mut obj) = serde_json::from_slice::<Value>(&req.body) else {
                return bad_body(&ctx);
            };
            let mut name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            if name.is_empty() {
                if let Some(prefix) = obj.pointer("/metadata/generateName").and_then(Value::as_str) {
                    name = format!("{prefix}{}", &joinkit_core::token::random_string(5));
                }
            }
            if name.is_empty()
                || crate::csr::request_der(&obj).is_none()
                || obj.pointer("/spec/signerName").and_then(Value::as_str).unwrap_or("").is_empty()
            {
                let msg = format!("CertificateSigningRequest.certificates.k8s.io {name:?} is invalid: name, spec.request (a PEM CSR) and spec.signerName are required");
                return status(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    &msg,
                    Some(json!({"name": name, "group": "certificates.k8s.io", "kind": "CertificateSigningRequest"})),
                );
            }
            if st.store.get("certificatesigningrequests", "", &name).is_some() {
                let msg = format!("certificatesigningrequests.certificates.k8s.io {name:?} already exists");
                return status(
                    &ctx,
                    StatusCode::CONFLICT,
                    "AlreadyExists",
                    &msg,
                    Some(json!({"name": name, "group": "certificates.k8s.io", "kind": "certificatesigningrequests"})),
                );
            }
            obj["kind"] = json!("CertificateSigningRequest");
            obj["apiVersion"] = json!("certificates.k8s.io/v1");
            obj["spec"]["username"] = json!(user.name);
            obj["spec"]["groups"] = json!(user.groups);
            obj["status"] = json!({});
            let stored = st.store.put("certificatesigningrequests", "", &name, obj);
            return reply_json(&ctx, StatusCode::CREATED, &stored);
        }
        ("update", "certificatesigningrequests") if a.subresource == "approval" => {
            let Some(mut obj) = st.store.get(&a.resource, "", &a.name).cloned() else {
                return not_found(&ctx, &a);
            };
            let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                return bad_body(&ctx);
            };
            if let Some(conflict) = stale(&ctx, &a, &obj, &body) {
                return conflict;
            }
            // The approval subresource takes the conditions only; the server sets
            // lastTransitionTime where the client left it out.
            let now = crate::store::now_rfc3339();
            let mut conds = body.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            for c in &mut conds {
                if c.get("lastTransitionTime").is_none_or(Value::is_null) {
                    c["lastTransitionTime"] = json!(now);
                }
            }
            if let Some(invalid) = invalid_conditions(&ctx, &a.name, &conds) {
                return invalid;
            }
            obj["status"]["conditions"] = Value::Array(conds);
            let stored = st.store.put(&a.resource, "", &a.name, obj);
            st.reconcile();
            return reply_json(&ctx, StatusCode::OK, &stored);
        }
        ("patch", "nodes") if a.subresource == "status" => {
            let Some(mut obj) = st.store.get("nodes", "", &a.name).cloned() else {
                return not_found(&ctx, &a);
            };
            let Ok(patch) = serde_json::from_slice::<Value>(&req.body) else {
                return bad_body(&ctx);
            };
            if let Some(status) = patch.get("status") {
                strategic_merge(&mut obj["status"], status);
                // NodeStatus field order: conditions come before daemonEndpoints and nodeInfo.
                if let Some(st_obj) = obj["status"].as_object_mut() {
                    if let Some(c) = st_obj.remove("conditions") {
                        let rest = std::mem::take(st_obj);
                        st_obj.insert("conditions".into(), c);
                        st_obj.extend(rest);
                    }
                }
            }
            let stored = st.store.put("nodes", "", &a.name, obj);
            st.reconcile();
            return reply_json(&ctx, StatusCode::OK, &stored);
        }
        _ => {}
    }
    if !SERVED.contains(&a.resource.as_str()) || !a.subresource.is_empty() {
        return status(
            &ctx,
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        );
    }
    match a.verb.as_str() {
        "get" => match st.store.get(&a.resource, &a.namespace, &a.name) {
            Some(obj) => reply_json(&ctx, StatusCode::OK, obj),
            None => not_found(&ctx, &a),
        },
        "list" => {
            let (kind, api_version) = list_kind(&a.resource);
            let want_type = field_selector_type(&req.query);
            let items: Vec<Value> = st
                .store
                .list(&a.resource, &a.namespace)
                .into_iter()
                .filter(|o| want_type.as_deref().is_none_or(|t| o.get("type").and_then(Value::as_str) == Some(t)))
                .filter(|o| a.name.is_empty() || o.pointer("/metadata/name").and_then(Value::as_str) == Some(&a.name))
                .map(strip_type_meta)
                .collect();
            // List chunking as kube-apiserver does it (`limit`, `continue`; the lab's continue
            // token is the offset of the next item).
            let param = |k: &str| {
                req.query
                    .split('&')
                    .find_map(|q| q.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                    .map(str::to_string)
            };
            let start = param("continue").and_then(|c| c.parse::<usize>().ok()).unwrap_or(0).min(items.len());
            let limit = param("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0).unwrap_or(usize::MAX);
            let end = start.saturating_add(limit).min(items.len());
            let mut meta = json!({"resourceVersion": st.store.resource_version().to_string()});
            if end < items.len() {
                meta["continue"] = json!(end.to_string());
                meta["remainingItemCount"] = json!(items.len() - end);
            }
            let page: Vec<Value> = items.into_iter().skip(start).take(end - start).collect();
            reply_json(
                &ctx,
                StatusCode::OK,
                &json!({"kind": kind, "apiVersion": api_version, "metadata": meta, "items": page}),
            )
        }
        "create" => {
            let Ok(mut obj) = serde_json::from_slice::<Value>(&req.body) else {
                return bad_body(&ctx);
            };
            let kind = kind_of(&a.resource);
            let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            if name.is_empty() || obj.get("kind").and_then(Value::as_str).is_some_and(|k| k != kind) {
                let msg = format!(
                    "{kind} {name:?} is invalid: metadata.name: Required value: name or generateName is required"
                );
                return status(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    &msg,
                    Some(
                        json!({"name": name, "kind": a.resource, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]}),
                    ),
                );
            }
            if !is_dns_subdomain(&name) {
                let invalid = format!("Invalid value: {name:?}: {DNS_SUBDOMAIN_MSG}");
                let msg = format!("{kind} {name:?} is invalid: metadata.name: {invalid}");
                return status(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    &msg,
                    Some(
                        json!({"name": name, "kind": kind, "causes": [{"reason": "FieldValueInvalid", "message": invalid, "field": "metadata.name"}]}),
                    ),
                );
            }
            if st.store.get(&a.resource, &a.namespace, &name).is_some() {
                let msg = format!("{} {name:?} already exists", qualified(&a));
                return status(
                    &ctx,
                    StatusCode::CONFLICT,
                    "AlreadyExists",
                    &msg,
                    Some(json!({"name": name, "kind": a.resource})),
                );
            }
            obj["kind"] = json!(kind);
            if obj.get("apiVersion").is_none() {
                obj["apiVersion"] =
                    json!(if a.group.is_empty() { "v1".to_string() } else { format!("{}/v1", a.group) });
            }
            if matches!(a.resource.as_str(), "secrets" | "configmaps") {
                // Recorded: Secrets carry the writer's managedFields (Nodes and CSRs created
                // with a fixed name carry none).
                let api_version = obj["apiVersion"].as_str().unwrap_or("v1").to_string();
                obj["metadata"]["managedFields"] = managed_fields(&manager_of(&req.user_agent), &api_version, &obj);
            }
            if a.resource == "nodes" {
                node_defaults(&mut obj);
            }
            let stored = st.store.put(&a.resource, &a.namespace, &name, obj);
            st.reconcile();
            reply_json(&ctx, StatusCode::CREATED, &stored)
        }
        "delete" => match st.store.delete(&a.resource, &a.namespace, &a.name) {
            Some(old) => {
                st.reconcile();
                let uid = old.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
                let mut d = details(&a);
                d["uid"] = uid;
                let v =
                    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d});
                reply_json(&ctx, StatusCode::OK, &v)
            }
            None => not_found(&ctx, &a),
        },
        _ => status(
            &ctx,
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(json!({})),
        ),
    }
}

/// A 409 Conflict when `body` carries a resourceVersion other than the stored object's.
fn stale(ctx: &Ctx, a: &Attributes, stored: &Value, body: &Value) -> Option<Response<Full<Bytes>>> {
    let want = body.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|v| !v.is_empty())?;
    if stored.pointer("/metadata/resourceVersion").and_then(Value::as_str) == Some(want) {
        return None;
    }
    let msg = format!(
        "Operation cannot be fulfilled on {} {:?}: the object has been modified; please apply your changes to the latest version and try again",
        qualified(a),
        a.name
    );
    Some(status(ctx, StatusCode::CONFLICT, "Conflict", &msg, Some(details(a))))
}

/// The API server's validation of a CSR's conditions on `/approval`
/// (`pkg/apis/certificates/validation`): one condition per type, and Approved and Denied
/// exclusive; a 422 Invalid Status naming the field, as the API server answers.
fn invalid_conditions(ctx: &Ctx, name: &str, conds: &[Value]) -> Option<Response<Full<Bytes>>> {
    let types: Vec<&str> = conds.iter().map(|c| c.get("type").and_then(Value::as_str).unwrap_or("")).collect();
    let (i, cause) = types.iter().enumerate().find_map(|(i, t)| {
        if types[..i].contains(t) {
            Some((i, format!("Duplicate value: {t:?}")))
        } else if (*t == "Denied" && types[..i].contains(&"Approved"))
            || (*t == "Approved" && types[..i].contains(&"Denied"))
        {
            Some((i, format!("Invalid value: {t:?}: Approved and Denied conditions are mutually exclusive")))
        } else {
            None
        }
    })?;
    let field = format!("status.conditions[{i}].type");
    let msg = format!("CertificateSigningRequest.certificates.k8s.io {name:?} is invalid: {field}: {cause}");
    let reason = if cause.starts_with("Duplicate") { "FieldValueDuplicate" } else { "FieldValueInvalid" };
    Some(status(
        ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Invalid",
        &msg,
        Some(
            json!({"name": name, "group": "certificates.k8s.io", "kind": "CertificateSigningRequest", "causes": [{"reason": reason, "message": cause, "field": field}]}),
        ),
    ))
}
