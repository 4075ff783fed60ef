//! diagnose's conclusion: the root cause among the findings (server-side evidence refines what
//! the node saw), in the shape on-call runbooks use (seed 003's `root_cause`, `failure_domain`,
//! `evidence[]`, `mitigation {immediate, long_term}`, in joinkit's one JSON style: camelCase keys
//! `rootCause`, `failureDomain`, `evidence[]`, `mitigation {immediate, longTerm}`, lower-case values), and the exit code of its domain (80-90).

use super::node::{Check, Found};
use crate::error::{Code, Domain, Failure};
use crate::report::{Report, StageName};
use serde_json::json;

/// The failure domain of a failure code.
pub(crate) fn domain_of(code: Code) -> Domain {
    use Code::*;
    match code {
        DnsFailure => Domain::Dns,
        ConnectionRefused | ConnectTimeout | NoRoute | TlsHandshakeFailed | RequestTimeout => Domain::Network,
        ClusterInfoForbidden => Domain::Rbac,
        ClusterInfoNotFound | ClusterInfoHttpError | KubeconfigMissing | KubeconfigInvalid => Domain::ControlPlane,
        // Nothing signed at all: the bootstrapsigner first (admin evidence may blame the token).
        JwsNoneSigned => Domain::ControlPlane,
        JwsMissing | JwsEmpty | JwsInvalid | BootstrapTokenRejected | BadTokenFormat => Domain::Token,
        PinMismatch | TlsVerifyFailed | CaExpired | CertificateInvalid | NodeCredentialRejected => Domain::Tls,
        CaNotYetValid | ClockSkew => Domain::Clock,
        CsrCreateForbidden | CsrPendingNoAutoapprove | ApiForbidden => Domain::Rbac,
        CsrPendingNoApprover | CsrApprovedNotIssued => Domain::ControlPlane,
        CsrDenied | CsrFailed => Domain::Csr,
        NodeNameTaken => Domain::NodeState,
        _ => Domain::Config,
    }
}

fn long_term(domain: Domain) -> &'static str {
    match domain {
        Domain::Network => "keep the API server port (6443) open from node subnets and monitor routes and NAT gateways; verify with `joinkit verify-discovery` in provisioning",
        Domain::Dns => "use the control-plane endpoint's IP or a name every node can resolve; monitor node DNS",
        Domain::Tls => "pin the CA (`--discovery-token-ca-cert-hash`) and keep TLS-terminating proxies out of the API path; list every join address in apiServer.certSANs",
        Domain::Token => "mint tokens at provisioning time (`joinkit token create --print-join-command`) with a TTL longer than provisioning takes",
        Domain::Rbac => "manage kubeadm's bootstrap RBAC declaratively; check it with `joinkit token describe`",
        Domain::Csr => "watch for Pending node CSRs; keep auto-approval for kubelet client certificates",
        Domain::NodeState => "run `kubeadm reset -f` before every join retry and give nodes unique names",
        Domain::Clock => "run time sync (chrony/systemd-timesyncd) on every node before joining",
        Domain::Config => "render join configs with `joinkit render-config` and check them with `joinkit validate-config`",
        Domain::ControlPlane => "monitor kube-controller-manager and the control plane's kubeadm objects (cluster-info, kubeadm-certs)",
        Domain::Runtime => "bake the container runtime into the node image with the kubelet's cgroup driver (systemd), CRI v1 (containerd 1.6+), swap handled and the sandbox image pullable; check with `joinkit diagnose` before joining",
    }
}

/// Sets the report's verdict: the root cause, its evidence and mitigation.
pub(super) fn conclude(report: &mut Report, found: Vec<Found>, node: &str) {
    report.set("severity", if found.is_empty() { "ok" } else { "critical" });
    report.set("blastRadius", format!("node ({node})"));
    let Some(first) = found.first() else {
        report.set("rootCause", "none — every check passed: this node should be able to join");
        report.line("OK: no broken link found; `kubeadm join` should succeed from this node.");
        return;
    };
    // Server-side evidence refines what the node saw.
    let by = |check: Check| found.iter().find(|f| f.failure.stage == StageName::from(check));
    let root = match first.failure.code {
        Code::JwsMissing | Code::JwsNoneSigned => {
            by(Check::AdminTokenSecret).or(by(Check::AdminBootstrapSigner)).unwrap_or(first)
        }
        Code::ClusterInfoForbidden | Code::ClusterInfoNotFound => by(Check::AdminClusterInfo).unwrap_or(first),
        Code::CsrPendingNoAutoapprove | Code::CsrCreateForbidden => by(Check::AdminRbac).unwrap_or(first),
        _ => first,
    };
    let domain = root.domain;
    let f = &root.failure;
    let mut evidence = vec![json!({"type": "check", "content": format!("{} failed: {}", f.stage, f.message)})];
    if let Some(k) = &f.kubeadm_message {
        evidence.push(json!({"type": "kubeadm", "content": k}));
    }
    for other in found.iter().filter(|o| !std::ptr::eq(*o, root)) {
        evidence.push(json!({"type": "correlate", "content": format!("{} [{}] {}", other.failure.stage, other.domain, other.failure.message)}));
    }
    for w in report.warnings() {
        evidence.push(json!({"type": "warning", "content": w}));
    }
    report.set("rootCause", format!("{domain} — {}", f.message));
    report.set("failureDomain", domain);
    report.set("underlyingCode", f.code.as_str());
    report.set("evidence", &evidence);
    report.set("mitigation", json!({"immediate": format!("Operator: {}", f.fix), "longTerm": long_term(domain)}));
    report.line(format!("ROOT CAUSE [{domain}] at {}: {}", f.stage, f.message));
    let code = Code::for_domain(domain);
    let what = if f.code == code {
        format!("{}: {}", f.stage, f.message)
    } else {
        format!("{} at {}: {}", f.code, f.stage, f.message)
    };
    let mut failure = Failure::new(code, f.stage, what).cause(f.cause.clone()).fix(f.fix.clone());
    if let Some(k) = &f.kubeadm_message {
        failure = failure.kubeadm(k.clone());
    }
    report.conclude(failure);
}
