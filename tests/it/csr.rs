//! `joinkit csr list|explain|approve|deny` against the lab: a kubelet-serving CSR made the way
//! the kubelet makes it passes every check and is approved with joinkit's condition; each
//! attack fails its own check and approve refuses it; `--dry-run` writes nothing; deny records
//! the reason; the `-o json` shape.

use crate::common::{assert_failure, kubelet_csr_pem, lab, run};
use joinkit_lab::{Lab, Scenario};
use serde_json::{json, Value};
use std::path::PathBuf;

struct Cluster {
    lab: Lab,
    dir: tempfile::TempDir,
}

const SERVING: &[&str] = &["digital signature", "server auth"];

impl Cluster {
    /// The lab with Nodes n1 (10.0.0.11, n1.internal) and n2 (10.0.0.12).
    fn new() -> Cluster {
        Cluster::with(Scenario::Healthy)
    }
    /// [`Cluster::new`] in another scenario.
    fn with(scenario: Scenario) -> Cluster {
        let lab = lab(scenario);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin.conf"), &lab.info.admin_kubeconfig).unwrap();
        let c = Cluster { lab, dir };
        c.node("n1", &[("InternalIP", "10.0.0.11"), ("Hostname", "n1"), ("InternalDNS", "n1.internal")]);
        c.node("n2", &[("InternalIP", "10.0.0.12"), ("Hostname", "n2")]);
        c
    }
    fn kc(&self) -> PathBuf {
        self.dir.path().join("admin.conf")
    }
    fn node(&self, name: &str, addrs: &[(&str, &str)]) {
        let a: Vec<Value> = addrs.iter().map(|(t, v)| json!({"type": t, "address": v})).collect();
        let obj = json!({"kind": "Node", "apiVersion": "v1", "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "addresses": a}});
        self.lab.state.lock().unwrap().store.put("nodes", "", name, obj);
    }
    /// Stores a CSR as the API server would after `user` in `groups` created it.
    fn csr(&self, name: &str, user: &str, groups: &[&str], usages: &[&str], request: &str) {
        use base64::Engine;
        let obj = json!({"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1", "metadata": {"name": name},
            "spec": {"signerName": "kubernetes.io/kubelet-serving", "username": user, "groups": groups, "usages": usages,
                "request": base64::engine::general_purpose::STANDARD.encode(request)}, "status": {}});
        self.lab.state.lock().unwrap().store.put("certificatesigningrequests", "", name, obj);
    }
    /// A kubelet's serving CSR for `node` with `sans`.
    fn serving(&self, name: &str, node: &str, sans: &[&str]) {
        let user = format!("system:node:{node}");
        self.csr(
            name,
            &user,
            &["system:nodes", "system:authenticated"],
            SERVING,
            &kubelet_csr_pem(&user, &["system:nodes"], sans),
        );
    }
    fn stored(&self, name: &str) -> Value {
        self.lab.state.lock().unwrap().store.get("certificatesigningrequests", "", name).cloned().unwrap()
    }
    fn joinkit(&self, args: &[&str]) -> crate::common::Run {
        let kc = self.kc();
        let mut a = vec!["csr"];
        a.extend_from_slice(args);
        a.extend(["--kubeconfig", kc.to_str().unwrap()]);
        run(&a)
    }
}

fn failed_checks(v: &Value) -> Vec<String> {
    v["csr"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn csr_a_kubelet_serving_csr_passes_and_is_approved_with_joinkits_condition() {
    let c = Cluster::new();
    c.serving("serving-n1", "n1", &["DNS:n1", "IP:10.0.0.11"]);
    let r = c.joinkit(&["explain", "serving-n1", "-o", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["csr"]["passed"], true);
    let stages: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    for s in [
        "kubeconfig",
        "list",
        "get",
        "requestor",
        "common-name",
        "organization",
        "usages",
        "san-types",
        "san-node",
        "san-reserved",
        "san-unique",
        "dns-names",
        "node-exists",
        "key",
        "pending-conflict",
        "verdict",
    ] {
        assert!(stages.contains(&s), "{s}: {stages:?}");
    }
    let text = c.joinkit(&["explain", "serving-n1"]);
    assert!(
        text.stdout.contains("san-node") && text.stdout.contains("every SAN is an address of Node n1"),
        "{}",
        text.stdout
    );

    let r = c.joinkit(&["approve", "serving-n1", "-o", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["csrs"][0]["action"], "approved");
    let stored = c.stored("serving-n1");
    let cond = &stored["status"]["conditions"][0];
    assert_eq!(cond["type"], "Approved");
    assert_eq!(cond["status"], "True");
    assert_eq!(cond["reason"], "JoinkitApproved");
    let msg = cond["message"].as_str().unwrap();
    assert!(msg.starts_with("approved by joinkit; all 16 checks passed (signer, request, requestor"), "{msg}");
    // Approving again changes nothing.
    let r = c.joinkit(&["approve", "serving-n1", "-o", "json"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.json()["csrs"][0]["action"], "unchanged");
    assert_eq!(c.stored("serving-n1")["status"]["conditions"].as_array().unwrap().len(), 1);
}

#[test]
fn csr_each_attack_fails_its_check_and_approve_refuses() {
    let c = Cluster::new();
    let p = |sans: &[&str]| kubelet_csr_pem("system:node:n1", &["system:nodes"], sans);
    type Setup = Box<dyn Fn(&Cluster, &str)>;
    let cases: Vec<(&str, Setup, &[&str])> = vec![
        (
            "other-nodes-ip",
            Box::new(|c: &Cluster, n: &str| c.serving(n, "n1", &["DNS:n1", "IP:10.0.0.12"])),
            &["san-node", "san-unique"],
        ),
        (
            "dns-not-on-node",
            Box::new(|c: &Cluster, n: &str| c.serving(n, "n1", &["DNS:n1", "DNS:kubernetes.default.svc"])),
            &["san-node", "san-reserved", "dns-names"],
        ),
        (
            // A node that writes the API server's name, its Service IP and another node's IP
            // into its own Node status: san-node passes, the defaults refuse each.
            "claims-written-into-its-own-node",
            Box::new(|c: &Cluster, n: &str| {
                c.node(
                    "n3",
                    &[
                        ("InternalIP", "10.0.0.13"),
                        ("Hostname", "n3"),
                        ("Hostname", "kubernetes.default.svc"),
                        ("InternalIP", "10.96.0.1"),
                        ("InternalIP", "10.0.0.12"),
                        ("InternalIP", "127.0.0.1"),
                        ("Hostname", "*.example.com"),
                    ],
                );
                c.serving(
                    n,
                    "n3",
                    &[
                        "DNS:n3",
                        "DNS:kubernetes.default.svc",
                        "DNS:*.example.com",
                        "IP:10.96.0.1",
                        "IP:10.0.0.12",
                        "IP:127.0.0.1",
                    ],
                )
            }),
            &["san-reserved", "san-unique"],
        ),
        (
            // The request the signer reads is not the one first in spec.request: two PEM
            // blocks (Go's pem.Decode skips the first when text follows its END line).
            "two-pem-blocks",
            Box::new(|c: &Cluster, n: &str| {
                let good = kubelet_csr_pem("system:node:n1", &["system:nodes"], &["IP:10.0.0.11"]);
                let evil = kubelet_csr_pem("system:node:n1", &["system:nodes"], &["DNS:kubernetes.default.svc"]);
                let two = format!("{}x\n{evil}", good.trim_end());
                c.csr(n, "system:node:n1", &["system:nodes"], SERVING, &two)
            }),
            &["request"],
        ),
        (
            "cn-mismatch",
            Box::new(|c: &Cluster, n: &str| {
                c.csr(
                    n,
                    "system:node:n1",
                    &["system:nodes"],
                    SERVING,
                    &kubelet_csr_pem("system:node:n2", &["system:nodes"], &["IP:10.0.0.11"]),
                )
            }),
            &["common-name"],
        ),
        (
            "masters",
            Box::new(|c: &Cluster, n: &str| {
                c.csr(
                    n,
                    "system:node:n1",
                    &["system:nodes"],
                    SERVING,
                    &kubelet_csr_pem("system:node:n1", &["system:nodes", "system:masters"], &["IP:10.0.0.11"]),
                )
            }),
            &["organization"],
        ),
        (
            "client-auth",
            Box::new(move |c: &Cluster, n: &str| {
                c.csr(
                    n,
                    "system:node:n1",
                    &["system:nodes"],
                    &["digital signature", "server auth", "client auth"],
                    &p(&["IP:10.0.0.11"]),
                )
            }),
            &["usages"],
        ),
        (
            "not-a-node",
            Box::new(move |c: &Cluster, n: &str| {
                c.csr(n, "mallory", &["system:authenticated"], SERVING, &p(&["IP:10.0.0.11"]))
            }),
            &["requestor", "common-name"],
        ),
        (
            "ghost-node",
            Box::new(|c: &Cluster, n: &str| c.serving(n, "ghost", &["DNS:ghost"])),
            &["san-node", "node-exists"],
        ),
    ];
    for (name, setup, checks) in cases {
        setup(&c, name);
        let r = c.joinkit(&["explain", name, "-o", "json"]);
        let v = assert_failure(&r, "csr-check-failed", "verdict", 91);
        assert_eq!(failed_checks(&v), checks, "{name}: {}", r.stdout);
        let r = c.joinkit(&["approve", name, "-o", "json"]);
        let v = assert_failure(&r, "csr-check-failed", "approve", 91);
        assert_eq!(v["csrs"][0]["action"], "refused");
        assert!(v["failure"]["message"].as_str().unwrap().contains(checks[0]), "{}", r.stdout);
        assert_eq!(c.stored(name)["status"], json!({}), "{name}: nothing written");
        c.lab.state.lock().unwrap().store.delete("certificatesigningrequests", "", name);
        c.lab.state.lock().unwrap().store.delete("nodes", "", "n3");
    }
    // Two at once: the good one is approved, the bad one refused.
    c.serving("good", "n2", &["IP:10.0.0.12"]);
    c.serving("bad", "n1", &["IP:10.0.0.12"]);
    let r = c.joinkit(&["approve", "good", "bad", "-o", "json"]);
    let v = assert_failure(&r, "csr-check-failed", "approve", 91);
    assert_eq!(v["csrs"][0]["action"], "approved");
    assert_eq!(v["csrs"][1]["action"], "refused");
    assert_eq!(c.stored("good")["status"]["conditions"][0]["type"], "Approved");
}

#[test]
fn csr_dry_run_changes_nothing() {
    let c = Cluster::new();
    c.serving("s", "n1", &["IP:10.0.0.11"]);
    let before = c.stored("s");
    for args in
        [&["approve", "s", "--dry-run", "-o", "json"][..], &["deny", "s", "--reason", "no", "--dry-run", "-o", "json"]]
    {
        let r = c.joinkit(args);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let v = r.json();
        assert_eq!(v["dryRun"], true);
        assert!(v["csrs"][0]["action"].as_str().unwrap().starts_with("would-"), "{}", r.stdout);
        assert!(v["csrs"][0]["condition"]["message"].as_str().unwrap().contains("joinkit"));
    }
    assert_eq!(c.stored("s"), before);
}

#[test]
fn csr_deny_records_the_reason_and_needs_one() {
    let c = Cluster::new();
    c.serving("bad", "n1", &["IP:10.0.0.12"]);
    let r = c.joinkit(&["deny", "bad"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--reason"), "{}", r.stderr);
    let r = c.joinkit(&["deny", "bad", "--reason", "IP SAN of node n2", "-o", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let cond = &c.stored("bad")["status"]["conditions"][0];
    assert_eq!(cond["type"], "Denied");
    assert_eq!(cond["reason"], "JoinkitDenied");
    assert_eq!(cond["message"], "denied by joinkit: IP SAN of node n2; failed checks: san-node, san-unique");
    // A denied CSR is not approved afterwards.
    let r = c.joinkit(&["approve", "bad", "-o", "json"]);
    assert_failure(&r, "csr-already-decided", "approve", 92);
    let r = c.joinkit(&["approve", "nosuch", "-o", "json"]);
    assert_failure(&r, "api-not-found", "get", 63);
}

#[test]
fn csr_list_json_and_text() {
    let c = Cluster::new();
    c.serving("ok", "n1", &["DNS:n1", "IP:10.0.0.11"]);
    c.serving("stray", "n1", &["IP:10.0.0.12"]);
    let r = c.joinkit(&["list", "-o", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["ok"], true);
    let rows = v["csrs"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let ok = rows.iter().find(|r| r["name"] == "ok").unwrap();
    for k in ["name", "signer", "requestor", "subject", "sans", "age", "condition", "verdict", "checks"] {
        assert!(ok.get(k).is_some(), "{k}: {ok}");
    }
    assert_eq!(ok["signer"], "kubernetes.io/kubelet-serving");
    assert_eq!(ok["requestor"], "system:node:n1");
    assert_eq!(ok["subject"], "CN=system:node:n1, O=system:nodes");
    assert_eq!(ok["sans"], json!(["DNS:n1", "IP:10.0.0.11"]));
    assert_eq!(ok["condition"], "Pending");
    // Two pending CSRs of n1 with different SANs: each conflicts with the other.
    assert_eq!(ok["verdict"], "fails: pending-conflict");
    let stray = rows.iter().find(|r| r["name"] == "stray").unwrap();
    assert_eq!(stray["verdict"], "fails: san-node, san-unique, pending-conflict");
    let text = c.joinkit(&["list"]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.starts_with("NAME"), "{}", text.stdout);
    assert!(text.stdout.contains("fails: san-node, san-unique, pending-conflict"), "{}", text.stdout);
    let r = c.joinkit(&["list", "--allowed-cidr", "10.0.0.0", "-o", "json"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
}

#[test]
fn csr_the_lab_refuses_approved_and_denied_together_as_the_api_server_does() {
    let c = Cluster::new();
    c.serving("s", "n1", &["IP:10.0.0.11"]);
    let mut obj = c.stored("s");
    obj["status"]["conditions"] = json!([{"type": "Approved", "status": "True", "reason": "A"}, {"type": "Denied", "status": "True", "reason": "D"}]);
    let auth = format!("Bearer {}", c.lab.info.admin_token);
    let path = "/apis/certificates.k8s.io/v1/certificatesigningrequests/s/approval";
    let put = |body: &Value| {
        crate::common::https(
            c.lab.endpoint(),
            &c.lab.info.ca_cert_pem,
            "PUT",
            path,
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(&body.to_string()),
        )
    };
    let r = put(&obj);
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["reason"], "Invalid");
    assert_eq!(v["details"]["causes"][0]["field"], "status.conditions[1].type");
    assert_eq!(
        v["message"],
        "CertificateSigningRequest.certificates.k8s.io \"s\" is invalid: status.conditions[1].type: Invalid value: \"Denied\": Approved and Denied conditions are mutually exclusive"
    );
    obj["status"]["conditions"] =
        json!([{"type": "Approved", "status": "True"}, {"type": "Approved", "status": "True"}]);
    let r = put(&obj);
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["details"]["causes"][0]["reason"], "FieldValueDuplicate");
    assert_eq!(c.stored("s")["status"], json!({}), "nothing stored");
    // A CSR that does not exist is a 404 Status.
    let r = crate::common::https(
        c.lab.endpoint(),
        &c.lab.info.ca_cert_pem,
        "PUT",
        "/apis/certificates.k8s.io/v1/certificatesigningrequests/nosuch/approval",
        &[("authorization", &auth)],
        Some("{}"),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["reason"], "NotFound");
}

#[test]
fn csr_the_approve_example_approves_the_good_and_leaves_the_bad() {
    let c = Cluster::new();
    c.serving("good", "n1", &["DNS:n1", "IP:10.0.0.11"]);
    c.serving("stray", "n2", &["IP:10.0.0.11"]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_joinkit")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new("bash")
        .arg(root.join("examples/approve-kubelet-serving.sh"))
        .env("PATH", path)
        .env("KUBECONFIG", c.kc())
        .current_dir(c.dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The pending serving CSRs: good passes and is approved; stray (n2 asking for n1's IP) is
    // left and explained.
    assert_eq!(out.status.code(), Some(91), "{stdout}\n{stderr}");
    assert!(stdout.contains("approved good"), "{stdout}");
    assert!(stderr.contains("LEFT stray") && stderr.contains("san-node"), "{stderr}");
    assert_eq!(c.stored("good")["status"]["conditions"][0]["reason"], "JoinkitApproved");
    assert!(c.stored("stray")["status"]["conditions"].is_null());
}

/// On a v1.24 API server (the lab's `Pre128` scenario serves v1.24.0's `/version` and runs its
/// signer's rule) a serving CSR without key encipherment is refused by `csr approve` with the
/// `usages` check naming the version; the lab's signer, like v1.24's, fails it once approved by
/// anyone else; with key encipherment it is approved and issued. tests/it/real_kubelet.rs shows
/// the same on the real v1.24.0 and v1.36.2.
#[test]
fn csr_approve_refuses_what_a_pre_1_27_signer_would_fail() {
    let c = Cluster::with(Scenario::Pre128);
    let user = "system:node:n1";
    let req = kubelet_csr_pem(user, &["system:nodes"], &["DNS:n1", "IP:10.0.0.11"]);
    c.csr("no-ke", user, &["system:nodes", "system:authenticated"], SERVING, &req);
    let r = c.joinkit(&["approve", "no-ke", "-o", "json"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["csrs"][0]["action"], "refused", "{}", r.stdout);
    let checks = &v["csrs"][0]["verdict"]["checks"];
    let failed: Vec<&Value> = checks.as_array().unwrap().iter().filter(|c| c["passed"] == false).collect();
    assert_eq!(failed.len(), 1, "{checks}");
    assert_eq!(failed[0]["check"], "usages");
    let why = failed[0]["why"].as_str().unwrap();
    assert!(why.contains("the API server is v1.24.0+0") && why.contains("key encipherment"), "{why}");
    assert!(c.stored("no-ke")["status"]["conditions"].is_null(), "nothing written");

    // Approved by someone else anyway: the signer fails it (the lab's, as v1.24.0's).
    {
        let mut st = c.lab.state.lock().unwrap();
        let mut o = st.store.get("certificatesigningrequests", "", "no-ke").cloned().unwrap();
        o["status"]["conditions"] =
            json!([{"type": "Approved", "status": "True", "reason": "KubectlApprove", "message": "by hand"}]);
        st.store.put("certificatesigningrequests", "", "no-ke", o);
    }
    let failed_cond = wait_condition(&c, "no-ke", "Failed");
    assert_eq!(failed_cond["reason"], "SignerValidationFailure");
    assert_eq!(failed_cond["message"], "usages did not match [digital signature key encipherment server auth]");
    assert!(c.stored("no-ke")["status"]["certificate"].is_null());

    // With key encipherment (what a v1.24 kubelet asks for): approved and issued.
    let req = kubelet_csr_pem(user, &["system:nodes"], &["DNS:n1", "IP:10.0.0.11"]);
    c.csr("with-ke", user, &["system:nodes"], &["digital signature", "key encipherment", "server auth"], &req);
    let r = c.joinkit(&["approve", "with-ke", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let t = std::time::Instant::now();
    while c.stored("with-ke")["status"]["certificate"].is_null() {
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "not issued: {}", c.stored("with-ke"));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn wait_condition(c: &Cluster, name: &str, type_: &str) -> Value {
    let t = std::time::Instant::now();
    loop {
        let o = c.stored(name);
        if let Some(x) = o["status"]["conditions"].as_array().and_then(|a| a.iter().find(|x| x["type"] == type_)) {
            return x.clone();
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "no {type_} condition: {o}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
