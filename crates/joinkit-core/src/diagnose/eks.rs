//! diagnose on EKS worker nodes (seed 003: "Bootstrap script not found: AMI may not be
//! EKS-optimized", "nodeadm|NodeConfig|node.eks.aws"): AL2 nodes join with
//! `/etc/eks/bootstrap.sh`, AL2023 nodes with nodeadm and a `NodeConfig`
//! (awslabs/amazon-eks-ami `nodeadm/`: `apiVersion: node.eks.aws/v1alpha1`, `kind: NodeConfig`,
//! `spec.cluster.{name, apiServerEndpoint, certificateAuthority, cidr}`; validation messages
//! from `nodeadm/internal/api/validation.go`). The NodeConfig is read where nodeadm leaves it on
//! the node: the EC2 user data as cloud-init saved it (`/var/lib/cloud/instance/user-data.txt`,
//! plain or MIME multi-part), the drop-ins in `/etc/eks/nodeadm.d/` and nodeadm's resolved
//! config cache (`/run/eks/nodeadm/config.json`), later ones overriding. Its cluster goes
//! through the same discovery checks as a kubeadm join: the CA parses and is a CA (its pin is
//! shown), the endpoint is https and answers, and its serving chain verifies against that CA
//! (`client::fetch_verified`, anonymous: no credential is sent).

use super::conclude::domain_of;
use super::eks_way_out::way_out_checks;
use super::local::{NodeFs, ReadFailure, FILE_LIMIT};
use super::node::{add, fail, Check, DiagnoseOptions, Found};
use crate::client::{self, FetchOptions, TrustAnchors};
use crate::config::nodeadm::{self, Cluster};
use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use crate::report::{Report, StageId, Status};
use std::time::Instant;

/// AL2's bootstrap script (gone on AL2023).
pub const BOOTSTRAP_SH: &str = "/etc/eks/bootstrap.sh";
/// The EC2 user data as cloud-init saved it.
pub const USER_DATA: &str = "/var/lib/cloud/instance/user-data.txt";
/// nodeadm's drop-in directory.
pub const NODEADM_DROP_INS: &str = "/etc/eks/nodeadm.d";
/// nodeadm's resolved configuration cache.
pub const NODEADM_CACHE: &str = "/run/eks/nodeadm/config.json";

/// The NodeConfig's cluster under `--root`, if any source holds a NodeConfig, and why sources
/// were not read.
fn read_cluster(fs: &NodeFs) -> (Option<Cluster>, Vec<String>) {
    let mut files = vec![USER_DATA.to_string()];
    let mut problems = Vec::new();
    match fs.list(NODEADM_DROP_INS) {
        Ok(names) => files.extend(names.into_iter().take(100).map(|n| format!("{NODEADM_DROP_INS}/{n}"))),
        Err(ReadFailure::Outside(r)) => problems.push(r),
        Err(_) => {}
    }
    files.push(NODEADM_CACHE.to_string());
    let mut c = Cluster::default();
    let mut seen = false;
    for f in &files {
        let text = match fs.read(f, FILE_LIMIT) {
            Ok(t) => t,
            Err(ReadFailure::Missing(_)) => continue,
            Err(e) => {
                problems.push(e.reason());
                continue;
            }
        };
        // nodeadm's reader and merge (config/nodeadm.rs); its config cache is JSON without
        // apiVersion/kind, decoded with the kind given.
        for v in nodeadm::node_configs(&text, f == NODEADM_CACHE) {
            seen = true;
            c.merge(&v, f);
        }
    }
    (seen.then_some(c), problems)
}

/// Whether this looks like an EKS node: `/etc/eks`, nodeadm's drop-ins or cache (one behind a
/// link that leaves `--root` does not count; `local/root` names the link).
fn is_eks(fs: &NodeFs) -> bool {
    ["/etc/eks", NODEADM_CACHE, "/usr/bin/nodeadm"].iter().any(|p| fs.exists(p).unwrap_or(false))
}

/// The EKS checks: `eks/node-config`, `eks/ca`, the way out (`eks/region` to `eks/way-out`,
/// [`way_out_checks`]) and `eks/endpoint`; on other nodes every EKS stage is skipped.
pub(super) async fn eks_checks(report: &mut Report, found: &mut Vec<Found>, opts: &DiagnoseOptions, fs: &NodeFs) {
    if !is_eks(fs) {
        for c in Check::ALL.iter().filter(|c| c.name().starts_with("eks/")) {
            add(report, found, *c, Status::Skip, "not an EKS node (no /etc/eks, no nodeadm)".into(), None);
        }
        return;
    }
    let (mut endpoint, mut way_out_done) = (None, false);
    eks_cluster_checks(report, found, opts, fs, &mut endpoint, &mut way_out_done).await;
    if !way_out_done {
        way_out_checks(report, found, opts, fs, endpoint.as_deref()).await;
    }
}

/// `eks/node-config` and `eks/ca`, then (once the NodeConfig's CA parses) the way out and
/// `eks/endpoint`; `endpoint` gets the NodeConfig's `apiServerEndpoint` once it is complete.
async fn eks_cluster_checks(
    report: &mut Report,
    found: &mut Vec<Found>,
    opts: &DiagnoseOptions,
    fs: &NodeFs,
    endpoint: &mut Option<String>,
    way_out_done: &mut bool,
) {
    let (cluster, problems) = read_cluster(fs);
    let bootstrap_sh = fs.exists(BOOTSTRAP_SH).unwrap_or(false);
    let Some(cl) = cluster else {
        let skip = |report: &mut Report, found: &mut Vec<Found>, why: &str| {
            for c in [Check::EksCa, Check::EksEndpoint] {
                add(report, found, c, Status::Skip, why.into(), None);
            }
        };
        if bootstrap_sh {
            add(report, found, Check::EksNodeConfig, Status::Pass, format!("AL2-style node: {BOOTSTRAP_SH} present (the user data passes the cluster name, --apiserver-endpoint and --b64-cluster-ca to it)"), None);
            return skip(report, found, "no NodeConfig to read the cluster from");
        }
        let read = if problems.is_empty() { String::new() } else { format!(" ({})", problems.join("; ")) };
        let d = format!("EKS node without {BOOTSTRAP_SH} and without a nodeadm NodeConfig ({USER_DATA}, {NODEADM_DROP_INS}/, {NODEADM_CACHE}){read}: on AL2023 nodeadm replaced bootstrap.sh and needs a NodeConfig");
        add(report, found, Check::EksNodeConfig, Status::Fail, d.clone(), fail(Code::RootCauseConfig, d, "the user data calls /etc/eks/bootstrap.sh (AL2) on an AL2023 AMI, or gives nodeadm no NodeConfig (a custom AMI gets no cluster details injected)", "give the node a NodeConfig (apiVersion: node.eks.aws/v1alpha1, kind: NodeConfig, spec.cluster name, apiServerEndpoint, certificateAuthority, cidr) in its user data (MIME part Content-Type: application/node.eks.aws), or use an AL2 AMI with bootstrap.sh").map(|f| f.kubeadm("/etc/eks/bootstrap.sh: No such file or directory")));
        return skip(report, found, "no NodeConfig");
    };
    let from = cl.sources.join(", ");
    if let Some((_, msg)) = cl.nodeadm_error() {
        let d = format!("the NodeConfig ({from}) is incomplete: {msg}");
        add(report, found, Check::EksNodeConfig, Status::Fail, d.clone(), fail(Code::RootCauseConfig, d, "nodeadm refuses a NodeConfig without spec.cluster name, apiServerEndpoint, certificateAuthority and cidr (a launch template with a custom ImageId gets none injected)", "add the missing field from `aws eks describe-cluster` to the NodeConfig in the user data (joinkit validate-config checks user data before launch)").map(|f| f.kubeadm(msg)));
        for c in [Check::EksCa, Check::EksEndpoint] {
            add(report, found, c, Status::Skip, "the NodeConfig is incomplete".into(), None);
        }
        return;
    }
    *endpoint = Some(cl.endpoint.value.clone());
    let shown_ep = crate::redact::truncate(&cl.endpoint.value, 200);
    add(
        report,
        found,
        Check::EksNodeConfig,
        Status::Pass,
        format!(
            "NodeConfig ({from}): cluster {}, endpoint {shown_ep}, service CIDR {}",
            crate::redact::truncate(&cl.name.value, 100),
            crate::redact::truncate(&cl.cidr.value, 50)
        ),
        None,
    );
    // The CA: base64 of a PEM chain.
    let ca_err = |report: &mut Report, found: &mut Vec<Found>, d: String| {
        add(report, found, Check::EksCa, Status::Fail, d.clone(), fail(Code::BadCertificate, d, "spec.cluster.certificateAuthority must be the base64 of the cluster's CA certificate (PEM), as `aws eks describe-cluster --query cluster.certificateAuthority.data` prints it", "copy certificateAuthority.data from describe-cluster into the NodeConfig"));
        add(report, found, Check::EksEndpoint, Status::Skip, "no usable CA".into(), None);
    };
    let certs = match nodeadm::ca_certificates(&cl.ca.value, "the NodeConfig's certificateAuthority") {
        Ok(c) => c,
        Err(e) => return ca_err(report, found, e),
    };
    let infos: Vec<crate::pin::CertInfo> =
        certs.iter().filter_map(|c| crate::pin::inspect(c.as_ref(), "the NodeConfig's CA").ok()).collect();
    let pins: Vec<String> = infos.iter().filter(|i| i.is_ca).map(|i| format!("{} ({})", i.pin, i.subject)).collect();
    add(report, found, Check::EksCa, Status::Pass, format!("the NodeConfig's CA parses: {}", pins.join(", ")), None);
    // The way out first (names, routes, TCP: the more basic links), then the endpoint: https,
    // answers, and its chain verifies against that CA.
    way_out_checks(report, found, opts, fs, Some(&cl.endpoint.value)).await;
    *way_out_done = true;
    let ep = match Endpoint::from_server_url(&cl.endpoint.value) {
        Ok(ep) => ep,
        Err(e) => {
            let d = format!("the NodeConfig's apiServerEndpoint: {e}");
            return add(
                report,
                found,
                Check::EksEndpoint,
                Status::Fail,
                d.clone(),
                fail(
                    Code::BadEndpoint,
                    d,
                    "the endpoint must be the cluster's https:// API server URL",
                    "copy the endpoint from `aws eks describe-cluster --query cluster.endpoint`",
                ),
            );
        }
    };
    let anchors = match TrustAnchors::new(certs, "the NodeConfig's CA") {
        Ok(a) => a,
        Err(e) => return ca_err(report, found, e),
    };
    let d = &opts.bootstrap.discovery;
    let fetch = FetchOptions {
        connect_timeout: d.connect_timeout,
        deadline: Instant::now() + d.timeout,
        what: client::KubeadmRequest::plain("the EKS API server's /version"),
    };
    let mut sub = Report::new("fetch");
    match client::fetch_verified(&mut sub, &ep, "/version", fetch, &anchors, None).await {
        Ok(r) => add(
            report,
            found,
            Check::EksEndpoint,
            Status::Pass,
            format!(
                "{shown_ep} answers (HTTP {} for /version) and its serving certificate chains to the NodeConfig's CA",
                r.status()
            ),
            None,
        ),
        Err(f) => {
            let domain = domain_of(f.code);
            let msg = format!("{shown_ep} ({}): {}", f.stage, f.message);
            report.push_stage(crate::report::Stage::new(Check::EksEndpoint, Status::Fail, msg.clone()));
            let mut failure = Failure::new(f.code, Check::EksEndpoint, msg).cause(f.cause.clone()).fix(f.fix.clone());
            if let Some(k) = &f.kubeadm_message {
                failure = failure.kubeadm(k.clone());
            }
            found.push(Found { domain, failure });
        }
    }
}
