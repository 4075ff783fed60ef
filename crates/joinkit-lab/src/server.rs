//! The lab's HTTPS server: TLS (optional client certificates from the lab CA), authentication
//! (bootstrap tokens, client certificates, anonymous), RBAC authorization, and routing of the
//! API paths the join path uses. Responses copy the v1.24 API server's shape: Status bodies,
//! `audit-id` / `cache-control` / priority-and-fairness headers, `x-content-type-options:
//! nosniff` on 403s and health checks, compact JSON plus newline (pretty for `curl` agents).

use super::pki::{Ca, Leaf};
use super::rbac::{self, Attributes, UserInfo};
use super::store::uuid;
use super::LabState;
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FLOWSCHEMA: &str = "75280538-532b-49ad-99a7-08bec99abdf6";
const PRIORITY: &str = "54c73113-319d-43dc-918d-3e1428713308";

/// Serves until `shutdown` fires. Runs the controllers every 50 ms.
pub async fn serve(
    listener: tokio::net::TcpListener,
    serving: Leaf,
    ca: Arc<Ca>,
    state: Arc<Mutex<LabState>>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let provider = joinkit_core::client::provider();
    let mut roots = RootCertStore::empty();
    let _ = roots.add(ca.cert_der.clone());
    let verifier = match WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("joinkit lab: client verifier: {e}");
            return;
        }
    };
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_client_cert_verifier(verifier))
        .and_then(|b| b.with_single_cert(vec![serving.cert_der.clone()], serving.private_key()));
    let mut config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("joinkit lab: TLS config: {e}");
            return;
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

    let ctl_state = state.clone();
    let controllers = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            if let Ok(mut s) = ctl_state.lock() {
                s.reconcile();
            }
        }
    });

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            acc = listener.accept() => {
                let Ok((tcp, _)) = acc else { continue };
                let _ = tcp.set_nodelay(true);
                if let Ok(mut s) = state.lock() {
                    s.counters.tcp_connections += 1;
                }
                let acceptor = acceptor.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await else { return };
                    if let Ok(mut s) = state.lock() {
                        s.counters.tls_handshakes += 1;
                    }
                    let cert_user = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| user_from_cert(c.as_ref()));
                    let io = hyper_util::rt::TokioIo::new(tls);
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        let cert_user = cert_user.clone();
                        async move {
                            let req = read_req(req).await;
                            Ok::<_, std::convert::Infallible>(respond(req, cert_user, &state))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
                });
            }
        }
    }
    controllers.abort();
}

/// The user a verified client certificate names: CN is the user, each O a group.
fn user_from_cert(der: &[u8]) -> Option<UserInfo> {
    let (_, c) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = c.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    let mut groups: Vec<String> =
        c.subject().iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    groups.push("system:authenticated".into());
    Some(UserInfo { name: cn, groups })
}

struct Ctx {
    pretty: bool,
    clock_offset: i64,
}

fn base(ctx: &Ctx, status: StatusCode, content_type: &str, nosniff: bool, pf: bool) -> hyper::http::response::Builder {
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

fn json_body(ctx: &Ctx, v: &Value) -> Bytes {
    if ctx.pretty {
        Bytes::from(serde_json::to_string_pretty(v).unwrap_or_default())
    } else {
        let mut s = serde_json::to_string(v).unwrap_or_default();
        s.push('\n');
        Bytes::from(s)
    }
}

fn reply_json(ctx: &Ctx, status: StatusCode, v: &Value) -> Response<Full<Bytes>> {
    let nosniff = status == StatusCode::FORBIDDEN;
    let pf = status != StatusCode::UNAUTHORIZED;
    base(ctx, status, "application/json", nosniff, pf).body(Full::new(json_body(ctx, v))).expect("valid response")
}

/// A Status object as the API server writes it.
pub fn status_body(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut v = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason});
    if let Some(d) = details {
        v["details"] = d;
    }
    v["code"] = json!(code);
    v
}

fn unauthorized(ctx: &Ctx) -> Response<Full<Bytes>> {
    reply_json(ctx, StatusCode::UNAUTHORIZED, &status_body(401, "Unauthorized", "Unauthorized", None))
}

fn details(a: &Attributes) -> Value {
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
fn qualified(a: &Attributes) -> String {
    if a.group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.group)
    }
}

/// The real RBAC forbidden message for `a`.
pub fn forbidden_message(u: &UserInfo, a: &Attributes) -> String {
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

fn forbidden(ctx: &Ctx, u: &UserInfo, a: &Attributes) -> Response<Full<Bytes>> {
    let msg = forbidden_message(u, a);
    let d = if a.path.is_some() { json!({}) } else { details(a) };
    reply_json(ctx, StatusCode::FORBIDDEN, &status_body(403, "Forbidden", &msg, Some(d)))
}

fn not_found(ctx: &Ctx, a: &Attributes) -> Response<Full<Bytes>> {
    let msg = format!("{} {:?} not found", qualified(a), a.name);
    reply_json(ctx, StatusCode::NOT_FOUND, &status_body(404, "NotFound", &msg, Some(details(a))))
}

fn text(ctx: &Ctx, status: StatusCode, body: String) -> Response<Full<Bytes>> {
    base(ctx, status, "text/plain; charset=utf-8", true, true)
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

const HEALTH_CHECKS: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "poststarthook/start-kube-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/bootstrap-controller",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/aggregator-reload-proxy-client-cert",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-status-available-controller",
    "poststarthook/kube-apiserver-autoregistration",
    "autoregister-completion",
    "poststarthook/apiservice-openapi-controller",
    "poststarthook/apiservice-openapiv3-controller",
];

fn health(ctx: &Ctx, which: &str, verbose: bool) -> Response<Full<Bytes>> {
    if !verbose {
        return text(ctx, StatusCode::OK, "ok".into());
    }
    let mut checks: Vec<&str> = HEALTH_CHECKS.to_vec();
    if which == "readyz" {
        checks.insert(3, "informer-sync");
        checks.push("shutdown");
    }
    let mut s: String = checks.iter().map(|c| format!("[+]{c} ok\n")).collect();
    s.push_str(&format!("{which} check passed\n"));
    text(ctx, StatusCode::OK, s)
}

fn version_body(v1_24: bool) -> Value {
    if v1_24 {
        return json!({
            "major": "1", "minor": "24", "gitVersion": "v1.24.0+0", "gitCommit": "2cc6ddc68588debdbb6806e1b57e73207505324f",
            "gitTreeState": "clean", "buildDate": "2022-05-06T09:44:28Z", "goVersion": "go1.19.8", "compiler": "gc", "platform": "linux/amd64"
        });
    }
    json!({
        "major": "1", "minor": "31", "gitVersion": "v1.31.0", "gitCommit": "9edcffcde5595e8a5b1a35f88c421764e575afce",
        "gitTreeState": "clean", "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"
    })
}

/// Splits an API path into attributes: `/api/v1/[namespaces/NS/]RES[/NAME[/SUB]]` or
/// `/apis/GROUP/VERSION/...`. None for anything else.
pub fn parse_path(path: &str, method: &str) -> Option<Attributes> {
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

fn list_kind(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "configmaps" => ("ConfigMapList", "v1"),
        "secrets" => ("SecretList", "v1"),
        "nodes" => ("NodeList", "v1"),
        "clusterroles" => ("ClusterRoleList", "rbac.authorization.k8s.io/v1"),
        "clusterrolebindings" => ("ClusterRoleBindingList", "rbac.authorization.k8s.io/v1"),
        "certificatesigningrequests" => ("CertificateSigningRequestList", "certificates.k8s.io/v1"),
        "roles" => ("RoleList", "rbac.authorization.k8s.io/v1"),
        "rolebindings" => ("RoleBindingList", "rbac.authorization.k8s.io/v1"),
        _ => ("List", "v1"),
    }
}

const SERVED: &[&str] = &[
    "configmaps",
    "secrets",
    "nodes",
    "clusterroles",
    "clusterrolebindings",
    "roles",
    "rolebindings",
    "certificatesigningrequests",
];

/// The parts of a request the lab looks at.
pub struct Req {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
    /// `User-Agent`.
    pub user_agent: String,
    /// `Authorization`.
    pub authorization: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// Reads a request's parts and body (bounded to 4 MiB).
pub async fn read_req(req: Request<Incoming>) -> Req {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let header = |n: hyper::header::HeaderName| parts.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = http_body_util::Limited::new(body, 4 << 20).collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    Req {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        user_agent: header(hyper::header::USER_AGENT).unwrap_or_default(),
        authorization: header(hyper::header::AUTHORIZATION),
        body,
    }
}

fn resource_list(group_version: &str, resources: &[(&str, &str, bool, &[&str])]) -> Value {
    let list: Vec<Value> = resources
        .iter()
        .map(|(name, kind, namespaced, verbs)| {
            json!({"name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced, "kind": kind, "verbs": verbs})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list})
}

const RW: &[&str] = &["create", "delete", "get", "list"];
const CORE_V1: &[(&str, &str, bool, &[&str])] =
    &[("configmaps", "ConfigMap", true, RW), ("secrets", "Secret", true, RW), ("nodes", "Node", false, RW)];
const RBAC_V1: &[(&str, &str, bool, &[&str])] = &[
    ("clusterroles", "ClusterRole", false, RW),
    ("clusterrolebindings", "ClusterRoleBinding", false, RW),
    ("roles", "Role", true, RW),
    ("rolebindings", "RoleBinding", true, RW),
];

const CERTS_V1: &[(&str, &str, bool, &[&str])] = &[(
    "certificatesigningrequests",
    "CertificateSigningRequest",
    false,
    &["create", "delete", "get", "list", "watch"],
)];

fn discovery(path: &str, v1_24: bool) -> Option<Value> {
    let group = |name: &str| {
        let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
        json!({"name": name, "versions": [gv], "preferredVersion": gv})
    };
    match path {
        // v1.24 lists only tokenreviews (with an empty singularName); 1.28+ adds selfsubjectreviews.
        "/apis/authentication.k8s.io" => {
            let g = group("authentication.k8s.io");
            Some(
                json!({"kind": "APIGroup", "apiVersion": "v1", "name": g["name"], "versions": g["versions"], "preferredVersion": g["preferredVersion"]}),
            )
        }
        "/apis/authentication.k8s.io/v1" => {
            let mut resources = vec![];
            if !v1_24 {
                resources.push(json!({"name": "selfsubjectreviews", "singularName": "selfsubjectreview", "namespaced": false, "kind": "SelfSubjectReview", "verbs": ["create"]}));
            }
            resources.push(json!({"name": "tokenreviews", "singularName": if v1_24 { "" } else { "tokenreview" }, "namespaced": false, "kind": "TokenReview", "verbs": ["create"]}));
            Some(
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "authentication.k8s.io/v1", "resources": resources}),
            )
        }
        "/api" => Some(
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
        ),
        "/apis" => Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            group("authentication.k8s.io"), group("authorization.k8s.io"), group("certificates.k8s.io"),
            group("rbac.authorization.k8s.io")]})),
        "/api/v1" => Some(resource_list("v1", CORE_V1)),
        "/apis/rbac.authorization.k8s.io/v1" => Some(resource_list("rbac.authorization.k8s.io/v1", RBAC_V1)),
        "/apis/certificates.k8s.io/v1" => Some(resource_list("certificates.k8s.io/v1", CERTS_V1)),
        _ => None,
    }
}

fn kind_of(resource: &str) -> &'static str {
    CORE_V1.iter().chain(RBAC_V1).chain(CERTS_V1).find(|r| r.0 == resource).map(|r| r.1).unwrap_or("Object")
}

/// The name a `fieldSelector=metadata.name=NAME` selects. The API server treats it as the
/// request's name for lists and watches: RBAC sees it (resourceNames apply) and a 403 names it.
fn field_selector_name(query: &str) -> Option<String> {
    query_param(query, "fieldSelector")
        .map(|v| v.replace("%3D", "=").replace("%3d", "="))
        .and_then(|v| v.strip_prefix("metadata.name=").map(str::to_string))
        .filter(|n| !n.is_empty())
}

/// `managedFields` of an object written by `manager` (the user agent up to `/`), as the API
/// server records an Update: every field the request set (metadata's name, namespace and
/// creationTimestamp aside), maps with a `"."` entry, keys sorted.
fn managed_fields(manager: &str, api_version: &str, obj: &Value) -> Value {
    fn fields(v: &Value, dot: bool) -> Value {
        let mut m = serde_json::Map::new();
        if dot {
            m.insert(".".into(), json!({}));
        }
        if let Some(o) = v.as_object() {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            for k in keys {
                let child = &o[k];
                let f = if child.is_object() && !child.as_object().is_some_and(|c| c.is_empty()) {
                    fields(child, true)
                } else {
                    json!({})
                };
                m.insert(format!("f:{k}"), f);
            }
        }
        Value::Object(m)
    }
    let mut top = serde_json::Map::new();
    if let Some(o) = obj.as_object() {
        let mut keys: Vec<&String> = o.keys().filter(|k| !matches!(k.as_str(), "kind" | "apiVersion")).collect();
        keys.sort();
        for k in keys {
            let v = &o[k];
            if k == "metadata" {
                let mut meta = v.clone();
                if let Some(m) = meta.as_object_mut() {
                    for drop in ["name", "namespace", "creationTimestamp", "uid", "resourceVersion", "managedFields"] {
                        m.remove(drop);
                    }
                    if m.is_empty() {
                        continue;
                    }
                }
                top.insert("f:metadata".into(), fields(&meta, false));
                continue;
            }
            // Maps (data, stringData) carry "."; structs (spec, status) do not at the top.
            let f = if v.is_object() { fields(v, matches!(k.as_str(), "data" | "stringData")) } else { json!({}) };
            top.insert(format!("f:{k}"), f);
        }
    }
    json!([{"manager": manager, "operation": "Update", "apiVersion": api_version, "time": super::store::now_rfc3339(),
        "fieldsType": "FieldsV1", "fieldsV1": Value::Object(top)}])
}

/// The manager name the API server derives from a user agent (`kubeadm/v1.24.0 (...)` → `kubeadm`).
fn manager_of(user_agent: &str) -> String {
    user_agent.split('/').next().unwrap_or("").to_string()
}

/// Whether `name` is a lowercase RFC 1123 subdomain (what most object names must be).
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

const DNS_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// A strategic merge patch, as far as Node status needs it: objects merge, `conditions` merge
/// by `type`, everything else is replaced.
fn strategic_merge(target: &mut Value, patch: &Value) {
    let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) else {
        *target = patch.clone();
        return;
    };
    for (k, pv) in p {
        match (k.as_str(), t.get_mut(k)) {
            (_, _) if pv.is_null() => {
                t.remove(k);
            }
            ("conditions", Some(Value::Array(have))) if pv.is_array() => {
                for c in pv.as_array().into_iter().flatten() {
                    match have.iter_mut().find(|h| h.get("type") == c.get("type")) {
                        Some(h) => strategic_merge(h, c),
                        None => have.push(c.clone()),
                    }
                }
            }
            (_, Some(tv)) if tv.is_object() && pv.is_object() => strategic_merge(tv, pv),
            _ => {
                t.insert(k.clone(), pv.clone());
            }
        }
    }
}

/// `fieldSelector=type=...` (the one field selector joinkit uses) as a filter.
fn field_selector_type(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("fieldSelector="))
        .map(|v| v.replace("%3D", "=").replace("%2F", "/"))
        .and_then(|v| v.strip_prefix("type=").map(str::to_string))
}

/// A streaming watch body: newline-delimited JSON events from a channel.
pub struct WatchBody {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for WatchBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// What the router decided: a whole answer, or a watch to stream.
pub enum Reply {
    /// A complete response.
    Full(Response<Full<Bytes>>),
    /// Stream events of `resource` (optionally one `name`) for up to `timeout`.
    Watch {
        /// The resource watched (`certificatesigningrequests`, ...).
        resource: String,
        /// Only this object (`fieldSelector=metadata.name=...`), or all.
        name: Option<String>,
        /// The objects sent first as ADDED events (the current state).
        initial: Vec<Value>,
        /// Later changes from the store.
        rx: tokio::sync::broadcast::Receiver<super::store::Event>,
        /// When the server ends the watch (`timeoutSeconds`).
        timeout: Duration,
    },
}

impl From<Response<Full<Bytes>>> for Reply {
    fn from(r: Response<Full<Bytes>>) -> Self {
        Reply::Full(r)
    }
}

/// Routes a request and turns watches into streaming responses.
pub fn respond(
    req: Req,
    cert_user: Option<UserInfo>,
    state: &Mutex<LabState>,
) -> Response<Either<Full<Bytes>, WatchBody>> {
    match route(req, cert_user, state) {
        Reply::Full(r) => r.map(Either::Left),
        Reply::Watch { resource, name, initial, mut rx, timeout } => {
            let (tx, body_rx) = tokio::sync::mpsc::channel::<Bytes>(64);
            tokio::spawn(async move {
                let line = |kind: &str, o: &Value| Bytes::from(format!("{}\n", json!({"type": kind, "object": o})));
                for o in &initial {
                    if tx.send(line("ADDED", o)).await.is_err() {
                        return;
                    }
                }
                let deadline = tokio::time::Instant::now() + timeout;
                loop {
                    let ev = match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Err(_) => return,
                        Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                        Ok(Err(_)) => return,
                        Ok(Ok(ev)) => ev,
                    };
                    if ev.resource != resource {
                        continue;
                    }
                    if let Some(n) = &name {
                        if ev.object.pointer("/metadata/name").and_then(Value::as_str) != Some(n) {
                            continue;
                        }
                    }
                    if tx.send(line(ev.kind, &ev.object)).await.is_err() {
                        return;
                    }
                }
            });
            Response::builder()
                .status(200)
                .header("audit-id", uuid())
                .header("cache-control", "no-cache, private")
                .header("content-type", "application/json")
                .header("x-kubernetes-pf-flowschema-uid", FLOWSCHEMA)
                .header("x-kubernetes-pf-prioritylevel-uid", PRIORITY)
                .body(Either::Right(WatchBody { rx: body_rx }))
                .expect("valid response")
        }
    }
}

/// Handles one complete (non-watch) request; used by tests.
pub fn handle(req: Req, cert_user: Option<UserInfo>, state: &Mutex<LabState>) -> Response<Full<Bytes>> {
    match route(req, cert_user, state) {
        Reply::Full(r) => r,
        Reply::Watch { .. } => Response::builder()
            .status(400)
            .body(Full::new(Bytes::from_static(b"watch needs respond()")))
            .expect("valid response"),
    }
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn strip_type_meta(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    o
}

/// Routes one request against the shared state.
fn route(req: Req, cert_user: Option<UserInfo>, state: &Mutex<LabState>) -> Reply {
    let is_watch = matches!(query_param(&req.query, "watch"), Some("true" | "1"));
    if is_watch && req.method == "GET" {
        if let Some(mut a) = parse_path(&req.path, "GET") {
            let Ok(st) = state.lock() else { return Reply::Full(route_full(req, cert_user, state)) };
            let ctx = Ctx { pretty: false, clock_offset: st.faults.clock_offset };
            let user = match authenticate(&req, cert_user, &st, &ctx) {
                Ok(u) => u,
                Err(r) => return Reply::Full(r),
            };
            a.verb = "watch".into();
            if let Some(n) = field_selector_name(&req.query) {
                a.name = n;
            }
            let (ok, _) = rbac::authorize(&st.store, &user, &a);
            if !ok {
                return Reply::Full(forbidden(&ctx, &user, &a));
            }
            let name = (!a.name.is_empty()).then(|| a.name.clone());
            let initial: Vec<Value> = st
                .store
                .list(&a.resource, &a.namespace)
                .into_iter()
                .filter(|o| {
                    name.as_deref().is_none_or(|n| o.pointer("/metadata/name").and_then(Value::as_str) == Some(n))
                })
                .cloned()
                .collect();
            let timeout = query_param(&req.query, "timeoutSeconds")
                .and_then(|t| t.parse().ok())
                .map(Duration::from_secs)
                .unwrap_or(Duration::from_secs(300));
            return Reply::Watch { resource: a.resource, name, initial, rx: st.store.subscribe(), timeout };
        }
    }
    Reply::Full(route_full(req, cert_user, state))
}

/// Authenticates a request: a bad bearer token is a bare 401, whatever anonymous could do.
/// Other schemes (Basic) have no authenticator since 1.19 and fall through, as on a real server.
fn authenticate(
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

fn route_full(req: Req, cert_user: Option<UserInfo>, state: &Mutex<LabState>) -> Response<Full<Bytes>> {
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
            let v = json!({"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {"creationTimestamp": super::store::now_rfc3339()},
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
                return reply_json(
                    &ctx,
                    StatusCode::BAD_REQUEST,
                    &status_body(400, "BadRequest", "the body of the request was in an unknown format", None),
                );
            };
            let mut name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            if name.is_empty() {
                if let Some(prefix) = obj.pointer("/metadata/generateName").and_then(Value::as_str) {
                    name = format!("{prefix}{}", &joinkit_core::token::random_string(5));
                }
            }
            if name.is_empty()
                || super::csr::request_der(&obj).is_none()
                || obj.pointer("/spec/signerName").and_then(Value::as_str).unwrap_or("").is_empty()
            {
                let msg = format!("CertificateSigningRequest.certificates.k8s.io {name:?} is invalid: name, spec.request (a PEM CSR) and spec.signerName are required");
                return reply_json(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &status_body(
                        422,
                        "Invalid",
                        &msg,
                        Some(
                            json!({"name": name, "group": "certificates.k8s.io", "kind": "CertificateSigningRequest"}),
                        ),
                    ),
                );
            }
            if st.store.get("certificatesigningrequests", "", &name).is_some() {
                let msg = format!("certificatesigningrequests.certificates.k8s.io {name:?} already exists");
                return reply_json(
                    &ctx,
                    StatusCode::CONFLICT,
                    &status_body(
                        409,
                        "AlreadyExists",
                        &msg,
                        Some(
                            json!({"name": name, "group": "certificates.k8s.io", "kind": "certificatesigningrequests"}),
                        ),
                    ),
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
                return reply_json(
                    &ctx,
                    StatusCode::BAD_REQUEST,
                    &status_body(400, "BadRequest", "the body of the request was in an unknown format", None),
                );
            };
            if let Some(conflict) = stale(&ctx, &a, &obj, &body) {
                return conflict;
            }
            // The approval subresource takes the conditions only; the server sets
            // lastTransitionTime where the client left it out.
            let now = super::store::now_rfc3339();
            let mut conds = body.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            for c in &mut conds {
                if c.get("lastTransitionTime").is_none_or(Value::is_null) {
                    c["lastTransitionTime"] = json!(now);
                }
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
                return reply_json(
                    &ctx,
                    StatusCode::BAD_REQUEST,
                    &status_body(400, "BadRequest", "the body of the request was in an unknown format", None),
                );
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
        return reply_json(
            &ctx,
            StatusCode::NOT_FOUND,
            &status_body(404, "NotFound", "the server could not find the requested resource", Some(json!({}))),
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
            reply_json(
                &ctx,
                StatusCode::OK,
                &json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": st.store.resource_version().to_string()}, "items": items}),
            )
        }
        "create" => {
            let Ok(mut obj) = serde_json::from_slice::<Value>(&req.body) else {
                return reply_json(
                    &ctx,
                    StatusCode::BAD_REQUEST,
                    &status_body(400, "BadRequest", "the body of the request was in an unknown format", None),
                );
            };
            let kind = kind_of(&a.resource);
            let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            if name.is_empty() || obj.get("kind").and_then(Value::as_str).is_some_and(|k| k != kind) {
                let msg = format!(
                    "{kind} {name:?} is invalid: metadata.name: Required value: name or generateName is required"
                );
                return reply_json(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &status_body(
                        422,
                        "Invalid",
                        &msg,
                        Some(
                            json!({"name": name, "kind": a.resource, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]}),
                        ),
                    ),
                );
            }
            if !is_dns_subdomain(&name) {
                let invalid = format!("Invalid value: {name:?}: {DNS_SUBDOMAIN_MSG}");
                let msg = format!("{kind} {name:?} is invalid: metadata.name: {invalid}");
                return reply_json(
                    &ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &status_body(
                        422,
                        "Invalid",
                        &msg,
                        Some(
                            json!({"name": name, "kind": kind, "causes": [{"reason": "FieldValueInvalid", "message": invalid, "field": "metadata.name"}]}),
                        ),
                    ),
                );
            }
            if st.store.get(&a.resource, &a.namespace, &name).is_some() {
                let msg = format!("{} {name:?} already exists", qualified(&a));
                return reply_json(
                    &ctx,
                    StatusCode::CONFLICT,
                    &status_body(409, "AlreadyExists", &msg, Some(json!({"name": name, "kind": a.resource}))),
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
        _ => reply_json(
            &ctx,
            StatusCode::METHOD_NOT_ALLOWED,
            &status_body(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                Some(json!({})),
            ),
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
    Some(reply_json(ctx, StatusCode::CONFLICT, &status_body(409, "Conflict", &msg, Some(details(a)))))
}

/// What the API server fills in on a new Node: the not-ready taint (TaintNodesByCondition) and
/// the zero-valued status structs.
fn node_defaults(obj: &mut Value) {
    if obj.get("spec").is_none_or(|s| !s.is_object()) {
        obj["spec"] = json!({});
    }
    let taints = obj["spec"]["taints"].as_array().cloned().unwrap_or_default();
    if !taints.iter().any(|t| t["key"] == "node.kubernetes.io/not-ready") {
        let mut t = taints;
        t.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}));
        obj["spec"]["taints"] = Value::Array(t);
    }
    if obj.get("status").is_none_or(|s| !s.is_object()) {
        obj["status"] = json!({});
    }
    let st = &mut obj["status"];
    if st.get("daemonEndpoints").is_none() {
        st["daemonEndpoints"] = json!({"kubeletEndpoint": {"Port": 0}});
    }
    if st.get("nodeInfo").is_none() {
        st["nodeInfo"] = json!({"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "",
            "containerRuntimeVersion": "", "kubeletVersion": "", "kubeProxyVersion": "", "operatingSystem": "", "architecture": ""});
    }
}
