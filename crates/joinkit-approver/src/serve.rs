//! The metrics and health listeners: plain HTTP/1.1 (hyper), GET only, on the addresses of
//! `--metrics-bind-address` and `--health-probe-bind-address` (controller-runtime's flag
//! names). `/metrics`: the Prometheus text; `/healthz`: 200 `ok` while the process runs;
//! `/readyz`: 200 once the CSR watch and the Node index have listed, 503 before. At most
//! [`MAX_PER_CLIENT`] connections at once from one client address and [`MAX_CONNECTIONS`] in
//! all per listener (more are closed at once), each with an 8 KiB read buffer, its request head
//! within 10 s, served at most 30 s; bodies are not read. So one client that opens slow
//! connections holds at most 4 × 8 KiB and cannot take the slots the kubelet's probes need
//! (they come from the node's address); the approver's memory for connections stays under
//! 128 × 8 KiB.

use crate::metrics::Metrics;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

/// Connections served at once per listener.
pub(crate) const MAX_CONNECTIONS: usize = 128;

/// Connections served at once per client address (an IPv4-mapped IPv6 address counts as IPv4).
pub(crate) const MAX_PER_CLIENT: usize = 4;

/// The connections each client address holds.
#[derive(Default)]
struct PerClient(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One client's connection slot: released on drop.
struct ClientSlot(Arc<PerClient>, std::net::IpAddr);

impl PerClient {
    /// A slot for `ip`, or `None` when it holds [`MAX_PER_CLIENT`] already.
    fn take(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<ClientSlot> {
        let ip = match ip {
            std::net::IpAddr::V6(v) => v.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_default();
        if *n >= MAX_PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(ClientSlot(self.clone(), ip))
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut m = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

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
    let clients = Arc::new(PerClient::default());
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Some(client) = clients.take(peer.ip()) else {
            drop(stream);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let m = m.clone();
        tokio::spawn(async move {
            let _slots = (slot, client);
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

    /// A connection from `from` (a loopback address) to `to`.
    async fn connect_from(from: &str, to: std::net::SocketAddr) -> tokio::net::TcpStream {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(format!("{from}:0").parse().unwrap()).unwrap();
        s.connect(to).await.unwrap()
    }

    /// The answer to one GET /healthz from `from`, within 5 s.
    async fn probe(from: &str, to: std::net::SocketAddr) -> String {
        let mut c = connect_from(from, to).await;
        let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// A flood of slow connections (request heads never finished) from one client, and from
    /// many: the probe from another address is answered at once either way while the flood
    /// holds its connections, and the flood's own extra connections are closed unanswered.
    #[tokio::test]
    async fn probes_are_answered_under_a_slow_connection_flood() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(serve(l, Routes::Health, Arc::new(Metrics::new())));
        let mut held = Vec::new();
        // One client, 200 connections: all but MAX_PER_CLIENT are closed at once.
        for _ in 0..200 {
            let mut c = connect_from("127.0.0.1", addr).await;
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\n").await;
            held.push(c);
        }
        // 30 more clients with MAX_PER_CLIENT each: with the first, 124 of the 128 slots held.
        for i in 0..30 {
            for _ in 0..MAX_PER_CLIENT {
                let mut c = connect_from(&format!("127.0.1.{}", i + 1), addr).await;
                let _ = c.write_all(b"GET /healthz HTTP/1.1\r\n").await;
                held.push(c);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = std::time::Instant::now();
        let answer = probe("127.0.0.2", addr).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "the probe was not answered: {answer:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "the probe took {:?}", t.elapsed());
        // The flooding client's extra connection is closed unanswered.
        assert!(!probe("127.0.0.1", addr).await.contains("200 OK"));
        drop(held);
    }

    #[tokio::test]
    async fn connections_and_request_heads_are_bounded() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(serve(l, Routes::Health, Arc::new(Metrics::new())));
        // MAX_CONNECTIONS slow connections from MAX_CONNECTIONS / MAX_PER_CLIENT clients hold
        // every slot...
        let mut held = Vec::new();
        for i in 0..MAX_CONNECTIONS {
            let mut c = connect_from(&format!("127.0.2.{}", 1 + i / MAX_PER_CLIENT), addr).await;
            c.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            held.push(c);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // ...so one more is closed at once, unanswered.
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
