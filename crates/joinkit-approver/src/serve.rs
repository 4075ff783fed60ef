//! The metrics and health listeners: plain HTTP/1.1 (hyper), GET only, on the addresses of
//! `--metrics-bind-address` and `--health-probe-bind-address` (controller-runtime's flag
//! names). `/metrics`: the Prometheus text; `/healthz`: 200 `ok` while the process runs;
//! `/readyz`: 200 once the CSR watch has listed, 503 before. Each connection must send its
//! request head within 10 s and is served at most 30 s; bodies are not read.

use crate::metrics::Metrics;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

/// Which paths a listener serves.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Routes {
    /// `/metrics`.
    Metrics,
    /// `/healthz`, `/readyz`.
    Health,
}

/// The answer to one request.
pub(crate) fn answer(routes: Routes, method: &http::Method, path: &str, m: &Metrics) -> (u16, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != http::Method::GET && method != http::Method::HEAD {
        return (405, TEXT, "method not allowed\n".into());
    }
    match (routes, path) {
        (Routes::Metrics, "/metrics") => {
            (200, "application/openmetrics-text; version=1.0.0; charset=utf-8", m.encode())
        }
        (Routes::Health, "/healthz" | "/livez") => (200, TEXT, "ok\n".into()),
        (Routes::Health, "/readyz") if m.ready() => (200, TEXT, "ok\n".into()),
        (Routes::Health, "/readyz") => (503, TEXT, "the CSR watch has not synced yet\n".into()),
        _ => (404, TEXT, "not found\n".into()),
    }
}

/// Serves `listener` until the process ends.
pub(crate) async fn serve(listener: tokio::net::TcpListener, routes: Routes, m: Arc<Metrics>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let m = m.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (status, ctype, body) = answer(routes, req.method(), req.uri().path(), &m);
                let resp = hyper::Response::builder()
                    .status(status)
                    .header("content-type", ctype)
                    .body(Full::new(Bytes::from(body)));
                async move { resp }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), svc);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_answer_by_listener_and_readiness() {
        let m = Metrics::new();
        let get = http::Method::GET;
        assert_eq!(answer(Routes::Metrics, &get, "/metrics", &m).0, 200);
        assert_eq!(answer(Routes::Metrics, &get, "/healthz", &m).0, 404);
        assert_eq!(answer(Routes::Health, &get, "/metrics", &m).0, 404);
        assert_eq!(answer(Routes::Health, &get, "/healthz", &m).0, 200);
        assert_eq!(answer(Routes::Health, &get, "/readyz", &m).0, 503);
        m.set_ready();
        assert_eq!(answer(Routes::Health, &get, "/readyz", &m).0, 200);
        assert_eq!(answer(Routes::Health, &http::Method::POST, "/readyz", &m).0, 405);
    }
}
