//! diagnose's runtime and EKS checks against fake nodes (issue 12, section 3): a fake CRI
//! runtime on a unix socket (tests/common/fake_node.rs) that answers CRI v1, only v1alpha2,
//! no CRI, or never; the cgroup drivers of the kubelet and containerd (config versions 2 and 3);
//! swap versus failSwapOn; the kubelet's health endpoint (a fake one, or a refused port); the
//! kubelet's journal through a fake `journalctl`; and EKS nodes (AL2023 without bootstrap.sh or
//! NodeConfig, a NodeConfig whose CA does not verify the lab's endpoint). Each check can fail,
//! and a failing runtime check is the root cause with exit code 90.

use crate::common;
use crate::diagnose::{diagnose, fake_root};
use crate::fake_node::{refused_addr, serve_cri, serve_healthz, Cri};
use common::lab;
use joinkit_lab::{Lab, Scenario};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn stage<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["stages"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no stage {name}: {v}"))
}

/// Asserts the root cause is a runtime failure at `at` with exit code 90; returns its message.
fn runtime_root_cause(r: &common::Run, v: &Value, at: &str) -> String {
    assert_eq!(v["failureDomain"], "runtime", "{}", r.stdout);
    assert_eq!(r.code, 90, "{}", r.stdout);
    assert_eq!(v["failure"]["code"], "root-cause-runtime");
    assert_eq!(v["failure"]["stage"], at, "{}", r.stdout);
    assert_eq!(stage(v, at)["status"], "fail");
    v["failure"]["message"].as_str().unwrap().to_string()
}

fn sock(root: &Path) -> std::path::PathBuf {
    root.join("run/containerd/containerd.sock")
}

fn write(root: &Path, p: &str, text: &str) {
    let p = root.join(p.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const KUBELET_SYSTEMD: &str =
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n";
const CONTAINERD_V2_CGROUPFS: &str =
    "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n";
const CONTAINERD_V3_SYSTEMD: &str =
    "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n  SystemdCgroup = true\n";

#[test]
fn cri_v1_answer_names_the_runtime_and_every_runtime_check_is_a_stage() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let (r, v) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let s = stage(&v, "local/cri-version");
    assert_eq!(s["status"], "pass");
    let d = s["detail"].as_str().unwrap();
    assert!(d.contains("containerd v1.7.13") && d.contains("CRI v1") && d.contains("runtime API v1"), "{d}");
    use joinkit_core::diagnose::node::Check;
    use joinkit_core::error::Domain;
    use joinkit_core::report::StageId;
    for c in [
        Check::LocalCriSocket,
        Check::LocalCriVersion,
        Check::LocalCgroupDriver,
        Check::LocalSwap,
        Check::LocalKubeletHealth,
        Check::LocalKubeletJournal,
    ] {
        assert_eq!(c.domain(), Domain::Runtime, "{c:?}");
        stage(&v, c.name());
    }
    for c in [Check::EksNodeConfig, Check::EksCa, Check::EksEndpoint] {
        assert_eq!(stage(&v, c.name())["status"], "skip");
    }
    // The runtime is checked before kubeadm's preflight state.
    let names: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    let at = |n: &str| names.iter().position(|m| *m == n).unwrap();
    assert!(at("local/cri-version") < at("local/leftovers"), "{names:?}");
}

#[test]
fn cri_v1_unimplemented_missing_socket_and_stale_socket_are_runtime_root_causes() {
    let l = lab(Scenario::Healthy);
    // (b) containerd 1.5: v1 Unimplemented, v1alpha2 answers.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    serve_cri(&sock(&root), Cri::V1alpha2Only);
    let (r, v) = diagnose(&l, &root, &[]);
    let m = runtime_root_cause(&r, &v, "local/cri-version");
    assert!(m.contains("CRI v1 not implemented") && m.contains("containerd v1.5.9") && m.contains("v1alpha2"), "{m}");
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().contains("CRI v1 runtime API is not implemented"));
    // No CRI at all, and containerd's config says why.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    serve_cri(&sock(&root), Cri::NoService);
    write(&root, "/etc/containerd/config.toml", "disabled_plugins = [\"cri\"]\n");
    let (r, v) = diagnose(&l, &root, &[]);
    let m = runtime_root_cause(&r, &v, "local/cri-version");
    assert!(m.contains("CRI v1 not implemented") && m.contains("disabled_plugins"), "{m}");
    // (c) no socket.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    std::fs::remove_file(sock(&root)).unwrap();
    let (r, v) = diagnose(&l, &root, &[]);
    let m = runtime_root_cause(&r, &v, "local/cri-socket");
    assert!(m.contains("no container runtime socket"), "{m}");
    assert_eq!(stage(&v, "local/cri-version")["status"], "skip");
    // A socket file that nothing listens on (the runtime died): not running.
    std::fs::write(sock(&root), "").unwrap();
    let (r, v) = diagnose(&l, &root, &[]);
    let m = runtime_root_cause(&r, &v, "local/cri-version");
    assert!(m.contains("container runtime not running"), "{m}");
}

#[test]
fn cri_that_never_answers_is_bounded() {
    // (d) The library call is bounded by its timeout ...
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("silent.sock");
    serve_cri(&s, Cri::Silent);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let t = Instant::now();
    let r = rt.block_on(joinkit_core::diagnose::cri::version(&s, Duration::from_millis(500)));
    assert!(t.elapsed() < Duration::from_millis(1500), "{:?}", t.elapsed());
    assert!(matches!(r, Err(joinkit_core::diagnose::cri::CriError::Timeout(_))), "{r:?}");
    // ... and diagnose reports it as a runtime failure within its 2 s bound.
    let l = lab(Scenario::Healthy);
    let root = fake_root(dir.path());
    serve_cri(&sock(&root), Cri::Silent);
    let t = Instant::now();
    let (r, v) = diagnose(&l, &root, &[]);
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let m = runtime_root_cause(&r, &v, "local/cri-version");
    assert!(m.contains("did not answer CRI Version within 2s"), "{m}");
}

#[test]
fn cgroup_driver_mismatch_is_a_runtime_root_cause() {
    let l = lab(Scenario::Healthy);
    // kubelet systemd, containerd (1.7, config version 2) cgroupfs: mismatch.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    write(&root, "/var/lib/kubelet/config.yaml", KUBELET_SYSTEMD);
    write(&root, "/etc/containerd/config.toml", CONTAINERD_V2_CGROUPFS);
    let (r, v) = diagnose(&l, &root, &[]);
    let m = runtime_root_cause(&r, &v, "local/cgroup-driver");
    assert!(
        m.contains("cgroup driver mismatch") && m.contains("systemd") && m.contains("SystemdCgroup = false"),
        "{m}"
    );
    assert_eq!(
        v["failure"]["kubeadmMessage"],
        "misconfiguration: kubelet cgroup driver: \"systemd\" is different from docker cgroup driver: \"cgroupfs\""
    );
    assert!(!m.contains("systemd does not run"), "{m}");
    // The same on a node where systemd does not run (no /run/systemd/system, the runtime
    // answering): the kubelet's systemd driver cannot work at all, and the fix is cgroupfs.
    std::fs::remove_dir(root.join("run/systemd/system")).unwrap();
    let (r, v) = diagnose(&l, &root, &[]);
    let m = runtime_root_cause(&r, &v, "local/cgroup-driver");
    assert!(m.contains("cgroup driver mismatch") && m.contains("systemd does not run on this node"), "{m}");
    assert!(v["failure"]["fix"].as_str().unwrap_or_default().starts_with("use cgroupfs on both"), "{}", v["failure"]);
    std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
    // Config version 3 with SystemdCgroup = true: they agree.
    write(&root, "/etc/containerd/config.toml", CONTAINERD_V3_SYSTEMD);
    let (r, v) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(stage(&v, "local/cgroup-driver")["status"], "pass");
    // containerd 2.x answers RuntimeConfig: a kubelet 1.31+ follows it, so a warning.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    serve_cri(&sock(&root), Cri::V1("containerd", "v2.0.4"));
    write(&root, "/var/lib/kubelet/config.yaml", KUBELET_SYSTEMD);
    write(&root, "/etc/containerd/config.toml", CONTAINERD_V2_CGROUPFS);
    let (r, v) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(stage(&v, "local/cgroup-driver")["status"], "warn");
}

#[test]
fn swap_on_with_fail_swap_on_is_a_runtime_root_cause() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    write(&root, "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n");
    write(&root, "/var/lib/kubelet/config.yaml", KUBELET_SYSTEMD);
    write(&root, "/etc/containerd/config.toml", CONTAINERD_V3_SYSTEMD);
    let (r, v) = diagnose(&l, &root, &[]);
    let m = runtime_root_cause(&r, &v, "local/swap");
    assert!(m.contains("/swapfile") && m.contains("failSwapOn"), "{m}");
    assert!(v["failure"]["kubeadmMessage"].as_str().unwrap().starts_with("running with swap on is not supported"));
    // failSwapOn: false lets the kubelet run with swap.
    write(
        &root,
        "/var/lib/kubelet/config.yaml",
        &format!("{KUBELET_SYSTEMD}failSwapOn: false\nmemorySwap:\n  swapBehavior: LimitedSwap\n"),
    );
    let (r, v) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(stage(&v, "local/swap")["detail"].as_str().unwrap().contains("LimitedSwap"));
}

#[test]
fn kubelet_health_counts_once_the_kubelet_should_run() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    // Before a join a stopped kubelet is normal.
    let refused = refused_addr();
    let (r, v) = diagnose(&l, &root, &["--kubelet-healthz", &refused]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let s = stage(&v, "local/kubelet-health");
    assert_eq!(s["status"], "pass");
    assert!(s["detail"].as_str().unwrap().contains("normal before a join"), "{s}");
    // kubelet.conf exists and nothing answers: the kubelet is not healthy (before leftovers).
    write(&root, "/etc/kubernetes/kubelet.conf", "x");
    let (r, v) = diagnose(&l, &root, &["--kubelet-healthz", &refused]);
    let m = runtime_root_cause(&r, &v, "local/kubelet-health");
    assert!(m.contains("not healthy"), "{m}");
    // kubeadm v1.36.2's line for a kubelet that refuses connections (docs/kubeadm-join-parity.md).
    assert_eq!(
        v["failure"]["kubeadmMessage"],
        format!("failed while waiting for the kubelet to start: The HTTP call equal to 'curl -sSL http://{refused}/healthz' returned error: Get \"http://{refused}/healthz\": dial tcp {refused}: connect: connection refused"),
        "{}",
        r.stdout
    );
    // bootstrap-kubelet.conf alone (kubeadm join's kubelet-start ran): the kubelet should answer too.
    std::fs::remove_file(root.join("etc/kubernetes/kubelet.conf")).unwrap();
    write(&root, "/etc/kubernetes/bootstrap-kubelet.conf", "x");
    let (r, v) = diagnose(&l, &root, &["--kubelet-healthz", &refused]);
    let m = runtime_root_cause(&r, &v, "local/kubelet-health");
    assert!(m.contains("bootstrap-kubelet.conf exists"), "{m}");
    // A kubelet answering 500: unhealthy whatever the files say.
    let sick = serve_healthz(500, "[-]syncloop failed");
    let (r, v) = diagnose(&l, &root, &["--kubelet-healthz", &sick]);
    let m = runtime_root_cause(&r, &v, "local/kubelet-health");
    assert!(m.contains("500"), "{m}");
    // kubeadm's wording for a kubelet answering 500 was not observed: none is claimed.
    assert!(v["failure"]["kubeadmMessage"].is_null(), "{}", r.stdout);
    // A healthy kubelet: the root cause is the leftover file again.
    let ok = serve_healthz(200, "ok");
    let (r, v) = diagnose(&l, &root, &["--kubelet-healthz", &ok]);
    assert_eq!(stage(&v, "local/kubelet-health")["status"], "pass");
    assert_eq!(v["failure"]["stage"], "local/leftovers", "{}", r.stdout);
}

/// `diagnose --root /` with a fake `journalctl` first on PATH: the kubelet's journal goes
/// through explain-log's catalog and its root cause is a finding with the entry's domain.
#[test]
fn kubelet_journal_goes_through_the_catalog() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let line = "E0415 10:00:00.000000    1234 run.go:74] \"command failed\" err=\"failed to run Kubelet: misconfiguration: kubelet cgroup driver: \\\"systemd\\\" is different from docker cgroup driver: \\\"cgroupfs\\\"\"\nE0415 10:00:01.000000    1234 reflector.go:138] Failed to watch *v1.Node: Get \"https://10.0.0.10:6443/api/v1/nodes\": x509: certificate signed by unknown authority\n";
    let log = dir.path().join("kubelet.log");
    std::fs::write(&log, line).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let args = dir.path().join("args");
    let script = bin.join("journalctl");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" > {}\ncat {}\n", args.display(), log.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // What the catalog says about the same lines (the catalog is the other half's data).
    let mut scanner = joinkit_core::diagnose::explain::Scanner::new();
    scanner.scan(line.as_bytes(), "-").unwrap();
    let findings = scanner.findings();
    let want = joinkit_core::diagnose::explain::root_cause(&findings).expect("the catalog knows these lines").clone();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let admin = dir.path().join("admin.conf");
    std::fs::write(&admin, &l.info.admin_kubeconfig).unwrap();
    let r = common::run_with(
        &[
            "diagnose",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--node-name",
            "worker-1",
            "--root",
            "/",
            "--kubelet-healthz",
            "off",
            "--timeout",
            "1s",
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", &l.info.token), ("PATH", &path)],
        None,
    );
    let v = r.json();
    let s = stage(&v, "local/kubelet-journal");
    assert_eq!(s["status"], "fail", "{}", r.stdout);
    let d = s["detail"].as_str().unwrap();
    assert!(d.contains(&want.id) && d.contains("kubelet's journal (2 lines)"), "{d}");
    assert_eq!(std::fs::read_to_string(&args).unwrap().trim(), "-u kubelet --no-pager -n 2000 -o cat");
    // The finding carries the catalog entry's domain (correlated or the root cause, depending
    // on what this machine's own runtime checks found first).
    let domain = want.domain.map(|d| d.to_string()).unwrap_or_else(|| "runtime".into());
    let evidence = v["evidence"].as_array().unwrap();
    let named = |e: &&Value| e["content"].as_str().is_some_and(|c| c.contains("local/kubelet-journal"));
    let root_is_journal = v["failure"]["stage"] == "local/kubelet-journal";
    assert!(
        (root_is_journal && v["failureDomain"] == domain.as_str())
            || evidence.iter().filter(named).any(|e| e["content"].as_str().unwrap().contains(&format!("[{domain}]"))),
        "{}",
        r.stdout
    );
    // A fake root never reads the journal.
    let root = fake_root(dir.path());
    let (_, v) = crate::diagnose::diagnose(&l, &root, &[]);
    assert_eq!(stage(&v, "local/kubelet-journal")["status"], "skip");
}

/// A fake `journalctl` in `bin` that runs `body` (sh).
fn fake_journalctl(bin: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).unwrap();
    let script = bin.join("journalctl");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `diagnose --root /` with `bin` first on PATH and `--diagnose-timeout timeout`, against a
/// port nothing listens on (the journal is read before the network checks); how long it took.
fn diagnose_journal(bin: &Path, timeout: &str) -> (common::Run, Value, Duration) {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let pin = format!("sha256:{}", "ab".repeat(32));
    let t = Instant::now();
    let r = common::run_with(
        &[
            "diagnose",
            &refused_addr(),
            "--discovery-token-ca-cert-hash",
            &pin,
            "--node-name",
            "worker-1",
            "--root",
            "/",
            "--kubelet-healthz",
            "off",
            "--diagnose-timeout",
            timeout,
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", "abcdef.0123456789abcdef"), ("PATH", &path)],
        None,
    );
    let took = t.elapsed();
    let v = r.json();
    (r, v, took)
}

/// `--diagnose-timeout` bounds the journal's scan: a journal that never ends (a line every
/// 20 ms) is scanned until the run's deadline, and the stage says the scan was cut short and
/// after how many lines; a huge journal of non-ASCII lines that each match a signature (slow to
/// scan before: 0.3 MB/s, 13 s for its 4 MiB) is scanned to the 4 MiB limit well within the
/// bound. The bound asserted is the timeout plus 5 s, for a loaded machine. Before the fix the
/// first journal was read for 5 s whatever the timeout and then dropped unscanned ("gave no end
/// of output"), and the second took 13 s.
#[test]
fn diagnose_timeout_bounds_the_journal_scan() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(2);
    let bound = timeout + Duration::from_secs(5);
    let trickle = dir.path().join("trickle");
    fake_journalctl(
        &trickle,
        "while :; do echo 'I0415 10:00:00.000000    1234 kubelet.go:1] still starting'; sleep 0.02; done",
    );
    let (r, v, took) = diagnose_journal(&trickle, "2s");
    assert!(took < bound, "diagnose took {took:?} with --diagnose-timeout 2s: {}", r.stdout);
    let s = stage(&v, "local/kubelet-journal");
    assert_eq!(s["status"], "warn", "{}", r.stdout);
    let d = s["detail"].as_str().unwrap();
    let (_, after) =
        d.split_once("the scan was cut short at --diagnose-timeout 2s after ").unwrap_or_else(|| panic!("{d}"));
    let lines: u64 = after.split(' ').next().unwrap().parse().unwrap_or_else(|_| panic!("{d}"));
    assert!(after.starts_with(&format!("{lines} lines (")), "{d}");
    let warned = v["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("cut short"));
    assert!(warned, "{}", r.stdout);
    // A huge journal: 1 MiB of non-ASCII, signature-dense kubelet lines, over and over.
    let huge = dir.path().join("huge");
    let line = "E0415 10:00:00.000000    1234 kubelet.go:2424] wörker-1 节点 \"Error getting node\" err=\"node \\\"wörker-1\\\" not found\"\n";
    let chunk = dir.path().join("chunk.log");
    std::fs::write(&chunk, line.repeat((1 << 20) / line.len())).unwrap();
    fake_journalctl(&huge, &format!("while :; do cat '{}'; done", chunk.display()));
    // A debug build on a loaded 2-core machine: 10 s for the run, so that the whole 4 MiB is
    // scanned (it takes well under a second in a release build, bench/explain_inputs.py).
    let (r, v, took) = diagnose_journal(&huge, "10s");
    let bound = Duration::from_secs(15);
    assert!(took < bound, "diagnose took {took:?} with --diagnose-timeout 10s: {}", r.stdout);
    let d = stage(&v, "local/kubelet-journal")["detail"].as_str().unwrap().to_string();
    assert!(d.contains("first 4 MiB kept") && d.contains("[kubelet-node-not-found]"), "{d}");
    assert!(!d.contains("cut short"), "the whole 4 MiB is scanned in time: {d}");
}

/// The journal's lines end at `\n`, `\r\n` or a lone `\r`: a journal with CR endings has its two
/// lines and the same finding as with LF endings.
#[test]
fn journal_lines_end_at_cr_too() {
    let dir = tempfile::tempdir().unwrap();
    let lines = ["E0415 10:00:00.000000    1234 run.go:74] \"command failed\" err=\"failed to run Kubelet: running with swap on is not supported, please disable swap!\"", "I0415 10:00:01.000000    1234 server.go:1] starting"];
    for (name, ending) in [("lf", "\n"), ("cr", "\r"), ("crlf", "\r\n")] {
        let log = dir.path().join(format!("{name}.log"));
        std::fs::write(&log, lines.map(|l| format!("{l}{ending}")).concat()).unwrap();
        let bin = dir.path().join(name);
        fake_journalctl(&bin, &format!("cat '{}'", log.display()));
        let (r, v, _) = diagnose_journal(&bin, "10s");
        let d = stage(&v, "local/kubelet-journal")["detail"].as_str().unwrap().to_string();
        assert!(
            d.contains("kubelet's journal (2 lines)") && d.contains("[runtime-kubelet-swap-on]"),
            "{name}: {d}\n{}",
            r.stdout
        );
    }
}

fn eks_diagnose(l: &Lab, root: &Path) -> (common::Run, Value) {
    diagnose(l, root, &[])
}

fn node_config(endpoint: &str, ca_pem: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n--BOUNDARY\nContent-Type: application/node.eks.aws\n\n---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: my-cluster\n    apiServerEndpoint: https://{endpoint}\n    certificateAuthority: {ca}\n    cidr: 10.100.0.0/16\n\n--BOUNDARY--\n")
}

#[test]
fn eks_nodes_bootstrap_sh_or_node_config_and_its_ca() {
    let l = lab(Scenario::Healthy);
    // AL2023: /etc/eks without bootstrap.sh and no NodeConfig anywhere.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    std::fs::create_dir_all(root.join("etc/eks/nodeadm.d")).unwrap();
    let (r, v) = eks_diagnose(&l, &root);
    assert_eq!(v["failureDomain"], "config", "{}", r.stdout);
    assert_eq!(r.code, 88);
    assert_eq!(v["failure"]["stage"], "eks/node-config");
    let m = v["failure"]["message"].as_str().unwrap();
    assert!(m.contains("bootstrap.sh") && m.contains("nodeadm") && m.contains("NodeConfig"), "{m}");
    // AL2: bootstrap.sh is there.
    write(&root, "/etc/eks/bootstrap.sh", "#!/bin/sh\n");
    let (r, v) = eks_diagnose(&l, &root);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(stage(&v, "eks/node-config")["status"], "pass");
    // AL2023 with a NodeConfig naming the lab and its CA: the chain verifies.
    std::fs::remove_file(root.join("etc/eks/bootstrap.sh")).unwrap();
    let ca = l.info.ca_cert_pem.clone();
    write(&root, "/var/lib/cloud/instance/user-data.txt", &node_config(l.endpoint(), &ca));
    let (r, v) = eks_diagnose(&l, &root);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let s = stage(&v, "eks/ca");
    assert!(s["detail"].as_str().unwrap().contains(&l.info.ca_pin), "{s}");
    assert_eq!(stage(&v, "eks/endpoint")["status"], "pass", "{}", r.stdout);
    // A NodeConfig (a drop-in overriding the user data) with another CA: tls.
    let other = lab(Scenario::Healthy);
    write(
        &root,
        "/etc/eks/nodeadm.d/10-ca.yaml",
        &format!(
            "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    certificateAuthority: {}\n",
            {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(&other.info.ca_cert_pem)
            }
        ),
    );
    let (r, v) = eks_diagnose(&l, &root);
    assert_eq!(v["failureDomain"], "tls", "{}", r.stdout);
    assert_eq!(r.code, 82);
    assert_eq!(v["failure"]["stage"], "eks/endpoint");
    assert!(v["failure"]["message"].as_str().unwrap().contains("tls-verify"), "{}", v["failure"]);
    // An incomplete NodeConfig: nodeadm's own message.
    std::fs::remove_file(root.join("etc/eks/nodeadm.d/10-ca.yaml")).unwrap();
    write(
        &root,
        "/var/lib/cloud/instance/user-data.txt",
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: my-cluster\n",
    );
    let (r, v) = eks_diagnose(&l, &root);
    assert_eq!(v["failure"]["stage"], "eks/node-config", "{}", r.stdout);
    assert_eq!(v["failure"]["kubeadmMessage"], "Apiserver endpoint is missing in cluster configuration");
}
