//! Hostile CSRs against every `joinkit csr` command and output mode (the lab): no CSR content
//! makes a command panic or fail for the CSRs of others; one node's many large CSRs do not make
//! the list fail (it is paginated with a bound per page); a CSR with thousands of SANs is
//! refused by `request` quickly and its table row stays bounded.

use crate::common::{kubelet_csr_pem, lab, run};
use joinkit_lab::{Lab, Scenario};
use proptest::prelude::*;
use serde_json::{json, Value};

fn put_csr(lab: &Lab, name: &str, signer: &str, user: &str, usages: &[&str], request: &[u8]) {
    use base64::Engine;
    let obj = json!({"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1", "metadata": {"name": name},
        "spec": {"signerName": signer, "username": user, "groups": ["system:nodes"], "usages": usages,
            "request": base64::engine::general_purpose::STANDARD.encode(request)}, "status": {}});
    lab.state.lock().unwrap().store.put("certificatesigningrequests", "", name, obj);
}

fn put_node(lab: &Lab, name: &str, ip: &str) {
    let obj = json!({"kind": "Node", "apiVersion": "v1", "metadata": {"name": name},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}});
    lab.state.lock().unwrap().store.put("nodes", "", name, obj);
}

fn admin(lab: &Lab) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("admin.conf");
    std::fs::write(&kc, &lab.info.admin_kubeconfig).unwrap();
    let kc = kc.to_str().unwrap().to_string();
    (dir, kc)
}

/// Runs `joinkit csr ARGS --kubeconfig KC` and checks it ended as documented: no panic, an exit
/// code of the csr commands (0, 91 csr-check-failed, 92 csr-already-decided, 63 api-not-found),
/// and with `-o json` a JSON document on stdout.
fn csr_run(kc: &str, args: &[&str]) -> crate::common::Run {
    let mut a = vec!["csr"];
    a.extend_from_slice(args);
    a.extend(["--kubeconfig", kc]);
    let r = run(&a);
    assert!(!r.stderr.contains("panicked"), "{args:?} panicked: {}", r.stderr);
    assert!([0, 91, 92, 63].contains(&r.code), "{args:?} exited {}: {}{}", r.code, r.stdout, r.stderr);
    if args.windows(2).any(|w| w == ["-o", "json"]) {
        let _: Value = r.json();
    }
    r
}

/// A kubelet serving CSR request with `n` DNS SANs.
fn many_sans(n: usize) -> String {
    let sans: Vec<String> = (0..n).map(|i| format!("DNS:n{i}.example.com")).collect();
    let refs: Vec<&str> = sans.iter().map(String::as_str).collect();
    kubelet_csr_pem("system:node:n1", &["system:nodes"], &refs)
}

#[test]
fn csr_thousands_of_sans_are_refused_and_the_table_stays_bounded() {
    // Under the PEM bound, over the SAN bound: refused by `request` before any SAN is compared.
    let r = joinkit_core::csr::request::read(many_sans(200).as_bytes()).unwrap_err();
    assert!(r.contains("200 SANs: at most 64"), "{r}");
    let lab = lab(Scenario::Healthy);
    put_node(&lab, "n1", "10.0.0.11");
    put_csr(
        &lab,
        "wide",
        "kubernetes.io/kubelet-serving",
        "system:node:n1",
        &["digital signature", "server auth"],
        many_sans(3000).as_bytes(),
    );
    let (_d, kc) = admin(&lab);
    // The table first: 3,000 names in one cell overflowed the formatter's width (a panic).
    let r = csr_run(&kc, &["list"]);
    let longest = r.stdout.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest < 8 * 64 + 64, "a row of {longest} characters");
    let r = csr_run(&kc, &["explain", "wide", "-o", "json"]);
    let v = r.json();
    let req = v["csr"]["checks"].as_array().unwrap().iter().find(|c| c["check"] == "request").unwrap().clone();
    assert_eq!(req["passed"], false, "{req}");
    let why = req["why"].as_str().unwrap();
    assert!(why.contains("more than 16384 bytes"), "{req}");
}

#[test]
fn csr_one_nodes_many_large_csrs_do_not_fail_the_list_for_others() {
    let lab = lab(Scenario::Healthy);
    put_node(&lab, "n1", "10.0.0.11");
    put_node(&lab, "n2", "10.0.0.12");
    // n1 floods: 11 CSRs of 1.6 MB each (17.6 MB of requests, 23.5 MB of JSON: over the 16 MiB
    // body bound of one answer).
    let junk = vec![b'A'; 1_600_000];
    for i in 0..11 {
        put_csr(
            &lab,
            &format!("flood-{i}"),
            "kubernetes.io/kubelet-serving",
            "system:node:n1",
            &["server auth"],
            &junk,
        );
    }
    let good = kubelet_csr_pem("system:node:n2", &["system:nodes"], &["DNS:n2", "IP:10.0.0.12"]);
    put_csr(
        &lab,
        "good",
        "kubernetes.io/kubelet-serving",
        "system:node:n2",
        &["digital signature", "server auth"],
        good.as_bytes(),
    );
    let (_d, kc) = admin(&lab);
    // A debug build on a loaded machine reads the oversized pages slowly: a long request timeout.
    let r = csr_run(&kc, &["list", "-o", "json", "--request-timeout", "120s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["csrs"].as_array().unwrap().len(), 12);
    let r = csr_run(&kc, &["approve", "good", "-o", "json", "--request-timeout", "120s"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["csrs"][0]["action"], "approved");
    let r = csr_run(&kc, &["explain", "flood-0", "-o", "json", "--request-timeout", "120s"]);
    assert_eq!(r.code, 91);
}

/// A hostile value for a CSR field.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\PC]{0,40}",
        "[\\x00-\\x1f\\x7f]{1,20}",
        (1usize..70_000).prop_map(|n| "x".repeat(n)),
        Just("system:node:n1".to_string()),
        Just("\u{202e}\u{2028}\u{85}é中".to_string()),
    ]
}

/// A hostile `spec.request`.
fn hostile_request() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096),
        (0usize..200).prop_map(|n| many_sans(n).into_bytes()),
        hostile_text()
            .prop_map(|cn| kubelet_csr_pem(&cn.replace('\0', ""), &["system:nodes"], &["IP:10.0.0.11"]).into_bytes()),
        (hostile_text(), 0usize..3).prop_map(|(t, k)| {
            let pem = kubelet_csr_pem("system:node:n1", &["system:nodes"], &["IP:10.0.0.11"]);
            match k {
                0 => format!("{pem}{t}").into_bytes(),
                1 => format!("{t}{pem}").into_bytes(),
                _ => pem.replacen("\n", &format!("\n{t}"), 2).into_bytes(),
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]
    /// Random hostile CSRs (random bytes, up to 200 SANs, control characters, 70,000-character
    /// values, text around the PEM) through every csr command and output mode: never a panic,
    /// always a documented exit code, JSON when asked for.
    #[test]
    fn csr_no_csr_content_makes_a_command_panic(
        request in hostile_request(),
        signer in prop_oneof![Just("kubernetes.io/kubelet-serving".to_string()), Just("kubernetes.io/kube-apiserver-client-kubelet".to_string()), hostile_text()],
        user in hostile_text(),
        usage in hostile_text(),
    ) {
        let lab = lab(Scenario::Healthy);
        put_node(&lab, "n1", "10.0.0.11");
        put_csr(&lab, "h", &signer, &user, &[&usage, "server auth"], &request);
        let (_d, kc) = admin(&lab);
        for args in [
            &["list"][..], &["list", "-o", "json"], &["list", "-o", "yaml"],
            &["explain", "h"], &["explain", "h", "-o", "json"], &["explain", "h", "-o", "yaml"],
            &["approve", "h", "--dry-run", "-o", "json"], &["approve", "h", "--dry-run"],
            &["deny", "h", "--reason", "test", "--dry-run", "-o", "yaml"],
        ] {
            csr_run(&kc, args);
        }
    }
}
