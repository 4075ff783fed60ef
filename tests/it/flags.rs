//! One flag language across commands: `-o/--output` is always the report format and files are
//! written with `--output-file` (0600, atomic); a flag several commands take reads the same
//! environment variable in each (derived from the clap definitions); verify-discovery takes
//! `--config` as bootstrap and diagnose do; one JSON style (camelCase keys, lower-case
//! enumerated values) in every command's `-o json`.

use crate::common;
use common::{lab, run, run_with};
use joinkit_lab::Scenario;
use serde_json::Value;
use std::collections::BTreeMap;

/// Every command of the tree with its path (`joinkit token create`).
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(path: String, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands() {
            walk(format!("{path} {}", sub.get_name()), sub, out);
        }
    }
    let mut all = Vec::new();
    let mut root = joinkit::cli::command();
    root.build();
    walk("joinkit".into(), &root, &mut all);
    all
}

#[test]
fn a_flag_reads_the_same_environment_variable_in_every_command() {
    // long flag -> (command, its env var or none)
    let mut by_flag: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    for (path, c) in commands() {
        for a in c.get_arguments() {
            // A long flag by its name, a positional argument (ENDPOINT) by its id.
            let key = match a.get_long() {
                Some(l) if ["help", "version"].contains(&l) => continue,
                Some(l) => l.to_string(),
                None if a.is_positional() => format!("<{}>", a.get_id()),
                None => continue,
            };
            let env = a.get_env().map(|e| e.to_string_lossy().into_owned());
            by_flag.entry(key).or_default().push((path.clone(), env));
        }
    }
    let mut shared = 0;
    let mut bad = Vec::new();
    for (flag, uses) in &by_flag {
        let mut commands: Vec<&str> = uses.iter().map(|(p, _)| p.as_str()).collect();
        commands.dedup();
        if commands.len() < 2 {
            continue;
        }
        shared += 1;
        let envs: std::collections::BTreeSet<&Option<String>> = uses.iter().map(|(_, e)| e).collect();
        if envs.len() > 1 {
            bad.push(format!("--{flag}: {uses:?}"));
        }
    }
    assert!(bad.is_empty(), "flags whose environment variable differs between commands:\n{}", bad.join("\n"));
    // The flags this rule is about are among those checked (it cannot pass by finding none).
    for flag in [
        "discovery-token-ca-cert-hash",
        "discovery-token-unsafe-skip-ca-verification",
        "token",
        "token-file",
        "node-name",
        "certificate-key",
        "output-file",
        "output",
        "<endpoint>",
    ] {
        assert!(by_flag.get(flag).is_some_and(|u| u.len() >= 2), "{flag}: {:?}", by_flag.get(flag));
    }
    assert!(shared >= 15, "only {shared} shared flags found");
}

const PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";

/// What render-config, bootstrap and diagnose read from the environment, verify-discovery reads
/// too: with only JOINKIT_API_SERVER_ENDPOINT, JOINKIT_TOKEN and
/// JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH exported, it checks that endpoint with that pin (it
/// used to ignore both and fail with `no-pins`).
#[test]
fn verify_discovery_reads_the_shared_environment_variables() {
    let l = lab(Scenario::Healthy);
    let env = [
        ("JOINKIT_API_SERVER_ENDPOINT", l.endpoint()),
        ("JOINKIT_TOKEN", l.info.token.as_str()),
        ("JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH", l.info.ca_pin.as_str()),
    ];
    let r = run_with(&["verify-discovery", "-o", "json"], &env, None);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["caPin"], l.info.ca_pin.as_str(), "{}", r.stdout);
    // A wrong pin from the environment is used, not ignored.
    let wrong = [env[0], env[1], ("JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH", PIN)];
    let r = run_with(&["verify-discovery", "-o", "json"], &wrong, None);
    assert_eq!(r.json()["failure"]["code"], "pin-mismatch", "{}", r.stdout);
    // The command line wins over the environment (endpoint and pin).
    let r = run_with(
        &["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &l.info.ca_pin, "-o", "json"],
        &[("JOINKIT_API_SERVER_ENDPOINT", "127.0.0.1:1"), env[1], ("JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH", PIN)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
}

/// An exported variable never conflicts with the command line: `--cluster-info-file` with
/// JOINKIT_API_SERVER_ENDPOINT and JOINKIT_DISCOVERY_FILE exported uses the file; two excluding
/// sources both on the command line, or both exported, are a usage error naming both.
#[test]
fn the_command_line_wins_over_an_excluded_environment_variable() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let ci = dir.path().join("cluster-info.json");
    let h = common::https(
        l.endpoint(),
        &l.info.ca_cert_pem,
        "GET",
        "/api/v1/namespaces/kube-public/configmaps/cluster-info",
        &[],
        None,
    );
    std::fs::write(&ci, &h.body).unwrap();
    let token =
        [("JOINKIT_TOKEN", l.info.token.as_str()), ("JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH", l.info.ca_pin.as_str())];
    let r = run_with(
        &["verify-discovery", "--cluster-info-file", ci.to_str().unwrap(), "-o", "json"],
        &[
            token[0],
            token[1],
            ("JOINKIT_API_SERVER_ENDPOINT", "127.0.0.1:1"),
            ("JOINKIT_DISCOVERY_FILE", "/nonexistent"),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Both on the command line: usage, naming both.
    let r = run_with(
        &["verify-discovery", l.endpoint(), "--cluster-info-file", ci.to_str().unwrap(), "-o", "json"],
        &token,
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    let m = r.json()["failure"]["message"].as_str().unwrap().to_string();
    assert!(m.contains("--cluster-info-file") && m.contains("ENDPOINT"), "{m}");
    // Both exported: usage, naming both variables.
    let r = run_with(
        &["verify-discovery", "-o", "json"],
        &[token[0], token[1], ("JOINKIT_API_SERVER_ENDPOINT", l.endpoint()), ("JOINKIT_DISCOVERY_FILE", "/x.conf")],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    let m = r.json()["failure"]["message"].as_str().unwrap().to_string();
    assert!(m.contains("JOINKIT_API_SERVER_ENDPOINT") && m.contains("JOINKIT_DISCOVERY_FILE"), "{m}");
}

/// `verify-discovery --config FILE` reads a JoinConfiguration as bootstrap and diagnose do
/// (the same loader): its endpoint, token and pins; exported discovery variables do not
/// override it, and a discovery flag next to it is a usage error.
#[test]
fn verify_discovery_takes_a_join_configuration() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("join.yaml");
    let r = run_with(
        &[
            "render-config",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--output-file",
            cfg.to_str().unwrap(),
        ],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = cfg.to_str().unwrap();
    let r = run_with(&["verify-discovery", "--config", c, "-o", "json"], &[], None);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["caPin"], l.info.ca_pin.as_str());
    let r = run_with(
        &["verify-discovery", "--config", c, "-o", "json"],
        &[("JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH", PIN), ("JOINKIT_API_SERVER_ENDPOINT", "127.0.0.1:1")],
        None,
    );
    assert_eq!(r.code, 0, "the config wins over exported variables: {}", r.stdout);
    let r =
        run_with(&["verify-discovery", "--config", c, "--discovery-token-ca-cert-hash", PIN, "-o", "json"], &[], None);
    assert_eq!(r.code, 2, "{}", r.stdout);
    // A config with a wrong pin fails as that pin, at the pin stage.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(&l.info.ca_pin, PIN);
    std::fs::write(&cfg, text).unwrap();
    let r = run_with(&["verify-discovery", "--config", c, "-o", "json"], &[], None);
    assert_eq!(r.json()["failure"]["code"], "pin-mismatch", "{}", r.stdout);
}

/// `-o/--output` is the report format on every command; `--output FILE` on a command that
/// writes a document is a usage error naming `--output-file`, and writes nothing; the file
/// flag writes mode 0600.
#[test]
fn output_is_the_format_and_output_file_writes_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("join.yaml");
    let o = out.to_str().unwrap();
    let env = [("JOINKIT_TOKEN", "abcdef.0123456789abcdef")];
    let render = ["render-config", "10.0.0.1:6443", "--discovery-token-ca-cert-hash", PIN];
    for form in [vec!["--output", o], vec![&*format!("--output={o}")], vec!["-o", o]] {
        let mut a = render.to_vec();
        a.extend(form.iter().copied());
        let r = run_with(&a, &env, None);
        assert_eq!(r.code, 2, "{a:?}: {}", r.stderr);
        assert!(r.stderr.contains("--output-file") && r.stderr.contains("report format"), "{}", r.stderr);
        assert!(!out.exists(), "{a:?} wrote a file");
        assert!(!std::path::Path::new("json").exists());
    }
    // `--output json` is the format: a report with the document, not a file named json.
    let mut a = render.to_vec();
    a.extend(["--output", "json"]);
    let r = run_with(&a, &env, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.json()["document"].as_str().unwrap().contains("kind: JoinConfiguration"), "{}", r.stdout);
    // --output-file: 0600, and with -o json the report names the file.
    let mut a = render.to_vec();
    a.extend(["--output-file", o, "-o", "json"]);
    let r = run_with(&a, &env, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["outputFile"], o);
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    // migrate-config: the same two flags.
    let v1beta3 = dir.path().join("v1beta3.yaml");
    std::fs::write(
        &v1beta3,
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.1:6443\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\n",
    )
    .unwrap();
    let migrated = dir.path().join("v1beta4.yaml");
    let r = run(&["migrate-config", v1beta3.to_str().unwrap(), "--output", migrated.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--output-file") && !migrated.exists(), "{}", r.stderr);
    let r = run(&["migrate-config", v1beta3.to_str().unwrap(), "--output-file", migrated.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(std::fs::metadata(&migrated).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&migrated).unwrap().contains("v1beta4"));
    // A command without a file flag: the error says what -o is and names no file flag.
    let r = run(&["ca-hash", "-o", o]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("report format") && !r.stderr.contains("--output-file"), "{}", r.stderr);
}

/// `token create --output-file`: the printed join command (it holds the token) goes to a 0600
/// file, not stdout.
#[test]
fn token_create_writes_its_secret_with_the_file_flag() {
    use std::os::unix::fs::PermissionsExt;
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("admin.conf");
    std::fs::write(&kc, &l.info.admin_kubeconfig).unwrap();
    let out = dir.path().join("join.sh");
    let r = run(&[
        "token",
        "create",
        "--print-join-command",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--output-file",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("kubeadm join "));
}

/// Fields whose values are enumerated (a status, a severity, a code, a domain): lower-case in
/// every command's JSON.
const ENUM_FIELDS: &[&str] =
    &["status", "severity", "code", "failureDomain", "domain", "confidence", "verdict", "stage", "type", "decision"];

/// Walks `v`: every object key camelCase (starts lower-case, no `_`, `-` or space), every string
/// value of an [`ENUM_FIELDS`] key lower-case. Keys inside objects that carry Kubernetes or
/// user data verbatim (a ConfigMap's `data`, labels, `problemsOmitted` keyed by file name)
/// are not joinkit's and are skipped.
fn check_style(path: &str, v: &Value, bad: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let camel = k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && k.chars().all(|c| c.is_ascii_alphanumeric());
                if !camel {
                    bad.push(format!("{path}: key {k:?} is not camelCase"));
                }
                if ENUM_FIELDS.contains(&k.as_str()) {
                    if let Some(s) = child.as_str() {
                        if s.chars().any(|c| c.is_ascii_uppercase()) {
                            bad.push(format!("{path}.{k}: enumerated value {s:?} is not lower-case"));
                        }
                    }
                }
                if ["data", "labels", "annotations", "extra", "problemsOmitted"].contains(&k.as_str()) {
                    continue;
                }
                check_style(&format!("{path}.{k}"), child, bad);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                check_style(&format!("{path}[{i}]"), x, bad);
            }
        }
        _ => {}
    }
}

/// Every command's `-o json`, on input each can take without a real cluster (the lab, files,
/// a closed port, bad input), prints camelCase keys and lower-case enumerated values; diagnose
/// once wrote `root_cause`, `failure_domain` and `CRITICAL`.
#[test]
fn every_command_json_is_camel_case_with_lower_case_enums() {
    let l = lab(Scenario::Healthy);
    let faulty = lab(Scenario::TokenExpired);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kc = d.join("admin.conf");
    std::fs::write(&kc, &l.info.admin_kubeconfig).unwrap();
    let kc = kc.to_str().unwrap().to_string();
    let bad_cfg = d.join("bad.yaml");
    std::fs::write(
        &bad_cfg,
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: nope\n    tokn: x\n",
    )
    .unwrap();
    let bad_cfg = bad_cfg.to_str().unwrap().to_string();
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/testcerts/ca-p256.crt");
    let log = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/logs/001-jws-missing-bootstrap-signer-rbac.log");
    let root = crate::diagnose::fake_root(d);
    let root = root.to_str().unwrap().to_string();
    let token = l.info.token.clone();
    let id = token.split('.').next().unwrap().to_string();
    let tok = [("JOINKIT_TOKEN", token.as_str())];
    let ftok = [("JOINKIT_TOKEN", faulty.info.token.as_str())];
    let pin = l.info.ca_pin.clone();
    type Case<'a> = (Vec<&'a str>, &'a [(&'a str, &'a str)]);
    let cases: Vec<Case> = vec![
        (vec!["ca-hash", ca], &[]),
        (vec!["ca-hash", "/nonexistent.crt"], &[]),
        (vec!["verify-discovery", l.endpoint(), "--discovery-token-ca-cert-hash", &pin], &tok),
        (vec!["verify-discovery", faulty.endpoint(), "--discovery-token-ca-cert-hash", &faulty.info.ca_pin], &ftok),
        (vec!["verify-discovery", "127.0.0.1:1", "--discovery-token-ca-cert-hash", PIN], &tok),
        (vec!["render-config", "10.0.0.1:6443", "--discovery-token-ca-cert-hash", PIN], &tok),
        (vec!["render-config", "10.0.0.1:6443"], &[]),
        (vec!["validate-config", &bad_cfg], &[]),
        (vec!["migrate-config", &bad_cfg], &[]),
        (
            vec![
                "bootstrap",
                l.endpoint(),
                "--discovery-token-ca-cert-hash",
                &pin,
                "--node-name",
                "style-1",
                "--timeout",
                "5s",
            ],
            &tok,
        ),
        (
            vec![
                "bootstrap",
                faulty.endpoint(),
                "--discovery-token-ca-cert-hash",
                &faulty.info.ca_pin,
                "--timeout",
                "2s",
            ],
            &ftok,
        ),
        (
            vec![
                "diagnose",
                l.endpoint(),
                "--discovery-token-ca-cert-hash",
                &pin,
                "--node-name",
                "style-2",
                "--root",
                &root,
                "--kubelet-healthz",
                "off",
                "--timeout",
                "2s",
                "--kubeconfig",
                &kc,
            ],
            &tok,
        ),
        (
            vec![
                "diagnose",
                faulty.endpoint(),
                "--discovery-token-ca-cert-hash",
                &faulty.info.ca_pin,
                "--node-name",
                "style-3",
                "--root",
                &root,
                "--kubelet-healthz",
                "off",
                "--timeout",
                "2s",
            ],
            &ftok,
        ),
        (vec!["explain-log", log], &[]),
        (vec!["token", "create", "--kubeconfig", &kc, "--print-join-command"], &[]),
        (vec!["token", "list", "--kubeconfig", &kc], &[]),
        (vec!["token", "describe", &id, "--kubeconfig", &kc], &[]),
        (vec!["token", "delete", "zzzzzz", "--kubeconfig", &kc], &[]),
        (vec!["csr", "list", "--kubeconfig", &kc], &[]),
        (vec!["csr", "explain", "no-such-csr", "--kubeconfig", &kc], &[]),
        (vec!["csr", "approve", "no-such-csr", "--dry-run", "--kubeconfig", &kc], &[]),
        (vec!["csr", "deny", "no-such-csr", "--kubeconfig", &kc], &[]),
        (vec!["csr", "approver", "--kubeconfig", "/nonexistent"], &[]),
        (vec!["lab", "demo"], &[]),
        (vec!["verify-discovery", "--bogus"], &[]),
    ];
    let mut bad = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (args, env) in &cases {
        let mut a = args.clone();
        a.extend(["-o", "json"]);
        let r = run_with(&a, env, None);
        let v: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{a:?}: stdout is not JSON ({e}): {}\nstderr {}", r.stdout, r.stderr));
        let name = v["command"].as_str().map(str::to_string).unwrap_or_else(|| args[0].to_string());
        seen.insert(name);
        check_style(&format!("{a:?}"), &v, &mut bad);
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // Every command with -o is among those run (a new command must be added here).
    for (path, c) in commands() {
        if c.get_arguments().any(|a| a.get_short() == Some('o')) {
            let p = path.trim_start_matches("joinkit ").to_string();
            assert!(cases.iter().any(|(a, _)| a.join(" ").starts_with(&p)), "{p} has -o but is not run here");
        }
    }
    assert!(seen.len() >= 12, "{seen:?}");
}
