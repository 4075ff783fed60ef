//! Control-plane intent (docs/control-plane-intent.md, joinkit_core::config::intent): nothing
//! becomes a control-plane join without `--control-plane` (or a config that says so). A
//! control-plane-only flag given for a worker is `usage` (exit 2) naming the flag; the same
//! value from its environment variable is ignored with one line on stderr. The same rule in
//! render-config, token create --print-join-command and diagnose; token create takes
//! `--certificate-key` on the command line as the intent, as kubeadm does.

use crate::common;
use crate::diagnose::{diagnose_as, fake_root};
use common::{lab, run_with};
use joinkit_lab::Scenario;
use serde_json::Value;

const TOKEN: &str = "abcdef.0123456789abcdef";
const PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";

fn key() -> String {
    "0f".repeat(32)
}

/// The lines of stderr that mention `what`.
fn lines_with<'a>(stderr: &'a str, what: &str) -> Vec<&'a str> {
    stderr.lines().filter(|l| l.contains(what)).collect()
}

/// A usage failure at `input` naming `flag`, exit 2, in a JSON report or on stderr.
fn assert_usage_naming(r: &common::Run, flag: &str) {
    assert_eq!(r.code, 2, "stdout {}\nstderr {}", r.stdout, r.stderr);
    let text = format!("{}{}", r.stdout, r.stderr);
    assert!(text.contains("usage") && text.contains(flag), "{text}");
    assert!(text.contains("--control-plane"), "the fix names --control-plane: {text}");
    assert!(!text.contains(&key()), "the key stays out of errors: {text}");
}

#[test]
fn render_config_control_plane_flags_for_a_worker_are_usage_errors() {
    let k = key();
    for (flag, value) in [
        ("--certificate-key", k.as_str()),
        ("--apiserver-advertise-address", "10.0.0.2"),
        ("--apiserver-bind-port", "6443"),
    ] {
        let r = run_with(
            &["render-config", "10.0.0.1:6443", "--discovery-token-ca-cert-hash", PIN, flag, value],
            &[("JOINKIT_TOKEN", TOKEN)],
            None,
        );
        assert_usage_naming(&r, flag);
        assert!(r.stdout.is_empty(), "nothing is rendered: {}", r.stdout);
        // With --control-plane the same flag makes a control-plane join.
        let r = run_with(
            &["render-config", "10.0.0.1:6443", "--discovery-token-ca-cert-hash", PIN, flag, value, "--control-plane"],
            &[("JOINKIT_TOKEN", TOKEN)],
            None,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.contains("controlPlane:"), "{}", r.stdout);
    }
}

#[test]
fn render_config_control_plane_environment_for_a_worker_is_ignored_with_one_line() {
    let k = key();
    for format in ["yaml", "cloud-init"] {
        let r = run_with(
            &["render-config", "10.0.0.1:6443", "--discovery-token-ca-cert-hash", PIN, "--format", format],
            &[
                ("JOINKIT_TOKEN", TOKEN),
                ("JOINKIT_CERTIFICATE_KEY", &k),
                ("JOINKIT_APISERVER_ADVERTISE_ADDRESS", "10.0.0.2"),
                ("JOINKIT_APISERVER_BIND_PORT", "6443"),
            ],
            None,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stdout.contains("controlPlane") && !r.stdout.contains(&k), "{}", r.stdout);
        assert!(!r.stdout.contains("--control-plane"), "{}", r.stdout);
        let notes = lines_with(&r.stderr, "ignoring");
        assert_eq!(notes.len(), 1, "{}", r.stderr);
        for env in ["JOINKIT_CERTIFICATE_KEY", "JOINKIT_APISERVER_ADVERTISE_ADDRESS", "JOINKIT_APISERVER_BIND_PORT"] {
            assert!(notes[0].contains(env), "{}", notes[0]);
        }
    }
    // With --control-plane (or JOINKIT_CONTROL_PLANE) the environment counts.
    for (args, env) in [
        (vec!["--control-plane"], vec![("JOINKIT_CERTIFICATE_KEY", k.as_str())]),
        (vec![], vec![("JOINKIT_CERTIFICATE_KEY", k.as_str()), ("JOINKIT_CONTROL_PLANE", "true")]),
    ] {
        let mut a = vec!["render-config", "10.0.0.1:6443", "--discovery-token-ca-cert-hash", PIN];
        a.extend(args);
        let mut e = vec![("JOINKIT_TOKEN", TOKEN)];
        e.extend(env);
        let r = run_with(&a, &e, None);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.contains("controlPlane:") && r.stdout.contains(&k), "{}", r.stdout);
        assert!(lines_with(&r.stderr, "ignoring").is_empty(), "{}", r.stderr);
    }
}

fn admin_token_create(l: &joinkit_lab::Lab, dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let kc = dir.join("admin.conf");
    std::fs::write(&kc, &l.info.admin_kubeconfig).unwrap();
    let mut a = vec!["token", "create", "--print-join-command", "--kubeconfig", kc.to_str().unwrap()];
    a.extend_from_slice(args);
    run_with(&a, env, None)
}

#[test]
fn token_create_environment_key_needs_control_plane_and_the_flag_is_kubeadms_intent() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let k = key();
    // JOINKIT_CERTIFICATE_KEY alone: a worker join command, one line saying the key is ignored.
    for output in ["text", "json"] {
        let r = admin_token_create(&l, dir.path(), &["-o", output], &[("JOINKIT_CERTIFICATE_KEY", &k)]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stdout.contains("--control-plane") && !r.stdout.contains(&k), "{}", r.stdout);
        let notes = lines_with(&r.stderr, "ignoring");
        assert_eq!(notes.len(), 1, "{}", r.stderr);
        assert!(notes[0].contains("JOINKIT_CERTIFICATE_KEY"), "{}", notes[0]);
    }
    let r = admin_token_create(&l, dir.path(), &["--format", "join-config"], &[("JOINKIT_CERTIFICATE_KEY", &k)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("controlPlane"), "{}", r.stdout);
    // With --control-plane the environment's key is used.
    let r = admin_token_create(&l, dir.path(), &["--control-plane"], &[("JOINKIT_CERTIFICATE_KEY", &k)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.trim().ends_with(&format!("--control-plane --certificate-key {k}")), "{}", r.stdout);
    assert!(lines_with(&r.stderr, "ignoring").is_empty(), "{}", r.stderr);
    // --control-plane without any key: usage.
    let r = admin_token_create(&l, dir.path(), &["--control-plane", "-o", "json"], &[]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.json()["failure"]["code"], "usage");
    assert!(r.json()["failure"]["message"].as_str().unwrap().contains("--control-plane"), "{}", r.stdout);
    // --certificate-key on the command line is the intent, as `kubeadm token create
    // --print-join-command --certificate-key K` (cmd/kubeadm/app/cmd/token.go).
    let r = admin_token_create(&l, dir.path(), &["--certificate-key", &k], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.trim().ends_with(&format!("--control-plane --certificate-key {k}")), "{}", r.stdout);
}

fn stage_names(v: &Value) -> Vec<String> {
    v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn diagnose_certificate_key_flag_for_a_worker_is_usage_and_the_environment_is_ignored() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let k = l.info.certificate_key.clone();
    // The flag without --control-plane: usage, naming it, nothing run.
    let before = l.counters().requests;
    let r = diagnose_as(&l, &root, &["--certificate-key", &k], "json");
    assert_eq!(r.code, 2, "{}", r.stdout);
    let v = r.json();
    assert_eq!((v["failure"]["code"].as_str(), v["failure"]["exitCode"].as_i64()), (Some("usage"), Some(2)));
    assert!(v["failure"]["message"].as_str().unwrap().starts_with("--certificate-key "), "{}", r.stdout);
    assert!(!r.stdout.contains(&k) && !r.stderr.contains(&k));
    assert_eq!(l.counters().requests, before, "nothing was sent");
    // The environment variable without --control-plane: ignored, one line, no control-plane check.
    let dir2 = tempfile::tempdir().unwrap();
    let root2 = fake_root(dir2.path());
    let r = with_env(&l, &root2, &[], &k);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let notes = lines_with(&r.stderr, "ignoring");
    assert_eq!(notes.len(), 1, "{}", r.stderr);
    assert!(notes[0].contains("JOINKIT_CERTIFICATE_KEY"), "{}", notes[0]);
    let names = stage_names(&r.json());
    assert!(!names.iter().any(|n| n.starts_with("control-plane")), "{names:?}");
    // With --control-plane the environment's key is used: the kubeadm-certs check runs.
    let r = with_env(&l, &root2, &["--control-plane"], &k);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(lines_with(&r.stderr, "ignoring").is_empty(), "{}", r.stderr);
    assert!(stage_names(&r.json()).iter().any(|n| n == "control-plane/kubeadm-certs"));
}

/// diagnose against the lab with JOINKIT_CERTIFICATE_KEY set to `key`.
fn with_env(l: &joinkit_lab::Lab, root: &std::path::Path, extra: &[&str], key: &str) -> common::Run {
    let admin = root.parent().unwrap().join("admin.conf");
    std::fs::write(&admin, &l.info.admin_kubeconfig).unwrap();
    let mut args = vec![
        "diagnose",
        l.endpoint(),
        "--discovery-token-ca-cert-hash",
        &l.info.ca_pin,
        "--node-name",
        "worker-1",
        "--root",
        root.to_str().unwrap(),
        "--timeout",
        "1s",
        "--kubeconfig",
        admin.to_str().unwrap(),
        "--kubelet-healthz",
        "off",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    run_with(&args, &[("JOINKIT_TOKEN", &l.info.token), ("JOINKIT_CERTIFICATE_KEY", key)], None)
}
