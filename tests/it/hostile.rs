//! A hostile API server: it holds a certificate from a CA the client does not trust, asks for
//! (but does not require) a client certificate, records every connection, handshake, request
//! and Authorization header, and answers what the test says. Each test drives the `joinkit`
//! binary against it and asserts that no credential leaks before the server is verified, that
//! untrusted data is authenticated (JWS) before it is used, and that cluster-info cannot
//! downgrade the API server to plain HTTP. Every run is bounded (killed after 20 s).
//!
//! Fixture: tests/common/hostile.rs. Library calls: tests/common/libapi.rs only.

use crate::common;
use crate::hostile_fixture as hostile;
use crate::libapi;

use hostile::{b64, run_bounded, serve_cluster_info, Bounded, Limits, Server, TestCa};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN_ID: &str = "abcdef";
const TOKEN_SECRET: &str = "0123456789abcdef";
const TOKEN: &str = "abcdef.0123456789abcdef";

fn run(args: &[&str], env: &[(&str, &str)]) -> Bounded {
    let r = run_bounded(args, env, None, Limits::default());
    assert!(!r.timed_out, "joinkit {args:?} hung: {}", r.describe());
    r
}

/// kubeadm's cluster-info kubeconfig layout, with CA data.
fn ci_kubeconfig(server: &str, ca_pem: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n",
        b64(ca_pem.as_bytes())
    )
}

/// The same layout with a CA *path* instead of data.
fn ci_kubeconfig_ca_path(server: &str, ca_path: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority: {ca_path}\n    server: {server}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n"
    )
}

/// A cluster-info ConfigMap (JSON) with `kubeconfig` and one `jws-kubeconfig-<id>` entry.
fn cluster_info(kubeconfig: &str, jws: &str) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cluster-info", "namespace": "kube-public"},
        "data": {"kubeconfig": kubeconfig, format!("jws-kubeconfig-{TOKEN_ID}"): jws},
    })
    .to_string()
}

/// A correctly signed cluster-info (what an attacker who knows the token can serve).
fn signed_cluster_info(kubeconfig: &str) -> String {
    cluster_info(kubeconfig, &libapi::sign_detached(kubeconfig, TOKEN_ID, TOKEN_SECRET))
}

/// A client kubeconfig (file discovery or admin) for `server`, trusting CA data `ca_line` (the
/// whole `certificate-authority...:` line) with the given user fields.
fn client_kubeconfig(server: &str, ca_line: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    {ca_line}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n{user}\n"
    )
}

fn ca_data_line(ca: &TestCa) -> String {
    format!("certificate-authority-data: {}", b64(ca.pem.as_bytes()))
}

/// The three kinds of kubeconfig credentials: (label, user block), writing any files they need
/// into `dir`. Client certificates come from `client_ca`.
fn credential_kinds(dir: &Path, client_ca: &TestCa) -> Vec<(&'static str, String)> {
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let client = client_ca.client("kubernetes-admin");
    let cred = format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{TOKEN}"}}}}"#
    );
    let plugin = write(dir, "plugin.sh", &format!("#!/bin/sh\necho '{cred}'\n"));
    std::process::Command::new("chmod").arg("+x").arg(&plugin).status().unwrap();
    vec![
        ("token", format!("    token: {TOKEN}")),
        (
            "exec plugin",
            format!(
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never",
                plugin.display()
            ),
        ),
        ("tokenFile", format!("    tokenFile: {}", token_file.display())),
        (
            "client certificate",
            format!(
                "    client-certificate-data: {}\n    client-key-data: {}",
                b64(client.cert_pem.as_bytes()),
                b64(client.key_pem.as_bytes())
            ),
        ),
    ]
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// No Authorization header and no client certificate reached `server`.
fn assert_no_credentials(server: &Server, what: &str, r: &Bounded) {
    let log = server.log();
    assert!(
        log.authorization().is_empty(),
        "LEAK ({what}): the untrusted server received Authorization headers {:?} (requests: {:?})\n{}",
        log.authorization(),
        log.requests.iter().map(|q| format!("{} {}", q.method, q.path)).collect::<Vec<_>>(),
        r.describe()
    );
    assert_eq!(
        log.client_certs,
        0,
        "LEAK ({what}): the untrusted server received {} client certificate(s)\n{}",
        log.client_certs,
        r.describe()
    );
}

/// A fake node filesystem for diagnose's local checks.
fn fake_root(dir: &Path) -> PathBuf {
    let r = dir.join("root");
    for d in ["proc/net", "proc/sys/net/ipv4", "etc/kubernetes"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(
        r.join("proc/net/route"),
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nlo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n",
    )
    .unwrap();
    std::fs::write(r.join("proc/net/ipv6_route"), "").unwrap();
    std::fs::write(r.join("proc/net/tcp"), "").unwrap();
    std::fs::write(r.join("proc/sys/net/ipv4/ip_forward"), "1\n").unwrap();
    std::fs::write(r.join("proc/swaps"), "Filename\tType\tSize\tUsed\tPriority\n").unwrap();
    r
}

// ---------------------------------------------------------------------------------------------
// a. File discovery: credentials in the discovery file go only to a server the file's CA
//    verified.

#[test]
fn discovery_file_credentials_are_not_sent_to_an_unverified_server() {
    let hostile_ca = TestCa::new("hostile-ca");
    let trusted_ca = TestCa::new("kubernetes");
    let dir = tempfile::tempdir().unwrap();
    let mut leaks = Vec::new();
    for (label, user) in credential_kinds(dir.path(), &trusted_ca) {
        let server = Server::tls(
            &hostile_ca,
            serve_cluster_info(signed_cluster_info(&ci_kubeconfig("https://127.0.0.1:6443", &hostile_ca.pem))),
        );
        let kc = write(
            dir.path(),
            "discovery.conf",
            &client_kubeconfig(&server.https_url(), &ca_data_line(&trusted_ca), &user),
        );
        let r = run(&["verify-discovery", "--discovery-file", kc.to_str().unwrap(), "-o", "json"], &[]);
        let log = server.log();
        eprintln!(
            "discovery-file with {label}: exit {:?} ({}), requests {}, Authorization {:?}, client certs {}",
            r.code,
            r.failure_code(),
            log.requests.len(),
            log.authorization(),
            log.client_certs
        );
        if !log.authorization().is_empty() || log.client_certs > 0 {
            leaks.push(format!(
                "{label}: {} Authorization header(s), {} client certificate(s)",
                log.authorization().len(),
                log.client_certs
            ));
        }
        assert_eq!(r.code, Some(41), "{label}: expected tls-verify-failed\n{}", r.describe());
        assert_eq!(r.failure_code(), "tls-verify-failed", "{label}");
    }
    assert!(
        leaks.is_empty(),
        "LEAK: discovery-file credentials reached a server the file's CA does not verify: {leaks:?}"
    );
}

/// `bootstrap --kubeconfig ADMIN` uses the admin kubeconfig only to delete its CSR at the end:
/// against a healthy lab (discovery and the TLS bootstrap pass) with an admin kubeconfig naming a
/// server of another CA, the admin credentials (token, token file, client certificate) never
/// reach that server; the cleanup says it could not delete the CSR.
#[test]
fn bootstrap_admin_kubeconfig_sends_nothing_to_a_server_of_another_ca() {
    let l = common::lab(joinkit_lab::Scenario::Healthy);
    let hostile_ca = TestCa::new("hostile-ca");
    let trusted_ca = TestCa::new("kubernetes");
    let dir = tempfile::tempdir().unwrap();
    for (label, user) in credential_kinds(dir.path(), &trusted_ca) {
        let server = Server::tls(&hostile_ca, hostile::empty_ok());
        let kc =
            write(dir.path(), "admin.conf", &client_kubeconfig(&server.https_url(), &ca_data_line(&trusted_ca), &user));
        let r = run(
            &[
                "bootstrap",
                l.endpoint(),
                "--discovery-token-ca-cert-hash",
                &l.info.ca_pin,
                "--node-name",
                "hostile-admin-1",
                "--kubeconfig",
                kc.to_str().unwrap(),
                "-o",
                "json",
            ],
            &[("JOINKIT_TOKEN", &l.info.token)],
        );
        assert_no_credentials(&server, &format!("bootstrap --kubeconfig with {label}"), &r);
        let v = r.json();
        let cleanup = v["stages"].as_array().unwrap().iter().find(|s| s["name"] == "cleanup").cloned();
        assert!(cleanup.is_some_and(|c| c["status"] != "pass"), "{label}: {}", r.describe());
    }
}

/// A discovery file downloaded over https (its web server verified by the system trust store,
/// here SSL_CERT_FILE) that names local paths (`tokenFile`, `client-key`, `certificate-authority`):
/// refused before anything is read or sent. Otherwise a remote document could make joinkit read a
/// local secret and present it as its credential to a server the document names.
#[test]
fn downloaded_discovery_file_may_not_name_local_paths() {
    let ca = TestCa::new("kubernetes");
    let dir = tempfile::tempdir().unwrap();
    let api = Server::tls(&ca, hostile::empty_ok());
    let local_secret = write(dir.path(), "local-token", "LOCAL-SECRET-FROM-DISK\n");
    let ca_file = write(dir.path(), "ca.crt", &ca.pem);
    // An exec plugin named by a downloaded document would be a remote command: never run.
    let marker = dir.path().join("plugin-ran");
    let users = [
        format!("    tokenFile: {}", local_secret.display()),
        format!("    client-certificate: {}\n    client-key: {}", ca_file.display(), local_secret.display()),
        format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [-c, 'touch {}']\n      interactiveMode: Never",
            marker.display()
        ),
    ];
    for user in users {
        let doc = client_kubeconfig(&api.https_url(), &ca_data_line(&ca), &user);
        let web = Server::tls(&ca, std::sync::Arc::new(move |_: &hostile::Request| (200, doc.clone())));
        let url = format!("{}/discovery.conf", web.https_url());
        let r = run(
            &["verify-discovery", "--discovery-file", &url, "-o", "json"],
            &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
        );
        assert_eq!(web.log().requests.len(), 1, "the download itself: {}", r.describe());
        assert_eq!(r.failure_code(), "bad-input-file", "{}", r.describe());
        assert!(r.stdout.contains("never opens a path"), "{}", r.describe());
        assert_eq!(api.log().connections, 0, "nothing may reach the API server: {}", r.describe());
        assert!(!marker.exists(), "a downloaded discovery file's exec plugin ran: {}", r.describe());
    }
    // The same document with a CA *path* instead of data is refused too.
    let doc =
        client_kubeconfig(&api.https_url(), &format!("certificate-authority: {}", ca_file.display()), "    token: x");
    let web = Server::tls(&ca, std::sync::Arc::new(move |_: &hostile::Request| (200, doc.clone())));
    let url = format!("{}/discovery.conf", web.https_url());
    let r = run(
        &["verify-discovery", "--discovery-file", &url, "-o", "json"],
        &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
    );
    assert_eq!(r.failure_code(), "bad-input-file", "{}", r.describe());
    assert_eq!(api.log().connections, 0);
}

// ---------------------------------------------------------------------------------------------
// b. Admin commands: credentials only to a server the kubeconfig's CA verifies; a CA that is
//    not a certificate makes the kubeconfig unusable (no fallback to the system roots).

#[test]
fn admin_commands_send_no_credentials_to_a_server_of_another_ca() {
    let hostile_ca = TestCa::new("hostile-ca");
    let trusted_ca = TestCa::new("kubernetes");
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let commands: Vec<Vec<String>> = vec![
        vec!["token".into(), "list".into()],
        vec!["token".into(), "create".into(), "--no-wait".into()],
        vec![
            "diagnose".into(),
            "127.0.0.1:1".into(),
            "--discovery-token-ca-cert-hash".into(),
            trusted_ca.pin(),
            "--node-name".into(),
            "worker-1".into(),
            "--root".into(),
            root.to_str().unwrap().into(),
            "--diagnose-timeout".into(),
            "10s".into(),
        ],
    ];
    let mut leaks = Vec::new();
    for (label, user) in credential_kinds(dir.path(), &trusted_ca) {
        for cmd in &commands {
            let server = Server::tls(&hostile_ca, hostile::empty_ok());
            let kc = write(
                dir.path(),
                "admin.conf",
                &client_kubeconfig(&server.https_url(), &ca_data_line(&trusted_ca), &user),
            );
            let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
            args.extend(["--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
            let r = run(&args, &[("JOINKIT_TOKEN", TOKEN)]);
            let log = server.log();
            eprintln!(
                "{} with {label}: exit {:?} ({}), connections {}, requests {}, Authorization {:?}, client certs {}",
                cmd[..2].join(" "),
                r.code,
                r.failure_code(),
                log.connections,
                log.requests.len(),
                log.authorization(),
                log.client_certs
            );
            if !log.authorization().is_empty() || log.client_certs > 0 || !log.requests.is_empty() {
                leaks.push(format!("{} with {label}: {:?}", cmd[..2].join(" "), log.authorization()));
            }
            assert_ne!(
                r.code,
                Some(0),
                "{} with {label} succeeded against an untrusted server\n{}",
                cmd[..2].join(" "),
                r.describe()
            );
        }
    }
    assert!(leaks.is_empty(), "LEAK: admin commands talked with credentials to a server of another CA: {leaks:?}");
}

#[test]
fn admin_kubeconfig_whose_ca_is_not_a_certificate_is_unusable_and_sends_nothing() {
    let hostile_ca = TestCa::new("hostile-ca");
    let dir = tempfile::tempdir().unwrap();
    let key_only = hostile_ca.client("x").key_pem;
    let cas = [
        ("garbage base64 payload", format!("certificate-authority-data: {}", b64(b"this is not a certificate\n"))),
        ("key-only PEM", format!("certificate-authority-data: {}", b64(key_only.as_bytes()))),
        ("not base64", "certificate-authority-data: '%%% not base64 %%%'".to_string()),
    ];
    let mut wrong = Vec::new();
    for (label, ca_line) in &cas {
        for cmd in [&["token", "list"][..], &["token", "create", "--no-wait"][..]] {
            let server = Server::tls(&hostile_ca, hostile::empty_ok());
            let kc = write(
                dir.path(),
                "admin.conf",
                &client_kubeconfig(&server.https_url(), ca_line, &format!("    token: {TOKEN}")),
            );
            let mut args = cmd.to_vec();
            args.extend(["--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
            let r = run(&args, &[]);
            let log = server.log();
            eprintln!(
                "{} with CA {label}: exit {:?} ({}), connections {}, requests {}, Authorization {:?}",
                cmd.join(" "),
                r.code,
                r.failure_code(),
                log.connections,
                log.requests.len(),
                log.authorization()
            );
            assert_no_credentials(&server, &format!("{} with CA {label}", cmd.join(" ")), &r);
            if r.code != Some(60) || !log.requests.is_empty() || log.connections != 0 {
                wrong.push(format!(
                    "{} with CA {label}: exit {:?} ({}), {} connection(s), {} request(s)",
                    cmd.join(" "),
                    r.code,
                    r.failure_code(),
                    log.connections,
                    log.requests.len()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "expected kubeconfig-unusable (exit 60) and no connection for a CA that is not a certificate (no fallback to the system roots): {wrong:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// c. Token discovery against an impostor that knows the token but not the pinned CA's key: the
//    bootstrap token goes nowhere.

#[test]
fn bootstrap_and_diagnose_send_no_token_to_an_unpinned_server() {
    let hostile_ca = TestCa::new("hostile-ca");
    let genuine_ca = TestCa::new("kubernetes");
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let pin = genuine_ca.pin();
    let mut leaks = Vec::new();
    let runs: Vec<(&str, Vec<String>)> = vec![
        (
            "bootstrap",
            vec!["bootstrap".into(), "--node-name".into(), "worker-1".into(), "--timeout".into(), "10s".into()],
        ),
        (
            "diagnose",
            vec![
                "diagnose".into(),
                "--node-name".into(),
                "worker-1".into(),
                "--root".into(),
                root.to_str().unwrap().into(),
                "--diagnose-timeout".into(),
                "10s".into(),
            ],
        ),
        (
            "diagnose --control-plane",
            vec![
                "diagnose".into(),
                "--node-name".into(),
                "worker-1".into(),
                "--root".into(),
                root.to_str().unwrap().into(),
                "--diagnose-timeout".into(),
                "10s".into(),
                "--control-plane".into(),
                "--certificate-key".into(),
                "ab".repeat(32),
            ],
        ),
    ];
    for (label, cmd) in &runs {
        // The impostor knows the token: it serves a validly signed cluster-info naming itself,
        // with its own CA.
        let server = Server::tls_with(&hostile_ca, |addr| {
            serve_cluster_info(signed_cluster_info(&ci_kubeconfig(&format!("https://{addr}"), &hostile_ca.pem)))
        });
        let ep = server.endpoint();
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.splice(1..1, [ep.as_str(), "--discovery-token-ca-cert-hash", pin.as_str()]);
        args.extend(["-o", "json"]);
        let r = run(&args, &[("JOINKIT_TOKEN", TOKEN)]);
        let log = server.log();
        eprintln!(
            "{label}: exit {:?} ({}), requests {:?}, Authorization {:?}",
            r.code,
            r.failure_code(),
            log.requests.iter().map(|q| format!("{} {}", q.method, q.path)).collect::<Vec<_>>(),
            log.authorization()
        );
        if !log.authorization().is_empty() || log.client_certs > 0 {
            leaks.push(format!("{label}: {:?}", log.authorization()));
        }
        assert_ne!(r.code, Some(0), "{label} succeeded against an impostor\n{}", r.describe());
        if *label == "bootstrap" {
            assert_eq!(r.failure_code(), "pin-mismatch", "{}", r.describe());
        }
    }
    assert!(leaks.is_empty(), "LEAK: the bootstrap token reached a server whose CA is not pinned: {leaks:?}");
}

// ---------------------------------------------------------------------------------------------
// d. cluster-info may not downgrade the API server to plain HTTP.

/// A TLS server whose certificate the cluster-info CA issued, serving a correctly signed
/// cluster-info whose server is `http://` + the plain listener.
fn http_downgrade() -> (TestCa, Server, Server) {
    let ca = TestCa::new("kubernetes");
    let plain = Server::plain(hostile::empty_ok());
    let kc = ci_kubeconfig(&format!("http://{}", plain.endpoint()), &ca.pem);
    let tls = Server::tls(&ca, serve_cluster_info(signed_cluster_info(&kc)));
    (ca, tls, plain)
}

#[test]
fn verify_discovery_rejects_a_cluster_info_with_an_http_server() {
    let (ca, tls, plain) = http_downgrade();
    let r = run(
        &["verify-discovery", &tls.endpoint(), "--discovery-token-ca-cert-hash", &ca.pin(), "-o", "json"],
        &[("JOINKIT_TOKEN", TOKEN)],
    );
    eprintln!("verify-discovery with an http:// server in cluster-info: exit {:?} ({})", r.code, r.failure_code());
    assert!(plain.log().requests.is_empty(), "verify-discovery talked to the http server: {:?}", plain.log());
    assert_eq!(
        (r.code, r.failure_code().as_str()),
        (Some(24), "kubeconfig-invalid"),
        "an http:// server in cluster-info must be kubeconfig-invalid\n{}",
        r.describe()
    );
}

#[test]
fn bootstrap_never_talks_to_an_http_server_named_by_cluster_info() {
    let (ca, tls, plain) = http_downgrade();
    let r = run(
        &[
            "bootstrap",
            &tls.endpoint(),
            "--discovery-token-ca-cert-hash",
            &ca.pin(),
            "--node-name",
            "worker-1",
            "--timeout",
            "10s",
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", TOKEN)],
    );
    let log = plain.log();
    eprintln!(
        "bootstrap with an http:// server in cluster-info: exit {:?} ({}), plain-HTTP connections {}, requests {:?}, Authorization {:?}",
        r.code,
        r.failure_code(),
        log.connections,
        log.requests.iter().map(|q| format!("{} {}", q.method, q.path)).collect::<Vec<_>>(),
        log.authorization()
    );
    assert!(
        log.requests.is_empty() && log.connections == 0,
        "LEAK: bootstrap sent {} request(s) over plain HTTP (Authorization {:?})\n{}",
        log.requests.len(),
        log.authorization(),
        r.describe()
    );
    assert_ne!(r.code, Some(0), "{}", r.describe());
}

// ---------------------------------------------------------------------------------------------
// e. The JWS is checked before the kubeconfig it signs is parsed or any path in it opened.

fn unsigned_ci_with_ca_path(path: &str) -> String {
    let kc = ci_kubeconfig_ca_path("https://127.0.0.1:6443", path);
    // Signed with a secret the attacker guessed wrong.
    cluster_info(&kc, &libapi::sign_detached(&kc, TOKEN_ID, "ffffffffffffffff"))
}

/// Runs `verify-discovery --cluster-info-file` and reports whether a writer could open `fifo`
/// while it ran (i.e. whether joinkit opened it for reading).
fn run_watching_fifo(ci_file: &Path, fifo: Option<&Path>, pin: &str) -> (Bounded, bool) {
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = fifo.map(|f| {
        let (f, opened, done) = (f.to_path_buf(), opened.clone(), done.clone());
        std::thread::spawn(move || {
            use std::os::unix::fs::OpenOptionsExt;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                // Opening a FIFO for writing without blocking succeeds only if a reader has it open.
                if let Ok(w) = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&f) {
                    opened.store(true, std::sync::atomic::Ordering::SeqCst);
                    drop(w); // EOF for the reader, so it does not hang.
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    });
    let r = run_bounded(
        &[
            "verify-discovery",
            "--cluster-info-file",
            ci_file.to_str().unwrap(),
            "--discovery-token-ca-cert-hash",
            pin,
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", TOKEN)],
        None,
        Limits::default(),
    );
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(w) = watcher {
        w.join().unwrap();
    }
    (r, opened.load(std::sync::atomic::Ordering::SeqCst))
}

#[test]
fn unverified_cluster_info_is_rejected_before_its_ca_path_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ca.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let pin = TestCa::new("kubernetes").pin();
    let mut wrong = Vec::new();
    for (label, path, watch) in [
        ("/dev/zero", "/dev/zero".to_string(), None),
        ("a FIFO", fifo.to_str().unwrap().to_string(), Some(fifo.as_path())),
    ] {
        let f = write(dir.path(), "ci.json", &unsigned_ci_with_ca_path(&path));
        let (r, opened) = run_watching_fifo(&f, watch, &pin);
        eprintln!(
            "cluster-info-file with certificate-authority {label} and a bad JWS: exit {:?} ({}) in {:?}, opened: {opened}",
            r.code,
            r.failure_code(),
            r.elapsed
        );
        if r.timed_out || r.code != Some(32) || opened || r.elapsed > Duration::from_secs(5) {
            wrong.push(format!(
                "{label}: exit {:?} ({}) in {:?}{}{}",
                r.code,
                r.failure_code(),
                r.elapsed,
                if r.timed_out { ", KILLED (hung)" } else { "" },
                if opened { ", the path was OPENED" } else { "" }
            ));
        }
    }
    // Over the network too: an attacker's server answering with the same cluster-info.
    let hostile_ca = TestCa::new("hostile-ca");
    let server = Server::tls(&hostile_ca, serve_cluster_info(unsigned_ci_with_ca_path("/dev/zero")));
    let r = run_bounded(
        &["verify-discovery", &server.endpoint(), "--discovery-token-ca-cert-hash", &pin, "-o", "json"],
        &[("JOINKIT_TOKEN", TOKEN)],
        None,
        Limits::default(),
    );
    eprintln!(
        "endpoint serving certificate-authority /dev/zero and a bad JWS: exit {:?} ({}) in {:?}{}",
        r.code,
        r.failure_code(),
        r.elapsed,
        if r.timed_out { " KILLED" } else { "" }
    );
    if r.code != Some(32) || r.elapsed > Duration::from_secs(5) {
        wrong.push(format!(
            "endpoint, /dev/zero: exit {:?} ({}) in {:?}{}",
            r.code,
            r.failure_code(),
            r.elapsed,
            if r.timed_out { ", KILLED (hung)" } else { "" }
        ));
    }
    assert!(
        wrong.is_empty(),
        "expected jws-invalid (exit 32), quickly, without opening the path the unauthenticated kubeconfig names: {wrong:#?}"
    );
}

#[test]
fn tampered_kubeconfig_is_jws_invalid_not_kubeconfig_invalid() {
    let ca = TestCa::new("kubernetes");
    let dir = tempfile::tempdir().unwrap();
    let original = ci_kubeconfig("https://127.0.0.1:6443", &ca.pem);
    let sig = libapi::sign_detached(&original, TOKEN_ID, TOKEN_SECRET);
    assert!(libapi::jws_verify(&original, &sig, TOKEN_ID, TOKEN_SECRET));
    let mut wrong = Vec::new();
    for (label, tampered) in [
        ("unparseable YAML", "{{{ this: is: not [ yaml".to_string()),
        ("no CA", original.replace("certificate-authority-data", "x-certificate-authority-data")),
        ("no server", original.replace("server: https://127.0.0.1:6443", "server: \"\"")),
        ("truncated", original[..original.len() / 2].to_string()),
    ] {
        let f = write(dir.path(), "ci.json", &cluster_info(&tampered, &sig));
        let r = run(
            &[
                "verify-discovery",
                "--cluster-info-file",
                f.to_str().unwrap(),
                "--discovery-token-ca-cert-hash",
                &ca.pin(),
                "-o",
                "json",
            ],
            &[("JOINKIT_TOKEN", TOKEN)],
        );
        eprintln!(
            "tampered kubeconfig ({label}) with the original's signature: exit {:?} ({})",
            r.code,
            r.failure_code()
        );
        if r.code != Some(32) {
            wrong.push(format!("{label}: exit {:?} ({})", r.code, r.failure_code()));
        }
    }
    // The untampered one passes (the fixture is right).
    let f = write(dir.path(), "ci.json", &cluster_info(&original, &sig));
    let r = run(
        &[
            "verify-discovery",
            "--cluster-info-file",
            f.to_str().unwrap(),
            "--discovery-token-ca-cert-hash",
            &ca.pin(),
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", TOKEN)],
    );
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(wrong.is_empty(), "a kubeconfig changed after signing must be jws-invalid (exit 32): {wrong:#?}");
}
