//! The admin API client against a hostile or broken HTTPS server (not the lab): an endless
//! chunked body is refused at the body bound with bounded memory, and a 2xx answer that is not
//! the JSON the Kubernetes API sends (a proxy's HTML login page, JSON of the wrong kind) is an
//! `api-error`, never an empty success.

use crate::common;
use common::assert_failure;
use joinkit_lab::pki::{Ca, CaValidity, KeyKind};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Handler = dyn Fn(&str, &str, &mut dyn Write) -> std::io::Result<()> + Send + Sync;

/// A TLS server on 127.0.0.1 (HTTP/1.1, one request per connection) answering with `handler`.
struct Server {
    addr: String,
    ca_pem: String,
    requests: Arc<Mutex<Vec<String>>>,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(handler: Arc<Handler>) -> Server {
        let ca = Ca::new("hostile-ca", KeyKind::Ecdsa, CaValidity::Normal).unwrap();
        let leaf = ca.serving_cert(&["127.0.0.1"], KeyKind::Ecdsa).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(joinkit_core::client::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.cert_der.clone()], leaf.private_key())
            .unwrap();
        let cfg = Arc::new(cfg);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { return };
                let (cfg, handler, reqs) = (cfg.clone(), handler.clone(), reqs.clone());
                std::thread::spawn(move || {
                    let conn = rustls::ServerConnection::new(cfg).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                        match tls.read(&mut b) {
                            Ok(1) => head.push(b[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let mut first = head.lines().next().unwrap_or("").split(' ');
                    let (method, path) =
                        (first.next().unwrap_or("").to_string(), first.next().unwrap_or("").to_string());
                    reqs.lock().unwrap().push(format!("{method} {path}"));
                    // A request body (POST) is not needed by these tests.
                    let _ = handler(&method, &path, &mut tls);
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        Server { addr, ca_pem: ca.cert_pem.clone(), requests, dir: tempfile::tempdir().unwrap() }
    }

    /// A kubeconfig with a bearer token user, trusting this server's CA.
    fn kubeconfig(&self) -> PathBuf {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let p = self.dir.path().join("admin.conf");
        std::fs::write(&p, format!("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\nclusters: [{{name: k, cluster: {{server: 'https://{}', certificate-authority-data: {ca}}}}}]\nusers: [{{name: u, user: {{token: ADMINTOKEN}}}}]\n", self.addr)).unwrap();
        p
    }
}

fn answer(status: &str, content_type: &str, body: &str) -> Arc<Handler> {
    let (status, content_type, body) = (status.to_string(), content_type.to_string(), body.to_string());
    Arc::new(move |_, _, w: &mut dyn Write| {
        write!(
            w,
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    })
}

struct Measured {
    run: common::Run,
    took: Duration,
    max_rss_kib: i64,
}

/// Runs joinkit and measures its own peak RSS (GNU time's `%M` for the process it forks).
// The child is reaped by wait4 below, not by Child::wait.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&str]) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let t = Instant::now();
    // GNU time reports the peak RSS of the process it forks (see common::run_bounded for why
    // this process's own wait4 would not).
    let rss_file = dir.path().join("rss");
    let child = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(common::bin())
        .args(args)
        .env_remove("JOINKIT_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: plain wait4 on our own child into locals we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    let took = t.elapsed();
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    let run = common::Run {
        code,
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    let max_rss_kib = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(usage.ru_maxrss);
    Measured { run, took, max_rss_kib }
}

#[test]
fn endless_chunked_body_is_refused_at_the_bound() {
    let sent = Arc::new(AtomicU64::new(0));
    let s = sent.clone();
    // A SecretList that never ends; the server gives up after 256 MiB so a client without a
    // bound fails this test without taking the machine down.
    let server = Server::start(Arc::new(move |_, _, w: &mut dyn Write| {
        w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")?;
        let head = br#"{"kind":"SecretList","apiVersion":"v1","metadata":{},"items":["#;
        write!(w, "{:x}\r\n", head.len())?;
        w.write_all(head)?;
        w.write_all(b"\r\n")?;
        let chunk = vec![b' '; 1 << 20];
        while s.load(Ordering::Relaxed) < 256 << 20 {
            write!(w, "{:x}\r\n", chunk.len())?;
            w.write_all(&chunk)?;
            w.write_all(b"\r\n")?;
            s.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        w.write_all(b"0\r\n\r\n")
    }));
    let kc = server.kubeconfig();
    let m = run_measured(&["token", "list", "--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&m.run, "api-error", "api", 66);
    let msg = v["failure"]["message"].as_str().unwrap();
    assert!(msg.contains("response body exceeds 16 MiB"), "{msg}");
    assert!(m.took < Duration::from_secs(10), "{:?}", m.took);
    let mib = m.max_rss_kib / 1024;
    eprintln!(
        "endless body: exit {} in {:?}, peak RSS {mib} MiB, {} MiB sent",
        m.run.code,
        m.took,
        sent.load(Ordering::Relaxed) >> 20
    );
    assert!(mib < 120, "peak RSS {mib} MiB: the body was not bounded");
}

const LOGIN_PAGE: &str =
    "<!doctype html><html><head><title>Sign in</title></head><body><form>Login</form></body></html>\n";

#[test]
fn html_login_page_is_an_api_error_not_an_empty_success() {
    let server = Server::start(answer("200 OK", "text/html; charset=utf-8", LOGIN_PAGE));
    let kc = server.kubeconfig();
    let kc = kc.to_str().unwrap();
    for args in [vec!["token", "list"], vec!["token", "delete", "abcdef"], vec!["token", "describe", "abcdef"]] {
        let mut a = args.clone();
        a.extend(["--kubeconfig", kc, "-o", "json"]);
        let r = common::run(&a);
        let stage = if args[1] == "delete" { "delete" } else { "api" };
        let v = assert_failure(&r, "api-error", stage, 66);
        let msg = v["failure"]["message"].as_str().unwrap();
        assert!(msg.contains("text/html") && msg.contains("not JSON") && msg.contains("<title>Sign in"), "{msg}");
        assert!(!r.stdout.contains("deleted"), "{}", r.stdout);
    }
    // Text output too: no table on stdout, exit 66.
    let r = common::run(&["token", "list", "--kubeconfig", kc]);
    assert_eq!(r.code, 66, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("TOKEN"), "{}", r.stdout);
    assert!(server.requests.lock().unwrap().iter().any(|q| q.starts_with("DELETE ")));
}

#[test]
fn json_of_the_wrong_kind_is_an_api_error() {
    // A JSON service that is not an API server: 200 {"items": []} to everything.
    let server = Server::start(answer("200 OK", "application/json", r#"{"items":[],"message":"ok"}"#));
    let kc = server.kubeconfig();
    let r = common::run(&["token", "list", "--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&r, "api-error", "api", 66);
    assert!(v["failure"]["message"].as_str().unwrap().contains("expected SecretList"), "{}", r.stdout);
    let r = common::run(&["token", "delete", "abcdef", "--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&r, "api-error", "delete", 66);
    assert!(v["failure"]["message"].as_str().unwrap().contains("expected Status or Secret"), "{}", r.stdout);
}

#[test]
fn quoted_error_bodies_are_truncated() {
    // A 500 with a huge Status message (retried, then reported): at most 300 characters quoted.
    let huge = "x".repeat(100_000);
    let body = format!(r#"{{"kind":"Status","apiVersion":"v1","status":"Failure","message":"{huge}","code":500}}"#);
    let server = Server::start(answer("500 Internal Server Error", "application/json", &body));
    let kc = server.kubeconfig();
    let r = common::run(&["token", "list", "--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&r, "api-error", "api", 66);
    let msg = v["failure"]["message"].as_str().unwrap();
    assert!(msg.len() < 500, "{} bytes quoted", msg.len());
    // And a 2xx that is not JSON.
    let server = Server::start(answer("200 OK", "text/plain", &huge));
    let kc = server.kubeconfig();
    let r = common::run(&["token", "list", "--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&r, "api-error", "api", 66);
    assert!(v["failure"]["message"].as_str().unwrap().len() < 500);
}

/// A redirect is never followed: not to plain http (a downgrade) and not to another host (the
/// bearer token would go along). The client refuses it as an answer (api-error) and sends
/// exactly one request; a plain-HTTP listener named in the Location header sees nothing.
#[test]
fn redirects_are_not_followed_and_never_downgrade() {
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_addr = plain.local_addr().unwrap().to_string();
    plain.set_nonblocking(true).unwrap();
    for location in
        [format!("http://{plain_addr}/api/v1/namespaces/kube-system/secrets"), "https://127.0.0.2:1/x".into()]
    {
        let loc = location.clone();
        let server = Server::start(Arc::new(move |_, _, w: &mut dyn Write| {
            write!(w, "HTTP/1.1 302 Found\r\nLocation: {loc}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }));
        let kc = server.kubeconfig();
        let r = common::run(&["token", "list", "--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
        assert_eq!(r.code, 66, "{location}: {}{}", r.stdout, r.stderr);
        assert_eq!(server.requests.lock().unwrap().len(), 1, "{location}");
        assert!(plain.accept().is_err(), "{location}: the plain-HTTP listener was contacted");
        assert!(!r.stdout.contains("ADMINTOKEN") && !r.stderr.contains("ADMINTOKEN"));
    }
}
