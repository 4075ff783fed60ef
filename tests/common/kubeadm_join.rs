//! The real `kubeadm join` (v1.36.2, from `kubeadm.rs`) run for discovery without touching the
//! host, for parity tests: what kubeadm prints for a fault, next to what joinkit says it prints.
//!
//! Isolation: `unshare -m` (a private mount namespace) with overlays over `/etc` and `/var`
//! (kubeadm writes `/etc/kubernetes/*` and `/var/lib/kubelet/*` once discovery passed; the
//! writes land in a temporary upper directory) and a tmpfs over `/run`; a private `HOME`, no
//! `KUBECONFIG`, stdin closed. kubeadm's `systemctl` calls fail (there is no systemd here),
//! which kubeadm only warns about. Discovery is bounded by `timeouts.discovery` in a v1beta4
//! JoinConfiguration ([`JoinInput::config`]); the process is killed once it prints the line
//! that follows discovery ([`DISCOVERY_PASSED`]) or the one that follows the kubelet-start
//! phase ([`KUBELET_CHECK`]), or runs to its end through the `kubelet-wait-bootstrap` phase with
//! a stand-in for the kubelet's healthz and short timeouts ([`StopAt::End`], [`KubeletWait`]),
//! and in any case after a hard limit, so a hung kubeadm never hangs the suite.
//!
//! "The error line": kubeadm v1.36 ends a failed phase with
//! `error: error execution phase PHASE: MESSAGE` on stderr (`cmd/kubeadm/app/cmd/phases/workflow`
//! wraps the phase's error as `error execution phase %s`, and kubeadm's `main` prints
//! `error: %v`), followed by `To see the stack trace of this error execute with --v=5 or
//! higher`. [`JoinRun::error_line`] is MESSAGE: for discovery it starts with
//! `couldn't validate the identity of the API Server: ` (`cmd/kubeadm/app/discovery`), which is
//! what joinkit's `failure.kubeadmMessage` must equal.
//!
//! Retries: kubeadm's token discovery (`cmd/kubeadm/app/discovery/token`, `getClusterInfo`)
//! retries every failed GET of cluster-info and a missing JWS every 5 s (or `timeouts.discovery`
//! when shorter) until `timeouts.discovery`, then fails with the last try's error. With `--v=1`
//! each try logs `[discovery] Retrying due to error: ...` ([`JoinRun::discovery_lines`]).
#![allow(dead_code)]

use crate::kubeadm::Kubeadm;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The first line kubeadm v1.36 prints after token discovery succeeded: the preflight phase
/// reads the cluster's configuration with the TLS-bootstrap credentials
/// (`cmd/kubeadm/app/util/config`, `FetchInitConfigurationFromCluster`).
pub const DISCOVERY_PASSED: &str = "[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap";

/// The line kubeadm prints once the kubelet-start phase is done and it waits for a kubelet
/// (`cmd/kubeadm/app/phases/kubelet`, `[kubelet-check]`).
pub const KUBELET_CHECK: &str = "[kubelet-check] Waiting for a healthy kubelet";

/// The line kubeadm v1.36 prints when the kubelet answered its health check and it starts
/// waiting for `/etc/kubernetes/kubelet.conf` (the `kubelet-wait-bootstrap` phase,
/// `cmd/kubeadm/app/cmd/phases/join/kubelet.go`, `waitForTLSBootstrappedClient`).
pub const TLS_BOOTSTRAP_WAIT: &str = "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap";

/// The prefix of kubeadm's failed-phase line.
pub const PHASE_ERROR_PREFIX: &str = "error: error execution phase ";

/// Where to stop kubeadm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAt {
    /// At [`DISCOVERY_PASSED`].
    Discovery,
    /// At [`KUBELET_CHECK`]: the kubelet-start phase ran (it checks for a Ready Node of the same
    /// name, writes the kubelet's files, fails to start it through systemd).
    KubeletStart,
    /// Not stopped: kubeadm runs to its end (it needs [`JoinInput::kubelet_wait`]). In the
    /// `kubelet-wait-bootstrap` phase kubeadm polls the kubelet's healthz (answered by a
    /// stand-in, see [`KubeletWait`]), then waits for `/etc/kubernetes/kubelet.conf`, which
    /// nothing writes: what kubeadm sees when the kubelet's CSR is never issued.
    End,
}

/// The `kubelet-wait-bootstrap` phase run to its end, with short timeouts.
///
/// kubeadm v1.36 (`cmd/kubeadm/app/cmd/phases/join/kubelet.go`, `runKubeletWaitBootstrapPhase`)
/// first polls `http://HEALTHZ_BIND_ADDRESS:HEALTHZ_PORT/healthz` of the KubeletConfiguration it
/// wrote (`cmd/kubeadm/app/util/apiclient/wait.go`, `WaitForKubelet`), bounded by
/// `timeouts.kubeletHealthCheck`, then polls for a usable `/etc/kubernetes/kubelet.conf`
/// (`waitForTLSBootstrappedClient`), bounded by `timeouts.tlsBootstrap`. The port comes from a
/// kubeletconfiguration patch (`patches.directory`; kubeadm applies patches to the in-memory
/// KubeletConfiguration before the health check), so each run has its own free port and no
/// run needs 127.0.0.1:10248.
#[derive(Debug, Clone, Copy)]
pub struct KubeletWait {
    /// `timeouts.kubeletHealthCheck`.
    pub health_timeout: Duration,
    /// `timeouts.tlsBootstrap`.
    pub tls_bootstrap_timeout: Duration,
}

/// What a join is given.
#[derive(Debug, Clone)]
pub struct JoinInput {
    pub endpoint: String,
    pub token: String,
    pub pins: Vec<String>,
    /// `timeouts.discovery`.
    pub discovery_timeout: Duration,
    /// `nodeRegistration.name` (else kubeadm takes the host name).
    pub node_name: Option<String>,
    /// `discovery.tlsBootstrapToken` (else the discovery token).
    pub tls_bootstrap_token: Option<String>,
    /// Run the kubelet wait to its end ([`StopAt::End`]).
    pub kubelet_wait: Option<KubeletWait>,
}

impl JoinInput {
    /// A v1beta4 JoinConfiguration with these inputs, `timeouts.discovery` and every preflight
    /// error ignored (with [`Self::kubelet_wait`], see [`Self::config_with_patches`]).
    pub fn config(&self) -> String {
        self.config_with_patches(None)
    }

    /// [`Self::config`], with the kubelet-wait timeouts and `patches.directory: DIR` when given.
    pub fn config_with_patches(&self, patches: Option<&Path>) -> String {
        let mut s = format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: \"{}\"\n    token: \"{}\"\n",
            self.endpoint, self.token
        );
        if self.pins.is_empty() {
            s.push_str("    unsafeSkipCAVerification: true\n");
        } else {
            s.push_str("    caCertHashes:\n");
            for p in &self.pins {
                s.push_str(&format!("    - \"{p}\"\n"));
            }
        }
        if let Some(t) = &self.tls_bootstrap_token {
            s.push_str(&format!("  tlsBootstrapToken: \"{t}\"\n"));
        }
        s.push_str(&format!("timeouts:\n  discovery: {}ms\n", self.discovery_timeout.as_millis()));
        if let Some(w) = &self.kubelet_wait {
            s.push_str(&format!(
                "  kubeletHealthCheck: {}ms\n  tlsBootstrap: {}ms\n",
                w.health_timeout.as_millis(),
                w.tls_bootstrap_timeout.as_millis()
            ));
        }
        if let Some(d) = patches {
            s.push_str(&format!("patches:\n  directory: \"{}\"\n", d.display()));
        }
        s.push_str("nodeRegistration:\n");
        if let Some(n) = &self.node_name {
            s.push_str(&format!("  name: \"{n}\"\n"));
        }
        s.push_str("  ignorePreflightErrors:\n  - all\n");
        s
    }
}

/// One run of `kubeadm join`.
#[derive(Debug, Clone)]
pub struct JoinRun {
    /// The exit status; None when the runner killed it (after the stop line, or at the limit).
    pub status: Option<i32>,
    /// stdout and stderr, interleaved as printed.
    pub output: String,
    /// The failed phase (`preflight`, `kubelet-start`), when kubeadm printed its error line.
    pub phase: Option<String>,
    /// The text after `error: error execution phase PHASE: `.
    pub error_line: Option<String>,
    /// The `[discovery]` lines (with `--v=1`: one `Retrying due to error` per failed try).
    pub discovery_lines: Vec<String>,
    /// kubeadm printed [`DISCOVERY_PASSED`].
    pub discovery_passed: bool,
    /// kubeadm printed [`KUBELET_CHECK`].
    pub kubelet_start_done: bool,
    /// kubeadm printed [`TLS_BOOTSTRAP_WAIT`] (its kubelet health check passed).
    pub tls_bootstrap_waited: bool,
    /// Requests the healthz stand-in answered (0 without one).
    pub healthz_requests: usize,
    /// Killed at the hard limit: a hang.
    pub hung: bool,
    pub elapsed: Duration,
}

impl JoinRun {
    /// The number of failed discovery tries kubeadm logged.
    pub fn retries(&self) -> usize {
        self.discovery_lines.iter().filter(|l| l.contains("Retrying due to error")).count()
    }
}

/// `kubeadm join --config FILE --v=1` for `input` (see [`run_args`]).
pub fn run_config(k: &Kubeadm, input: &JoinInput, stop: StopAt) -> JoinRun {
    let dir = tempfile::Builder::new().prefix("joinkit-kubeadm-join-").tempdir().expect("temp dir");
    let cfg = dir.path().join("join.yaml");
    let mut limit = input.discovery_timeout * 2 + Duration::from_secs(25);
    let healthz = match (stop, input.kubelet_wait) {
        (StopAt::End, Some(w)) => {
            let h = HealthzStandIn::start();
            let patches = dir.path().join("patches");
            std::fs::create_dir_all(&patches).unwrap();
            // kubeadm's patch target for the KubeletConfiguration (`cmd/kubeadm/app/util/patches`):
            // a strategic merge patch named kubeletconfiguration.yaml.
            std::fs::write(
                patches.join("kubeletconfiguration.yaml"),
                format!("healthzBindAddress: 127.0.0.1\nhealthzPort: {}\n", h.port),
            )
            .unwrap();
            std::fs::write(&cfg, input.config_with_patches(Some(&patches))).unwrap();
            limit += w.health_timeout + w.tls_bootstrap_timeout;
            Some(h)
        }
        (StopAt::End, None) => panic!("StopAt::End needs JoinInput::kubelet_wait"),
        _ => {
            std::fs::write(&cfg, input.config()).unwrap();
            None
        }
    };
    let mut run = run_args(k, &["--config", cfg.to_str().unwrap()], stop, limit);
    // The temporary paths and the stand-in's port, made stable for the corpus.
    run.output = run.output.replace(cfg.to_str().unwrap(), "/tmp/joinkit-kubeadm-join/join.yaml");
    let patches = dir.path().join("patches");
    run.output = run.output.replace(patches.to_str().unwrap(), "/tmp/joinkit-kubeadm-join/patches");
    if let Some(h) = healthz {
        run.healthz_requests = h.stop();
    }
    run
}

/// A stand-in for a healthy kubelet's healthz: answers every HTTP request on 127.0.0.1:PORT (a
/// free port) with `200 ok`, as the kubelet's healthz handler does, until dropped.
struct HealthzStandIn {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl HealthzStandIn {
    fn start() -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut served = 0;
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 4096];
                        let mut req = Vec::new();
                        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                            match c.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => req.extend_from_slice(&buf[..n]),
                            }
                        }
                        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                        served += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            served
        });
        HealthzStandIn { port, stop, thread: Some(thread) }
    }

    /// Stops it; the number of requests it answered.
    fn stop(mut self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.take().map(|t| t.join().unwrap_or(0)).unwrap_or(0)
    }
}

impl Drop for HealthzStandIn {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `kubeadm join ARGS --v=1` in the private namespace, stopped at `stop`, killed after `limit`.
pub fn run_args(k: &Kubeadm, args: &[&str], stop: StopAt, limit: Duration) -> JoinRun {
    let dir = tempfile::Builder::new().prefix("joinkit-kubeadm-ns-").tempdir().expect("temp dir");
    let d = dir.path();
    for sub in ["etc-upper", "etc-work", "var-upper", "var-work", "home"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let p = |s: &str| d.join(s).to_str().unwrap().to_string();
    let script = format!(
        "mount -t overlay overlay -o lowerdir=/etc,upperdir={eu},workdir={ew} /etc && \
         mount -t overlay overlay -o lowerdir=/var,upperdir={vu},workdir={vw} /var && \
         mount -t tmpfs tmpfs /run && exec \"$0\" join \"$@\" --v=1 2>&1",
        eu = p("etc-upper"),
        ew = p("etc-work"),
        vu = p("var-upper"),
        vw = p("var-work"),
    );
    let mut c = Command::new("unshare");
    c.args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(&k.path)
        .args(args)
        .env("HOME", p("home"))
        .env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env_remove("KUBECONFIG")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = c.spawn().expect("unshare (util-linux) runs");
    let pid = child.id() as libc::pid_t;
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let marker = match stop {
        StopAt::Discovery => Some(DISCOVERY_PASSED),
        StopAt::KubeletStart => Some(KUBELET_CHECK),
        StopAt::End => None,
    };
    let mut lines = Vec::new();
    let mut hung = false;
    let mut stopped = false;
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(l) => {
                let hit = marker.is_some_and(|m| l.contains(m));
                lines.push(l);
                if hit {
                    stopped = true;
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if start.elapsed() >= limit {
                    hung = true;
                    break;
                }
            }
        }
    }
    if stopped || hung {
        // SAFETY: signalling the process group this function started.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let status = child.wait().expect("wait for kubeadm");
    let elapsed = start.elapsed();
    let _ = reader.join();
    lines.extend(rx.try_iter());
    let status = if stopped || hung { None } else { status.code() };
    parse(lines, status, hung, elapsed)
}

fn parse(lines: Vec<String>, status: Option<i32>, hung: bool, elapsed: Duration) -> JoinRun {
    let mut phase = None;
    let mut error_line = None;
    for l in &lines {
        if let Some(rest) = l.strip_prefix(PHASE_ERROR_PREFIX) {
            if let Some((ph, msg)) = rest.split_once(": ") {
                phase = Some(ph.to_string());
                error_line = Some(msg.to_string());
            }
        }
    }
    JoinRun {
        status,
        discovery_lines: lines.iter().filter(|l| l.contains("[discovery]")).cloned().collect(),
        discovery_passed: lines.iter().any(|l| l.contains(DISCOVERY_PASSED)),
        kubelet_start_done: lines.iter().any(|l| l.contains(KUBELET_CHECK)),
        tls_bootstrap_waited: lines.iter().any(|l| l.contains(TLS_BOOTSTRAP_WAIT)),
        healthz_requests: 0,
        output: lines.join("\n"),
        phase,
        error_line,
        hung,
        elapsed,
    }
}

/// Output of kubeadm that differs between runs (time stamps, process ids, ports of the test's
/// own listeners stay) made stable enough to read: klog's header `I1207 15:09:02.861541   17424 `
/// becomes `I0000 00:00:00.000000       0 `.
pub fn normalise_klog(output: &str) -> String {
    output
        .lines()
        .map(|l| {
            let b = l.as_bytes();
            let klog = b.len() > 30
                && matches!(b[0], b'I' | b'W' | b'E')
                && b[1..5].iter().all(u8::is_ascii_digit)
                && b[5] == b' '
                && b[8] == b':';
            if klog {
                match l.find("] ") {
                    Some(i) => {
                        let head = &l[..i];
                        let file = head.rsplit(' ').next().unwrap_or("");
                        format!("{}0000 00:00:00.000000       0 {}{}", &l[..1], file, &l[i..])
                    }
                    None => l.to_string(),
                }
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The kubeadm binary for these runs (v1.36.2), or None with a notice (a failure under CI).
pub fn kubeadm() -> Option<Kubeadm> {
    crate::kubeadm::kubeadm(crate::kubeadm::NEWEST)
}

/// Writes a corpus log (`tests/logs/generated/kubeadm-join-NAME.log`) when
/// `JOINKIT_REGENERATE_LOGS=1`: YAML front matter as in `tests/logs/*.log`, then kubeadm's
/// output. Returns whether it wrote.
pub fn write_corpus_log(name: &str, domain: &str, root_cause: &str, evidence: &str, run: &JoinRun) -> bool {
    if std::env::var("JOINKIT_REGENERATE_LOGS").as_deref() != Ok("1") {
        return false;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/logs/generated");
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = String::from("---\n");
    s.push_str("source: generated by tests/logs/generated/regenerate.sh from kubeadm v1.36.2 against a real v1.36 control plane\n");
    s.push_str(&format!("domain: {domain}\n"));
    s.push_str(&format!("root_cause: {}\n", yaml_str(root_cause)));
    s.push_str(&format!("row: {name}\n"));
    s.push_str("kind: kubeadm\n");
    s.push_str("versions: \"kubeadm v1.36.2, control plane v1.36.2\"\n");
    s.push_str(&format!("evidence: {}\n", yaml_str(evidence)));
    s.push_str("---\n");
    s.push_str(&normalise_klog(&run.output));
    s.push('\n');
    let path = dir.join(format!("kubeadm-join-{name}.log"));
    let tmp = dir.join(format!(".kubeadm-join-{name}.log.tmp"));
    std::fs::write(&tmp, s).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    true
}

fn yaml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
