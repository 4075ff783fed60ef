//! The metrics and health listeners: plain HTTP/1.1 (hyper), GET only, on the addresses of
//! `--metrics-bind-address` and `--health-probe-bind-address` (controller-runtime's flag
//! names). `/metrics`: the Prometheus text; `/healthz`: 200 `ok` while the process runs;
//! `/readyz`: 200 once the CSR watch has listed, 503 before. At most 16 connections at once
//! per listener (more are closed at once), each with an 8 KiB read buffer, its request head
//! within 10 s, served at most 30 s; bodies are not read. So a client that can reach the pod
//! holds at most 16 × 8 KiB of the approver's memory.

use crate::metrics::Metrics;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

/// Connections served at once per listener.
const MAX_CONNECTIONS: usize = 16;

/// hyper's read buffer per connection (its least: 8 KiB); a longer request head is refused.
const MAX_BUF: usize = 8192;

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
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let m = m.clone();
        tokio::spawn(async move {
            let _slot = slot;
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
                .max_buf_size(MAX_BUF)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), svc);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn connections_and_request_heads_are_bounded() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(serve(l, Routes::Health, Arc::new(Metrics::new())));
        // 16 clients that never finish their request head hold every slot...
        let mut held = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            held.push(c);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // ...so the 17th is closed at once, unanswered.
        let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut buf = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut buf)).await;
        assert!(
            matches!(n, Ok(Ok(0)) | Ok(Err(_))),
            "the 17th connection was served: {:?}",
            String::from_utf8_lossy(&buf)
        );
        drop(held);
        tokio::time::sleep(Duration::from_millis(200)).await;
        // A request head beyond the 8 KiB buffer is refused, not buffered.
        let mut big = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!("GET /healthz HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(64 << 10));
        let _ = big.write_all(head.as_bytes()).await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), big.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf);
        assert!(!text.contains("200 OK"), "a 64 KiB header was served: {text}");
        // A normal request is answered again once slots are free.
        let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
        ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), ok.read_to_end(&mut buf)).await;
        assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf));
    }

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
