//! Regression tests for "trust first, every input bounded": readers refuse devices, FIFOs and
//! directories at once; an admin kubeconfig whose configured CA yields no certificate is refused
//! before any connection; kubeconfig references are read bounded; secret-holding types never
//! show their secret in `Debug` or `Serialize`. Each case failed (hung, ran out of memory, or
//! leaked) before the change that added it; the numbers are in the closing note of issue 9.

use crate::common;
use common::{lab, run_with};
use joinkit_lab::Scenario;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "abcdef.0123456789abcdef";
const PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";

/// Runs joinkit with a hard bound: a hang fails the test instead of hanging CI.
fn bounded(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let mut c = Command::new(common::bin());
    c.args(args).env_remove("JOINKIT_TOKEN").env_remove("KUBECONFIG").env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(killer);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(15), "{args:?} took {elapsed:?} (hung?)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    )
}

fn fifo(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    let st = Command::new("mkfifo").arg(&p).status().unwrap();
    assert!(st.success());
    p
}

#[test]
fn devices_fifos_and_directories_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = fifo(dir.path(), "fifo");
    let fifo_s = f.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["ca-hash", "/dev/zero"],
        vec!["ca-hash", fifo_s],
        vec!["ca-hash", "/"],
        vec![
            "verify-discovery",
            "127.0.0.1:1",
            "--discovery-token-ca-cert-hash",
            PIN,
            "--token-file",
            "/dev/zero",
            "-o",
            "json",
        ],
        vec![
            "verify-discovery",
            "127.0.0.1:1",
            "--discovery-token-ca-cert-hash",
            PIN,
            "--token-file",
            fifo_s,
            "-o",
            "json",
        ],
        vec![
            "verify-discovery",
            "--cluster-info-file",
            "/dev/zero",
            "--discovery-token-ca-cert-hash",
            PIN,
            "-o",
            "json",
        ],
        vec!["verify-discovery", "--discovery-file", "/dev/zero", "-o", "json"],
        vec!["verify-discovery", "--discovery-file", fifo_s, "-o", "json"],
        vec!["render-config", "127.0.0.1:6443", "--ca-cert", "/dev/zero"],
        vec!["bootstrap", "--config", fifo_s, "-o", "json"],
        vec!["token", "list", "--kubeconfig", "/dev/zero", "-o", "json"],
        vec!["token", "list", "--kubeconfig", fifo_s, "-o", "json"],
    ];
    for args in cases {
        // The token comes from the environment unless the case reads it from a file.
        let env: &[(&str, &str)] = if args.contains(&"--token-file") || args.contains(&"--config") {
            &[]
        } else {
            &[("JOINKIT_TOKEN", TOKEN)]
        };
        let (code, out, err, _) = bounded(&args, env);
        assert!([3, 60].contains(&code), "{args:?}: exit {code}\n{out}\n{err}");
        let all = format!("{out}{err}");
        assert!(
            all.contains("character device") || all.contains("FIFO") || all.contains("directory"),
            "{args:?}: the error should say what the path is: {all}"
        );
        assert!(all.len() < 16 << 10, "{args:?}: {} bytes of output", all.len());
    }
}

/// An admin kubeconfig whose CA reference is a FIFO or /dev/zero, or whose CA data holds no
/// certificate: kubeconfig-unusable at once, no TLS connection (the lab counts them), and never
/// the system trust store.
#[test]
fn admin_kubeconfig_ca_must_yield_a_certificate() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let f = fifo(dir.path(), "ca-fifo");
    let admin: serde_json::Value = serde_saphyr::from_str(&l.info.admin_kubeconfig).unwrap();
    use base64::Engine;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let variants: Vec<(&str, serde_json::Value)> = vec![
        ("garbage data", serde_json::json!({"certificate-authority-data": b64(b"this is not a certificate")})),
        (
            "key-only PEM",
            serde_json::json!({"certificate-authority-data": b64(b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n")}),
        ),
        ("FIFO path", serde_json::json!({"certificate-authority": f.to_str().unwrap()})),
        ("/dev/zero path", serde_json::json!({"certificate-authority": "/dev/zero"})),
    ];
    for (what, ca) in variants {
        let mut kc = admin.clone();
        let cluster = kc["clusters"][0]["cluster"].as_object_mut().unwrap();
        cluster.remove("certificate-authority-data");
        for (k, v) in ca.as_object().unwrap() {
            cluster.insert(k.clone(), v.clone());
        }
        let p = dir.path().join("admin.conf");
        std::fs::write(&p, serde_json::to_string(&kc).unwrap()).unwrap();
        let before = l.counters().tcp_connections;
        let (code, out, err, _) = bounded(&["token", "list", "--kubeconfig", p.to_str().unwrap(), "-o", "json"], &[]);
        assert_eq!(code, 60, "{what}: {out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["failure"]["code"], "kubeconfig-unusable", "{what}: {out}");
        assert_eq!(l.counters().tcp_connections, before, "{what}: no connection may be made");
    }
}

/// A discovery file or an admin kubeconfig with a YAML error: the error names the position, not
/// the lines around it, so the token and key in the file never reach the output.
#[test]
fn yaml_errors_do_not_quote_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.conf");
    std::fs::write(
        &p,
        "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: SUPERSECRETVALUE\n    client-key-data: S0VZU0VDUkVU\n  bad: [unclosed\nclusters: []\n",
    )
    .unwrap();
    let ps = p.to_str().unwrap();
    for args in [
        vec!["token", "list", "--kubeconfig", ps],
        vec!["token", "list", "--kubeconfig", ps, "-o", "json"],
        vec!["verify-discovery", "--discovery-file", ps],
        vec!["verify-discovery", "--discovery-file", ps, "-o", "json"],
        vec!["verify-discovery", "--cluster-info-file", ps, "--discovery-token-ca-cert-hash", PIN],
    ] {
        let (code, out, err, _) = bounded(&args, &[("JOINKIT_TOKEN", TOKEN)]);
        assert_ne!(code, 0);
        let all = format!("{out}{err}");
        assert!(!all.contains("SUPERSECRETVALUE") && !all.contains("S0VZU0VDUkVU"), "{args:?}: {all}");
        assert!(all.contains("line"), "{args:?}: the position is still given: {all}");
    }
}

/// Every type that holds a token secret, bearer token, client key or certificate key shows
/// none of it in `Debug`, and the serialisable ones none of it in JSON.
#[test]
fn secret_holding_types_never_show_the_secret() {
    use clap::Parser;
    use joinkit_core::client::api::Identity;
    use joinkit_core::client::Credentials;
    use secrecy::{SecretSlice, SecretString};
    let token = joinkit_core::token::BootstrapToken::parse(TOKEN).unwrap();
    let csr = joinkit_core::bootstrap::node_csr("worker-1").unwrap();
    let key_pem = secrecy::ExposeSecret::expose_secret(&csr.key_pem).to_string();
    let debug = [
        format!("{token:?} {token}"),
        format!("{:?}", Credentials::Bearer(SecretString::from("bearer-SECRET-1"))),
        format!("{:?}", Identity::Bearer(SecretString::from("bearer-SECRET-1"))),
        format!("{:?}", Identity::ClientCert(b"cert".to_vec(), SecretSlice::from(b"key-SECRET-2".to_vec()))),
        format!("{:?}", csr.key_pem),
        format!("{:?}", "bearer-SECRET-1".parse::<joinkit::cli::SecretArg>().unwrap()),
    ];
    for d in &debug {
        for secret in ["0123456789abcdef", "bearer-SECRET-1", "key-SECRET-2", "PRIVATE KEY"] {
            assert!(!d.contains(secret), "{secret} shown in {d}");
        }
        assert!(!d.contains(&key_pem));
    }
    // Reports serialise failures and stages; a failing token never puts its secret there.
    let f = joinkit_core::token::BootstrapToken::parse("abcdef.0123456789abcdeX").unwrap_err();
    let json = serde_json::to_string(&f).unwrap();
    assert!(!json.contains("0123456789abcde"), "{json}");

    // The types that carry secrets parsed from files and argv: a kubeconfig's user (discovery
    // files), a JoinConfiguration (`--config`, validate-config, migrate-config) and the parsed
    // command line of `token describe|delete|create` with a whole token as positional argument.
    // None of them shows a secret in `Debug`; none of the kubeconfig types implements `Serialize`
    // (nothing writes one back), and a JoinConfiguration is serialised only through `to_value`,
    // which `render-config` prints on purpose.
    let key_b64 = "c2VjcmV0LWNsaWVudC1rZXktU0VDUkVULTM="; // "secret-client-key-SECRET-3"
    let cert_key = "fedcba9876543210".repeat(4);
    let kc_text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster: {{server: 'https://10.0.0.1:6443'}}\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: bearer-SECRET-1\n    client-certificate-data: Y2VydA==\n    client-key-data: {key_b64}\n"
    );
    let kc = joinkit_core::kubeconfig::Kubeconfig::parse(&kc_text).unwrap();
    let user = &kc.current_user().expect("the current user").user;
    assert!(user.token.is_some() && user.client_key_data.is_some(), "{kc_text}");
    let join_text = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.1:6443\n    token: {TOKEN}\n    caCertHashes: [{PIN}]\n  tlsBootstrapToken: ghijkl.ghijklmnopqrstuv\ncontrolPlane:\n  certificateKey: {cert_key}\n"
    );
    let checked = joinkit_core::config::check_text("join.yaml", &join_text);
    let join = checked.join.as_ref().expect("a JoinConfiguration").0.clone();
    // The values were read (the redaction below is not an empty config's).
    let rendered = join.to_yaml(joinkit_core::config::model::ApiVersion::V1beta4);
    for v in ["0123456789abcdef", "ghijklmnopqrstuv", cert_key.as_str()] {
        assert!(rendered.contains(v), "render-config still writes {v}: {rendered}");
    }
    let cli = |args: &[&str]| {
        let c = joinkit::cli::Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        format!("{c:?}")
    };
    let debug = [
        format!("{kc:?}"),
        format!("{user:?}"),
        format!("{join:?}"),
        cli(&["joinkit", "token", "describe", TOKEN]),
        cli(&["joinkit", "token", "delete", "abcdef", TOKEN]),
        cli(&["joinkit", "token", "create", TOKEN]),
    ];
    // Every leak at once, so a failure names all the types that show a secret.
    let leaks: Vec<String> = debug
        .iter()
        .flat_map(|d| {
            ["0123456789abcdef", "bearer-SECRET-1", key_b64, "ghijklmnopqrstuv", &cert_key]
                .into_iter()
                .filter(|secret| d.contains(secret))
                .map(move |secret| format!("{secret} shown in {d}"))
        })
        .collect();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // What is not secret is still shown, so a Debug print stays useful.
    assert!(debug[0].contains("https://10.0.0.1:6443") && debug[2].contains("10.0.0.1:6443"), "{debug:?}");
}

/// `bootstrap --write-dir` writes all files or none: with DIR/pki a file (pki/ca.crt cannot be
/// written) no kubeconfig is left behind.
#[test]
fn write_dir_is_all_or_nothing() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pki"), "not a directory\n").unwrap();
    let r = run_with(
        &[
            "bootstrap",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--node-name",
            "partial-1",
            "--write-dir",
            dir.path().to_str().unwrap(),
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    common::assert_failure(&r, "output-unwritable", "write", 4);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "pki")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
