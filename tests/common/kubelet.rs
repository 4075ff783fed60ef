//! The real kubelet for tests, with a containerd of its own, as `../shared/k8s/README.md`
//! ("Real clients") describes it for this machine kind (root in a container, cgroup v1, no
//! systemd):
//!
//! - The binaries: `v1.36/kubelet.xz` (v1.36.2) and `v1.24/kubelet.xz` (v1.24.0) under
//!   `JOINKIT_K8S_DIST` (default `../shared/k8s`), unpacked once per machine into
//!   `$JOINKIT_K8S_CACHE/kubelet/<git version>/kubelet` (default `target/k8s-cache`) with the
//!   lock and atomic rename of `kubeadm.rs`.
//! - [`Containerd`]: Debian's containerd (1.6) found on `PATH`, one per kubelet, with socket,
//!   root, state, plugin and CNI directories in a temporary directory and the `native`
//!   snapshotter; its CRI streaming server listens on `127.0.0.1` only.
//! - [`Kubelet`]: started with a bootstrap kubeconfig, `--kubeconfig`, `--config`, `--cert-dir`
//!   and `--root-dir` in a temporary directory, the KubeletConfiguration that README lists
//!   (`failCgroupV1: false`, `cgroupsPerQOS: false`, `enforceNodeAllocatable: []`,
//!   `cgroupDriver: cgroupfs`, `failSwapOn: false`, the runtime endpoint; on v1.24 the endpoint
//!   is the flag `--container-runtime=remote --container-runtime-endpoint`), and a node IP of
//!   its own from TEST-NET-1 (192.0.2.11 and up, RFC 5737) on `lo`: the kubelet refuses a
//!   loopback node IP and makes no serving CSR without an address. Its server listens on that
//!   address (nothing is ever sent to it but from this machine), its healthz on `127.0.0.1`,
//!   both on free ports; the read-only port is off.
//! - The kubelet runs in a private mount namespace (`unshare --mount`) with a tmpfs over
//!   `/var/lib` and `/var/log`: it creates `/var/lib/kubelet/device-plugins`, `/var/log/pods`
//!   and `/var/log/containers` whatever its `--root-dir`, and bind-mounts its root directory
//!   onto itself; all of that then disappears with the process. Dropping a [`Kubelet`] stops it
//!   (SIGTERM, SIGKILL after 10 s), unmounts whatever is still mounted under its directory,
//!   stops its containerd and removes its address from `lo` if it added it. Both children get
//!   SIGKILL if the test thread that started them dies (`PR_SET_PDEATHSIG`).
//! - Each address is claimed with a file lock (`$JOINKIT_K8S_CACHE/kubelet/lo/<ip>.lock`), so
//!   parallel tests and test binaries never share one, and is not used twice by one process
//!   (its clusters keep the Nodes); an address already on `lo` (a developer following that
//!   README) is used and left there.
//!
//! Absent (no archive, no containerd on `PATH`, not root), [`Kubelet::start`] and
//! [`Containerd::start`] print a notice and return None, except under `CI`, where that is a
//! failure.
#![allow(dead_code)]

use crate::k8s::Version;
use crate::kubeadm::{cache, dist, unpack_once};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// One kubelet release available as an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    /// What `kubelet --version` prints after `Kubernetes `.
    pub git_version: &'static str,
    /// The archive, relative to the dist directory.
    pub archive: &'static str,
}

/// The kubelet binaries in `../shared/k8s` (its README, "Real clients").
pub const RELEASES: &[Release] = &[
    Release { version: Version::V136, git_version: "v1.36.2", archive: "v1.36/kubelet.xz" },
    Release { version: Version::V124, git_version: "v1.24.0+0", archive: "v1.24/kubelet.xz" },
];

fn release(v: Version) -> Release {
    *RELEASES.iter().find(|r| r.version == v).expect("every Version has a kubelet release")
}

/// Prints a skip notice on the process's stderr (the harness captures eprintln! of passing
/// tests, and a skip must be visible); under `CI` a missing prerequisite is a failure.
fn skip(what: &str, why: &str) {
    assert!(std::env::var_os("CI").is_none(), "real-kubelet tests are required in CI: {why}");
    let _ = writeln!(std::io::stderr(), "NOTICE: skipping {what}: {why}");
}

/// The kubelet of this version (unpacked once), or None with a notice when its archive is absent.
pub fn kubelet_binary(v: Version) -> Option<PathBuf> {
    static FOUND: OnceLock<Mutex<HashMap<&'static str, Option<PathBuf>>>> = OnceLock::new();
    let r = release(v);
    let mut found = FOUND.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    found
        .entry(r.git_version)
        .or_insert_with(|| {
            let archive = dist().join(r.archive);
            if !archive.is_file() {
                skip(
                    &format!("real-kubelet {} tests", v.as_str()),
                    &format!("{} does not exist (set JOINKIT_K8S_DIST)", archive.display()),
                );
                return None;
            }
            let dest = cache().join("kubelet").join(r.git_version).join("kubelet");
            unpack_once(&archive, &dest).unwrap_or_else(|e| panic!("kubelet {}: {e}", r.git_version));
            let out = Command::new(&dest).arg("--version").stdin(Stdio::null()).output().expect("run kubelet");
            let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert_eq!(
                said,
                format!("Kubernetes {}", r.git_version),
                "{} reports another version: remove it to unpack {} again",
                dest.display(),
                archive.display()
            );
            Some(dest)
        })
        .clone()
}

/// containerd on `PATH` when this process may run it (root), else None with a notice.
pub fn containerd_binary() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                skip("real-kubelet tests", "they need root (containerd, mounts, an address on lo)");
                return None;
            }
            let found = std::env::var_os("PATH")
                .and_then(|p| std::env::split_paths(&p).map(|d| d.join("containerd")).find(|p| p.is_file()));
            if found.is_none() {
                skip("real-kubelet tests", "containerd is not on PATH (`apt-get install containerd`; .ci/run does)");
            }
            found
        })
        .clone()
}

/// Runs `cmd` with SIGKILL as its parent-death signal: if the thread that started it dies,
/// so does it (kept across exec; the harness never starts these from a thread that ends first).
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            Ok(())
        });
    }
}

/// The last `n` lines of a log file.
fn tail(path: &Path, n: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// SIGTERM, then SIGKILL after `grace`; reaps the child.
fn terminate(child: &mut Child, grace: Duration) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    // SAFETY: signalling our own child by its PID.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    while t.elapsed() < grace {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A free TCP port on `ip` (bound and released; the kubelet binds it a moment later).
fn free_port(ip: Ipv4Addr) -> u16 {
    std::net::TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

// ---------------------------------------------------------------------------------------------
// containerd

/// A containerd of one's own; dropping it stops it and removes its directory (when the harness
/// made it).
pub struct Containerd {
    child: Option<Child>,
    tmp: Option<tempfile::TempDir>,
    base: PathBuf,
    /// The CRI (and containerd API) socket.
    pub socket: PathBuf,
    /// Its log (stdout and stderr).
    pub log: PathBuf,
    /// The config it runs with.
    pub config: PathBuf,
    /// Wall time until the socket accepted a connection.
    pub start_time: Duration,
}

/// Where one containerd keeps what it writes.
struct Layout {
    config: PathBuf,
    socket: PathBuf,
    root: PathBuf,
    state: PathBuf,
    opt: PathBuf,
    cni_bin: PathBuf,
    cni_conf: PathBuf,
    log: PathBuf,
}

impl Containerd {
    /// Starts containerd with the harness's config; None (with a notice) when containerd is
    /// absent. Waits until its socket accepts connections.
    pub fn start() -> Option<Containerd> {
        Containerd::start_with("")
    }

    /// [`Containerd::start`] with `top_level` TOML inserted before the tables (for example
    /// `disabled_plugins = ["cri"]`).
    pub fn start_with(top_level: &str) -> Option<Containerd> {
        containerd_binary()?;
        let tmp = tempfile::Builder::new().prefix("joinkit-containerd-").tempdir().expect("temp dir");
        let d = tmp.path().to_path_buf();
        let layout = Layout {
            config: d.join("config.toml"),
            socket: d.join("containerd.sock"),
            root: d.join("root"),
            state: d.join("state"),
            opt: d.join("opt"),
            cni_bin: d.join("cni/bin"),
            cni_conf: d.join("cni/net.d"),
            log: d.join("containerd.log"),
        };
        Containerd::launch(Some(tmp), d, layout, top_level, 2)
    }

    /// containerd laid out as on a node, inside `node_root` (a `diagnose --root` tree):
    /// `/etc/containerd/config.toml`, `/run/containerd/containerd.sock`, `/var/lib/containerd`,
    /// `/run/containerd` (state), `/opt/containerd`, `/opt/cni/bin`, `/etc/cni/net.d`, log in
    /// `/var/log/containerd.log`. `node_root` stays when it is dropped.
    pub fn start_in_root(node_root: &Path, top_level: &str) -> Option<Containerd> {
        Containerd::in_root(node_root, top_level, 2, "run/containerd/containerd.sock")
    }

    /// [`Containerd::start_in_root`] listening on `socket` (relative to `node_root`) instead of
    /// the default socket.
    pub fn start_in_root_at(node_root: &Path, socket: &str) -> Option<Containerd> {
        Containerd::in_root(node_root, "", 2, socket.trim_start_matches('/'))
    }

    /// [`Containerd::start_in_root`] with a version 1 config (no `version` key: the layout of
    /// Docker's containerd.io package, whose config has `disabled_plugins = ["cri"]`; a
    /// version 2 config must name plugins by URI, `io.containerd.grpc.v1.cri`, and containerd
    /// 1.6 refuses to start with the short name there).
    pub fn start_in_root_v1(node_root: &Path, top_level: &str) -> Option<Containerd> {
        Containerd::in_root(node_root, top_level, 1, "run/containerd/containerd.sock")
    }

    fn in_root(node_root: &Path, top_level: &str, version: u8, socket: &str) -> Option<Containerd> {
        containerd_binary()?;
        let r = node_root;
        let layout = Layout {
            config: r.join("etc/containerd/config.toml"),
            socket: r.join(socket),
            root: r.join("var/lib/containerd"),
            state: r.join("run/containerd"),
            opt: r.join("opt/containerd"),
            cni_bin: r.join("opt/cni/bin"),
            cni_conf: r.join("etc/cni/net.d"),
            log: r.join("var/log/containerd.log"),
        };
        Containerd::launch(None, r.to_path_buf(), layout, top_level, version)
    }

    fn launch(
        tmp: Option<tempfile::TempDir>,
        base: PathBuf,
        l: Layout,
        top_level: &str,
        version: u8,
    ) -> Option<Containerd> {
        let bin = containerd_binary()?;
        for p in [&l.config, &l.socket, &l.log] {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        // Every path containerd writes is named here (`containerd config default` lists them):
        // root, state, the ttrpc socket, the opt plugin's directory and the CRI plugin's CNI
        // directories (containerd creates conf_dir: /etc/cni/net.d by default). Plugins are
        // named by URI in a version 2 config and by short name in a version 1 config.
        let (version_line, opt, cri) = match version {
            1 => ("", "opt", "cri"),
            _ => ("version = 2\n", "\"io.containerd.internal.v1.opt\"", "\"io.containerd.grpc.v1.cri\""),
        };
        let toml = format!(
            r#"{version_line}root = "{root}"
state = "{state}"
{top_level}

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[plugins.{opt}]
  path = "{opt_path}"

[plugins.{cri}]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_tcp_service = true

[plugins.{cri}.containerd]
  snapshotter = "native"

[plugins.{cri}.cni]
  bin_dir = "{cni_bin}"
  conf_dir = "{cni_conf}"
"#,
            root = l.root.display(),
            state = l.state.display(),
            sock = l.socket.display(),
            opt_path = l.opt.display(),
            cni_bin = l.cni_bin.display(),
            cni_conf = l.cni_conf.display(),
        );
        std::fs::write(&l.config, toml).unwrap();
        let out = File::create(&l.log).unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(&l.config)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .env_remove("CONTAINERD_ADDRESS");
        no_proxy(&mut cmd);
        die_with_parent(&mut cmd);
        let t = Instant::now();
        let child = cmd.spawn().expect("spawn containerd");
        let mut c = Containerd {
            child: Some(child),
            tmp,
            base,
            socket: l.socket,
            log: l.log,
            config: l.config,
            start_time: Duration::ZERO,
        };
        loop {
            if std::os::unix::net::UnixStream::connect(&c.socket).is_ok() {
                break;
            }
            if let Some(s) = c.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("containerd exited ({s}) before serving:\n{}", tail(&c.log, 30));
            }
            assert!(t.elapsed() < Duration::from_secs(30), "containerd not serving after 30 s:\n{}", tail(&c.log, 30));
            std::thread::sleep(Duration::from_millis(50));
        }
        c.start_time = t.elapsed();
        Some(c)
    }

    /// `unix://<socket>`, as the kubelet and crictl name it.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The directory holding everything of this containerd.
    pub fn dir(&self) -> &Path {
        &self.base
    }

    /// Stops it with SIGTERM (it removes its socket).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c, Duration::from_secs(10));
        }
    }

    /// Kills it with SIGKILL: its socket file stays, with nothing listening (a crashed runtime).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Proxies from the caller's environment are never used: everything here is loopback or
/// TEST-NET on `lo`.
fn no_proxy(cmd: &mut Command) {
    for k in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(k);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,192.0.2.0/24").env("no_proxy", "127.0.0.1,localhost,192.0.2.0/24");
}

// ---------------------------------------------------------------------------------------------
// An address of one's own on lo

/// A TEST-NET-1 address on `lo`, claimed with a file lock; removed on drop if this claim added it.
pub struct LoAddress {
    pub ip: Ipv4Addr,
    added: bool,
    _lock: File,
}

impl LoAddress {
    /// The first free address of 192.0.2.11..=192.0.2.110 (192.0.2.10 is the one README tells
    /// developers to add by hand) that this process has not used before: a stopped kubelet's
    /// Node keeps its addresses on the cluster, and a second Node reporting one of them makes
    /// joinkit's `san-unique` check fail the new kubelet's serving CSR, rightly.
    pub fn claim() -> LoAddress {
        use std::os::unix::io::AsRawFd;
        static USED: Mutex<Vec<u8>> = Mutex::new(Vec::new());
        let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
        let dir = cache().join("kubelet").join("lo");
        std::fs::create_dir_all(&dir).unwrap();
        for n in (11..=110u8).filter(|n| !used.contains(n)) {
            let ip = Ipv4Addr::new(192, 0, 2, n);
            let lock =
                std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("{ip}.lock"))).unwrap();
            // SAFETY: flock on a descriptor we own; released when the file is closed.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                continue;
            }
            let added = !on_lo(ip);
            if added {
                let o = Command::new("ip").args(["addr", "add", &format!("{ip}/32"), "dev", "lo"]).output();
                let o = o.expect("run ip (iproute2)");
                assert!(o.status.success(), "ip addr add {ip}/32 dev lo: {}", String::from_utf8_lossy(&o.stderr));
            }
            used.push(n);
            return LoAddress { ip, added, _lock: lock };
        }
        panic!("no free address in 192.0.2.11-110 that this process has not used (100 kubelets?)");
    }
}

fn on_lo(ip: Ipv4Addr) -> bool {
    let o = Command::new("ip").args(["-4", "-o", "addr", "show", "dev", "lo"]).output().expect("run ip (iproute2)");
    String::from_utf8_lossy(&o.stdout).split_whitespace().any(|w| w == format!("{ip}/32"))
}

impl Drop for LoAddress {
    fn drop(&mut self) {
        if self.added {
            let _ = Command::new("ip").args(["addr", "del", &format!("{}/32", self.ip), "dev", "lo"]).output();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The kubelet

/// What to start.
#[derive(Debug, Clone)]
pub struct KubeletSpec {
    pub version: Version,
    /// `--hostname-override`: the Node's name.
    pub node_name: String,
    /// `--bootstrap-kubeconfig`.
    pub bootstrap_kubeconfig: PathBuf,
    /// `serverTLSBootstrap`: a `kubernetes.io/kubelet-serving` CSR instead of a self-signed
    /// serving certificate.
    pub server_tls_bootstrap: bool,
    /// `cgroupDriver`, and whether `cgroupsPerQOS` is on (with `enforceNodeAllocatable:
    /// [pods]`, the kubelet's defaults) or off (with `[]`, what this machine kind needs).
    /// [`CgroupSetup::HOST`] by default ([`KubeletSpec::new`]).
    pub cgroups: CgroupSetup,
}

/// The kubelet's cgroup settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupSetup {
    /// `cgroupDriver`: `cgroupfs` or `systemd`.
    pub driver: &'static str,
    /// `cgroupsPerQOS`.
    pub per_qos: bool,
}

impl CgroupSetup {
    /// What runs on this machine kind: cgroupfs, no QoS cgroups (../shared/k8s/README.md).
    pub const HOST: CgroupSetup = CgroupSetup { driver: "cgroupfs", per_qos: false };
    /// The kubeadm default driver with the kubelet's default QoS cgroups: on this systemd-less
    /// host the kubelet fails to start its ContainerManager ("systemd not running on this host,
    /// cannot use systemd cgroups manager") and exits, after its TLS bootstrap. Nothing is
    /// created under /sys/fs/cgroup (the first cgroup it makes fails).
    pub const SYSTEMD_WITH_QOS: CgroupSetup = CgroupSetup { driver: "systemd", per_qos: true };
}

impl KubeletSpec {
    /// A spec with the host's cgroup settings and no serving CSR.
    pub fn new(version: Version, node_name: &str, bootstrap_kubeconfig: PathBuf) -> KubeletSpec {
        KubeletSpec {
            version,
            node_name: node_name.to_string(),
            bootstrap_kubeconfig,
            server_tls_bootstrap: false,
            cgroups: CgroupSetup::HOST,
        }
    }
}

/// A running kubelet with its containerd and address. Dropping it stops and cleans up all three.
pub struct Kubelet {
    child: Option<Child>,
    pub spec: KubeletSpec,
    pub node_ip: Ipv4Addr,
    /// The kubelet's HTTPS port on `node_ip`.
    pub port: u16,
    /// healthz on 127.0.0.1.
    pub healthz_port: u16,
    /// When it was started.
    pub started: Instant,
    dir: tempfile::TempDir,
    /// Its own containerd ([`Kubelet::start`]), or None when started on another's endpoint.
    containerd: Option<Containerd>,
    address: LoAddress,
}

impl Kubelet {
    /// Starts containerd and the kubelet; None (with a notice) when either is unavailable.
    pub fn start(spec: KubeletSpec) -> Option<Kubelet> {
        kubelet_binary(spec.version)?;
        let containerd = Containerd::start()?;
        let endpoint = containerd.endpoint();
        Kubelet::launch(spec, &endpoint, Some(containerd))
    }

    /// Starts the kubelet on the runtime endpoint `endpoint` (`unix://...`) of a containerd the
    /// caller keeps (running, killed or misconfigured); None (with a notice) when the kubelet is
    /// unavailable.
    pub fn start_on(spec: KubeletSpec, endpoint: &str) -> Option<Kubelet> {
        kubelet_binary(spec.version)?;
        Kubelet::launch(spec, endpoint, None)
    }

    fn launch(spec: KubeletSpec, endpoint: &str, containerd: Option<Containerd>) -> Option<Kubelet> {
        let bin = kubelet_binary(spec.version)?;
        let address = LoAddress::claim();
        let ip = address.ip;
        let dir = tempfile::Builder::new().prefix("joinkit-kubelet-").tempdir().expect("temp dir");
        let d = dir.path();
        let (port, healthz_port) = (free_port(ip), free_port(Ipv4Addr::LOCALHOST));
        let v136 = spec.version == Version::V136;
        // The settings ../shared/k8s/README.md ("Real clients") lists for this machine kind.
        let mut config = String::from("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
        if v136 {
            config.push_str(&format!("failCgroupV1: false\ncontainerRuntimeEndpoint: {endpoint}\n"));
        }
        let g = spec.cgroups;
        let enforce = if g.per_qos { "[pods]" } else { "[]" };
        config.push_str(&format!(
            "cgroupsPerQOS: {}\nenforceNodeAllocatable: {enforce}\ncgroupDriver: {}\nfailSwapOn: false\n\
             address: {ip}\nport: {port}\nhealthzBindAddress: 127.0.0.1\nhealthzPort: {healthz_port}\nreadOnlyPort: 0\n\
             serverTLSBootstrap: {}\n\
             authentication:\n  anonymous:\n    enabled: false\n  webhook:\n    enabled: true\n\
             authorization:\n  mode: Webhook\n",
            g.per_qos, g.driver, spec.server_tls_bootstrap
        ));
        let config_path = d.join("config.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log = d.join("kubelet.log");
        let out = File::create(&log).unwrap();
        let mut cmd = Command::new("unshare");
        // A private mount namespace with a tmpfs over /var/lib and /var/log (module docs).
        cmd.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
            .arg(
                "mount -t tmpfs -o mode=0755,size=16m joinkit-kubelet /var/lib && \
                 mount -t tmpfs -o mode=0755,size=16m joinkit-kubelet /var/log && exec \"$@\"",
            )
            .arg("sh")
            .arg(&bin)
            .arg("--bootstrap-kubeconfig")
            .arg(&spec.bootstrap_kubeconfig)
            .arg("--kubeconfig")
            .arg(d.join("kubelet.conf"))
            .arg("--config")
            .arg(&config_path)
            .arg("--cert-dir")
            .arg(d.join("pki"))
            .arg("--root-dir")
            .arg(d.join("root"))
            .arg("--hostname-override")
            .arg(&spec.node_name)
            .arg("--node-ip")
            .arg(ip.to_string());
        if !v136 {
            cmd.arg("--container-runtime=remote").arg(format!("--container-runtime-endpoint={endpoint}"));
        }
        cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out).env_remove("KUBECONFIG");
        no_proxy(&mut cmd);
        die_with_parent(&mut cmd);
        let started = Instant::now();
        let child = cmd.spawn().expect("spawn unshare (util-linux) for the kubelet");
        Some(Kubelet { child: Some(child), spec, node_ip: ip, port, healthz_port, started, dir, containerd, address })
    }

    pub fn label(&self) -> String {
        format!("kubelet v{} {} ({})", self.spec.version.as_str(), self.spec.node_name, self.node_ip)
    }

    /// The kubeconfig the kubelet writes after its TLS bootstrap.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubelet.conf")
    }

    /// `--cert-dir`: `kubelet-client-current.pem`, `kubelet-server-current.pem` (or the
    /// self-signed `kubelet.crt`).
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("pki")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("kubelet.log")
    }

    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log_path(), n)
    }

    /// Its own containerd (panics for a kubelet started with [`Kubelet::start_on`]).
    pub fn containerd(&self) -> &Containerd {
        self.containerd.as_ref().expect("a kubelet started with its own containerd")
    }

    /// The KubeletConfiguration it runs with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    /// Waits until the kubelet exits (it fails at start under a fault); its exit status and the
    /// time since it started. Panics after `limit`, with its log.
    pub fn wait_exit(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                return (s, self.started.elapsed());
            }
            assert!(t.elapsed() < limit, "{}: still running after {limit:?}:\n{}", self.label(), self.log_tail(40));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `NODE_IP:PORT` of its HTTPS server.
    pub fn server_addr(&self) -> std::net::SocketAddr {
        (self.node_ip, self.port).into()
    }

    /// Polls `f` every 100 ms until it is true; returns the time since the kubelet started.
    /// Panics after `limit` or when the kubelet exits, with its log.
    pub fn wait_for(&mut self, what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
        let t = Instant::now();
        loop {
            if f() {
                return self.started.elapsed();
            }
            if let Some(s) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("{}: exited ({s}) while waiting for {what}:\n{}", self.label(), self.log_tail(40));
            }
            if t.elapsed() > limit {
                panic!(
                    "{}: timed out after {limit:?} waiting for {what}:\n{}\ncontainerd:\n{}",
                    self.label(),
                    self.log_tail(40),
                    self.containerd.as_ref().map(|c| c.log_tail(10)).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the kubelet (SIGTERM, SIGKILL after 10 s) and unmounts what is left under its
    /// directory. Idempotent; containerd and the address go on drop.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c, Duration::from_secs(10));
        }
        unmount_under(self.dir.path());
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop();
        // Then containerd (its own Drop) and the address (LoAddress's Drop), in field order.
    }
}

/// Unmounts every mount point at or under `dir` in this mount namespace, deepest first (the
/// kubelet bind-mounts its `--root-dir` onto itself; in its private namespace nothing of that
/// reaches this one, so this is a safety net).
pub fn unmount_under(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| {
            PathBuf::from(p.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\"))
        })
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; MNT_DETACH never blocks.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Writes a bootstrap kubeconfig as `kubeadm join` writes `/etc/kubernetes/bootstrap-kubelet.conf`
/// (cmd/kubeadm/app/cmd/phases/join/kubelet.go: cluster `kubernetes`, user
/// `tls-bootstrap-token-user`, the CA inline).
pub fn write_bootstrap_kubeconfig(path: &Path, server: &str, ca_pem: &str, token: &str) {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: kubernetes\n\
         contexts:\n- context:\n    cluster: kubernetes\n    user: tls-bootstrap-token-user\n  name: tls-bootstrap-token-user@kubernetes\n\
         current-context: tls-bootstrap-token-user@kubernetes\npreferences: {{}}\n\
         users:\n- name: tls-bootstrap-token-user\n  user:\n    token: {token}\n"
    );
    std::fs::write(path, yaml).unwrap();
}
