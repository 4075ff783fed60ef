//! diagnose's runtime checks against a real containerd (Debian's 1.6 from `PATH`, started by
//! tests/common/kubelet.rs) laid out inside a `--root` tree as on a node: its config in
//! `/etc/containerd/config.toml`, its socket at `/run/containerd/containerd.sock`, where
//! diagnose looks by default (kubeadm's order, `diagnose/runtime.rs`). Running, it answers CRI v1;
//! killed, it leaves its socket behind with nothing listening; with `disabled_plugins = ["cri"]`
//! (as Docker's containerd.io package ships its config) it serves its own API but not CRI. The
//! fake runtimes of tests/it/diagnose_runtime.rs imitate these three; here they are real.
//! Killed, and with CRI disabled, the real kubelet v1.36.2 and v1.24.0 are also started on it
//! (each joining the real control plane of its version, tests/it/real_kubelet.rs): they fail at
//! start, and `joinkit explain-log` on their logs names the runtime cause
//! (`real_kubelet::fault_log`, which also writes `tests/logs/generated/kubelet-<fault>-*.log`
//! with `JOINKIT_REGENERATE_LOGS=1`).
//! Skipped with a notice without containerd (a failure under CI).

use crate::common::{self, lab};
use crate::diagnose::{diagnose, fake_root_without_runtime};
use crate::k8s::Version;
use crate::kubelet::{Containerd, Kubelet, KubeletSpec};
use joinkit_lab::Scenario;
use serde_json::Value;
use std::time::Instant;

fn stage<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["stages"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no stage {name}: {v}"))
}

/// diagnose against the lab's healthy control plane with `root` as the node; timed.
fn run(root: &std::path::Path) -> (common::Run, Value) {
    let l = lab(Scenario::Healthy);
    let t = Instant::now();
    let (r, v) = diagnose(&l, root, &[]);
    eprintln!("diagnose took {:.2} s: {}", t.elapsed().as_secs_f64(), stage(&v, "local/cri-version")["detail"]);
    (r, v)
}

/// Asserts the root cause is the runtime, at `local/cri-version`, exit code 90; the message.
fn runtime_root_cause(r: &common::Run, v: &Value) -> String {
    assert_eq!(v["failureDomain"], "runtime", "{}", r.stdout);
    assert_eq!(r.code, 90, "{}", r.stdout);
    assert_eq!(v["failure"]["code"], "root-cause-runtime", "{}", r.stdout);
    assert_eq!(v["failure"]["stage"], "local/cri-version", "{}", r.stdout);
    v["failure"]["message"].as_str().unwrap().to_string()
}

#[test]
fn a_running_containerd_answers_cri_v1() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root_without_runtime(dir.path());
    let Some(c) = Containerd::start_in_root(&root, "") else { return };
    eprintln!("containerd serving after {:.2} s", c.start_time.as_secs_f64());
    let (r, v) = run(&root);
    assert_eq!(r.code, 0, "{}\ncontainerd:\n{}", r.stdout, c.log_tail(20));
    assert_eq!(stage(&v, "local/cri-socket")["status"], "pass", "{}", r.stdout);
    let s = stage(&v, "local/cri-version");
    assert_eq!(s["status"], "pass", "{}", r.stdout);
    let d = s["detail"].as_str().unwrap();
    assert!(d.starts_with("containerd 1.6.") && d.contains("answers CRI v1 on /run/containerd/containerd.sock"), "{d}");
}

#[test]
fn a_killed_containerd_leaves_its_socket_and_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root_without_runtime(dir.path());
    let Some(mut c) = Containerd::start_in_root(&root, "") else { return };
    c.kill();
    assert!(c.socket.exists(), "SIGKILL leaves the socket file");
    let (r, v) = run(&root);
    assert_eq!(stage(&v, "local/cri-socket")["status"], "pass", "{}", r.stdout);
    let m = runtime_root_cause(&r, &v);
    assert!(m.contains("container runtime not running: connection refused"), "{m}");
    let k = v["failure"]["kubeadmMessage"].as_str().unwrap_or_default();
    assert!(k.contains("connection error"), "{k}");
    real_kubelets_fail_on(
        &c,
        "containerd-killed",
        "runtime-socket-missing",
        &[
            (Version::V136, "failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint"),
            (Version::V124, "failed to run Kubelet: unable to determine runtime API version: rpc error: code = Unavailable desc = connection error"),
        ],
        "containerd was killed (SIGKILL): its socket file is left with nothing listening, so the kubelet's CRI connection is refused and it exits at start",
        "real_containerd::a_killed_containerd_leaves_its_socket_and_is_not_running",
    );
}

/// The real kubelet of each version, joining the real control plane of its version, started
/// on `c`'s socket under `fault`: it exits at start, and explain-log on its log gives the
/// domain runtime with `id` as the root cause, decided by a line containing that version's
/// evidence.
fn real_kubelets_fail_on(
    c: &Containerd,
    fault: &str,
    id: &str,
    evidence: &[(Version, &str)],
    root_cause: &str,
    test: &str,
) {
    // The clusters first, on this thread; then both kubelets at once (a v1.24 kubelet takes
    // about 3 s to give up on the runtime, a v1.36 one under 1 s).
    let mut runs = Vec::new();
    for &(version, ev) in evidence {
        let Some(s) = crate::real_kubelet::cluster(version) else { return };
        runs.push((version, ev, &s.cluster));
    }
    std::thread::scope(|scope| {
        for (version, ev, cluster) in runs {
            scope.spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let node = format!("jk-{fault}-{}", version.as_str().replace('.', ""));
                let bootstrap = crate::real_kubelet::bootstrap_for(cluster, dir.path(), &node);
                let spec = KubeletSpec::new(version, &node, bootstrap);
                let Some(mut k) = Kubelet::start_on(spec, &c.endpoint()) else { return };
                let (status, took) = k.wait_exit(std::time::Duration::from_secs(60));
                assert!(!status.success(), "{}: exits with an error: {status}", k.label());
                let v = crate::real_kubelet::fault_log(&k, fault, id, ev, root_cause, test);
                eprintln!(
                    "{} on {fault}: exited ({status}) after {:.2} s; explain-log: {} ({})",
                    k.label(),
                    took.as_secs_f64(),
                    v["rootCause"]["id"],
                    v["failureDomain"]
                );
            });
        }
    });
}

/// CRI disabled as Docker's containerd.io package ships the config (version 1, `"cri"`).
#[test]
fn a_containerd_with_cri_disabled_as_docker_ships_it_is_named() {
    cri_disabled(true);
}

/// CRI disabled in a version 2 config (the plugin's URI).
#[test]
fn a_containerd_with_cri_disabled_in_a_version_2_config_is_named() {
    cri_disabled(false);
}

fn cri_disabled(docker: bool) {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root_without_runtime(dir.path());
    let c = if docker {
        Containerd::start_in_root_v1(&root, "disabled_plugins = [\"cri\"]")
    } else {
        Containerd::start_in_root(&root, "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]")
    };
    let Some(c) = c else { return };
    let (r, v) = run(&root);
    let m = runtime_root_cause(&r, &v);
    assert!(
        m.contains(
            "CRI v1 not implemented on /run/containerd/containerd.sock: containerd's config disables the CRI plugin"
        ),
        "{m}\ncontainerd:\n{}",
        c.log_tail(20)
    );
    let k = v["failure"]["kubeadmMessage"].as_str().unwrap_or_default();
    assert!(k.contains("unknown service runtime.v1.RuntimeService"), "{k}");
    if docker {
        real_kubelets_fail_on(
            &c,
            "cri-disabled",
            "runtime-cri-v1-not-implemented",
            &[
                (Version::V136, "rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService"),
                (Version::V124, "rpc error: code = Unimplemented desc = unknown service runtime.v1alpha2.RuntimeService"),
            ],
            "containerd runs with disabled_plugins = [\"cri\"] (the config Docker's containerd.io package ships): it serves its own API but not CRI, so the kubelet's runtime service calls are Unimplemented and it exits at start",
            "real_containerd::a_containerd_with_cri_disabled_as_docker_ships_it_is_named",
        );
    }
}

/// A containerd on another socket, named by the kubelet's `containerRuntimeEndpoint` (the
/// kubelet's config, as kubeadm v1.27+ writes it): diagnose asks that socket, not the defaults.
#[test]
fn the_kubelets_container_runtime_endpoint_is_the_socket_asked() {
    let dir = tempfile::tempdir().unwrap();
    let root = fake_root_without_runtime(dir.path());
    let Some(_c) = Containerd::start_in_root_at(&root, "/run/k8s-cri/containerd.sock") else { return };
    let kubelet = root.join("var/lib/kubelet");
    std::fs::create_dir_all(&kubelet).unwrap();
    std::fs::write(
        kubelet.join("config.yaml"),
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: cgroupfs\n\
         containerRuntimeEndpoint: unix:///run/k8s-cri/containerd.sock\n",
    )
    .unwrap();
    let (r, v) = run(&root);
    let s = stage(&v, "local/cri-socket");
    assert_eq!(s["status"], "pass", "{}", r.stdout);
    assert!(s["detail"].as_str().unwrap().contains("/run/k8s-cri/containerd.sock"), "{s}");
    let d = stage(&v, "local/cri-version")["detail"].as_str().unwrap().to_string();
    assert!(d.starts_with("containerd 1.6.") && d.contains("answers CRI v1 on /run/k8s-cri/containerd.sock"), "{d}");
    assert_eq!(r.code, 0, "{}", r.stdout);
}
