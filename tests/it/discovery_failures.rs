//! Every verify-discovery failure code, produced for real (the lab, a closed port, a non-TLS
//! listener, a stalled listener, a full accept queue, a network namespace without network) and
//! asserted: code, stage, exit code and the JSON fields.

use crate::common;
use common::{assert_failure, lab, run, run_isolated, run_with, verify};
use joinkit_lab::Scenario;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const TOKEN: &str = "abcdef.0123456789abcdef";
const PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";

fn vd(endpoint: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["verify-discovery", endpoint, "--discovery-token-ca-cert-hash", PIN, "-o", "json"];
    args.extend_from_slice(extra);
    run_with(&args, &[("JOINKIT_TOKEN", TOKEN)], None)
}

#[test]
fn healthy_lab_passes_with_every_stage() {
    let l = lab(Scenario::Healthy);
    let r = verify(&l, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert!(v["failure"].is_null());
    let names: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, joinkit_core::discovery::flow_names(joinkit_core::discovery::NETWORK_STAGES));
    assert!(v["stages"].as_array().unwrap().iter().all(|s| s["status"] == "pass"), "{}", r.stdout);
    assert_eq!(v["apiServer"], format!("https://{}", l.endpoint()));
    assert_eq!(v["caPin"], l.info.ca_pin);
    assert_eq!(v["apiServerDiffers"], false);
    // One TCP connection, one TLS handshake, one request in total.
    let c = l.counters();
    assert_eq!((c.tcp_connections, c.tls_handshakes, c.requests), (1, 1, 1), "{c:?}");
    // The token secret is printed nowhere, in JSON or text.
    let secret = l.token().secret().to_string();
    assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    let t = run_with(
        &["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &l.info.ca_pin],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    assert_eq!(t.code, 0);
    assert!(!t.stdout.contains(&secret) && !t.stderr.contains(&secret));
    assert!(t.stdout.contains("OK: this node can trust the control plane"));
}

#[test]
fn token_file_and_flag_sources() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("token");
    std::fs::write(&f, format!("{}\n", l.info.token)).unwrap();
    let r = run(&[
        "verify-discovery",
        l.endpoint(),
        "--token-file",
        f.to_str().unwrap(),
        "--discovery-token-ca-cert-hash",
        &l.info.ca_pin,
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = run(&[
        "verify-discovery",
        l.endpoint(),
        "--token",
        &l.info.token,
        "--discovery-token-ca-cert-hash",
        &format!("{PIN},{}", l.info.ca_pin),
    ]);
    assert_eq!(r.code, 0, "second of two comma-separated pins matches: {}", r.stdout);
}

#[test]
fn api_server_differing_from_endpoint_is_reported() {
    let l = joinkit_lab::Lab::start(joinkit_lab::LabOptions {
        control_plane_endpoint: Some("localhost:6443".into()),
        ..Default::default()
    })
    .unwrap();
    let r = verify(&l, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["apiServer"], "https://localhost:6443");
    assert_eq!(v["apiServerDiffers"], true);
    let t = run_with(
        &["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &l.info.ca_pin],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    assert!(t.stdout.contains("differs from the endpoint"), "{}", t.stdout);
}

#[test]
fn input_errors() {
    let r = run_with(
        &["verify-discovery", "127.0.0.1:1", "--discovery-token-ca-cert-hash", PIN, "-o", "json"],
        &[("JOINKIT_TOKEN", "abcdef.SECRET0123456789")],
        None,
    );
    let v = assert_failure(&r, "bad-token-format", "input", 2);
    assert!(v["failure"]["kubeadmMessage"]
        .as_str()
        .unwrap()
        .starts_with("the bootstrap token \"abcdef.<redacted>\" was not of the form"));
    assert!(!r.stdout.contains("SECRET0123456789"));
    let r = run_with(
        &["verify-discovery", "127.0.0.1:1", "--discovery-token-ca-cert-hash", "3f73af16", "-o", "json"],
        &[("JOINKIT_TOKEN", TOKEN)],
        None,
    );
    let v = assert_failure(&r, "bad-pin-format", "input", 2);
    assert_eq!(
        v["failure"]["kubeadmMessage"],
        "invalid hash, expected \"format:hex-value\". Known format(s) are: sha256"
    );
    let r = run_with(&["verify-discovery", "127.0.0.1:1", "-o", "json"], &[("JOINKIT_TOKEN", TOKEN)], None);
    let v = assert_failure(&r, "no-pins", "input", 2);
    assert!(v["failure"]["kubeadmMessage"]
        .as_str()
        .unwrap()
        .starts_with("using token-based discovery without caCertHashes can be unsafe"));
    let r = run_with(
        &["verify-discovery", "fd00::1:6443", "--discovery-token-ca-cert-hash", PIN, "-o", "json"],
        &[("JOINKIT_TOKEN", TOKEN)],
        None,
    );
    assert_failure(&r, "bad-endpoint", "input", 2);
    // No token at all.
    let r = run(&["verify-discovery", "127.0.0.1:1", "--discovery-token-ca-cert-hash", PIN, "-o", "json"]);
    assert_failure(&r, "bad-token-format", "input", 2);
    // clap usage errors exit 2.
    assert_eq!(run(&["verify-discovery", "--no-such-flag"]).code, 2);
}

#[test]
fn connection_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = vd(&format!("127.0.0.1:{port}"), &[]);
    let v = assert_failure(&r, "connection-refused", "connect", 11);
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().ends_with("connect: connection refused"));
    assert!(v["failure"]["fix"].as_str().unwrap().contains("6443"));
}

#[test]
fn connect_timeout_on_a_full_accept_queue() {
    // listen(0) and one unaccepted connection fill the accept queue; further SYNs are dropped.
    let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
    // Re-listen with backlog 0 (std uses 128).
    extern "C" {
        fn listen(fd: i32, backlog: i32) -> i32;
    }
    assert_eq!(unsafe { listen(fd, 0) }, 0);
    let _filler = TcpStream::connect(addr).unwrap();
    let t = Instant::now();
    let r = vd(&addr.to_string(), &["--connect-timeout", "300ms"]);
    let v = assert_failure(&r, "connect-timeout", "connect", 12);
    assert!(t.elapsed() < Duration::from_secs(3), "bounded by --connect-timeout: {:?}", t.elapsed());
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().ends_with("i/o timeout"));
}

#[test]
fn no_route_and_dns_failure_without_network() {
    // In a fresh network namespace the loopback interface is down: connecting to 127.0.0.1 gets
    // ENETUNREACH, and resolving a name cannot reach any DNS server. No packet leaves.
    let r = run_isolated(
        &["verify-discovery", "127.0.0.1:6443", "--discovery-token-ca-cert-hash", PIN, "-o", "json"],
        &[("JOINKIT_TOKEN", TOKEN)],
    );
    let v = assert_failure(&r, "no-route", "connect", 13);
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().contains("network is unreachable"), "{}", r.stdout);
    let r = run_isolated(
        &[
            "verify-discovery",
            "control-plane.joinkit-test.invalid:6443",
            "--discovery-token-ca-cert-hash",
            PIN,
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", TOKEN)],
    );
    let v = assert_failure(&r, "dns-failure", "resolve", 10);
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().contains("lookup control-plane.joinkit-test.invalid"));
}

/// `--timeout` holds when the resolver never answers: in a network and mount namespace of its
/// own, /etc/resolv.conf points at 127.0.0.1:53 where a UDP socket swallows every query. The
/// resolver (getaddrinfo, ~5 s per try) runs on a blocking thread that joinkit must not wait for
/// when it gives up (it waited ~10 s with --timeout 3s before). Nothing leaves the namespace.
#[test]
fn timeout_holds_when_dns_never_answers() {
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n").unwrap();
    let script = format!(
        "ip link set lo up && mount --bind {resolv} /etc/resolv.conf && \
         (python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"127.0.0.1\", 53)); open(sys.argv[1], \"w\").close(); time.sleep(30)' {ready} >/dev/null 2>&1 &) && \
         for i in $(seq 100); do [ -e {ready} ] && break; sleep 0.1; done && [ -e {ready} ] && \
         start=$(date +%s%N); JOINKIT_TOKEN={TOKEN} NO_COLOR=1 {bin} verify-discovery cp.joinkit-test.example:6443 \
           --discovery-token-ca-cert-hash {PIN} --timeout 2s -o json; rc=$?; end=$(date +%s%N); \
         echo; echo \"elapsed_ms=$(( (end - start) / 1000000 )) rc=$rc\"; pkill -f 'time.sleep(30)' ; true",
        resolv = resolv.display(),
        ready = dir.path().join("sink-ready").display(),
        bin = common::bin(),
    );
    let out = std::process::Command::new("unshare")
        .args(["-n", "-m", "sh", "-c", &script])
        .env_remove("JOINKIT_TOKEN")
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    let ms: u64 = last
        .split_whitespace()
        .find_map(|w| w.strip_prefix("elapsed_ms="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no timing in {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert!(last.contains("rc=15"), "request-timeout expected: {stdout}");
    assert!(stdout.contains("\"stage\":\"resolve\"") || stdout.contains("\"stage\": \"resolve\""), "{stdout}");
    // 2 s of --timeout plus process start-up; the resolver alone would take 10 s or more.
    assert!(ms < 4_000, "verify-discovery --timeout 2s took {ms} ms when DNS never answers");
}

#[test]
fn non_tls_listener() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().take(1) {
            let mut s = s.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let r = vd(&addr.to_string(), &[]);
    let v = assert_failure(&r, "tls-handshake-failed", "tls-handshake", 14);
    assert!(v["failure"]["cause"].as_str().unwrap().contains("does not speak TLS"), "{}", r.stdout);
    assert!(v["failure"]["kubeadmMessage"]
        .as_str()
        .unwrap()
        .ends_with("http: server gave HTTP response to HTTPS client"));
}

#[test]
fn stalled_listener() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let keep = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        drop(s);
    });
    let t = Instant::now();
    let r = vd(&addr.to_string(), &["--connect-timeout", "300ms"]);
    let v = assert_failure(&r, "tls-handshake-failed", "tls-handshake", 14);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().ends_with("TLS handshake timeout"));
    keep.join().unwrap();
}

/// A server TLS configuration for 127.0.0.1 from a throwaway CA (ECDSA), with joinkit's
/// crypto provider.
fn throwaway_tls_config() -> std::sync::Arc<rustls::ServerConfig> {
    use joinkit_lab::pki::{Ca, CaValidity, KeyKind};
    let ca = Ca::new("test", KeyKind::Ecdsa, CaValidity::Normal).unwrap();
    let leaf = ca.serving_cert(&["127.0.0.1"], KeyKind::Ecdsa).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(joinkit_core::client::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert_der.clone()], leaf.private_key())
        .unwrap();
    std::sync::Arc::new(cfg)
}

/// A TLS server with a throwaway CA that runs `answer` on each accepted TLS stream.
fn tls_server(answer: fn(&mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>)) -> std::net::SocketAddr {
    let cfg = throwaway_tls_config();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Some(Ok(s)) = l.incoming().next() {
            let conn = rustls::ServerConnection::new(cfg).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, s);
            answer(&mut tls);
        }
    });
    addr
}

#[test]
fn request_timeout_when_the_server_never_answers() {
    let addr = tls_server(|tls| {
        let mut buf = [0u8; 1024];
        let _ = tls.read(&mut buf);
        std::thread::sleep(Duration::from_secs(3));
    });
    let t = Instant::now();
    let r = vd(&addr.to_string(), &["--timeout", "700ms"]);
    assert_failure(&r, "request-timeout", "http-get", 15);
    assert!(t.elapsed() < Duration::from_millis(2500));
}

#[test]
fn unexpected_http_status() {
    let addr = tls_server(|tls| {
        let mut buf = [0u8; 1024];
        let _ = tls.read(&mut buf);
        let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","reason":"InternalError","code":500}"#;
        let _ = write!(
            tls,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = tls.flush();
    });
    let r = vd(&addr.to_string(), &[]);
    let v = assert_failure(&r, "cluster-info-http-error", "cluster-info", 22);
    assert!(v["failure"]["message"].as_str().unwrap().contains("etcdserver: request timed out"));
}

fn lab_failure(s: Scenario, extra: &[&str], code: &str, stage: &str, exit: i32) -> serde_json::Value {
    let l = lab(s);
    let r = verify(&l, extra);
    assert_failure(&r, code, stage, exit)
}

#[test]
fn cluster_info_access_failures() {
    let v = lab_failure(Scenario::AnonymousRevoked, &[], "cluster-info-forbidden", "cluster-info", 20);
    assert!(v["failure"]["fix"].as_str().unwrap().contains("kubeadm:bootstrap-signer-clusterinfo"));
    assert!(
        v["failure"]["kubeadmMessage"].as_str().unwrap().contains("User \\\"system:anonymous\\\" cannot get")
            || v["failure"]["kubeadmMessage"].as_str().unwrap().contains("User \"system:anonymous\" cannot get")
    );
    let v = lab_failure(Scenario::AnonymousAuthOff, &[], "cluster-info-forbidden", "cluster-info", 20);
    assert!(v["failure"]["cause"].as_str().unwrap().contains("anonymous-auth=false"));
    lab_failure(Scenario::ClusterInfoMissing, &[], "cluster-info-not-found", "cluster-info", 21);
    let v = lab_failure(Scenario::KubeconfigMissing, &[], "kubeconfig-missing", "kubeconfig", 23);
    assert_eq!(
        v["failure"]["kubeadmMessage"],
        "couldn't validate the identity of the API Server: there is no kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up for token bootstrapping, can't connect"
    );
}

#[test]
fn jws_failures() {
    for s in [Scenario::TokenExpired, Scenario::TokenDeleted, Scenario::TokenNoSigning] {
        let v = lab_failure(s, &[], "jws-missing", "jws-present", 30);
        let k = v["failure"]["kubeadmMessage"].as_str().unwrap();
        assert!(k.starts_with("couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID"), "{k}");
        let cause = v["failure"]["cause"].as_str().unwrap();
        for word in ["expired", "deleted", "signing", "bootstrapsigner"] {
            assert!(cause.contains(word), "{s:?}: cause lacks {word}: {cause}");
        }
        // The lab keeps another token signed, as a real cluster does: the token is the problem.
        assert_eq!(v["failure"]["retryable"], false, "{s:?}");
        assert_eq!(v["signedTokenIds"].as_array().map(Vec::len), Some(1), "{s:?}: the other token: {v}");
    }
    let v = lab_failure(Scenario::SignerStopped, &[], "jws-none-signed", "jws-present", 33);
    assert!(v["failure"]["cause"].as_str().unwrap().contains("bootstrapsigner"));
    assert_eq!((&v["failure"]["retryable"], &v["signedTokenIds"]), (&serde_json::json!(true), &serde_json::json!([])));
    let v = lab_failure(Scenario::JwsEmpty, &[], "jws-empty", "jws-present", 31);
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().contains("is invalid for this cluster or it has expired"));
    lab_failure(Scenario::TamperedSignature, &[], "jws-invalid", "jws-verify", 32);
    // Wrong secret for a real token ID.
    let l = lab(Scenario::Healthy);
    let wrong = format!("{}.0000000000000000", l.token().id());
    let r = run_with(
        &["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &l.info.ca_pin, "-o", "json"],
        &[("JOINKIT_TOKEN", &wrong)],
        None,
    );
    assert_failure(&r, "jws-invalid", "jws-verify", 32);
}

#[test]
fn trust_failures() {
    let l = lab(Scenario::Healthy);
    let r = run_with(
        &["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", PIN, "-o", "json"],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    let v = assert_failure(&r, "pin-mismatch", "ca-pin", 40);
    assert!(v["failure"]["fix"].as_str().unwrap().contains(&l.info.ca_pin), "the pins seen are listed");
    let v = lab_failure(Scenario::Mitm, &[], "tls-verify-failed", "tls-verify", 41);
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().contains("x509: certificate signed by unknown authority"));
    let v = lab_failure(Scenario::WrongSan, &[], "tls-verify-failed", "tls-verify", 41);
    assert!(v["failure"]["message"].as_str().unwrap().contains("not valid for 127.0.0.1"), "{}", v["failure"]);
    lab_failure(Scenario::CaExpired, &[], "ca-expired", "ca-validity", 42);
    lab_failure(Scenario::CaNotYetValid, &[], "ca-not-yet-valid", "ca-validity", 43);
    let v = lab_failure(Scenario::ClockSkew, &[], "clock-skew", "clock", 44);
    assert!(v["clockSkewSeconds"].as_i64().unwrap() <= -590, "{v}");
    // Within a generous --max-clock-skew it passes with a warning.
    let l = lab(Scenario::ClockSkew);
    let r = verify(&l, &["--max-clock-skew", "1h"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.json()["stages"].as_array().unwrap().iter().any(|s| s["name"] == "clock" && s["status"] == "warn"));
}

#[test]
fn failures_are_fast_and_text_names_everything() {
    let l = lab(Scenario::TokenDeleted);
    let t = Instant::now();
    let r = run_with(
        &["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &l.info.ca_pin],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    assert!(t.elapsed() < Duration::from_secs(2), "jws-missing is reported at once, not after kubeadm's 5 minutes");
    assert_eq!(r.code, 30);
    for needle in ["FAILED: jws-missing at stage jws-present (exit 30)", "kubeadm:", "cause:", "fix:"] {
        assert!(r.stdout.contains(needle), "{needle} missing in:\n{}", r.stdout);
    }
}

#[test]
fn ipv6_endpoint() {
    // kubeadm#3101: IPv6 endpoints are written [addr]:port; the lab's certificate names ::1.
    let l =
        joinkit_lab::Lab::start(joinkit_lab::LabOptions { listen: "[::1]:0".parse().unwrap(), ..Default::default() })
            .unwrap();
    assert!(l.endpoint().starts_with("[::1]:"));
    let r = verify(&l, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["apiServer"], format!("https://{}", l.endpoint()));
}

/// `--token-file` (or JOINKIT_TOKEN_FILE) takes precedence over JOINKIT_TOKEN, which scripts
/// often export; before, clap counted the environment variable as a conflicting `--token` and
/// refused the command line (exit 2).
#[test]
fn token_file_wins_over_an_exported_token() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("token");
    std::fs::write(&f, format!("{}\n", l.info.token)).unwrap();
    let args = ["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &l.info.ca_pin, "-o", "json"];
    let mut with_file = args.to_vec();
    with_file.extend(["--token-file", f.to_str().unwrap()]);
    let r = run_with(&with_file, &[("JOINKIT_TOKEN", "zzzzzz.0000000000000000")], None);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = run_with(
        &args,
        &[("JOINKIT_TOKEN", "zzzzzz.0000000000000000"), ("JOINKIT_TOKEN_FILE", f.to_str().unwrap())],
        None,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// A stand-in endpoint that serves every connection (kubeadm retries) until the process ends.
fn serve_forever(answer: fn(TcpStream)) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || answer(s));
        }
    });
    addr
}

/// A TLS stand-in (throwaway CA) answering every request with HTTP 500 and a Status body.
fn http_500_forever() -> std::net::SocketAddr {
    let cfg = throwaway_tls_config();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(cfg).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, s);
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf);
                let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","reason":"InternalError","code":500}"#;
                let _ = write!(
                    tls,
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
                std::thread::sleep(Duration::from_millis(200));
            });
        }
    });
    addr
}

/// The endpoint-level failures a real setup produces (a closed port, a plain-HTTP listener, a
/// listener that never speaks, an HTTP error status), each run through the real `kubeadm join`
/// v1.36.2 (tests/common/kubeadm_join.rs) and joinkit: joinkit's kubeadmMessage must be the line
/// kubeadm prints. kubeadm retries each of them until `timeouts.discovery` and then prints the
/// last try's error (`Kubeadm::Waits` in tests/it/real_control_plane.rs). The runs are
/// parallel; the stalled listener takes kubeadm's 10 s client timeout.
#[test]
fn kubeadm_parity_for_endpoint_failures() {
    use crate::kubeadm_join::{self, JoinInput, StopAt};
    let Some(k) = kubeadm_join::kubeadm() else { return };
    // Bound, never listening: refused on every try, and no parallel test can take the port
    // between kubeadm's tries.
    let (_closed_guard, closed) = crate::fake_node::closed_port();
    let plain_http = serve_forever(|mut s| {
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let stalled = serve_forever(|s| {
        std::thread::sleep(Duration::from_secs(30));
        drop(s);
    });
    let status_500 = http_500_forever();
    // (row, endpoint, joinkit's extra flags, domain and root cause for the corpus)
    let rows: Vec<(&str, String, Vec<&str>, &str, &str)> = vec![
        (
            "connection-refused",
            closed.to_string(),
            vec![],
            "network",
            "nothing listens on the endpoint's port (connection refused)",
        ),
        (
            "non-tls-listener",
            plain_http.to_string(),
            vec![],
            "network",
            "the endpoint's port speaks plain HTTP, not TLS",
        ),
        (
            "stalled-listener",
            stalled.to_string(),
            vec!["--connect-timeout", "300ms"],
            "network",
            "the endpoint accepts TCP connections but never answers the TLS handshake",
        ),
        (
            "http-500",
            status_500.to_string(),
            vec![],
            "control-plane",
            "the endpoint answers the cluster-info GET with HTTP 500 (etcd timing out)",
        ),
    ];
    let t = Instant::now();
    let results: Vec<_> = std::thread::scope(|sc| {
        let handles: Vec<_> = rows
            .iter()
            .map(|(row, ep, extra, ..)| {
                let k = &k;
                sc.spawn(move || {
                    let input = JoinInput {
                        endpoint: ep.clone(),
                        token: TOKEN.into(),
                        pins: vec![PIN.into()],
                        discovery_timeout: Duration::from_secs(2),
                        node_name: None,
                        tls_bootstrap_token: None,
                        kubelet_wait: None,
                    };
                    let kr = kubeadm_join::run_config(k, &input, StopAt::Discovery);
                    let r = vd(ep, extra);
                    (row, kr, r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut table = String::from("| row | kubeadm's line | joinkit's kubeadmMessage | equal | retries | kubeadm s |\n|---|---|---|---|---|---|\n");
    let mut bad = Vec::new();
    for ((row, kr, r), (_, _, _, domain, cause)) in results.iter().zip(&rows) {
        let ours = serde_json::from_str::<serde_json::Value>(&r.stdout)
            .ok()
            .and_then(|v| v["failure"]["kubeadmMessage"].as_str().map(str::to_string))
            .unwrap_or_else(|| "(none)".into());
        let theirs = kr.error_line.clone().unwrap_or_else(|| "(no error line)".into());
        // The stalled handshake is a race inside kubeadm's client: three 10 s timers expire
        // together (the request's context deadline and http.Client's timeout, both from
        // kubeadm's 10 s client timeout, started before the dial; the transport's TLS handshake
        // timeout, started after it), and each wording comes out (all seen, the last one in a
        // CI run: net/http's setRequestCancel wraps the context's error with the client's
        // timeout note when both fire). joinkit's line is the transport's; a kubeadm line with
        // another of these wordings counts as the same fault.
        const HANDSHAKE: &str = "net/http: TLS handshake timeout";
        const SAME_TIMEOUT: [&str; 3] = [
            "net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)",
            "context deadline exceeded",
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
        ];
        let same_race = **row == "stalled-listener"
            && ours.ends_with(HANDSHAKE)
            && SAME_TIMEOUT
                .iter()
                .any(|w| theirs.ends_with(w) && theirs.trim_end_matches(w) == ours.trim_end_matches(HANDSHAKE));
        let equal = ours == theirs || same_race;
        table.push_str(&format!(
            "| {row} | `{theirs}` | `{ours}` | {} | {} | {:.1} |\n",
            if ours == theirs {
                "yes"
            } else if same_race {
                "race (see test)"
            } else {
                "NO"
            },
            kr.retries(),
            kr.elapsed.as_secs_f64()
        ));
        if !equal || kr.hung || kr.retries() == 0 {
            bad.push(format!(
                "{row}: kubeadm {theirs:?} (retries {}, hung {})\n  joinkit {ours:?}\n{}",
                kr.retries(),
                kr.hung,
                kr.output
            ));
        }
        if kr.error_line.is_some() {
            let evidence =
                format!("{}{}: {theirs}", kubeadm_join::PHASE_ERROR_PREFIX, kr.phase.as_deref().unwrap_or(""));
            kubeadm_join::write_corpus_log(row, domain, cause, &evidence, kr);
        }
    }
    println!(
        "\nkubeadm join v1.36.2 vs joinkit, endpoint-level failures ({:.1} s):\n{table}",
        t.elapsed().as_secs_f64()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
