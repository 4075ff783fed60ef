//! render-config, validate-config and migrate-config: golden files, render-then-validate over
//! flag combinations, every kubeadm rule with its message and position, the stricter checks,
//! versions, multi-document files, cloud-init output, and migration.

use crate::common;
use common::tool;
use common::{run, run_bounded, run_with};
use serde_json::Value;
use std::path::Path;

const TOKEN: &str = "abcdef.0123456789abcdef";
const PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";

fn golden(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)).unwrap()
}

fn render(args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let mut a = vec!["render-config"];
    a.extend_from_slice(args);
    run_with(&a, env, None)
}

#[test]
fn golden_files() {
    let key = "ab".repeat(32);
    for v in ["v1beta4", "v1beta3"] {
        let r = render(
            &[
                "10.0.0.10:6443",
                "--discovery-token-ca-cert-hash",
                PIN,
                "--node-name",
                "worker-1",
                "--cri-socket",
                "unix:///run/containerd/containerd.sock",
                "--kubelet-arg",
                "node-ip=10.0.0.21",
                "--kubelet-arg",
                "max-pods=200",
                "--taint",
                "dedicated=gpu:NoSchedule",
                "--ignore-preflight-errors",
                "Swap",
                "--discovery-timeout",
                "10m",
                "--api-version",
                v,
            ],
            &[("JOINKIT_TOKEN", TOKEN)],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, golden(&format!("worker-{v}.yaml")), "worker {v}");
        let r = render(
            &[
                "10.0.0.10:6443",
                "--discovery-token-ca-cert-hash",
                PIN,
                "--node-name",
                "cp-2",
                "--control-plane",
                "--apiserver-advertise-address",
                "10.0.0.12",
                "--apiserver-bind-port",
                "6443",
                "--skip-phases",
                "preflight",
                "--patches",
                "/etc/kubernetes/patches",
                "--api-version",
                v,
            ],
            &[("JOINKIT_TOKEN", TOKEN), ("JOINKIT_CERTIFICATE_KEY", &key)],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, golden(&format!("control-plane-{v}.yaml")), "control plane {v}");
    }
    // Version shapes and kubeadm's spelling.
    let v4 = golden("worker-v1beta4.yaml");
    assert!(v4.contains("timeouts:\n  discovery: 10m") && v4.contains("- name: node-ip\n    value: \"10.0.0.21\""));
    let v3 = golden("worker-v1beta3.yaml");
    assert!(v3.contains("  timeout: 10m") && v3.contains("  kubeletExtraArgs:\n    max-pods: \"200\""));
    let r = render(&["10.0.0.10:6443", "--discovery-token-unsafe-skip-ca-verification"], &[("JOINKIT_TOKEN", TOKEN)]);
    assert!(r.stdout.contains("unsafeSkipCAVerification: true"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("caCertHashes") && !r.stdout.contains("nodeRegistration"),
        "unset fields are omitted: {}",
        r.stdout
    );
}

#[test]
fn render_then_validate_for_many_flag_combinations() {
    let dir = tempfile::tempdir().unwrap();
    let key = "0f".repeat(32);
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("testcerts/bundle-intermediate-root.pem");
    let combos: Vec<Vec<String>> = vec![
        vec!["10.0.0.10:6443".into(), "--discovery-token-ca-cert-hash".into(), PIN.into()],
        vec!["[fd00::10]:6443".into(), "--ca-cert".into(), ca.display().to_string()],
        vec![
            "cp.example.com:443".into(),
            "--discovery-token-unsafe-skip-ca-verification".into(),
            "--node-name".into(),
            "n1.example.com".into(),
        ],
        vec![
            "10.0.0.10:6443".into(),
            "--discovery-token-ca-cert-hash".into(),
            format!("{PIN},sha256:{}", "0".repeat(64)),
            "--control-plane".into(),
            "--certificate-key".into(),
            key.clone(),
        ],
        vec![
            "10.0.0.10:6443".into(),
            "--discovery-token-ca-cert-hash".into(),
            PIN.into(),
            "--taint".into(),
            "a=b:NoExecute,c:PreferNoSchedule".into(),
            "--kubelet-arg".into(),
            "node-labels=x=y,z=w".into(),
        ],
        vec![
            "--discovery-file".into(),
            "https://example.com/discovery.conf".into(),
            "--tls-bootstrap-token".into(),
            TOKEN.into(),
        ],
        vec![
            "10.0.0.10:6443".into(),
            "--discovery-token-ca-cert-hash".into(),
            PIN.into(),
            "--ignore-preflight-errors".into(),
            "all".into(),
            "--discovery-timeout".into(),
            "1m30s".into(),
            "--cri-socket".into(),
            "unix:///var/run/crio/crio.sock".into(),
        ],
    ];
    let mut n = 0;
    for combo in &combos {
        for v in ["v1beta4", "v1beta3"] {
            for format in ["yaml", "cloud-init"] {
                let mut args: Vec<&str> = combo.iter().map(String::as_str).collect();
                args.extend(["--api-version", v, "--format", format]);
                let r = render(&args, &[("JOINKIT_TOKEN", TOKEN)]);
                assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
                let text = if format == "yaml" {
                    r.stdout.clone()
                } else {
                    let doc: Value = serde_saphyr::from_str(&r.stdout).expect("cloud-init output parses as YAML");
                    doc["write_files"][0]["content"].as_str().unwrap().to_string()
                };
                let p = dir.path().join(format!("c{n}.yaml"));
                std::fs::write(&p, &text).unwrap();
                let v = run(&["validate-config", p.to_str().unwrap(), "-o", "json"]);
                assert_eq!(v.code, 0, "{args:?} rendered an invalid config:\n{text}\n{}", v.stdout);
                n += 1;
            }
        }
    }
    assert_eq!(n, combos.len() * 4);
}

#[test]
fn render_rejects_invalid_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("join.yaml");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["10.0.0.10:6443", "--discovery-token-ca-cert-hash", "sha256:abcd"], "expected a 32 byte SHA-256 hash"),
        (vec!["10.0.0.10:6443"], "using token-based discovery without caCertHashes can be unsafe"),
        (
            vec![
                "10.0.0.10:6443",
                "--discovery-token-unsafe-skip-ca-verification",
                "--control-plane",
                "--certificate-key",
                "xyz",
            ],
            "certificate key decoding error",
        ),
        (
            vec!["10.0.0.10:6443", "--discovery-token-unsafe-skip-ca-verification", "--node-name", "Bad_Name"],
            "lowercase RFC 1123 subdomain",
        ),
        (
            vec!["10.0.0.10:6443", "--discovery-token-unsafe-skip-ca-verification", "--discovery-timeout", "5"],
            "missing unit",
        ),
        (
            vec!["10.0.0.10:6443", "--discovery-token-unsafe-skip-ca-verification", "--taint", "a=b:Sometimes"],
            "taint effect",
        ),
        (
            vec!["10.0.0.10:6443", "--discovery-token-unsafe-skip-ca-verification", "--kubelet-arg", "novalue"],
            "is not NAME=VALUE",
        ),
        (
            vec!["10.0.0.10:6443", "--discovery-file", "/x.conf", "--discovery-token-unsafe-skip-ca-verification"],
            "bootstrapToken and file cannot both be set",
        ),
    ];
    for (args, want) in cases {
        let mut a = args.clone();
        a.extend(["--output-file", out.to_str().unwrap()]);
        let r = render(&a, &[("JOINKIT_TOKEN", TOKEN)]);
        assert_eq!(r.code, 50, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: expected {want:?} in\n{}", r.stderr);
        assert!(!r.stderr.contains("0123456789abcdef"), "the token secret stays out of errors");
        assert!(!out.exists(), "{args:?}: a file was written");
    }
    // The endpoint goes through the one endpoint parser, as for verify-discovery: bad-endpoint.
    let r = render(&["10.0.0.10", "--output-file", out.to_str().unwrap()], &[("JOINKIT_TOKEN", TOKEN)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("bad-endpoint") && r.stderr.contains("missing :port"), "{}", r.stderr);
    assert!(!out.exists(), "a file was written");
    let r = render(&["10.0.0.10:6443", "--discovery-token-ca-cert-hash", PIN, "--token", "bad"], &[]);
    assert_eq!(r.code, 50);
    assert!(r.stderr.contains("the bootstrap token is invalid"), "{}", r.stderr);
}

#[test]
fn render_output_file_env_and_cloud_init() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("join.yaml");
    let r = render(
        &["--output-file", out.to_str().unwrap()],
        &[
            ("JOINKIT_API_SERVER_ENDPOINT", "10.0.0.10:6443"),
            ("JOINKIT_TOKEN", TOKEN),
            ("JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH", PIN),
            ("JOINKIT_NODE_NAME", "envnode"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("name: envnode") && text.contains("apiServerEndpoint: 10.0.0.10:6443"));
    // cloud-init.
    let r = render(
        &["10.0.0.10:6443", "--discovery-token-ca-cert-hash", PIN, "--format", "cloud-init"],
        &[("JOINKIT_TOKEN", TOKEN)],
    );
    assert_eq!(r.stdout, golden("worker-cloud-init.yaml"));
    assert!(r.stdout.starts_with("#cloud-config\n"));
    let doc: Value = serde_saphyr::from_str(&r.stdout).unwrap();
    assert_eq!(doc["write_files"][0]["path"], "/etc/kubernetes/joinkit/join.yaml");
    assert_eq!(doc["write_files"][0]["permissions"], "0600");
    assert_eq!(
        doc["runcmd"][0],
        serde_json::json!(["kubeadm", "join", "--config", "/etc/kubernetes/joinkit/join.yaml"])
    );
    if let Some(ci) = tool("cloud-init") {
        let p = dir.path().join("user-data");
        std::fs::write(&p, &r.stdout).unwrap();
        let o = std::process::Command::new(ci).args(["schema", "-c", p.to_str().unwrap()]).output().unwrap();
        assert!(
            o.status.success(),
            "cloud-init schema: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// One kubeadm rule: the YAML, the field path, line and column, and kubeadm's message.
fn expect_problem(yaml: &str, path: &str, line: usize, col: usize, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("join.yaml");
    std::fs::write(&p, yaml).unwrap();
    let r = run(&["validate-config", p.to_str().unwrap(), "-o", "json"]);
    let v = r.json();
    let problems = v["problems"].as_array().unwrap();
    let found = problems.iter().find(|q| q["path"] == path && q["message"].as_str().unwrap().contains(message));
    let q = found.unwrap_or_else(|| {
        panic!("no problem at {path} with {message:?}; got:\n{}", serde_json::to_string_pretty(problems).unwrap())
    });
    assert_eq!(
        (q["line"].as_u64().unwrap() as usize, q["column"].as_u64().unwrap() as usize),
        (line, col),
        "{path}: position"
    );
    if q["severity"] == "error" {
        assert_eq!(r.code, 50, "{}", r.stdout);
        assert_eq!(v["ok"], false);
    }
    assert!(!q["fix"].as_str().unwrap().is_empty());
}

const HEAD: &str = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n";
const GOOD_DISCOVERY: &str = "discovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.10:6443\n    token: abcdef.0123456789abcdef\n    caCertHashes: [\"sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4\"]\n";

#[test]
fn every_kubeadm_rule_with_message_and_position() {
    let h = HEAD;
    let g = GOOD_DISCOVERY;
    expect_problem(
        &format!("{h}nodeRegistration: {{name: a}}\n"),
        "discovery",
        1,
        1,
        "bootstrapToken or file must be set",
    );
    expect_problem(&format!("{h}discovery:\n  bootstrapToken: {{token: abcdef.0123456789abcdef, apiServerEndpoint: \"a:1\", unsafeSkipCAVerification: true}}\n  file: {{kubeConfigPath: https://x/y}}\n"), "discovery", 3, 1, "bootstrapToken and file cannot both be set");
    expect_problem(&format!("{h}discovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\n"), "discovery.bootstrapToken.apiServerEndpoint", 4, 3, "APIServerEndpoint is not set");
    expect_problem(&format!("{h}discovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.10:6443\n    token: abcdef.0123456789abcdef\n"), "discovery.bootstrapToken.caCertHashes", 4, 3, "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue");
    expect_problem(&format!("{h}discovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.10:6443\n    token: abcdef.SECRETSECRETSECR\n    unsafeSkipCAVerification: true\n"), "discovery.bootstrapToken.token", 6, 5, "the bootstrap token is invalid");
    expect_problem(
        &format!("{h}{g}  tlsBootstrapToken: nope\n"),
        "discovery.tlsBootstrapToken",
        8,
        3,
        "the bootstrap token is invalid",
    );
    expect_problem(&format!("{h}discovery:\n  file:\n    kubeConfigPath: http://example.com/d.conf\n  tlsBootstrapToken: abcdef.0123456789abcdef\n"), "discovery.file.kubeConfigPath", 5, 5, "if a URL is used, the scheme must be https");
    expect_problem(
        &format!("{h}discovery:\n  file:\n    kubeConfigPath: \"\"\n  tlsBootstrapToken: abcdef.0123456789abcdef\n"),
        "discovery.file.kubeConfigPath",
        5,
        5,
        "not a valid HTTPS URL or a file on disk",
    );
    expect_problem(
        &format!("{h}caCertPath: pki/ca.crt\n{g}"),
        "caCertPath",
        3,
        1,
        "the ca certificate path must be an absolute path",
    );
    expect_problem(&format!("{h}{g}controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: 10.0.0.256\n    bindPort: 6443\n  certificateKey: {}\n", "a".repeat(64)), "controlPlane.localAPIEndpoint.advertiseAddress", 10, 5, "must be ipv4 or ipv6 address");
    expect_problem(
        &format!(
            "{h}{g}controlPlane:\n  localAPIEndpoint:\n    bindPort: 70000\n  certificateKey: {}\n",
            "a".repeat(64)
        ),
        "controlPlane.localAPIEndpoint.bindPort",
        10,
        5,
        "port number is not valid",
    );
    expect_problem(
        &format!("{h}{g}controlPlane:\n  certificateKey: zz{}\n", "a".repeat(62)),
        "controlPlane.certificateKey",
        9,
        3,
        "certificate key decoding error: encoding/hex: invalid byte: U+007A 'z'",
    );
    expect_problem(
        &format!("{h}{g}controlPlane:\n  certificateKey: abcd\n"),
        "controlPlane.certificateKey",
        9,
        3,
        "invalid certificate key size 2, the key must be an AES key of size 32",
    );
    expect_problem(&format!("{h}{g}nodeRegistration:\n  name: Node_1\n"), "nodeRegistration.name", 9, 3, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  criSocket: unix:///run/%zz.sock\n"),
        "nodeRegistration.criSocket",
        9,
        3,
        "URL parsing error: parse \"unix:///run/%zz.sock\": invalid URL escape \"%zz\"",
    );
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  criSocket: npipe:////./pipe/containerd\n"),
        "nodeRegistration.criSocket",
        9,
        3,
        "kubeadm supports only the \"unix\" scheme",
    );
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  criSocket: /run/containerd/containerd.sock\n"),
        "nodeRegistration.criSocket",
        9,
        3,
        "kubeadm prepends unix://",
    );
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  imagePullPolicy: Sometimes\n"),
        "nodeRegistration.imagePullPolicy",
        9,
        3,
        "invalid pull policy",
    );
    expect_problem(&format!("{h}discovery:\n  bootstrapToken:\n    apiServerEndpoint: fd00::10:6443\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\n"), "discovery.bootstrapToken.apiServerEndpoint", 5, 5, "address fd00::10:6443: too many colons in address");
}

#[test]
fn stricter_checks_say_so() {
    let h = HEAD;
    let g = GOOD_DISCOVERY;
    expect_problem(&format!("{h}discovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.10:6443\n    token: abcdef.0123456789abcdef\n    caCertHashes:\n    - 3f73af16\n"), "discovery.bootstrapToken.caCertHashes[0]", 8, 7, "kubeadm join would fail at discovery, where it reads the pins");
    expect_problem(&format!("{h}discovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.10:6443\n    token: abcdef.0123456789abcdef\n    caCertHash: []\n    unsafeSkipCAVerification: true\n"), "discovery.bootstrapToken.caCertHash", 7, 5, "unknown field \"caCertHash\"");
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  name: a\nnodeRegistration:\n  name: b\n"),
        "nodeRegistration",
        10,
        1,
        "key \"nodeRegistration\" already set in map (first at line 8)",
    );
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  kubeletExtraArgs:\n    node-ip: 10.0.0.1\n"),
        "nodeRegistration.kubeletExtraArgs",
        10,
        5,
        "expected a list, found a mapping",
    );
    expect_problem(
        &format!("{h}{g}timeouts:\n  discovery: 5\n"),
        "timeouts.discovery",
        9,
        14,
        "expected a duration string",
    );
    expect_problem(
        &format!("{h}{g}timeouts:\n  discovery: 5q\n"),
        "timeouts.discovery",
        9,
        14,
        "time: unknown unit \"q\" in duration \"5q\"",
    );
    expect_problem(
        &format!("{h}{g}  timeout: 5m\n"),
        "discovery.timeout",
        8,
        3,
        "it exists only in kubeadm.k8s.io/v1beta3",
    );
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  name: 1234\n"),
        "nodeRegistration.name",
        9,
        9,
        "expected a string, found a number",
    );
    expect_problem(
        &format!("{h}{g}nodeRegistration:\n  taints:\n  - key: a\n    effect: NoSchedul\n"),
        "nodeRegistration.taints[0].effect",
        11,
        5,
        "kubeadm does not validate taints",
    );
    expect_problem(&format!("{h}discovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.10:6443\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: yes\n"), "discovery.bootstrapToken.unsafeSkipCAVerification", 7, 31, "boolean only in YAML 1.1");
    // The suggestion names the nearest field.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.yaml");
    std::fs::write(&p, format!("{h}{g}nodeRegistraton:\n  name: a\n")).unwrap();
    let v = run(&["validate-config", p.to_str().unwrap(), "-o", "json"]).json();
    assert_eq!(v["problems"][0]["fix"], "did you mean \"nodeRegistration\"?");
}

#[test]
fn versions_kinds_documents_and_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let g = GOOD_DISCOVERY;
    // v1beta3: deprecated warning, still valid.
    let f = write("v3.yaml", &format!("apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\n{g}"));
    let r = run(&["validate-config", &f, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.json()["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("deprecated API spec: \"kubeadm.k8s.io/v1beta3\""));
    // v1beta2 / v1beta1: removed, naming the release.
    for (v, rel) in [("v1beta2", "v1.22"), ("v1beta1", "v1.15")] {
        let f = write("old.yaml", &format!("apiVersion: kubeadm.k8s.io/{v}\nkind: JoinConfiguration\n{g}"));
        let r = run(&["validate-config", &f, "-o", "json"]);
        assert_eq!(r.code, 53, "{}", r.stdout);
        let m = r.json()["problems"][0]["message"].as_str().unwrap().to_string();
        assert!(m.contains(&format!("old API spec: \"kubeadm.k8s.io/{v}\"")) && m.contains(rel), "{m}");
    }
    // Multi-document: other kinds noted and skipped.
    let f = write("multi.yaml", &format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\n{HEAD}{g}---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n"));
    let r = run(&["validate-config", &f, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let docs = r.json()["documents"].as_array().unwrap().clone();
    let actions: Vec<(&str, &str)> =
        docs.iter().map(|d| (d["kind"].as_str().unwrap(), d["action"].as_str().unwrap())).collect();
    assert_eq!(
        actions,
        vec![("InitConfiguration", "checked"), ("JoinConfiguration", "checked"), ("KubeletConfiguration", "checked")]
    );
    // Without an Init- or ClusterConfiguration kubeadm does not read the KubeletConfiguration.
    let f = write(
        "join-kubelet.yaml",
        &format!("{HEAD}{g}---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nbogus: 1\n"),
    );
    let r = run(&["validate-config", &f, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["documents"][1]["action"], "ignored");
    // Positions count from the file, not the document.
    let f = write("multi2.yaml", &format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\n{HEAD}{g}nodeRegistration:\n  name: Bad_1\n"));
    let v = run(&["validate-config", &f, "-o", "json"]).json();
    assert_eq!(v["problems"][0]["line"], 12);
    // No JoinConfiguration.
    // kubeadm config validate accepts a file without one; kubeadm join fails: a warning,
    // config-no-join-configuration with --strict.
    let f = write("none.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    let r = run(&["validate-config", &f, "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["problems"][0]["origin"], "beyond-kubeadm");
    let r = run(&["validate-config", "--strict", &f, "-o", "json"]);
    assert_eq!(r.code, 52);
    assert_eq!(r.json()["failure"]["code"], "config-no-join-configuration");
    // YAML syntax error with line and column.
    let f = write("syntax.yaml", &format!("{HEAD}discovery:\n  bootstrapToken: [unclosed\n  file: x\n"));
    let r = run(&["validate-config", &f, "-o", "json"]);
    assert_eq!(r.code, 51, "{}", r.stdout);
    let p = &r.json()["problems"][0];
    assert!(p["line"].as_u64().unwrap() >= 4 && p["column"].as_u64().unwrap() >= 1, "{p}");
    assert!(p["message"].as_str().unwrap().starts_with("YAML syntax error"));
    // Several files in one call; text output names file:line:col.
    let bad = write("bad.yaml", &format!("{HEAD}caCertPath: rel\n{g}"));
    let good = write("good.yaml", &format!("{HEAD}{g}"));
    let r = run(&["validate-config", &good, &bad]);
    assert_eq!(r.code, 50);
    assert!(
        r.stdout.contains(&format!(
            "{bad}:3:1: error: caCertPath: the ca certificate path must be an absolute path [kubeadm]"
        )),
        "{}",
        r.stdout
    );
    // Unreadable file.
    assert_eq!(run(&["validate-config", "/nonexistent.yaml", "-o", "json"]).code, 3);
    // Golden files validate.
    for gname in
        ["worker-v1beta4.yaml", "control-plane-v1beta4.yaml", "worker-v1beta3.yaml", "control-plane-v1beta3.yaml"]
    {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(gname);
        let r = run(&["validate-config", p.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{gname}: {}", r.stdout);
    }
}

#[test]
fn migrate_v1beta3_to_v1beta4() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/migrate-input-v1beta3.yaml");
    let r = run(&["migrate-config", src.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, golden("migrate-output-v1beta4.yaml"));
    // Every value is preserved: the models agree (the discovery timeout moved).
    let before = joinkit_core::config::check_text("a", &std::fs::read_to_string(&src).unwrap()).join.unwrap().0;
    let after = joinkit_core::config::check_text("b", &r.stdout).join.unwrap().0;
    let mut b = before.clone();
    b.kubelet_extra_args.sort();
    let mut a = after.clone();
    a.kubelet_extra_args.sort();
    assert_eq!(a, b);
    assert_eq!(after.discovery_timeout.as_deref(), Some("7m0s"));
    // It validates, and the other documents are kept.
    let out = dir.path().join("new.yaml");
    assert_eq!(run(&["migrate-config", src.to_str().unwrap(), "--output-file", out.to_str().unwrap()]).code, 0);
    assert_eq!(run(&["validate-config", out.to_str().unwrap()]).code, 0);
    assert!(std::fs::read_to_string(&out).unwrap().contains("kind: KubeletConfiguration"));
    // Already v1beta4: unchanged, exit 0.
    let r2 = run(&["migrate-config", out.to_str().unwrap()]);
    assert_eq!(r2.code, 0);
    assert_eq!(r2.stdout, std::fs::read_to_string(&out).unwrap());
    // Input with errors is refused.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"a:1\", unsafeSkipCAVerification: true}\n  timeot: 5m\n").unwrap();
    let r = run(&["migrate-config", bad.to_str().unwrap()]);
    assert_eq!(r.code, 50, "{}", r.stderr);
    assert!(r.stdout.is_empty() && r.stderr.contains("did you mean \"timeout\"?"), "{}", r.stderr);
}

/// A classic "billion laughs" JoinConfiguration: 9 levels of 9 aliases, 10^9 strings from 400
/// bytes (about 38 GB when expanded by copying).
fn billion_laughs() -> String {
    let mut s = format!("{HEAD}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let mut prev = 'a';
    for c in "bcdefghi".chars() {
        s.push_str(&format!("{c}: &{c} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
        prev = c;
    }
    s
}

#[test]
fn alias_bomb_is_a_yaml_syntax_error_quickly_and_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bomb.yaml");
    std::fs::write(&f, billion_laughs()).unwrap();
    let f = f.to_str().unwrap();
    let r = run_bounded(&["validate-config", f, "-o", "json"], 20);
    assert_eq!(r.code, Some(51), "stderr: {}", String::from_utf8_lossy(&r.stderr[..r.stderr.len().min(2000)]));
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["failure"]["code"], "config-yaml-syntax");
    let m = v["problems"][0]["message"].as_str().unwrap();
    assert!(m.contains("anchors and aliases expand to more than 100000 nodes"), "{m}");
    assert!(r.wall < std::time::Duration::from_secs(5), "{:?}", r.wall);
    assert!(r.max_rss_kib < 100 << 10, "peak RSS {} KiB", r.max_rss_kib);
    // migrate-config reads the same parser.
    let r = run_bounded(&["migrate-config", f], 20);
    assert_eq!(r.code, Some(51), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn devices_fifos_and_directories_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("join.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let fifo = fifo.to_str().unwrap();
    let dirs = dir.path().to_str().unwrap();
    for (path, kind) in [("/dev/zero", "a character device"), (fifo, "a FIFO"), (dirs, "a directory")] {
        for cmd in ["validate-config", "migrate-config"] {
            let r = run_bounded(&[cmd, path], 10);
            assert_eq!(r.code, Some(3), "{cmd} {path}: {}", String::from_utf8_lossy(&r.stderr));
            let text = String::from_utf8_lossy(&r.stdout).into_owned() + &String::from_utf8_lossy(&r.stderr);
            assert!(text.contains("input-unreadable") && text.contains(kind), "{cmd} {path}: {text}");
            assert!(r.wall < std::time::Duration::from_secs(5), "{cmd} {path}: {:?}", r.wall);
            assert!(r.max_rss_kib < 100 << 10, "{cmd} {path}: peak RSS {} KiB", r.max_rss_kib);
        }
    }
    // bootstrap --config reads the same way.
    let r = run_bounded(&["bootstrap", "--config", "/dev/zero", "-o", "json"], 10);
    assert_eq!(r.code, Some(3), "{}", String::from_utf8_lossy(&r.stdout));
    // A file larger than 16 MiB is refused without reading it all.
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big).unwrap().set_len((16 << 20) + 1).unwrap();
    let r = run_bounded(&["validate-config", big.to_str().unwrap()], 10);
    assert_eq!(r.code, Some(3));
    assert!(String::from_utf8_lossy(&r.stdout).contains("expected at most 16 MiB"));
}

#[test]
fn many_problems_and_long_values_give_small_output_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut y = format!("{HEAD}{GOOD_DISCOVERY}");
    for i in 0..5_000 {
        y.push_str(&format!("unknownKey{i:06}: 1\n"));
    }
    let long_key = "k".repeat(1 << 20);
    // An explicit key: implicit keys are limited to 1024 characters.
    y.push_str(&format!("? {long_key}\n: 1\n"));
    let f = dir.path().join("unknown.yaml");
    std::fs::write(&f, &y).unwrap();
    let f = f.to_str().unwrap();
    let r = run_bounded(&["validate-config", f], 60);
    assert_eq!(r.code, Some(50));
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(r.stdout.len() < 64 << 10, "text output {} bytes", r.stdout.len());
    assert!(out.contains(&format!("{f}: 4901 more problem(s) not shown (4901 error(s), 0 warning(s))")), "{out}");
    assert!(out.contains("1 file(s): 5001 error(s)"), "{out}");
    assert_eq!(out.matches(": error: ").count(), 100, "{out}");
    let r = run_bounded(&["validate-config", f, "-o", "json"], 60);
    assert!(r.stdout.len() < 64 << 10, "JSON output {} bytes", r.stdout.len());
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["problems"].as_array().unwrap().len(), 100);
    assert_eq!(v["problemsOmitted"][f], 4901);
    // A long value is echoed cut, saying how long it was.
    let mut y = format!("{HEAD}{GOOD_DISCOVERY}? {long_key}\n: 1\n");
    y.push_str(&format!("nodeRegistration:\n  name: \"{}\"\n", "n".repeat(1 << 20)));
    std::fs::write(f, &y).unwrap();
    let r = run_bounded(&["validate-config", f, "-o", "json"], 60);
    assert!(r.stdout.len() < 16 << 10, "JSON output {} bytes", r.stdout.len());
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["problemsOmitted"][f], 0);
    let m = v["problems"][0]["message"].as_str().unwrap();
    assert!(m.contains("… (1048576 bytes in all)") && m.len() < 1000, "{m}");
}

/// A failure about a file names the stage and the file separately (`failure.stage`,
/// `failure.file`; the stage record carries the file too), for validate-config's per-file stage
/// and for an unreadable input; render-config parses the endpoint with the one parser.
#[test]
fn failures_carry_stage_and_file_separately() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("bad.yaml");
    let r = render(&["10.0.0.10:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(&good, &r.stdout).unwrap();
    std::fs::write(&bad, r.stdout.replace(TOKEN, "not-a-token")).unwrap();
    let (g, b) = (good.to_str().unwrap(), bad.to_str().unwrap());
    let r = run(&["validate-config", g, b, "-o", "json"]);
    let v = common::assert_failure(&r, "config-invalid", "validate", r.code);
    assert_eq!(v["failure"]["file"], b, "{}", r.stdout);
    let stages = v["stages"].as_array().unwrap();
    let files: Vec<(&str, &str)> =
        stages.iter().map(|s| (s["name"].as_str().unwrap(), s["file"].as_str().unwrap_or(""))).collect();
    assert_eq!(files, [("validate", g), ("validate", b)], "{}", r.stdout);

    let missing = dir.path().join("missing.yaml");
    let r = run(&["validate-config", missing.to_str().unwrap(), "-o", "json"]);
    let v = common::assert_failure(&r, "input-unreadable", "read", r.code);
    assert_eq!(v["failure"]["file"], missing.to_str().unwrap(), "{}", r.stdout);

    // One endpoint parser: https://host:port is accepted as verify-discovery accepts it, and
    // written as kubeadm's host:port; http:// is refused at input.
    let r = render(&["https://10.0.0.10:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("apiServerEndpoint: 10.0.0.10:6443"), "{}", r.stdout);
    let r = render(&["http://10.0.0.10:6443", "--token", TOKEN, "--discovery-token-ca-cert-hash", PIN], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("bad-endpoint") && r.stdout.is_empty(), "{}\n{}", r.stdout, r.stderr);
}

/// cloud-init runs on the node, which cannot read a path on this machine: a local
/// `--discovery-file` is carried in `write_files` (0600) and the JoinConfiguration names where
/// it lands; an https URL stays a URL; a path that is not readable here, or a kubeconfig the
/// node could not use (a certificate-authority path), is refused before anything is written.
#[test]
fn cloud_init_carries_a_local_discovery_file_or_refuses_it() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let ca =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/client-cert-v1/ca.crt")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&ca);
    let disc = dir.path().join("discovery.conf");
    let kc = format!("apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://10.0.0.10:6443\n    certificate-authority-data: {b64}\ncontexts:\n- name: c\n  context: {{cluster: k, user: ''}}\ncurrent-context: c\nusers: []\n");
    std::fs::write(&disc, &kc).unwrap();
    let out = dir.path().join("user-data");
    let r = render(
        &["--discovery-file", disc.to_str().unwrap(), "--format", "cloud-init", "--output-file", out.to_str().unwrap()],
        &[("JOINKIT_TLS_BOOTSTRAP_TOKEN", TOKEN)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    let files = doc["write_files"].as_array().unwrap();
    let d = files
        .iter()
        .find(|f| f["path"] == "/etc/kubernetes/joinkit/discovery.conf")
        .expect("the discovery file is carried");
    assert_eq!((d["content"].as_str().unwrap(), d["permissions"].as_str().unwrap()), (kc.as_str(), "0600"));
    let join = files.iter().find(|f| f["path"] == "/etc/kubernetes/joinkit/join.yaml").unwrap();
    let cfg: Value = serde_saphyr::from_str(join["content"].as_str().unwrap()).unwrap();
    assert_eq!(cfg["discovery"]["file"]["kubeConfigPath"], "/etc/kubernetes/joinkit/discovery.conf", "{text}");
    assert!(!text.contains(disc.to_str().unwrap()), "this machine's path leaked into the user data: {text}");
    if let Some(ci) = tool("cloud-init") {
        let o = std::process::Command::new(ci).args(["schema", "-c", out.to_str().unwrap()]).output().unwrap();
        assert!(
            o.status.success(),
            "cloud-init schema: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // An https URL: kubeadm fetches it on the node; nothing to carry.
    let r = render(
        &["--discovery-file", "https://example.invalid/discovery.conf", "--format", "cloud-init"],
        &[("JOINKIT_TLS_BOOTSTRAP_TOKEN", TOKEN)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("kubeConfigPath: https://example.invalid/discovery.conf")
            && !r.stdout.contains("discovery.conf\n  owner"),
        "{}",
        r.stdout
    );
    // Not readable here: refused, nothing written.
    let out2 = dir.path().join("user-data-2");
    let r = render(
        &[
            "--discovery-file",
            "/nonexistent/discovery.conf",
            "--format",
            "cloud-init",
            "--output-file",
            out2.to_str().unwrap(),
            "-o",
            "json",
        ],
        &[("JOINKIT_TLS_BOOTSTRAP_TOKEN", TOKEN)],
    );
    let v = common::assert_failure(&r, "input-unreadable", "discovery-file", 3);
    assert!(v["failure"]["message"].as_str().unwrap().contains("/nonexistent/discovery.conf"), "{}", r.stdout);
    assert!(v["failure"]["fix"].as_str().unwrap().contains("--format yaml"), "{}", r.stdout);
    assert!(!out2.exists());
    // A CA path names a file on this machine: refused.
    std::fs::write(
        &disc,
        kc.replace(&format!("certificate-authority-data: {b64}"), "certificate-authority: /etc/kubernetes/pki/ca.crt"),
    )
    .unwrap();
    let r = render(
        &["--discovery-file", disc.to_str().unwrap(), "--format", "cloud-init", "-o", "json"],
        &[("JOINKIT_TLS_BOOTSTRAP_TOKEN", TOKEN)],
    );
    let v = common::assert_failure(&r, "bad-input-file", "discovery-file", 3);
    assert!(v["failure"]["message"].as_str().unwrap().contains("certificate-authority path"), "{}", r.stdout);
    // --format yaml keeps the path as given.
    std::fs::write(&disc, &kc).unwrap();
    let r = render(&["--discovery-file", disc.to_str().unwrap()], &[("JOINKIT_TLS_BOOTSTRAP_TOKEN", TOKEN)]);
    assert!(r.stdout.contains(&format!("kubeConfigPath: {}", disc.display())), "{}{}", r.stdout, r.stderr);
}
