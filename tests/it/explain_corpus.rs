//! explain-log on real logs: `tests/logs/` holds excerpts users posted in public issues
//! (kubeadm, kubelet, containerd, cloud-init, kind, Ansible, EKS), copied verbatim, each with a
//! YAML front matter naming its source (repository and issue), the root cause the thread
//! settled on, the expected failure domain and the evidence line. Every case runs through
//! `joinkit explain-log - -o json` (the excerpt only, never the front matter) and must give the
//! expected domain and list the evidence line among the lines that decided it (`decidedBy`).
//! A case whose log alone cannot tell says so in `undecidable:` and names what joinkit says
//! instead (`joinkit_domain`, `joinkit_evidence`); it still counts as a miss in the recall.
//! The recall by domain is printed (`cargo test --test it explain_corpus -- --nocapture`);
//! `bench/corpus_recall.py` measures it for any binary.

use crate::common::run_with;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Case {
    name: String,
    meta: Value,
    body: String,
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/logs");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let rest = text.strip_prefix("---\n").unwrap_or_else(|| panic!("{name}: no front matter"));
            let (front, body) = rest.split_once("\n---\n").unwrap_or_else(|| panic!("{name}: front matter not closed"));
            let meta: Value = serde_saphyr::from_str(front).unwrap_or_else(|e| panic!("{name}: {e}"));
            Case { name, meta, body: body.to_string() }
        })
        .collect()
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// What joinkit said about one case: its domain (`success`, `clean` or a failure domain) and
/// the texts of the lines that decided it.
fn verdict(body: &str) -> (String, Vec<String>, Value) {
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(body.as_bytes()));
    let v = r.json();
    let domain = if let Some(d) = v["failureDomain"].as_str() {
        assert_ne!(r.code, 0, "{v}");
        d.to_string()
    } else {
        assert_eq!(r.code, 0, "{v}");
        if v["joined"].is_null() { "clean" } else { "success" }.to_string()
    };
    let decided = v["decidedBy"]
        .as_array()
        .map(|a| a.iter().map(|d| d["text"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (domain, decided, v)
}

#[test]
fn every_real_log_gives_its_domain_and_quotes_its_evidence() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    // expected domain -> (cases, right domain)
    let mut recall: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in &cases {
        let m = &c.meta;
        for k in ["source", "repository", "kind", "domain", "root_cause", "evidence", "redactions"] {
            assert!(s(m, k).is_some_and(|v| !v.is_empty()), "{}: front matter lacks {k}", c.name);
        }
        assert!(m.get("issue").is_some(), "{}: no issue number", c.name);
        let evidence = s(m, "evidence").unwrap();
        assert!(c.body.contains(evidence), "{}: evidence is not in the excerpt", c.name);
        let thread_domain = s(m, "domain").unwrap();
        let undecidable = s(m, "undecidable");
        let (want, want_evidence) = match undecidable {
            Some(_) => {
                let d =
                    s(m, "joinkit_domain").unwrap_or_else(|| panic!("{}: undecidable without joinkit_domain", c.name));
                (d, s(m, "joinkit_evidence"))
            }
            None => (thread_domain, Some(evidence)),
        };
        let (got, decided, v) = verdict(&c.body);
        let e = recall.entry(thread_domain.to_string()).or_default();
        e.0 += 1;
        e.1 += u32::from(got == thread_domain);
        if got != want {
            failures.push(format!("{}: expected {want}, joinkit says {got}: {}", c.name, v["rootCause"]["id"]));
            continue;
        }
        match (want, want_evidence) {
            ("success", _) => assert!(v["joined"]["text"].as_str().unwrap().contains(evidence), "{}: {v}", c.name),
            ("clean", _) => assert!(v["rootCause"].is_null() && v["decidedBy"].is_null(), "{}: {v}", c.name),
            (_, Some(ev)) => {
                if !decided.iter().any(|t| t.contains(ev)) {
                    failures.push(format!("{}: evidence {ev:?} not among the deciding lines {decided:?}", c.name));
                }
            }
            (_, None) => panic!("{}: a failure case needs evidence", c.name),
        }
    }
    let (n, ok) = recall.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("explain-log recall on tests/logs (right domain, by the domain the thread settled on):");
    println!("| domain | cases | right | recall |\n|---|---|---|---|");
    for (d, (cases, right)) in &recall {
        println!("| {d} | {cases} | {right} | {:.0}% |", 100.0 * f64::from(*right) / f64::from(*cases));
    }
    println!("| all | {n} | {ok} | {:.0}% |", 100.0 * f64::from(ok) / f64::from(n));
    assert!(failures.is_empty(), "{} case(s) wrong:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_text_report_names_the_deciding_line() {
    // One case through the text output: the deciding line with its location and text.
    let c = cases().into_iter().find(|c| c.name.starts_with("034-")).unwrap();
    let r = run_with(&["explain-log"], &[], Some(c.body.as_bytes()));
    assert_eq!(r.code, 90, "{}", r.stdout);
    let after = r.stdout.split("decided by:").nth(1).unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(after.contains("-:2  [cause] runtime-sandbox-image-pull (root cause)"), "{}", r.stdout);
    assert!(after.contains("failed to get sandbox image"), "{}", r.stdout);
}

/// The parts of a verdict that must not depend on the log's line endings.
fn endings_verdict(body: &[u8]) -> Value {
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(body));
    let v = r.json();
    let keys = [
        "lines",
        "truncatedLines",
        "failureDomain",
        "rootCause",
        "decidedBy",
        "findings",
        "resolved",
        "context",
        "joined",
    ];
    let mut out: serde_json::Map<String, Value> = keys.iter().map(|k| (k.to_string(), v[*k].clone())).collect();
    out.insert("exit".into(), r.code.into());
    Value::Object(out)
}

/// Every real log with CR-only endings (old Mac text, some terminal captures) and with mixed
/// endings (`\n`, `\r\n` and `\r` in turn) gives the verdict of its LF version: the same root
/// cause, the same line numbers in `decidedBy`, the same findings. A CR-only log used to be
/// one line, cut at 64 KiB, and matched as one.
#[test]
fn every_real_log_gives_the_same_verdict_with_cr_or_mixed_line_endings() {
    use crate::explain_log::{with_endings, ENDINGS};
    for c in cases() {
        let lf = c.body.as_bytes();
        let want = endings_verdict(lf);
        for (name, log) in
            [("CR-only", with_endings(lf, |_| ENDINGS[2])), ("mixed", with_endings(lf, |i| ENDINGS[i % 3]))]
        {
            assert_eq!(endings_verdict(&log), want, "{}: {name} endings", c.name);
        }
    }
    // One in detail: the sandbox-image case names its root cause on line 2 with either ending.
    let c = cases().into_iter().find(|c| c.name.starts_with("034-")).unwrap();
    let v = endings_verdict(&with_endings(c.body.as_bytes(), |_| ENDINGS[2]));
    assert_eq!(v["rootCause"]["id"], "runtime-sandbox-image-pull", "{v}");
    assert_eq!(v["decidedBy"][0]["line"], 2, "{v}");
    assert_eq!(v["exit"], 90, "{v}");
}

/// The logs generated from real programs: every `*.log` in `tests/logs/generated/` (kubeadm's
/// `kubeadm-join-*.log` from `tests/logs/generated/regenerate.sh`, the kubelet's `kubelet-*.log`)
/// has the front matter of `tests/logs/*.log` (`source`, `domain`, `root_cause`, `evidence`),
/// its evidence line is in the log, and `joinkit explain-log` gives the expected domain and
/// lists the evidence line among the lines that decided it. Generic over the directory: a new
/// file is a new case.
#[test]
fn generated_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/logs/generated");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(d) => d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "log")).collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    let mut failures = Vec::new();
    for p in &paths {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(p).unwrap();
        let rest = text.strip_prefix("---\n").unwrap_or_else(|| panic!("{name}: no front matter"));
        let (front, body) = rest.split_once("\n---\n").unwrap_or_else(|| panic!("{name}: front matter not closed"));
        let m: Value = serde_saphyr::from_str(front).unwrap_or_else(|e| panic!("{name}: {e}"));
        for k in ["source", "domain", "root_cause", "evidence"] {
            assert!(s(&m, k).is_some_and(|v| !v.is_empty()), "{name}: front matter lacks {k}");
        }
        let evidence = s(&m, "evidence").unwrap();
        assert!(body.contains(evidence), "{name}: evidence is not in the log");
        let want = s(&m, "domain").unwrap();
        let (got, decided, v) = verdict(body);
        if got != want {
            failures.push(format!("{name}: expected {want}, joinkit says {got}: {}", v["rootCause"]["id"]));
        } else if want != "success" && want != "clean" && !decided.iter().any(|t| t.contains(evidence)) {
            failures.push(format!("{name}: evidence {evidence:?} not among the deciding lines {decided:?}"));
        }
    }
    println!("generated corpus: {} logs, {} wrong", paths.len(), failures.len());
    assert!(failures.is_empty(), "{} generated log(s) wrong:\n{}", failures.len(), failures.join("\n"));
}
