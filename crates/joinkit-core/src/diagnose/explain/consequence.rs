//! Causes that explain other causes: a finding that is a consequence of another finding in the
//! same log is not the root cause, wherever it appears (earlier lines of an older attempt, or
//! the lines that follow).
//!
//! The kubelet's expired client certificate (`pkg/kubelet/certificate/bootstrap/bootstrap.go`
//! `isClientConfigStillValid`: `part of the existing bootstrap client certificate [in %s] is
//! expired: %v`; `cmd/kubelet/app/server.go`/`pkg/kubelet/certificate/transport.go`: `The
//! currently active client certificate has expired and the server is responsive, exiting.`)
//! makes the kubelet fall back to its bootstrap kubeconfig, which a joined node no longer has
//! (`unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such
//! file or directory`), and makes the API server answer `Unauthorized` to the requests it still
//! sends with it: those lines are its consequences.

use super::scan::Finding;

/// (cause, the catalog ids it explains when both are in a log).
pub(crate) const EXPLAINS: &[(&str, &[&str])] =
    &[("kubelet-client-cert-expired", &["kubelet-bootstrap-kubeconfig-missing", "kubelet-unauthorized"])];

/// Whether `f` is explained by another finding of `findings` ([`EXPLAINS`]).
pub(crate) fn explained(f: &Finding, findings: &[Finding]) -> bool {
    EXPLAINS.iter().any(|(cause, effects)| effects.contains(&f.id.as_str()) && findings.iter().any(|g| g.id == *cause))
}
