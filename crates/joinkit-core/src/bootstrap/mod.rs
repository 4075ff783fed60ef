//! `joinkit bootstrap`: a dry-run TLS bootstrap (spec section 6). The node half of a join,
//! proved before a kubelet runs: discovery, authentication with the bootstrap token, the RBAC
//! the join needs, the node name, a kubelet-identical CSR, its approval and issue (watched, not
//! polled), the certificate, authentication with it, and clean-up. Nothing is left behind unless
//! `--keep-csr` or `--write-dir` say so.
//!
//! Split in three: this module runs the stages, [`csr`] makes the kubelet's CSR and checks the
//! certificate it gets back, `watch` waits for approval and issue. Kubernetes objects are typed
//! with k8s-openapi (SelfSubjectReview, SelfSubjectAccessReview, CertificateSigningRequest,
//! Node); the kubeconfigs written under `--write-dir` are built as JSON on purpose, they are
//! written out verbatim as YAML.

pub mod csr;
mod watch;

use crate::client::api::{ApiClient, Identity};
use crate::discovery::{self, Options, TrustedClusterInfo};
use crate::error::{Code, Failure};
use crate::k8s::typed;
use crate::report::{Common, Report};
use crate::token::BootstrapToken;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use csr::verify_certificate;
pub use csr::{node_csr, request_der, NodeCsr, KUBELET_CLIENT_SIGNER, USAGES};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::Node;
use rustls::pki_types::CertificateDer;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use watch::{condition, condition_text, issued_certificate, watch_csr, CsrOutcome};

const CSR_PATH: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// kubeadm v1.36's error line when the kubelet's TLS bootstrap never completes, whatever stops
/// it (a CSR that stays Pending, is Denied or Failed, is Approved but never issued, or that the
/// kubelet may not create): kubeadm never sees the CSR. Its `kubelet-wait-bootstrap` phase
/// (`cmd/kubeadm/app/cmd/phases/join/kubelet.go`, `runKubeletWaitBootstrapPhase`) checks the
/// kubelet's healthz, then polls for a usable `/etc/kubernetes/kubelet.conf`
/// (`waitForTLSBootstrappedClient`, `wait.PollUntilContextTimeout`, bounded by
/// `timeouts.tlsBootstrap`, 5 minutes by default) and wraps the context's error as
/// `failed while waiting for TLS bootstrap`. Observed with the real kubeadm v1.36.2
/// (docs/kubeadm-join-parity.md): `error: error execution phase kubelet-wait-bootstrap: ` then
/// this line. Older kubeadm releases (`wait.Poll`'s `ErrWaitTimeout`, in the kubelet-start
/// phase) printed `timed out waiting for the condition`; the release that changed it was not
/// checked.
pub const KUBEADM_TLS_BOOTSTRAP_TIMEOUT: &str = "failed while waiting for TLS bootstrap: context deadline exceeded";

crate::stages! {
    /// The stages of `joinkit bootstrap` after discovery's, in the order they run (the flow
    /// [`Report::skip_rest`] completes when one fails).
    pub enum BootstrapStage {
        /// The bootstrap token authenticates (SelfSubjectReview, or an access review before 1.28).
        Authenticate = "authenticate",
        /// RBAC lets the token create CSRs (and have them auto-approved, and read Nodes).
        Authorize = "authorize",
        /// The node name is valid and no Ready Node holds it.
        NodeName = "node-name",
        /// The kubelet's key and CSR are made.
        Csr = "csr",
        /// The CSR is created on the cluster.
        Submit = "submit",
        /// The CSR is approved and issued (watched).
        Approval = "approval",
        /// The issued certificate is checked.
        Certificate = "certificate",
        /// The certificate authenticates as `system:node:<name>`.
        NodeIdentity = "node-identity",
        /// The join's files are written (`--write-dir`).
        Write = "write",
        /// The CSR is deleted (unless `--keep-csr`).
        Cleanup = "cleanup",
    }
}

/// Every stage after discovery, in order.
pub const BOOTSTRAP_FLOW: &[BootstrapStage] = <BootstrapStage as crate::report::StageId>::ALL;

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// Discovery options (token, trust, endpoint).
    pub discovery: Options,
    /// The node name.
    pub node_name: String,
    /// Bound for waiting on the CSR.
    pub csr_timeout: Duration,
    /// Keep the CSR on the cluster.
    pub keep_csr: bool,
    /// Write the join's files here (not a dry run).
    pub write_dir: Option<PathBuf>,
    /// An admin kubeconfig for deleting the CSR (bootstrap tokens may not delete CSRs).
    pub admin: Option<crate::client::api::ApiOptions>,
    /// Read-only (diagnose `--no-csr`): stop after the node-name check; no CSR is created, so
    /// nothing is left on the cluster. The checks up to there only read (discovery, GET Node)
    /// or ask reviews the API server does not store (SelfSubjectReview, SelfSubjectAccessReview).
    pub no_csr: bool,
}

impl BootstrapOptions {
    /// The token the TLS bootstrap authenticates with: discovery.tlsBootstrapToken when it
    /// differs from the discovery token (kubeadm's TLSBootstrapToken, defaulted to the
    /// discovery token). `None` only when neither is set (discovery refuses that at `input`).
    pub fn tls_bootstrap_token(&self) -> Option<&BootstrapToken> {
        self.discovery.tls_bootstrap_token.as_ref().or(self.discovery.token.as_ref())
    }
}

/// One SelfSubjectAccessReview: may these credentials `verb` the `resource` (`sub`resource) of
/// `group`? Returns (allowed, the authorizer's reason).
async fn ssar(
    client: &ApiClient,
    verb: &str,
    group: &str,
    resource: &str,
    sub: &str,
) -> Result<(bool, String), Failure> {
    const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource: Some(sub.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let v = client.post(PATH, &to_json(&review)).await?;
    let answer: SelfSubjectAccessReview = typed(v, &format!("POST {PATH}"))?;
    let status = answer.status.unwrap_or_default();
    Ok((status.allowed, status.reason.unwrap_or_default()))
}

/// A typed object as the JSON body the API client posts. k8s-openapi's types always serialise.
fn to_json<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// Who the credentials are: SelfSubjectReview (`authentication.k8s.io/v1`, GA in 1.28), as
/// (username, groups). `Ok(None)` when the server does not serve it: before 1.28 it answers 404
/// to `system:masters` and **403** to everyone else, bootstrap tokens included (RBAC refuses the
/// unknown resource before routing; recorded from a real v1.24 server in
/// `vectors/apiserver-v1.24/bootstrap/whoami_token_v1`). A 403 still proves the token
/// authenticated (a rejected token is 401); callers confirm with an access review.
async fn whoami(client: &ApiClient) -> Result<Option<(String, Vec<String>)>, Failure> {
    const PATH: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    match client.post(PATH, &to_json(&SelfSubjectReview::default())).await {
        Ok(v) => {
            let review: SelfSubjectReview = typed(v, &format!("POST {PATH}"))?;
            let user = review.status.and_then(|s| s.user_info).unwrap_or_default();
            Ok(Some((user.username.unwrap_or_default(), user.groups.unwrap_or_default())))
        }
        Err(f) if f.code == Code::ApiNotFound => Ok(None),
        Err(f) if f.code == Code::ApiForbidden && f.message.contains("selfsubjectreviews") => Ok(None),
        Err(f) => Err(f),
    }
}

/// A kubeconfig written out verbatim (YAML, kubeadm's layout): built as JSON on purpose, it is
/// a file, not an API object.
fn kubeconfig_yaml(server: &str, ca_pem: &str, user: &str, context: &str, cluster: &str, auth: Value) -> String {
    let v = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"certificate-authority-data": STANDARD.encode(ca_pem), "server": server}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
        "preferences": {},
        "users": [{"name": user, "user": auth}],
    });
    serde_saphyr::to_string(&v).unwrap_or_default()
}

fn ca_pem(ca: &[CertificateDer<'static>]) -> String {
    ca.iter()
        .map(|c| {
            let b = STANDARD.encode(c.as_ref());
            let lines: Vec<&str> = b.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap_or("")).collect();
            format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
        })
        .collect()
}

/// Runs the dry-run TLS bootstrap and returns the report.
pub async fn run(opts: &BootstrapOptions) -> Report {
    run_keeping_trust(opts).await.0
}

/// [`run`], also returning the cluster discovery trusted (`None` when discovery failed), so
/// that a caller that needs the discovered control plane again (diagnose's control-plane
/// check) reuses this verdict instead of running discovery a second time.
pub async fn run_keeping_trust(opts: &BootstrapOptions) -> (Report, Option<TrustedClusterInfo>) {
    let (mut report, trusted) = match &opts.discovery.source {
        discovery::Source::Endpoint(ep) => discovery::run_token_with_wait(&opts.discovery, ep).await,
        _ => {
            let mut r = Report::new("bootstrap");
            r.fail(
                Failure::new(
                    Code::Usage,
                    Common::Input,
                    "joinkit bootstrap needs token discovery (ENDPOINT and a token)",
                )
                .cause("file discovery and saved cluster-info files are not supported by bootstrap")
                .fix("pass ENDPOINT, the token and the pins"),
            );
            return (r, None);
        }
    };
    report.set_command("bootstrap");
    let Some(trusted) = trusted.filter(|_| report.ok()) else {
        report.skip_rest(discovery::NETWORK_STAGES);
        report.skip_rest(BOOTSTRAP_FLOW);
        return (report, None);
    };
    report.clear_lines();
    let token = opts.tls_bootstrap_token().expect("discovery checked the token");
    if let Err(f) = steps(&mut report, opts, &trusted, token).await {
        report.fail(f);
    }
    report.skip_rest(BOOTSTRAP_FLOW);
    (report, Some(trusted))
}

async fn steps(
    report: &mut Report,
    opts: &BootstrapOptions,
    trusted: &TrustedClusterInfo,
    token: &BootstrapToken,
) -> Result<(), Failure> {
    let timeout = opts.discovery.timeout;
    // The bootstrap token goes only to the server of a TrustedClusterInfo (JWS, pin and serving
    // certificate verified; https by construction).
    let client =
        ApiClient::for_discovered(trusted, Identity::Bearer(SecretString::new(token.expose().into())), timeout)?;
    let node = opts.node_name.clone();

    // 2. authenticate
    report.start();
    let who = whoami(&client).await.map_err(|f| token_rejected(f, token))?;
    match &who {
        Some((name, groups)) => {
            report.set("bootstrapIdentity", json!({"username": name, "groups": groups}));
            report.pass(BootstrapStage::Authenticate, format!("{name} in {groups:?} (SelfSubjectReview)"));
        }
        None => {
            // Pre-1.28: no SelfSubjectReview; an SSAR proves the token authenticates.
            ssar(&client, "create", "certificates.k8s.io", "certificatesigningrequests", "")
                .await
                .map_err(|f| token_rejected(f, token))?;
            report.pass(BootstrapStage::Authenticate, format!("system:bootstrap:{} (this server does not serve SelfSubjectReview, a v1.27 or older API: 404, or 403 for non-admins; a SelfSubjectAccessReview authenticated)", token.id()));
        }
    }

    // 3. authorize
    report.start();
    let (can_create, why_create) =
        ssar(&client, "create", "certificates.k8s.io", "certificatesigningrequests", "").await?;
    let (can_autoapprove, why_auto) =
        ssar(&client, "create", "certificates.k8s.io", "certificatesigningrequests", "nodeclient").await?;
    let (can_get_nodes, _) = ssar(&client, "get", "", "nodes", "").await?;
    report.set(
        "permissions",
        json!({"createCSR": can_create, "nodeclientAutoApproval": can_autoapprove, "getNodes": can_get_nodes}),
    );
    // The token's groups: from SelfSubjectReview (v1.28+), else from its Secret when an admin
    // kubeconfig is given (the authenticator's groups are system:bootstrappers and
    // auth-extra-groups, k8s.io/cluster-bootstrap token/api).
    let secret_groups = match (&who, &opts.admin) {
        (None, Some(a)) => token_groups_from_secret(a, token.id()).await,
        _ => None,
    };
    let (group, whence) = token_group(who.as_ref().map(|(_, g)| g.as_slice()).or(secret_groups.as_deref()));
    if !can_create {
        return Err(Failure::new(
            Code::CsrCreateForbidden,
            BootstrapStage::Authorize,
            format!("expected system:bootstrap:{} to be allowed to create certificatesigningrequests; RBAC denies it", token.id()),
        )
        .kubeadm(KUBEADM_TLS_BOOTSTRAP_TIMEOUT)
        .cause(format!("no ClusterRoleBinding gives ClusterRole system:node-bootstrapper to {group} ({whence}); the kubelet's log shows the API server's refusal (certificatesigningrequests.certificates.k8s.io is forbidden: User \"system:bootstrap:{}\" cannot create resource \"certificatesigningrequests\" ...), kubeadm only times out", token.id()))
        .fix(if group == crate::token::manage::DEFAULT_GROUP {
            format!("on a control-plane node: `kubeadm init phase bootstrap-token` recreates kubeadm's bindings, or `{}`", bind_command("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", &group))
        } else {
            format!("`{}`", bind_command("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", &group))
        }));
    }
    let mut detail = format!("may create CSRs ({why_create})");
    if can_autoapprove {
        detail.push_str("; auto-approval permitted");
        report.pass(BootstrapStage::Authorize, detail);
    } else {
        report.warn(BootstrapStage::Authorize, format!("{detail}; but NOT the nodeclient auto-approval permission: the CSR will stay Pending unless someone approves it"));
    }
    let _ = why_auto;

    // 4. node-name
    report.start();
    if let Some(e) = crate::config::validate::dns1123_subdomain_error(&node) {
        return Err(Failure::new(
            Code::BadNodeName,
            BootstrapStage::NodeName,
            format!("expected a lowercase DNS-1123 subdomain as node name; got {node:?}: {e}"),
        )
        .kubeadm(e)
        .cause("the hostname or --node-name has upper-case letters, underscores or is too long")
        .fix("pass --node-name with a lowercase DNS name, e.g. worker-1"));
    }
    if can_get_nodes {
        let path = format!("/api/v1/nodes/{node}");
        match client.get_opt(&path).await? {
            None => {
                report.pass(BootstrapStage::NodeName, format!("{node} is a valid name and no Node of that name exists"))
            }
            Some(n) => {
                let n: Node = typed(n, &format!("GET {path}")).map_err(|f| f.at(BootstrapStage::NodeName))?;
                let ready = crate::k8s::node_ready_status(&n).unwrap_or("Unknown");
                if crate::k8s::node_is_ready(&n) {
                    return Err(Failure::new(Code::NodeNameTaken, BootstrapStage::NodeName, format!("expected no Ready Node named {node:?}; one exists"))
                        .kubeadm(format!("a Node with name {node:?} and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node"))
                        .cause("another machine (or an earlier life of this one) registered with the same name")
                        .fix(format!("`kubectl delete node {node}` if it is gone for good, or join with another --node-name")));
                }
                report.warn(BootstrapStage::NodeName, format!("a Node {node:?} exists with Ready={ready}; kubeadm allows the join and the kubelet will take it over"));
            }
        }
    } else {
        report.warn(BootstrapStage::NodeName, format!("{node} is a valid name; the token may not read Nodes, so an existing Node was not checked (kubeadm:get-nodes binding missing)"));
    }

    if opts.no_csr {
        for stage in [
            BootstrapStage::Csr,
            BootstrapStage::Submit,
            BootstrapStage::Approval,
            BootstrapStage::Certificate,
            BootstrapStage::NodeIdentity,
            BootstrapStage::Write,
            BootstrapStage::Cleanup,
        ] {
            report.skip(stage, "--no-csr: read-only, no CSR is created");
        }
        return Ok(());
    }

    // 5. csr
    report.start();
    let csr = node_csr(&node).map_err(|e| Failure::new(Code::Internal, BootstrapStage::Csr, e))?;
    report.set("csrName", &csr.name);
    report.pass(
        BootstrapStage::Csr,
        format!("{} for CN=system:node:{node}, O=system:nodes, ECDSA P-256, usages {USAGES:?}", csr.name),
    );

    // 6. submit + approval
    report.start();
    match client.post(CSR_PATH, &to_json(&csr.object())).await {
        Ok(_) => report.pass(BootstrapStage::Submit, format!("created CertificateSigningRequest {}", csr.name)),
        Err(f) if f.code == Code::ApiForbidden => {
            return Err(Failure::new(Code::CsrCreateForbidden, BootstrapStage::Submit, f.message.clone())
                .kubeadm(KUBEADM_TLS_BOOTSTRAP_TIMEOUT)
                .cause(format!(
                    "RBAC denied the CSR: no ClusterRoleBinding gives system:node-bootstrapper to {group} ({whence})"
                ))
                .fix(format!("`{}`", bind_command("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", &group))))
        }
        Err(f) => return Err(f.at(BootstrapStage::Submit)),
    }
    report.start();
    let (outcome, waited) = watch_csr(&client, &csr.name, opts.csr_timeout).await?;
    report.set("approvalSeconds", waited.as_secs_f64());
    let result = finish_csr(report, opts, trusted, &csr, outcome, (can_autoapprove, &group), waited).await;
    // 10. cleanup (always attempted)
    report.start();
    if opts.keep_csr {
        report.set("csrCleanup", "kept");
        report.skip(BootstrapStage::Cleanup, format!("--keep-csr: {} stays on the cluster", csr.name));
    } else {
        let path = format!("{CSR_PATH}/{}", csr.name);
        let deleted = match &opts.admin {
            Some(a) => match ApiClient::connect(a).await {
                Ok(admin) => admin.delete(&path).await.map(|_| "with the admin kubeconfig"),
                Err(f) => Err(f),
            },
            None => client.delete(&path).await.map(|_| "with the bootstrap token"),
        };
        report.set("csrCleanup", if deleted.is_ok() { "deleted" } else { "left" });
        match deleted {
            Ok(how) => report.pass(BootstrapStage::Cleanup, format!("deleted {} {how}", csr.name)),
            Err(f) if f.code == Code::ApiForbidden && opts.admin.is_none() => report.warn(
                BootstrapStage::Cleanup,
                format!(
                    "{} was left on the cluster: bootstrap tokens may not delete CSRs (system:node-bootstrapper grants create/get/list/watch only). Pass --kubeconfig with an admin kubeconfig to delete it, or `kubectl delete csr {}`; the csrcleaner controller removes approved CSRs after one hour",
                    csr.name, csr.name
                ),
            ),
            Err(f) => report.warn(BootstrapStage::Cleanup, format!("could not delete {}: {}", csr.name, f.message)),
        }
    }
    result
}

/// The group to bind for this token: the token's own `system:bootstrappers:*` group as the
/// API server reported it (SelfSubjectReview), else kubeadm's default
/// (`system:bootstrappers:kubeadm:default-node-token`, kubeadm `constants.NodeBootstrapTokenAuthGroup`),
/// said to be an assumption. Returns the group and the words describing where it came from.
fn token_group(groups: Option<&[String]>) -> (String, &'static str) {
    match groups {
        Some(g) => match g.iter().find(|g| g.starts_with("system:bootstrappers:")) {
            Some(own) => (own.clone(), "the token's own group"),
            None => ("system:bootstrappers".to_string(), "the token has no extra group, only system:bootstrappers"),
        },
        None => (
            crate::token::manage::DEFAULT_GROUP.to_string(),
            "assumed: kubeadm's default group; this API server (older than v1.28) does not say a token's groups and no --kubeconfig was given to read its Secret: if its auth-extra-groups differ, bind those instead",
        ),
    }
}

/// The groups a bootstrap token authenticates with, read from its Secret with the admin
/// kubeconfig: `system:bootstrappers` and its `auth-extra-groups`. None when it cannot be read
/// (the advice then says which group it assumes).
async fn token_groups_from_secret(admin: &crate::client::api::ApiOptions, id: &str) -> Option<Vec<String>> {
    let client = ApiClient::connect(admin).await.ok()?;
    let s = client.get_opt(&format!("/api/v1/namespaces/kube-system/secrets/bootstrap-token-{id}")).await.ok()??;
    let ts = crate::token::secret::TokenSecret::from_secret(&s)?;
    Some(std::iter::once("system:bootstrappers".to_string()).chain(ts.groups).collect())
}

/// `kubectl create clusterrolebinding` for `clusterrole` and `group`: kubeadm's own binding
/// name for kubeadm's default group (`kubeadm:kubelet-bootstrap`,
/// `kubeadm:node-autoapprove-bootstrap`, kubeadm `phases/bootstraptoken/node`), another name for
/// another group so kubeadm's binding is not replaced.
fn bind_command(kubeadm_name: &str, clusterrole: &str, group: &str) -> String {
    let name = if group == crate::token::manage::DEFAULT_GROUP {
        kubeadm_name.to_string()
    } else {
        format!("{kubeadm_name}:{}", group.trim_start_matches("system:bootstrappers:").replace(':', "-"))
    };
    format!("kubectl create clusterrolebinding {name} --clusterrole={clusterrole} --group={group}")
}

fn token_rejected(f: Failure, token: &BootstrapToken) -> Failure {
    if f.code == Code::ApiUnauthorized {
        return Failure::new(Code::BootstrapTokenRejected, BootstrapStage::Authenticate, format!("expected the API server to accept token {}; it answered 401 Unauthorized", token.redacted()))
            .kubeadm("Unauthorized")
            .cause("discovery found this token's signature, so its Secret exists with the signing usage; a 401 then means it lacks the \"authentication\" usage (usage-bootstrap-authentication), expired a moment ago, or the API server runs without --enable-bootstrap-token-auth")
            .fix("create a token with both usages: `joinkit token create` (defaults: signing,authentication)");
    }
    f.at(BootstrapStage::Authenticate)
}

async fn finish_csr(
    report: &mut Report,
    opts: &BootstrapOptions,
    trusted: &TrustedClusterInfo,
    csr: &NodeCsr,
    outcome: CsrOutcome,
    (can_autoapprove, group): (bool, &str),
    waited: Duration,
) -> Result<(), Failure> {
    let node = &opts.node_name;
    let issued = match outcome {
        CsrOutcome::Issued(o) => o,
        CsrOutcome::Denied(o) => {
            return Err(Failure::new(
                Code::CsrDenied,
                BootstrapStage::Approval,
                format!("expected the CSR to be approved; it was Denied: {}", condition_text(&o, "Denied")),
            )
            .kubeadm(KUBEADM_TLS_BOOTSTRAP_TIMEOUT)
            .cause("an administrator or an approval policy denied the node's certificate request")
            .fix(
                "find out who denies node CSRs (`kubectl get csr`, admission or approver policies) and retry the join",
            ));
        }
        CsrOutcome::Failed(o) => {
            return Err(Failure::new(
                Code::CsrFailed,
                BootstrapStage::Approval,
                format!("expected a certificate; the CSR Failed: {}", condition_text(&o, "Failed")),
            )
            .kubeadm(KUBEADM_TLS_BOOTSTRAP_TIMEOUT)
            .cause("the signer refused the request")
            .fix("check kube-controller-manager's logs for the csrsigning controller"));
        }
        CsrOutcome::TimedOut(last) => {
            let approved = last.as_ref().is_some_and(|o| condition(o, "Approved").is_some());
            let secs = waited.as_secs_f64();
            let kubeadm = KUBEADM_TLS_BOOTSTRAP_TIMEOUT;
            return Err(if approved {
                Failure::new(Code::CsrApprovedNotIssued, BootstrapStage::Approval, format!("expected a certificate within {secs:.1} s of approval; the CSR {} is Approved but has none", csr.name))
                    .kubeadm(kubeadm)
                    .cause("no signer issues kubelet client certificates: kube-controller-manager runs without --cluster-signing-cert-file/--cluster-signing-key-file (or the csrsigning controller is disabled)")
                    .fix("give kube-controller-manager the cluster CA (kubeadm sets --cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt and --cluster-signing-key-file=/etc/kubernetes/pki/ca.key)")
            } else if !can_autoapprove {
                Failure::new(Code::CsrPendingNoAutoapprove, BootstrapStage::Approval, format!("expected the CSR {} to be auto-approved; it stayed Pending for {secs:.1} s", csr.name))
                    .kubeadm(kubeadm)
                    .cause(format!("{group} may not create certificatesigningrequests/nodeclient: no ClusterRoleBinding like kubeadm:node-autoapprove-bootstrap gives it auto-approval, so nothing approves the CSR"))
                    .fix({
                        let bind = bind_command("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group);
                        if opts.keep_csr {
                            format!("`kubectl certificate approve {}` now (--keep-csr keeps it); for every join: `{bind}`", csr.name)
                        } else {
                            format!("`{bind}`; a node already waiting is approved with `kubectl certificate approve <its CSR>` (this run's {} is deleted on exit; --keep-csr keeps it to approve by hand)", csr.name)
                        }
                    })
            } else {
                Failure::new(Code::CsrPendingNoApprover, BootstrapStage::Approval, format!("expected the CSR {} to be auto-approved; it stayed Pending for {secs:.1} s although auto-approval is permitted", csr.name))
                    .kubeadm(kubeadm)
                    .cause("the approver is not running: kube-controller-manager is down or runs without the csrapproving controller")
                    .fix("check kube-controller-manager (`kubectl -n kube-system get pods -l component=kube-controller-manager`, its logs, its --controllers flag)")
            });
        }
    };
    // When the watch delivered the issued certificate (Unix nanoseconds; benchmarks compare it
    // with the signer's own record of when it issued).
    report.set("certificateSeenAtUnixNs", time::OffsetDateTime::now_utc().unix_timestamp_nanos().to_string());
    report.pass(
        BootstrapStage::Approval,
        format!(
            "Approved ({}) and issued after {:.3} s, seen through a watch",
            condition(&issued, "Approved").and_then(|c| c.reason.as_deref()).unwrap_or("?"),
            waited.as_secs_f64()
        ),
    );

    // 7. certificate
    report.start();
    // The watch returns Issued only with a non-empty certificate (base64 decoded when typed).
    let cert_pem = issued_certificate(&issued).map(<[u8]>::to_vec).unwrap_or_default();
    let detail = verify_certificate(&cert_pem, trusted.anchors().certs(), node, &csr.spki_der).map_err(|e| {
        Failure::new(
            Code::CertificateInvalid,
            BootstrapStage::Certificate,
            format!("expected a client certificate for system:node:{node} from the cluster CA; {e}"),
        )
        .kubeadm("x509: certificate signed by unknown authority")
        .cause("the signer uses another CA than the one in cluster-info, or signs with the wrong subject or usages")
        .fix("make kube-controller-manager's --cluster-signing-cert-file the cluster CA (/etc/kubernetes/pki/ca.crt)")
    })?;
    report.pass(BootstrapStage::Certificate, detail);

    // 8. node-identity
    report.start();
    let node_client = ApiClient::for_discovered(
        trusted,
        Identity::ClientCert(cert_pem.clone(), SecretSlice::from(csr.key_pem.expose_secret().as_bytes().to_vec())),
        opts.discovery.timeout,
    )?;
    let want = format!("system:node:{node}");
    match whoami(&node_client).await {
        Ok(Some((name, groups))) if name == want => report.pass(BootstrapStage::NodeIdentity, format!("the certificate authenticates as {name} in {groups:?}")),
        Ok(Some((name, _))) => {
            return Err(Failure::new(Code::NodeCredentialRejected, BootstrapStage::NodeIdentity, format!("expected {want}; the server sees {name}"))
                .cause("the API server maps client certificates unusually")
                .fix("check kube-apiserver's --client-ca-file"))
        }
        Ok(None) => match node_client.get_opt(&format!("/api/v1/nodes/{node}")).await {
            Ok(_) => report.pass(BootstrapStage::NodeIdentity, format!("the certificate authenticates (GET nodes/{node} allowed; this server has no SelfSubjectReview to show the name)")),
            Err(f) => return Err(node_rejected(f, &want)),
        },
        Err(f) => return Err(node_rejected(f, &want)),
    }

    // 9. write
    report.start();
    match &opts.write_dir {
        None => report.skip(BootstrapStage::Write, "dry run: nothing written (use --write-dir DIR)"),
        Some(dir) => {
            let ca = ca_pem(trusted.anchors().certs());
            let token = opts.tls_bootstrap_token().expect("discovery checked the token");
            let bootstrap = kubeconfig_yaml(
                trusted.api_server(),
                &ca,
                "tls-bootstrap-token-user",
                "tls-bootstrap-token-user@kubernetes",
                "kubernetes",
                json!({"token": token.expose()}),
            );
            let kubelet = kubeconfig_yaml(
                trusted.api_server(),
                &ca,
                "default-auth",
                "default-context",
                "default-cluster",
                json!({"client-certificate-data": STANDARD.encode(&cert_pem), "client-key-data": STANDARD.encode(csr.key_pem.expose_secret())}),
            );
            let files: [(&str, &[u8]); 3] = [
                ("bootstrap-kubelet.conf", bootstrap.as_bytes()),
                ("kubelet.conf", kubelet.as_bytes()),
                ("pki/ca.crt", ca.as_bytes()),
            ];
            crate::fsutil::write_all_or_none(dir, &files).map_err(|e| {
                Failure::new(Code::OutputUnwritable, BootstrapStage::Write, e)
                    .cause("cannot write under --write-dir (permissions, a read-only or full file system, or a path that is not a directory)")
                    .fix("check --write-dir; nothing was left half-written")
            })?;
            report.pass(
                BootstrapStage::Write,
                format!(
                    "wrote bootstrap-kubelet.conf, kubelet.conf and pki/ca.crt under {} (files 0600, new directories 0700; all or none)",
                    dir.display()
                ),
            );
        }
    }
    Ok(())
}

fn node_rejected(f: Failure, want: &str) -> Failure {
    Failure::new(Code::NodeCredentialRejected, BootstrapStage::NodeIdentity, format!("expected the new certificate to authenticate as {want}; {}", f.message))
        .cause("the API server does not trust the signer's CA for client certificates (--client-ca-file differs from --cluster-signing-cert-file)")
        .fix("make kube-apiserver's --client-ca-file the CA that signs kubelet certificates")
}
