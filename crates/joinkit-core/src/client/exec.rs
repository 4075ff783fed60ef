//! kubeconfig exec credential plugins (`client.authentication.k8s.io/v1` ExecCredential, as
//! EKS's `aws eks get-token` and GKE's `gke-gcloud-auth-plugin` use): run the command with
//! its args and env plus `KUBERNETES_EXEC_INFO`, read `status.token` or
//! `status.clientCertificateData` / `status.clientKeyData` from its stdout. Bounded in time,
//! never interactive (joinkit runs in scripts).
//!
//! The plugin is untrusted code as far as joinkit's own secrets go, and bounded like any input:
//!
//! - Its environment is joinkit's minus every `JOINKIT_*` variable (the bootstrap token, the
//!   certificate key, ...), plus the kubeconfig's `env` entries and `KUBERNETES_EXEC_INFO`.
//! - It runs in its own process group. The whole group is killed (SIGKILL) on timeout and as soon
//!   as the plugin exits, so a background child that keeps stdout open cannot hold joinkit, and
//!   nothing the plugin started outlives it. The group is killed before the plugin is reaped, so
//!   the group ID cannot have been reused by then.
//! - `run_async` runs the plugin on a blocking thread (`spawn_blocking`), so async callers
//!   (`ApiClient::connect`) never block their runtime and an outer `tokio::time::timeout` (e.g.
//!   `diagnose --diagnose-timeout`) can fire while the plugin runs. When that future is dropped
//!   before the plugin finished, the group is killed at once (not when the blocking thread
//!   notices), so it is gone before joinkit exits.
//! - The plugin gets `PR_SET_PDEATHSIG` = SIGKILL: if joinkit dies first (killed, or exits with
//!   the plugin's thread abandoned), the kernel kills the plugin itself.
//! - stdout and stderr are drained concurrently by two threads (a plugin that fills one pipe
//!   while joinkit waits on the other cannot deadlock). At most `MAX_STDOUT` and
//!   `MAX_STDERR` bytes are kept; beyond that the threads keep reading and discard, so the
//!   plugin never blocks; a stdout over the cap is an error.
//! - stderr quoted in an error is at most `SHOWN_STDERR` bytes, with the values of
//!   `JOINKIT_TOKEN`, `JOINKIT_CERTIFICATE_KEY` and `JOINKIT_TLS_BOOTSTRAP_TOKEN` and anything
//!   shaped like a bootstrap token redacted (see [`redact`]).
//! - A returned client key is held as a secret (zeroized on drop, redacted in `Debug`).

use super::ApiStage;
use crate::error::{Code, Failure};
use kube_client::config::ExecConfig;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bytes of plugin stdout kept (an ExecCredential is a few KiB, with a certificate chain a few
/// more); a plugin printing more fails.
pub(crate) const MAX_STDOUT: usize = 1 << 20;
/// Bytes of plugin stderr kept (the rest is read and discarded).
pub(crate) const MAX_STDERR: usize = 64 << 10;
/// Bytes of plugin stderr quoted in an error, after redaction.
pub(crate) const SHOWN_STDERR: usize = 2 << 10;
/// How long joinkit waits for the pipes to close after the plugin's group was killed (only a
/// process that left the group, e.g. with setsid, can keep them open).
const PIPE_GRACE: Duration = Duration::from_secs(1);

/// joinkit's own secrets, redacted from plugin output quoted in errors.
const SECRET_VARS: &[&str] = &["JOINKIT_TOKEN", "JOINKIT_CERTIFICATE_KEY", "JOINKIT_TLS_BOOTSTRAP_TOKEN"];

/// A PEM private key from a plugin: zeroized on drop, never shown by `Debug`.
pub struct ClientKey(SecretString);

impl ClientKey {
    /// Wraps a PEM key.
    pub fn new(pem: String) -> ClientKey {
        ClientKey(SecretString::from(pem))
    }
    /// The PEM text.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
    /// The PEM bytes, for the TLS client configuration (a copy the caller owns).
    pub fn into_bytes(self) -> Vec<u8> {
        self.0.expose_secret().as_bytes().to_vec()
    }
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientKey([REDACTED])")
    }
}

/// What an exec plugin returned.
#[derive(Debug)]
pub enum ExecCredential {
    /// A bearer token.
    Token(SecretString),
    /// A client certificate and key, PEM.
    ClientCert {
        /// Certificate chain, PEM.
        cert_pem: String,
        /// Private key, PEM (secret).
        key_pem: ClientKey,
    },
}

fn failure(msg: String, hint: Option<&str>) -> Failure {
    let fix = match hint {
        Some(h) => format!("{h} (the plugin's installHint)"),
        None => "check that the plugin is installed and works: run it by hand with the same arguments".to_string(),
    };
    Failure::new(Code::KubeconfigUnusable, ApiStage::Credentials, msg)
        .cause("the kubeconfig's exec credential plugin did not produce credentials")
        .fix(fix)
}

/// Replaces joinkit's secrets in `text`: the values of `SECRET_VARS` in joinkit's environment
/// (and a token's secret half on its own) with `<redacted>`, and anything shaped like a
/// bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`) with `ID.<redacted>`.
pub fn redact(text: &str) -> String {
    let mut s = text.to_string();
    for var in SECRET_VARS {
        let Ok(v) = std::env::var(var) else { continue };
        let v = v.trim();
        let mut values = vec![v];
        if let Some((_, secret)) = v.split_once('.') {
            values.push(secret);
        }
        for v in values.into_iter().filter(|v| v.len() >= 6) {
            s = s.replace(v, "<redacted>");
        }
    }
    crate::redact::redact(&s)
}

/// Plugin stderr as quoted in an error: redacted, control characters replaced, at most
/// [`SHOWN_STDERR`] bytes.
fn shown_stderr(err: &[u8], total: u64) -> String {
    let text = redact(String::from_utf8_lossy(err).trim());
    let mut out: String =
        text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { '?' } else { c }).collect();
    if out.len() > SHOWN_STDERR || total > err.len() as u64 {
        let mut end = SHOWN_STDERR.min(out.len());
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str(&format!(" [... stderr truncated, {total} bytes in all]"));
    }
    out
}

/// What a drain thread has read so far: the kept bytes, the total count, and whether the pipe
/// reached end of file.
#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    total: u64,
    eof: bool,
}

/// Reads `r` to end of file on its own thread, keeping the first `cap` bytes.
fn drain(mut r: impl Read + Send + 'static, cap: usize) -> Arc<Mutex<Captured>> {
    let shared = Arc::new(Mutex::new(Captured::default()));
    let s = shared.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 << 10];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let Ok(mut c) = s.lock() else { return };
            let room = cap.saturating_sub(c.kept.len()).min(n);
            c.kept.extend_from_slice(&buf[..room]);
            c.total += n as u64;
        }
        if let Ok(mut c) = s.lock() {
            c.eof = true;
        }
    });
    shared
}

/// Waits until both drains reach end of file or `grace` passes, then takes what they have.
fn collect(out: &Arc<Mutex<Captured>>, err: &Arc<Mutex<Captured>>, grace: Duration) -> (Captured, Captured, bool) {
    let until = Instant::now() + grace;
    let done = |c: &Arc<Mutex<Captured>>| c.lock().map(|c| c.eof).unwrap_or(true);
    while !(done(out) && done(err)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let all_eof = done(out) && done(err);
    let take = |c: &Arc<Mutex<Captured>>| c.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default();
    (take(out), take(err), all_eof)
}

/// True once the child `pid` has exited, without reaping it (it stays a zombie, so its PID and
/// process group ID stay reserved until [`std::process::Child::wait`]).
fn exited_unreaped(pid: libc::pid_t) -> std::io::Result<bool> {
    // SAFETY: waitid writes into the zeroed siginfo_t we own; WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        if libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(info.si_pid() != 0)
    }
}

/// SIGKILLs the process group `pgid` (the plugin and everything it started that stayed in it).
fn kill_group(pgid: libc::pid_t) {
    // SAFETY: killpg has no memory-safety preconditions; ESRCH (group already gone) is fine.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// The plugin's process group, shared between the thread that runs the plugin and the future
/// waiting for it: (the group ID while the plugin is not reaped yet, whether the waiter is gone).
#[derive(Default)]
struct Group(Mutex<(Option<libc::pid_t>, bool)>);

impl Group {
    /// Records the plugin's group; kills it at once when the waiter already gave up.
    fn started(&self, pgid: libc::pid_t) {
        if let Ok(mut g) = self.0.lock() {
            g.0 = Some(pgid);
            if g.1 {
                kill_group(pgid);
            }
        }
    }
    /// The waiter gave up: kill the group if the plugin is not reaped yet.
    fn cancel(&self) {
        if let Ok(mut g) = self.0.lock() {
            g.1 = true;
            if let Some(p) = g.0 {
                kill_group(p);
            }
        }
    }
    fn cancelled(&self) -> bool {
        self.0.lock().map(|g| g.1).unwrap_or(true)
    }
    /// Kills the group one last time before the plugin is reaped; from then on its ID may be
    /// reused, so nobody may kill it any more. Holding the lock orders this against [`cancel`].
    fn release(&self) {
        if let Ok(mut g) = self.0.lock() {
            if let Some(p) = g.0.take() {
                kill_group(p);
            }
        }
    }
}

/// Kills the plugin's group when the future waiting for it is dropped (a timeout fired).
struct KillOnDrop(Arc<Group>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// [`run`] on a blocking thread, for async callers: the runtime keeps running while the plugin
/// does. Dropping the returned future kills the plugin's process group.
pub(crate) async fn run_async(exec: &ExecConfig, server: &str, timeout: Duration) -> Result<ExecCredential, Failure> {
    let group = Arc::new(Group::default());
    let guard = KillOnDrop(group.clone());
    let (exec, server) = (exec.clone(), server.to_string());
    let hint = exec.install_hint.clone();
    let out = tokio::task::spawn_blocking(move || run_in(&exec, &server, timeout, &group)).await;
    drop(guard);
    out.unwrap_or_else(|e| Err(failure(format!("the exec plugin's thread failed: {e}"), hint.as_deref())))
}

/// Runs the plugin. `server` and `ca_data` are passed when `provideClusterInfo` is set. Blocks
/// the calling thread: async code uses `run_async`.
pub fn run(exec: &ExecConfig, server: &str, timeout: Duration) -> Result<ExecCredential, Failure> {
    run_in(exec, server, timeout, &Group::default())
}

fn run_in(exec: &ExecConfig, server: &str, timeout: Duration, group: &Group) -> Result<ExecCredential, Failure> {
    let cmd = exec
        .command
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| failure("the exec plugin has no command".into(), None))?;
    let api = exec.api_version.clone().unwrap_or_else(|| "client.authentication.k8s.io/v1".into());
    if api != "client.authentication.k8s.io/v1" && api != "client.authentication.k8s.io/v1beta1" {
        return Err(failure(
            format!("exec plugin apiVersion {api:?} is not supported (client.authentication.k8s.io/v1 or v1beta1)"),
            None,
        ));
    }
    let mut spec = json!({"interactive": false});
    if exec.provide_cluster_info {
        spec["cluster"] = json!({"server": server});
    }
    let info = json!({"apiVersion": api, "kind": "ExecCredential", "spec": spec});
    let mut c = Command::new(&cmd);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("JOINKIT_") {
            c.env_remove(name);
        }
    }
    c.args(exec.args.clone().unwrap_or_default())
        .env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the hook runs in the forked child before exec and only makes async-signal-safe
    // system calls (prctl, getppid); it allocates nothing.
    unsafe {
        c.pre_exec(move || {
            // SIGKILL the plugin when the thread that started it dies (joinkit exits or is killed).
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // joinkit died before the prctl: nobody would kill this plugin.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    for pair in exec.env.clone().unwrap_or_default() {
        if let (Some(n), Some(v)) = (pair.get("name"), pair.get("value")) {
            c.env(n, v);
        }
    }
    let hint = exec.install_hint.as_deref();
    let mut child = c.spawn().map_err(|e| failure(format!("cannot run exec plugin {cmd:?}: {e}"), hint))?;
    let pid = child.id() as libc::pid_t;
    group.started(pid);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        group.release();
        let _ = child.wait();
        return Err(failure(format!("exec plugin {cmd:?}: no pipes"), hint));
    };
    let out = drain(stdout, MAX_STDOUT);
    let err = drain(stderr, MAX_STDERR);
    let started = Instant::now();
    let exited = loop {
        match exited_unreaped(pid) {
            Ok(true) => break Ok(()),
            Ok(false) if started.elapsed() > timeout || group.cancelled() => break Err(None),
            Ok(false) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => break Err(Some(e)),
        }
    };
    // The plugin is a zombie or still running: its group ID is still ours to kill.
    group.release();
    let status = child.wait();
    let (out, err, _) = collect(&out, &err, PIPE_GRACE);
    let status = match (exited, status) {
        (Ok(()), Ok(s)) => s,
        (Err(None), _) => {
            let mut msg =
                format!("exec plugin {cmd:?} did not finish within {timeout:?} (killed with its process group)");
            if err.total > 0 {
                msg.push_str(&format!("; its stderr: {}", shown_stderr(&err.kept, err.total)));
            }
            return Err(failure(msg, hint));
        }
        (Err(Some(e)), _) | (_, Err(e)) => return Err(failure(format!("exec plugin {cmd:?}: {e}"), hint)),
    };
    if !status.success() {
        return Err(failure(
            format!("exec plugin {cmd:?} failed ({status}): {}", shown_stderr(&err.kept, err.total)),
            hint,
        ));
    }
    if out.total > MAX_STDOUT as u64 {
        return Err(failure(
            format!(
                "exec plugin {cmd:?} printed {} bytes, more than the {} MiB an ExecCredential may take",
                out.total,
                MAX_STDOUT >> 20
            ),
            hint,
        ));
    }
    let mut out = out;
    let parsed: Result<Value, _> = serde_json::from_slice(&out.kept);
    // The bytes may hold a token or a private key: wipe them once parsed.
    secrecy::zeroize::Zeroize::zeroize(&mut out.kept);
    let mut v =
        parsed.map_err(|e| failure(format!("exec plugin {cmd:?} printed no ExecCredential JSON: {e}"), hint))?;
    if v.get("kind").and_then(Value::as_str) != Some("ExecCredential") {
        return Err(failure(format!("exec plugin {cmd:?} printed a {:?}, not an ExecCredential", v.get("kind")), hint));
    }
    // Move the secrets out of the parsed JSON rather than copy them.
    let mut take = |ptr: &str| match v.pointer_mut(ptr).map(Value::take) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    if let Some(t) = take("/status/token") {
        return Ok(ExecCredential::Token(SecretString::from(t)));
    }
    match (take("/status/clientCertificateData"), take("/status/clientKeyData")) {
        (Some(c), Some(k)) => Ok(ExecCredential::ClientCert { cert_pem: c, key_pem: ClientKey::new(k) }),
        _ => Err(failure(
            format!("exec plugin {cmd:?} returned neither status.token nor clientCertificateData/clientKeyData"),
            hint,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_credentials() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
        let c = ExecCredential::ClientCert { cert_pem: "CERT".into(), key_pem: ClientKey::new(key.into()) };
        let d = format!("{c:?}");
        assert!(!d.contains("MIGHAgEA") && !d.contains("PRIVATE KEY"), "{d}");
        assert!(d.contains("REDACTED"), "{d}");
        let t = ExecCredential::Token(SecretString::from("sekrit-bearer".to_string()));
        assert!(!format!("{t:?}").contains("sekrit"));
        if let ExecCredential::ClientCert { key_pem, .. } = c {
            assert_eq!(key_pem.expose_secret(), key);
            assert_eq!(key_pem.into_bytes(), key.as_bytes());
        }
    }

    #[test]
    fn stderr_shown_is_redacted_and_capped() {
        let raw = b"bad token abcdef.0123456789abcdef\x1b[31m!";
        let s = shown_stderr(raw, raw.len() as u64);
        assert_eq!(s, "bad token abcdef.<redacted>?[31m!");
        let big = vec![b'y'; 10_000];
        let s = shown_stderr(&big, 50_000);
        assert!(s.len() < SHOWN_STDERR + 100 && s.ends_with("[... stderr truncated, 50000 bytes in all]"), "{s}");
        // Multi-byte characters are cut on a boundary.
        let s = shown_stderr("é".repeat(3000).as_bytes(), 6000);
        assert!(s.starts_with('é'));
    }
}
