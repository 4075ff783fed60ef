//! `joinkit bootstrap` against the lab: the happy path issues a certificate that verifies
//! independently (openssl) and is cleaned up; each failure scenario gives its own code and fix;
//! --write-dir leaves files the real kubectl can use; --config; the watch.

use crate::common;
use common::{assert_failure, lab, run_with, vectors};
use joinkit_lab::{Lab, Scenario};
use serde_json::Value;
use std::path::PathBuf;

fn admin_conf(l: &Lab, dir: &std::path::Path) -> PathBuf {
    let p = dir.join("admin.conf");
    std::fs::write(&p, &l.info.admin_kubeconfig).unwrap();
    p
}

fn bootstrap(l: &Lab, extra: &[&str]) -> common::Run {
    let mut args = vec!["bootstrap", l.endpoint(), "--discovery-token-ca-cert-hash", &l.info.ca_pin, "-o", "json"];
    args.extend_from_slice(extra);
    run_with(&args, &[("JOINKIT_TOKEN", &l.info.token)], None)
}

fn csrs(l: &Lab) -> Vec<Value> {
    l.state.lock().unwrap().store.list("certificatesigningrequests", "").into_iter().cloned().collect()
}

#[test]
fn happy_path_issues_a_verifiable_certificate_and_cleans_up() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let admin = admin_conf(&l, dir.path());
    let r = bootstrap(&l, &["--node-name", "worker-7", "--kubeconfig", admin.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let names: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    // The typed flow is the list of stages after discovery's, by these names, in this order.
    use joinkit_core::report::StageId;
    let flow: Vec<&str> = joinkit_core::bootstrap::BOOTSTRAP_FLOW.iter().map(|s| s.name()).collect();
    assert_eq!(
        flow,
        [
            "authenticate",
            "authorize",
            "node-name",
            "csr",
            "submit",
            "approval",
            "certificate",
            "node-identity",
            "write",
            "cleanup",
        ]
    );
    let after_discovery: Vec<&str> = names.iter().copied().filter(|n| flow.contains(n)).collect();
    assert_eq!(after_discovery, flow, "every bootstrap stage, in the flow's order");
    assert!(
        v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "pass" || (s["name"] == "write" && s["status"] == "skip")),
        "{}",
        r.stdout
    );
    assert_eq!(v["bootstrapIdentity"]["username"], format!("system:bootstrap:{}", l.token().id()));
    assert!(csrs(&l).is_empty(), "the dry run left the CSR behind");
    assert_eq!(v["csrCleanup"], "deleted", "{}", r.stdout);
    // The secret appears nowhere.
    assert!(!r.stdout.contains(l.token().secret()) && !r.stderr.contains(l.token().secret()));
    // Watch, not poll: a handful of requests in all.
    assert!(l.counters().requests < 20, "{:?}", l.counters());
    // The closing line says what happened to the CSR: deleted here; left (a bootstrap token
    // may not delete CSRs) or kept, never "cleaned up" after a warning that it was left.
    let text = |extra: &[&str]| {
        let mut args = vec![
            "bootstrap",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--node-name",
            "worker-8",
        ];
        args.extend_from_slice(extra);
        run_with(&args, &[("JOINKIT_TOKEN", &l.info.token)], None)
    };
    let t = text(&["--kubeconfig", admin.to_str().unwrap()]);
    assert!(t.code == 0 && t.stdout.contains("(dry run: its CSR deleted)"), "{}", t.stdout);
    let t = text(&[]);
    let cleanup = t.stdout.lines().find(|l| l.contains("cleanup")).unwrap_or_default().to_string();
    if cleanup.contains("was left on the cluster") {
        assert!(t.stdout.contains("(dry run: its CSR was left on the cluster, see the cleanup stage)"), "{}", t.stdout);
    } else {
        assert!(t.stdout.contains("(dry run: its CSR deleted)"), "{}", t.stdout);
    }
    assert!(!t.stdout.contains("cleaned up"), "{}", t.stdout);
    let t = text(&["--keep-csr"]);
    assert!(t.stdout.contains("(dry run: --keep-csr kept its CSR on the cluster)"), "{}", t.stdout);
}

#[test]
fn csr_is_the_kubelets_and_the_certificate_verifies_independently() {
    let l = lab(Scenario::Healthy);
    let r = bootstrap(&l, &["--node-name", "test-node", "--keep-csr"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let name = r.json()["csrName"].as_str().unwrap().to_string();
    let csr = csrs(&l).into_iter().find(|c| c["metadata"]["name"] == name.as_str()).expect("--keep-csr kept it");
    // Same spec as the kubelet's CSR in the v1.24 recording.
    let rec: Value =
        serde_json::from_slice(&std::fs::read(vectors().join("apiserver-v1.24/rsa/csr_create_response.body")).unwrap())
            .unwrap();
    assert_eq!(csr["spec"]["signerName"], rec["spec"]["signerName"]);
    assert_eq!(csr["spec"]["usages"], rec["spec"]["usages"]);
    assert_eq!(csr["spec"]["groups"], rec["spec"]["groups"]);
    assert!(name.starts_with("node-csr-") && name.len() == "node-csr-".len() + 43, "{name}");
    // The subject matches the recorded CSR's (O=system:nodes, CN=system:node:test-node).
    let dir = tempfile::tempdir().unwrap();
    let req_pem = joinkit_core::kubeconfig::decode_b64(csr["spec"]["request"].as_str().unwrap()).unwrap();
    std::fs::write(dir.path().join("ours.csr"), &req_pem).unwrap();
    let subj = |f: &std::path::Path| {
        let o =
            std::process::Command::new("openssl").args(["req", "-noout", "-subject", "-in"]).arg(f).output().unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap()
    };
    assert_eq!(subj(&dir.path().join("ours.csr")), subj(&vectors().join("apiserver-v1.24/rsa/csr_test-node.csr")));
    // openssl verifies the issued certificate against the lab CA, for client auth.
    let cert = joinkit_core::kubeconfig::decode_b64(csr["status"]["certificate"].as_str().unwrap()).unwrap();
    std::fs::write(dir.path().join("node.crt"), &cert).unwrap();
    std::fs::write(dir.path().join("ca.crt"), &l.info.ca_cert_pem).unwrap();
    let o = std::process::Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(dir.path().join("ca.crt"))
        .arg(dir.path().join("node.crt"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    // Without --kubeconfig the token may not delete the CSR: said, not hidden.
    let r = bootstrap(&l, &["--node-name", "test-node-2"]);
    assert_eq!(r.code, 0);
    let cleanup = r.json()["stages"].as_array().unwrap().iter().find(|s| s["name"] == "cleanup").unwrap().clone();
    assert_eq!(cleanup["status"], "warn");
    assert!(cleanup["detail"].as_str().unwrap().contains("may not delete CSRs"));
}

fn scenario(s: Scenario, node: &str, code: &str, stage: &str, exit: i32) -> Value {
    let l = lab(s);
    let dir = tempfile::tempdir().unwrap();
    let admin = admin_conf(&l, dir.path());
    let r = bootstrap(&l, &["--node-name", node, "--timeout", "1s", "--kubeconfig", admin.to_str().unwrap()]);
    let v = assert_failure(&r, code, stage, exit);
    // Failed runs clean up too.
    if stage == "approval" {
        assert!(csrs(&l).is_empty(), "{s:?}: CSR left behind");
    }
    v
}

#[test]
fn each_failure_has_its_own_code_and_fix() {
    let v = scenario(Scenario::NoAutoapproveBinding, "n1", "csr-pending-no-autoapprove", "approval", 73);
    let fix = v["failure"]["fix"].as_str().unwrap();
    assert!(fix.contains("kubeadm:node-autoapprove-bootstrap"), "{fix}");
    // The lab's token is in kubeadm's default group (SelfSubjectReview says so): that group.
    assert!(fix.contains("--group=system:bootstrappers:kubeadm:default-node-token"), "{fix}");
    // The dry run deletes its CSR on exit: no advice to approve that CSR by name.
    assert!(!fix.contains("certificate approve node-csr-") && fix.contains("deleted on exit"), "{fix}");
    // With --keep-csr it stays, and approving it by name is the advice.
    let l = lab(Scenario::NoAutoapproveBinding);
    let r = bootstrap(&l, &["--node-name", "n1", "--timeout", "1s", "--keep-csr"]);
    let v2 = assert_failure(&r, "csr-pending-no-autoapprove", "approval", 73);
    let fix = v2["failure"]["fix"].as_str().unwrap();
    assert!(fix.contains("`kubectl certificate approve node-csr-") && fix.contains("--keep-csr keeps it"), "{fix}");
    assert!(csrs(&l).iter().any(|c| fix.contains(c["metadata"]["name"].as_str().unwrap())), "{fix}");
    // kubeadm v1.36 never sees the CSR: whatever stops the kubelet's TLS bootstrap, its line is
    // the kubelet-wait-bootstrap timeout (observed: real_control_plane's TimesOut rows).
    let tls_timeout = "failed while waiting for TLS bootstrap: context deadline exceeded";
    assert_eq!(v["failure"]["kubeadmMessage"], tls_timeout);
    let v = scenario(Scenario::ApproverDown, "n1", "csr-pending-no-approver", "approval", 74);
    assert!(v["failure"]["cause"].as_str().unwrap().contains("controller-manager"));
    assert_eq!(v["failure"]["kubeadmMessage"], tls_timeout);
    let v = scenario(Scenario::CsrSignerDown, "n1", "csr-approved-not-issued", "approval", 75);
    assert!(v["failure"]["cause"].as_str().unwrap().contains("--cluster-signing-cert-file"));
    assert_eq!(v["failure"]["kubeadmMessage"], tls_timeout);
    let v = scenario(Scenario::CsrDenied, "n1", "csr-denied", "approval", 76);
    assert!(v["failure"]["message"].as_str().unwrap().contains("Denied"));
    assert_eq!(v["failure"]["kubeadmMessage"], tls_timeout);
    let v = scenario(Scenario::NoBootstrapperBinding, "n1", "csr-create-forbidden", "authorize", 71);
    assert!(v["failure"]["fix"].as_str().unwrap().contains("kubeadm:kubelet-bootstrap"));
    // The API server's 403 is what the kubelet logs, not kubeadm's line.
    assert_eq!(v["failure"]["kubeadmMessage"], tls_timeout);
    assert!(v["failure"]["cause"].as_str().unwrap().contains("cannot create resource \"certificatesigningrequests\""));
    let v = scenario(Scenario::ReadyNodeExists, "worker-1", "node-name-taken", "node-name", 72);
    assert_eq!(
        v["failure"]["kubeadmMessage"],
        "a Node with name \"worker-1\" and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node"
    );
    let l = lab(Scenario::Healthy);
    let r = bootstrap(&l, &["--node-name", "Bad_Name"]);
    assert_failure(&r, "bad-node-name", "node-name", 2);
}

#[test]
fn token_without_authentication_usage_is_rejected_with_evidence() {
    let l = lab(Scenario::Healthy);
    let t = joinkit_core::token::BootstrapToken::generate();
    {
        let mut s = l.state.lock().unwrap();
        let secret = joinkit_lab::token_secret(&t, None, &["signing"], &[], "");
        s.store.put("secrets", "kube-system", &format!("bootstrap-token-{}", t.id()), secret);
        s.reconcile();
    }
    let r = run_with(
        &[
            "bootstrap",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--node-name",
            "n1",
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", &t.expose())],
        None,
    );
    let v = assert_failure(&r, "bootstrap-token-rejected", "authenticate", 70);
    assert!(v["failure"]["cause"].as_str().unwrap().contains("authentication"));
}

#[test]
fn pre_1_28_server_falls_back_to_access_reviews() {
    let l = lab(Scenario::Pre128);
    let r = bootstrap(&l, &["--node-name", "old-node"]);
    // The pre-1-28 lab answers SelfSubjectReview as the recorded v1.24 server does
    // (tests/vectors/apiserver-v1.24/bootstrap/whoami_token_v1): 403 Forbidden for the bootstrap
    // token (RBAC runs before routing; only authorized admins see 404), and 403 for the node
    // certificate too (nodecert_whoami_v1). The client falls back to access reviews on both;
    // before that fix this stopped with api-forbidden at the authenticate stage.
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let auth = v["stages"].as_array().unwrap().iter().find(|s| s["name"] == "authenticate").unwrap().clone();
    assert!(auth["detail"].as_str().unwrap().contains("does not serve SelfSubjectReview"), "{auth}");
    let id = v["stages"].as_array().unwrap().iter().find(|s| s["name"] == "node-identity").unwrap().clone();
    assert_eq!(id["status"], "pass");
}

#[test]
fn write_dir_files_work_with_kubectl_and_config_input() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("etc-kubernetes");
    // Inputs from a JoinConfiguration rendered by render-config.
    let cfg = dir.path().join("join.yaml");
    let r = run_with(
        &[
            "render-config",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--node-name",
            "cfg-node",
            "--output-file",
            cfg.to_str().unwrap(),
        ],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_with(
        &["bootstrap", "--config", cfg.to_str().unwrap(), "--write-dir", out.to_str().unwrap(), "-o", "json"],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    use std::os::unix::fs::PermissionsExt;
    for f in ["bootstrap-kubelet.conf", "kubelet.conf", "pki/ca.crt"] {
        let m = std::fs::metadata(out.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600, "{f}");
    }
    let kubectl = |conf: &str, args: &[&str]| {
        std::process::Command::new("/usr/bin/kubectl")
            .arg("--kubeconfig")
            .arg(out.join(conf))
            .args(args)
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    // The kubelet's kubeconfig authenticates as the node: its own Node is simply not there yet.
    let o = kubectl("kubelet.conf", &["get", "--raw", "/api/v1/nodes/cfg-node"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("NotFound") || err.contains("not found"), "{err}");
    let o = kubectl("kubelet.conf", &["auth", "whoami", "-o", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let who: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(who["status"]["userInfo"]["username"], "system:node:cfg-node");
    // The bootstrap kubeconfig is the token's identity.
    let o = kubectl("bootstrap-kubelet.conf", &["auth", "whoami", "-o", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let who: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(who["status"]["userInfo"]["username"], format!("system:bootstrap:{}", l.token().id()));
}

/// `--config` discovers with `discovery.bootstrapToken.token` and authenticates the TLS
/// bootstrap with `discovery.tlsBootstrapToken` when the two differ (kubeadm's rule). Before the
/// fix the JWS was checked with tlsBootstrapToken: `jws-missing` for a config validate-config
/// accepts. With an unknown TLS bootstrap token, discovery passes and the API server rejects it.
#[test]
fn config_discovers_with_bootstrap_token_and_bootstraps_with_tls_bootstrap_token() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("join.yaml");
    let other = "zzzzzz.0123456789abcdef";
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: \"{}\"\n    token: {}\n    caCertHashes:\n    - {}\n  tlsBootstrapToken: {other}\nnodeRegistration:\n  name: tls-token-node\n",
            l.endpoint(),
            l.info.token,
            l.info.ca_pin
        ),
    )
    .unwrap();
    let r = run_with(&["validate-config", cfg.to_str().unwrap()], &[], None);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = run_with(&["bootstrap", "--config", cfg.to_str().unwrap(), "-o", "json"], &[], None);
    let v = common::assert_failure(&r, "bootstrap-token-rejected", "authenticate", 70);
    let stages = v["stages"].as_array().unwrap();
    assert!(stages.iter().any(|s| s["name"] == "jws-verify" && s["status"] == "pass"), "{}", r.stdout);
    // The same tokens in both fields: the whole dry run passes.
    let same = std::fs::read_to_string(&cfg).unwrap().replace(other, &l.info.token);
    std::fs::write(&cfg, same).unwrap();
    let r = run_with(&["bootstrap", "--config", cfg.to_str().unwrap(), "-o", "json"], &[], None);
    assert_eq!(r.code, 0, "{}", r.stdout);
}
