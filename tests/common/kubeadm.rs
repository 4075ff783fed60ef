//! The real kubeadm for parity tests, found like the control plane (`k8s.rs`): each release in
//! [`RELEASES`] is an xz-compressed static binary under `../shared/k8s` (README there, "Real
//! clients"), unpacked once per machine into `$JOINKIT_K8S_CACHE/kubeadm/<git version>/kubeadm`
//! (default cache: `target/k8s-cache`) under a file lock, through a temporary file and an
//! atomic rename, so parallel test binaries neither unpack twice nor see half a binary.
//!
//! - `JOINKIT_KUBEADM=/path/to/kubeadm` (unpacked): used for the release whose version it
//!   reports (`kubeadm version -o short`); the others still come from the archives. Named
//!   explicitly, a path that is not a file or reports an unknown version is a mistake: panic.
//! - `JOINKIT_K8S_DIST`: the directory holding `v1.36/` and `kubeadm/` (default
//!   `../shared/k8s`, as `control-plane` uses it).
//! - Absent: [`kubeadm`] prints a notice and returns None (the test skips itself), except under
//!   `CI`, where that is a failure.
//!
//! [`Kubeadm::run`] runs it with a private `HOME` and no `KUBECONFIG`, stdin closed, so
//! commands such as `config validate` and `config migrate` touch nothing of the host's.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

/// One kubeadm release available as an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// The minor version, as tests name it: `1.36`.
    pub minor: &'static str,
    /// What `kubeadm version -o short` prints: `v1.36.2`.
    pub git_version: &'static str,
    /// The archive, relative to the dist directory.
    pub archive: &'static str,
}

/// The kubeadm binaries in `../shared/k8s` (its README, "Real clients"), newest first.
pub const RELEASES: &[Release] = &[
    Release { minor: "1.36", git_version: "v1.36.2", archive: "v1.36/kubeadm.xz" },
    Release { minor: "1.35", git_version: "v1.35.3", archive: "kubeadm/kubeadm-v1.35.3.xz" },
    Release { minor: "1.33", git_version: "v1.33.5", archive: "kubeadm/kubeadm-v1.33.5.xz" },
];

/// The newest release: what "the real kubeadm" means when a test names no version.
pub const NEWEST: &str = "1.36";

/// A kubeadm binary of a known release.
#[derive(Debug, Clone)]
pub struct Kubeadm {
    pub release: Release,
    pub path: PathBuf,
}

impl Kubeadm {
    /// Runs `kubeadm ARGS` with a private HOME (a temporary directory) and without KUBECONFIG;
    /// the output whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        let home = tempfile::Builder::new().prefix("joinkit-kubeadm-home-").tempdir().expect("temp dir");
        Command::new(&self.path)
            .args(args)
            .env("HOME", home.path())
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.path.display()))
    }
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `v1.24/`, `v1.36/` and `kubeadm/`: `JOINKIT_K8S_DIST`, else
/// `../shared/k8s`.
pub fn dist() -> PathBuf {
    match std::env::var_os("JOINKIT_K8S_DIST") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => manifest().join("../shared/k8s"),
    }
}

/// Where binaries are unpacked once per machine: `JOINKIT_K8S_CACHE`, else `target/k8s-cache`.
pub fn cache() -> PathBuf {
    match std::env::var_os("JOINKIT_K8S_CACHE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => manifest().join("target/k8s-cache"),
    }
}

/// What `PATH version -o short` prints, or why it could not run.
fn reported_version(path: &Path) -> Result<String, String> {
    let out = Command::new(path)
        .args(["version", "-o", "short"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    if !out.status.success() {
        return Err(format!("{} version failed: {}", path.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Unpacks `archive` to `dest` unless there, under `dest`'s directory's `.lock` (flock), through
/// a temporary file renamed into place. Also used for the kubelet (`kubelet.rs`).
pub fn unpack_once(archive: &Path, dest: &Path) -> Result<(), String> {
    use std::os::unix::io::AsRawFd;
    let dir = dest.parent().expect("dest has a directory");
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(".lock"))
        .map_err(|e| format!("open {}/.lock: {e}", dir.display()))?;
    // SAFETY: flock on a descriptor this function owns; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("lock {}/.lock: {}", dir.display(), std::io::Error::last_os_error()));
    }
    if dest.is_file() {
        return Ok(()); // unpacked by a parallel run while this one waited
    }
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("binary");
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(|e| format!("create {}: {e}", tmp.display()))?;
    let status = Command::new("xz")
        .arg("-dc")
        .arg(archive)
        .stdin(Stdio::null())
        .stdout(file)
        .status()
        .map_err(|e| format!("run xz (needed to unpack {}): {e}", archive.display()))?;
    if !status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("xz -dc {} failed ({status})", archive.display()));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .and_then(|_| std::fs::rename(&tmp, dest))
        .map_err(|e| format!("install {}: {e}", dest.display()))
}

/// Finds (unpacking once) the kubeadm of a release: `minor` is `1.36` or `v1.36.2`. None, with
/// a notice on stderr, when its archive is absent; under `CI` that panics. An unknown version
/// is a test bug: panic.
pub fn kubeadm(minor: &str) -> Option<Kubeadm> {
    let release = *RELEASES
        .iter()
        .find(|r| r.minor == minor || r.git_version == minor)
        .unwrap_or_else(|| panic!("no kubeadm release {minor} in tests/common/kubeadm.rs RELEASES"));
    static FOUND: OnceLock<Mutex<HashMap<&'static str, Option<PathBuf>>>> = OnceLock::new();
    let mut found = FOUND.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let path = found.entry(release.minor).or_insert_with(|| locate(release)).clone();
    path.map(|path| Kubeadm { release, path })
}

fn locate(release: Release) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("JOINKIT_KUBEADM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "JOINKIT_KUBEADM={} is not a file", p.display());
        let v = reported_version(&p).unwrap_or_else(|e| panic!("JOINKIT_KUBEADM: {e}"));
        assert!(
            RELEASES.iter().any(|r| r.git_version == v),
            "JOINKIT_KUBEADM={} reports {v}, not one of the releases in tests/common/kubeadm.rs",
            p.display()
        );
        if v == release.git_version {
            return Some(p);
        }
    }
    let archive = dist().join(release.archive);
    if !archive.is_file() {
        let why = format!(
            "{} does not exist (set JOINKIT_KUBEADM to a kubeadm {} or JOINKIT_K8S_DIST to the directory of the archives)",
            archive.display(),
            release.git_version
        );
        assert!(std::env::var_os("CI").is_none(), "real-kubeadm tests are required in CI: {why}");
        // Written to the process's stderr directly: the harness captures eprintln! of passing
        // tests, and a skip must be visible.
        let _ = writeln!(std::io::stderr(), "NOTICE: skipping real-kubeadm {} tests: {why}", release.minor);
        return None;
    }
    let dest = cache().join("kubeadm").join(release.git_version).join("kubeadm");
    unpack_once(&archive, &dest).unwrap_or_else(|e| panic!("kubeadm {}: {e}", release.git_version));
    let v = reported_version(&dest).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v,
        release.git_version,
        "{} reports another version: remove it to unpack {} again",
        dest.display(),
        archive.display()
    );
    Some(dest)
}
