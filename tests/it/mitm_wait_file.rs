//! Man in the middle, `--wait` retries, and file discovery.

use crate::common;
use common::{assert_failure, lab, run_with, verify};
use joinkit_lab::{Lab, LabOptions, Scenario};
use std::time::{Duration, Instant};

#[test]
fn impostor_with_the_token_but_its_own_ca() {
    let genuine = lab(Scenario::Healthy);
    // The impostor knows the token (so its JWS is valid) but has its own CA.
    let impostor = Lab::start(LabOptions { token: Some(genuine.token()), ..Default::default() }).unwrap();
    assert_ne!(impostor.info.ca_pin, genuine.info.ca_pin);
    let r = run_with(
        &[
            "verify-discovery",
            impostor.endpoint(),
            "--discovery-token-ca-cert-hash",
            &genuine.info.ca_pin,
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", &genuine.info.token)],
        None,
    );
    let v = assert_failure(&r, "pin-mismatch", "ca-pin", 40);
    // JWS passed: it really is the pin that caught it.
    assert!(v["stages"].as_array().unwrap().iter().any(|s| s["name"] == "jws-verify" && s["status"] == "pass"));
    assert!(v["failure"]["message"].as_str().unwrap().contains(&impostor.info.ca_pin));
    // With the unsafe flag the impostor passes, with a loud warning.
    let r = run_with(
        &["verify-discovery", impostor.endpoint(), "--discovery-token-unsafe-skip-ca-verification"],
        &[("JOINKIT_TOKEN", &genuine.info.token)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("UNSAFE"), "warning on stderr: {}", r.stderr);
    assert!(r.stdout.contains("[warn] ca-pin"), "{}", r.stdout);
    let r = run_with(
        &["verify-discovery", impostor.endpoint(), "--discovery-token-unsafe-skip-ca-verification", "-o", "json"],
        &[("JOINKIT_TOKEN", &genuine.info.token)],
        None,
    );
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["trust"], "unsafe-skip");
    assert!(v["warnings"][0].as_str().unwrap().contains("UNSAFE"));
}

#[test]
fn pinned_cluster_info_served_with_another_cas_certificate() {
    let l = lab(Scenario::Mitm);
    let v = assert_failure(&verify(&l, &[]), "tls-verify-failed", "tls-verify", 41);
    // Discovery itself looked fine: JWS and pin passed on the intercepted connection.
    for stage in ["jws-verify", "ca-pin"] {
        assert!(v["stages"].as_array().unwrap().iter().any(|s| s["name"] == stage && s["status"] == "pass"), "{stage}");
    }
}

#[test]
fn wait_retries_jws_none_signed_until_the_signer_runs() {
    let l = lab(Scenario::SignerStopped);
    let state = l.state.clone();
    let flip = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        state.lock().unwrap().faults.signer_running = true;
    });
    let t = Instant::now();
    let r = verify(&l, &["--wait", "20s"]);
    flip.join().unwrap();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.json()["attempts"].as_u64().unwrap() >= 2);
    assert!(r.stderr.contains("attempt 1 failed: jws-none-signed"), "each attempt is printed: {}", r.stderr);
    assert!(t.elapsed() < Duration::from_secs(10));
    // Without --wait it fails at once; with --wait, a non-retryable failure is not retried.
    let l = lab(Scenario::SignerStopped);
    assert_eq!(verify(&l, &[]).code, 33);
    let l = lab(Scenario::TamperedSignature);
    let t = Instant::now();
    let r = verify(&l, &["--wait", "30s"]);
    assert_eq!(r.code, 32);
    assert!(t.elapsed() < Duration::from_secs(3), "jws-invalid is not retried");
    // --wait is bounded.
    let l = lab(Scenario::SignerStopped);
    let t = Instant::now();
    let r = verify(&l, &["--wait", "1500ms"]);
    assert_eq!(r.code, 33);
    assert!(t.elapsed() < Duration::from_secs(5));
}

fn discovery_kubeconfig(l: &Lab, user: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.crt"), &l.info.ca_cert_pem).unwrap();
    let kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://{}\n    certificate-authority: ca.crt\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user: {user}\n",
        l.endpoint()
    );
    std::fs::write(dir.path().join("discovery.conf"), kc).unwrap();
    dir
}

#[test]
fn file_discovery() {
    let l = lab(Scenario::Healthy);
    // With a bootstrap token in the file: cluster-info is readable; passes.
    let d = discovery_kubeconfig(&l, &format!("{{token: {}}}", l.info.token));
    let f = d.path().join("discovery.conf");
    let r = run_with(&["verify-discovery", "--discovery-file", f.to_str().unwrap(), "-o", "json"], &[], None);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["apiServer"], format!("https://{}", l.endpoint()));
    // With an exec plugin in a local file (kubeadm counts exec as credentials): the one
    // credential loader runs it (the command resolved against the file's directory) and its token
    // is what the TLS bootstrap would use.
    let d = discovery_kubeconfig(
        &l,
        "\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin.sh\n      interactiveMode: Never",
    );
    let cred = format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{}"}}}}"#,
        l.info.token
    );
    let plugin = d.path().join("plugin.sh");
    std::fs::write(&plugin, format!("#!/bin/sh\ntouch \"$(dirname \"$0\")/ran\"\necho '{cred}'\n")).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&plugin).status().unwrap();
    let f = d.path().join("discovery.conf");
    let r = run_with(&["verify-discovery", "--discovery-file", f.to_str().unwrap(), "-o", "json"], &[], None);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(d.path().join("ran").exists(), "the plugin ran");
    let stages = r.json()["stages"].as_array().unwrap().clone();
    let df = stages.iter().find(|s| s["name"] == "discovery-file").unwrap();
    assert!(df["detail"].as_str().unwrap().contains("credentials: yes"), "{df}");
    // Without credentials: kubeadm's message about TLS bootstrap credentials...
    let d = discovery_kubeconfig(&l, "{}");
    let f = d.path().join("discovery.conf");
    let r = run_with(&["verify-discovery", "--discovery-file", f.to_str().unwrap(), "-o", "json"], &[], None);
    let v = assert_failure(&r, "no-bootstrap-credentials", "tls-bootstrap-credentials", 25);
    assert!(v["failure"]["kubeadmMessage"]
        .as_str()
        .unwrap()
        .starts_with("could not find authentication credentials for the TLS bootstrap process."));
    // ...unless a TLS bootstrap token is given.
    let r = run_with(
        &["verify-discovery", "--discovery-file", f.to_str().unwrap(), "-o", "json"],
        &[("JOINKIT_TLS_BOOTSTRAP_TOKEN", &l.info.token)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    // The file's CA must verify the server.
    let other = lab(Scenario::Healthy);
    let d = discovery_kubeconfig(&other, "{}");
    let kc = std::fs::read_to_string(d.path().join("discovery.conf")).unwrap().replace(other.endpoint(), l.endpoint());
    std::fs::write(d.path().join("discovery.conf"), kc).unwrap();
    let r = run_with(
        &["verify-discovery", "--discovery-file", d.path().join("discovery.conf").to_str().unwrap(), "-o", "json"],
        &[],
        None,
    );
    assert_failure(&r, "tls-verify-failed", "tls-verify", 41);
    // URLs must be https.
    let r = run_with(
        &["verify-discovery", "--discovery-file", "http://example.invalid/discovery.conf", "-o", "json"],
        &[],
        None,
    );
    let v = assert_failure(&r, "usage", "discovery-file", 2);
    assert_eq!(v["failure"]["kubeadmMessage"], "if a URL is used, the scheme must be https");
    let r = run_with(&["verify-discovery", "--discovery-file", "/nonexistent/discovery.conf", "-o", "json"], &[], None);
    let v = assert_failure(&r, "input-unreadable", "discovery-file", 3);
    assert_eq!(v["failure"]["kubeadmMessage"], "not a valid HTTPS URL or a file on disk");
}
