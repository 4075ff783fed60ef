//! diagnose's admin checks (with an admin kubeconfig): server-side evidence that refines the
//! root cause: the token's Secret, cluster-info and its anonymous RBAC, the bootstrapsigner,
//! kubeadm's join bindings, Pending CSRs of this node and an existing Node. Objects are typed
//! with k8s-openapi (Secret, ConfigMap, ClusterRoleBinding, CertificateSigningRequest, Node);
//! the RBAC and Node-Ready rules are [`crate::k8s`]'s.

use super::node::{add, fail, Check, DiagnoseOptions, Found};
use crate::client::api::ApiClient;
use crate::error::{Code, Failure};
use crate::report::{Report, Status};
use crate::token::manage::JOIN_BINDINGS;
use crate::token::secret::TokenSecret;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use serde_json::Value;

/// What one admin read saw. Only HTTP 404 means the object is absent; any other error (403 for
/// a limited admin, a timeout, a 5xx) is evidence of nothing, and the check it feeds becomes a
/// warning, never a finding.
/// `T` is the object's k8s-openapi type once [`AdminRead::typed`], JSON before.
#[derive(Debug)]
pub(crate) enum AdminRead<T = Value> {
    /// The object (or list) as read.
    Found(T),
    /// HTTP 404: the object does not exist.
    Absent,
    /// The read failed otherwise: `could not read WHAT: CODE: MESSAGE; not concluded`.
    Unknown(String),
}

impl AdminRead {
    /// Classifies the result of a GET of `what`.
    pub(crate) fn from_result(r: Result<Value, Failure>, what: &str) -> AdminRead {
        match r {
            Ok(v) => AdminRead::Found(v),
            Err(f) if f.code == Code::ApiNotFound => AdminRead::Absent,
            Err(f) => AdminRead::Unknown(format!(
                "could not read {what}: {}: {}; not concluded",
                f.code,
                crate::redact::truncate(&f.message, 300)
            )),
        }
    }

    /// A list read: a 404 (the resource is not served) is as unknown as any other error.
    pub(crate) fn list(r: Result<Value, Failure>, what: &str) -> AdminRead {
        match AdminRead::from_result(r, what) {
            AdminRead::Absent => {
                AdminRead::Unknown(format!("could not read {what}: the server does not serve it (404); not concluded"))
            }
            other => other,
        }
    }

    /// The found object typed as `T`; one that does not parse as `T` is evidence of nothing
    /// (`Unknown`), like a failed read.
    pub(crate) fn typed<T: serde::de::DeserializeOwned>(self, what: &str) -> AdminRead<T> {
        match self {
            AdminRead::Found(v) => match crate::k8s::typed(v, what) {
                Ok(t) => AdminRead::Found(t),
                Err(f) => AdminRead::Unknown(format!(
                    "could not read {what}: {}: {}; not concluded",
                    f.code,
                    crate::redact::truncate(&f.message, 300)
                )),
            },
            AdminRead::Absent => AdminRead::Absent,
            AdminRead::Unknown(d) => AdminRead::Unknown(d),
        }
    }

    /// The items of a found list typed as `T` (empty otherwise; items that do not parse are
    /// left out).
    fn items<T: serde::de::DeserializeOwned>(&self) -> Vec<T> {
        self.found().map(crate::k8s::items).unwrap_or_default()
    }
}

impl<T> AdminRead<T> {
    /// The found object, if any.
    pub(crate) fn found(&self) -> Option<&T> {
        match self {
            AdminRead::Found(v) => Some(v),
            _ => None,
        }
    }
}

async fn admin_read(client: &ApiClient, path: &str, what: &str) -> AdminRead {
    AdminRead::from_result(client.get(path).await, what)
}

async fn admin_list(client: &ApiClient, path: &str, what: &str) -> AdminRead {
    AdminRead::list(client.get(path).await, what)
}

/// `admin/aws-auth`: the cluster's `kube-system/aws-auth` ConfigMap through validate-config's EKS
/// rules ([`crate::config::eks::check`]: aws-iam-authenticator's reading and the node-entry
/// rules, docs/eks-aws-auth.md). Absent is no finding (a cluster without the authenticator, or
/// one that maps nodes with access entries only); errors are a config finding, warnings a
/// warning. When diagnose looks at this machine (`--root /`) or `AWS_EC2_METADATA_SERVICE_ENDPOINT`
/// names a metadata service, the node's role is read from it ([`crate::imds::node_role`]) and the
/// detail says whether and how the ConfigMap maps it; a role it does not map is a warning (an
/// access entry, which only the AWS API shows, may map it).
async fn aws_auth_check(client: &ApiClient, report: &mut Report, found: &mut Vec<Found>, opts: &DiagnoseOptions) {
    use crate::config::{eks, CheckOptions, Severity};
    let what = "ConfigMap kube-system/aws-auth";
    let v = match admin_read(client, "/api/v1/namespaces/kube-system/configmaps/aws-auth", what).await {
        AdminRead::Unknown(d) => return add(report, found, Check::AdminAwsAuth, Status::Warn, d, None),
        AdminRead::Absent => {
            let d = format!("no {what}: not an EKS cluster, or one that maps nodes with access entries only (aws eks list-access-entries)");
            return add(report, found, Check::AdminAwsAuth, Status::Skip, d, None);
        }
        AdminRead::Found(v) => v,
    };
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    let name = "kube-system/aws-auth (read from the cluster, as JSON)";
    let env = |k: &str| std::env::var(k).ok();
    let role = if opts.root == std::path::Path::new("/")
        || env("AWS_EC2_METADATA_SERVICE_ENDPOINT").is_some_and(|v| !v.trim().is_empty())
    {
        let read = async {
            let ep = crate::imds::endpoint_from(env)?;
            crate::imds::node_role(&ep).await
        };
        match read.await {
            Ok(r) => eks::node_role(&r.role_arn).map_err(|e| format!("the node role from IMDS: {e}")),
            Err(f) => Err(format!("the node role was not read from the instance metadata service: {}", f.message)),
        }
    } else {
        Err(String::new())
    };
    let o = CheckOptions { node_role_arn: role.clone().ok(), ..CheckOptions::default() };
    let r = eks::check(name, &text, eks::EksFile::AwsAuth, &o);
    let mapping = match (&r.node_mapping, &role) {
        (Some(m), _) if m.mapped => Some((true, m.describe())),
        (Some(m), _) => Some((false, format!("{}; unless an access entry of type EC2_LINUX/EC2_WINDOWS maps the role (aws eks list-access-entries), the kubelet's requests are Unauthorized", m.describe()))),
        (None, Err(e)) if !e.is_empty() => Some((true, e.clone())),
        _ => None,
    };
    let list = |sev: Severity| -> Vec<String> {
        r.problems
            .iter()
            .filter(|p| p.severity == sev)
            .map(|p| {
                let at = if p.path.is_empty() { String::new() } else { format!("{}: ", p.path) };
                format!("{at}{}", p.message)
            })
            .collect()
    };
    let (errors, warnings) = (list(Severity::Error), list(Severity::Warning));
    if let Some(first) = r.problems.iter().find(|p| p.severity == Severity::Error) {
        let d = format!("{} error(s) in {name}: {}", errors.len(), errors.join("; "));
        let d = crate::redact::truncate(&d, 2000);
        add(report, found, Check::AdminAwsAuth, Status::Fail, d.clone(), fail(Code::RootCauseConfig, d, "aws-iam-authenticator maps the node's IAM role to system:node:{{EC2PrivateDNSName}} in system:bootstrappers and system:nodes through this ConfigMap: with these errors the node role is not mapped (a mapRoles that is not YAML loses every mapping) and the kubelet's requests are Unauthorized", &first.fix));
    } else if !warnings.is_empty() || mapping.as_ref().is_some_and(|m| !m.0) {
        let mut parts = Vec::new();
        if !warnings.is_empty() {
            parts.push(format!("{} warning(s) in {name}: {}", warnings.len(), warnings.join("; ")));
        }
        if let Some((_, m)) = &mapping {
            parts.push(m.clone());
        }
        add(report, found, Check::AdminAwsAuth, Status::Warn, crate::redact::truncate(&parts.join("; "), 2000), None);
    } else {
        let m = mapping.map(|(_, m)| format!("; {m}")).unwrap_or_default();
        let d = format!("{what} passes validate-config's EKS rules (docs/eks-aws-auth.md){m}");
        add(report, found, Check::AdminAwsAuth, Status::Pass, d, None);
    }
}

pub(super) async fn admin_checks(opts: &DiagnoseOptions) -> (Report, Vec<Found>) {
    let mut report = Report::new("admin");
    let mut found = Vec::new();
    let Some(a) = &opts.admin else { return (report, found) };
    let client = match ApiClient::connect(a).await {
        Ok(c) => c,
        Err(f) => {
            add(
                &mut report,
                &mut found,
                Check::AdminKubeconfig,
                Status::Warn,
                format!("admin checks skipped: {}", f.message),
                None,
            );
            return (report, found);
        }
    };
    let Some(token) = &opts.bootstrap.discovery.token else { return (report, found) };
    // A failed read is evidence of nothing: before any check reads "absent" into a 404, the admin
    // view must work at all (credentials accepted, RBAC allows reading bootstrap-token Secrets).
    if let Err(f) = client.get("/api/v1/namespaces/kube-system/secrets?limit=1").await {
        add(
            &mut report,
            &mut found,
            Check::AdminKubeconfig,
            Status::Warn,
            format!(
                "the admin view is unavailable ({}: {}); server-side checks skipped, nothing is concluded from them",
                f.code,
                crate::redact::truncate(&f.message, 300)
            ),
            None,
        );
        return (report, found);
    }
    aws_auth_check(&client, &mut report, &mut found, opts).await;
    let node = &opts.bootstrap.node_name;
    let secret = admin_read(
        &client,
        &format!("/api/v1/namespaces/kube-system/secrets/bootstrap-token-{}", token.id()),
        &format!("Secret kube-system/bootstrap-token-{}", token.id()),
    )
    .await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ts = secret.found().and_then(TokenSecret::from_secret);
    match (&secret, &ts) {
        (AdminRead::Unknown(d), _) => {
            add(&mut report, &mut found, Check::AdminTokenSecret, Status::Warn, d.clone(), None)
        }
        (AdminRead::Absent, _) => {
            let d = format!("Secret kube-system/bootstrap-token-{} does not exist", token.id());
            add(
                &mut report,
                &mut found,
                Check::AdminTokenSecret,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseToken,
                    d,
                    "the token expired and the tokencleaner deleted it (default TTL 24h), or someone deleted it",
                    "create a new token: `joinkit token create --print-join-command`",
                ),
            );
        }
        (AdminRead::Found(_), Some(t)) if t.expired(now) => {
            let d = format!("token {} expired", token.id());
            add(
                &mut report,
                &mut found,
                Check::AdminTokenSecret,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseToken,
                    d,
                    "the token's TTL ran out before the node joined",
                    "create a new token with a TTL longer than provisioning takes",
                ),
            );
        }
        (AdminRead::Found(_), Some(t)) if !(t.signing && t.authentication) => {
            let d =
                format!("token {} lacks usages: signing={} authentication={}", token.id(), t.signing, t.authentication);
            add(
                &mut report,
                &mut found,
                Check::AdminTokenSecret,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseToken,
                    d,
                    "a join needs both usages",
                    "create a token with `joinkit token create` (both usages by default)",
                ),
            );
        }
        (AdminRead::Found(_), Some(t)) => add(
            &mut report,
            &mut found,
            Check::AdminTokenSecret,
            Status::Pass,
            format!("token {} exists, valid, usages ok, groups {:?}", token.id(), t.groups),
            None,
        ),
        (AdminRead::Found(_), None) => {
            let d = format!("Secret bootstrap-token-{} is malformed", token.id());
            add(
                &mut report,
                &mut found,
                Check::AdminTokenSecret,
                Status::Fail,
                d.clone(),
                fail(Code::RootCauseToken, d, "its type, data or name is wrong", "delete it and create a new token"),
            );
        }
    }
    const CI: &str = "ConfigMap kube-public/cluster-info";
    let ci = admin_read(&client, crate::discovery::CLUSTER_INFO_PATH, CI).await.typed::<ConfigMap>(CI);
    const RB: &str = "RoleBinding kube-public/kubeadm:bootstrap-signer-clusterinfo";
    let rb = admin_read(
        &client,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/rolebindings/kubeadm:bootstrap-signer-clusterinfo",
        RB,
    )
    .await
    .typed::<RoleBinding>(RB);
    match (&ci, &rb) {
        (AdminRead::Unknown(d), _) | (AdminRead::Found(_), AdminRead::Unknown(d)) => {
            add(&mut report, &mut found, Check::AdminClusterInfo, Status::Warn, d.clone(), None)
        }
        (AdminRead::Absent, _) => {
            let d = "the cluster-info ConfigMap does not exist in kube-public".to_string();
            add(
                &mut report,
                &mut found,
                Check::AdminClusterInfo,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseControlPlane,
                    d,
                    "kubeadm's bootstrap-token phase never ran or cluster-info was deleted",
                    "run `kubeadm init phase bootstrap-token` on a control-plane node",
                ),
            );
        }
        (AdminRead::Found(_), AdminRead::Absent) => {
            let d = "RoleBinding kube-public/kubeadm:bootstrap-signer-clusterinfo is missing: anonymous users cannot read cluster-info".to_string();
            add(
                &mut report,
                &mut found,
                Check::AdminClusterInfoRbac,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseRbac,
                    d,
                    "the RBAC that lets joining nodes read cluster-info anonymously is gone",
                    "run `kubeadm init phase bootstrap-token` on a control-plane node",
                ),
            );
        }
        (AdminRead::Found(_), AdminRead::Found(_)) => add(
            &mut report,
            &mut found,
            Check::AdminClusterInfo,
            Status::Pass,
            "cluster-info exists and anonymous read access is bound".into(),
            None,
        ),
    }
    // The bootstrapsigner: does some valid signing token carry a valid signature?
    let data = ci.found().and_then(|c| c.data.clone()).unwrap_or_default();
    let kc = data.get("kubeconfig").map(String::as_str).unwrap_or("");
    let secrets = admin_list(
        &client,
        "/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken",
        "the bootstrap-token Secrets",
    )
    .await;
    let valid: Vec<TokenSecret> =
        secrets.items::<Secret>().iter().filter_map(TokenSecret::of).filter(|t| t.signing && !t.expired(now)).collect();
    let signed_with = |t: &TokenSecret| {
        data.get(&crate::discovery::jws_key(&t.id)).is_some_and(|s| crate::jws::verify(kc, s, &t.id, &t.secret).is_ok())
    };
    // This node's token first: when it is a valid signing token and unsigned, the bootstrapsigner
    // is not running, even if older tokens still carry signatures (a stopped controller-manager
    // leaves them in place; seen on real v1.24 and v1.36).
    let own = ts.as_ref().filter(|t| t.signing && !t.expired(now));
    let ci_found = ci.found().is_some();
    if let (true, Some(t)) = (ci_found && !kc.is_empty(), own) {
        if signed_with(t) {
            add(
                &mut report,
                &mut found,
                Check::AdminBootstrapSigner,
                Status::Pass,
                format!("token {} is signed in cluster-info: the bootstrapsigner works", t.id),
                None,
            );
        } else {
            let others = match &secrets {
                AdminRead::Found(_) => {
                    format!(
                        "{} other token(s) still signed",
                        valid.iter().filter(|o| o.id != t.id && signed_with(o)).count()
                    )
                }
                _ => "the other tokens could not be listed".to_string(),
            };
            let d = format!(
                "token {} is a valid signing token but cluster-info has no valid signature for it ({others})",
                t.id
            );
            add(&mut report, &mut found, Check::AdminBootstrapSigner, Status::Fail, d.clone(), fail(Code::RootCauseControlPlane, d, "the bootstrapsigner controller is not running (kube-controller-manager is down or runs without it, --controllers): it signs new tokens within a second, and signatures of older tokens stay in cluster-info after it stops", "check kube-controller-manager (`kubectl -n kube-system get pods -l component=kube-controller-manager`, its logs and --controllers)"));
        }
    } else if ci_found && !kc.is_empty() {
        if let AdminRead::Unknown(d) = &secrets {
            add(&mut report, &mut found, Check::AdminBootstrapSigner, Status::Warn, d.clone(), None);
        } else if valid.is_empty() {
            add(
                &mut report,
                &mut found,
                Check::AdminBootstrapSigner,
                Status::Skip,
                "no valid signing token to judge the bootstrapsigner by".into(),
                None,
            );
        } else if valid.iter().any(signed_with) {
            add(
                &mut report,
                &mut found,
                Check::AdminBootstrapSigner,
                Status::Pass,
                "valid signing tokens are signed in cluster-info: the bootstrapsigner works".into(),
                None,
            );
        } else {
            let d = format!("{} valid signing token(s) and none is signed in cluster-info", valid.len());
            add(&mut report, &mut found, Check::AdminBootstrapSigner, Status::Fail, d.clone(), fail(Code::RootCauseControlPlane, d, "the bootstrapsigner controller is not running: kube-controller-manager is down or runs without it (--controllers)", "check kube-controller-manager (`kubectl -n kube-system get pods -l component=kube-controller-manager`, its logs and --controllers)"));
        }
    }
    // kubeadm's bindings for the token's groups.
    let groups: Vec<String> = std::iter::once("system:bootstrappers".to_string())
        .chain(
            ts.as_ref()
                .map(|t| t.groups.clone())
                .unwrap_or_else(|| vec![crate::token::manage::DEFAULT_GROUP.to_string()]),
        )
        .collect();
    let crbs =
        admin_list(&client, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "the ClusterRoleBindings").await;
    let items: Vec<ClusterRoleBinding> = crbs.items();
    let missing: Vec<&str> = JOIN_BINDINGS
        .iter()
        .filter(|(_, role, _)| !items.iter().any(|b| crate::k8s::binding_grants(b, role, &groups)))
        .map(|(_, _, what)| *what)
        .collect();
    if let AdminRead::Unknown(d) = &crbs {
        add(&mut report, &mut found, Check::AdminRbac, Status::Warn, d.clone(), None);
    } else if missing.is_empty() {
        add(
            &mut report,
            &mut found,
            Check::AdminRbac,
            Status::Pass,
            "kubeadm's join bindings exist for the token's groups".into(),
            None,
        );
    } else {
        let d = format!("missing ClusterRoleBindings for the token's groups: {}", missing.join("; "));
        add(
            &mut report,
            &mut found,
            Check::AdminRbac,
            Status::Fail,
            d.clone(),
            fail(
                Code::RootCauseRbac,
                d,
                "kubeadm's bootstrap RBAC was removed or never created for these groups",
                "run `kubeadm init phase bootstrap-token` on a control-plane node",
            ),
        );
    }
    // Pending CSRs for this node.
    let csrs = admin_list(
        &client,
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
        "the CertificateSigningRequests",
    )
    .await;
    let cn = format!("system:node:{node}");
    let pending: Vec<String> = csrs
        .items::<CertificateSigningRequest>()
        .iter()
        .filter(|c| c.status.as_ref().and_then(|s| s.conditions.as_ref()).is_none_or(|a| a.is_empty()))
        .filter(|c| crate::bootstrap::csr::typed_request_der(c).is_some_and(|d| {
            <x509_parser::certification_request::X509CertificationRequest as x509_parser::prelude::FromDer<_>>::from_der(&d)
                .ok()
                .and_then(|(_, r)| r.certification_request_info.subject.iter_common_name().next().and_then(|x| x.as_str().ok()).map(|s| s == cn))
                .unwrap_or(false)
        }))
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    if let AdminRead::Unknown(d) = &csrs {
        add(&mut report, &mut found, Check::AdminPendingCsrs, Status::Warn, d.clone(), None);
    } else if pending.is_empty() {
        add(&mut report, &mut found, Check::AdminPendingCsrs, Status::Pass, format!("no Pending CSR for {cn}"), None);
    } else {
        add(
            &mut report,
            &mut found,
            Check::AdminPendingCsrs,
            Status::Warn,
            format!("Pending CSR(s) for {cn}: {} (earlier attempts that were never approved)", pending.join(", ")),
            None,
        );
    }
    let what = format!("Node {node}");
    match admin_read(&client, &format!("/api/v1/nodes/{node}"), &what).await.typed::<Node>(&what) {
        AdminRead::Unknown(d) => add(&mut report, &mut found, Check::AdminNode, Status::Warn, d, None),
        AdminRead::Absent => {
            add(&mut report, &mut found, Check::AdminNode, Status::Pass, format!("no Node named {node}"), None)
        }
        AdminRead::Found(n) => {
            let ready = crate::k8s::node_is_ready(&n);
            if ready {
                let d = format!("a Ready Node named {node} exists");
                add(
                    &mut report,
                    &mut found,
                    Check::AdminNode,
                    Status::Fail,
                    d.clone(),
                    fail(
                        Code::RootCauseNodeState,
                        d,
                        "another machine uses this name",
                        "`kubectl delete node NAME` if it is gone, or join with another --node-name",
                    ),
                );
            } else {
                add(
                    &mut report,
                    &mut found,
                    Check::AdminNode,
                    Status::Warn,
                    format!("a NotReady Node named {node} exists"),
                    None,
                );
            }
        }
    }
    (report, found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_404_reads_as_absent() {
        let v = json!({"kind": "Node"});
        assert!(matches!(AdminRead::from_result(Ok(v.clone()), "Node n"), AdminRead::Found(x) if x == v));
        let nf = Failure::new(Code::ApiNotFound, crate::k8s::K8sStage::Api, "nodes \"n\" not found");
        assert!(matches!(AdminRead::from_result(Err(nf.clone()), "Node n"), AdminRead::Absent));
        // A 404 on a list is no evidence of an empty list.
        assert!(matches!(AdminRead::list(Err(nf), "the Nodes"), AdminRead::Unknown(_)));
        for code in [Code::ApiForbidden, Code::RequestTimeout, Code::ApiError] {
            let r = AdminRead::from_result(
                Err(Failure::new(code, crate::k8s::K8sStage::Api, "nope")),
                "the ClusterRoleBindings",
            );
            let AdminRead::Unknown(d) = r else { panic!("{code}: {r:?}") };
            assert_eq!(d, format!("could not read the ClusterRoleBindings: {code}: nope; not concluded"));
        }
    }
}
