//! explain-log: every catalog entry's examples are recognised as that entry, real-world
//! multi-line excerpts give the right root cause, clean logs say so, odd input is fine.

mod common;
use common::{run, run_with};
use joinkit::diagnose::explain::{catalog, Scanner};

const DOMAINS: &[&str] =
    &["network", "dns", "tls", "token", "rbac", "csr", "node-state", "clock", "config", "control-plane"];

#[test]
fn catalog_is_well_formed_and_every_example_matches_its_entry() {
    let cat = catalog();
    assert!(cat.signatures.len() >= 40, "{}", cat.signatures.len());
    let mut ids = std::collections::HashSet::new();
    for (i, s) in cat.signatures.iter().enumerate() {
        assert!(ids.insert(s.id.clone()), "duplicate id {}", s.id);
        assert!(DOMAINS.contains(&s.domain.as_str()), "{}: domain {}", s.id, s.domain);
        assert!(s.role == "cause" || s.role == "symptom", "{}", s.id);
        assert!(!s.examples.is_empty() && !s.meaning.is_empty() && !s.fix.is_empty(), "{}", s.id);
        for ex in &s.examples {
            let m = cat.matches(ex.as_bytes());
            assert!(m.contains(&i), "{}: example not matched: {ex}", s.id);
            // Through the binary too, as a one-line log.
            let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(format!("{ex}\n").as_bytes()));
            let v = r.json();
            assert!(
                v["findings"].as_array().unwrap().iter().any(|f| f["id"] == s.id.as_str()),
                "{}: {}",
                s.id,
                r.stdout
            );
        }
    }
    // Every kubeadm message of the spec has a signature.
    for msg in [
        "could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"",
        "token id \"abcdef\" is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token",
        "failed to verify JWS signature of received cluster info object, can't trust this API Server",
        "there is no kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up for token bootstrapping, can't connect",
        "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"sha256:00\" are pinned",
        "the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first",
        "failed to request the cluster-info ConfigMap: Get \"https://x:6443\": dial tcp x:6443: connect: connection refused",
        "invalid hash, expected \"format:hex-value\". Known format(s) are: sha256",
        "unknown hash format \"md5\". Known format(s) are: sha256",
        "a Node with name \"n\" and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node",
        "Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired.",
        "error decoding secret data with provided key",
        "could not find authentication credentials for the TLS bootstrap process.",
        "the bootstrap token \"x\" was not of the form \"y\"",
        "using token-based discovery without caCertHashes can be unsafe.",
    ] {
        assert!(!cat.matches(msg.as_bytes()).is_empty(), "no signature for kubeadm message: {msg}");
    }
}

fn explain(text: &str) -> serde_json::Value {
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(text.as_bytes()));
    r.json()
}

#[test]
fn real_world_excerpts() {
    // kubeadm join retrying discovery with an expired token (the kubernetes/kubernetes#109233 confusion).
    let kubeadm = "[preflight] Running pre-flight checks\n\
I1121 09:00:05.000000    4321 token.go:217] [discovery] Failed to request cluster-info, will try again: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n\
I1121 09:00:10.000000    4321 token.go:217] [discovery] Failed to request cluster-info, will try again: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n\
error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n\
To see the stack trace of this error execute with --v=5 or higher\n";
    let v = explain(kubeadm);
    assert_eq!(v["rootCause"]["id"], "kubeadm-jws-missing");
    assert_eq!(v["rootCause"]["count"], 3);
    assert_eq!(v["rootCause"]["lines"][0]["line"], 2);
    assert_eq!(v["failure"]["code"], "root-cause-token");
    assert_eq!(v["failure"]["exitCode"], 83);
    // A kubelet journal with a bad clock: the symptom (TLS bootstrap wait, node not found) comes
    // first, the cause (x509 validity) later; the cause wins.
    let journal = "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...\n\
Nov 21 09:00:01 worker-1 kubelet[1234]: E1121 09:00:01.000000    1234 kubelet.go:2424] \"Error getting node\" err=\"node \\\"worker-1\\\" not found\"\n\
Nov 21 09:00:02 worker-1 kubelet[1234]: E1121 09:00:02.000000    1234 certificate_manager.go:471] kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from the control plane: cannot create certificate signing request: Post \"https://10.0.0.10:6443/apis/certificates.k8s.io/v1/certificatesigningrequests\": x509: certificate has expired or is not yet valid: current time 2019-01-01T00:00:00Z is before 2026-11-21T08:00:00Z\n\
error execution phase kubelet-start: timed out waiting for the condition\n";
    let v = explain(journal);
    assert_eq!(v["rootCause"]["id"], "x509-expired-or-not-yet-valid");
    assert_eq!(v["failureDomain"], "clock");
    let ids: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids[0], "kubeadm-tls-bootstrap-wait", "findings in order of first appearance: {ids:?}");
    // EKS: cloud-init on a custom AMI without bootstrap.sh, then NodeCreationFailure.
    let eks = "Cloud-init v. 22.2.2 running 'modules:final' at Sat, 21 Nov 2026 09:00:00 +0000.\n\
/var/lib/cloud/instance/scripts/part-001: line 4: /etc/eks/bootstrap.sh: No such file or directory\n\
2026-11-21 09:00:01,000 - util.py[WARNING]: Failed running /var/lib/cloud/instance/scripts/part-001 [127]\n\
NodeCreationFailure: Instances failed to join the kubernetes cluster\n";
    let v = explain(eks);
    assert_eq!(v["rootCause"]["id"], "eks-bootstrap-sh-missing");
    // Preflight errors that mean "reset first".
    let pre = "[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists\n\t[ERROR Port-10250]: Port 10250 is in use\n\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists\n";
    let v = explain(pre);
    assert_eq!(v["rootCause"]["id"], "preflight-kubelet-conf-exists");
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);
    assert!(v["rootCause"]["fix"].as_str().unwrap().contains("kubeadm reset -f"));
}

#[test]
fn clean_logs_and_odd_input() {
    let ok = "[preflight] Running pre-flight checks\n[kubelet-start] Starting the kubelet\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n";
    let r = run_with(&["explain-log"], &[], Some(ok.as_bytes()));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("clean: no known join failure"), "{}", r.stdout);
    // Invalid UTF-8 and a line without a newline at the end.
    let mut bytes = b"\xff\xfe garbage\n".to_vec();
    bytes.extend_from_slice(b"dial tcp 10.0.0.10:6443: connect: no route to host");
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(&bytes));
    assert_eq!(r.code, 80, "{}", r.stdout);
    // Several files: locations name the file.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    std::fs::write(&a, ok).unwrap();
    std::fs::write(&b, "x\ndial tcp: lookup cp.example.com on 10.0.0.2:53: no such host\n").unwrap();
    let r = run(&["explain-log", a.to_str().unwrap(), b.to_str().unwrap(), "-o", "json"]);
    assert_eq!(r.code, 81);
    let v = r.json();
    assert_eq!(v["rootCause"]["lines"][0]["source"], b.to_str().unwrap());
    assert_eq!(v["rootCause"]["lines"][0]["line"], 2);
    assert_eq!(run(&["explain-log", "/nonexistent.log"]).code, 3);
}

#[test]
fn memory_is_bounded_per_finding() {
    let mut s = Scanner::new();
    let line = "dial tcp 10.0.0.10:6443: i/o timeout\n".repeat(1000);
    s.scan(std::io::Cursor::new(line), "mem").unwrap();
    let f = s.findings();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].count, 1000);
    assert_eq!(f[0].lines.len(), joinkit::diagnose::explain::MAX_LINES_PER_FINDING);
}
