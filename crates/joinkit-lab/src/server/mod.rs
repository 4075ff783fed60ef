//! The lab's HTTPS server: TLS (optional client certificates from the lab CA), authentication
//! (bootstrap tokens, client certificates, anonymous), RBAC authorization, and routing of the
//! API paths the join path uses. Responses copy the v1.24 API server's shape: Status bodies,
//! `audit-id` / `cache-control` / priority-and-fairness headers, `x-content-type-options:
//! nosniff` on 403s and health checks, compact JSON plus newline (pretty for `curl` agents).
//! Upstream: kubernetes `staging/src/k8s.io/apiserver/pkg/server` (serving, filters) and
//! `pkg/endpoints` (handlers).
//!
//! This file accepts connections and reads requests; `auth` authenticates, `routes` routes and
//! answers, `watch` streams watches, `discovery` answers the discovery, version and health
//! paths, `reply` writes responses, `fields` holds the object rules (managedFields, selectors,
//! names, defaults).

mod auth;
mod discovery;
mod fields;
mod reply;
mod routes;
mod watch;

use crate::pki::{Ca, Leaf};
use crate::LabState;
use hyper::body::{Bytes, Incoming};
use hyper::Request;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Serves until `shutdown` fires. Runs the controllers every 50 ms.
pub(crate) async fn serve(
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
                    let cert_user = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| auth::user_from_cert(c.as_ref()));
                    let io = hyper_util::rt::TokioIo::new(tls);
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        let cert_user = cert_user.clone();
                        async move {
                            let req = read_req(req).await;
                            Ok::<_, std::convert::Infallible>(watch::respond(req, cert_user, &state))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
                });
            }
        }
    }
    controllers.abort();
}

/// The parts of a request the lab looks at.
pub(crate) struct Req {
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// The path.
    pub(crate) path: String,
    /// The query string.
    pub(crate) query: String,
    /// `User-Agent`.
    pub(crate) user_agent: String,
    /// `Authorization`.
    pub(crate) authorization: Option<String>,
    /// The body.
    pub(crate) body: Bytes,
}

/// Reads a request's parts and body (bounded to 4 MiB).
async fn read_req(req: Request<Incoming>) -> Req {
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
