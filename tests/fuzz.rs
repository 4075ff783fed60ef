//! Randomised input for every parser that sees untrusted bytes (proptest, stable Rust).
//!
//! Each parser gets two kinds of input: random bytes (or random text from a relevant alphabet)
//! and mutations (byte flips, inserts, deletes, duplicated ranges, truncation, splices of
//! syntax fragments) of a committed seed corpus, tests/corpus/<parser>/ (see its README).
//! Asserted for every case: no panic, the call returns within [`CASE_LIMIT`] (each library call
//! runs in its own thread), memory stays bounded (this process runs under RLIMIT_AS
//! [`SELF_AS_LIMIT`]; each binary run under [`CHILD_AS_LIMIT`] and a 20 s kill), and the binary
//! exits with one of its documented codes and a JSON report (never 101, a panic, or a signal).
//! The JWS test also checks the one property that has an oracle: any change of signature or
//! content is rejected.
//!
//! Case counts: `PROPTEST_CASES` sets the library cases per parser (default 1024); binary cases
//! per parser are an eighth of that (default 128). Each test prints what it ran (`cargo test --test
//! fuzz -- --nocapture`). Failing seeds are kept in tests/proptest-regressions/fuzz-<parser>.txt.
//!
//! Two bugs this suite found bounds for are now regression tests: the YAML alias bomb
//! (`yaml_alias_bomb_is_bounded`) and explain-log on a 256 MiB line
//! (`explain_log_huge_line_is_bounded`); random YAML is no longer kept free of aliases.
//!
//! Library calls: tests/common/libapi.rs only.

#[path = "common/hostile.rs"]
mod hostile;
#[path = "common/libapi.rs"]
mod libapi;

use hostile::{b64, run_bounded, Bounded, Limits};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bound for one library call.
const CASE_LIMIT: Duration = Duration::from_secs(5);
/// Address-space limit of this test process (library cases run in it).
const SELF_AS_LIMIT: u64 = 6 << 30;
/// Address-space limit of each joinkit run.
const CHILD_AS_LIMIT: u64 = 1 << 30;
/// Bound for one binary run (it is killed after 20 s; slower than this fails the case).
const BIN_CASE_LIMIT: Duration = Duration::from_secs(5);

const TOKEN_ID: &str = "abcdef";
const TOKEN_SECRET: &str = "0123456789abcdef";
const TOKEN: &str = "abcdef.0123456789abcdef";
/// The token that signed the v1.24 cluster-info vectors (tests/vectors/.../token_used.txt).
const VECTOR_TOKEN: &str = "v49uhc.4xw3u8xp298x9m5n";

// ---------------------------------------------------------------------------------------------
// Harness

fn lib_cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1024)
}

fn bin_cases() -> u32 {
    (lib_cases() / 8).max(1)
}

fn limit_self() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let r = libc::rlimit { rlim_cur: SELF_AS_LIMIT as libc::rlim_t, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: plain syscall on a stack value.
        unsafe { libc::setrlimit(libc::RLIMIT_AS, &r) };
    });
}

fn runner(parser: &str, cases: u32) -> TestRunner {
    limit_self();
    let path: &'static str = Box::leak(format!("tests/proptest-regressions/fuzz-{parser}.txt").into_boxed_str());
    TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        max_shrink_iters: 64,
        max_shrink_time: 30_000,
        max_global_rejects: cases * 4,
        ..Config::default()
    })
}

/// Per-parser counters, printed at the end of each test. "Accepted" means the parser returned
/// Ok (or the binary exited 0); "not applicable" counts CSR objects that were not JSON (not a
/// joinkit parser's input).
struct Stats {
    parser: &'static str,
    start: Instant,
    cases: Cell<usize>,
    skipped: Cell<usize>,
    ok: Cell<usize>,
    slowest: Cell<Duration>,
}

impl Stats {
    fn new(parser: &'static str) -> Stats {
        Stats {
            parser,
            start: Instant::now(),
            cases: Cell::new(0),
            skipped: Cell::new(0),
            ok: Cell::new(0),
            slowest: Cell::new(Duration::ZERO),
        }
    }
    fn case(&self, took: Duration, accepted: bool) {
        self.cases.set(self.cases.get() + 1);
        if accepted {
            self.ok.set(self.ok.get() + 1);
        }
        if took > self.slowest.get() {
            self.slowest.set(took);
        }
    }
    fn skip(&self) {
        self.skipped.set(self.skipped.get() + 1);
    }
    fn print(&self) {
        eprintln!(
            "fuzz[{}]: {} cases run ({} accepted, {} not applicable), slowest {:?}, {:.1} s",
            self.parser,
            self.cases.get(),
            self.ok.get(),
            self.skipped.get(),
            self.slowest.get(),
            self.start.elapsed().as_secs_f64()
        );
    }
}

fn finish<T: std::fmt::Debug>(stats: &Stats, r: Result<(), proptest::test_runner::TestError<T>>) {
    stats.print();
    if let Err(e) = r {
        panic!("fuzz[{}]: {e}", stats.parser);
    }
}

/// Runs `f` in its own thread: a panic or a run longer than [`CASE_LIMIT`] fails the case.
fn bounded<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<(T, Duration), TestCaseError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    std::thread::Builder::new()
        .name(format!("fuzz-{what}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .map_err(|e| TestCaseError::fail(format!("spawn: {e}")))?;
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(Ok(v)) => Ok((v, start.elapsed())),
        Ok(Err(p)) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(TestCaseError::fail(format!("{what} panicked: {msg}")))
        }
        Err(_) => Err(TestCaseError::fail(format!("{what} did not return within {CASE_LIMIT:?} (hang)"))),
    }
}

/// Exit codes joinkit documents, plus 0: the codes table README's exit-code table is generated
/// from (`joinkit_core::error::Code::ALL`; a docs test keeps README equal to it).
fn documented_exit(code: i32) -> bool {
    code == 0 || joinkit_core::error::Code::ALL.iter().any(|c| c.exit_code() == code)
}

/// A binary run's result must be a documented exit code with a JSON report, in time.
fn check_bin(what: &str, r: &Bounded, json: bool) -> Result<(), TestCaseError> {
    let Some(code) = r.code else {
        return Err(TestCaseError::fail(format!("{what}: killed (signal, out of memory or time)\n{}", r.describe())));
    };
    if code == 101 || code == 1 || !documented_exit(code) {
        return Err(TestCaseError::fail(format!(
            "{what}: exit {code} (panic/internal/undocumented)\n{}",
            r.describe()
        )));
    }
    if r.elapsed > BIN_CASE_LIMIT && !r.timed_out {
        return Err(TestCaseError::fail(format!("{what}: took {:?}\n{}", r.elapsed, r.describe())));
    }
    if json && serde_json::from_str::<serde_json::Value>(&r.stdout).is_err() {
        return Err(TestCaseError::fail(format!("{what}: stdout is not one JSON report\n{}", r.describe())));
    }
    Ok(())
}

fn bin(args: &[&str], stdin: Vec<u8>, env: &[(&str, &str)]) -> Bounded {
    run_bounded(args, env, Some(stdin), Limits { wall: Duration::from_secs(20), address_space: Some(CHILD_AS_LIMIT) })
}

// ---------------------------------------------------------------------------------------------
// Inputs: random and mutated seeds

fn corpus(parser: &str) -> Arc<Vec<Vec<u8>>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(parser);
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    Arc::new(seeds)
}

/// Syntax fragments spliced into inputs.
const FRAGMENTS: &[&[u8]] = &[
    b"-----BEGIN CERTIFICATE-----\n",
    b"-----END CERTIFICATE-----\n",
    b"-----BEGIN ",
    b"\n",
    b"\r\n",
    b": ",
    b"- ",
    b"  ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"'",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"---\n",
    b"...\n",
    b"!!binary ",
    b"!!str ",
    b"? ",
    b"|\n",
    b">-\n",
    b"#",
    b"..",
    b".",
    b"=",
    b"null",
    b"~",
    b"true",
    b"1e999",
    b"-0",
    b"0x",
    b"\x00",
    b"\xff",
    b"\xc3\x28",
    b"\xe2\x80\xae",
    b"\t",
    b"\x30\x82\xff\xff",
    b"\x30\x80",
    b"\x06\x03\x55\x1d\x13",
    b"certificate-authority-data: ",
    b"server: https://",
    b"kind: JoinConfiguration\n",
    b"apiVersion: kubeadm.k8s.io/v1beta4\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
    Splice(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        2 => (any::<usize>(), vec(any::<u8>(), 1..16)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        2 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => (any::<usize>(), 1usize..256).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        3 => (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(p, i)| Mutation::Splice(p, i)),
    ]
}

fn apply(mut d: Vec<u8>, ms: &[Mutation], max_len: usize) -> Vec<u8> {
    for m in ms {
        let len = d.len();
        let at = |p: usize| if len == 0 { 0 } else { p % (len + 1) };
        match m {
            Mutation::Flip(p, b) if len > 0 => d[p % len] ^= b | 1,
            Mutation::Flip(..) => {}
            Mutation::Insert(p, b) => {
                let i = at(*p);
                d.splice(i..i, b.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let i = at(*p).min(len);
                let j = (i + n).min(len);
                d.drain(i..j);
            }
            Mutation::Duplicate(p, n) => {
                let i = at(*p).min(len);
                let j = (i + n).min(len);
                let chunk = d[i..j].to_vec();
                d.splice(j..j, chunk);
            }
            Mutation::Truncate(p) => d.truncate(at(*p)),
            Mutation::Splice(p, f) => {
                let i = at(*p);
                d.splice(i..i, FRAGMENTS[*f].iter().copied());
            }
        }
        d.truncate(max_len);
    }
    d
}

/// Random bytes, random text over `alphabet`, or a mutated seed.
fn input(seeds: Arc<Vec<Vec<u8>>>, alphabet: &'static [u8], max_len: usize) -> BoxedStrategy<Vec<u8>> {
    let n = seeds.len();
    let s2 = seeds.clone();
    prop_oneof![
        1 => vec(any::<u8>(), 0..max_len.min(2048)),
        1 => vec(proptest::sample::select(alphabet), 0..max_len.min(2048)),
        3 => (0..n, vec(mutation(), 0..3)).prop_map(move |(i, ms)| apply(seeds[i].clone(), &ms, max_len)),
        2 => (0..n, vec(mutation(), 0..12)).prop_map(move |(i, ms)| apply(s2[i].clone(), &ms, max_len)),
    ]
    .boxed()
}

const TEXT: &[u8] = b"abcdefkxyzABCZ0123456789 \n\t:-[]{}\"',.#&*!|>?=/+_%@\\";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.\n";

fn text(d: &[u8]) -> String {
    String::from_utf8_lossy(d).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Library parsers

#[test]
fn pem_and_der() {
    let stats = Stats::new("pem/der");
    let strategy = input(corpus("pem"), B64, 256 << 10);
    let r = runner("pem", lib_cases()).run(&strategy, |data| {
        let d2 = data.clone();
        let (res, took) = bounded("read_certificates", move || {
            let certs = libapi::read_certificates(&d2);
            if let Ok(c) = &certs {
                for der in c {
                    let _ = libapi::inspect_pin(der);
                }
            }
            certs.is_ok()
        })?;
        let (_, took2) = bounded("inspect", move || libapi::inspect_pin(&data).is_ok())?;
        stats.case(took.max(took2), res);
        Ok(())
    });
    finish(&stats, r);
}

#[test]
fn cluster_info_text() {
    let stats = Stats::new("cluster-info");
    let strategy = input(corpus("cluster-info"), TEXT, 64 << 10);
    let r = runner("cluster-info", lib_cases()).run(&strategy, |data| {
        let t = text(&data);
        let (ok, took) =
            bounded("UntrustedClusterInfo::from_text", move || libapi::cluster_info_from_text(&t).is_ok())?;
        stats.case(took, ok);
        Ok(())
    });
    finish(&stats, r);
}

#[derive(Debug, Clone)]
struct JwsCase {
    content: String,
    id: String,
    secret: String,
    /// Replaces the signature entirely when Some.
    arbitrary_sig: Option<String>,
    sig_mutations: Vec<Mutation>,
    content_mutations: Vec<Mutation>,
}

#[test]
fn jws_verify() {
    let stats = Stats::new("jws");
    let vectors: Vec<serde_json::Value> =
        corpus("jws").iter().map(|d| serde_json::from_slice(d).expect("jws seed is JSON")).collect();
    let vectors = Arc::new(vectors);
    let n = vectors.len();
    let v2 = vectors.clone();
    let strategy = (
        0..n,
        prop_oneof![Just(None), "[ -~]{0,80}".prop_map(|s: String| Some(s)), any::<String>().prop_map(Some)],
        vec(mutation(), 0..4),
        vec(mutation(), 0..3),
        proptest::option::of(("[a-z0-9]{0,8}", any::<String>())),
    )
        .prop_map(move |(i, arbitrary_sig, sig_mutations, content_mutations, ids)| {
            let v = &v2[i];
            let (id, secret) = ids.unwrap_or_else(|| {
                (v["token_id"].as_str().unwrap().to_string(), v["token_secret"].as_str().unwrap().to_string())
            });
            JwsCase {
                content: v["content"].as_str().unwrap().to_string(),
                id,
                secret,
                arbitrary_sig,
                sig_mutations,
                content_mutations,
            }
        });
    // The golden vectors verify (the oracle below is only meaningful if they do).
    for v in vectors.iter() {
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        assert!(libapi::jws_verify(&s("content"), &s("signature"), &s("token_id"), &s("token_secret")), "{v}");
    }
    let r = runner("jws", lib_cases()).run(&strategy, |c| {
        let c2 = c.clone();
        let ((ok, expected), took) = bounded("jws::verify", move || {
            let genuine = libapi::sign_detached(&c2.content, &c2.id, &c2.secret);
            let sig = match &c2.arbitrary_sig {
                Some(s) => s.clone(),
                None => text(&apply(genuine.clone().into_bytes(), &c2.sig_mutations, 4096)),
            };
            let content = text(&apply(c2.content.clone().into_bytes(), &c2.content_mutations, 4096));
            let ok = libapi::jws_verify(&content, &sig, &c2.id, &c2.secret);
            // Oracle: it verifies exactly when neither the signature nor the content changed.
            (ok, sig == genuine && content == c2.content)
        })?;
        stats.case(took, ok);
        prop_assert_eq!(
            ok,
            expected,
            "jws::verify accepted a changed signature or content (or rejected a genuine one)"
        );
        Ok(())
    });
    finish(&stats, r);
}

#[test]
fn join_configuration_yaml() {
    let stats = Stats::new("join-config (yaml::parse + config::check_text)");
    let strategy = input(corpus("join-config"), TEXT, 32 << 10);
    let r = runner("join-config", lib_cases()).run(&strategy, |data| {
        let t = text(&data);
        let ((ok, _problems), took) = bounded("yaml::parse + check_text", move || {
            let ok = libapi::yaml_parse(&t).is_ok();
            (ok, libapi::validate_config_text(&t))
        })?;
        stats.case(took, ok);
        Ok(())
    });
    finish(&stats, r);
}

/// A CSR object for `request_der`: a mutated corpus object, or `spec.request` replaced by
/// base64 of random or mutated bytes, or by an arbitrary JSON scalar.
#[derive(Debug, Clone)]
enum CsrCase {
    Object(Vec<u8>),
    RequestB64(Vec<u8>),
    RequestString(String),
    RequestNumber(f64),
}

#[test]
fn csr_request_der() {
    let stats = Stats::new("csr (bootstrap::request_der)");
    let seeds = corpus("csr");
    let pem = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/apiserver-v1.24/rsa/csr_test-node.csr"),
    )
    .unwrap();
    let pem = Arc::new(pem);
    let strategy = prop_oneof![
        (input(seeds, TEXT, 64 << 10)).prop_map(CsrCase::Object),
        (vec(mutation(), 0..8)).prop_map(move |ms| CsrCase::RequestB64(apply(pem.to_vec(), &ms, 64 << 10))),
        vec(any::<u8>(), 0..2048).prop_map(CsrCase::RequestB64),
        "[A-Za-z0-9+/=\n -]{0,600}".prop_map(CsrCase::RequestString),
        any::<f64>().prop_map(CsrCase::RequestNumber),
    ];
    let r = runner("csr", lib_cases()).run(&strategy, |c| {
        let obj: serde_json::Value = match c {
            CsrCase::Object(d) => match serde_json::from_slice(&d) {
                Ok(v) => v,
                Err(_) => {
                    stats.skip();
                    return Ok(());
                }
            },
            CsrCase::RequestB64(d) => serde_json::json!({"spec": {"request": b64(&d)}}),
            CsrCase::RequestString(s) => serde_json::json!({"spec": {"request": s}}),
            CsrCase::RequestNumber(n) => serde_json::json!({"spec": {"request": n}}),
        };
        let (ok, took) = bounded("request_der", move || libapi::request_der(&obj).is_some())?;
        stats.case(took, ok);
        Ok(())
    });
    finish(&stats, r);
}

// ---------------------------------------------------------------------------------------------
// Through the binary

/// The pin of the CA in a cluster-info kubeconfig seed (for the pin stage to be reachable).
fn seed_pins() -> String {
    let mut pins = vec![format!("sha256:{}", "0".repeat(64))];
    for kc in corpus("kubeconfig").iter() {
        let t = text(kc);
        if let Some(line) = t.lines().find_map(|l| l.trim().strip_prefix("certificate-authority-data: ")) {
            use base64::Engine;
            if let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(line.trim()) {
                if let Ok(certs) = libapi::read_certificates(&pem) {
                    pins.extend(certs.iter().filter_map(|c| libapi::inspect_pin(c).ok()));
                }
            }
        }
    }
    pins.sort();
    pins.dedup();
    assert!(pins.len() >= 2, "the kubeconfig seeds' CA pins were not found: {pins:?}");
    pins.join(",")
}

#[test]
fn kubeconfig_inside_signed_cluster_info_through_the_binary() {
    let stats = Stats::new("kubeconfig (verify-discovery --cluster-info-file -)");
    let pins = seed_pins();
    let strategy = input(corpus("kubeconfig"), TEXT, 32 << 10);
    let r = runner("kubeconfig", bin_cases()).run(&strategy, |data| {
        let kc = text(&data);
        // Correctly signed, so the kubeconfig's parsing is what gets exercised.
        let ci = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cluster-info", "namespace": "kube-public"},
            "data": {"kubeconfig": kc, format!("jws-kubeconfig-{TOKEN_ID}"): libapi::sign_detached(&kc, TOKEN_ID, TOKEN_SECRET)},
        });
        let r = bin(
            &["verify-discovery", "--cluster-info-file", "-", "--discovery-token-ca-cert-hash", &pins, "-o", "json"],
            ci.to_string().into_bytes(),
            &[("JOINKIT_TOKEN", TOKEN)],
        );
        check_bin("verify-discovery (kubeconfig)", &r, true)?;
        stats.case(r.elapsed, r.code == Some(0));
        Ok(())
    });
    finish(&stats, r);
}

#[test]
fn cluster_info_through_the_binary() {
    let stats = Stats::new("cluster-info (verify-discovery --cluster-info-file -)");
    let pins = seed_pins();
    let strategy = input(corpus("cluster-info"), TEXT, 64 << 10);
    let r = runner("cluster-info-bin", bin_cases()).run(&strategy, |data| {
        let r = bin(
            &["verify-discovery", "--cluster-info-file", "-", "--discovery-token-ca-cert-hash", &pins, "-o", "json"],
            data,
            &[("JOINKIT_TOKEN", VECTOR_TOKEN)],
        );
        check_bin("verify-discovery (cluster-info)", &r, true)?;
        stats.case(r.elapsed, r.code == Some(0));
        Ok(())
    });
    finish(&stats, r);
}

#[test]
fn join_configuration_through_the_binary() {
    let stats = Stats::new("join-config (validate-config -)");
    let strategy = input(corpus("join-config"), TEXT, 32 << 10);
    let r = runner("join-config-bin", bin_cases()).run(&strategy, |data| {
        let r = bin(&["validate-config", "-", "-o", "json"], data, &[]);
        check_bin("validate-config", &r, true)?;
        stats.case(r.elapsed, r.code == Some(0));
        Ok(())
    });
    finish(&stats, r);
}

#[test]
fn explain_log_through_the_binary() {
    let stats = Stats::new("explain-log (explain-log -)");
    let strategy = input(corpus("explain-log"), TEXT, 256 << 10);
    let r = runner("explain-log", bin_cases()).run(&strategy, |data| {
        let r = bin(&["explain-log", "-", "-o", "json"], data, &[]);
        check_bin("explain-log", &r, true)?;
        stats.case(r.elapsed, r.code == Some(0));
        Ok(())
    });
    finish(&stats, r);
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs too big to commit, and the known bugs

#[test]
fn big_hostile_inputs_are_bounded() {
    limit_self();
    let start = Instant::now();
    // 6 MiB of base64 inside one PEM block.
    let mut big = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    big.extend(std::iter::repeat_n(b"QUJD".as_slice(), 6 << 18).flatten());
    big.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
    let b2 = big.clone();
    let (ok, took) = bounded("read_certificates(6 MiB PEM)", move || libapi::read_certificates(&b2).is_ok()).unwrap();
    assert!(!ok);
    eprintln!("fuzz[big]: 6 MiB PEM block rejected in {took:?}");
    let r = bin(&["ca-hash", "-"], big, &[]);
    check_bin("ca-hash - (6 MiB PEM)", &r, false).unwrap();
    assert_eq!(r.code, Some(3), "{}", r.describe());
    // 10,000 nested JSON arrays as cluster-info.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let d2 = deep.clone();
    let (ok, _) = bounded("from_text(deep JSON)", move || libapi::cluster_info_from_text(&d2).is_ok()).unwrap();
    assert!(!ok);
    // Deep YAML flow nesting.
    let deep_yaml = format!("kind: ConfigMap\ndata: {}{}\n", "[".repeat(5_000), "]".repeat(5_000));
    let (ok, _) = bounded("from_text(deep YAML)", move || libapi::cluster_info_from_text(&deep_yaml).is_ok()).unwrap();
    assert!(!ok);
    let deep_join = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\nx: {}{}\n",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    bounded("yaml::parse(deep flow)", move || {
        let _ = libapi::yaml_parse(&deep_join);
    })
    .unwrap();
    eprintln!("fuzz[big]: 4 big hostile inputs in {:.1} s", start.elapsed().as_secs_f64());
}

/// `yaml::parse` expanded aliases by copying, so 9 levels of 9 aliases (a few hundred bytes)
/// made 9^9 nodes and exhausted memory. validate-config must reject it: finish within 5 s under
/// 1 GiB of address space with a documented exit code (config-yaml-syntax or config-invalid).
#[test]
fn yaml_alias_bomb_is_bounded() {
    let seed =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/alias-bomb/alias-bomb-9x9.yaml"))
            .unwrap();
    let r = bin(&["validate-config", "-", "-o", "json"], seed, &[]);
    check_bin("validate-config (alias bomb)", &r, true).unwrap();
    assert!(matches!(r.code, Some(50) | Some(51)), "{}", r.describe());
}

/// explain-log buffered a whole line (`read_until`), so one endless line exhausted memory; the
/// README promises "bounded memory". Input: a 256 MiB sparse file with no newline, under 256 MiB
/// of address space; it must finish with a documented exit code.
#[test]
fn explain_log_huge_line_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("one-line.log");
    // 256 MiB with no newline under a 256 MiB address-space limit: buffering the line fails.
    std::fs::File::create(&f).unwrap().set_len(256 << 20).unwrap();
    let r = run_bounded(
        &["explain-log", f.to_str().unwrap(), "-o", "json"],
        &[],
        None,
        Limits { wall: Duration::from_secs(20), address_space: Some(256 << 20) },
    );
    check_bin("explain-log (256 MiB line)", &r, true).unwrap();
}
