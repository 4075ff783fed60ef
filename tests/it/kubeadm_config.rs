//! joinkit's configuration commands against the real kubeadm (`tests/common/kubeadm.rs`:
//! v1.36.2, v1.35.3, v1.33.5 from `../shared/k8s`, or `JOINKIT_KUBEADM`):
//!
//! - `validate-config` gives `kubeadm config validate`'s verdict on every configuration file
//!   the tests use (`tests/corpus/join-config/`, `tests/golden/`, `examples/`) and on generated
//!   variants of them (proptest strategies: fields dropped, renamed, duplicated, retyped or
//!   given other values; API versions and kinds changed; documents reordered, removed, empty or
//!   comment-only; extra kinds), with `--kubeadm-version` set to the release it runs; every
//!   error kubeadm reports is an error in joinkit with the same meaning and a position;
//! - `migrate-config`: kubeadm's own migration of joinkit's output equals kubeadm's migration
//!   of the input, for every v1beta3 file of the corpus;
//! - `render-config`: every rendered configuration (both API versions, YAML and cloud-init)
//!   is accepted by `kubeadm config validate`.
//!
//! The parity tables go to stderr (`cargo test --test it kubeadm_config:: -- --nocapture`).
//! Variants: `PROPTEST_CASES` (default 1000), seed `JOINKIT_PARITY_SEED` (printed; random by
//! default); kubeadm runs two at a time. The variants are written to
//! `$TMPDIR/joinkit-kubeadm-parity/`, kept when one disagrees or `JOINKIT_PARITY_KEEP` is set. Without the kubeadm archives these tests print a
//! notice and pass, except under `CI`.

use crate::common::{run, run_with};
use crate::kubeadm::{kubeadm, Kubeadm, RELEASES};
use joinkit_core::config::{check_text_with, CheckOptions, KubeadmVersion, Severity};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every configuration file the tests use: the join-config corpus, the golden files and the
/// examples.
fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (dir, ext) in [("tests/corpus/join-config", "yaml"), ("tests/golden", "yaml"), ("examples", "yaml")] {
        let mut in_dir: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    files
}

fn short(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// The kubeadm releases available here, with joinkit's name for each.
fn releases() -> Vec<(Kubeadm, KubeadmVersion)> {
    RELEASES
        .iter()
        .filter_map(|r| {
            kubeadm(r.minor).map(|k| (k, KubeadmVersion::parse(r.minor).expect("joinkit knows the release")))
        })
        .collect()
}

/// `kubeadm config validate --config FILE`: Ok, or kubeadm's error (without its log lines).
fn kubeadm_validate(k: &Kubeadm, file: &Path) -> Result<(), String> {
    let o = k.run(&["config", "validate", "--config", file.to_str().unwrap()]);
    if o.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&o.stderr);
    let msg: Vec<&str> = err
        .lines()
        .filter(|l| !(l.starts_with('W') || l.starts_with('I')) || !l.contains(".go:"))
        .filter(|l| !l.contains("To see the stack trace"))
        .collect();
    Err(msg.join("\n").trim_start_matches("error: ").to_string())
}

/// The key of kubeadm's error that joinkit's errors must name for "the same meaning": the
/// unknown field, the duplicate key, the field path of an `Invalid value`, or the rule's words.
fn meaning(kubeadm_error: &str) -> Vec<String> {
    let e = kubeadm_error;
    let quoted_after = |marker: &str| -> Option<String> {
        let i = e.find(marker)? + marker.len();
        let rest = &e[i..];
        let end = rest.find('"')?;
        Some(rest[..end].to_string())
    };
    if let Some(f) = quoted_after("unknown field \"") {
        return vec![format!("unknown field \"{}\"", f.rsplit('.').next().unwrap_or(&f))];
    }
    if let Some(k) = quoted_after("key \"") {
        if e.contains("already set in map") {
            return vec![format!("key \"{k}\" already set in map")];
        }
    }
    for words in [
        "kind and apiVersion is mandatory",
        "is specified twice in YAML file",
        "unknown configuration APIs",
        "uses an old API spec",
        "only supports deploying clusters with the control plane version",
        "doesn't match patterns for neither semantic version nor labels",
        "empty hostname is invalid",
        "must be ipv4 or ipv6 address",
        "unable to select an IP from lo network interface",
        "the bootstrap token",
        "cannot unmarshal",
        "time: ",
        "parsing time",
        "unknown conversion",
        "is not a valid feature name",
        "must be a valid IP address or a valid RFC-1123 DNS subdomain",
        "must be a valid number between 1 and 65535",
        "couldn't get version/kind",
        "invalid Yaml document separator",
        "could not interpret GroupVersionKind",
    ] {
        if e.contains(words) {
            return vec![match words {
                "cannot unmarshal" => "cannot".into(),
                "time: " | "parsing time" => "time".into(),
                "couldn't get version/kind" | "could not interpret GroupVersionKind" => "".into(),
                w => w.to_string(),
            }];
        }
    }
    // `path: Invalid value: ...` / `path: Required value: ...` (possibly several, in brackets).
    let mut paths = Vec::new();
    for part in e.trim_start_matches('[').split(", ") {
        if let Some((path, _)) = part.split_once(": Invalid value").or_else(|| part.split_once(": Required value")) {
            paths.push(format!("@{}", path.trim()));
        }
    }
    paths
}

/// Whether joinkit's errors carry kubeadm's meaning: each key of [`meaning`] is in an
/// error's message (or, for `@path`, is an error's field path, or its parent: kubeadm reports a
/// few rules on the parent), and every error has a position.
fn same_meaning(kubeadm_error: &str, r: &joinkit_core::config::FileResult) -> Result<(), String> {
    let errors: Vec<_> = r.problems.iter().filter(|p| p.severity == Severity::Error).collect();
    if errors.is_empty() {
        return Err("joinkit reports no error".into());
    }
    if let Some(p) = errors.iter().find(|p| p.line == 0 || p.column == 0) {
        return Err(format!("an error without a position: {}", p.message));
    }
    // Go's decoder reads a duplicated key's value in its own way (a duplicated null can decode
    // as an object): a type error kubeadm reports there is the duplicate joinkit reports.
    if kubeadm_error.contains("cannot unmarshal") && errors.iter().any(|p| p.message.contains("already set in map")) {
        return Ok(());
    }
    for key in meaning(kubeadm_error) {
        let found = match key.strip_prefix('@') {
            Some(path) => errors.iter().any(|p| {
                let bare = |s: &str| s.replace("apiServerEndpoints", "apiServerEndpoint");
                // kubeadm writes list indexes as `.0.`, joinkit as `[0]`.
                let (pp, kp) = (bare(&p.path).replace('[', ".").replace(']', ""), bare(path));
                pp == kp
                    || pp.starts_with(&format!("{kp}."))
                    || pp.starts_with(&format!("{kp}["))
                    || kp.starts_with(&pp) && !pp.is_empty()
                    || p.message.contains(path)
            }),
            None => errors.iter().any(|p| p.message.contains(&key)),
        };
        if !found {
            return Err(format!("no joinkit error says {key:?}"));
        }
    }
    Ok(())
}

/// joinkit's verdict on a file, as the library gives it to `validate-config`.
fn joinkit_check(file: &Path, kv: KubeadmVersion) -> joinkit_core::config::FileResult {
    let text = std::fs::read_to_string(file).unwrap();
    check_text_with(
        &file.display().to_string(),
        &text,
        &CheckOptions { kubeadm: kv, strict: false, node_role_arn: None },
    )
}

/// True when every error in validate-config's `-o json` output has origin `joinkit` (a knowing
/// difference from kubeadm).
fn only_knowing_errors_json(stdout: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(stdout) else { return false };
    let mut errors = Vec::new();
    collect_errors(&v, &mut errors);
    !errors.is_empty() && errors.iter().all(|o| o == "joinkit")
}

fn collect_errors(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("severity").and_then(|s| s.as_str()) == Some("error") {
                out.push(m.get("origin").and_then(|o| o.as_str()).unwrap_or("").to_string());
            }
            m.values().for_each(|x| collect_errors(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_errors(x, out)),
        _ => {}
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "accept"
    } else {
        "reject"
    }
}

/// The corpus files named `parity-accept-*` / `parity-reject-*` carry kubeadm v1.36's verdict
/// in their name (`parity-v136-*`: v1.36 only; v1.35 accepts them): joinkit's
/// `validate-config` gives it, with and without the real kubeadm at hand. Before this change
/// nine of them disagreed (comment-only and blank first documents, the misspelled
/// ClusterConfiguration field, the old kubernetesVersion, the missing discovery file, the tcp://
/// CRI socket, the malformed pins, the upper-case node name, `criSocket: ""` and bind port 0,
/// `all` with other preflight errors).
#[test]
fn corpus_files_named_for_kubeadm_verdict() {
    let mut n = 0;
    for f in corpus() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("parity-") else { continue };
        let (v136_only, rest) = match rest.strip_prefix("v136-") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let want_ok = rest.starts_with("accept-");
        assert!(want_ok || rest.starts_with("reject-"), "{name}: parity-[v136-]accept|reject-*");
        let r = run(&["validate-config", f.to_str().unwrap()]);
        assert_eq!(r.code == 0, want_ok, "{name}: exit {}\n{}", r.code, r.stdout);
        if v136_only {
            let r = run(&["validate-config", "--kubeadm-version", "1.35", f.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{name} with kubeadm 1.35: {}", r.stdout);
        }
        n += 1;
    }
    assert!(n >= 20, "{n} parity files");
}

/// `validate-config --kubeadm-version X` gives `kubeadm config validate`'s verdict (kubeadm X)
/// on every configuration file the tests use, and each error kubeadm reports is an error in
/// joinkit with the same meaning and a position. Prints the table.
#[test]
fn validate_config_agrees_with_kubeadm_on_the_corpus() {
    let releases = releases();
    if releases.is_empty() {
        return;
    }
    let files = corpus();
    let mut table = vec![format!("{:<70} {:<8} {:<8} {:<8} equal", "file", "kubeadm", "kubeadm", "joinkit")];
    let mut diffs = Vec::new();
    for (k, kv) in &releases {
        for f in &files {
            let kubeadm = kubeadm_validate(k, f);
            let r = run(&["validate-config", "--kubeadm-version", &kv.name(), f.to_str().unwrap(), "-o", "json"]);
            let joinkit_ok = r.code == 0;
            // A knowing difference: joinkit refuses (origin `joinkit`) what kubeadm accepts.
            let knowing = kubeadm.is_ok() && !joinkit_ok && only_knowing_errors_json(&r.stdout);
            let equal = kubeadm.is_ok() == joinkit_ok || knowing;
            table.push(format!(
                "{:<70} {:<8} {:<8} {:<8} {}",
                short(f),
                k.release.git_version,
                verdict(kubeadm.is_ok()),
                verdict(joinkit_ok),
                if equal { "yes" } else { "NO" }
            ));
            if !equal {
                diffs.push(format!(
                    "{} (kubeadm {}): kubeadm {kubeadm:?}; joinkit exit {}:\n{}",
                    short(f),
                    k.release.git_version,
                    r.code,
                    r.stdout
                ));
                continue;
            }
            if let Err(e) = &kubeadm {
                if let Err(why) = same_meaning(e, &joinkit_check(f, *kv)) {
                    diffs.push(format!("{} (kubeadm {}): kubeadm says {e:?}: {why}", short(f), k.release.git_version));
                }
            }
        }
    }
    eprintln!("kubeadm config validate vs joinkit validate-config, {} files:\n{}", files.len(), table.join("\n"));
    assert!(diffs.is_empty(), "{} disagreement(s):\n{}", diffs.len(), diffs.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// Generated variants.

/// A YAML tree that can hold what the mutations make (duplicate keys, any scalar).
#[derive(Debug, Clone)]
enum Y {
    Map(Vec<(String, Y)>),
    Seq(Vec<Y>),
    /// Written double-quoted.
    Str(String),
    /// Written as is (a plain scalar).
    Plain(String),
}

/// A document of a variant: a tree, or raw text (empty, comments).
#[derive(Debug, Clone)]
enum Doc {
    Tree(Y),
    Raw(&'static str),
}

fn from_node(n: &joinkit_core::yaml::Node) -> Y {
    use joinkit_core::yaml::Value;
    match &n.value {
        Value::Map(m) => Y::Map(m.iter().map(|(k, v)| (k.name.clone(), from_node(v))).collect()),
        Value::Seq(s) => Y::Seq(s.iter().map(from_node).collect()),
        Value::Scalar(s) if s.quoted => Y::Str(s.value.clone()),
        Value::Scalar(s) => Y::Plain(s.value.clone()),
    }
}

fn key_text(k: &str) -> String {
    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')) {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap()
    }
}

fn scalar_text(y: &Y) -> Option<String> {
    match y {
        Y::Str(s) => Some(serde_json::to_string(s).unwrap()),
        Y::Plain(s) if s.is_empty() => Some("\"\"".into()),
        Y::Plain(s) => Some(s.clone()),
        Y::Map(m) if m.is_empty() => Some("{}".into()),
        Y::Seq(s) if s.is_empty() => Some("[]".into()),
        _ => None,
    }
}

fn emit(y: &Y, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match y {
        Y::Map(m) => {
            for (k, v) in m {
                out.push_str(&format!("{pad}{}:", key_text(k)));
                match scalar_text(v) {
                    Some(s) => out.push_str(&format!(" {s}\n")),
                    None => {
                        out.push('\n');
                        emit(v, indent + 2, out);
                    }
                }
            }
        }
        Y::Seq(items) => {
            for it in items {
                match scalar_text(it) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        let mut inner = String::new();
                        emit(it, indent + 2, &mut inner);
                        out.push_str(&format!("{pad}- {}\n", inner.trim_start().trim_end_matches('\n')));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar_text(other).unwrap_or_default())),
    }
}

fn render(docs: &[Doc]) -> String {
    let mut parts = Vec::new();
    for d in docs {
        match d {
            Doc::Tree(y) => {
                let mut s = String::new();
                emit(y, 0, &mut s);
                parts.push(s);
            }
            Doc::Raw(r) => parts.push(r.to_string()),
        }
    }
    parts.join("---\n")
}

/// The seeds: every parseable corpus file that `kubeadm config validate` v1.36 accepts and
/// whose documents all are mappings (comments are not kept; the mutations add them).
fn seeds() -> Vec<Vec<Doc>> {
    let mut out = Vec::new();
    for f in corpus() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("hostile-") || name.contains("cloud-init") || name.contains("reject") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let Ok(docs) = joinkit_core::yaml::parse(&text) else { continue };
        let docs: Vec<Doc> = docs.iter().filter_map(|d| d.root.as_ref()).map(|n| Doc::Tree(from_node(n))).collect();
        if !docs.is_empty() && docs.iter().all(|d| matches!(d, Doc::Tree(Y::Map(_)))) {
            out.push(docs);
        }
    }
    out
}

/// Field names mutations rename to: every key of the seeds plus names that exist only in
/// one API version or release.
fn key_pool(seeds: &[Vec<Doc>]) -> Vec<String> {
    fn keys(y: &Y, out: &mut Vec<String>) {
        match y {
            Y::Map(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            Y::Seq(s) => s.iter().for_each(|i| keys(i, out)),
            _ => {}
        }
    }
    let mut out: Vec<String> = [
        "timeout",
        "timeouts",
        "dryRun",
        "imagePullSerial",
        "extraEnvs",
        "proxy",
        "encryptionAlgorithm",
        "httpEndpoints",
        "timeoutForControlPlane",
        "unmountFlags",
        "controlPlaneEndpoint",
        "featureGates",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in seeds {
        for d in s {
            if let Doc::Tree(y) = d {
                keys(y, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

const RETYPES: &[(&str, bool)] = &[
    ("42", false),
    ("true", false),
    ("yes", false),
    ("null", false),
    ("4.5", false),
    ("0x1F", false),
    ("6443.0", false),
    ("-1", false),
    ("2024-01-01T00:00:00Z", false),
    ("42", true),
    ("", true),
    ("true", true),
    ("5m", true),
    ("-5m", true),
    ("5q", true),
];

/// Values, written quoted: valid and invalid forms of what the fields hold.
const VALUES: &[&str] = &[
    "10.0.0.10:6443",
    "10.0.0.10",
    "cp.example.com:99999",
    "[fd00::10]:6443",
    "abcdef.0123456789abcdef",
    "ABCDEF.0123456789abcdef",
    "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4",
    "sha256:abcd",
    "unix:///run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "tcp://10.0.0.1:2376",
    "unix:///run/%zz.sock",
    "/etc/kubernetes/pki/ca.crt",
    "pki/ca.crt",
    "/etc/kubernetes/pki/ca.pem",
    "v1.36.0",
    "v1.35.0",
    "v1.34.2",
    "v1.30.0",
    "v1.35.0-rc.1",
    "stable",
    "1.36",
    "v1.36",
    "Worker_1",
    "worker-1",
    "Worker-1",
    "https://example.com/discovery.conf",
    "http://example.com/d.conf",
    "/nonexistent/discovery.conf",
    "10.96.0.0/12",
    "10.0.0.0/8",
    "fd00::/108",
    "10.244.0.0/28",
    "cluster.local",
    "Cluster_Local",
    "registry.k8s.io",
    "reg.io/Foo",
    "RSA-2048",
    "RSA-1024",
    "Always",
    "always",
    "NoSchedule",
    "Sometimes",
    "5m0s",
    "10.0.0.256",
    "0.0.0.0",
    "fd00::12",
    "",
    "all",
    "preflight",
    "cp.example.com",
    "bad_host:6443",
    "system:bootstrappers:x",
    "signing",
    "foo",
];

const API_VERSIONS: &[&str] = &[
    "kubeadm.k8s.io/v1beta4",
    "kubeadm.k8s.io/v1beta3",
    "kubeadm.k8s.io/v1beta2",
    "kubeadm.k8s.io/v1beta5",
    "v1",
    "",
    "kubelet.config.k8s.io/v1beta1",
    "kubeproxy.config.k8s.io/v1alpha1",
    "example.com/v1",
    "a/b/c",
];

const KINDS: &[&str] = &[
    "JoinConfiguration",
    "InitConfiguration",
    "ClusterConfiguration",
    "ResetConfiguration",
    "UpgradeConfiguration",
    "KubeletConfiguration",
    "KubeProxyConfiguration",
    "CredentialProviderConfig",
    "Status",
    "WatchEvent",
    "ListOptions",
    "Foo",
    "",
];

/// Raw documents: empty, blank, comment-only.
const RAW_DOCS: &[&str] =
    &["", "# a comment only\n", "\n", "   \n# indented\n", "--- # a separator\n", "...\n", "--- x\n"];

/// Whole documents of other kinds.
const EXTRA_DOCS: &[&str] = &[
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nmaxPods: 110\n",
    "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n",
    "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\nforce: true\ncriSocket: unix:///run/containerd/containerd.sock\n",
    "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  forceUpgrade: true\nnode:\n  etcdUpgrade: false\n",
    "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.36.0\nnetworking:\n  podSubnet: 10.244.0.0/16\n",
    "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: cp-1\n",
    "apiVersion: v1\nkind: ConfigMap\n",
    "apiVersion: example.com/v1\nkind: Bar\n",
    "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n",
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: CredentialProviderConfig\n",
];

/// One mutation: kind, where (an index into the candidates), which (an index into a pool).
type Step = (u8, u32, u32);

/// A path to a node: document, then keys (map entry index) and items.
fn paths(docs: &[Doc]) -> Vec<(usize, Vec<usize>)> {
    fn walk(y: &Y, path: &mut Vec<usize>, doc: usize, out: &mut Vec<(usize, Vec<usize>)>) {
        let children: Vec<&Y> = match y {
            Y::Map(m) => m.iter().map(|(_, v)| v).collect(),
            Y::Seq(s) => s.iter().collect(),
            _ => Vec::new(),
        };
        for (i, c) in children.into_iter().enumerate() {
            path.push(i);
            out.push((doc, path.clone()));
            walk(c, path, doc, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        if let Doc::Tree(y) = d {
            walk(y, &mut Vec::new(), i, &mut out);
        }
    }
    out
}

/// The parent container of a node and its index there.
fn parent_mut<'a>(docs: &'a mut [Doc], doc: usize, path: &[usize]) -> Option<(&'a mut Y, usize)> {
    let Doc::Tree(root) = docs.get_mut(doc)? else { return None };
    let (last, init) = path.split_last()?;
    let mut cur = root;
    for &i in init {
        cur = match cur {
            Y::Map(m) => &mut m.get_mut(i)?.1,
            Y::Seq(s) => s.get_mut(i)?,
            _ => return None,
        };
    }
    Some((cur, *last))
}

fn set_top(docs: &mut [Doc], doc: usize, key: &str, value: &str) {
    if let Some(Doc::Tree(Y::Map(m))) = docs.get_mut(doc) {
        match m.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = Y::Plain(value.to_string()),
            None => m.insert(0, (key.to_string(), Y::Plain(value.to_string()))),
        }
        if value.is_empty() {
            for (k, v) in m.iter_mut() {
                if k == key {
                    *v = Y::Str(String::new());
                }
            }
        }
    }
}

fn typo(k: &str, choice: u32) -> String {
    let chars: Vec<char> = k.chars().collect();
    if chars.len() < 2 {
        return format!("{k}x");
    }
    let i = choice as usize % (chars.len() - 1);
    match (choice / 7) % 4 {
        0 => chars.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c).collect(),
        1 => {
            let mut c = chars.clone();
            c.swap(i, i + 1);
            c.into_iter().collect()
        }
        2 => format!("{k}s"),
        _ => {
            let mut c = chars.clone();
            c[0] = if c[0].is_lowercase() { c[0].to_ascii_uppercase() } else { c[0].to_ascii_lowercase() };
            c.into_iter().collect()
        }
    }
}

fn apply(docs: &mut Vec<Doc>, (what, at, choice): Step, keys: &[String]) {
    let ps = paths(docs);
    let pick = |n: usize| at as usize % n.max(1);
    match what % 11 {
        0..=4 if ps.is_empty() => {}
        0 => {
            let (d, p) = ps[pick(ps.len())].clone();
            match parent_mut(docs, d, &p) {
                Some((Y::Map(m), i)) => {
                    m.remove(i);
                }
                Some((Y::Seq(s), i)) => {
                    s.remove(i);
                }
                _ => {}
            }
        }
        1 => {
            let (d, p) = ps[pick(ps.len())].clone();
            if let Some((Y::Map(m), i)) = parent_mut(docs, d, &p) {
                let new = if choice % 2 == 0 {
                    typo(&m[i].0, choice / 2)
                } else {
                    keys[(choice / 2) as usize % keys.len()].clone()
                };
                m[i].0 = new;
            }
        }
        2 => {
            let (d, p) = ps[pick(ps.len())].clone();
            match parent_mut(docs, d, &p) {
                Some((Y::Map(m), i)) => {
                    let e = m[i].clone();
                    m.insert(i + 1, e);
                }
                Some((Y::Seq(s), i)) => {
                    let e = s[i].clone();
                    s.insert(i + 1, e);
                }
                _ => {}
            }
        }
        3 | 4 => {
            let (d, p) = ps[pick(ps.len())].clone();
            let new = if what % 11 == 3 {
                match choice % 18 {
                    15 => Y::Seq(vec![Y::Str("a".into())]),
                    16 => Y::Map(vec![("a".into(), Y::Plain("1".into()))]),
                    17 => Y::Map(Vec::new()),
                    i => {
                        let (v, quoted) = RETYPES[i as usize];
                        if quoted {
                            Y::Str(v.into())
                        } else {
                            Y::Plain(v.into())
                        }
                    }
                }
            } else if choice % 9 == 0 {
                Y::Plain(["6443", "0", "-1", "70000", "6443.0", "true", "false"][(choice / 9) as usize % 7].into())
            } else {
                Y::Str(VALUES[choice as usize % VALUES.len()].into())
            };
            if let Some((parent, i)) = parent_mut(docs, d, &p) {
                match parent {
                    Y::Map(m) if m[i].0 != "apiVersion" && m[i].0 != "kind" => m[i].1 = new,
                    Y::Seq(s) => s[i] = new,
                    _ => {}
                }
            }
        }
        5 => {
            let d = pick(docs.len());
            set_top(docs, d, "apiVersion", API_VERSIONS[choice as usize % API_VERSIONS.len()]);
        }
        6 => {
            let d = pick(docs.len());
            set_top(docs, d, "kind", KINDS[choice as usize % KINDS.len()]);
        }
        7 => {
            let n = docs.len();
            if n > 1 {
                docs.rotate_left(1 + choice as usize % (n - 1));
            }
        }
        8 => {
            let i = at as usize % (docs.len() + 1);
            docs.insert(i, Doc::Raw(RAW_DOCS[choice as usize % RAW_DOCS.len()]));
        }
        9 => {
            let text = EXTRA_DOCS[choice as usize % EXTRA_DOCS.len()];
            let y = from_node(joinkit_core::yaml::parse(text).unwrap()[0].root.as_ref().unwrap());
            let i = at as usize % (docs.len() + 1);
            docs.insert(i, Doc::Tree(y));
        }
        _ => {
            if docs.len() > 1 {
                docs.remove(pick(docs.len()));
            }
        }
    }
}

/// One variant against one release: (variant, release index, kubeadm accepts, joinkit
/// accepts, kubeadm's error or why the meanings differ).
type Outcome = (usize, usize, bool, bool, Option<String>);

fn variant_strategy(n_seeds: usize) -> impl Strategy<Value = (usize, Vec<Step>)> {
    (0..n_seeds, proptest::collection::vec((0u8..11, any::<u32>(), any::<u32>()), 1..4))
}

fn cases() -> usize {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000)
}

/// `validate-config`'s verdict equals `kubeadm config validate`'s on generated variants of the
/// corpus (every variant against kubeadm v1.36, every fourth also against v1.35 and v1.33,
/// with `--kubeadm-version` to match), and each error kubeadm reports is an error in joinkit
/// with the same meaning and a position. Prints the per-release table and the run time.
#[test]
fn validate_config_agrees_with_kubeadm_on_generated_variants() {
    let releases = releases();
    if releases.is_empty() {
        return;
    }
    let seeds = seeds();
    assert!(seeds.len() >= 10, "{} seeds", seeds.len());
    let keys = key_pool(&seeds);
    let seed: u64 = std::env::var("JOINKIT_PARITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let strategy = variant_strategy(seeds.len());
    let n = cases();
    let dir = std::env::temp_dir().join("joinkit-kubeadm-parity");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut variants = Vec::with_capacity(n);
    for i in 0..n {
        let (s, steps) = strategy.new_tree(&mut runner).unwrap().current();
        let mut docs = seeds[s].clone();
        for st in &steps {
            apply(&mut docs, *st, &keys);
        }
        let path = dir.join(format!("variant-{i:05}.yaml"));
        std::fs::write(&path, render(&docs)).unwrap();
        variants.push((path, s, steps));
    }
    // Jobs: (variant, release index); kubeadm runs two at a time.
    let jobs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| releases.iter().enumerate().filter(move |(r, _)| *r == 0 || i % 4 == 0).map(move |(r, _)| (i, r)))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let flipped: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(i, r)) = jobs.get(j) else { break };
                let (k, kv) = &releases[r];
                let path = &variants[i].0;
                let mut kubeadm = kubeadm_validate(k, path);
                let jr = joinkit_check(path, *kv);
                let errors: Vec<_> = jr.problems.iter().filter(|p| p.severity == Severity::Error).collect();
                // A knowing difference (origin `joinkit`: YAML 1.1-only line breaks) counts as
                // agreeing with kubeadm's accept.
                let knowing =
                    !errors.is_empty() && errors.iter().all(|p| p.origin == joinkit_core::config::Origin::Joinkit);
                let joinkit_ok = errors.is_empty() || knowing;
                // kubeadm takes some documents in Go's random map order: a verdict that flips
                // between runs is kubeadm's, and joinkit gives one of the two.
                let mut flips = false;
                if kubeadm.is_ok() != joinkit_ok {
                    for _ in 0..8 {
                        let again = kubeadm_validate(k, path);
                        if again.is_ok() != kubeadm.is_ok() {
                            flips = true;
                            kubeadm = again;
                            break;
                        }
                    }
                }
                if flips {
                    flipped.lock().unwrap().push((i, r));
                }
                let why = match &kubeadm {
                    Err(e) if !joinkit_ok => same_meaning(e, &jr).err().map(|w| format!("kubeadm says {e:?}: {w}")),
                    _ => None,
                };
                results.lock().unwrap().push((i, r, kubeadm.is_ok(), joinkit_ok, why.or_else(|| kubeadm.err())));
            });
        }
    });
    let took = started.elapsed();
    let results = results.into_inner().unwrap();
    let flipped = flipped.into_inner().unwrap();
    let mut table = vec![format!(
        "{:<10} {:>8} {:>8} {:>8} {:>9} {:>9} {:>13}",
        "kubeadm", "variants", "accepted", "rejected", "disagree", "meaning", "kubeadm-flips"
    )];
    let mut bad = Vec::new();
    for (r, (k, _)) in releases.iter().enumerate() {
        let mine: Vec<_> = results.iter().filter(|x| x.1 == r).collect();
        let accepted = mine.iter().filter(|x| x.2).count();
        let disagree: Vec<_> = mine.iter().filter(|x| x.2 != x.3).collect();
        let meaning: Vec<_> = mine
            .iter()
            .filter(|x| x.2 == x.3 && !x.2 && x.4.as_deref().is_some_and(|w| w.starts_with("kubeadm says")))
            .collect();
        table.push(format!(
            "{:<10} {:>8} {:>8} {:>8} {:>9} {:>9} {:>13}",
            k.release.git_version,
            mine.len(),
            accepted,
            mine.len() - accepted,
            disagree.len(),
            meaning.len(),
            flipped.iter().filter(|f| f.1 == r).count()
        ));
        for x in disagree.iter().chain(meaning.iter()) {
            let (path, s, steps) = &variants[x.0];
            bad.push(format!(
                "{} (seed {s}, steps {steps:?}) with kubeadm {}: kubeadm {}, joinkit {}: {}\n{}",
                path.display(),
                k.release.git_version,
                verdict(x.2),
                verdict(x.3),
                x.4.clone().unwrap_or_default(),
                std::fs::read_to_string(path).unwrap()
            ));
        }
    }
    eprintln!(
        "kubeadm config validate vs joinkit on {n} generated variants of {} seeds (JOINKIT_PARITY_SEED={seed}), {} kubeadm runs in {:.1} s:\n{}",
        seeds.len(),
        jobs.len(),
        took.as_secs_f64(),
        table.join("\n")
    );
    let shown: Vec<&String> = bad.iter().take(15).collect();
    assert!(
        bad.is_empty(),
        "{} disagreement(s) (files kept in {}); the first:\n{}",
        bad.len(),
        dir.display(),
        shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n")
    );
    if std::env::var_os("JOINKIT_PARITY_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The emitter writes what it was given: every seed, written back, reads as the same tree.
#[test]
fn variant_writer_round_trips_the_seeds() {
    fn same(a: &Y, b: &Y) -> bool {
        match (a, b) {
            (Y::Map(x), Y::Map(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
            }
            (Y::Seq(x), Y::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
            (Y::Str(x) | Y::Plain(x), Y::Str(y) | Y::Plain(y)) => x == y,
            _ => false,
        }
    }
    let seeds = seeds();
    for s in &seeds {
        let text = render(s);
        let back = joinkit_core::yaml::parse(&text).unwrap();
        let trees: Vec<Y> = back.iter().filter_map(|d| d.root.as_ref()).map(from_node).collect();
        assert_eq!(trees.len(), s.len(), "{text}");
        for (d, t) in s.iter().zip(&trees) {
            let Doc::Tree(y) = d else { continue };
            assert!(same(y, t), "{text}");
        }
    }
    // And a mutated one still parses (the writer never writes invalid YAML).
    let keys = key_pool(&seeds);
    let mut docs = seeds[0].clone();
    for st in [(1u8, 3u32, 4u32), (3, 5, 15), (8, 0, 1), (2, 1, 0), (9, 2, 3)] {
        apply(&mut docs, st, &keys);
    }
    assert!(joinkit_core::yaml::parse(&render(&docs)).is_ok(), "{}", render(&docs));
}

// ---------------------------------------------------------------------------------------------
// migrate-config and render-config.

/// Parsed YAML of every document (order kept), for comparing two migrations; the bootstrap
/// tokens kubeadm generates for an InitConfiguration that names none are random, so left out.
fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    let mut docs: Vec<serde_json::Value> =
        joinkit_core::yaml::parse(text).unwrap().iter().filter_map(|d| d.root.as_ref()).map(|n| n.to_json()).collect();
    for d in &mut docs {
        if let Some(tokens) = d.get_mut("bootstrapTokens").and_then(|t| t.as_array_mut()) {
            for t in tokens {
                if let Some(o) = t.as_object_mut() {
                    o.remove("token");
                }
            }
        }
    }
    docs
}

/// For every v1beta3 file of the corpus: `kubeadm config migrate` of joinkit's
/// `migrate-config` output equals `kubeadm config migrate` of the input (parsed YAML); when
/// kubeadm refuses the input, joinkit refuses it too. Prints the table.
#[test]
fn migrate_config_agrees_with_kubeadm_migrate() {
    let Some(k) = kubeadm(crate::kubeadm::NEWEST) else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut table = vec![format!("{:<60} {:<16} {:<16} equal", "file", "kubeadm", "joinkit")];
    let mut diffs = Vec::new();
    let mut n = 0;
    for f in corpus() {
        let text = std::fs::read_to_string(&f).unwrap();
        if !text.contains("kubeadm.k8s.io/v1beta3") {
            continue;
        }
        n += 1;
        let migrate = |input: &Path, out: &Path| {
            let o = k.run(&[
                "config",
                "migrate",
                "--old-config",
                input.to_str().unwrap(),
                "--new-config",
                out.to_str().unwrap(),
            ]);
            o.status.success().then(|| std::fs::read_to_string(out).unwrap())
        };
        let by_kubeadm = migrate(&f, &dir.path().join(format!("k{n}.yaml")));
        let joinkit_out = dir.path().join(format!("j{n}.yaml"));
        let r = run(&["migrate-config", f.to_str().unwrap(), "--output-file", joinkit_out.to_str().unwrap()]);
        let (k_verdict, j_verdict, equal) = match (&by_kubeadm, r.code) {
            (Some(kt), 0) => {
                let again = migrate(&joinkit_out, &dir.path().join(format!("kj{n}.yaml")));
                let eq = again.as_ref().is_some_and(|a| yaml_docs(a) == yaml_docs(kt));
                if !eq {
                    diffs.push(format!(
                        "{}: kubeadm's migration of the input:\n{kt}\nof joinkit's output:\n{}",
                        short(&f),
                        again.unwrap_or_else(|| "(refused)".into())
                    ));
                }
                ("migrated", "migrated, same", eq)
            }
            (None, 0) => {
                diffs.push(format!("{}: kubeadm refuses to migrate it, joinkit migrates it", short(&f)));
                ("refused", "migrated", false)
            }
            (Some(_), c) => {
                diffs.push(format!("{}: kubeadm migrates it, joinkit refuses it (exit {c}): {}", short(&f), r.stderr));
                ("migrated", "refused", false)
            }
            (None, _) => ("refused", "refused", true),
        };
        table.push(format!(
            "{:<60} {:<16} {:<16} {}",
            short(&f),
            k_verdict,
            j_verdict,
            if equal { "yes" } else { "NO" }
        ));
    }
    eprintln!(
        "kubeadm config migrate (v1.36.2) of joinkit's migrate-config output vs of the input, {n} v1beta3 files:\n{}",
        table.join("\n")
    );
    assert!(n >= 4, "{n} v1beta3 files");
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}

/// Every configuration render-config writes, both API versions, YAML and cloud-init (the
/// JoinConfiguration taken from `write_files`), is accepted by `kubeadm config validate` of
/// every release at hand.
#[test]
fn render_config_output_passes_kubeadm() {
    let releases = releases();
    if releases.is_empty() {
        return;
    }
    const TOKEN: &str = "abcdef.0123456789abcdef";
    const PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";
    let ca = root().join("testcerts/bundle-intermediate-root.pem");
    let key = "0f".repeat(32);
    let combos: Vec<Vec<String>> = vec![
        vec!["10.0.0.10:6443".into(), "--discovery-token-ca-cert-hash".into(), PIN.into()],
        vec!["[fd00::10]:6443".into(), "--ca-cert".into(), ca.display().to_string()],
        vec![
            "cp.example.com:443".into(),
            "--discovery-token-unsafe-skip-ca-verification".into(),
            "--node-name".into(),
            "n1.example.com".into(),
        ],
        vec![
            "10.0.0.10:6443".into(),
            "--discovery-token-ca-cert-hash".into(),
            format!("{PIN},sha256:{}", "0".repeat(64)),
            "--control-plane".into(),
            "--certificate-key".into(),
            key.clone(),
            "--apiserver-advertise-address".into(),
            "10.0.0.12".into(),
            "--apiserver-bind-port".into(),
            "6443".into(),
        ],
        vec![
            "10.0.0.10:6443".into(),
            "--discovery-token-ca-cert-hash".into(),
            PIN.into(),
            "--taint".into(),
            "a=b:NoExecute,c:PreferNoSchedule".into(),
            "--kubelet-arg".into(),
            "node-labels=x=y,z=w".into(),
            "--kubelet-arg".into(),
            "max-pods=200".into(),
            "--skip-phases".into(),
            "preflight".into(),
            "--patches".into(),
            "/etc/kubernetes/patches".into(),
        ],
        vec![
            "--discovery-file".into(),
            "https://example.com/discovery.conf".into(),
            "--tls-bootstrap-token".into(),
            TOKEN.into(),
        ],
        vec![
            "10.0.0.10:6443".into(),
            "--discovery-token-ca-cert-hash".into(),
            PIN.into(),
            "--ignore-preflight-errors".into(),
            "all".into(),
            "--discovery-timeout".into(),
            "1m30s".into(),
            "--cri-socket".into(),
            "unix:///var/run/crio/crio.sock".into(),
            "--node-name".into(),
            "worker-7".into(),
        ],
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut table = vec![format!("{:<4} {:<8} {:<11} {:<10} kubeadm", "case", "version", "format", "release")];
    let mut diffs = Vec::new();
    let mut n = 0;
    for (c, combo) in combos.iter().enumerate() {
        for v in ["v1beta4", "v1beta3"] {
            for format in ["yaml", "cloud-init"] {
                let mut args: Vec<&str> = vec!["render-config"];
                args.extend(combo.iter().map(String::as_str));
                args.extend(["--api-version", v, "--format", format]);
                let r = run_with(&args, &[("JOINKIT_TOKEN", TOKEN)], None);
                assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
                let text = if format == "yaml" {
                    r.stdout.clone()
                } else {
                    let doc: serde_json::Value =
                        serde_saphyr::from_str(&r.stdout).expect("cloud-init output parses as YAML");
                    doc["write_files"][0]["content"].as_str().unwrap().to_string()
                };
                let p = dir.path().join(format!("render-{n}.yaml"));
                std::fs::write(&p, &text).unwrap();
                n += 1;
                for (k, _) in &releases {
                    let verdict = kubeadm_validate(k, &p);
                    table.push(format!(
                        "{c:<4} {v:<8} {format:<11} {:<10} {}",
                        k.release.git_version,
                        if verdict.is_ok() { "accept" } else { "REJECT" }
                    ));
                    if let Err(e) = verdict {
                        diffs.push(format!("{args:?} with kubeadm {}: {e}\n{text}", k.release.git_version));
                    }
                }
            }
        }
    }
    eprintln!("kubeadm config validate of render-config's output, {n} configurations:\n{}", table.join("\n"));
    assert_eq!(n, combos.len() * 4);
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}

/// `examples/check-config-with-kubeadm.sh` with each real kubeadm: a file both accept (exit 0),
/// a file both reject (exit 1), the known difference (a YAML 1.1 line break: joinkit refuses,
/// kubeadm accepts; exit 2, `DIFFER`), and with a kubeadm stand-in that accepts everything, a
/// disagreement on a file joinkit rejects (exit 2). Without kubeadm on the path it says `absent`.
#[test]
fn check_config_example_compares_with_the_real_kubeadm() {
    let releases = releases();
    if releases.is_empty() {
        return;
    }
    let script = root().join("examples/check-config-with-kubeadm.sh");
    let corpus = root().join("tests/corpus/join-config");
    let run_script = |kubeadm: &Path, files: &[&str]| -> (i32, String) {
        let mut c = std::process::Command::new("bash");
        c.arg(&script).env("JOINKIT", crate::common::bin()).env("KUBEADM", kubeadm).env_remove("KUBECONFIG");
        for f in files {
            c.arg(corpus.join(f));
        }
        let o = c.output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        )
    };
    let accept = "parity-accept-tcp-cri-socket.yaml";
    let reject = "parity-reject-kind-twice.yaml";
    for (k, _) in &releases {
        let minor = k.release.minor;
        let (code, out) = run_script(&k.path, &[accept]);
        assert_eq!(code, 0, "kubeadm {minor}: {out}");
        assert!(out.contains("joinkit=ok kubeadm=ok"), "kubeadm {minor}: {out}");
        let (code, out) = run_script(&k.path, &[accept, reject]);
        assert_eq!(code, 1, "kubeadm {minor}: {out}");
        assert!(out.contains(&format!("{reject} joinkit=invalid kubeadm=invalid")), "kubeadm {minor}: {out}");
        assert!(
            !out.contains("DIFFER") && !out.contains("note:"),
            "kubeadm {minor}: joinkit knows this release: {out}"
        );
    }
    // The one known difference, with the newest kubeadm: a key behind U+2028.
    let (newest, _) = &releases[0];
    let tmp = tempfile::tempdir().unwrap();
    let ls = tmp.path().join("ls.yaml");
    std::fs::write(
        &ls,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 10.0.0.1:6443\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\u{2028}nodeRegistration: {}\n",
    )
    .unwrap();
    let (code, out) = run_script(&newest.path, &[ls.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("joinkit=invalid kubeadm=ok DIFFER"), "{out}");
    // A kubeadm that accepts everything: the script reports the disagreement.
    let fake = tmp.path().join("kubeadm");
    std::fs::write(&fake, "#!/bin/sh\n[ \"$1\" = version ] && echo v1.36.9\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out) = run_script(&fake, &[reject]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("{reject} joinkit=invalid kubeadm=ok DIFFER")), "{out}");
    // No kubeadm: joinkit alone.
    let (code, out) = run_script(&tmp.path().join("no-such-kubeadm"), &[accept]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("joinkit=ok kubeadm=absent"), "{out}");
}
