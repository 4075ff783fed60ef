//! diagnose's local checks: kubeadm join's preflight state read under `--root` (leftovers of an
//! earlier join, port 10250, ip_forward), as kubeadm's `preflight/checks.go` checks them; the
//! runtime socket, swap and the kubelet are `runtime`'s. Files are read bounded, regular files
//! only.

use super::node::{add, fail, Check, Found};
use crate::error::Code;
use crate::fsutil::{ReadError, Root};
use crate::report::{Report, Status};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bytes read from a kernel table under `--root` (`/proc/net/tcp{,6}`, `/proc/net/route`,
/// `/proc/net/ipv6_route`, `/proc/swaps`): about 28,000 sockets of /proc/net/tcp. A bigger
/// table is reported as unreadable, never read without end.
pub(crate) const PROC_TABLE_LIMIT: u64 = 4 << 20;
/// Bytes read from any other file under `--root` (`/proc/sys/net/ipv4/ip_forward`, ...).
pub(crate) const FILE_LIMIT: u64 = 1 << 20;

/// What `local/root` says to do about a link that leaves `--root` (or loops).
pub(super) const ROOT_FIX: &str = "remove or correct each link (an absolute target is read from --root, as on the node), or point --root at the node's whole filesystem: diagnose reads only inside --root";

/// The node's files as diagnose sees them: every path under `--root` is read, listed or probed
/// through [`Root`] (resolved inside the root, links that leave it not followed; with `--root
/// /` the host's own paths, as before), and each refusal is remembered for `local/root`.
/// Errors name the path as the node sees it (`/var/lib/kubelet/config.yaml`), never content.
pub(crate) struct NodeFs {
    root: Root,
    refused: Mutex<Vec<String>>,
}

impl NodeFs {
    /// The node's files under `dir` (`--root`).
    pub(crate) fn new(dir: &Path) -> NodeFs {
        NodeFs::of(Root::new(dir))
    }

    /// The node's files under `root`.
    pub(crate) fn of(root: Root) -> NodeFs {
        NodeFs { root, refused: Mutex::new(Vec::new()) }
    }

    /// The root as given.
    pub(super) fn root(&self) -> &Root {
        &self.root
    }

    /// Whether `--root` is `/` (the node itself).
    pub(super) fn is_host(&self) -> bool {
        self.root.is_host()
    }

    /// Reads `p` under the root bounded by `limit`: regular files only (a FIFO, a device such
    /// as /dev/zero, a socket or a directory is refused before it is opened for reading; /proc
    /// files that report size 0 are still read), links resolved inside the root. The error
    /// says why, naming `p` as the node sees it.
    pub(crate) fn read(&self, p: &str, limit: u64) -> Result<String, ReadFailure> {
        self.root.read_string(p, limit).map_err(|e| self.failure(p, e))
    }

    /// Whether `p` exists under the root (links resolved inside it; what cannot be looked at,
    /// such as EACCES, does not, as for `Path::exists`). `Err`: a link on the way leaves the
    /// root or links loop, with the reason.
    pub(super) fn exists(&self, p: &str) -> Result<bool, String> {
        match self.root.kind(p) {
            Ok(k) => Ok(k.is_some()),
            Err(e) => match self.failure(p, e) {
                ReadFailure::Outside(r) => Err(r),
                _ => Ok(false),
            },
        }
    }

    /// The sorted entry names of directory `p` under the root.
    pub(super) fn list(&self, p: &str) -> Result<Vec<String>, ReadFailure> {
        self.root.list(p).map_err(|e| self.failure(p, e))
    }

    /// The host path to connect to for the socket `p` (links resolved inside the root).
    pub(super) fn socket(&self, p: &str) -> Result<PathBuf, String> {
        self.root.resolve(p).map_err(|e| self.failure(p, e).reason())
    }

    /// The refusals so far (links that leave the root, loops), each once.
    pub(super) fn refused(&self) -> Vec<String> {
        self.refused.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn failure(&self, p: &str, e: ReadError) -> ReadFailure {
        match e {
            ReadError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
                ReadFailure::Missing(format!("cannot read {p}: {error}"))
            }
            ReadError::Io { error, .. } => ReadFailure::Refused(format!("cannot read {p}: {error}")),
            ReadError::NotRegular { kind, .. } => {
                ReadFailure::Refused(format!("{p} is not a regular file but {kind}; not read"))
            }
            ReadError::TooLarge { limit, .. } => {
                ReadFailure::Refused(format!("{p} is larger than {}; not read", crate::fsutil::human_size(limit)))
            }
            e @ (ReadError::LeavesRoot { .. } | ReadError::TooManyLinks { .. }) => {
                let r = e.to_string();
                if let Ok(mut all) = self.refused.lock() {
                    if !all.contains(&r) {
                        all.push(r.clone());
                    }
                }
                ReadFailure::Outside(r)
            }
        }
    }
}

/// Why a file under `--root` was not read.
pub(super) enum ReadFailure {
    /// It does not exist.
    Missing(String),
    /// It exists but could not or would not be read (not a regular file, too large, EACCES, ...).
    Refused(String),
    /// A symbolic link on the way leaves `--root`, or links loop: not followed.
    Outside(String),
}

impl ReadFailure {
    /// The reason, naming the path as the node sees it.
    pub(super) fn reason(self) -> String {
        match self {
            ReadFailure::Missing(r) | ReadFailure::Refused(r) | ReadFailure::Outside(r) => r,
        }
    }
}

/// kubeadm's preflight checks that matter for a join, read under `--root`.
pub(super) fn local_checks(report: &mut Report, found: &mut Vec<Found>, fs: &NodeFs) {
    let mut unknown = Vec::new();
    let mut leftovers = Vec::new();
    for p in ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/pki/ca.crt"] {
        match fs.exists(p) {
            Ok(true) => leftovers.push(p.to_string()),
            Ok(false) => {}
            Err(r) => unknown.push(r),
        }
    }
    match fs.list("/etc/kubernetes/manifests") {
        Ok(names) if !names.is_empty() => leftovers.push("/etc/kubernetes/manifests (not empty)".to_string()),
        // Missing, not a directory or unreadable: no leftover (as before --root was enforced).
        Ok(_) | Err(ReadFailure::Missing(_) | ReadFailure::Refused(_)) => {}
        Err(ReadFailure::Outside(r)) => unknown.push(r),
    }
    if leftovers.is_empty() && unknown.is_empty() {
        add(report, found, Check::LocalLeftovers, Status::Pass, "no files from an earlier join".into(), None);
    } else if leftovers.is_empty() {
        let d = format!("{}: leftovers of an earlier join not checked there", unknown.join("; "));
        add(report, found, Check::LocalLeftovers, Status::Warn, d, None);
    } else {
        let also = if unknown.is_empty() { String::new() } else { format!(" ({})", unknown.join("; ")) };
        let d = format!("an earlier join left {}{also}", leftovers.join(", "));
        add(
            report,
            found,
            Check::LocalLeftovers,
            Status::Fail,
            d.clone(),
            fail(Code::RootCauseNodeState, d, "kubeadm join preflight fails with [ERROR FileAvailable--...]/[ERROR DirAvailable--...] until the node is reset", "run `kubeadm reset -f` on this node, then join again")
                .map(|f| f.kubeadm("[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists")),
        );
    }
    // Port 10250 in LISTEN (state 0A) in /proc/net/tcp{,6}. A missing table (no IPv6) is no
    // socket; a table that cannot be read leaves the check open.
    let mut refused = Vec::new();
    let listening = ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|p| match fs.read(p, PROC_TABLE_LIMIT) {
        Ok(t) => t.lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].rsplit(':').next() == Some("280A") && cols[3] == "0A"
        }),
        Err(ReadFailure::Missing(_)) => false,
        Err(ReadFailure::Refused(r) | ReadFailure::Outside(r)) => {
            refused.push(r);
            false
        }
    });
    if !listening && !refused.is_empty() {
        add(
            report,
            found,
            Check::LocalPort10250,
            Status::Warn,
            format!("{}: port 10250 not checked there", refused.join("; ")),
            None,
        );
    } else if listening {
        let d = "port 10250 is in use (a kubelet from an earlier join?)".to_string();
        add(
            report,
            found,
            Check::LocalPort10250,
            Status::Fail,
            d.clone(),
            fail(
                Code::RootCauseNodeState,
                d,
                "kubeadm preflight fails with [ERROR Port-10250]",
                "`kubeadm reset -f` or stop the running kubelet (`systemctl stop kubelet`)",
            )
            .map(|f| f.kubeadm("[ERROR Port-10250]: Port 10250 is in use")),
        );
    } else {
        add(report, found, Check::LocalPort10250, Status::Pass, "port 10250 is free".into(), None);
    }
    match fs.read("/proc/sys/net/ipv4/ip_forward", FILE_LIMIT) {
        Ok(v) if v.trim() == "1" => {
            add(report, found, Check::LocalIpForward, Status::Pass, "net.ipv4.ip_forward = 1".into(), None)
        }
        Ok(v) => {
            let d = format!("net.ipv4.ip_forward = {}", v.trim());
            add(report, found, Check::LocalIpForward, Status::Fail, d.clone(), fail(Code::RootCauseConfig, d, "kubeadm preflight requires IPv4 forwarding", "`sysctl -w net.ipv4.ip_forward=1` and persist it in /etc/sysctl.d/k8s.conf").map(|f| f.kubeadm("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1")));
        }
        Err(e) => add(report, found, Check::LocalIpForward, Status::Skip, e.reason(), None),
    }
}
