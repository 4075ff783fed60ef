//! explain-log's verdict beyond the catalog: every verdict's confidence and candidates, and a
//! log of a failed join that no signature knows (never silent: a low-confidence domain from
//! the failure lines' words, or `undecidable` with candidates). The rules are in
//! `crates/joinkit-core/src/diagnose/explain/unmatched.rs` and `explain/mod.rs`.

use crate::common::run_with;
use serde_json::Value;

fn explain(log: &str) -> (i32, Value) {
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(log.as_bytes()));
    (r.code, r.json())
}

#[test]
fn a_known_cause_alone_is_high_confidence() {
    let (code, v) = explain("error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n");
    assert_eq!(code, 83, "{v}");
    assert_eq!(v["verdict"], "root-cause");
    assert_eq!(v["confidence"]["level"], "high", "{v}");
    assert_eq!(v["candidates"], serde_json::json!([]), "{v}");
}

#[test]
fn causes_in_two_domains_give_medium_confidence_and_a_candidate_with_its_check() {
    let log = "dial tcp: lookup cp.example.com on 10.0.0.2:53: no such host\n\
error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";
    let (code, v) = explain(log);
    assert_eq!(code, 81, "the earliest cause decides: {v}");
    assert_eq!(v["confidence"]["level"], "medium", "{v}");
    let c = &v["candidates"][0];
    assert_eq!(c["domain"], "token", "{v}");
    assert_eq!(c["line"], 2);
    assert!(c["tellApart"].as_str().unwrap().contains("token list"), "{v}");
}

#[test]
fn a_symptom_alone_is_medium_and_names_what_unknown_lines_point_at() {
    // kubeadm's kubelet health check (a symptom, runtime) and a kubelet error no signature
    // knows that speaks of a certificate: the symptom stays the root, the tls line is a
    // candidate (a line of the root's own domain is not).
    let log = "[kubelet-check] The HTTP call equal to 'curl -sSL http://localhost:10248/healthz' failed with error: Get \"http://localhost:10248/healthz\": dial tcp 127.0.0.1:10248: connect: connection refused.\n\
E1207 10:00:00.000000 1 server.go:1] \"frobnicating the client certificate went sideways\"\n\
E1207 10:00:00.000000 1 server.go:1] \"frobnicating the containerd shim went sideways\"\n";
    let (_, v) = explain(log);
    assert_eq!(v["rootCause"]["role"], "symptom", "{v}");
    assert_eq!(v["confidence"]["level"], "medium", "{v}");
    let cands: Vec<(&str, &str)> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["signature"].as_str().unwrap(), c["domain"].as_str().unwrap()))
        .collect();
    assert_eq!(cands, [("unmatched-failure-line", "tls")], "{v}");
}

#[test]
fn failure_lines_no_signature_knows_vote_for_a_domain_with_low_confidence() {
    let log = "I1207 10:00:00.000000 1 x.go:1] starting, no error yet\n\
E1207 10:00:01.000000 1 x.go:2] \"frobnicating the cgroup hierarchy went sideways\"\n\
E1207 10:00:02.000000 1 x.go:3] \"the containerd shim is unhappy\"\n\
E1207 10:00:03.000000 1 x.go:4] \"x509 frobnication\"\n";
    let (code, v) = explain(log);
    assert_eq!(code, 90, "runtime: two lines against one: {v}");
    assert_eq!(v["rootCause"]["id"], "unmatched-failure-line");
    assert_eq!(v["confidence"]["level"], "low");
    assert_eq!(v["decidedBy"][0]["line"], 2, "{v}");
    assert_eq!(v["decidedBy"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["unmatchedFailureLines"]["count"], 3, "the informational line is not one: {v}");
}

#[test]
fn a_tie_or_no_domain_words_is_undecidable_with_candidates() {
    let (code, v) =
        explain("E1207 10:00:01.000000 1 x.go:2] \"the cgroup went sideways\"\nerror: x509 went sideways\n");
    assert_eq!(code, 93, "{v}");
    assert_eq!(v["verdict"], "undecidable");
    assert!(v["failureDomain"].is_null() && v["rootCause"].is_null(), "{v}");
    let domains: Vec<&str> =
        v["candidates"].as_array().unwrap().iter().map(|c| c["domain"].as_str().unwrap()).collect();
    assert_eq!(domains, ["runtime", "tls"], "tie: both, the earliest first");
    assert!(v["candidates"].as_array().unwrap().iter().all(|c| !c["tellApart"].as_str().unwrap().is_empty()));
    // No domain's words at all.
    let (code, v) = explain("error: something went sideways\n");
    assert_eq!(code, 93, "{v}");
    assert_eq!(v["candidates"], serde_json::json!([]));
    assert_eq!(v["unmatchedFailureLines"]["first"][0]["line"], 1);
    assert_eq!(v["failure"]["code"], "root-cause-undecidable", "{v}");
    // The text report says so and lists the line.
    let r = run_with(&["explain-log"], &[], Some(b"error: something went sideways\n"));
    assert_eq!(r.code, 93);
    assert!(
        r.stdout.contains("undecidable: 1 failure line(s)") && r.stdout.contains("-:1  error: something went sideways"),
        "{}",
        r.stdout
    );
}

#[test]
fn informational_lines_and_resolved_failures_stay_clean() {
    // klog info and logrus info lines with failure words are not failure lines.
    let log = "I1207 10:00:00.000000 1 x.go:1] retrying after error\ntime=\"2026-12-07T10:00:00Z\" level=info msg=\"no errors\"\n";
    let (code, v) = explain(log);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("clean")), "{v}");
    // A failure line before a successful join is resolved by it.
    let (code, v) = explain("error: something went sideways\nThis node has joined the cluster:\n");
    assert_eq!(code, 0, "{v}");
    assert!(v["unmatchedFailureLines"].is_null(), "{v}");
}

#[test]
fn the_text_report_gives_the_confidence_and_the_candidates() {
    let log = "dial tcp: lookup cp.example.com on 10.0.0.2:53: no such host\n\
error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\"\n";
    let r = run_with(&["explain-log"], &[], Some(log.as_bytes()));
    assert!(r.stdout.contains("confidence: medium ("), "{}", r.stdout);
    let after = r.stdout.split("other candidates:").nth(1).unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(after.contains("-:2  [token] kubeadm-jws-missing") && after.contains("tell apart: "), "{}", r.stdout);
}
