//! explain-log on real logs: `tests/logs/` holds excerpts users posted in public threads
//! (kubeadm, kubelet, containerd, CRI-O, cloud-init, kind, kubectl, Ansible, EKS), copied
//! verbatim, each with a YAML front matter naming its source (repository and issue), the root
//! cause the thread settled on, the expected failure domain and the evidence line. Every case
//! runs through `joinkit explain-log - -o json` (the excerpt only, never the front matter).
//!
//! The corpus is split once, by a rule on each file's name (`tests/logs/split.toml`, rule and
//! check in `tests/logs/split.py`, re-checked here): rules are written against the `kept` part,
//! and every kept case must give its domain and list its evidence among the lines that decided
//! it (`decidedBy`); a kept case whose log alone cannot tell says so in `undecidable:` and names
//! what joinkit says instead (`joinkit_domain`, `joinkit_evidence`; it still counts as a miss).
//! The `held_out` part is scored, not required case by case: its recall must not fall below
//! the floor measured when the rules were frozen ([`HELD_OUT_FLOOR`]), and it is reported twice,
//! over all held-out files and over the "unseen" ones (numbered 045 and up: files 001-044
//! existed, with rules written against them, before the split was drawn). Both recalls are
//! printed by domain (`cargo test --test it explain_corpus::recall -- --nocapture`, which CI
//! runs); `bench/corpus_recall.py` measures them for any binary. The blind sets ([`BLIND_SETS`],
//! `tests/logs/fresh*/`) are printed and held at their floors the same way.

use crate::common::run_with;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Case {
    name: String,
    meta: Value,
    body: String,
}

fn logs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/logs")
}

/// Every corpus case, or only those named in `only`.
fn cases_named(only: Option<&[String]>) -> Vec<Case> {
    cases_in(logs_dir(), only)
}

/// The blind sets: excerpts gathered after rules had been written, by someone who neither ran
/// joinkit nor read its rules (each directory's PROCEDURE.md), each scored once with the rules
/// frozen: (directory, the least number of cases that must give their thread's domain since
/// (the first score, or what it rose to), the most cases that may be reported clean (failed
/// joins joinkit is silent on, as first scored)). A case whose thread says `network` also
/// counts when joinkit says `dns` (the gatherers were told that `network` covers name
/// resolution).
const BLIND_SETS: &[(&str, u32, usize)] =
    &[("fresh", 38, 0), ("fresh2", 33, 0), ("fresh3", 34, 1), ("fresh4", 26, 2), ("fresh5", 10, 0)];

/// The cases of `dir` (`*.log`), or only those named in `only`.
fn cases_in(dir: PathBuf, only: Option<&[String]>) -> Vec<Case> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .filter(|p| only.is_none_or(|o| o.iter().any(|n| p.file_name().is_some_and(|f| f == n.as_str()))))
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

fn cases() -> Vec<Case> {
    cases_named(None)
}

/// The cases of every blind set, with the set's name.
fn blind_cases() -> Vec<(&'static str, Case)> {
    BLIND_SETS
        .iter()
        .flat_map(|(set, ..)| cases_in(logs_dir().join(set), None).into_iter().map(move |c| (*set, c)))
        .collect()
}

/// Whether joinkit's domain `got` is the thread's `want` in a blind set (`dns` counts for
/// `network`).
fn blind_right(want: &str, got: &str) -> bool {
    got == want || (want == "network" && got == "dns")
}

/// `tests/logs/split.toml`: the held-out and kept file names and the held-out files that
/// existed before the split was drawn.
struct Split {
    held_out: Vec<String>,
    kept: Vec<String>,
    seen_before_split: Vec<String>,
}

/// Reads one `key = [ "a", "b", ]` array of split.toml (the file split.py writes).
fn toml_array(text: &str, key: &str) -> Vec<String> {
    let start = text.find(&format!("\n{key} = [")).unwrap_or_else(|| panic!("split.toml has no {key}"));
    let rest = &text[start..];
    let body = &rest[rest.find('[').unwrap() + 1..rest.find("\n]").unwrap()];
    body.lines().filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix("\",").map(str::to_string)).collect()
}

fn split() -> Split {
    let text = std::fs::read_to_string(logs_dir().join("split.toml")).unwrap();
    Split {
        held_out: toml_array(&text, "held_out"),
        kept: toml_array(&text, "kept"),
        seen_before_split: toml_array(&text, "seen_before_split"),
    }
}

/// The split's rule (tests/logs/split.py): held out iff the first byte of sha256(basename) is
/// 0 or 1 modulo 5.
fn held_out_by_rule(name: &str) -> bool {
    ring::digest::digest(&ring::digest::SHA256, name.as_bytes()).as_ref()[0] % 5 < 2
}

/// The least number of held-out cases that must give their thread's domain: the recall
/// measured when the rules were frozen (see the README's explain-log section). A change that
/// loses a held-out case fails here; one that wins some raises it.
const HELD_OUT_FLOOR: u32 = 54;

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// What joinkit said about one case: its domain (`success`, `clean`, `undecidable` or a
/// failure domain) and the texts of the lines that decided it.
fn verdict(body: &str) -> (String, Vec<String>, Value) {
    let r = run_with(&["explain-log", "-", "-o", "json"], &[], Some(body.as_bytes()));
    let v = r.json();
    let domain = if let Some(d) = v["failureDomain"].as_str() {
        assert_ne!(r.code, 0, "{v}");
        d.to_string()
    } else if v["verdict"] == "undecidable" {
        assert_eq!(r.code, 93, "{v}");
        "undecidable".to_string()
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

/// Recall by the domain the thread settled on: domain -> (cases, right).
type Recall = BTreeMap<String, (u32, u32)>;

fn print_recall(title: &str, r: &Recall) -> (u32, u32) {
    let (n, ok) = r.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("\n{title}");
    println!("| domain | cases | right | recall |\n|---|---|---|---|");
    for (d, (cases, right)) in r {
        println!("| {d} | {cases} | {right} | {:.0}% |", 100.0 * f64::from(*right) / f64::from(*cases));
    }
    println!("| all | {n} | {ok} | {:.0}% |", 100.0 * f64::from(ok) / f64::from(n.max(1)));
    (n, ok)
}

#[test]
fn the_split_follows_its_rule_and_covers_the_corpus() {
    let sp = split();
    let all: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    assert!(all.len() >= 150, "{} corpus files", all.len());
    let mut listed: Vec<String> = sp.held_out.iter().chain(&sp.kept).cloned().collect();
    listed.sort();
    assert_eq!(listed, all, "split.toml lists every corpus file exactly once (python3 tests/logs/split.py --write)");
    for n in &all {
        assert_eq!(sp.held_out.contains(n), held_out_by_rule(n), "{n}: its side is the rule's");
    }
    assert!(3 * sp.held_out.len() >= all.len(), "at least a third held out: {} of {}", sp.held_out.len(), all.len());
    for n in &sp.seen_before_split {
        assert!(sp.held_out.contains(n) && n.as_str() < "045", "{n}");
    }
    assert!(sp.held_out.iter().filter(|n| n.as_str() < "045").all(|n| sp.seen_before_split.contains(n)));
}

#[test]
fn every_case_has_its_front_matter_and_its_evidence() {
    let blind = blind_cases();
    assert!(blind.len() >= 40, "{} blind cases", blind.len());
    for c in cases().into_iter().chain(blind.into_iter().map(|(_, c)| c)) {
        let m = &c.meta;
        for k in ["source", "repository", "kind", "domain", "root_cause", "evidence", "redactions"] {
            assert!(s(m, k).is_some_and(|v| !v.is_empty()), "{}: front matter lacks {k}", c.name);
        }
        assert!(m.get("issue").is_some(), "{}: no issue number", c.name);
        assert!(c.body.contains(s(m, "evidence").unwrap()), "{}: evidence is not in the excerpt", c.name);
    }
}

#[test]
fn every_kept_log_gives_its_domain_and_quotes_its_evidence() {
    let kept = split().kept;
    let cases = cases_named(Some(&kept));
    assert_eq!(cases.len(), kept.len());
    let mut recall = Recall::new();
    let mut failures = Vec::new();
    for c in &cases {
        let m = &c.meta;
        let evidence = s(m, "evidence").unwrap();
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
            ("undecidable", _) => assert!(v["candidates"].is_array(), "{}: {v}", c.name),
            (_, Some(ev)) => {
                if !decided.iter().any(|t| t.contains(ev)) {
                    failures.push(format!("{}: evidence {ev:?} not among the deciding lines {decided:?}", c.name));
                }
            }
            (_, None) => panic!("{}: a failure case needs evidence", c.name),
        }
    }
    print_recall("explain-log recall on the kept corpus (right domain, by the domain the thread settled on):", &recall);
    assert!(failures.is_empty(), "{} case(s) wrong:\n{}", failures.len(), failures.join("\n"));
}

/// Never silent: no corpus log of a failed join is reported clean. Each one gets a root cause
/// with a confidence and the lines that decided it, or `undecidable` with candidates.
#[test]
fn no_log_of_a_failed_join_is_reported_clean() {
    let mut silent = Vec::new();
    let mut blind_silent = BTreeMap::<&str, Vec<String>>::new();
    let all = cases().into_iter().map(|c| ("", c)).chain(blind_cases());
    for (set, c) in all {
        let want = s(&c.meta, "domain").unwrap();
        if want == "success" || want == "clean" {
            continue;
        }
        let (got, decided, v) = verdict(&c.body);
        match got.as_str() {
            "clean" | "success" if set.is_empty() => silent.push(format!("{}: {got}", c.name)),
            "clean" | "success" => blind_silent.entry(set).or_default().push(format!("{set}/{}: {got}", c.name)),
            "undecidable" => assert!(v["confidence"]["level"] == "low", "{}: {v}", c.name),
            _ => {
                assert!(
                    ["high", "medium", "low"].contains(&v["confidence"]["level"].as_str().unwrap_or("")),
                    "{}: {v}",
                    c.name
                );
                assert!(!decided.is_empty(), "{}: no deciding line", c.name);
            }
        }
    }
    // A blind set keeps the silent cases it was first scored with (they are reported, not
    // fixed by looking), and gets no more.
    for (set, _, most) in BLIND_SETS {
        let s = blind_silent.get(set).map_or(&[][..], Vec::as_slice);
        println!("{set}: {} failed join(s) reported clean: {s:?}", s.len());
        assert!(s.len() <= *most, "{set}: {} silent, at most {most}: {s:?}", s.len());
    }
    assert!(
        silent.is_empty(),
        "{} log(s) of a failed join reported without a cause:\n{}",
        silent.len(),
        silent.join("\n")
    );
}

/// The recall on both parts of the split, by domain; the held-out part must stay at or above
/// [`HELD_OUT_FLOOR`]. CI runs this test with `--nocapture` to print the tables.
#[test]
fn recall_on_kept_and_held_out() {
    let sp = split();
    let mut kept = Recall::new();
    let mut held = Recall::new();
    let mut unseen = Recall::new();
    let mut misses = Vec::new();
    for c in cases() {
        let want = s(&c.meta, "domain").unwrap().to_string();
        let (got, ..) = verdict(&c.body);
        let right = u32::from(got == want);
        let held_out = sp.held_out.contains(&c.name);
        let tables: Vec<&mut Recall> = if !held_out {
            vec![&mut kept]
        } else if sp.seen_before_split.contains(&c.name) {
            vec![&mut held]
        } else {
            vec![&mut held, &mut unseen]
        };
        for t in tables {
            let e = t.entry(want.clone()).or_default();
            e.0 += 1;
            e.1 += right;
        }
        if held_out && right == 0 {
            misses.push(format!("{}: thread {want}, joinkit {got}", c.name));
        }
    }
    print_recall("explain-log recall, kept part (rules were written against it):", &kept);
    let (_, held_ok) =
        print_recall("explain-log recall, held-out part (scored, never read while writing rules):", &held);
    print_recall("explain-log recall, held-out files no rule was ever written against (045 and up):", &unseen);
    // The real programs' own output (tests/logs/generated/, each case also required by
    // `generated_corpus`).
    let mut generated = Recall::new();
    for p in generated_paths() {
        let text = std::fs::read_to_string(&p).unwrap();
        let (front, body) = text.strip_prefix("---\n").and_then(|r| r.split_once("\n---\n")).unwrap();
        let m: Value = serde_saphyr::from_str(front).unwrap();
        let want = s(&m, "domain").unwrap().to_string();
        let (got, ..) = verdict(body);
        let e = generated.entry(want.clone()).or_default();
        e.0 += 1;
        e.1 += u32::from(got == want);
    }
    print_recall("explain-log recall, logs made by the real kubeadm and kubelet (tests/logs/generated):", &generated);
    println!("\nheld-out misses:\n{}", misses.join("\n"));
    // The blind sets, each against its floor.
    let mut low = Vec::new();
    for (set, floor, _) in BLIND_SETS {
        let mut r = Recall::new();
        for c in cases_in(logs_dir().join(set), None) {
            let want = s(&c.meta, "domain").unwrap().to_string();
            let (got, ..) = verdict(&c.body);
            let e = r.entry(want.clone()).or_default();
            e.0 += 1;
            e.1 += u32::from(blind_right(&want, &got));
        }
        let (_, ok) = print_recall(&format!("explain-log recall, blind set tests/logs/{set}/:"), &r);
        if ok < *floor {
            low.push(format!("{set}: {ok} right, floor {floor}"));
        }
    }
    assert!(low.is_empty(), "blind-set recall fell: {}", low.join("; "));
    assert!(
        held_ok >= HELD_OUT_FLOOR,
        "held-out recall fell to {held_ok} cases (floor {HELD_OUT_FLOOR}):\n{}",
        misses.join("\n")
    );
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
    let paths = generated_paths();
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

/// The `*.log` files of `tests/logs/generated/`, sorted.
fn generated_paths() -> Vec<PathBuf> {
    let dir = logs_dir().join("generated");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(d) => d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "log")).collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    paths
}
