//! `joinkit diagnose`: walk the whole join path from the failing node and name the first broken
//! link with its failure domain, evidence and fix, in the shape on-call runbooks use (seed 003's
//! fields, camelCase: `rootCause`, `failureDomain`, `evidence[]`, `mitigation {immediate, longTerm}`).
//!
//! Order: the container runtime and the kubelet first (seeds 000 and 002 check them first, and a
//! broken runtime is why an earlier attempt left files behind): the CRI socket and its CRI v1
//! answer, the cgroup drivers, swap, the kubelet's health and journal; then kubeadm join's
//! preflight state (leftovers of an earlier attempt, port 10250, kernel settings), the network
//! (name, route, TCP), on EKS nodes the bootstrap.sh/NodeConfig, the node's way out (`eks_way_out`: a default route or the VPC endpoints that replace it, each endpoint a join needs resolved and reached) and its cluster, discovery and a dry-run TLS bootstrap; with an admin kubeconfig, server-side evidence (the
//! token's Secret, cluster-info and its RBAC, the bootstrapsigner, kubeadm's bindings, pending
//! CSRs, an existing Node) runs concurrently and refines the root cause; with
//! `--control-plane --certificate-key`, the uploaded certificates are fetched with the
//! bootstrap token and decrypted. Files are read under `--root` so tests use a fake tree.
//!
//! This module holds the options, the one table of checks ([`Check`]: each check's stage name
//! and failure domain) and the run; the checks live beside it: [`runtime`] (the runtime and the
//! kubelet, with [`cri`] for the CRI call), `local` (preflight state), [`network`] (name and
//! route), `eks` (EKS nodes), `admin` (server-side evidence), `control_plane`
//! (kubeadm-certs) and `conclude` (the root cause).

use super::admin::admin_checks;
use super::conclude::{conclude, domain_of};
use super::control_plane::control_plane_checks;
use super::eks::eks_checks;
use super::local::{local_checks, NodeFs, ROOT_FIX};
use super::network::network_checks;
use super::runtime::runtime_checks;
use crate::bootstrap::{self, BootstrapOptions};
use crate::client::api::ApiOptions;
use crate::error::{Code, Domain, Failure};
use crate::report::{Common, Report, Stage, StageId, StageName, Status};
use std::path::PathBuf;
use std::time::Duration;

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct DiagnoseOptions {
    /// The bootstrap dry run's options (discovery, node name, CSR wait, admin for cleanup).
    pub bootstrap: BootstrapOptions,
    /// Admin access for server-side checks.
    pub admin: Option<ApiOptions>,
    /// Control-plane join: the certificate key (64 hex; secret).
    pub certificate_key: Option<secrecy::SecretString>,
    /// Root of the node's filesystem (`/`; a fake tree in tests).
    pub root: PathBuf,
    /// The CRI socket from the config, if any.
    pub cri_socket: Option<String>,
    /// The kubelet's health endpoint (`host:port`, [`super::runtime::KUBELET_HEALTHZ`]);
    /// `None` skips the check.
    pub kubelet_healthz: Option<String>,
    /// Bound for the whole run.
    pub timeout: Duration,
}

/// Declares the diagnose checks in one table: each check's stage name and the failure domain a
/// finding of it belongs to.
macro_rules! checks {
    ($($(#[$m:meta])* $v:ident = ($name:literal, $domain:ident),)+) => {
        crate::stages! {
            /// Every diagnose check with its stage name, in the order they run (discovery's and
            /// bootstrap's own stages run between the network and the control-plane checks).
            /// [`Check::domain`] is the failure domain of a finding at that check.
            pub enum Check { $($(#[$m])* $v = $name,)+ }
        }

        impl Check {
            /// The failure domain of a finding at this check (the table's second column).
            pub fn domain(self) -> Domain {
                match self { $(Check::$v => Domain::$domain,)+ }
            }
        }
    };
}

checks! {
    /// A container runtime socket exists (`--cri-socket`, the config's, or the usual ones).
    LocalCriSocket = ("local/cri-socket", Runtime),
    /// The runtime answers CRI v1 `RuntimeService/Version` on it (name, version, API version).
    LocalCriVersion = ("local/cri-version", Runtime),
    /// The kubelet's cgroup driver (its config.yaml) and the runtime's (containerd's
    /// `SystemdCgroup`, CRI-O's `cgroup_manager`) agree.
    LocalCgroupDriver = ("local/cgroup-driver", Runtime),
    /// Swap is off, or the kubelet allows it (`failSwapOn: false`).
    LocalSwap = ("local/swap", Runtime),
    /// The kubelet answers 127.0.0.1:10248/healthz once it should be running (kubelet.conf).
    LocalKubeletHealth = ("local/kubelet-health", Runtime),
    /// The kubelet's recent journal through explain-log's catalog (the finding's domain is the
    /// catalog entry's; only with `--root /`).
    LocalKubeletJournal = ("local/kubelet-journal", Runtime),
    /// Files of an earlier join (kubelet.conf, bootstrap-kubelet.conf, pki/ca.crt, manifests).
    LocalLeftovers = ("local/leftovers", NodeState),
    /// Port 10250 is free.
    LocalPort10250 = ("local/port-10250", NodeState),
    /// net.ipv4.ip_forward is 1.
    LocalIpForward = ("local/ip-forward", Config),
    /// The endpoint's name resolves.
    LocalDns = ("local/dns", Dns),
    /// The routing table has a route to the endpoint.
    LocalRoute = ("local/route", Network),
    /// EKS nodes: `/etc/eks/bootstrap.sh` (AL2) or a nodeadm NodeConfig (AL2023) is there.
    EksNodeConfig = ("eks/node-config", Config),
    /// EKS nodes: the NodeConfig's certificateAuthority parses and holds a CA.
    EksCa = ("eks/ca", Tls),
    /// EKS nodes: the region (the endpoint's host name, else the instance metadata service) and
    /// the endpoints of the AWS services a join needs (docs/eks-way-out.md).
    EksRegion = ("eks/region", Config),
    /// EKS nodes: the default route in `/proc/net/route`, or its absence (then only VPC
    /// endpoints can carry the join).
    EksDefaultRoute = ("eks/default-route", Network),
    /// EKS nodes: the cluster endpoint's name resolves and TCP reaches it (a name that does not
    /// resolve is a dns finding).
    EksReachCluster = ("eks/reach-cluster", Network),
    /// EKS nodes: regional STS (`sts.REGION.amazonaws.com`) resolves and answers TCP on 443.
    EksReachSts = ("eks/reach-sts", Network),
    /// EKS nodes: EC2 (`ec2.REGION.amazonaws.com`).
    EksReachEc2 = ("eks/reach-ec2", Network),
    /// EKS nodes: the ECR API (`api.ecr.REGION.amazonaws.com`).
    EksReachEcrApi = ("eks/reach-ecr-api", Network),
    /// EKS nodes: the EKS image registry (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
    EksReachEcrDkr = ("eks/reach-ecr-dkr", Network),
    /// EKS nodes: S3, where ECR keeps image layers
    /// (`prod-REGION-starport-layer-bucket.s3.REGION.amazonaws.com`).
    EksReachS3 = ("eks/reach-s3", Network),
    /// EKS nodes: the way out, summed up: the NAT case (default route, public addresses), the
    /// VPC-endpoint case (private addresses, no default route needed), or what is unreachable.
    EksWayOut = ("eks/way-out", Network),
    /// EKS nodes: the NodeConfig's endpoint answers and its chain verifies against that CA
    /// (a transport failure takes its own domain, network or dns).
    EksEndpoint = ("eks/endpoint", Tls),
    /// The uploaded certificates' key is well-formed.
    ControlPlaneCertificateKey = ("control-plane/certificate-key", Config),
    /// The key decrypts Secret kube-system/kubeadm-certs.
    ControlPlaneKubeadmCerts = ("control-plane/kubeadm-certs", ControlPlane),
    /// The admin kubeconfig works (else the admin checks are skipped).
    AdminKubeconfig = ("admin/kubeconfig", Config),
    /// EKS clusters: `kube-system/aws-auth` passes validate-config's EKS rules (a mapRoles that
    /// is not YAML, a node entry with an instance-profile ARN, a path, a wrong username or
    /// missing groups); skipped when the ConfigMap does not exist.
    AdminAwsAuth = ("admin/aws-auth", Config),
    /// The token's Secret exists, is valid, unexpired and has both usages.
    AdminTokenSecret = ("admin/token-secret", Token),
    /// cluster-info exists (its control-plane half).
    AdminClusterInfo = ("admin/cluster-info", ControlPlane),
    /// Anonymous read of cluster-info is bound: the RBAC half of the same check (same stage
    /// name, domain rbac).
    AdminClusterInfoRbac = ("admin/cluster-info", Rbac),
    /// The bootstrapsigner signs valid tokens.
    AdminBootstrapSigner = ("admin/bootstrap-signer", ControlPlane),
    /// kubeadm's join bindings exist for the token's groups.
    AdminRbac = ("admin/rbac", Rbac),
    /// No Pending CSR of an earlier attempt for this node.
    AdminPendingCsrs = ("admin/pending-csrs", Csr),
    /// No Ready Node holds this node's name.
    AdminNode = ("admin/node", NodeState),
    /// The whole run finished within `--timeout`.
    Timeout = ("timeout", Network),
    /// Every path read under `--root` stayed inside it: a symbolic link that leaves it (`..`
    /// above the root) or a loop is not followed, and listed here with the fix (a warning,
    /// never a root cause; skipped with `--root /`).
    LocalRoot = ("local/root", NodeState),
}

/// A broken link found by a check: its domain and the failure (whose stage is the check's).
pub(super) struct Found {
    pub(super) domain: Domain,
    pub(super) failure: Failure,
}

/// What a failing check says before it is tied to its check by [`add`].
pub(super) struct Broken {
    code: Code,
    message: String,
    cause: String,
    fix: String,
    kubeadm: Option<String>,
}

impl Broken {
    /// Adds the matching kubeadm message.
    pub(super) fn kubeadm(mut self, msg: impl Into<String>) -> Broken {
        self.kubeadm = Some(msg.into());
        self
    }
}

impl From<Failure> for Broken {
    fn from(f: Failure) -> Broken {
        Broken { code: f.code, message: f.message, cause: f.cause, fix: f.fix, kubeadm: f.kubeadm_message }
    }
}

/// Records `check`'s stage; a `failure` becomes a finding in the check's domain.
pub(super) fn add(
    report: &mut Report,
    found: &mut Vec<Found>,
    check: Check,
    status: Status,
    detail: String,
    failure: Option<Broken>,
) {
    if status == Status::Warn {
        report.push_warning(format!("{}: {detail}", check.name()));
    }
    report.push_stage(Stage::new(check, status, detail));
    if let Some(b) = failure {
        let mut f = Failure::new(b.code, check, b.message).cause(b.cause).fix(b.fix);
        if let Some(k) = b.kubeadm {
            f = f.kubeadm(k);
        }
        found.push(Found { domain: check.domain(), failure: f });
    }
}

/// A failing check's finding: code, what was seen, cause and fix.
pub(super) fn fail(code: Code, msg: String, cause: &str, fix: &str) -> Option<Broken> {
    Some(Broken { code, message: msg, cause: cause.into(), fix: fix.into(), kubeadm: None })
}

/// Runs every check and builds the report with the root cause.
pub async fn run(opts: &DiagnoseOptions) -> Report {
    let mut report = Report::new("diagnose");
    let mut found: Vec<Found> = Vec::new();
    // Every file under --root is read through this (fsutil::Root: inside the root only).
    let fs = NodeFs::new(&opts.root);
    // The run's deadline (a --diagnose-timeout too large for the clock is a year).
    let now = std::time::Instant::now();
    let deadline = now.checked_add(opts.timeout).unwrap_or(now + Duration::from_secs(365 * 24 * 3600));
    let journal = runtime_checks(&mut report, &mut found, opts, &fs, deadline).await;
    local_checks(&mut report, &mut found, &fs);
    let all = async {
        network_checks(&mut report, &mut found, opts, &fs).await;
        eks_checks(&mut report, &mut found, opts, &fs).await;
        let ((boot, trusted), (admin_report, admin_found)) =
            tokio::join!(bootstrap::run_keeping_trust(&opts.bootstrap), admin_checks(opts));
        // Skipped stages are noise, except the input and, under --no-csr, the CSR stages
        // (the report says they were not run, and why).
        let keep = |s: &&crate::report::Stage| {
            s.status != Status::Skip
                || s.name == Common::Input.name()
                || (opts.bootstrap.no_csr && s.detail.contains("--no-csr"))
        };
        for s in boot.stages().iter().filter(keep) {
            report.push_stage(s.clone());
        }
        for w in boot.warnings() {
            report.push_warning(w.clone());
        }
        if let Some(f) = boot.failure() {
            found.push(Found { domain: domain_of(f.code), failure: f.clone() });
        }
        control_plane_checks(&mut report, &mut found, opts, trusted.as_ref()).await;
        if boot.failure().is_none() && !opts.bootstrap.no_csr && !admin_found.is_empty() {
            // The end-to-end checks passed: what the admin view says can refine a failure but
            // never become one. Its failing checks are shown as warnings. Under --no-csr there
            // was no end-to-end run, so the admin view's findings stand.
            let names: Vec<StageName> = admin_found.iter().map(|f| f.failure.stage).collect();
            for st in admin_report.stages() {
                let mut st = st.clone();
                if names.iter().any(|n| *n == st.name.as_str()) && st.status == Status::Fail {
                    st.status = Status::Warn;
                    st.detail.push_str(" (not a root cause: the end-to-end discovery and TLS bootstrap passed)");
                    report.push_warning(format!("{}: {}", st.name, st.detail));
                }
                report.push_stage(st);
            }
            for w in admin_report.warnings() {
                report.push_warning(w.clone());
            }
        } else {
            report.absorb(&admin_report, "");
            found.extend(admin_found);
        }
    };
    if tokio::time::timeout(opts.timeout, all).await.is_err() {
        let d = format!("diagnose did not finish within --timeout {}", crate::duration::format(opts.timeout));
        add(
            &mut report,
            &mut found,
            Check::Timeout,
            Status::Fail,
            d.clone(),
            Some(Broken {
                code: Code::RequestTimeout,
                message: d,
                cause: "a network step hung (a silent firewall, a stalled endpoint)".into(),
                fix: "see the checks that finished; raise --timeout".into(),
                kubeadm: None,
            }),
        );
    }
    root_check(&mut report, &mut found, &fs);
    // The kubelet's journal is history: every live check ranks before it.
    found.extend(journal);
    conclude(&mut report, found, &opts.bootstrap.node_name);
    report
}

/// `local/root`: the links under `--root` that were not followed (every read is done by then).
fn root_check(report: &mut Report, found: &mut Vec<Found>, fs: &NodeFs) {
    let dir = fs.root().dir().display().to_string();
    let (status, d) = if fs.is_host() {
        (Status::Skip, "--root /: the node's own files, resolved by the kernel".to_string())
    } else {
        match fs.refused() {
            r if r.is_empty() => (Status::Pass, format!("every path read stayed inside --root {dir}")),
            r => (
                Status::Warn,
                format!("{} path(s) under --root {dir} not followed: {}. To fix: {ROOT_FIX}", r.len(), r.join("; ")),
            ),
        }
    };
    add(report, found, Check::LocalRoot, status, d, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_table_names_each_check_once_but_cluster_info_s_two_halves() {
        let names = Check::names();
        for (i, n) in names.iter().enumerate() {
            assert!(
                n.starts_with("local/")
                    || n.starts_with("eks/")
                    || n.starts_with("admin/")
                    || n.starts_with("control-plane/")
                    || *n == "timeout",
                "{n}"
            );
            let again = names.iter().skip(i + 1).any(|m| m == n);
            assert_eq!(again, *n == "admin/cluster-info" && Check::ALL[i] == Check::AdminClusterInfo, "{n}");
        }
        assert_eq!(Check::AdminClusterInfo.domain(), Domain::ControlPlane);
        assert_eq!(Check::AdminClusterInfoRbac.domain(), Domain::Rbac);
        assert_eq!(Code::for_domain(Check::LocalDns.domain()), Code::RootCauseDns);
        for c in [
            Check::LocalCriSocket,
            Check::LocalCriVersion,
            Check::LocalCgroupDriver,
            Check::LocalSwap,
            Check::LocalKubeletHealth,
            Check::LocalKubeletJournal,
        ] {
            assert_eq!(Code::for_domain(c.domain()), Code::RootCauseRuntime, "{c:?}");
        }
    }
}
