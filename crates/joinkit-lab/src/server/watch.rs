//! Watches: a `?watch=true` GET is authenticated and authorized like a list (verb `watch`,
//! `fieldSelector=metadata.name=` as the name), then streams newline-delimited JSON events
//! (ADDED for the current objects, then the store's changes) until `timeoutSeconds`.
//! Everything else is answered whole by [`super::routes`]. Upstream:
//! `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go`.

use super::auth::authenticate;
use super::fields::{field_selector_name, query_param};
use super::reply::{forbidden, Ctx, FLOWSCHEMA, PRIORITY};
use super::routes::{parse_path, route_full};
use super::Req;
use crate::rbac::{self, UserInfo};
use crate::store::uuid;
use crate::LabState;
use http_body_util::{Either, Full};
use hyper::body::Bytes;
use hyper::Response;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

/// A streaming watch body: newline-delimited JSON events from a channel.
pub(super) struct WatchBody {
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
enum Reply {
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
        rx: tokio::sync::broadcast::Receiver<crate::store::Event>,
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
pub(super) fn respond(
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
