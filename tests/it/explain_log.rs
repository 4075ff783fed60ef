//! explain-log: every catalog entry's examples are recognised as that entry, real-world
//! multi-line excerpts give the right root cause, clean logs say so, odd input is fine.

use crate::common;
use common::{run, run_bounded, run_with};
use joinkit_core::diagnose::explain::{catalog, Scanner, ROLES};

#[test]
fn catalog_is_well_formed_and_every_example_matches_its_entry() {
    let cat = catalog();
    assert!(cat.signatures.len() >= 40, "{}", cat.signatures.len());
    let mut ids = std::collections::HashSet::new();
    for (i, s) in cat.signatures.iter().enumerate() {
        assert!(ids.insert(s.id.clone()), "duplicate id {}", s.id);
        assert!(ROLES.contains(&s.role.as_str()), "{}: role {}", s.id, s.role);
        // Failures need a domain (it picks the exit code); context entries may omit it.
        // (A domain outside joinkit_core::error::Domain does not even parse.)
        assert!(s.domain.is_some() || !s.is_failure(), "{}: a failure signature needs a domain", s.id);
        assert!(!s.examples.is_empty() && !s.meaning.is_empty() && !s.fix.is_empty(), "{}", s.id);
        for ex in &s.examples {
            let m = cat.matches(ex.as_bytes());
            assert!(m.contains(&i), "{}: example not matched: {ex}", s.id);
            // Through the binary too, as a one-line log: failures are findings (and decide a
            // non-zero exit); progress and success lines are context only (exit 0).
            let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(format!("{ex}\n").as_bytes()));
            let v = r.json();
            let list = if s.is_failure() { "findings" } else { "context" };
            assert!(
                v[list].as_array().unwrap().iter().any(|f| f["id"] == s.id.as_str()),
                "{}: not in {list}: {}",
                s.id,
                r.stdout
            );
            if s.is_failure() {
                assert_ne!(r.code, 0, "{}: {}", s.id, r.stdout);
            } else {
                assert_eq!(r.code, 0, "{}: {}", s.id, r.stdout);
                assert!(v["findings"].as_array().unwrap().is_empty() && v["rootCause"].is_null(), "{}: {v}", s.id);
                assert_eq!(v["joined"].is_null(), s.role != "success", "{}: {v}", s.id);
            }
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
    // A kubelet journal with a bad clock: the progress line (TLS bootstrap wait) and a symptom
    // (node not found) come first, the cause (x509 validity) later; the cause wins.
    let journal = "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...\n\
Nov 21 09:00:01 worker-1 kubelet[1234]: E1121 09:00:01.000000    1234 kubelet.go:2424] \"Error getting node\" err=\"node \\\"worker-1\\\" not found\"\n\
Nov 21 09:00:02 worker-1 kubelet[1234]: E1121 09:00:02.000000    1234 certificate_manager.go:471] kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from the control plane: cannot create certificate signing request: Post \"https://10.0.0.10:6443/apis/certificates.k8s.io/v1/certificatesigningrequests\": x509: certificate has expired or is not yet valid: current time 2019-01-01T00:00:00Z is before 2026-11-21T08:00:00Z\n\
error execution phase kubelet-start: timed out waiting for the condition\n";
    let v = explain(journal);
    assert_eq!(v["rootCause"]["id"], "x509-expired-or-not-yet-valid");
    assert_eq!(v["failureDomain"], "clock");
    let ids: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["kubelet-node-not-found", "x509-expired-or-not-yet-valid", "kubeadm-timed-out"],
        "findings in order of first appearance; the progress line is none of them"
    );
    assert_eq!(v["context"][0]["id"], "kubeadm-tls-bootstrap-wait");
    assert_eq!(v["decidedBy"][0]["line"], 3);
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
    assert_eq!(f[0].lines.len(), joinkit_core::diagnose::explain::MAX_LINES_PER_FINDING);
}

const JWS_MISSING: &str = "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";

#[test]
fn devices_and_directories_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for (path, kind) in [("/dev/zero", "a character device"), (dir.path().to_str().unwrap(), "a directory")] {
        let r = run_bounded(&["explain-log", path, "-o", "json"], 10);
        assert_eq!(r.code, Some(3), "{path}: {}", String::from_utf8_lossy(&r.stderr));
        let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(v["failure"]["code"], "input-unreadable");
        let m = v["failure"]["message"].as_str().unwrap();
        assert!(m.contains(kind) && m.contains("expected a log file, a pipe or a FIFO"), "{m}");
        assert!(r.wall < std::time::Duration::from_secs(5), "{path}: {:?}", r.wall);
        assert!(r.max_rss_kib < 100 << 10, "{path}: peak RSS {} KiB", r.max_rss_kib);
    }
}

#[test]
fn fifos_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("kubelet.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let w = fifo.clone();
    // The writer comes late: explain-log waits for it instead of reading an empty log.
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        std::fs::write(w, format!("starting\n{JWS_MISSING}")).unwrap();
    });
    let r = run_bounded(&["explain-log", fifo.to_str().unwrap(), "-o", "json"], 20);
    writer.join().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["rootCause"]["id"], "kubeadm-jws-missing", "{v}");
    assert_eq!(v["lines"], 2);
}

#[test]
fn a_10_mb_line_is_cut_in_bounded_memory_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.log");
    std::fs::write(&small, JWS_MISSING).unwrap();
    let long = dir.path().join("long.log");
    // A signature inside the kept prefix of the long line, and one on the line after it.
    let mut data = b"kubelet: x509: certificate has expired or is not yet valid ".to_vec();
    data.resize(10 << 20, b'x');
    data.push(b'\n');
    data.extend_from_slice(JWS_MISSING.as_bytes());
    std::fs::write(&long, &data).unwrap();
    let base = run_bounded(&["explain-log", small.to_str().unwrap(), "-o", "json"], 20);
    let r = run_bounded(&["explain-log", long.to_str().unwrap(), "-o", "json"], 20);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["lines"], 2);
    assert_eq!(v["truncatedLines"], 1, "{v}");
    let ids: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"kubeadm-jws-missing"), "the line after the long one is matched: {ids:?}");
    assert!(ids.len() >= 2, "the long line's kept prefix is matched too: {ids:?}");
    let stage = &v["stages"][0];
    assert_eq!(stage["status"], "warn", "{stage}");
    assert!(stage["detail"].as_str().unwrap().contains("1 longer than 64 KiB, matched on their first 64 KiB only"));
    // Memory: a 10 MB line costs no more than a one-line log, give or take a few MiB (reading
    // the whole line, as before, cost 10+ MiB more).
    let grew = r.max_rss_kib - base.max_rss_kib;
    assert!(grew < 5 << 10, "peak RSS {} KiB vs {} KiB for a one-line log", r.max_rss_kib, base.max_rss_kib);
    // Text output says so too, and is small.
    let r = run_bounded(&["explain-log", long.to_str().unwrap()], 20);
    assert!(r.stdout.len() < 16 << 10, "{} bytes", r.stdout.len());
    assert!(String::from_utf8_lossy(&r.stdout).contains("longer than 64 KiB"));
}

// ---- successful joins, progress lines, retries ----

/// `kubeadm join` output of a successful worker join, v1.24–v1.29 style.
const JOIN_OK_V124: &str = "[preflight] Running pre-flight checks
[preflight] Reading configuration from the cluster...
[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'
[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"
[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"
[kubelet-start] Starting the kubelet
[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...

This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.

";

/// The same, v1.30+ style (kubelet health check before the TLS bootstrap wait).
const JOIN_OK_V130: &str = "[preflight] Running pre-flight checks
[preflight] Reading configuration from the cluster...
[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'
[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"
[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"
[kubelet-start] Starting the kubelet
[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s
[kubelet-check] The kubelet is healthy after 1.001s
[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap

This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.

";

fn ids(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key].as_array().map(|a| a.iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

#[test]
fn a_successful_join_is_a_success_and_its_progress_lines_are_context() {
    for (name, log, joined_at) in [("v1.24", JOIN_OK_V124, 9), ("v1.30", JOIN_OK_V130, 11)] {
        let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(log.as_bytes()));
        assert_eq!(r.code, 0, "{name}: {}", r.stdout);
        let v = r.json();
        assert_eq!(v["ok"], true, "{name}");
        assert!(v["failure"].is_null() && v["rootCause"].is_null() && v["decidedBy"].is_null(), "{name}: {v}");
        assert!(ids(&v, "findings").is_empty(), "{name}: progress lines are no findings: {v}");
        assert!(ids(&v, "resolved").is_empty(), "{name}: {v}");
        assert!(ids(&v, "context").contains(&"kubeadm-tls-bootstrap-wait".to_string()), "{name}: {v}");
        assert_eq!(v["joined"]["line"], joined_at, "{name}: {v}");
        assert_eq!(v["joined"]["signature"], "kubeadm-join-succeeded", "{name}: {v}");
        // Text: clean, and says where the join succeeded.
        let r = run_with(&["explain-log"], &[], Some(log.as_bytes()));
        assert_eq!(r.code, 0, "{name}");
        assert!(r.stdout.contains(&format!("the join succeeded at line {joined_at}")), "{name}: {}", r.stdout);
        assert!(!r.stdout.contains("root cause") && !r.stdout.contains("FAILED"), "{name}: {}", r.stdout);
    }
    // A control-plane join ends with a longer success line.
    let cp = JOIN_OK_V130.replace(
        "This node has joined the cluster:",
        "This node has joined the cluster and a new control plane instance was created:",
    );
    let v = explain(&cp);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["joined"]["line"], 11, "{v}");
}

#[test]
fn a_failed_attempt_fixed_by_a_retry_is_resolved_not_a_root_cause() {
    let log = format!(
        "[preflight] Running pre-flight checks
I1121 09:00:05.000000    4321 token.go:217] [discovery] Failed to request cluster-info, will try again: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"
error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"
To see the stack trace of this error execute with --v=5 or higher
[reset] Reading configuration from the cluster...
[reset] Stopping the kubelet service
[reset] Unmounting mounted directories in \"/var/lib/kubelet\"
[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]
{JOIN_OK_V124}"
    );
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(log.as_bytes()));
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["ok"], true);
    assert!(v["rootCause"].is_null() && v["failure"].is_null(), "{v}");
    assert!(ids(&v, "findings").is_empty(), "{v}");
    assert_eq!(ids(&v, "resolved"), vec!["kubeadm-jws-missing"], "{v}");
    assert_eq!(v["resolved"][0]["count"], 2);
    assert_eq!(v["resolved"][0]["lines"][0]["line"], 2);
    assert_eq!(v["joined"]["line"], 17, "{v}");
    let r = run_with(&["explain-log"], &[], Some(log.as_bytes()));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("the join succeeded at line 17"), "{}", r.stdout);
    assert!(r.stdout.contains("kubeadm-jws-missing (resolved)"), "{}", r.stdout);
}

#[test]
fn failures_after_a_successful_join_still_count() {
    let log = format!(
        "{JOIN_OK_V124}Nov 21 09:05:00 worker-1 kubelet[1234]: E1121 09:05:00.000000    1234 reflector.go:138] Failed to watch *v1.Node: x509: certificate signed by unknown authority\n"
    );
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(log.as_bytes()));
    assert_eq!(r.code, 82, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["rootCause"]["id"], "x509-unknown-authority");
    assert_eq!(v["joined"]["line"], 9);
    assert_eq!(v["decidedBy"][0]["line"], 15, "{v}");
    assert!(v["failure"]["message"].as_str().unwrap().contains("after the join succeeded at line 9"), "{v}");
}

#[test]
fn a_tls_bootstrap_timeout_is_decided_by_the_failure_line_not_the_progress_line() {
    // Timed out with nothing more specific: the timeout (a symptom) is the root cause.
    let timeout = "[preflight] Running pre-flight checks
[kubelet-start] Starting the kubelet
[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...
error execution phase kubelet-start: error uploading crisocket: timed out waiting for the condition
To see the stack trace of this error execute with --v=5 or higher
";
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(timeout.as_bytes()));
    assert_eq!(r.code, 85, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["rootCause"]["id"], "kubeadm-timed-out", "{v}");
    assert_eq!(v["decidedBy"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["decidedBy"][0]["line"], 4, "{v}");
    assert_eq!(v["decidedBy"][0]["signature"], "kubeadm-timed-out", "{v}");
    assert_eq!(ids(&v, "findings"), vec!["kubeadm-timed-out"], "{v}");
    assert_eq!(ids(&v, "context"), vec!["kubeadm-tls-bootstrap-wait"], "{v}");
    assert!(v["joined"].is_null());
    // The kubelet health check failing: kubeadm's own wording names the cause.
    let unhealthy = "[kubelet-start] Starting the kubelet
[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...
[kubelet-check] Initial timeout of 40s passed.
[kubelet-check] It seems like the kubelet isn't running or healthy.
error execution phase kubelet-start: error uploading crisocket: timed out waiting for the condition
";
    let v = explain(unhealthy);
    assert_eq!(v["rootCause"]["id"], "kubeadm-kubelet-unhealthy", "{v}");
    assert_eq!(v["failure"]["exitCode"], 86);
    assert_eq!(v["decidedBy"][0]["line"], 4, "{v}");
    assert_eq!(v["decidedBy"][0]["signature"], "kubeadm-kubelet-unhealthy", "{v}");
}
