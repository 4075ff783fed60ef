//! diagnose's local checks: kubeadm join's preflight state read under `--root` (leftovers of an
//! earlier join, port 10250, ip_forward), as kubeadm's `preflight/checks.go` checks them; the
//! runtime socket, swap and the kubelet are `runtime`'s. Files are read bounded, regular files
//! only.

use super::node::{add, fail, Check, Found};
use crate::error::Code;
use crate::report::{Report, Status};
use std::path::{Path, PathBuf};

pub(super) fn under(root: &Path, p: &str) -> PathBuf {
    root.join(p.trim_start_matches('/'))
}

/// Bytes read from a kernel table under `--root` (`/proc/net/tcp{,6}`, `/proc/net/route`,
/// `/proc/net/ipv6_route`, `/proc/swaps`): about 28,000 sockets of /proc/net/tcp. A bigger
/// table is reported as unreadable, never read without end.
pub(crate) const PROC_TABLE_LIMIT: u64 = 4 << 20;
/// Bytes read from any other file under `--root` (`/proc/sys/net/ipv4/ip_forward`, ...).
pub(crate) const FILE_LIMIT: u64 = 1 << 20;

/// Reads `p` under `root` bounded by `limit`: regular files only, opened non-blocking (a FIFO,
/// a device such as /dev/zero, a socket or a directory is refused; /proc files that report
/// size 0 are still read). The error says why, naming `p` as the node sees it.
pub(super) fn read_under(root: &Path, p: &str, limit: u64) -> Result<String, ReadFailure> {
    use crate::fsutil::ReadError;
    crate::fsutil::read_bounded_string(&under(root, p), limit).map_err(|e| match e {
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
    })
}

/// Why a file under `--root` was not read.
pub(super) enum ReadFailure {
    /// It does not exist.
    Missing(String),
    /// It exists but could not or would not be read (not a regular file, too large, EACCES, ...).
    Refused(String),
}

impl ReadFailure {
    pub(super) fn reason(self) -> String {
        match self {
            ReadFailure::Missing(r) | ReadFailure::Refused(r) => r,
        }
    }
}

/// kubeadm's preflight checks that matter for a join, read under `root`.
pub(super) fn local_checks(report: &mut Report, found: &mut Vec<Found>, root: &Path) {
    let leftovers: Vec<String> =
        ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/pki/ca.crt"]
            .iter()
            .filter(|p| under(root, p).exists())
            .map(|p| p.to_string())
            .chain(
                std::fs::read_dir(under(root, "/etc/kubernetes/manifests"))
                    .ok()
                    .and_then(|mut d| d.next())
                    .map(|_| "/etc/kubernetes/manifests (not empty)".to_string()),
            )
            .collect();
    if leftovers.is_empty() {
        add(report, found, Check::LocalLeftovers, Status::Pass, "no files from an earlier join".into(), None);
    } else {
        let d = format!("an earlier join left {}", leftovers.join(", "));
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
    let listening = ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|p| match read_under(root, p, PROC_TABLE_LIMIT) {
        Ok(t) => t.lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].rsplit(':').next() == Some("280A") && cols[3] == "0A"
        }),
        Err(ReadFailure::Missing(_)) => false,
        Err(ReadFailure::Refused(r)) => {
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
    match read_under(root, "/proc/sys/net/ipv4/ip_forward", FILE_LIMIT) {
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
