//! A fake node for diagnose's runtime checks: a CRI runtime answering
//! `runtime.v1.RuntimeService/Version` over HTTP/2 on a unix socket as containerd does
//! (kubernetes/cri-api `pkg/apis/runtime/v1/api.proto`; gRPC framing and trailers as in
//! grpc/grpc `doc/PROTOCOL-HTTP2.md`), or one that serves only v1alpha2 (containerd 1.5), or no
//! CRI at all (`disabled_plugins = ["cri"]`), or one that accepts and never answers; and a fake
//! kubelet health endpoint. Servers run on one shared runtime for the life of the test process.
#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// How the fake runtime answers.
#[derive(Clone, Debug)]
pub enum Cri {
    /// Serves CRI v1 as `name` `version` (e.g. "containerd", "v1.7.13").
    V1(&'static str, &'static str),
    /// v1 is Unimplemented; v1alpha2 answers as containerd 1.5.9.
    V1alpha2Only,
    /// Every CRI service is Unimplemented (the CRI plugin is disabled).
    NoService,
    /// Accepts connections and never answers (not even the HTTP/2 preface).
    Silent,
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime")
    })
}

/// Protobuf: a length-delimited string field (short strings only).
fn field(tag: u8, s: &str) -> Vec<u8> {
    assert!(s.len() < 128);
    let mut v = vec![(tag << 3) | 2, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// A gRPC message frame of a `VersionResponse`.
fn version_frame(name: &str, version: &str, api: &str) -> Bytes {
    let mut msg = field(1, "0.1.0");
    msg.extend(field(2, name));
    msg.extend(field(3, version));
    msg.extend(field(4, api));
    let mut f = vec![0u8];
    f.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    f.extend(msg);
    Bytes::from(f)
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

fn answer(mode: &Cri, path: &str) -> hyper::Response<Body> {
    let ok = |frame: Bytes| {
        let mut trailers = hyper::HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        hyper::Response::builder()
            .header("content-type", "application/grpc")
            .body(Full::new(frame).with_trailers(async move { Some(Ok(trailers)) }).boxed())
            .unwrap()
    };
    let unimplemented = |service: &str| {
        hyper::Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", "12")
            .header("grpc-message", format!("unknown service {service}"))
            .body(Full::new(Bytes::new()).boxed())
            .unwrap()
    };
    let service = path.trim_start_matches('/').split('/').next().unwrap_or("").to_string();
    match (mode, path) {
        (Cri::V1(name, version), "/runtime.v1.RuntimeService/Version") => ok(version_frame(name, version, "v1")),
        (Cri::V1alpha2Only, "/runtime.v1alpha2.RuntimeService/Version") => {
            ok(version_frame("containerd", "v1.5.9", "v1alpha2"))
        }
        _ => unimplemented(&service),
    }
}

/// Serves a fake CRI runtime on the unix socket `path` (its directory is created; a file
/// already there is replaced) until the test process exits.
pub fn serve_cri(path: &Path, mode: Cri) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let listener = {
        let _g = rt().enter();
        tokio::net::UnixListener::bind(path).expect("bind the fake CRI socket")
    };
    rt().spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mode = mode.clone();
            tokio::spawn(async move {
                if let Cri::Silent = mode {
                    tokio::time::sleep(Duration::from_secs(300)).await;
                    drop(stream);
                    return;
                }
                let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mode = mode.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let _ = req.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(answer(&mode, &path))
                    }
                });
                let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

/// A fake kubelet health endpoint on 127.0.0.1 answering every request with `status` and
/// `body`; returns its `host:port`.
pub fn serve_healthz(status: u16, body: &'static str) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// A loopback port nothing listens on and no one else can take while the guard lives: a TCP
/// socket bound to it without `listen(2)`, so a connection is refused (RST) every time. A port
/// merely freed (`refused_addr`) can be taken by a parallel test between two connection
/// attempts; a client that retries (kubeadm) then sees "connection reset by peer".
pub fn closed_port() -> (std::os::fd::OwnedFd, std::net::SocketAddr) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns; the sockaddr_in is fully
    // initialised and its size passed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        sa.sin_port = 0;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(raw, &sa as *const _ as *const libc::sockaddr, len),
            0,
            "bind: {}",
            std::io::Error::last_os_error()
        );
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut glen = len;
        assert_eq!(libc::getsockname(raw, &mut got as *mut _ as *mut libc::sockaddr, &mut glen), 0);
        let port = u16::from_be(got.sin_port);
        (fd, std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)))
    }
}

/// A local address where nothing listens (a port bound and released).
pub fn refused_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    drop(l);
    a
}

/// A healthy node's filesystem under `dir/root` for `diagnose --root` (as tests/it/diagnose.rs
/// makes one): a default route, ip_forward on, no swap, a fake containerd socket.
pub fn healthy_root(dir: &Path) -> PathBuf {
    let r = dir.join("root");
    for d in ["proc/net", "proc/sys/net/ipv4", "run/containerd", "etc/kubernetes/manifests"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("proc/net/route"), "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n").unwrap();
    std::fs::write(r.join("proc/net/ipv6_route"), "").unwrap();
    std::fs::write(r.join("proc/net/tcp"), "  sl  local_address rem_address   st tx_queue rx_queue\n").unwrap();
    std::fs::write(r.join("proc/sys/net/ipv4/ip_forward"), "1\n").unwrap();
    std::fs::write(r.join("proc/swaps"), "Filename\tType\tSize\tUsed\tPriority\n").unwrap();
    serve_cri(&r.join("run/containerd/containerd.sock"), Cri::V1("containerd", "v1.7.13"));
    r
}
