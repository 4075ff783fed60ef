//! diagnose: a lab scenario for each root cause it can name, asserting the root cause's domain
//! and exit code; local checks against a fake filesystem tree; unreachable endpoints bounded
//! by the timeouts with the local checks still reported; the seed-003 report shape.

use crate::common;
use common::{lab, run_with};
use joinkit_lab::{Lab, Scenario};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A healthy node's filesystem: a default route, ip_forward on, no swap, a containerd socket
/// that answers CRI v1 (tests/common/fake_node.rs), systemd running (`/run/systemd/system`).
pub(crate) fn fake_root(dir: &Path) -> PathBuf {
    let r = fake_root_without_runtime(dir);
    std::fs::create_dir_all(r.join("run/systemd/system")).unwrap();
    crate::fake_node::serve_cri(
        &r.join("run/containerd/containerd.sock"),
        crate::fake_node::Cri::V1("containerd", "v1.7.13"),
    );
    r
}

/// [`fake_root`] without the CRI socket (tests/it/real_containerd.rs runs a real containerd
/// in it).
pub(crate) fn fake_root_without_runtime(dir: &Path) -> PathBuf {
    let r = dir.join("root");
    for d in ["proc/net", "proc/sys/net/ipv4", "run/containerd", "etc/kubernetes/manifests"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("proc/net/route"), "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t0000000A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n").unwrap();
    std::fs::write(r.join("proc/net/ipv6_route"), "").unwrap();
    std::fs::write(r.join("proc/net/tcp"), "  sl  local_address rem_address   st tx_queue rx_queue\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n").unwrap();
    std::fs::write(r.join("proc/sys/net/ipv4/ip_forward"), "1\n").unwrap();
    std::fs::write(r.join("proc/swaps"), "Filename\tType\tSize\tUsed\tPriority\n").unwrap();
    r
}

pub(crate) fn diagnose(l: &Lab, root: &Path, extra: &[&str]) -> (common::Run, Value) {
    let r = diagnose_as(l, root, extra, "json");
    let v = r.json();
    (r, v)
}

/// [`diagnose`] with more environment variables (beside the token).
pub(crate) fn diagnose_env(l: &Lab, root: &Path, extra: &[&str], env: &[(&str, &str)]) -> (common::Run, Value) {
    let r = diagnose_with(l, root, extra, "json", env);
    let v = r.json();
    (r, v)
}

/// [`diagnose`] printing `-o output` (text, json or yaml).
pub(crate) fn diagnose_as(l: &Lab, root: &Path, extra: &[&str], output: &str) -> common::Run {
    diagnose_with(l, root, extra, output, &[])
}

fn diagnose_with(l: &Lab, root: &Path, extra: &[&str], output: &str, env: &[(&str, &str)]) -> common::Run {
    let dir = root.parent().unwrap();
    let admin = dir.join("admin.conf");
    std::fs::write(&admin, &l.info.admin_kubeconfig).unwrap();
    let mut args = vec![
        "diagnose",
        l.endpoint(),
        "--discovery-token-ca-cert-hash",
        &l.info.ca_pin,
        "--node-name",
        "worker-1",
        "--root",
        root.to_str().unwrap(),
        "--timeout",
        "1s",
        "--kubeconfig",
        admin.to_str().unwrap(),
        "-o",
        output,
    ];
    if !extra.contains(&"--kubelet-healthz") {
        // No real kubelet decides these tests (tests/it/diagnose_runtime.rs checks the kubelet).
        args.extend_from_slice(&["--kubelet-healthz", "off"]);
    }
    args.extend_from_slice(extra);
    let mut all = vec![("JOINKIT_TOKEN", l.info.token.as_str())];
    all.extend_from_slice(env);
    run_with(&args, &all, None)
}

fn expect(s: Scenario, domain: &str, at: &str) {
    let l = lab(s);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let (r, v) = diagnose(&l, &root, &[]);
    assert_eq!(v["failureDomain"], domain, "{s:?}: {}", r.stdout);
    let code =
        joinkit_core::error::Code::for_domain(joinkit_core::error::Domain::from_name(domain).expect("a known domain"));
    assert_eq!(r.code, code.exit_code(), "{s:?}");
    assert_eq!(v["failure"]["code"], code.as_str());
    assert_eq!(v["failure"]["stage"], at, "{s:?}: {}", v["rootCause"]);
    assert!(v["rootCause"].as_str().unwrap().starts_with(&format!("{domain} — ")));
    assert!(v["evidence"].as_array().unwrap().iter().any(|e| e["type"] == "check"));
    for k in ["immediate", "longTerm"] {
        assert!(v["mitigation"][k].as_str().is_some_and(|m| !m.is_empty()), "{s:?} {k}");
    }
}

#[test]
fn healthy_cluster_has_no_root_cause() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let t = Instant::now();
    let (r, v) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(v["rootCause"].as_str().unwrap().starts_with("none"));
    assert!(t.elapsed() < Duration::from_secs(5));
    // Every group of checks ran.
    let names: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    // Each check the table declares is a stage name of the report's kind, with its domain.
    use joinkit_core::diagnose::node::Check;
    use joinkit_core::error::Domain;
    use joinkit_core::report::StageId;
    for (check, domain) in [
        (Check::LocalLeftovers, Domain::NodeState),
        (Check::LocalRoute, Domain::Network),
        (Check::AdminBootstrapSigner, Domain::ControlPlane),
        (Check::AdminRbac, Domain::Rbac),
        (Check::AdminNode, Domain::NodeState),
    ] {
        assert!(names.contains(&check.name()), "{check:?}: {names:?}");
        assert_eq!(check.domain(), domain, "{check:?}");
    }
    for n in [
        "local/leftovers",
        "local/route",
        "jws-verify",
        "approval",
        "admin/bootstrap-signer",
        "admin/rbac",
        "admin/node",
    ] {
        assert!(names.contains(&n), "{n}: {names:?}");
    }
}

/// An admin kubeconfig that the server rejects (401: a bearer token it does not know) on a
/// healthy cluster: the admin view is unavailable (a warning), nothing is concluded from failed
/// reads, and the verdict is the end-to-end one (exit 0). Before the fix every failed read became
/// "absent" and diagnose blamed the token Secret and the RBAC bindings.
#[test]
fn rejected_admin_kubeconfig_is_no_evidence() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let mut kc: Value = serde_saphyr::from_str(&l.info.admin_kubeconfig).unwrap();
    kc["users"][0]["user"] = serde_json::json!({"token": "not-a-token-the-server-knows"});
    let admin = dir.path().join("rejected.conf");
    std::fs::write(&admin, serde_json::to_string(&kc).unwrap()).unwrap();
    let r = run_with(
        &[
            "diagnose",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--node-name",
            "worker-1",
            "--root",
            root.to_str().unwrap(),
            "--timeout",
            "1s",
            "--kubeconfig",
            admin.to_str().unwrap(),
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert!(v["rootCause"].as_str().unwrap().starts_with("none"), "{}", r.stdout);
    let stages = v["stages"].as_array().unwrap();
    let k = stages.iter().find(|s| s["name"] == "admin/kubeconfig").expect("admin/kubeconfig stage");
    assert_eq!(k["status"], "warn");
    assert!(k["detail"].as_str().unwrap().contains("admin view is unavailable"), "{k}");
    assert!(!stages.iter().any(|s| s["name"] == "admin/token-secret" || s["name"] == "admin/rbac"), "{}", r.stdout);
}

#[test]
fn discovery_root_causes() {
    expect(Scenario::TokenExpired, "token", "admin/token-secret");
    expect(Scenario::TokenDeleted, "token", "admin/token-secret");
    expect(Scenario::TokenNoSigning, "token", "admin/token-secret");
    expect(Scenario::SignerStopped, "control-plane", "admin/bootstrap-signer");
    expect(Scenario::AnonymousRevoked, "rbac", "admin/cluster-info");
    expect(Scenario::AnonymousAuthOff, "rbac", "cluster-info");
    expect(Scenario::ClusterInfoMissing, "control-plane", "admin/cluster-info");
    expect(Scenario::KubeconfigMissing, "control-plane", "kubeconfig");
    expect(Scenario::TamperedSignature, "token", "jws-verify");
    expect(Scenario::JwsEmpty, "token", "jws-present");
    expect(Scenario::CaNotYetValid, "clock", "ca-validity");
    expect(Scenario::CaExpired, "tls", "ca-validity");
    expect(Scenario::Mitm, "tls", "tls-verify");
    expect(Scenario::WrongSan, "tls", "tls-verify");
    expect(Scenario::ClockSkew, "clock", "clock");
}

#[test]
fn bootstrap_root_causes() {
    expect(Scenario::NoAutoapproveBinding, "rbac", "admin/rbac");
    expect(Scenario::NoBootstrapperBinding, "rbac", "admin/rbac");
    expect(Scenario::ApproverDown, "control-plane", "approval");
    expect(Scenario::CsrSignerDown, "control-plane", "approval");
    expect(Scenario::CsrDenied, "csr", "approval");
    expect(Scenario::ReadyNodeExists, "node-state", "node-name");
}

#[test]
fn control_plane_join_certificates() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let key = l.info.certificate_key.clone();
    // The control-plane check reuses bootstrap's discovery: it adds exactly one request (GET
    // kubeadm-certs with the bootstrap token), not a second discovery (two cluster-info GETs).
    let before = l.counters().requests;
    let (r, _) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let plain = l.counters().requests - before;
    let before = l.counters().requests;
    let (r, v) = diagnose(&l, &root, &["--control-plane", "--certificate-key", &key]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(l.counters().requests - before, plain + 1, "requests without/with --control-plane");
    assert!(v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "control-plane/kubeadm-certs" && s["status"] == "pass"));
    let (r, v) = diagnose(&l, &root, &["--control-plane", "--certificate-key", &"0f".repeat(32)]);
    assert_eq!(r.code, 89, "{}", r.stdout);
    assert_eq!(
        v["failure"]["kubeadmMessage"],
        "error decoding secret data with provided key: cipher: message authentication failed"
    );
    let l = lab(Scenario::KubeadmCertsMissing);
    let (r, v) = diagnose(&l, &root, &["--control-plane", "--certificate-key", &key]);
    assert_eq!(r.code, 89);
    assert!(v["failure"]["kubeadmMessage"]
        .as_str()
        .unwrap()
        .starts_with("Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace"));
}

#[test]
fn local_state_root_causes() {
    let l = lab(Scenario::Healthy);
    type Break = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Break, &str)> = vec![
        (
            "local/leftovers",
            Box::new(|r: &Path| std::fs::write(r.join("etc/kubernetes/kubelet.conf"), "x").unwrap()),
            "node-state",
        ),
        (
            "local/leftovers",
            Box::new(|r: &Path| std::fs::write(r.join("etc/kubernetes/manifests/etcd.yaml"), "x").unwrap()),
            "node-state",
        ),
        (
            "local/port-10250",
            Box::new(|r: &Path| {
                std::fs::write(
                    r.join("proc/net/tcp"),
                    "  sl  local_address rem_address   st\n   0: 00000000:280A 00000000:0000 0A 0\n",
                )
                .unwrap()
            }),
            "node-state",
        ),
        (
            "local/cri-socket",
            Box::new(|r: &Path| std::fs::remove_file(r.join("run/containerd/containerd.sock")).unwrap()),
            "runtime",
        ),
        (
            "local/ip-forward",
            Box::new(|r: &Path| std::fs::write(r.join("proc/sys/net/ipv4/ip_forward"), "0\n").unwrap()),
            "config",
        ),
    ];
    for (stage, break_it, domain) in cases {
        let dir = tempfile::tempdir().unwrap();
        let root = fake_root(dir.path());
        break_it(&root);
        let (r, v) = diagnose(&l, &root, &[]);
        assert_eq!(v["failureDomain"], domain, "{stage}: {}", r.stdout);
        assert_eq!(v["failure"]["stage"], stage);
        assert!(v["mitigation"]["immediate"].as_str().unwrap().len() > 10);
    }
    // Swap is a warning, not a root cause.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    std::fs::write(root.join("proc/swaps"), "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n")
        .unwrap();
    let (r, _) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn route_table_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let root = joinkit_core::fsutil::Root::new(fake_root(dir.path()));
    assert!(joinkit_core::diagnose::network::route_to(&root, "10.0.3.4".parse().unwrap())
        .unwrap()
        .contains("eth0 (/16)"));
    assert!(joinkit_core::diagnose::network::route_to(&root, "192.0.2.1".parse().unwrap())
        .unwrap()
        .contains("default route"));
    std::fs::write(root.join("proc/net/route"), "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00002A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n").unwrap();
    // Seed 004: only the local 10.42.0.0/16 route, no default route.
    assert!(joinkit_core::diagnose::network::route_to(&root, "10.42.1.1".parse().unwrap()).is_ok());
    assert_eq!(
        joinkit_core::diagnose::network::route_to(&root, "52.10.1.1".parse().unwrap()).unwrap_err().to_string(),
        "no route to 52.10.1.1 and no default route in /proc/net/route"
    );
    std::fs::write(root.join("proc/net/ipv6_route"), "fd000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n").unwrap();
    assert!(joinkit_core::diagnose::network::route_to(&root, "fd00::10".parse().unwrap()).is_ok());
    assert!(joinkit_core::diagnose::network::route_to(&root, "2001:db8::1".parse().unwrap()).is_err());
}

#[test]
fn unreachable_endpoint_is_bounded_and_local_checks_still_report() {
    // In a network namespace without network nothing leaves the machine: the route check
    // (fake tree without a default route) names seed 004's failure; discovery then fails fast.
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    std::fs::write(root.join("proc/net/route"), "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00002A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n").unwrap();
    let pin = format!("sha256:{}", "ab".repeat(32));
    let t = Instant::now();
    let r = common::run_isolated(
        &[
            "diagnose",
            "203.0.113.10:6443",
            "--discovery-token-ca-cert-hash",
            &pin,
            "--node-name",
            "n1",
            "--root",
            root.to_str().unwrap(),
            "--diagnose-timeout",
            "10s",
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", "abcdef.0123456789abcdef")],
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    let v = r.json();
    assert_eq!(v["failureDomain"], "network", "{}", r.stdout);
    assert_eq!(v["failure"]["stage"], "local/route");
    assert_eq!(r.code, 80);
    let names: Vec<&str> = v["stages"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"local/leftovers") && names.contains(&"connect"), "{names:?}");
    // A name that cannot resolve: dns.
    let r = common::run_isolated(
        &[
            "diagnose",
            "cp.joinkit-test.invalid:6443",
            "--discovery-token-ca-cert-hash",
            &pin,
            "--node-name",
            "n1",
            "--root",
            root.to_str().unwrap(),
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", "abcdef.0123456789abcdef")],
    );
    assert_eq!(r.json()["failureDomain"], "dns", "{}", r.stdout);
    assert_eq!(r.code, 81);
}

/// A kubeconfig for `l`'s API server whose user is the exec plugin `plugin` (with `args`).
fn exec_admin_kubeconfig(l: &Lab, dir: &Path, plugin: &Path, args: &[&str]) -> PathBuf {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(&l.info.ca_cert_pem);
    let kc = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": format!("https://{}", l.endpoint()), "certificate-authority-data": ca}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": plugin, "args": args, "interactiveMode": "Never"}}}],
    });
    let p = dir.join("exec-admin.conf");
    std::fs::write(&p, kc.to_string()).unwrap();
    p
}

/// PIDs of live (non-zombie) processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else { continue };
        if !String::from_utf8_lossy(&cmd).contains(marker) {
            continue;
        }
        let zombie = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().starts_with('Z')))
            .unwrap_or(true);
        if !zombie {
            out.push(name);
        }
    }
    out
}

/// An exec credential plugin that hangs (a shell script that runs `sleep 60`) must not hold
/// diagnose past --diagnose-timeout, and nothing it started may outlive joinkit. Before the fix
/// the plugin ran as a blocking loop on the current-thread runtime: the outer timeout could not
/// fire and diagnose took the request timeout (15 s).
#[test]
fn hanging_exec_plugin_is_bounded_by_diagnose_timeout() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let marker = format!("joinkit-hang-marker-{}", std::process::id());
    // `sleep` reached through a directory named after the marker, so the sleeping process's own
    // command line carries it (works for coreutils and for busybox, which dispatches on the name).
    let bindir = dir.path().join(&marker);
    std::fs::create_dir(&bindir).unwrap();
    let sleep = ["/usr/bin/sleep", "/bin/sleep"].into_iter().find(|p| Path::new(p).exists()).unwrap();
    std::os::unix::fs::symlink(sleep, bindir.join("sleep")).unwrap();
    let plugin = dir.path().join("plugin.sh");
    std::fs::write(&plugin, format!("#!/bin/sh\n'{}' 60\necho done\n", bindir.join("sleep").display())).unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let kc = exec_admin_kubeconfig(&l, dir.path(), &plugin, &[&marker]);
    let t = Instant::now();
    let r = run_with(
        &[
            "diagnose",
            l.endpoint(),
            "--discovery-token-ca-cert-hash",
            &l.info.ca_pin,
            "--node-name",
            "worker-1",
            "--root",
            root.to_str().unwrap(),
            "--diagnose-timeout",
            "3s",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "-o",
            "json",
        ],
        &[("JOINKIT_TOKEN", &l.info.token)],
        None,
    );
    let took = t.elapsed();
    // SIGKILL is delivered asynchronously: give the kernel a moment, not the plugin's 60 s.
    let mut left = processes_with(&marker);
    let grace = Instant::now();
    while !left.is_empty() && grace.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(50));
        left = processes_with(&marker);
    }
    let shown: Vec<String> = left
        .iter()
        .map(|p| {
            format!(
                "{p}: {}",
                String::from_utf8_lossy(&std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default())
                    .replace('\0', " ")
            )
        })
        .collect();
    // Whatever is left is killed here, so a failing run leaves nothing behind either.
    for pid in &left {
        let _ = std::process::Command::new("kill").arg("-9").arg(pid).status();
    }
    assert!(took < Duration::from_secs(6), "diagnose took {took:?}: {}", r.stdout);
    let _ = r.json();
    assert!(left.is_empty(), "the plugin's processes outlived joinkit: {shown:?}");
}

/// Files under --root are read bounded: a FIFO at proc/swaps must not hang diagnose (the check
/// says it is not a regular file), and a symlink to /dev/zero at proc/net/route must not grow
/// memory: an absolute one is read inside the root, where there is no /dev/zero (one that climbs
/// out is in `diagnose_root_does_not_follow_links_out_of_the_root`). Before the first fix `read_to_string` blocked on the FIFO until
/// --diagnose-timeout and read /dev/zero without end; before the second the absolute link was
/// followed to the host's /dev/zero (refused only as a character device).
#[test]
fn hostile_files_under_root_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let pin = format!("sha256:{}", "ab".repeat(32));
    let swaps = root.join("proc/swaps");
    std::fs::remove_file(&swaps).unwrap();
    let c = std::ffi::CString::new(swaps.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A FIFO that nobody writes: opening it blocking waits for a writer forever.
    std::fs::remove_file(root.join("proc/net/route")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("proc/net/route")).unwrap();
    // A documentation address (not loopback, so the route table is read); bounded in time and
    // address space, so the unfixed code fails the test instead of hanging or exhausting memory.
    let r = common::run_bounded(
        &[
            "diagnose",
            "192.0.2.10:6443",
            "--token",
            "abcdef.0123456789abcdef",
            "--discovery-token-ca-cert-hash",
            &pin,
            "--node-name",
            "worker-1",
            "--root",
            root.to_str().unwrap(),
            "--diagnose-timeout",
            "3s",
            "--connect-timeout",
            "1s",
            "--request-timeout",
            "1s",
            "-o",
            "json",
        ],
        15,
    );
    assert!(r.wall < Duration::from_secs(8), "diagnose took {:?}", r.wall);
    let stdout = String::from_utf8_lossy(&r.stdout).into_owned();
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&r.stderr)));
    let stage = |n: &str| {
        v["stages"].as_array().unwrap().iter().find(|s| s["name"] == n).unwrap_or_else(|| panic!("{n}: {v}")).clone()
    };
    let swap = stage("local/swap");
    assert_ne!(swap["status"], "pass", "{swap}");
    assert!(swap["detail"].as_str().unwrap().contains("not a regular file"), "{swap}");
    assert!(swap["detail"].as_str().unwrap().contains("FIFO"), "{swap}");
    let route = stage("local/route");
    assert_ne!(route["status"], "pass", "{route}");
    assert!(route["detail"].as_str().unwrap().contains("cannot read /proc/net/route: No such file"), "{route}");
}

/// A limited admin (may read secrets, configmaps, rolebindings, CSRs and nodes, but gets 403 on
/// clusterrolebindings) on a cluster whose auto-approve binding is gone: a failed read is no
/// evidence. The `admin/rbac` check is a warning that says it could not read the bindings, and
/// the root cause is the one diagnose names without any admin view. Before the fix the 403
/// became "missing ClusterRoleBindings" and was promoted to the root cause.
#[test]
fn forbidden_admin_read_is_no_evidence() {
    let l = lab(Scenario::NoAutoapproveBinding);
    {
        let mut st = l.state.lock().unwrap();
        let rule = |groups: &[&str], resources: &[&str]| serde_json::json!({"verbs": ["get", "list", "watch"], "apiGroups": groups, "resources": resources});
        st.store.put(
            "clusterroles",
            "",
            "limited-diagnose",
            serde_json::json!({"kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": {"name": "limited-diagnose"},
                "rules": [rule(&[""], &["secrets", "configmaps", "nodes"]),
                          rule(&["rbac.authorization.k8s.io"], &["rolebindings"]),
                          rule(&["certificates.k8s.io"], &["certificatesigningrequests"])]}),
        );
        st.store.put(
            "clusterrolebindings",
            "",
            "limited-diagnose",
            serde_json::json!({"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": {"name": "limited-diagnose"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "limited-diagnose"},
                "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "limited"}]}),
        );
    }
    let user = l.ca.client_cert("limited", None, joinkit_lab::pki::KeyKind::Ecdsa).unwrap();
    let conf = joinkit_lab::admin_kubeconfig(
        &format!("https://{}", l.endpoint()),
        &l.info.ca_cert_pem,
        &user.cert_pem,
        &user.key_pem,
    );
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let kc = dir.path().join("limited.conf");
    std::fs::write(&kc, conf).unwrap();
    let base = [
        "diagnose",
        l.endpoint(),
        "--discovery-token-ca-cert-hash",
        &l.info.ca_pin,
        "--node-name",
        "worker-1",
        "--root",
        root.to_str().unwrap(),
        "--timeout",
        "1s",
        "-o",
        "json",
    ];
    let without = run_with(&base, &[("JOINKIT_TOKEN", &l.info.token)], None);
    let w = without.json();
    let mut args = base.to_vec();
    args.extend_from_slice(&["--kubeconfig", kc.to_str().unwrap()]);
    let r = run_with(&args, &[("JOINKIT_TOKEN", &l.info.token)], None);
    let v = r.json();
    let stages = v["stages"].as_array().unwrap();
    // The limited admin view works (the probe passes): the other admin checks ran.
    assert!(stages.iter().any(|s| s["name"] == "admin/token-secret" && s["status"] == "pass"), "{}", r.stdout);
    let rbac = stages.iter().find(|s| s["name"] == "admin/rbac").expect("admin/rbac stage");
    assert_eq!(rbac["status"], "warn", "{rbac}");
    let d = rbac["detail"].as_str().unwrap();
    assert!(d.contains("could not read") && d.contains("not concluded"), "{rbac}");
    assert!(d.contains("api-forbidden"), "{rbac}");
    assert!(!v["rootCause"].as_str().unwrap().contains("missing ClusterRoleBindings"), "{}", v["rootCause"]);
    assert_ne!(v["failure"]["stage"], "admin/rbac", "{}", r.stdout);
    assert_eq!(v["failureDomain"], w["failureDomain"], "{}\n---\n{}", r.stdout, without.stdout);
    assert_eq!(v["failure"]["stage"], w["failure"]["stage"]);
    assert_eq!(v["failure"]["code"], w["failure"]["code"]);
    assert_eq!(r.code, without.code);
}

/// An explicit `--timeout` is kept as given, even when it equals bootstrap's default (60s): it
/// used to be detected by comparing with the literal default and replaced by diagnose's shorter
/// CSR wait. With the approver down and `--timeout 60s --diagnose-timeout 3s`, the CSR wait
/// outlasts the run, so the whole-run bound ends it (stage `timeout`), not the CSR wait.
#[test]
fn explicit_csr_timeout_is_kept_even_when_it_equals_the_default() {
    let l = lab(Scenario::ApproverDown);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let base = [
        "diagnose",
        l.endpoint(),
        "--discovery-token-ca-cert-hash",
        &l.info.ca_pin,
        "--node-name",
        "worker-9",
        "--root",
        root.to_str().unwrap(),
        "--diagnose-timeout",
        "3s",
        "-o",
        "json",
    ];
    let mut explicit = base.to_vec();
    explicit.extend(["--timeout", "60s"]);
    let r = run_with(&explicit, &[("JOINKIT_TOKEN", &l.info.token)], None);
    let v = r.json();
    let stages = v["stages"].as_array().unwrap();
    assert!(stages.iter().any(|s| s["name"] == "timeout" && s["status"] == "fail"), "{}", r.stdout);
    // Without --timeout, diagnose's own shorter CSR wait names the approver.
    let r = run_with(&base, &[("JOINKIT_TOKEN", &l.info.token)], None);
    let v = r.json();
    assert_eq!(v["underlyingCode"], "csr-pending-no-approver", "{}", r.stdout);
}

/// A marker that only the secret file beside the fake root (or a malformed file inside it)
/// holds: it must never reach diagnose's output.
const MARKER: &str = "JOINKIT-LEAK-MARKER-91c2";

/// `/etc/shadow`-like text with the marker that is neither valid YAML nor valid TOML, so every
/// parser that sees it fails (and serde-saphyr's and toml's messages would quote it).
fn secret_text() -> String {
    format!("root:$6${MARKER}:19000:0:99999:7:::\n[{MARKER} {{ {MARKER}\n")
}

/// `..` enough to reach `/` from anywhere under the fake root, then `abs`: on the host (the
/// kernel clamps `..` at `/`) this is `abs`.
fn climb_to(abs: &Path) -> String {
    format!("{}{}", "../".repeat(40), abs.display().to_string().trim_start_matches('/'))
}

fn link(root: &Path, p: &str, target: &str) {
    let p = root.join(p);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&p);
    std::os::unix::fs::symlink(target, p).unwrap();
}

fn stage_of<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["stages"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no {name}: {v}"))
}

/// Runs diagnose on `root` with -o text, json and yaml: the marker appears in none of them (nor
/// on stderr), and all exit alike. Returns the JSON report.
fn no_marker_in_any_output(l: &Lab, root: &Path) -> (i32, Value) {
    let mut code = None;
    let mut json = Value::Null;
    for output in ["text", "json", "yaml"] {
        let r = diagnose_as(l, root, &[], output);
        assert!(!r.stdout.contains(MARKER), "-o {output}: the marker leaked:\n{}", r.stdout);
        assert!(!r.stderr.contains(MARKER), "-o {output}: the marker leaked:\n{}", r.stderr);
        assert_eq!(*code.get_or_insert(r.code), r.code, "-o {output}");
        match output {
            "json" => json = r.json(),
            "text" => assert!(r.stdout.contains("local/root"), "{}", r.stdout),
            _ => {
                let y: Value = serde_saphyr::from_str(&r.stdout).unwrap();
                assert!(y["stages"].is_array(), "{}", r.stdout);
            }
        }
    }
    (code.unwrap(), json)
}

/// `--root` stays inside the root: links out of it by `..` (directly, at the end of a chain, for
/// a directory), to a FIFO and to a device outside, and a loop are not followed, each is named
/// with the check that wanted it and listed by `local/root` with the fix; an absolute link to
/// the host's secret is read inside the root (where it is absent); and no byte of the secret
/// reaches the output in any format. Before, diagnose followed them and its YAML and TOML parse
/// errors quoted the secret's lines.
#[test]
fn diagnose_root_does_not_follow_links_out_of_the_root() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let secret = outside.join("shadow");
    std::fs::write(&secret, secret_text()).unwrap();
    let fifo = outside.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // `..` over the top of the root.
    link(&root, "var/lib/kubelet/config.yaml", &climb_to(&secret));
    // Absolute: the host's path of the secret, which on the node means DIR/<that path>.
    link(&root, "etc/containerd/config.toml", secret.to_str().unwrap());
    // A chain whose second link leaves.
    link(&root, "etc/kubernetes/kubelet.conf", "/etc/kubernetes/next");
    link(&root, "etc/kubernetes/next", &climb_to(&secret));
    // A directory that leaves.
    std::fs::remove_dir_all(root.join("etc/kubernetes/manifests")).unwrap();
    link(&root, "etc/kubernetes/manifests", &climb_to(&outside));
    // A loop.
    link(&root, "proc/net/tcp6", "/proc/net/again");
    link(&root, "proc/net/again", "tcp6");
    // A FIFO and a device outside.
    link(&root, "proc/swaps", &climb_to(&fifo));
    link(&root, "proc/sys/net/ipv4/ip_forward", &climb_to(Path::new("/dev/zero")));
    let t = Instant::now();
    let (code, v) = no_marker_in_any_output(&l, &root);
    assert!(t.elapsed() < Duration::from_secs(30), "no hang on the FIFO");
    // The refusals are warnings: the healthy cluster still has no root cause.
    assert_eq!(code, 0, "{v}");
    let detail = |name: &str| stage_of(&v, name)["detail"].as_str().unwrap().to_string();
    let all = stage_of(&v, "local/root");
    assert_eq!(all["status"], "warn", "{all}");
    let d = detail("local/root");
    for want in [
        "/var/lib/kubelet/config.yaml is a symlink that leaves --root (-> ../ ×40 tmp/",
        "/etc/kubernetes/kubelet.conf: /etc/kubernetes/next is a symlink that leaves --root",
        "/proc/net/tcp6: more than 40 symbolic links to follow (a loop): not followed",
        "/etc/kubernetes/manifests is a symlink that leaves --root",
        "/proc/swaps is a symlink that leaves --root",
        "/proc/sys/net/ipv4/ip_forward is a symlink that leaves --root",
        "To fix: remove or correct each link",
    ] {
        assert!(d.contains(want), "{want}: {d}");
    }
    // Each check that wanted a file says why it has none.
    assert!(detail("local/cgroup-driver").contains("/var/lib/kubelet/config.yaml is a symlink that leaves --root"));
    assert_eq!(stage_of(&v, "local/leftovers")["status"], "warn");
    assert!(detail("local/leftovers").contains("/etc/kubernetes/next is a symlink that leaves --root"));
    assert!(detail("local/swap").contains("/proc/swaps is a symlink that leaves --root"));
    assert!(detail("local/ip-forward").contains("ip_forward is a symlink that leaves --root"));
    assert!(detail("local/leftovers").contains("/etc/kubernetes/manifests is a symlink that leaves --root"));
    assert!(detail("local/port-10250").contains("/proc/net/tcp6: more than 40 symbolic links"));
    // The absolute link was read inside the root: no containerd config there.
    assert!(detail("local/cgroup-driver").contains("the cgroup drivers were not compared"));
}

/// Malformed files inside the root: the errors name the file, the line and column and what
/// was expected, never the text (serde-saphyr's and toml's messages quote the lines, base64's
/// the byte).
#[test]
fn diagnose_parse_errors_under_root_quote_no_content() {
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let write = |p: &str, text: &str| {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "var/lib/kubelet/config.yaml",
        &format!(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: [systemd, {MARKER}\n"
        ),
    );
    write("etc/containerd/config.toml", &format!("version = 2\n[plugins.{MARKER}\nSystemdCgroup = \"{MARKER}\n"));
    // Swap on: local/swap shows the kubelet config's error.
    write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n");
    // An EKS NodeConfig whose CA is not base64 (the marker's `-` is not a base64 character).
    std::fs::create_dir_all(root.join("etc/eks")).unwrap();
    write(
        "var/lib/cloud/instance/user-data.txt",
        &format!("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: c\n    apiServerEndpoint: https://127.0.0.1:1\n    certificateAuthority: {MARKER}\n    cidr: 10.100.0.0/16\n"),
    );
    let (_, v) = no_marker_in_any_output(&l, &root);
    let detail = |name: &str| stage_of(&v, name)["detail"].as_str().unwrap().to_string();
    let cg = detail("local/cgroup-driver");
    assert!(cg.contains("expected TOML; /etc/containerd/config.toml does not parse at line 2, column"), "{cg}");
    let swap = detail("local/swap");
    assert!(
        swap.contains("expected a YAML KubeletConfiguration; /var/lib/kubelet/config.yaml does not parse at line"),
        "{swap}"
    );
    let ca = detail("eks/ca");
    // Go's base64 error, as nodeadm decodes the field (CorruptInputError).
    assert!(ca.contains("is not base64: illegal base64 data at input byte"), "{ca}");
    assert_eq!(stage_of(&v, "local/root")["status"], "pass");
}

/// The CRI socket is looked up inside `--root` too: an absolute link to a socket elsewhere in
/// the root (k3s style) is followed there and the runtime answers; a link that climbs out to a
/// runtime outside the root is not followed, and that runtime is never asked. Before, the first
/// found no socket (the host has no /run/k3s) and the second asked the runtime outside.
#[test]
fn diagnose_root_cri_socket_links_stay_inside() {
    use crate::fake_node::{serve_cri, Cri};
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    let sock = "run/containerd/containerd.sock";
    std::fs::create_dir_all(root.join("run/k3s/containerd")).unwrap();
    serve_cri(&root.join("run/k3s/containerd/containerd.sock"), Cri::V1("containerd", "v1.7.99"));
    link(&root, sock, "/run/k3s/containerd/containerd.sock");
    let (r, v) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let cri = stage_of(&v, "local/cri-version");
    assert!(
        cri["detail"].as_str().unwrap().contains("v1.7.99 answers CRI v1 on /run/containerd/containerd.sock"),
        "{cri}"
    );
    // A runtime outside the root.
    let outside = dir.path().join("host-run");
    std::fs::create_dir_all(&outside).unwrap();
    serve_cri(&outside.join("containerd.sock"), Cri::V1("containerd", "v9.9.9-outside"));
    link(&root, sock, &climb_to(&outside.join("containerd.sock")));
    let (r, v) = diagnose(&l, &root, &[]);
    assert!(!r.stdout.contains("v9.9.9-outside"), "{}", r.stdout);
    let st = stage_of(&v, "local/cri-socket");
    assert_eq!(st["status"], "warn", "{st}");
    assert!(st["detail"].as_str().unwrap().contains("/run/containerd/containerd.sock is a symlink that leaves --root"));
    assert_eq!(stage_of(&v, "local/cri-version")["status"], "skip");
    assert_eq!(stage_of(&v, "local/root")["status"], "warn");
}

/// `--no-csr` is read-only: the lab's store is not written at all (its resourceVersion does not
/// move), the CSR stages are skipped saying why, and the checks that only read still find their
/// root causes (RBAC through the token's own access review and the admin view). Without the
/// flag the same run writes (a CSR), so the comparison can fail.
#[test]
fn no_csr_creates_nothing_and_still_finds_read_only_causes() {
    let rv = |l: &Lab| l.state.lock().unwrap().store.resource_version();
    let l = lab(Scenario::Healthy);
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root(dir.path());
    l.reconcile();
    let before = rv(&l);
    let (r, v) = diagnose(&l, &root, &["--no-csr"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(rv(&l), before, "--no-csr wrote to the cluster");
    let stages = v["stages"].as_array().unwrap();
    for n in ["csr", "submit", "approval", "certificate", "node-identity", "cleanup"] {
        let s = stages.iter().find(|s| s["name"] == n).unwrap_or_else(|| panic!("{n}: {}", r.stdout));
        assert_eq!(s["status"], "skip", "{n}");
        assert!(s["detail"].as_str().unwrap().contains("--no-csr"), "{n}: {s}");
    }
    for n in ["jws-verify", "authenticate", "authorize", "node-name"] {
        assert!(stages.iter().any(|s| s["name"] == n && s["status"] == "pass"), "{n}: {}", r.stdout);
    }
    let (r, _) = diagnose(&l, &root, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(rv(&l) > before, "a run with a CSR did not write: the comparison above proves nothing");
    // Read-only causes are still found.
    for (s, domain, at) in [
        (Scenario::NoBootstrapperBinding, "rbac", "admin/rbac"),
        (Scenario::NoAutoapproveBinding, "rbac", "admin/rbac"),
        (Scenario::ReadyNodeExists, "node-state", "node-name"),
    ] {
        let l = lab(s);
        let (r, v) = diagnose(&l, &root, &["--no-csr"]);
        assert_eq!(
            (v["failureDomain"].as_str(), v["failure"]["stage"].as_str()),
            (Some(domain), Some(at)),
            "{s:?}: {}",
            r.stdout
        );
    }
    // --no-csr with --keep-csr or --write-dir makes no sense: a usage error.
    let l = lab(Scenario::Healthy);
    let r = diagnose_as(&l, &root, &["--no-csr", "--keep-csr"], "json");
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
}
