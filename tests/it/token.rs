//! Bootstrap tokens through the API against the lab: create/list/describe/delete, the Secret
//! kubeadm would make, join commands that work at once, kubeconfig loading (merge, contexts,
//! token, token file, exec plugins, insecure), and API error mapping and retries.

use crate::common;
use common::{assert_failure, lab, run, run_with};
use joinkit_lab::{Lab, Scenario};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Admin {
    lab: Lab,
    dir: tempfile::TempDir,
}

impl Admin {
    fn new() -> Admin {
        let lab = lab(Scenario::Healthy);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin.conf"), &lab.info.admin_kubeconfig).unwrap();
        Admin { lab, dir }
    }
    fn kc(&self) -> PathBuf {
        self.dir.path().join("admin.conf")
    }
    fn token(&self, args: &[&str]) -> common::Run {
        let kc = self.kc();
        let mut a = vec!["token"];
        a.extend_from_slice(args);
        a.extend(["--kubeconfig", kc.to_str().unwrap()]);
        run(&a)
    }
}

fn verify_join_command(cmd: &str) -> common::Run {
    // kubeadm join <endpoint> --token <token> --discovery-token-ca-cert-hash <pin>...
    let parts: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(&parts[..2], &["kubeadm", "join"], "{cmd}");
    let endpoint = parts[2];
    let token = parts[parts.iter().position(|p| *p == "--token").unwrap() + 1];
    let mut args = vec!["verify-discovery", endpoint, "-o", "json"];
    for (i, p) in parts.iter().enumerate() {
        if *p == "--discovery-token-ca-cert-hash" {
            args.extend(["--discovery-token-ca-cert-hash", parts[i + 1]]);
        }
    }
    run_with(&args, &[("JOINKIT_TOKEN", token)], None)
}

#[test]
fn generate_is_kubeadm_format_and_random() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let r = run(&["token", "generate"]);
        assert_eq!(r.code, 0);
        let t = r.stdout.trim().to_string();
        assert!(joinkit_core::token::BootstrapToken::parse(&t).is_ok(), "{t}");
        assert!(seen.insert(t));
    }
}

#[test]
fn create_with_join_command_works_at_once_and_delete_breaks_it() {
    let a = Admin::new();
    let t = Instant::now();
    let r = a.token(&["create", "--print-join-command"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(t.elapsed() < Duration::from_secs(5));
    let cmd = r.stdout.trim().to_string();
    assert!(cmd.starts_with(&format!("kubeadm join {} --token ", a.lab.endpoint())), "{cmd}");
    assert!(cmd.ends_with(&format!("--discovery-token-ca-cert-hash {}", a.lab.info.ca_pin)), "{cmd}");
    // The command works the moment it is printed.
    let v = verify_join_command(&cmd);
    assert_eq!(v.code, 0, "{}", v.stdout);
    // Delete it: discovery now fails with jws-missing.
    let token = cmd.split_whitespace().nth(4).unwrap().to_string();
    let id = token.split('.').next().unwrap().to_string();
    let r = a.token(&["delete", &id]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains(&format!("bootstrap token \"{id}\" deleted")));
    let v = verify_join_command(&cmd);
    assert_failure(&v, "jws-missing", "jws-present", 30);
    // Deleting it again names it.
    let r = a.token(&["delete", &token, "-o", "json"]);
    let j = assert_failure(&r, "api-not-found", "delete", 63);
    assert!(j["failure"]["message"].as_str().unwrap().contains(&format!("bootstrap token \"{id}\" not found")));
    // Control-plane join command and join-config.
    let key = "ab".repeat(32);
    let r = a.token(&["create", "--print-join-command", "--certificate-key", &key]);
    assert!(r.stdout.trim().ends_with(&format!("--control-plane --certificate-key {key}")), "{}", r.stdout);
    let r = a.token(&["create", "--print-join-command", "--format", "join-config"]);
    let p = a.dir.path().join("join.yaml");
    std::fs::write(&p, &r.stdout).unwrap();
    assert_eq!(run(&["validate-config", p.to_str().unwrap()]).code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(&a.lab.info.ca_pin) && r.stdout.contains(&format!("apiServerEndpoint: {}", a.lab.endpoint()))
    );
}

#[test]
fn secret_matches_what_kubeadm_makes_and_kubectl_reads_it() {
    let a = Admin::new();
    let r = a.token(&["create", "abcdef.0123456789abcdef", "--ttl", "2h", "--description", "for ci"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "abcdef.0123456789abcdef\n");
    // Read it with the real kubectl and the lab's admin kubeconfig.
    let out = std::process::Command::new("/usr/bin/kubectl")
        .args([
            "--kubeconfig",
            a.kc().to_str().unwrap(),
            "get",
            "secret",
            "bootstrap-token-abcdef",
            "-n",
            "kube-system",
            "-o",
            "json",
        ])
        .env("HOME", a.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Name and namespace as in the transcripts (secrets "bootstrap-token-v49uhc" in kube-system).
    assert_eq!(s["metadata"]["name"], "bootstrap-token-abcdef");
    assert_eq!(s["metadata"]["namespace"], "kube-system");
    assert_eq!(s["type"], "bootstrap.kubernetes.io/token");
    let data = s["data"].as_object().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "auth-extra-groups",
            "description",
            "expiration",
            "token-id",
            "token-secret",
            "usage-bootstrap-authentication",
            "usage-bootstrap-signing"
        ]
    );
    let d =
        |k: &str| String::from_utf8(joinkit_core::kubeconfig::decode_b64(data[k].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(d("token-id"), "abcdef");
    assert_eq!(d("token-secret"), "0123456789abcdef");
    assert_eq!(d("usage-bootstrap-signing"), "true");
    assert_eq!(d("usage-bootstrap-authentication"), "true");
    // The group the recorded CSR carried for a kubeadm token.
    let csr: Value = serde_json::from_slice(
        &std::fs::read(common::vectors().join("apiserver-v1.24/rsa/csr_create_response.body")).unwrap(),
    )
    .unwrap();
    assert!(csr["spec"]["groups"].as_array().unwrap().iter().any(|g| g == d("auth-extra-groups").as_str()));
    assert_eq!(d("description"), "for ci");
    let exp = time::OffsetDateTime::parse(&d("expiration"), &time::format_description::well_known::Rfc3339).unwrap();
    assert!(d("expiration").ends_with('Z'), "RFC 3339 UTC");
    let diff = (exp - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((7100..=7201).contains(&diff), "{diff}");
    // No description key when empty, no expiration with --ttl 0.
    let r = a.token(&["create", "ghijkl.0123456789abcdef", "--ttl", "0"]);
    assert_eq!(r.code, 0);
    let s2 =
        a.lab.state.lock().unwrap().store.get("secrets", "kube-system", "bootstrap-token-ghijkl").cloned().unwrap();
    assert!(s2["data"].get("description").is_none() && s2["data"].get("expiration").is_none());
    // A second create with the same ID: kubeadm's message.
    let r = a.token(&["create", "abcdef.0123456789abcdef", "-o", "json"]);
    let j = assert_failure(&r, "api-conflict", "create", 64);
    assert_eq!(j["failure"]["kubeadmMessage"], "a token with id \"abcdef\" already exists");
}

#[test]
fn kubeadm_validation_messages() {
    let a = Admin::new();
    let cases = [
        (vec!["create", "--usages", "signing,foo"], "invalid bootstrap token usage string: foo, valid usage options: signing,authentication"),
        (vec!["create", "--usages", "signing"], "token groups cannot be specified unless --usages includes \"authentication\""),
        (vec!["create", "--groups", "system:nodes"], "bootstrap group \"system:nodes\" is invalid (must match \\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\\z)"),
        (vec!["create", "ABCDEF.0123456789abcdef"], "was not of the form"),
    ];
    for (args, msg) in cases {
        let r = a.token(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(msg), "{args:?}: {}", r.stderr);
    }
    // Signing-only tokens are allowed with --groups ''.
    let r = a.token(&["create", "--usages", "signing", "--groups", ""]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = a.token(&["describe", "nope!!"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("given token didn't match pattern"));
}

#[test]
fn list_describe_and_expiry() {
    let a = Admin::new();
    let r = a.token(&["create", "--ttl", "2s", "--description", "short"]);
    let short = r.stdout.trim().to_string();
    let short_id = short.split('.').next().unwrap().to_string();
    let r = a.token(&["list", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let tokens = v["tokens"].as_array().unwrap();
    let t = tokens.iter().find(|t| t["id"] == short_id.as_str()).unwrap();
    assert_eq!(t["signed"], true);
    assert_eq!(t["signatureValid"], true);
    assert_eq!(t["description"], "short");
    assert_eq!(t["token"], format!("{short_id}.<redacted>"), "secrets are redacted unless asked");
    assert!(!r.stdout.contains(short.split('.').nth(1).unwrap()));
    let r = a.token(&["list", "--show-secrets", "-o", "json"]);
    assert!(r.stdout.contains(&short));
    // Text columns.
    let r = a.token(&["list"]);
    assert!(r.stdout.starts_with("TOKEN"), "{}", r.stdout);
    for col in ["TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS", "SIGNED"] {
        assert!(r.stdout.lines().next().unwrap().contains(col));
    }
    // Describe: everything passes on a kubeadm-like cluster.
    let r = a.token(&["describe", &short_id, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert!(v["stages"].as_array().unwrap().iter().all(|s| s["status"] == "pass"), "{}", r.stdout);
    // describe's stages are the CLI's `kubeconfig` then TokenStage's, in its order (no whole
    // token given: no token-secret).
    use joinkit_core::report::StageId;
    use joinkit_core::token::manage::TokenStage;
    let names: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    let want: Vec<&str> = std::iter::once("kubeconfig")
        .chain(
            [
                TokenStage::Secret,
                TokenStage::Expiry,
                TokenStage::Usages,
                TokenStage::Signature,
                TokenStage::RbacBootstrapper,
                TokenStage::RbacAutoapprove,
                TokenStage::RbacGetNodes,
            ]
            .iter()
            .map(|s| s.name()),
        )
        .collect();
    assert_eq!(names, want, "{}", r.stdout);
    // Without the auto-approval binding, describe says what the join will lack.
    a.lab.state.lock().unwrap().store.delete("clusterrolebindings", "", "kubeadm:node-autoapprove-bootstrap");
    let v = a.token(&["describe", &short_id, "-o", "json"]).json();
    let s = v["stages"].as_array().unwrap().iter().find(|s| s["name"] == "rbac-autoapprove").unwrap().clone();
    assert_eq!(s["status"], "warn");
    assert!(s["detail"].as_str().unwrap().contains("auto-approval"));
    // After expiry the tokencleaner removes it, and its signature goes with it.
    std::thread::sleep(Duration::from_millis(2600));
    let v = a.token(&["list", "-o", "json"]).json();
    assert!(!v["tokens"].as_array().unwrap().iter().any(|t| t["id"] == short_id.as_str()), "{v}");
    let r = a.token(&["describe", &short_id, "-o", "json"]);
    assert_eq!(r.code, 63);
    let vd = run_with(
        &["verify-discovery", a.lab.endpoint(), "--discovery-token-ca-cert-hash", &a.lab.info.ca_pin, "-o", "json"],
        &[("JOINKIT_TOKEN", &short)],
        None,
    );
    assert_failure(&vd, "jws-missing", "jws-present", 30);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn kubeconfig_loading_like_kubectl() {
    let a = Admin::new();
    let l = &a.lab;
    let dir = a.dir.path();
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(&l.info.ca_cert_pem);
    // KUBECONFIG with two files: the first names the context and the user (a token), the second
    // holds the cluster; merged, first value wins.
    let first = write(dir, "first.conf", &format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\ncontexts:\n- name: lab\n  context: {{cluster: lab, user: tok}}\n- name: other\n  context: {{cluster: lab, user: bad}}\nusers:\n- name: tok\n  user: {{token: {}}}\n- name: bad\n  user: {{token: wrong-token}}\n",
        l.info.admin_token
    ));
    let second = write(dir, "second.conf", &format!("apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster: {{server: https://{}, certificate-authority-data: {ca}}}\n- name: lab\n  cluster: {{server: https://127.0.0.1:1}}\n", l.endpoint()));
    let kubeconfig_env = format!("{}:{}", first.display(), second.display());
    let r = run_with(
        &["token", "list", "-o", "json"],
        &[("KUBECONFIG", &kubeconfig_env), ("HOME", dir.to_str().unwrap())],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    // --context picks the other user: a bad token is a 401.
    let r = run_with(&["token", "list", "--context", "other", "-o", "json"], &[("KUBECONFIG", &kubeconfig_env)], None);
    let v = assert_failure(&r, "api-unauthorized", "api", 61);
    assert!(v["failure"]["message"].as_str().unwrap().contains("Unauthorized"));
    // ~/.kube/config is the default.
    std::fs::create_dir_all(dir.join("home/.kube")).unwrap();
    std::fs::write(dir.join("home/.kube/config"), &l.info.admin_kubeconfig).unwrap();
    let r = run_with(&["token", "list", "-o", "json"], &[("HOME", dir.join("home").to_str().unwrap())], None);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // tokenFile, relative to the kubeconfig.
    write(dir, "admin.token", &format!("{}\n", l.info.admin_token));
    let tf = write(dir, "tf.conf", &format!("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\nclusters: [{{name: k, cluster: {{server: 'https://{}', certificate-authority-data: {ca}}}}}]\nusers: [{{name: u, user: {{tokenFile: admin.token}}}}]\n", l.endpoint()));
    assert_eq!(run(&["token", "list", "--kubeconfig", tf.to_str().unwrap()]).code, 0);
    // insecure-skip-tls-verify: joinkit sends no credential to an unverified server (kubectl
    // would): with a token it is kubeconfig-unusable and nothing is sent; anonymous requests
    // still go, with a warning (and the lab answers them 403).
    let ins = write(dir, "ins.conf", &format!("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\nclusters: [{{name: k, cluster: {{server: 'https://{}', insecure-skip-tls-verify: true}}}}]\nusers: [{{name: u, user: {{token: {}}}}}]\n", l.endpoint(), l.info.admin_token));
    let before = l.counters().tcp_connections;
    let r = run(&["token", "list", "--kubeconfig", ins.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&r, "kubeconfig-unusable", "kubeconfig", 60);
    assert!(v["failure"]["message"].as_str().unwrap().contains("insecure-skip-tls-verify"), "{}", r.stdout);
    assert_eq!(l.counters().tcp_connections, before, "no connection with credentials to an unverified server");
    let anon = write(dir, "anon.conf", &format!("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\nclusters: [{{name: k, cluster: {{server: 'https://{}', insecure-skip-tls-verify: true}}}}]\nusers: [{{name: u, user: {{}}}}]\n", l.endpoint()));
    let r = run(&["token", "list", "--kubeconfig", anon.to_str().unwrap()]);
    assert_eq!(r.code, 62, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("insecure-skip-tls-verify"), "{}", r.stderr);
    // A wrong CA is a TLS verification failure.
    let other = lab(Scenario::Healthy);
    let wrong_ca = base64::engine::general_purpose::STANDARD.encode(&other.info.ca_cert_pem);
    let wca = write(dir, "wca.conf", &format!("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\nclusters: [{{name: k, cluster: {{server: 'https://{}', certificate-authority-data: {wrong_ca}}}}}]\nusers: [{{name: u, user: {{token: {}}}}}]\n", l.endpoint(), l.info.admin_token));
    let r = run(&["token", "list", "--kubeconfig", wca.to_str().unwrap(), "-o", "json"]);
    assert_failure(&r, "tls-verify-failed", "api", 41);
    // Missing kubeconfig / context.
    let r = run(&["token", "list", "--kubeconfig", "/nonexistent/admin.conf", "-o", "json"]);
    assert_failure(&r, "kubeconfig-unusable", "kubeconfig", 60);
    let r = run(&["token", "list", "--kubeconfig", a.kc().to_str().unwrap(), "--context", "nope", "-o", "json"]);
    assert_failure(&r, "kubeconfig-unusable", "kubeconfig", 60);
}

#[test]
fn exec_credential_plugin() {
    let a = Admin::new();
    let dir = a.dir.path();
    // The plugin prints the admin client certificate as an ExecCredential.
    let kc = joinkit_core::kubeconfig::Kubeconfig::parse(&a.lab.info.admin_kubeconfig).unwrap();
    let u = kc.current_user().expect("the admin user").user;
    let cert =
        String::from_utf8(joinkit_core::kubeconfig::decode_b64(u.client_certificate_data.as_ref().unwrap()).unwrap())
            .unwrap();
    let key = String::from_utf8(
        joinkit_core::kubeconfig::decode_b64(secrecy::ExposeSecret::expose_secret(u.client_key_data.as_ref().unwrap()))
            .unwrap(),
    )
    .unwrap();
    let cred = serde_json::json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"clientCertificateData": cert, "clientKeyData": key}});
    write(dir, "cred.json", &cred.to_string());
    let plugin = write(dir, "plugin.sh", "#!/bin/sh\n# Fails unless kubectl's exec info is passed.\necho \"$KUBERNETES_EXEC_INFO\" | grep -q ExecCredential || exit 3\ncat \"$(dirname \"$0\")/cred.json\"\n");
    std::process::Command::new("chmod").arg("+x").arg(&plugin).status().unwrap();
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(&a.lab.info.ca_cert_pem);
    let conf = write(dir, "exec.conf", &format!("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\nclusters: [{{name: k, cluster: {{server: 'https://{}', certificate-authority-data: {ca}}}}}]\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin.sh\n      interactiveMode: Never\n", a.lab.endpoint()));
    let r = run(&["token", "list", "--kubeconfig", conf.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A token-returning plugin.
    let tok = serde_json::json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": a.lab.info.admin_token}});
    write(dir, "cred.json", &tok.to_string());
    assert_eq!(run(&["token", "list", "--kubeconfig", conf.to_str().unwrap()]).code, 0);
    // A failing plugin names itself and its install hint.
    let bad = write(
        dir,
        "bad.conf",
        &std::fs::read_to_string(&conf).unwrap().replace("./plugin.sh", "/nonexistent/aws-iam-authenticator").replace(
            "interactiveMode: Never",
            "interactiveMode: Never\n      installHint: install aws-iam-authenticator",
        ),
    );
    let r = run(&["token", "list", "--kubeconfig", bad.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&r, "kubeconfig-unusable", "credentials", 60);
    assert!(v["failure"]["fix"].as_str().unwrap().contains("install aws-iam-authenticator"));
}

#[test]
fn api_errors_are_mapped_and_retried() {
    let a = Admin::new();
    let l = &a.lab;
    // 403: a user the RBAC model does not know; the RBAC message is quoted.
    let nobody = l.ca.client_cert("nobody", None, joinkit_lab::pki::KeyKind::Ecdsa).unwrap();
    let conf = joinkit_lab::admin_kubeconfig(
        &format!("https://{}", l.endpoint()),
        &l.info.ca_cert_pem,
        &nobody.cert_pem,
        &nobody.key_pem,
    );
    let p = write(a.dir.path(), "nobody.conf", &conf);
    let r = run(&["token", "list", "--kubeconfig", p.to_str().unwrap(), "-o", "json"]);
    let v = assert_failure(&r, "api-forbidden", "api", 62);
    assert!(
        v["failure"]["cause"].as_str().unwrap().contains("User \"nobody\" cannot list resource \"secrets\""),
        "{}",
        v["failure"]
    );
    // 429 and 503 are retried (Retry-After honoured), then the call succeeds.
    l.state.lock().unwrap().faults.fail_next.extend([429, 503]);
    let t = Instant::now();
    let r = a.token(&["list", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(t.elapsed() >= Duration::from_millis(1900), "Retry-After: 1 was honoured twice: {:?}", t.elapsed());
    // Endless 503s: bounded, then api-error.
    l.state.lock().unwrap().faults.fail_next.extend(std::iter::repeat_n(503, 50));
    let t = Instant::now();
    let r = a.token(&["list", "-o", "json"]);
    assert_failure(&r, "api-error", "api", 66);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    l.state.lock().unwrap().faults.fail_next.clear();
    // 422 from the server, through the library.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = joinkit_core::client::api::ApiClient::connect(&joinkit_core::client::api::ApiOptions {
            kubeconfig: Some(a.kc()),
            ..Default::default()
        })
        .await
        .unwrap();
        let e = c
            .post("/api/v1/namespaces/kube-system/secrets", &serde_json::json!({"kind": "Secret", "metadata": {}}))
            .await
            .unwrap_err();
        assert_eq!(e.code, joinkit_core::error::Code::ApiInvalid);
        assert!(e.message.contains("name or generateName is required"));
        let e = c.get("/api/v1/namespaces/kube-system/secrets/nope").await.unwrap_err();
        assert_eq!(e.code, joinkit_core::error::Code::ApiNotFound);
    });
    // Transport errors use verify-discovery's codes.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = a.lab.info.admin_kubeconfig.replace(l.endpoint(), &format!("127.0.0.1:{port}"));
    let p = write(a.dir.path(), "dead.conf", &dead);
    let r = run(&["token", "list", "--kubeconfig", p.to_str().unwrap(), "-o", "json"]);
    assert_failure(&r, "connection-refused", "api", 11);
}

#[test]
fn signature_wait_is_bounded_and_explained() {
    let l = lab(Scenario::SignerStopped);
    let dir = tempfile::tempdir().unwrap();
    let kc = write(dir.path(), "admin.conf", &l.info.admin_kubeconfig);
    let t = Instant::now();
    let r = run(&[
        "token",
        "create",
        "--print-join-command",
        "--wait-timeout",
        "500ms",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "still prints: {}", r.stderr);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(r.stderr.contains("bootstrapsigner"), "{}", r.stderr);
    assert!(r.stdout.starts_with("kubeadm join "));
    // --no-wait does not wait.
    let r = run(&["token", "create", "--no-wait", "--kubeconfig", kc.to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 0);
    assert!(r.json()["stages"].as_array().unwrap().iter().any(|s| s["name"] == "signature" && s["status"] == "skip"));
}

/// An admin kubeconfig for `a`'s lab whose user is the exec plugin `plugin`, and a `cred.json`
/// next to it holding an ExecCredential with the lab's admin token.
fn exec_kubeconfig(a: &Admin, plugin_body: &str) -> PathBuf {
    let dir = a.dir.path();
    let tok = serde_json::json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": a.lab.info.admin_token}});
    write(dir, "cred.json", &tok.to_string());
    let plugin = write(dir, "plugin.sh", plugin_body);
    std::process::Command::new("chmod").arg("+x").arg(&plugin).status().unwrap();
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(&a.lab.info.ca_cert_pem);
    write(dir, "exec.conf", &format!("apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{{name: c, context: {{cluster: k, user: u}}}}]\nclusters: [{{name: k, cluster: {{server: 'https://{}', certificate-authority-data: {ca}}}}}]\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n", a.lab.endpoint(), plugin.display()))
}

/// True when process `pid` no longer runs (gone, or a zombie nobody reaped yet).
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')).unwrap_or(false),
    }
}

fn kill_pid_file(p: &Path) {
    if let Ok(pid) = std::fs::read_to_string(p) {
        let _ =
            std::process::Command::new("kill").arg("-9").arg(pid.trim()).stderr(std::process::Stdio::null()).status();
    }
}

const SECRET_TOKEN: &str = "zyxwvu.abcdefghijklmnop";
const SECRET_OTHER_TOKEN: &str = "qwerty.0011223344556677";

#[test]
fn exec_plugin_gets_no_joinkit_variables() {
    let a = Admin::new();
    let dump = a.dir.path().join("env.txt");
    let conf =
        exec_kubeconfig(&a, &format!("#!/bin/sh\nenv > '{}'\ncat \"$(dirname \"$0\")/cred.json\"\n", dump.display()));
    let key = "ab".repeat(32);
    let r = run_with(
        &["token", "list", "--kubeconfig", conf.to_str().unwrap()],
        &[
            ("JOINKIT_TOKEN", SECRET_TOKEN),
            ("JOINKIT_CERTIFICATE_KEY", &key),
            ("JOINKIT_TLS_BOOTSTRAP_TOKEN", SECRET_OTHER_TOKEN),
            ("JOINKIT_NODE_NAME", "worker-1"),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let env = std::fs::read_to_string(&dump).unwrap();
    assert!(env.contains("KUBERNETES_EXEC_INFO="), "the plugin ran with its exec info: {env}");
    assert!(!env.lines().any(|l| l.starts_with("JOINKIT_")), "JOINKIT_ variables reached the plugin:\n{env}");
    for s in [SECRET_TOKEN, &key, SECRET_OTHER_TOKEN] {
        assert!(!env.contains(s), "a secret reached the plugin");
    }
}

#[test]
fn exec_plugin_chatty_stderr_does_not_deadlock() {
    let a = Admin::new();
    // 200 KB on stderr (more than a pipe buffer) before the credential.
    let conf = exec_kubeconfig(
        &a,
        "#!/bin/sh\nhead -c 204800 /dev/zero | tr '\\000' x >&2\ncat \"$(dirname \"$0\")/cred.json\"\n",
    );
    let t = Instant::now();
    let r = run(&["token", "list", "--kubeconfig", conf.to_str().unwrap(), "--request-timeout", "8s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

#[test]
fn exec_plugin_background_child_cannot_hold_joinkit() {
    let a = Admin::new();
    let pidf = a.dir.path().join("bg.pid");
    // The background sleep inherits the plugin's stdout and stderr.
    let conf = exec_kubeconfig(
        &a,
        &format!(
            "#!/bin/sh\nsleep 60 &\necho $! > '{}'\ncat \"$(dirname \"$0\")/cred.json\"\nexit 0\n",
            pidf.display()
        ),
    );
    let t = Instant::now();
    let r = run(&["token", "list", "--kubeconfig", conf.to_str().unwrap(), "--request-timeout", "20s"]);
    let took = t.elapsed();
    let pid = std::fs::read_to_string(&pidf).unwrap().trim().to_string();
    std::thread::sleep(Duration::from_millis(200));
    let gone = process_gone(&pid);
    kill_pid_file(&pidf);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(took < Duration::from_secs(4), "joinkit waited for the plugin's background child: {took:?}");
    assert!(gone, "the plugin's background sleep (pid {pid}) outlived joinkit");
}

#[test]
fn exec_plugin_hang_is_bounded_and_its_group_killed() {
    let a = Admin::new();
    let pidf = a.dir.path().join("bg.pid");
    let conf = exec_kubeconfig(&a, &format!("#!/bin/sh\nsleep 60 &\necho $! > '{}'\nsleep 60\n", pidf.display()));
    let t = Instant::now();
    let r = run(&["token", "list", "--kubeconfig", conf.to_str().unwrap(), "--request-timeout", "1s", "-o", "json"]);
    let took = t.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let pid = std::fs::read_to_string(&pidf).unwrap().trim().to_string();
    let gone = process_gone(&pid);
    kill_pid_file(&pidf);
    let v = assert_failure(&r, "kubeconfig-unusable", "credentials", 60);
    assert!(v["failure"]["message"].as_str().unwrap().contains("did not finish within"), "{}", r.stdout);
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(gone, "the hung plugin's background child (pid {pid}) survived the timeout");
}

#[test]
fn exec_plugin_stderr_in_errors_is_capped_and_redacted() {
    let a = Admin::new();
    let key = "0123456789abcdef".repeat(4);
    // The plugin leaks joinkit's secrets (as if it found them elsewhere) and a token-shaped
    // string, then 10 KB of noise, and fails.
    let conf = exec_kubeconfig(
        &a,
        &format!(
            "#!/bin/sh\necho \"login failed for {SECRET_TOKEN} key {key} secret-only abcdefghijklmnop other {SECRET_OTHER_TOKEN} x5x5x5.1234567890abcdef\" >&2\nhead -c 10240 /dev/zero | tr '\\000' n >&2\nexit 1\n"
        ),
    );
    let r = run_with(
        &["token", "list", "--kubeconfig", conf.to_str().unwrap(), "-o", "json"],
        &[("JOINKIT_TOKEN", SECRET_TOKEN), ("JOINKIT_CERTIFICATE_KEY", &key)],
        None,
    );
    let v = assert_failure(&r, "kubeconfig-unusable", "credentials", 60);
    let all = format!("{}{}", r.stdout, r.stderr);
    for s in [SECRET_TOKEN, "abcdefghijklmnop", &key, "0011223344556677", "1234567890abcdef"] {
        assert!(!all.contains(s), "secret {s} in the output: {all}");
    }
    let msg = v["failure"]["message"].as_str().unwrap();
    assert!(msg.contains("login failed for <redacted>"), "{msg}");
    assert!(msg.contains("qwerty.<redacted>") && msg.contains("x5x5x5.<redacted>"), "{msg}");
    assert!(msg.len() < 2600, "stderr quoted in full ({} bytes)", msg.len());
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn describe_checks_a_given_secret() {
    let a = Admin::new();
    let token = "descrb.0123456789abcdef";
    let r = a.token(&["create", token]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The right secret: every stage passes, including the secret and signature checks.
    let r = a.token(&["describe", token, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let stages = v["stages"].as_array().unwrap();
    assert!(stages.iter().all(|s| s["status"] == "pass"), "{}", r.stdout);
    assert!(stages.iter().any(|s| s["name"] == "token-secret"), "{}", r.stdout);
    assert!(!r.stdout.contains("0123456789abcdef"), "{}", r.stdout);
    // A wrong secret fails, plainly, without printing either secret.
    let wrong = "descrb.wrongsecretxxxxx";
    let r = a.token(&["describe", wrong, "-o", "json"]);
    let v = assert_failure(&r, "bootstrap-token-rejected", "token-secret", 70);
    let sig = v["stages"].as_array().unwrap().iter().find(|s| s["name"] == "signature").unwrap().clone();
    assert_eq!(sig["status"], "fail", "{}", r.stdout);
    assert!(sig["detail"].as_str().unwrap().contains("does not verify with the given token's secret"), "{sig}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("wrongsecretxxxxx") && !all.contains("0123456789abcdef"), "{all}");
    // Text output says it too.
    let r = a.token(&["describe", wrong]);
    assert_eq!(r.code, 70);
    assert!(format!("{}{}", r.stdout, r.stderr).contains("does not match Secret kube-system/bootstrap-token-descrb"));
    // The ID alone describes the token as before.
    assert_eq!(a.token(&["describe", "descrb"]).code, 0);
}

#[test]
fn secrets_in_argv_get_a_warning_and_the_environment_does_not() {
    let pin = format!("sha256:{}", "0".repeat(64));
    let key = "ab".repeat(32);
    let tok = "abcdef.0123456789abcdef";
    let base = ["render-config", "10.0.0.10:6443", "--discovery-token-ca-cert-hash", &pin, "--control-plane"];
    let warns = |r: &common::Run, flag: &str| {
        r.stderr.lines().filter(|l| l.starts_with(&format!("warning: --{flag} puts a secret in argv"))).count()
    };
    // In argv: one line each, naming the safer way; never the secret itself.
    let mut a = base.to_vec();
    a.extend(["--token", tok, "--certificate-key", &key, "--tls-bootstrap-token", tok]);
    let r = run(&a);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for flag in ["token", "certificate-key", "tls-bootstrap-token"] {
        assert_eq!(warns(&r, flag), 1, "--{flag}: {}", r.stderr);
    }
    assert!(r.stderr.contains("prefer JOINKIT_TOKEN or --token-file"), "{}", r.stderr);
    assert!(!r.stderr.contains("0123456789abcdef") && !r.stderr.contains(&key), "{}", r.stderr);
    // From the environment: the same values, no warning.
    let r = run_with(
        &base,
        &[("JOINKIT_TOKEN", tok), ("JOINKIT_CERTIFICATE_KEY", &key), ("JOINKIT_TLS_BOOTSTRAP_TOKEN", tok)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&key), "the environment's values were used: {}", r.stdout);
    assert!(!r.stderr.contains("puts a secret in argv"), "{}", r.stderr);
    // verify-discovery too (the env var equals a flag value clap merged; still no warning).
    let vd = ["verify-discovery", "127.0.0.1:1", "--discovery-token-ca-cert-hash", &pin, "--connect-timeout", "1s"];
    let mut a = vd.to_vec();
    a.extend(["--token", tok]);
    assert_eq!(warns(&run(&a), "token"), 1);
    assert_eq!(warns(&run_with(&vd, &[("JOINKIT_TOKEN", tok)], None), "token"), 0);
}

/// Server-supplied text in `token list`'s table (a description with terminal escape sequences,
/// as anyone who may create Secrets can write) is escaped, never sent raw to the terminal.
#[test]
fn token_list_escapes_control_characters() {
    let a = Admin::new();
    let r = a.token(&["create", "--no-wait", "--description", "x\u{1b}]0;pwned\u{7}\u{1b}[31mRED"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = a.token(&["list"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'), "{:?}", r.stdout);
    assert!(r.stdout.contains("\\x1b]0;pwned"), "{}", r.stdout);
}

/// A whole token as the positional argument of `token create|describe|delete` is in argv too:
/// one warning naming each command's alternative, never the secret; an ID alone gets none.
#[test]
fn token_positionals_with_a_secret_get_a_warning_and_an_id_does_not() {
    let a = Admin::new();
    let tok = "abcdef.0123456789abcdef";
    let warned = |r: &common::Run| {
        assert!(!r.stderr.contains("0123456789abcdef"), "{}", r.stderr);
        r.stderr
            .lines()
            .filter(|l| l.starts_with("warning: `token ") && l.contains("bootstrap token secret in argv"))
            .count()
    };
    let r = a.token(&["create", tok]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), tok);
    assert_eq!(warned(&r), 1, "{}", r.stderr);
    assert!(r.stderr.contains("prefer --token-file"), "{}", r.stderr);
    let r = a.token(&["describe", tok]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(warned(&r), 1, "{}", r.stderr);
    assert!(r.stderr.contains("prefer the token ID alone"), "{}", r.stderr);
    let r = a.token(&["describe", "abcdef"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(warned(&r), 0, "{}", r.stderr);
    // The token from a file: no warning.
    let file = a.dir.path().join("tok");
    std::fs::write(&file, "ghijkl.0123456789ghijkl\n").unwrap();
    let r = a.token(&["create", "--token-file", file.to_str().unwrap()]);
    assert_eq!((r.code, warned(&r)), (0, 0), "{}", r.stderr);
    let r = a.token(&["delete", "ghijkl", tok]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(warned(&r), 1, "{}", r.stderr);
}
