//! explain-log: every catalog entry's examples are recognised as that entry, real-world
//! multi-line excerpts give the right root cause, clean logs say so, odd input is fine.

use crate::common;
use common::{run, run_bounded, run_with};
use joinkit_core::diagnose::explain::{catalog, status, Scanner, ROLES};
use proptest::prelude::*;

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
            // A generic entry's example that the status-error rule decides by its structure
            // goes to the rule's signature instead (`explain::status`).
            let superseded_by = status::class_of(ex.as_bytes())
                .filter(|_| cat.is_superseded(i))
                .map(|c| (cat.status_index(c), cat.signature(cat.status_index(c)).id.clone()));
            if let Some((k, _)) = &superseded_by {
                assert!(m.contains(k) && !m.contains(&i), "{}: example not taken by the status rule: {ex}", s.id);
                continue;
            }
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
            } else if v["rootCause"]["id"] == "kubeadm-stopped-at-step" {
                // A kubeadm step line alone, with no success line: the log stops there. The
                // verdict is that (low confidence), never the progress line as a cause.
                assert!(v["findings"].as_array().unwrap().is_empty(), "{}: {v}", s.id);
                assert_eq!(v["confidence"]["level"], "low", "{}: {v}", s.id);
            } else {
                assert_eq!(r.code, 0, "{}: {}", s.id, r.stdout);
                assert!(v["findings"].as_array().unwrap().is_empty() && v["rootCause"].is_null(), "{}: {v}", s.id);
                assert_eq!(v["joined"].is_null(), s.role != "success", "{}: {v}", s.id);
            }
        }
    }
    // Every signature says where its wordings come from, and its pattern matches each wording
    // (Go verbs replaced by sample values); masks name real signatures.
    assert!(cat.unknown_masks().is_empty(), "{:?}", cat.unknown_masks());
    let mut sourced = 0;
    for (i, s) in cat.signatures.iter().enumerate() {
        sourced += usize::from(!s.sources.is_empty());
        for src in &s.sources {
            assert!(!src.file.is_empty() && !src.releases.is_empty() && !src.evidence.is_empty(), "{}: {src:?}", s.id);
            let w = src
                .wording
                .replace("%q", "\"x\"")
                .replace("%d", "1")
                .replace("%#v", "x")
                .replace("%s", "x")
                .replace("%v", "x");
            // (A wording the status-error rule decides goes to its signature, as examples do.)
            let want = match status::class_of(w.as_bytes()).filter(|_| cat.is_superseded(i)) {
                Some(c) => cat.status_index(c),
                None => i,
            };
            assert!(cat.matches(w.as_bytes()).contains(&want), "{}: wording not matched: {w}", s.id);
        }
    }
    assert!(sourced >= 60, "{sourced} signatures with sources");
    // The runtime domain has its signatures.
    for id in [
        "runtime-cgroup-driver-mismatch",
        "runtime-docker-cgroupfs-warning",
        "runtime-cri-v1-not-implemented",
        "runtime-socket-missing",
        "preflight-cri",
        "kubeadm-kubelet-unhealthy",
        "runtime-kubelet-swap-on",
        "preflight-swap",
        "preflight-swap-warning",
        "runtime-sandbox-image-pull",
        "runtime-cgroup-v1-refused",
        "runtime-cgroup-v1-maintenance",
    ] {
        let s = cat.signatures.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no {id}"));
        assert_eq!(s.domain.map(|d| d.as_str()), Some("runtime"), "{id}");
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
    // ("current time ... is before ...": the structure says not yet valid, the clock.)
    assert_eq!(v["rootCause"]["id"], "x509-not-yet-valid");
    assert_eq!(v["failureDomain"], "clock");
    let ids: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["kubelet-node-not-found", "x509-not-yet-valid", "kubeadm-timed-out"],
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
    // The retry line is also kubeadm's generic "failed to request cluster-info" (a symptom).
    assert_eq!(ids(&v, "resolved"), vec!["kubeadm-jws-missing", "kubeadm-cluster-info-request-failed"], "{v}");
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
    // On one line, catalog order: the timeout first, the crisocket upload (runtime) after it.
    assert_eq!(ids(&v, "findings"), vec!["kubeadm-timed-out", "kubeadm-crisocket-upload-failed"], "{v}");
    assert_eq!(ids(&v, "context"), vec!["kubeadm-tls-bootstrap-wait"], "{v}");
    assert!(v["joined"].is_null());
    // The kubelet health check failing, and nothing more specific: the health check (a runtime
    // symptom, the first one in the log) decides.
    let unhealthy = "[kubelet-start] Starting the kubelet
[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...
[kubelet-check] Initial timeout of 40s passed.
[kubelet-check] It seems like the kubelet isn't running or healthy.
error execution phase kubelet-start: error uploading crisocket: timed out waiting for the condition
";
    let v = explain(unhealthy);
    assert_eq!(v["rootCause"]["id"], "kubeadm-kubelet-unhealthy", "{v}");
    assert_eq!(v["rootCause"]["role"], "symptom", "{v}");
    assert_eq!(v["failure"]["exitCode"], 90);
    assert_eq!(v["failureDomain"], "runtime");
    assert_eq!(v["decidedBy"][0]["line"], 3, "{v}");
    assert_eq!(v["decidedBy"][1]["line"], 4, "{v}");
    assert_eq!(v["decidedBy"][0]["signature"], "kubeadm-kubelet-unhealthy", "{v}");
}

// ---- context rules (issue 12): each test fails if its rule is broken ----

#[test]
fn rule_progress_lines_are_never_causes() {
    // Every progress example of the catalog in one log, without a success line: no finding.
    let cat = catalog();
    let log: String = cat
        .signatures
        .iter()
        .filter(|s| s.role == "progress")
        .flat_map(|s| s.examples.iter())
        .map(|e| format!("{e}\n"))
        .collect();
    assert!(log.lines().count() >= 6, "{log}");
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(log.as_bytes()));
    let v = r.json();
    assert!(ids(&v, "findings").is_empty(), "{v}");
    // No progress line is the root cause; a log that ends on kubeadm's steps without a success
    // line says where it stopped, with low confidence.
    assert_eq!(v["rootCause"]["id"], "kubeadm-stopped-at-step", "{v}");
    assert_eq!(v["confidence"]["level"], "low", "{v}");
    assert!(ids(&v, "context").contains(&"kubeadm-kubelet-health-wait".to_string()), "{v}");
    // With kubeadm's success line after them, the same lines are a clean log.
    let joined = format!("{log}This node has joined the cluster:\n");
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(joined.as_bytes()));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.json()["rootCause"].is_null(), "{}", r.stdout);
}

#[test]
fn rule_repeated_symptoms_collapse_into_one_finding_with_a_count() {
    let refused = "[kubelet-check] The HTTP call equal to 'curl -sSL http://localhost:10248/healthz' failed with error: Get \"http://localhost:10248/healthz\": dial tcp 127.0.0.1:10248: connect: connection refused.\n";
    let seems = "[kubelet-check] It seems like the kubelet isn't running or healthy.\n";
    let log = format!("[kubelet-check] Initial timeout of 40s passed.\n{}", format!("{seems}{refused}").repeat(4));
    let v = explain(&log);
    // One finding (the health check's three wordings are one signature), nine lines; the
    // connection refused to localhost:10248 is the health check, not a network cause.
    assert_eq!(ids(&v, "findings"), vec!["kubeadm-kubelet-unhealthy"], "{v}");
    assert_eq!(v["rootCause"]["count"], 9, "{v}");
    assert_eq!(v["failureDomain"], "runtime", "{v}");
    // The deciding lines are the finding's first ones, with their text.
    let d = v["decidedBy"].as_array().unwrap();
    assert_eq!(d.len(), joinkit_core::diagnose::explain::MAX_TEXTS_PER_FINDING, "{v}");
    assert_eq!(d[2]["line"], 3);
    assert!(d[2]["text"].as_str().unwrap().contains("10248/healthz"), "{v}");
    let r = run_with(&["explain-log"], &[], Some(log.as_bytes()));
    assert!(r.stdout.contains("kubeadm-kubelet-unhealthy (root cause) x9"), "{}", r.stdout);
}

#[test]
fn rule_a_cause_after_its_symptoms_still_wins() {
    // kubeadm's output first (symptoms), the kubelet journal after it (the cause).
    let log = "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...
[kubelet-check] Initial timeout of 40s passed.
[kubelet-check] It seems like the kubelet isn't running or healthy.
error execution phase kubelet-start: error uploading crisocket: timed out waiting for the condition
-- journalctl -u kubelet --
Nov 21 09:00:00 worker-1 kubelet[1234]: E1121 09:00:00.000000    1234 server.go:302] \"Failed to run kubelet\" err=\"failed to run Kubelet: misconfiguration: kubelet cgroup driver: \\\"systemd\\\" is different from docker cgroup driver: \\\"cgroupfs\\\"\"
Nov 21 09:00:00 worker-1 systemd[1]: kubelet.service: Main process exited, code=exited, status=1/FAILURE
";
    let v = explain(log);
    assert_eq!(v["rootCause"]["id"], "runtime-cgroup-driver-mismatch", "{v}");
    assert_eq!(v["decidedBy"][0]["line"], 6, "{v}");
    assert_eq!(v["decidedBy"][0]["role"], "cause", "{v}");
    assert_eq!(v["failure"]["exitCode"], 90);
    let f = ids(&v, "findings");
    assert_eq!(f[0], "kubeadm-kubelet-unhealthy", "symptoms stay listed, in order: {f:?}");
    assert!(f.contains(&"kubelet-exited".to_string()), "{f:?}");
    // Across domains too: runtime symptoms first, an RBAC cause last.
    let log = "[kubelet-check] It seems like the kubelet isn't running or healthy.
error execution phase kubelet-start: configmaps \"kubelet-config-1.15\" is forbidden: User \"system:bootstrap:abcdef\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"kube-system\"
";
    let v = explain(log);
    assert_eq!(v["rootCause"]["id"], "kubeadm-kubelet-config-forbidden", "{v}");
    assert_eq!(v["failureDomain"], "rbac", "{v}");
    assert!(
        !ids(&v, "findings").contains(&"rbac-forbidden".to_string()),
        "the specific entry masks the generic one: {v}"
    );
}

#[test]
fn rule_a_later_successful_retry_overrides_earlier_runtime_failures() {
    let log = format!(
        "[preflight] Running pre-flight checks
error execution phase preflight: [preflight] Some fatal errors occurred:
	[ERROR CRI]: container runtime is not running: output: time=\"2023-02-01T13:51:00-08:00\" level=fatal msg=\"validate service connection: CRI v1 runtime API is not implemented for endpoint \\\"unix:///var/run/containerd/containerd.sock\\\": rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService\"
[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`
{JOIN_OK_V124}"
    );
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(log.as_bytes()));
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert!(v["rootCause"].is_null(), "{v}");
    // On the [ERROR CRI] line the specific signature masks the generic preflight-cri.
    assert_eq!(ids(&v, "resolved"), vec!["runtime-cri-v1-not-implemented"], "{v}");
    assert_eq!(v["joined"]["line"], 13, "{v}");
}

#[test]
fn rule_the_report_says_which_lines_decided() {
    // A sandbox-image pull that failed on a TLS timeout to the registry: runtime, not network
    // (the pull entry masks the generic network entries on its line).
    let log = "[kubelet-check] Initial timeout of 40s passed.
E0701 remote_runtime.go:176] \"RunPodSandbox from runtime service failed\" err=\"rpc error: code = Unknown desc = failed to get sandbox image \\\"registry.k8s.io/pause:3.6\\\": failed to pull image \\\"registry.k8s.io/pause:3.6\\\": failed to do request: Head \\\"https://registry.k8s.io/v2/pause/manifests/3.6\\\": net/http: TLS handshake timeout\"
";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("init.log");
    std::fs::write(&p, log).unwrap();
    let path = p.to_str().unwrap();
    let r = run_with(&["explain-log", path, "-o", "json"], &[], None);
    let v = r.json();
    assert_eq!(v["failureDomain"], "runtime", "{v}");
    assert!(!ids(&v, "findings").contains(&"net-tls-handshake-timeout".to_string()), "{v}");
    let d = &v["decidedBy"][0];
    assert_eq!(d["source"], path);
    assert_eq!(d["line"], 2);
    assert_eq!(d["signature"], "runtime-sandbox-image-pull");
    assert_eq!(d["reason"], "root cause");
    assert!(d["text"].as_str().unwrap().contains("failed to get sandbox image"), "{d}");
    // Text: "decided by:" then file:line, role, signature and the line.
    let r = run_with(&["explain-log", path], &[], None);
    let after = r.stdout.split("decided by:").nth(1).unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(after.contains(&format!("{path}:2  [cause] runtime-sandbox-image-pull (root cause)")), "{}", r.stdout);
    assert!(after.contains("failed to get sandbox image"), "{}", r.stdout);
}

// ---- line endings and bytes ----

/// The line endings a log may use.
pub(crate) const ENDINGS: [&[u8]; 3] = [b"\n", b"\r\n", b"\r"];

/// `lf` (a log with `\n` endings) with the ending of line `i` replaced by `pick(i)`. A lone
/// `\r` followed by an empty line's `\n` would read as one `\r\n` ending, so that `\n` becomes
/// `\r\n` (a log that means two lines there writes them so).
pub(crate) fn with_endings(lf: &[u8], pick: impl Fn(usize) -> &'static [u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 8);
    let mut after_cr = false;
    for (i, line) in lf.split_inclusive(|&b| b == b'\n').enumerate() {
        let Some(body) = line.strip_suffix(b"\n") else {
            out.extend_from_slice(line);
            break;
        };
        out.extend_from_slice(body);
        let mut e = pick(i);
        if e == b"\n" && after_cr && body.is_empty() {
            e = b"\r\n";
        }
        out.extend_from_slice(e);
        after_cr = e == b"\r";
    }
    out
}

/// What the scanner concludes about `log`: everything a report is built from.
fn scan_verdict(log: &[u8]) -> serde_json::Value {
    let mut s = Scanner::new();
    s.scan(log, "p").unwrap();
    let findings = s.findings();
    serde_json::json!({
        "lines": s.lines,
        "truncated": s.truncated,
        "root": joinkit_core::diagnose::explain::root_cause(&findings).map(|f| f.id.clone()),
        "findings": findings,
        "resolved": s.resolved(),
        "context": s.context(),
        "joined": s.joined(),
    })
}

/// One log line: a catalog example (a failure, progress or success line), random bytes (any
/// but line endings, so invalid UTF-8 too), random text, or an empty line.
fn log_line() -> impl Strategy<Value = Vec<u8>> {
    let examples: Vec<Vec<u8>> =
        catalog().signatures.iter().flat_map(|s| s.examples.iter().map(|e| e.as_bytes().to_vec())).collect();
    prop_oneof![
        4 => proptest::sample::select(examples),
        2 => proptest::collection::vec(any::<u8>().prop_filter("no line ending", |b| *b != b'\n' && *b != b'\r'), 0..80),
        1 => "[^\r\n]{0,40}".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
    ]
}

/// Randomised: the same log with LF, CRLF, CR-only or mixed line endings has the same lines and
/// the same verdict (findings with their line numbers and texts, resolved, context, joined).
#[test]
fn converting_line_endings_does_not_change_the_verdict() {
    use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/explain-line-endings.txt",
        ))),
        ..Config::default()
    });
    let input =
        (proptest::collection::vec(log_line(), 0..40), proptest::collection::vec(0..3usize, 1..8), any::<bool>());
    runner
        .run(&input, |(lines, picks, ended)| {
            let mut lf = lines.join(&b'\n');
            if ended && !lines.is_empty() {
                lf.push(b'\n');
            }
            let want = scan_verdict(&lf);
            // One line per line, but an empty last line without an ending is no line.
            let n = lines.len() - usize::from(!ended && lines.last().is_some_and(Vec::is_empty));
            prop_assert_eq!(&want["lines"], &serde_json::json!(n), "one line per line");
            for (name, got) in [
                ("CRLF", with_endings(&lf, |_| ENDINGS[1])),
                ("CR", with_endings(&lf, |_| ENDINGS[2])),
                ("mixed", with_endings(&lf, |i| ENDINGS[picks[i % picks.len()]])),
            ] {
                prop_assert_eq!(&scan_verdict(&got), &want, "{} endings of {:?}", name, String::from_utf8_lossy(&got));
            }
            Ok(())
        })
        .unwrap();
}

/// Patterns are matched on bytes: a line whose quoted name holds a Latin-1 byte (invalid
/// UTF-8) or non-ASCII letters is still recognised. With Unicode mode, `.` and `[^"]` matched no
/// invalid byte, so these lines were missed; the catalog's patterns are all ASCII, so matching
/// bytes changes nothing else.
#[test]
fn invalid_utf8_and_non_ascii_inside_a_line_do_not_hide_its_signature() {
    for s in &catalog().signatures {
        assert!(s.pattern.is_ascii(), "{}: the pattern is matched on bytes, so it must be ASCII", s.id);
    }
    let cases: [(&[u8], &str); 5] = [
        (b"error execution phase kubelet-start: a Node with name \"w\xf6rker-1\" and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node", "kubeadm-node-exists"),
        (b"E1121 09:00:01.000000 1234 kubelet.go:2424] \"Error getting node\" err=\"node \\\"w\xf6rker-1\\\" not found\"", "kubelet-node-not-found"),
        ("E1121 09:00:01.000000 1234 kubelet.go:2424] \"Error getting node\" err=\"node \\\"wörker-1\\\" not found\"".as_bytes(), "kubelet-node-not-found"),
        (b"couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"sha256:ab\xe9\" are pinned", "kubeadm-pin-mismatch"),
        (b"\xff\xfe\x00 binary junk, then: dial tcp 10.0.0.10:6443: connect: no route to host \xc3\x28", "net-no-route"),
    ];
    for (line, id) in cases {
        let mut log = b"\xe8\x8a\x82\xe7\x82\xb9 \xc0\xaf starting\n".to_vec();
        log.extend_from_slice(line);
        log.push(b'\n');
        let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(&log));
        let v = r.json();
        assert_eq!(v["rootCause"]["id"], id, "{}: {v}", String::from_utf8_lossy(line));
        assert_eq!(v["rootCause"]["lines"][0]["line"], 2, "{v}");
    }
}

/// Status errors are read by their structure (`explain::status`): who was refused what decides
/// the domain, the meaning names them, and a more specific catalog cause keeps its line.
#[test]
fn status_errors_are_classified_by_subject_and_object() {
    let cases = [
        // A kubelet whose credential names another node: node identity (filed under rbac, the
        // authorizer's domain, but its own entry and meaning: not a missing binding).
        (
            r#"E1207 10:00:00.000000    1234 controller.go:145] "Failed to ensure lease exists, will retry" err="leases.coordination.k8s.io \"worker-2\" is forbidden: User \"system:node:worker-1\" cannot get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"kube-node-lease\": can only access node lease with the same name as the requesting node" interval="7s""#,
            "status-node-identity",
            "rbac",
            "\"system:node:worker-1\" may not get leases",
        ),
        (
            r#"E1207 10:00:00.000000    1234 kubelet_node_status.go:96] "Unable to register node with API server" err="nodes \"worker-2\" is forbidden: node \"worker-1\" is not allowed to modify node \"worker-2\"" node="worker-2""#,
            "status-node-identity",
            "rbac",
            "nodes \"worker-2\"",
        ),
        // Token discovery's anonymous request refused with a 401: anonymous auth is off.
        (
            "error execution phase preflight: couldn't validate the identity of the API Server: Unauthorized",
            "status-anonymous-auth-off",
            "control-plane",
            "anonymous authentication is off",
        ),
        // Anonymous refused cluster-info: kubeadm's RBAC for it is missing.
        (
            r#"[discovery] Failed to request cluster-info, will try again: configmaps "cluster-info" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace "kube-public""#,
            "status-anonymous-cluster-info-forbidden",
            "rbac",
            "\"system:anonymous\" may not get configmaps \"cluster-info\" in namespace \"kube-public\"",
        ),
        // Anonymous refused anything else: no credential was accepted (the kubelet's bootstrap
        // token gone, a kubeconfig without its user): a credential problem, not RBAC.
        (
            r#""Unable to register node with API server" err="nodes is forbidden: User \"system:anonymous\" cannot create resource \"nodes\" in API group \"\" at the cluster scope" node="w1""#,
            "status-anonymous-refused",
            "token",
            "no credential the server accepted",
        ),
        // NodeRestriction's 1.7-1.8 wording.
        (
            r#"Unable to register node "ip-10-0-0-5.ec2.internal" with API server: nodes "ip-10-0-0-5.ec2.internal" is forbidden: node "ip-10-0-0-5" cannot modify node "ip-10-0-0-5.ec2.internal""#,
            "status-node-identity",
            "rbac",
            "names another node",
        ),
        // Anyone else: RBAC, naming who was refused what.
        (
            r#"error execution phase upload-config/kubelet: configmaps is forbidden: User "system:node:worker-1" cannot create resource "configmaps" in API group "" in the namespace "kube-system""#,
            "status-rbac-forbidden",
            "rbac",
            "\"system:node:worker-1\" may not create configmaps",
        ),
        // A 401 outside discovery stays a credentials problem (the catalog's entry).
        ("error: You must be logged in to the server (Unauthorized)", "kubelet-unauthorized", "token", "credentials"),
        // The specific catalog cause keeps its line.
        (
            r#"error execution phase kubelet-start: configmaps "kubelet-config-1.15" is forbidden: User "system:bootstrap:g0toug" cannot get resource "configmaps" in API group "" in the namespace "kube-system""#,
            "kubeadm-kubelet-config-forbidden",
            "rbac",
            "kubelet-config-1.X",
        ),
    ];
    for (line, id, domain, meaning) in cases {
        let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(format!("{line}\n").as_bytes()));
        let v = r.json();
        assert_eq!(v["rootCause"]["id"], id, "{line}: {v}");
        assert_eq!(v["failureDomain"], domain, "{line}: {v}");
        assert!(v["rootCause"]["meaning"].as_str().unwrap().contains(meaning), "{line}: {v}");
        let f = ids(&v, "findings");
        assert!(!f.contains(&"rbac-forbidden".to_string()) || id == "rbac-forbidden", "superseded: {f:?}");
    }
}

/// (root cause id, domain, meaning) of a log.
fn verdict(log: &str) -> (String, String, String) {
    let v = explain(log);
    let s = |x: &serde_json::Value| x.as_str().unwrap_or("-").to_string();
    (s(&v["rootCause"]["id"]), s(&v["failureDomain"]), s(&v["rootCause"]["meaning"]))
}

/// Go's transport errors are read by their structure (`explain::transport`): the same fault
/// gives the same domain in every Go release's wording (Go < 1.11's `getsockopt`, Go < ~1.14's
/// validity error without times, Go 1.15-1.16's legacy-CN hint, Go 1.20+'s `tls: failed to
/// verify certificate:` prefix) and inside every wrapper (kubeadm, client-go, klog's `err="..."`).
#[test]
fn the_same_transport_fault_gives_the_same_domain_in_every_go_wording() {
    let a = "2026-11-21T08:00:00Z";
    let faults: [(&str, &[String]); 7] = [
        (
            "clock",
            &[
                // Go < ~1.14: no times (the ambiguous wording keeps the clock).
                "x509: certificate has expired or is not yet valid".into(),
                format!("x509: certificate has expired or is not yet valid: current time 2019-01-01T00:00:00Z is before {a}"),
                format!("tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2019-01-01T00:00:00Z is before {a}"),
                // kubeadm's own check of a certificate it loads.
                "error execution phase certs/ca: failure loading ca certificate: the certificate is not valid yet: NotBefore: 2030-01-01 00:00:00 +0000 UTC, NotAfter: 2040-01-01 00:00:00 +0000 UTC".into(),
            ],
        ),
        (
            "tls",
            &[
                format!("x509: certificate has expired or is not yet valid: current time 2027-03-01T00:00:00Z is after {a}"),
                format!("E1207 reflector.go:1] \"Unhandled Error\" err=\"Get \\\"https://10.0.0.10:6443/api\\\": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2027-03-01T00:00:00+01:00 is after {a}\""),
                "error execution phase certs/apiserver: failure loading apiserver certificate: the certificate has expired: NotBefore: 2019-01-01 00:00:00 +0000 UTC, NotAfter: 2020-01-01 00:00:00 +0000 UTC".into(),
            ],
        ),
        (
            "tls",
            &[
                "Get https://10.0.0.10:6443/api: x509: certificate signed by unknown authority".into(),
                "Get \"https://10.0.0.10:6443/api\": tls: failed to verify certificate: x509: certificate signed by unknown authority".into(),
                "x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"kubernetes\")".into(),
            ],
        ),
        (
            "tls",
            &[
                "x509: certificate is valid for 10.96.0.1, 10.0.2.15, not 10.0.0.10".into(),
                "x509: cannot validate certificate for 10.0.0.10 because it doesn't contain any IP SANs".into(),
                "x509: certificate relies on legacy Common Name field, use SANs or temporarily enable Common Name matching with GODEBUG=x509ignoreCN=0".into(),
                "tls: failed to verify certificate: x509: certificate relies on legacy Common Name field, use SANs instead".into(),
            ],
        ),
        (
            "network",
            &[
                "dial tcp 10.0.0.10:6443: getsockopt: connection refused".into(),
                "dial tcp 10.0.0.10:6443: connect: connection refused".into(),
                "dial tcp 10.0.0.10:6443: getsockopt: no route to host".into(),
                "dial tcp 10.0.0.10:6443: connect: no route to host".into(),
                "Get \"https://10.0.0.10:6443/api/v1/nodes\": read tcp 10.0.0.5:51234->10.0.0.10:6443: read: connection reset by peer".into(),
                "Get \"https://10.0.0.10:6443/version\": net/http: TLS handshake timeout".into(),
                "error execution phase preflight: couldn't validate the identity of the API Server: Get \"https://10.0.0.10:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": context deadline exceeded".into(),
                "Get \"https://10.0.0.10:6443/version\": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)".into(),
            ],
        ),
        (
            "dns",
            &[
                "dial tcp: lookup cp.example.com on 10.0.0.2:53: no such host".into(),
                "dial tcp: lookup cp.example.com on 10.0.0.2:53: server misbehaving".into(),
                "dial tcp: lookup cp.example.com on 10.0.0.2:53: read udp 10.0.0.5:40000->10.0.0.2:53: i/o timeout".into(),
                "dial tcp: lookup cp.example.com on 10.96.0.10:53: dial udp 10.96.0.10:53: connect: network is unreachable".into(),
                "dial tcp: lookup cp.example.com: Temporary failure in name resolution".into(),
            ],
        ),
        (
            "network",
            &[
                "Get \"https://10.0.0.10:6443/api\": proxyconnect tcp: dial tcp 10.0.0.1:3128: connect: connection refused".into(),
                "Get \"https://10.0.0.10:6443/version\": Proxy Authentication Required".into(),
            ],
        ),
    ];
    // In process (the binary runs the same scanner; the other tests here run it): ~30 logs.
    for (domain, lines) in faults {
        for line in lines {
            let mut s = Scanner::new();
            s.scan(std::io::Cursor::new(format!("{line}\n")), "-").unwrap();
            let f = s.findings();
            let root =
                joinkit_core::diagnose::explain::root_cause(&f).unwrap_or_else(|| panic!("no root cause: {line}"));
            assert_eq!(root.domain.map(|d| d.as_str()), Some(domain), "{line}: {}", root.id);
        }
    }
}

/// Go's validity error says which bound was crossed: "current time T is before NotBefore" is
/// the clock (behind, or the certificate made by a machine whose clock was ahead), "is after
/// NotAfter" an expired certificate (tls); the meaning names the times and the gap.
#[test]
fn x509_before_is_the_clock_and_after_is_an_expired_certificate() {
    let before = "E1121 09:00:02.000000    1234 certificate_manager.go:471] kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from the control plane: cannot create certificate signing request: Post \"https://10.0.0.10:6443/apis/certificates.k8s.io/v1/certificatesigningrequests\": x509: certificate has expired or is not yet valid: current time 2026-11-21T07:00:00Z is before 2026-11-21T08:00:00Z\n";
    let (id, domain, meaning) = verdict(before);
    assert_eq!((id.as_str(), domain.as_str()), ("x509-not-yet-valid", "clock"));
    assert!(
        meaning.starts_with(
            "the clock read 2026-11-21T07:00:00Z, 1 hour before the certificate's NotBefore 2026-11-21T08:00:00Z"
        ),
        "{meaning}"
    );
    let after = before
        .replace("is before 2026-11-21T08:00:00Z", "is after 2026-11-21T08:00:00Z")
        .replace("T07:00:00Z", "T09:30:00Z");
    let (id, domain, meaning) = verdict(&after);
    assert_eq!((id.as_str(), domain.as_str()), ("x509-expired", "tls"));
    assert!(
        meaning
            .contains("NotAfter is 2026-11-21T08:00:00Z; the clock read 2026-11-21T09:30:00Z, 1 hour 30 minutes later"),
        "{meaning}"
    );
    // Without the time clause the line cannot tell; the meaning says so.
    let (id, domain, meaning) =
        verdict("Unable to connect to the server: x509: certificate has expired or is not yet valid\n");
    assert_eq!((id.as_str(), domain.as_str()), ("x509-expired-or-not-yet-valid", "clock"));
    assert!(meaning.contains("does not say which side"), "{meaning}");
    // A specific catalog cause keeps its line (the sandbox image could not be pulled).
    let pull = "E1207 10:00:00.000000 1 remote_runtime.go:1] \"RunPodSandbox from runtime service failed\" err=\"rpc error: code = Unknown desc = failed to get sandbox image \\\"registry.k8s.io/pause:3.9\\\": failed to pull image \\\"registry.k8s.io/pause:3.9\\\": x509: certificate has expired or is not yet valid: current time 2026-12-07T10:00:00Z is after 2026-11-21T08:00:00Z\"\n";
    assert_eq!(verdict(pull).0, "runtime-sandbox-image-pull");
    // kubeadm's kubelet health check refused on 127.0.0.1:10248 is not a network fault.
    let health = "[kubelet-check] The HTTP call equal to 'curl -sSL http://localhost:10248/healthz' failed with error: Get \"http://localhost:10248/healthz\": dial tcp 127.0.0.1:10248: connect: connection refused.\n";
    assert_eq!(verdict(health).1, "runtime");
}

/// The kubelet's expired client certificate is the cause of the lines around it: the missing
/// bootstrap kubeconfig it falls back to (a joined node has none) and the 401s of the API
/// server, even where those come first.
#[test]
fn an_expired_kubelet_client_certificate_explains_unauthorized_and_the_missing_bootstrap_kubeconfig() {
    let unauthorized = "E1207 09:59:00.000000    1457 reflector.go:138] k8s.io/client-go/informers/factory.go:134: Failed to watch *v1.Node: failed to list *v1.Node: Unauthorized\n";
    let expired = "E1207 10:00:00.000000    1457 bootstrap.go:265] part of the existing bootstrap client certificate in /etc/kubernetes/kubelet.conf is expired: 2026-11-21 08:00:00 +0000 UTC\n";
    let missing = "F1207 10:00:00.000100    1457 server.go:271] failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory\n";
    for log in [
        format!("{expired}{missing}"),
        format!("{unauthorized}{expired}{missing}"),
        format!("{unauthorized}{missing}{expired}"),
    ] {
        let v = explain(&log);
        assert_eq!(v["rootCause"]["id"], "kubelet-client-cert-expired", "{log}: {v}");
        assert_eq!(v["failureDomain"], "tls", "{v}");
        // The consequences are still listed.
        assert!(ids(&v, "findings").contains(&"kubelet-bootstrap-kubeconfig-missing".to_string()), "{v}");
    }
    // Without the certificate line the same lines decide as before.
    assert_eq!(verdict(&format!("{unauthorized}{missing}")).0, "kubelet-unauthorized");
    assert_eq!(verdict(missing).0, "kubelet-bootstrap-kubeconfig-missing");
    // The kubelet 1.18+ wording, at run time.
    let exiting = "E1207 10:00:00.000000    1457 transport.go:123] \"The currently active client certificate has expired and the server is responsive, exiting.\"\n";
    let (id, domain, _) = verdict(&format!("{unauthorized}{exiting}"));
    assert_eq!((id.as_str(), domain.as_str()), ("kubelet-client-cert-expired", "tls"));
}

/// The root cause of `log` (id and domain) and every finding's id, by the in-process scanner.
fn root_and_findings(log: &str) -> (Option<(String, &'static str)>, Vec<String>, Vec<String>) {
    let mut s = Scanner::new();
    s.scan(log.as_bytes(), "p").unwrap();
    let f = s.findings();
    let root = joinkit_core::diagnose::explain::root_cause(&f)
        .map(|r| (r.id.clone(), r.domain.map(joinkit_core::error::Domain::as_str).unwrap_or("-")));
    let ids = f.iter().map(|x| x.id.clone()).collect();
    let context = s.context().iter().map(|x| x.id.clone()).collect();
    (root, ids, context)
}

/// Asserts the root cause of each log in `logs` is `id` in `domain`.
fn same_root(logs: &[&str], id: &str, domain: &str) {
    for log in logs {
        let (root, f, _) = root_and_findings(log);
        assert_eq!(root, Some((id.to_string(), domain_str(domain))), "{log}\nfindings: {f:?}");
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn domain_str(d: &str) -> &'static str {
    joinkit_core::error::Domain::ALL.iter().map(|d| d.as_str()).find(|x| *x == d).expect("a domain")
}

/// kubeadm's configuration, flag and version errors read as configuration problems whichever
/// release printed them (wordings of cmd/kubeadm/app/util/config/common.go, validation.go,
/// apimachinery's runtime/error.go and pflag; the 1.3x lines are real kubeadm v1.33.5/v1.36.2
/// output), and a scheme error outside kubeadm's API groups is not taken for one.
#[test]
fn kubeadm_config_errors_read_the_same_in_every_release() {
    // A removed apiVersion: 1.11-1.30 (no kind), 1.31+ (with the kind), v1beta4 experimental (1.28-1.30).
    same_root(
        &[
            "your configuration file uses an old API spec: \"kubeadm.k8s.io/v1alpha2\". Please use kubeadm v1.12 instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.\n",
            "error: your configuration file uses an old API spec: \"kubeadm.k8s.io/v1beta3\" (kind: \"ClusterConfiguration\"). Please use kubeadm v1.36 instead and run 'kubeadm config migrate --old-config old-config-file --new-config new-config-file', which will write the new, similar spec using a newer API version.\nTo see the stack trace of this error execute with --v=5 or higher\n",
            "experimental API spec: \"kubeadm.k8s.io/v1beta4\" is not allowed. You can use the --allow-experimental-api flag if the command supports it.\n",
        ],
        "kubeadm-config-old-api",
        "config",
    );
    // An apiVersion or kind kubeadm never knew: the scheme decoder (with and without the scheme
    // name), kubeadm config validate (1.23+), a component config version; kubeadm's own warning
    // before it is a symptom, the decoder's error the cause.
    same_root(
        &[
            "no kind \"InitConfiguration\" is registered for version \"kubeadm.k8s.io/v1beta3\" in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\"\n",
            "no kind \"JoinConfiguration\" is registered for version \"kubeadm.k8s.io/v1beta1\"\n",
            "error: unknown configuration APIs: []schema.GroupVersionKind{schema.GroupVersionKind{Group:\"kubeadm.k8s.io\", Version:\"v1beta9\", Kind:\"JoinConfiguration\"}}\n",
            "no kind \"KubeletConfiguration\" is registered for version \"kubelet.config.k8s.io/v1beta2\" in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/componentconfigs/scheme.go:28\"\n",
            "W0712 10:00:00.000000    1234 strict.go:47] unknown configuration schema.GroupVersionKind{Group:\"kubeadm.k8s.io\", Version:\"v1beta3\", Kind:\"InitConfiguration\"} for scheme definitions in \"a\" and \"b\"\nno kind \"InitConfiguration\" is registered for version \"kubeadm.k8s.io/v1beta3\" in scheme \"a\"\n",
        ],
        "kubeadm-config-api-unknown",
        "config",
    );
    same_root(
        &["W0712 10:00:00.000000    1234 strict.go:47] unknown configuration schema.GroupVersionKind{Group:\"kubeadm.k8s.io\", Version:\"v1beta3\", Kind:\"InitConfiguration\"} for scheme definitions in \"a\" and \"b\"\n"],
        "kubeadm-config-unknown-gvk-warning",
        "config",
    );
    // The same apimachinery error for a custom resource in a client is not kubeadm's configuration.
    let (root, _, _) = root_and_findings(
        "Failed to list *main.APIFoo: no kind \"ApiFooList\" is registered for version \"bar.io/v1\"\n",
    );
    assert_eq!(root, None);
    // --config with flags: 1.14, 1.22 (with the --v=5 stack trace), 1.36.
    same_root(
        &[
            "can not mix '--config' with arguments [experimental-control-plane]\n",
            "can not mix '--config' with arguments [cri-socket]\nk8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/validation.ValidateMixedArguments\n\t/workspace/src/k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/validation/validation.go:560\n",
            "error: can not mix '--config' with arguments [cri-socket token]\nTo see the stack trace of this error execute with --v=5 or higher\n",
        ],
        "kubeadm-config-mixed-args",
        "config",
    );
    // No controlPlaneEndpoint: 1.13-era and newer wording, inside kubeadm's preflight block.
    same_root(
        &[
            "error execution phase preflight:\nOne or more conditions for hosting a new control plane instance is not satisfied.\n\nunable to add a new control plane instance a cluster that doesn't have a stable controlPlaneEndpoint address\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n",
            "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address\n",
        ],
        "kubeadm-join-no-control-plane-endpoint",
        "config",
    );
    same_root(
        &[
            "could not convert cfg to an internal cfg: this version of kubeadm only supports deploying clusters with the control plane version >= 1.32.0. Current version: v1.20.0\n",
            "error: could not convert cfg to an internal cfg: this version of kubeadm only supports deploying clusters with the control plane version >= 1.35.0. Current version: v1.10.0\n",
        ],
        "kubeadm-control-plane-version-unsupported",
        "config",
    );
    // Unknown flags: kubeadm (cobra), the kubelet's own parser (1.24 without --network-plugin), a shorthand.
    same_root(
        &[
            "unknown flag: --experimental-upload-certs\nTo see the stack trace of this error execute with --v=5 or higher\n",
            "E1207 18:27:03.398680   32235 run.go:74] \"command failed\" err=\"failed to parse kubelet flag: unknown flag: --network-plugin\"\n",
            "Error: unknown shorthand flag: 'q' in -q\n",
        ],
        "cli-unknown-flag",
        "config",
    );
    // An invalid node name in the apimachinery wordings of <= 1.2, ~1.5-1.1x and newer.
    same_root(
        &[
            "Unable to register n_1.example.com with the apiserver: Node \"n_1.example.com\" is invalid: metadata.name: invalid value 'n_1.example.com', Details: must be a DNS subdomain (at most 253 characters, matching regex [a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*): e.g. \"example.com\"\n",
            "Node \"n_1\" is invalid: metadata.name: Invalid value: \"n_1\": a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character\n",
            "error: nodeRegistration.name: Invalid value: \"bad_name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character\n",
        ],
        "kubeadm-invalid-node-name",
        "config",
    );
    // A malformed certificate key (config) vs a well-formed one that does not decrypt (control-plane).
    same_root(
        &[
            "Error: controlPlane.certificateKey: Invalid value: \"zz\": certificate key decoding error: encoding/hex: invalid byte: U+007A 'z'\n",
            "error: controlPlane.certificateKey: Invalid value: \"00ff\": invalid certificate key size 2, the key must be an AES key of size 32\n",
            "error execution phase upload-certs: error decoding certificate key: encoding/hex: odd length hex string\n",
        ],
        "kubeadm-certificate-key-malformed",
        "config",
    );
    same_root(
        &["error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed\n"],
        "kubeadm-certs-wrong-key",
        "control-plane",
    );
    // kubeadm v1.36.2's join: the unknown-field warning (a symptom) before the node-name error.
    let log = "W1207 18:51:09.836059    6184 joinconfiguration.go:124] error unmarshaling configuration schema.GroupVersionKind{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"JoinConfiguration\"}: strict decoding error: unknown field \"foo\"\nerror: nodeRegistration.name: Invalid value: \"bad_name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character\n";
    same_root(&[log], "kubeadm-invalid-node-name", "config");
    let (_, f, _) = root_and_findings(log);
    assert_eq!(f[0], "kubeadm-config-unknown-field", "{f:?}");
}

/// kubectl with no kubeconfig tries http://localhost:8080 (client-go's default server): a
/// configuration problem, whether kubectl says it in its final line or, since ~1.26, first in
/// its discovery E-lines (which would otherwise read as a network failure); any other server
/// that refuses is the network (or a stopped API server).
#[test]
fn kubectl_localhost_8080_is_config_and_any_other_server_is_network() {
    same_root(
        &[
            "The connection to the server localhost:8080 was refused - did you specify the right host or port?\n",
            // A terminal that wrapped the line.
            " kubectl get nodes\nThe connection to the server localhost:8080 was refused - did you specify the right host or p\nort?\n",
            "E0910 19:46:38.347545   50877 memcache.go:265] couldn't get current server API group list: Get \"http://localhost:8080/api?timeout=32s\": dial tcp 127.0.0.1:8080: connect: connection refused\nE0910 19:46:38.348105   50877 memcache.go:265] couldn't get current server API group list: Get \"http://localhost:8080/api?timeout=32s\": dial tcp [::1]:8080: connect: connection refused\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n",
        ],
        "kubectl-no-kubeconfig",
        "config",
    );
    let (_, f, _) = root_and_findings("E0910 19:46:38.347545   50877 memcache.go:265] couldn't get current server API group list: Get \"http://localhost:8080/api?timeout=32s\": dial tcp 127.0.0.1:8080: connect: connection refused\n");
    assert_eq!(f, ["kubectl-no-kubeconfig"], "the generic connection-refused entry is masked");
    same_root(
        &[
            "The connection to the server 10.0.0.10:6443 was refused - did you specify the right host or port?\n",
            "The connection to the server k8s.example.com:443 was refused - did you specify the right host or port?\n",
        ],
        "kubectl-connection-refused",
        "network",
    );
    // With kubectl's discovery E-lines first, the dial error decides, in the same domain.
    let (root, f, _) = root_and_findings("E0910 19:46:38.347545   50877 memcache.go:265] couldn't get current server API group list: Get \"https://10.0.0.10:6443/api?timeout=32s\": dial tcp 10.0.0.10:6443: connect: connection refused\nThe connection to the server 10.0.0.10:6443 was refused - did you specify the right host or port?\n");
    assert_eq!(root.map(|r| r.1), Some("network"), "{f:?}");
    assert!(
        f.contains(&"kubectl-connection-refused".to_string()) && !f.contains(&"kubectl-no-kubeconfig".to_string()),
        "{f:?}"
    );
    // Port 8080 on localhost outside kubectl's default request is an ordinary refused connection.
    same_root(&["dial tcp 127.0.0.1:8080: connect: connection refused\n"], "net-connection-refused", "network");
}

/// The kubelet's fatal start-up error is decided by what it wraps, in each release's form
/// (klog F-line <= ~1.20, "Failed to run kubelet" ~1.20-1.22, cli's "command failed" ~1.23+);
/// the wrapper alone is a symptom. A missing cgroup controller is the host's configuration in
/// every wording (kubelet, kubeadm preflight old and new, k3s) and masks the generic container
/// manager failure, which stays a runtime cause for other errors.
#[test]
fn a_kubelet_fatal_error_is_decided_by_what_it_wraps() {
    let wrappers = [
        "F0118 17:33:58.888743 1457370 server.go:271] failed to run Kubelet: {}\n",
        "E0101 00:00:00.000000    1234 server.go:302] \"Failed to run kubelet\" err=\"failed to run Kubelet: {}\"\n",
        "E1207 18:27:03.907132   32246 run.go:74] \"command failed\" err=\"failed to run Kubelet: {}\"\n",
    ];
    let with = |inner: &str| wrappers.iter().map(|w| w.replace("{}", inner)).collect::<Vec<_>>();
    let alone = with("no client provided, cannot use webhook authentication");
    same_root(&strs(&alone), "kubelet-run-failed", "runtime");
    for (inner, id, domain) in [
        ("running with swap on is not supported, please disable swap or set --fail-swap-on flag to false", "runtime-kubelet-swap-on", "runtime"),
        ("unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory", "kubelet-bootstrap-kubeconfig-missing", "config"),
        ("misconfiguration: kubelet cgroup driver: \"systemd\" is different from docker cgroup driver: \"cgroupfs\"", "runtime-cgroup-driver-mismatch", "runtime"),
        ("unable to load client CA file /etc/kubernetes/pki/wrong.crt: open /etc/kubernetes/pki/wrong.crt: no such file or directory", "kubelet-client-ca-missing", "config"),
    ] {
        let logs = with(inner);
        same_root(&strs(&logs), id, domain);
        for log in &logs {
            let (_, f, _) = root_and_findings(log);
            assert!(f.contains(&"kubelet-run-failed".to_string()), "the wrapper stays listed as a symptom: {f:?}");
        }
    }
    // Before the wrapper existed in its structured form, and after: config file and flag errors.
    same_root(
        &[
            "E1207 18:29:47.418130    9661 run.go:74] \"command failed\" err=\"failed to load kubelet config file, error: failed to load Kubelet config file /etc/k/c.yaml, error failed to decode: yaml: line 3: did not find expected ',' or ']', path: /etc/k/c.yaml\"\n",
            "E1207 18:29:47.594807    9678 run.go:72] \"command failed\" err=\"failed to load kubelet config file, path: /etc/k/c.yaml, error: failed to load Kubelet config file /etc/k/c.yaml, error failed to decode: yaml: line 3: did not find expected ',' or ']'\"\n",
            "F0901 10:00:00.000000    1234 server.go:190] failed to load Kubelet config file /etc/k/c.yaml, error failed to read kubelet config file \"/etc/k/c.yaml\", error: open /etc/k/c.yaml: no such file or directory\n",
        ],
        "kubelet-config-file-invalid",
        "config",
    );
    // Missing cgroup controllers, in every wording, with the systemd exit after them.
    let exit =
        "Nov 21 09:00:00 n systemd[1]: kubelet.service: Main process exited, code=exited, status=255/EXCEPTION\n";
    let cgroups = [
        "E0125 23:42:05.582421   47570 kubelet.go:1228] Failed to start ContainerManager system validation failed - Following Cgroup subsystem not mounted: [memory]\n".to_string(),
        "E1121 09:00:00.000000    1234 kubelet.go:1377] \"Failed to start ContainerManager\" err=\"system validation failed - Following Cgroup subsystem not mounted: [cpuset memory]\"\n".to_string(),
        "\t[ERROR SystemVerification]: missing cgroups: memory\n".to_string(),
        "[preflight] Some fatal errors occurred:\n\tmissing cgroups: cpuset\n".to_string(),
        "\t[WARNING SystemVerification]: missing optional cgroups: hugetlb\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR SystemVerification]: missing required cgroups: memory\n".to_string(),
        "level=fatal msg=\"failed to find memory cgroup (v2)\"\n".to_string(),
    ]
    .map(|l| format!("{l}{exit}"));
    same_root(&cgroups.iter().map(String::as_str).collect::<Vec<_>>(), "host-cgroup-subsystem-missing", "config");
    let (_, f, _) = root_and_findings(&cgroups[1]);
    assert!(!f.contains(&"kubelet-container-manager-failed".to_string()), "masked: {f:?}");
    // Other container-manager errors stay the generic runtime cause; an optional cgroup is no cause.
    same_root(
        &["E1207 15:11:14.567891   24133 kubelet.go:1839] \"Failed to start ContainerManager\" err=\"failed to initialize top level QOS containers: root container [kubepods] doesn't exist\"\n"],
        "kubelet-container-manager-failed",
        "runtime",
    );
    let (root, _, _) = root_and_findings("\t[WARNING SystemVerification]: missing optional cgroups: hugetlb\n");
    assert_ne!(root.map(|r| r.0), Some("host-cgroup-subsystem-missing".to_string()));
}

/// Before kubeadm join writes /var/lib/kubelet/config.yaml (and, in <= 1.10, the CA file the
/// kubelet's flags named), the kubelet systemd starts exits on every restart: that normal state
/// is context, never a cause; the same errors for another path are the configuration's.
#[test]
fn pre_join_kubelet_restarts_are_context_not_causes() {
    for log in [
        "E1207 18:27:04.019420   32264 run.go:72] \"command failed\" err=\"failed to load kubelet config file, path: /var/lib/kubelet/config.yaml, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \\\"/var/lib/kubelet/config.yaml\\\", error: open /var/lib/kubelet/config.yaml: no such file or directory\"\n",
        "E1207 18:27:03.251054   32218 run.go:74] \"command failed\" err=\"failed to load kubelet config file, error: failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \\\"/var/lib/kubelet/config.yaml\\\", error: open /var/lib/kubelet/config.yaml: no such file or directory, path: /var/lib/kubelet/config.yaml\"\n",
        "F0901 10:00:00.000000    1234 server.go:190] failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory\n",
        "Apr 01 15:38:30 nuc kubelet[26127]: Error: failed to run Kubelet: unable to load client CA file /etc/kubernetes/pki/ca.crt: open /etc/kubernetes/pki/ca.crt: no such file or directory\n",
    ] {
        let (root, f, context) = root_and_findings(log);
        assert_eq!((root, f.len()), (None, 0), "{log}: {f:?}");
        assert!(context.iter().any(|c| c.ends_with("-not-written-yet")), "{log}: {context:?}");
    }
    // The pre-join restarts do not hide the join's own failure after them.
    let log = "F0901 10:00:00.000000    1234 server.go:190] failed to load Kubelet config file /var/lib/kubelet/config.yaml, error failed to read kubelet config file \"/var/lib/kubelet/config.yaml\", error: open /var/lib/kubelet/config.yaml: no such file or directory\nerror: can not mix '--config' with arguments [token]\n";
    same_root(&[log], "kubeadm-config-mixed-args", "config");
}
