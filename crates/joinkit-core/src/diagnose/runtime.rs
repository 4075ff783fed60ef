//! diagnose's runtime checks (failure domain `runtime`, exit code 90): what kubeadm's preflight
//! and the kubelet need from the node's container runtime and what keeps the kubelet from
//! becoming healthy (seeds 000 and 002 list the runtime and the kubelet among the first things
//! to check). In order: the CRI socket exists (`--cri-socket`, else the kubelet's
//! `containerRuntimeEndpoint` or `--container-runtime-endpoint`, else kubeadm's usual ones); it answers CRI v1 `RuntimeService/Version`
//! (kubeadm `app/util/runtime`, crictl "validate service connection"); the kubelet's and the
//! runtime's cgroup drivers agree (the kubelet's dockershim said "misconfiguration: kubelet
//! cgroup driver: \"systemd\" is different from docker cgroup driver: \"cgroupfs\"",
//! `pkg/kubelet/dockershim/docker_service.go` up to v1.23); swap versus `failSwapOn` (kubelet
//! `pkg/kubelet/cm/container_manager_linux.go`: "running with swap on is not supported, please
//! disable swap!"); the kubelet's health on 127.0.0.1:10248 (kubeadm's `[kubelet-check]`,
//! `cmd/kubeadm/app/phases/kubelet`); and the kubelet's recent journal fed to explain-log's
//! catalog. Files are read under `--root`; the journal only on the real node (`--root /`).

use super::cri::{self, CriError};
use super::explain;
use super::local::NodeFs;
use super::node::{add, fail, Check, DiagnoseOptions, Found};
use super::runtime_files::{
    containerd_driver, crio_driver, kubelet_config, KubeletConfig, RuntimeDriver, KUBELET_CONFIG,
};
use crate::error::{Code, Domain, Failure};
use crate::report::{Report, Status};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The kubelet's health endpoint (`healthzBindAddress:healthzPort`, kubelet defaults).
pub const KUBELET_HEALTHZ: &str = "127.0.0.1:10248";
/// The bound for the kubelet health request.
pub const HEALTHZ_TIMEOUT: Duration = Duration::from_secs(2);
/// The bound for reading and scanning `journalctl`'s output (the run's `--diagnose-timeout`
/// bounds it too).
pub const JOURNAL_TIMEOUT: Duration = Duration::from_secs(5);
/// The most journal bytes read (2,000 lines of kubelet output are well under this).
pub const JOURNAL_LIMIT: usize = 4 << 20;
/// The journal lines asked for.
pub const JOURNAL_LINES: &str = "2000";

/// The usual CRI sockets, in kubeadm's order of detection
/// (`cmd/kubeadm/app/util/runtime/runtime_unix.go`).
const CRI_SOCKETS: [&str; 4] = [
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
];

/// Which runtime a socket path or a runtime name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Containerd,
    Crio,
    Other,
}

fn runtime_of(name: &str) -> Runtime {
    if name.contains("containerd") {
        Runtime::Containerd
    } else if name.contains("crio") || name.contains("cri-o") {
        Runtime::Crio
    } else {
        Runtime::Other
    }
}

/// The runtime's answer, as later checks use it.
struct Answer {
    runtime: Runtime,
    version: Option<cri::VersionResponse>,
}

/// Runs the runtime checks (each a row of [`Check`] with domain `runtime`). The journal's finding
/// is returned, not added: it is history, so the caller ranks it after every live check. The
/// journal's scan stops at `deadline` (the run's, from `--diagnose-timeout`).
pub(super) async fn runtime_checks(
    report: &mut Report,
    found: &mut Vec<Found>,
    opts: &DiagnoseOptions,
    fs: &NodeFs,
    deadline: Instant,
) -> Option<Found> {
    let kubelet = kubelet_config(fs);
    let kubelets = kubelet.as_ref().ok().and_then(Option::as_ref).and_then(|k| {
        k.runtime_endpoint.as_deref().filter(|e| is_unix(e)).map(|e| (e.to_string(), k.runtime_endpoint_from.clone()))
    });
    let answer = cri_checks(report, found, fs, opts.cri_socket.as_deref(), kubelets).await;
    cgroup_check(report, found, fs, &answer, &kubelet);
    swap_check(report, found, fs, &kubelet);
    healthz_check(report, found, fs, opts.kubelet_healthz.as_deref()).await;
    journal_check(report, fs, deadline, opts.timeout).await
}

/// A CRI endpoint on a unix socket (`unix:///path` or a bare absolute path), the only kind
/// diagnose asks; a `tcp://` or `npipe://` endpoint leaves the usual sockets to look for.
fn is_unix(endpoint: &str) -> bool {
    endpoint.starts_with("unix://") || endpoint.starts_with('/')
}

/// The CRI checks. The socket: `--cri-socket` (or the JoinConfiguration's criSocket), else the
/// one the kubelet is configured with (`kubelet`: its endpoint and where it was set), else the
/// usual ones.
async fn cri_checks(
    report: &mut Report,
    found: &mut Vec<Found>,
    fs: &NodeFs,
    cri: Option<&str>,
    kubelet: Option<(String, String)>,
) -> Option<Answer> {
    let mut named_by = None;
    let candidates: Vec<String> = match (cri, kubelet) {
        (Some(s), _) => vec![s.trim_start_matches("unix://").to_string()],
        (None, Some((e, from))) => {
            named_by = Some(from);
            vec![e.trim_start_matches("unix://").to_string()]
        }
        (None, None) => CRI_SOCKETS.iter().map(|s| s.to_string()).collect(),
    };
    let named = named_by.map(|f| format!(" (the kubelet's, {f})")).unwrap_or_default();
    // The first candidate that exists; one behind a link that leaves --root is not followed.
    let mut outside = Vec::new();
    let mut there = None;
    for c in &candidates {
        match fs.exists(c).and_then(|e| if e { fs.socket(c).map(Some) } else { Ok(None) }) {
            Ok(Some(full)) => {
                there = Some((c.clone(), full));
                break;
            }
            Ok(None) => {}
            Err(r) => outside.push(r),
        }
    }
    let Some((sock, full)) = there else {
        if !outside.is_empty() {
            // No evidence either way: a warning naming the link, not a runtime finding.
            let d = format!("{}: the container runtime socket is not checked", outside.join("; "));
            add(report, found, Check::LocalCriSocket, Status::Warn, d, None);
            add(report, found, Check::LocalCriVersion, Status::Skip, "no socket to ask".into(), None);
            return None;
        }
        let d = format!("no container runtime socket ({}){named}", candidates.join(", "));
        add(report, found, Check::LocalCriSocket, Status::Fail, d.clone(), fail(Code::RootCauseRuntime, d, "the container runtime is not installed or not running, or listens elsewhere", "start containerd or CRI-O (`systemctl enable --now containerd`), or set nodeRegistration.criSocket / --cri-socket").map(|f| f.kubeadm("[ERROR CRI]: container runtime is not running")));
        add(report, found, Check::LocalCriVersion, Status::Skip, "no socket to ask".into(), None);
        return None;
    };
    add(
        report,
        found,
        Check::LocalCriSocket,
        Status::Pass,
        format!("container runtime socket {sock} present{named}"),
        None,
    );
    let runtime = runtime_of(&sock);
    let endpoint = format!("unix://{sock}");
    // Messages name the socket as the node sees it, not its path under --root.
    let node_path = |m: String| m.replace(&full.display().to_string(), &sock);
    match cri::version(&full, cri::CRI_TIMEOUT).await.map_err(|e| match e {
        CriError::NotRunning(m) => CriError::NotRunning(node_path(m)),
        CriError::Failed(m) => CriError::Failed(node_path(m)),
        e => e,
    }) {
        Ok(v) => {
            let d = format!(
                "{} {} answers CRI v1 on {sock} (runtime API {}, kubelet API {})",
                shown(&v.runtime_name),
                shown(&v.runtime_version),
                shown(&v.runtime_api_version),
                shown(&v.version)
            );
            add(report, found, Check::LocalCriVersion, Status::Pass, d, None);
            Some(Answer { runtime: runtime_of(&v.runtime_name).or(runtime), version: Some(v) })
        }
        Err(CriError::V1Unimplemented { message, v1alpha2 }) => {
            let disabled = runtime == Runtime::Containerd && containerd_driver(fs).is_ok_and(|d| d.cri_disabled);
            let (d, cause, fix) = match (&v1alpha2, disabled) {
                (Some(v), _) => (
                    format!("CRI v1 not implemented: {} {} on {sock} serves only CRI {} (runtime.v1.RuntimeService: {message})", shown(&v.runtime_name), shown(&v.runtime_version), shown(&v.runtime_api_version)),
                    "kubeadm and the kubelet (1.26+) speak only CRI v1: containerd before 1.6 (or CRI-O before 1.20) serves only v1alpha2",
                    "upgrade the runtime: containerd 1.6+ (1.7 or 2.x), CRI-O matching the Kubernetes minor",
                ),
                (None, true) => (
                    format!("CRI v1 not implemented on {sock}: containerd's config disables the CRI plugin (disabled_plugins in /etc/containerd/config.toml; runtime.v1.RuntimeService: {message})"),
                    "the CRI plugin is disabled (disabled_plugins = [\"cri\"], as Docker's containerd.io package ships the config)",
                    "remove \"cri\" from disabled_plugins in /etc/containerd/config.toml (or `containerd config default > /etc/containerd/config.toml` and set SystemdCgroup = true), then `systemctl restart containerd`",
                ),
                (None, false) => (
                    format!("CRI v1 not implemented on {sock} (runtime.v1.RuntimeService: {message})"),
                    "containerd before 1.6, CRI disabled (disabled_plugins = [\"cri\"]), or a socket of a runtime without CRI (docker.sock needs cri-dockerd)",
                    "upgrade containerd to 1.6+, remove \"cri\" from disabled_plugins in /etc/containerd/config.toml and restart it, or point --cri-socket at the CRI endpoint",
                ),
            };
            let k = format!("[ERROR CRI]: container runtime is not running: output: validate service connection: CRI v1 runtime API is not implemented for endpoint \"{endpoint}\": rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService");
            add(
                report,
                found,
                Check::LocalCriVersion,
                Status::Fail,
                d.clone(),
                fail(Code::RootCauseRuntime, d, cause, fix).map(|f| f.kubeadm(k)),
            );
            Some(Answer { runtime, version: None })
        }
        Err(CriError::NotRunning(why)) => {
            let d = format!("container runtime not running: {why}");
            let k = format!("[ERROR CRI]: container runtime is not running: output: validate service connection: validate CRI v1 runtime API for endpoint \"{endpoint}\": rpc error: code = Unavailable desc = connection error");
            add(report, found, Check::LocalCriVersion, Status::Fail, d.clone(), fail(Code::RootCauseRuntime, d, "the runtime's service is stopped or crashed and left its socket file behind", "`systemctl status containerd` (or crio), `journalctl -u containerd -n 50`, then `systemctl restart containerd`").map(|f| f.kubeadm(k)));
            Some(Answer { runtime, version: None })
        }
        Err(CriError::Timeout(t)) => {
            let d = format!(
                "the container runtime on {sock} did not answer CRI Version within {}",
                crate::duration::format(t)
            );
            add(report, found, Check::LocalCriVersion, Status::Fail, d.clone(), fail(Code::RootCauseRuntime, d, "the runtime is hung or overloaded, or the socket is not a gRPC endpoint", "`systemctl status containerd`, `crictl --runtime-endpoint unix://SOCKET version`; restart the runtime"));
            Some(Answer { runtime, version: None })
        }
        Err(CriError::Failed(e)) => {
            let d = format!("CRI Version on {sock} failed: {e}");
            add(
                report,
                found,
                Check::LocalCriVersion,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseRuntime,
                    d,
                    "the socket is not a CRI endpoint, or joinkit may not open it (run as root)",
                    "`crictl --runtime-endpoint unix://SOCKET version`; check --cri-socket",
                ),
            );
            Some(Answer { runtime, version: None })
        }
    }
}

impl Runtime {
    fn or(self, other: Runtime) -> Runtime {
        if self == Runtime::Other {
            other
        } else {
            self
        }
    }
}

/// Runtime-reported text, shortened and with control characters escaped by the printer.
fn shown(s: &str) -> String {
    let s = crate::redact::truncate(s, 80);
    if s.is_empty() {
        "?".into()
    } else {
        s
    }
}

/// containerd 2.0+ answers the CRI RuntimeConfig call: a kubelet 1.31+ (KubeletCgroupDriverFromCRI)
/// then takes the cgroup driver from the runtime and ignores its own.
fn driver_from_cri(a: &Answer) -> bool {
    a.runtime == Runtime::Containerd
        && a.version.as_ref().is_some_and(|v| {
            let major = v.runtime_version.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok());
            major.is_some_and(|m| m >= 2)
        })
}

fn cgroup_check(
    report: &mut Report,
    found: &mut Vec<Found>,
    fs: &NodeFs,
    answer: &Option<Answer>,
    kubelet: &Result<Option<KubeletConfig>, String>,
) {
    let c = Check::LocalCgroupDriver;
    let runtime = match answer {
        Some(a) => a.runtime,
        // A config behind a link that leaves --root: its read below says so.
        None if fs.exists(super::runtime_files::CONTAINERD_CONFIG).unwrap_or(true) => Runtime::Containerd,
        None => return add(report, found, c, Status::Skip, "no container runtime found".into(), None),
    };
    let rt: Result<RuntimeDriver, String> = match runtime {
        Runtime::Containerd => containerd_driver(fs),
        Runtime::Crio => crio_driver(fs),
        Runtime::Other => {
            return add(
                report,
                found,
                c,
                Status::Skip,
                "the runtime is neither containerd nor CRI-O: its cgroup driver is not read".into(),
                None,
            )
        }
    };
    let name = if runtime == Runtime::Containerd { "containerd" } else { "CRI-O" };
    let rt = match rt {
        Ok(r) => r,
        Err(e) => {
            return add(report, found, c, Status::Warn, format!("{e}: the cgroup drivers were not compared"), None)
        }
    };
    let k = match kubelet {
        Err(e) => {
            return add(report, found, c, Status::Warn, format!("{e}: the cgroup drivers were not compared"), None)
        }
        Ok(None) => {
            // Before a join: kubeadm (1.22+) writes cgroupDriver: systemd unless the cluster's
            // kubelet-config says otherwise.
            let (status, d) = if rt.driver == "systemd" {
                (Status::Pass, format!("{KUBELET_CONFIG} not written yet (kubeadm join writes it; kubeadm 1.22+ sets cgroupDriver: systemd); {name} uses systemd ({})", rt.from))
            } else {
                (Status::Warn, format!("{KUBELET_CONFIG} not written yet; kubeadm 1.22+ sets the kubelet's cgroupDriver to systemd but {name} uses cgroupfs ({}): set SystemdCgroup = true", rt.from))
            };
            return add(report, found, c, status, d, None);
        }
        Ok(Some(k)) => k,
    };
    let kd = k.cgroup_driver.clone().unwrap_or_else(|| "cgroupfs".into());
    let kfrom = if k.cgroup_driver.is_some() {
        format!("cgroupDriver: {kd} in {KUBELET_CONFIG}")
    } else {
        format!("{KUBELET_CONFIG} sets no cgroupDriver (kubelet default cgroupfs)")
    };
    if kd == rt.driver {
        return add(
            report,
            found,
            c,
            Status::Pass,
            format!("kubelet and {name} both use {kd} ({kfrom}; {})", rt.from),
            None,
        );
    }
    let d =
        format!("cgroup driver mismatch: the kubelet uses {kd} ({kfrom}) but {name} uses {} ({})", rt.driver, rt.from);
    if answer.as_ref().is_some_and(driver_from_cri) {
        let w = format!(
            "{d}; a kubelet 1.31+ takes the driver from containerd 2.x (CRI RuntimeConfig), older kubelets fail"
        );
        return add(report, found, c, Status::Warn, w, None);
    }
    let kubeadm = format!(
        "misconfiguration: kubelet cgroup driver: \"{kd}\" is different from docker cgroup driver: \"{}\"",
        rt.driver
    );
    // systemd as PID 1 leaves /run/systemd/system (libcontainer's IsRunningSystemd reads it).
    // Read only where /run is the node's live /run: the runtime answered CRI on its socket.
    let live = answer.as_ref().is_some_and(|a| a.version.is_some());
    if live && fs.exists("/run/systemd/system") == Ok(false) {
        let d = format!("{d}; and systemd does not run on this node (no /run/systemd/system while the runtime answers), so the side using systemd cannot make its cgroups: the kubelet exits with \"Failed to start ContainerManager\" err=\"systemd not running on this host, cannot use systemd cgroups manager\" (real kubelet v1.24.0 and v1.36.2, docs/real-kubelet.md)");
        add(report, found, c, Status::Fail, d.clone(), fail(Code::RootCauseRuntime, d, "the kubelet and the runtime must use the same cgroup driver, and the systemd driver needs systemd as PID 1: without it the kubelet fails to start its ContainerManager and exits, and runc fails every container", "use cgroupfs on both on a node without systemd: cgroupDriver: cgroupfs in the KubeletConfiguration (/var/lib/kubelet/config.yaml) and no SystemdCgroup = true in /etc/containerd/config.toml; then restart both").map(|f| f.kubeadm(kubeadm)));
        return;
    }
    add(report, found, c, Status::Fail, d.clone(), fail(Code::RootCauseRuntime, d, "the kubelet and the runtime must manage pod cgroups the same way: with different drivers pod sandboxes fail (runc: expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups) or the kubelet never becomes healthy", "use systemd on both: SystemdCgroup = true in the runc options of /etc/containerd/config.toml (then `systemctl restart containerd`) and cgroupDriver: systemd in the KubeletConfiguration").map(|f| f.kubeadm(kubeadm)));
}

fn swap_check(
    report: &mut Report,
    found: &mut Vec<Found>,
    fs: &NodeFs,
    kubelet: &Result<Option<KubeletConfig>, String>,
) {
    let c = Check::LocalSwap;
    let swaps = match fs.read("/proc/swaps", super::local::PROC_TABLE_LIMIT) {
        Ok(t) => t,
        Err(e) => return add(report, found, c, Status::Skip, e.reason(), None),
    };
    let on: Vec<&str> = swaps.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    if on.is_empty() {
        return add(report, found, c, Status::Pass, "swap is off".into(), None);
    }
    let list = on.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    match kubelet {
        Ok(Some(k)) if k.fail_swap_on == Some(false) => {
            let b = k.swap_behavior.as_deref().unwrap_or("NoSwap (default)");
            add(report, found, c, Status::Pass, format!("swap is on ({list}); the kubelet allows it ({} false, swapBehavior {b})", k.fail_swap_on_from), None)
        }
        Ok(Some(k)) => {
            let d = format!("swap is on ({list}) and the kubelet refuses to start with swap (failSwapOn is not false: {})", k.fail_swap_on_from);
            let kubeadm = format!("running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: [{}]", on.join(" "));
            add(report, found, c, Status::Fail, d.clone(), fail(Code::RootCauseRuntime, d, "the kubelet exits at start while swap is on unless failSwapOn is false, so it never becomes healthy", "`swapoff -a` and remove swap from /etc/fstab, or set failSwapOn: false (and memorySwap.swapBehavior: LimitedSwap on cgroup v2, Kubernetes 1.28+) in the KubeletConfiguration").map(|f| f.kubeadm(kubeadm)));
        }
        Ok(None) => add(report, found, c, Status::Warn, format!("swap is on ({list}): the kubelet refuses to start unless the cluster's KubeletConfiguration sets failSwapOn: false (kubeadm preflight [WARNING Swap])"), None),
        Err(e) => add(report, found, c, Status::Warn, format!("swap is on ({list}); the kubelet's config is unreadable ({e})"), None),
    }
}

/// One `GET /healthz` to `addr` over plain HTTP/1.1: the status code and the first bytes of the
/// body, or why there was none.
async fn healthz(addr: &str) -> Result<(u16, String), std::io::Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    (&mut s).take(4096).read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let code = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").trim().chars().take(100).collect();
    Ok((code, body))
}

async fn healthz_check(report: &mut Report, found: &mut Vec<Found>, fs: &NodeFs, addr: Option<&str>) {
    let c = Check::LocalKubeletHealth;
    let Some(addr) = addr else {
        return add(report, found, c, Status::Skip, "kubelet health not checked (--kubelet-healthz off)".into(), None);
    };
    // kubelet.conf (joined) or bootstrap-kubelet.conf (kubeadm join's kubelet-start phase ran and
    // started the kubelet): from then on the kubelet should answer.
    let started = ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/bootstrap-kubelet.conf"]
        .into_iter()
        // One behind a link that leaves --root counts as absent (local/root reports the link).
        .find(|p| fs.exists(p).unwrap_or(false));
    let r = match tokio::time::timeout(HEALTHZ_TIMEOUT, healthz(addr)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {}", crate::duration::format(HEALTHZ_TIMEOUT)),
        )),
    };
    // kubeadm's line (v1.36.2, observed: phase kubelet-wait-bootstrap polls the healthz of the
    // kubelet it started, docs/kubeadm-join-parity.md) exists only for a refused connection;
    // for other answers kubeadm's wording was not observed, so none is claimed.
    let mut kubeadm = None;
    let broken = match r {
        Ok((200, body)) => {
            return add(
                report,
                found,
                c,
                Status::Pass,
                format!("the kubelet is healthy (http://{addr}/healthz: 200 {})", crate::redact::truncate(&body, 40)),
                None,
            )
        }
        Ok((code, body)) => {
            format!("the kubelet answers http://{addr}/healthz with {code} {}", crate::redact::truncate(&body, 100))
        }
        Err(e) if started.is_none() => {
            let d = format!("the kubelet is not running (http://{addr}/healthz: {e}): normal before a join, `kubeadm join` starts it");
            return add(report, found, c, Status::Pass, d, None);
        }
        Err(e) => {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                kubeadm = Some(kubeadm_kubelet_refused(addr));
            }
            format!(
                "the kubelet is not healthy: http://{addr}/healthz: {e}, while {} exists",
                started.unwrap_or_default()
            )
        }
    };
    add(report, found, c, Status::Fail, broken.clone(), fail(Code::RootCauseRuntime, broken, "the kubelet is stopped or crash-looping (cgroup driver, swap, its config, the runtime): its own errors say why", "`systemctl status kubelet` and `journalctl -u kubelet -n 100 --no-pager` (local/kubelet-journal reads it); fix what it reports, then `systemctl restart kubelet`").map(|f| match kubeadm {
        Some(k) => f.kubeadm(k),
        None => f,
    }));
}

/// The error line kubeadm v1.36.2 prints when the kubelet it started refuses connections on
/// `addr` (its healthz address and port): `failed while waiting for the kubelet to start: The
/// HTTP call equal to 'curl -sSL http://ADDR/healthz' returned error: Get
/// "http://ADDR/healthz": dial tcp ADDR: connect: connection refused` (observed with the real
/// kubeadm, docs/kubeadm-join-parity.md; cmd/kubeadm/app/util/apiclient/wait.go `WaitForKubelet`).
pub(crate) fn kubeadm_kubelet_refused(addr: &str) -> String {
    format!(
        "failed while waiting for the kubelet to start: The HTTP call equal to 'curl -sSL http://{addr}/healthz' returned error: Get \"http://{addr}/healthz\": dial tcp {addr}: connect: connection refused"
    )
}

/// `journalctl` on `PATH`, if any.
fn find_journalctl() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("journalctl"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// A child's output pipe read until a deadline and up to a byte limit: a read that would wait
/// past the deadline ends the input instead (`timed_out`), and so does the limit (`more` says
/// whether output was left). Waiting is `poll(2)` on the pipe, so a writer that stalls, or a
/// process outside the group that keeps the pipe open, cannot hold the reader.
struct DeadlinePipe {
    pipe: std::process::ChildStdout,
    deadline: Instant,
    left: u64,
    more: bool,
    timed_out: bool,
}

impl DeadlinePipe {
    /// Whether the pipe can be read (data or end of file) within `ms` milliseconds.
    fn ready(&self, ms: i32) -> std::io::Result<bool> {
        use std::os::fd::AsRawFd;
        let mut p = libc::pollfd { fd: self.pipe.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        loop {
            // SAFETY: poll on one valid pollfd for a descriptor this struct owns.
            match unsafe { libc::poll(&mut p, 1, ms) } {
                n if n >= 0 => return Ok(n > 0),
                _ => {
                    let e = std::io::Error::last_os_error();
                    if e.kind() != std::io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Waits until the pipe can be read: false when the deadline comes first.
    fn wait(&self) -> std::io::Result<bool> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            // Rounded up, so the wait never ends just before the deadline and spins.
            if self.ready(left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32)? {
                return Ok(true);
            }
        }
    }
}

impl Read for DeadlinePipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.timed_out || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the limit the input ends; output ready at once means some was left.
            if !self.more && self.ready(0)? {
                self.more = self.pipe.read(&mut [0u8])? > 0;
            }
            return Ok(0);
        }
        if !self.wait()? {
            self.timed_out = true;
            return Ok(0);
        }
        let n = buf.len().min(self.left as usize);
        let n = self.pipe.read(&mut buf[..n])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The kubelet's journal, scanned: the findings, whether output was left past
/// [`JOURNAL_LIMIT`], and whether the deadline cut the scan short.
struct Journal {
    scanner: explain::Scanner,
    more: bool,
    cut_short: bool,
}

/// Runs `program -u kubelet --no-pager -n 2000 -o cat` in its own process group and scans its
/// output through explain-log's catalog as it comes: at most [`JOURNAL_LIMIT`] bytes, until
/// `deadline` (reading and scanning alike); then the group is killed.
fn scan_journal(program: &Path, deadline: Instant) -> Result<Journal, String> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(["-u", "kubelet", "--no-pager", "-n", JOURNAL_LINES, "-o", "cat"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let pgid = child.id() as libc::pid_t;
    let mut scanner = explain::Scanner::new();
    let scanned = match child.stdout.take() {
        Some(pipe) => {
            let mut pipe = DeadlinePipe { pipe, deadline, left: JOURNAL_LIMIT as u64, more: false, timed_out: false };
            let end = scanner.scan_until(
                std::io::BufReader::with_capacity(64 << 10, &mut pipe),
                "journalctl -u kubelet",
                Some(deadline),
            );
            end.map(|end| (pipe.more, end == explain::ScanEnd::CutShort || pipe.timed_out))
        }
        None => Ok((false, false)),
    };
    // The output is read (or the time is up): the process group goes either way.
    // SAFETY: kill(2) on a process group this function created; no memory is involved.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let reap = Instant::now() + Duration::from_millis(500);
    while Instant::now() < reap {
        if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (more, cut_short) = scanned.map_err(|e| format!("cannot read the output of {}: {e}", program.display()))?;
    Ok(Journal { scanner, more, cut_short })
}

/// The kubelet's journal through explain-log's catalog, read and scanned until `deadline` (the
/// run's, `timeout` from its start: `--diagnose-timeout`) and for at most [`JOURNAL_TIMEOUT`].
async fn journal_check(report: &mut Report, fs: &NodeFs, deadline: Instant, timeout: Duration) -> Option<Found> {
    let c = Check::LocalKubeletJournal;
    let mut none = Vec::new();
    let found = &mut none;
    if !fs.is_host() {
        add(report, found, c, Status::Skip, "the journal is only read on the node itself (--root /)".into(), None);
        return None;
    }
    let Some(program) = find_journalctl() else {
        add(report, found, c, Status::Skip, "no journalctl on PATH".into(), None);
        return None;
    };
    let own = Instant::now() + JOURNAL_TIMEOUT;
    let bound = if own < deadline {
        format!("the journal's own bound of {}", crate::duration::format(JOURNAL_TIMEOUT))
    } else {
        format!("--diagnose-timeout {}", crate::duration::format(timeout))
    };
    let read = tokio::task::spawn_blocking(move || scan_journal(&program, own.min(deadline))).await;
    let Journal { scanner, more, cut_short } = match read {
        Ok(Ok(j)) => j,
        Ok(Err(e)) => {
            add(report, found, c, Status::Warn, format!("the kubelet's journal was not read: {e}"), None);
            return None;
        }
        Err(e) => {
            add(report, found, c, Status::Warn, format!("the kubelet's journal was not read: {e}"), None);
            return None;
        }
    };
    let cut =
        if more { format!(" (first {} kept)", crate::fsutil::human_size(JOURNAL_LIMIT as u64)) } else { String::new() };
    // A scan cut short says so, and how far it got; what it read still counts.
    let short = cut_short.then(|| {
        format!(
            "the scan was cut short at {bound} after {} lines ({}); the rest of the journal was not read",
            scanner.lines,
            crate::fsutil::human_size(scanner.bytes)
        )
    });
    let findings = scanner.findings();
    let Some(f) = explain::root_cause(&findings) else {
        let (status, d) = match &short {
            Some(s) => (
                Status::Warn,
                format!("the kubelet's journal: {s}; no failure signature of the catalog in what was read"),
            ),
            None => (
                Status::Pass,
                format!("the kubelet's journal ({} lines{cut}) has no failure signature of the catalog", scanner.lines),
            ),
        };
        add(report, found, c, status, d, None);
        return None;
    };
    let domain = f.domain.unwrap_or(Domain::Runtime);
    let example = crate::redact::truncate(&crate::redact::redact(&f.example), 200);
    let mut d = format!(
        "the kubelet's journal ({} lines{cut}): {} [{}] ({} line(s), e.g. \"{example}\")",
        scanner.lines, f.meaning, f.id, f.count
    );
    if let Some(s) = &short {
        d.push_str(&format!("; {s}"));
        report.push_warning(format!("{}: {s}", crate::report::StageId::name(c)));
    }
    report.push_stage(crate::report::Stage::new(c, Status::Fail, d.clone()));
    let failure = Failure::new(Code::for_domain(domain), c, d)
        .cause(format!("the kubelet logged it: {}", f.meaning))
        .fix(f.fix.clone());
    Some(Found { domain, failure })
}
