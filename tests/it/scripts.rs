//! The shipped scripts (`examples/verify-before-join.sh`, `examples/join-with-retry.sh`) run
//! against the real control planes (v1.24 and v1.36, `../shared/k8s`): they follow the retry
//! contract. A deleted token, a wrong token secret and a wrong CA pin end in under 2 s with
//! joinkit's own exit code (30, 32, 40). The token never reaches argv: kubeadm, a stub here
//! that records its arguments, gets a 0600 JoinConfiguration. The retry loop's diagnose is
//! read-only (`--no-csr`): the cluster's CSRs are the same after a failed attempt and its
//! retry, while a plain diagnose leaves one. A root cause that needs a person (no container
//! runtime: 90, not retryable) stops the loop at once with that code.

use crate::common;
use crate::diagnose::{fake_root, fake_root_without_runtime};
use crate::k8s::{shared, CaAlgo, Cluster, Version};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A stub `kubeadm`: appends its arguments (one line per call) to `calls`; `join` exits with
/// the next line of `join-rc` (0 when none is left), everything else with 0.
fn stub_kubeadm(dir: &Path) -> PathBuf {
    let p = dir.join("kubeadm");
    std::fs::write(
        &p,
        format!(
            "#!/bin/bash\necho \"$*\" >> {d}/calls\nif [ \"$1\" = join ]; then\n  rc=$(head -n1 {d}/join-rc 2>/dev/null); sed -i 1d {d}/join-rc 2>/dev/null\n  echo \"[preflight] Running pre-flight checks\"\n  exit \"${{rc:-0}}\"\nfi\nexit 0\n",
            d = dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

struct Script {
    code: i32,
    elapsed: Duration,
    stderr: String,
    calls: Vec<String>,
}

/// Runs `examples/NAME` with joinkit first on PATH, the stub kubeadm, and `env`.
fn script(name: &str, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Script {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(common::bin()).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let kubeadm = stub_kubeadm(dir);
    let _ = std::fs::remove_file(dir.join("calls"));
    let mut c = std::process::Command::new("bash");
    c.arg(root.join("examples").join(name)).args(args).current_dir(dir);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("JOINKIT_")) {
        c.env_remove(k);
    }
    c.env("PATH", path)
        .env("KUBEADM", &kubeadm)
        .env("JOINKIT_JOIN_CONFIG", dir.join("etc/join.yaml"))
        .env("JOIN_LOG", dir.join("join.log"))
        .env("JOIN_RETRY_DELAY", "0")
        .env("JOINKIT_NODE_NAME", "script-node")
        .env("HOME", dir);
    for (k, v) in env {
        c.env(k, v);
    }
    let t = Instant::now();
    let o = c.output().unwrap();
    let calls = std::fs::read_to_string(dir.join("calls")).unwrap_or_default().lines().map(String::from).collect();
    Script {
        code: o.status.code().unwrap_or(-1),
        elapsed: t.elapsed(),
        stderr: format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        calls,
    }
}

/// A token that existed and was signed, then deleted (its signature gone from cluster-info).
fn deleted_token(c: &Cluster) -> String {
    let t = c.new_token(&["--description", "deleted for the scripts test"]);
    c.wait_signed(&t[..6], true);
    c.delete("secret", Some("kube-system"), &format!("bootstrap-token-{}", &t[..6]));
    c.wait_signed(&t[..6], false);
    t
}

fn csr_names(c: &Cluster) -> Vec<String> {
    c.kubectl(&["get", "csr", "-o", "name"]).lines().map(String::from).collect()
}

fn scripts_follow_the_retry_contract(version: Version) {
    let Some(s) = shared(version, CaAlgo::Ecdsa) else { return };
    let c = &s.cluster;
    let _g = s.lock();
    let label = c.label();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = c.token().to_string();
    let secret = token[7..].to_string();
    let wrong_pin = format!("sha256:{}", "0".repeat(64));
    let wrong_secret = format!("{}.0000000000000000", &token[..6]);
    let deleted = deleted_token(c);
    let no_secret_in_argv = |r: &Script, what: &str| {
        assert!(
            r.calls.iter().all(|l| !l.contains(&secret)),
            "{label}: {what}: the token reached kubeadm's argv: {:?}",
            r.calls
        );
    };

    // verify-before-join.sh
    let r = script("verify-before-join.sh", &[c.endpoint(), c.pin()], d, &[("JOINKIT_TOKEN", &token)]);
    assert_eq!(r.code, 0, "{label}: {}", r.stderr);
    let cfg = d.join("etc/join.yaml");
    assert_eq!(r.calls, vec![format!("join --config {}", cfg.display())], "{label}");
    no_secret_in_argv(&r, "verify-before-join");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777, 0o600, "{label}");
    assert!(std::fs::read_to_string(&cfg).unwrap().contains(&token), "{label}: the config carries the token");
    for (what, tok, pin, code) in [
        ("deleted token", deleted.as_str(), c.pin(), 30),
        ("wrong token secret", wrong_secret.as_str(), c.pin(), 32),
        ("wrong CA pin", token.as_str(), wrong_pin.as_str(), 40),
    ] {
        let r = script("verify-before-join.sh", &[c.endpoint(), pin], d, &[("JOINKIT_TOKEN", tok)]);
        assert_eq!(r.code, code, "{label}: verify-before-join, {what}: {}", r.stderr);
        assert!(r.elapsed < Duration::from_secs(2), "{label}: verify-before-join, {what}: took {:?}", r.elapsed);
        assert!(r.calls.is_empty(), "{label}: {what}: kubeadm ran: {:?}", r.calls);
        assert!(r.stderr.contains("will not heal by itself"), "{label}: {what}: {}", r.stderr);
        eprintln!("{label}: verify-before-join.sh, {what}: exit {} in {:.2} s", r.code, r.elapsed.as_secs_f64());
    }

    // join-with-retry.sh
    let root = fake_root(d);
    let root_s = root.to_str().unwrap();
    let run = |tok: &str, pin: &str, max: &str, extra: &[(&str, &str)]| {
        let mut e: Vec<(&str, &str)> = vec![("JOINKIT_TOKEN", tok), ("JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH", pin)];
        e.extend_from_slice(extra);
        script("join-with-retry.sh", &[c.endpoint(), max], d, &e)
    };
    for (what, tok, pin, code) in [
        ("deleted token", deleted.as_str(), c.pin(), 30),
        ("wrong token secret", wrong_secret.as_str(), c.pin(), 32),
        ("wrong CA pin", token.as_str(), wrong_pin.as_str(), 40),
    ] {
        let r = run(tok, pin, "5", &[("JOINKIT_ROOT", root_s)]);
        assert_eq!(r.code, code, "{label}: join-with-retry, {what}: {}", r.stderr);
        assert!(r.elapsed < Duration::from_secs(2), "{label}: join-with-retry, {what}: took {:?}", r.elapsed);
        assert!(r.calls.is_empty() && r.stderr.contains("not retrying"), "{label}: {what}: {:?} {}", r.calls, r.stderr);
        eprintln!("{label}: join-with-retry.sh, {what}: exit {} in {:.2} s", r.code, r.elapsed.as_secs_f64());
    }
    // A failed kubeadm join, then success: explain-log, a read-only diagnose, reset, retry.
    let before = csr_names(c);
    std::fs::write(d.join("join-rc"), "1\n").unwrap();
    let r = run(&token, c.pin(), "3", &[("JOINKIT_ROOT", root_s)]);
    assert_eq!(r.code, 0, "{label}: {}", r.stderr);
    let joins = r.calls.iter().filter(|l| l.starts_with("join ")).count();
    let resets = r.calls.iter().filter(|l| l.as_str() == "reset -f").count();
    assert_eq!((joins, resets), (2, 1), "{label}: {:?}", r.calls);
    no_secret_in_argv(&r, "join-with-retry");
    assert_eq!(csr_names(c), before, "{label}: the retry's diagnose created a CSR");
    // The same diagnose without --no-csr leaves one (a token may not delete its CSR): the
    // comparison above can fail.
    let o = common::run_with(
        &["diagnose", "--config", d.join("etc/join.yaml").to_str().unwrap(), "--root", root_s, "-o", "json"],
        &[("HOME", d.to_str().unwrap())],
        None,
    );
    assert_eq!(o.code, 0, "{label}: {}", o.stdout);
    let after = csr_names(c);
    assert_eq!(after.len(), before.len() + 1, "{label}: a plain diagnose left no CSR: {after:?}");
    for n in after.iter().filter(|n| !before.contains(n)) {
        c.kubectl(&["delete", n]);
    }
    // A root cause that needs a person (no container runtime on the node): stop at once.
    let bare = d.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let bare_root = fake_root_without_runtime(&bare);
    std::fs::write(d.join("join-rc"), "1\n1\n1\n").unwrap();
    let r = run(&token, c.pin(), "3", &[("JOINKIT_ROOT", bare_root.to_str().unwrap())]);
    assert_eq!(r.code, 90, "{label}: {}", r.stderr);
    assert_eq!(
        r.calls.iter().filter(|l| l.starts_with("join ")).count(),
        1,
        "{label}: retried a permanent root cause: {:?}",
        r.calls
    );
    assert!(r.stderr.contains("not retrying: diagnose failed with exit 90"), "{label}: {}", r.stderr);
    let _ = std::fs::remove_file(d.join("join-rc"));
}

#[test]
fn scripts_follow_the_retry_contract_on_real_v1_24() {
    scripts_follow_the_retry_contract(Version::V124);
}

#[test]
fn scripts_follow_the_retry_contract_on_real_v1_36() {
    scripts_follow_the_retry_contract(Version::V136);
}
