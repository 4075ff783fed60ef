//! The real cluster-info transcripts (rsa and ecdsa) verify with their token through
//! `--cluster-info-file`, as JSON, as YAML and from stdin; changes to them are caught.

use crate::common;
use common::{assert_failure, run_with, vectors};
use serde_json::Value;

fn transcript(kind: &str) -> (String, String, String) {
    let dir = vectors().join("apiserver-v1.24").join(kind);
    let body = std::fs::read_to_string(dir.join("cluster-info_after_signing.body")).unwrap();
    let token = std::fs::read_to_string(dir.join("token_used.txt")).unwrap().trim().to_string();
    // The pin of the CA inside the transcript (pin computation is checked by the ca-pins vectors).
    let v: Value = serde_json::from_str(&body).unwrap();
    let kc = joinkit_core::kubeconfig::Kubeconfig::parse(v["data"]["kubeconfig"].as_str().unwrap()).unwrap();
    let c = kc.cluster(None).unwrap();
    let ca = kc.ca_bytes(&c.cluster).unwrap().unwrap();
    let pin = joinkit_core::pin::pins_of_pem(&ca, "ca").unwrap()[0].to_string();
    (body, token, pin)
}

fn check(body: &[u8], token: &str, pin: &str) -> common::Run {
    run_with(
        &["verify-discovery", "--cluster-info-file", "-", "--discovery-token-ca-cert-hash", pin, "-o", "json"],
        &[("JOINKIT_TOKEN", token)],
        Some(body),
    )
}

#[test]
fn real_transcripts_verify() {
    for kind in ["rsa", "ecdsa"] {
        let (body, token, pin) = transcript(kind);
        let r = check(body.as_bytes(), &token, &pin);
        assert_eq!(r.code, 0, "{kind}: {}", r.stdout);
        let v = r.json();
        assert_eq!(v["ok"], true);
        assert_eq!(v["apiServer"], "https://127.0.0.1:6443");
        assert_eq!(v["caPin"], pin);
        // The secret never appears in the output.
        let secret = token.split('.').nth(1).unwrap();
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
        // YAML, as `kubectl get cm -o yaml` prints it, from a file.
        let yaml = serde_saphyr::to_string(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ci.yaml");
        std::fs::write(&p, yaml).unwrap();
        let r = run_with(
            &["verify-discovery", "--cluster-info-file", p.to_str().unwrap(), "--discovery-token-ca-cert-hash", &pin],
            &[("JOINKIT_TOKEN", &token)],
            None,
        );
        assert_eq!(r.code, 0, "{kind} yaml: {}", r.stdout);
    }
}

#[test]
fn changed_transcripts_fail() {
    let (body, token, pin) = transcript("rsa");
    let (id, _) = token.split_once('.').unwrap();
    // Wrong secret.
    let r = check(body.as_bytes(), &format!("{id}.0000000000000000"), &pin);
    let v = assert_failure(&r, "jws-invalid", "jws-verify", 32);
    assert_eq!(
        v["failure"]["kubeadmMessage"],
        "couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server"
    );
    // Content changed after signing (server rewritten).
    let tampered = body.replace("server: https://127.0.0.1:6443", "server: https://127.0.0.2:6443");
    assert_ne!(tampered, body);
    assert_failure(&check(tampered.as_bytes(), &token, &pin), "jws-invalid", "jws-verify", 32);
    // Another pin.
    let r = check(body.as_bytes(), &token, &format!("sha256:{}", "ab".repeat(32)));
    let v = assert_failure(&r, "pin-mismatch", "ca-pin", 40);
    assert!(v["failure"]["message"].as_str().unwrap().contains(&pin));
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().contains("none of the public keys"));
    // Another token ID.
    let r = check(body.as_bytes(), "zzzzzz.0123456789abcdef", &pin);
    let v = assert_failure(&r, "jws-missing", "jws-present", 30);
    assert_eq!(v["failure"]["retryable"], false);
    assert_eq!(v["signedTokenIds"], serde_json::json!([id]), "the signed tokens are listed");
    // The pre-signing transcript has no signature at all.
    let before = std::fs::read(vectors().join("apiserver-v1.24/rsa/cluster-info_before_signing.body")).unwrap();
    let v = assert_failure(&check(&before, &token, &pin), "jws-none-signed", "jws-present", 33);
    assert!(v["failure"]["message"].as_str().unwrap().contains("no token at all is signed"));
    assert_eq!((&v["failure"]["retryable"], &v["signedTokenIds"]), (&Value::Bool(true), &serde_json::json!([])));
    // Not a ConfigMap / broken kubeconfig.
    let r = check(br#"{"kind":"Secret","data":{}}"#, &token, &pin);
    assert_failure(&r, "bad-input-file", "cluster-info", 3);
    // An unparseable kubeconfig with a signature that does not verify: kubeadm checks the JWS
    // over the raw text first (validateClusterInfoToken, then clientcmd.Load), so this is
    // jws-invalid with kubeadm's message, not kubeconfig-invalid.
    let r =
        check(br#"{"kind":"ConfigMap","data":{"kubeconfig":"clusters: 5","jws-kubeconfig-v49uhc":"x"}}"#, &token, &pin);
    assert_failure(&r, "jws-invalid", "jws-verify", 32);
    // A CA *path* from the network is never opened, signed or not: unsigned it is jws-invalid at
    // once (no hang on /dev/zero or a FIFO); correctly signed it is kubeconfig-invalid.
    let (id, secret) = token.split_once('.').unwrap();
    let path_kc = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority: /dev/zero\n    server: https://127.0.0.1:6443\n  name: \"\"\n";
    let unsigned = serde_json::json!({"kind": "ConfigMap", "data": {"kubeconfig": path_kc, format!("jws-kubeconfig-{id}"): "e30..AAAA"}});
    let started = std::time::Instant::now();
    assert_failure(&check(unsigned.to_string().as_bytes(), &token, &pin), "jws-invalid", "jws-verify", 32);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let signed = serde_json::json!({"kind": "ConfigMap", "data": {"kubeconfig": path_kc, format!("jws-kubeconfig-{id}"): joinkit_core::jws::sign_detached(path_kc, id, secret)}});
    let v = assert_failure(&check(signed.to_string().as_bytes(), &token, &pin), "kubeconfig-invalid", "kubeconfig", 24);
    assert!(v["failure"]["message"].as_str().unwrap().contains("never opened"), "{v}");
    // A signed kubeconfig whose server is plain http: refused (no credential ever goes over it).
    let http_kc = body_kubeconfig(&body).replace("server: https://", "server: http://");
    let signed = serde_json::json!({"kind": "ConfigMap", "data": {"kubeconfig": http_kc, format!("jws-kubeconfig-{id}"): joinkit_core::jws::sign_detached(&http_kc, id, secret)}});
    let v = assert_failure(&check(signed.to_string().as_bytes(), &token, &pin), "kubeconfig-invalid", "kubeconfig", 24);
    assert!(v["failure"]["message"].as_str().unwrap().contains("not an https:// URL"), "{v}");
    let r = check(br#"{"kind":"ConfigMap","data":{"jws-kubeconfig-v49uhc":"x"}}"#, &token, &pin);
    assert_failure(&r, "kubeconfig-missing", "kubeconfig", 23);
}

/// The kubeconfig string inside a cluster-info body (JSON).
fn body_kubeconfig(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["data"]["kubeconfig"].as_str().unwrap().to_string()
}

#[test]
fn bundled_vectors_match_shared_copy() {
    // tests/vectors is a copy of ../shared/vectors; when the shared copy is present, they agree.
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    if !shared.exists() {
        return;
    }
    for rel in [
        "jws.json",
        "ca-pins/pins.tsv",
        "apiserver-v1.24/rsa/cluster-info_after_signing.body",
        "apiserver-v1.24/ecdsa/token_used.txt",
    ] {
        assert_eq!(std::fs::read(shared.join(rel)).unwrap(), std::fs::read(vectors().join(rel)).unwrap(), "{rel}");
    }
    // The TLS-bootstrap recordings are copied whole: every file, both ways.
    for dir in ["apiserver-v1.24/bootstrap", "apiserver-v1.36/bootstrap"] {
        if !shared.join(dir).exists() {
            continue;
        }
        let (ours, theirs) = (files_under(&vectors().join(dir)), files_under(&shared.join(dir)));
        assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>(), "{dir}: file list");
        for (rel, bytes) in &theirs {
            assert!(ours[rel] == *bytes, "{dir}/{rel} differs from the shared copy");
        }
    }
}

/// Every file under `root` (recursively): relative path → contents.
fn files_under(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}
