//! `joinkit csr list|explain|approve|deny`: CertificateSigningRequests judged before anyone
//! approves them (issue 13, section 1). `kubectl certificate approve` approves whatever it is
//! given; joinkit approves only a CSR whose every check passes ([`checks`]) and records the
//! checks in the condition it writes through the `/approval` subresource, as
//! `kubectl certificate approve|deny` does (`staging/src/k8s.io/kubectl/pkg/cmd/certificates`).
//!
//! The objects are typed with k8s-openapi at the one boundary ([`crate::k8s::typed`]).

pub mod checks;
mod options;
pub mod request;
#[cfg(test)]
mod tests;

pub use checks::{
    verdict, CheckOptions, Cidr, ClusterNames, Context, CsrCheck, NodeAddresses, ServerVersion, Verdict,
    KUBELET_SERVING_SIGNER,
};

use crate::client::api::{expect_kind, ApiClient, ApiOptions};
use crate::error::{Code, Failure};
use crate::report::{Report, Stage, StageId, Status};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use serde::Serialize;
use serde_json::{json, Value};

crate::stages! {
    /// The stages of the `csr` commands, in the order they run.
    pub enum CsrStage {
        /// The admin kubeconfig is loaded.
        Kubeconfig = "kubeconfig",
        /// The CSRs, Nodes and ClusterRoleBindings are listed.
        List = "list",
        /// The named CSR exists.
        Get = "get",
        /// Every check passed (or which failed).
        Verdict = "verdict",
        /// `approve`: the Approved condition is written.
        Approve = "approve",
        /// `deny`: the Denied condition is written.
        Deny = "deny",
    }
}

/// The CSR collection's path.
pub const CSRS: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
const NODES: &str = "/api/v1/nodes";
const CRBS: &str = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
/// The condition reason joinkit writes when approving (unless the user gives one).
pub const APPROVED_REASON: &str = "JoinkitApproved";
/// The condition reason joinkit writes when denying (unless the user's reason is one word).
pub const DENIED_REASON: &str = "JoinkitDenied";

/// What the checks are made against: every CSR, Node and ClusterRoleBinding, the Nodes'
/// addresses, and the names the cluster itself uses.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// The CSRs (each `spec.request` cut to [`crate::pem::MAX_PEM_BYTES`] + 1 bytes, which
    /// fails the `request` check as it would whole; annotations and managed fields dropped).
    pub csrs: Vec<CertificateSigningRequest>,
    /// The Nodes.
    pub nodes: Vec<Node>,
    /// The ClusterRoleBindings.
    pub bindings: Vec<ClusterRoleBinding>,
    /// Which Node reports which address.
    pub addresses: NodeAddresses,
    /// The names and addresses the cluster itself uses.
    pub names: ClusterNames,
}

impl Cluster {
    /// The checks' context.
    pub fn context(&self) -> Context<'_> {
        Context {
            nodes: &self.nodes,
            csrs: &self.csrs,
            bindings: &self.bindings,
            addresses: &self.addresses,
            cluster: &self.names,
        }
    }

    /// The CSR named `name`.
    pub fn find(&self, name: &str) -> Option<&CertificateSigningRequest> {
        self.csrs.iter().find(|c| c.metadata.name.as_deref() == Some(name))
    }
}

/// Connects with the admin kubeconfig (stage `kubeconfig`).
pub async fn connect(api: &ApiOptions, report: &mut Report) -> Option<ApiClient> {
    report.start();
    match ApiClient::connect(api).await {
        Ok(c) => {
            for w in &c.warnings {
                report.warn(CsrStage::Kubeconfig, w.clone());
            }
            report.pass(CsrStage::Kubeconfig, format!("API server {}", c.server));
            Some(c)
        }
        Err(f) => {
            report.fail(f);
            None
        }
    }
}

/// Lists the CSRs, Nodes and ClusterRoleBindings page by page ([`ApiClient::list`]: one
/// requestor's many or large CSRs cannot make the list fail for everyone), and reads the names
/// the cluster uses ([`cluster_names`]) (stage `list`).
pub async fn fetch(client: &ApiClient) -> Result<Cluster, Failure> {
    let list = |path: &'static str, kind: &'static str| async move {
        client.list(path, kind).await.map_err(|f| f.at(CsrStage::List))
    };
    let csrs: Vec<CertificateSigningRequest> =
        typed_items(list(CSRS, "CertificateSigningRequestList").await?).into_iter().map(shrink).collect();
    let nodes: Vec<Node> = typed_items(list(NODES, "NodeList").await?);
    let bindings = typed_items(list(CRBS, "ClusterRoleBindingList").await?);
    let names = cluster_names(client).await;
    Ok(Cluster { addresses: NodeAddresses::from_nodes(&nodes), csrs, nodes, bindings, names })
}

fn typed_items<T: serde::de::DeserializeOwned>(items: Vec<Value>) -> Vec<T> {
    items.into_iter().filter_map(|i| serde_json::from_value(i).ok()).collect()
}

/// A CSR as the checks need it, bounded: `spec.request` cut to one byte over
/// [`crate::pem::MAX_PEM_BYTES`] (the `request` check refuses it either way), annotations and
/// managed fields dropped.
pub fn shrink(mut csr: CertificateSigningRequest) -> CertificateSigningRequest {
    csr.spec.request.0.truncate(crate::pem::MAX_PEM_BYTES + 1);
    csr.metadata.annotations = None;
    csr.metadata.managed_fields = None;
    csr
}

/// The kubeadm ClusterConfiguration fields that name what the cluster uses.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct KubeadmClusterConfiguration {
    control_plane_endpoint: String,
    networking: KubeadmNetworking,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct KubeadmNetworking {
    service_subnet: String,
    dns_domain: String,
}

/// Where kubeadm keeps its ClusterConfiguration (`kubeadm init` uploads it:
/// `cmd/kubeadm/app/phases/uploadconfig`).
pub const KUBEADM_CONFIG: &str = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config";

/// The names and addresses the cluster itself uses: the API server's serving certificate's
/// DNS and IP SANs (as verified on `client`'s connection, so a request must have been made), and
/// from kubeadm's ClusterConfiguration ([`KUBEADM_CONFIG`]) the Service CIDRs, the DNS domain and
/// the `controlPlaneEndpoint` host. Never fails: a source that cannot be read is named in
/// `sources` (the fixed rules of `san-reserved` apply regardless). Also the API server's
/// version from `/version` (readable by every authenticated user: `system:public-info-viewer`),
/// for the signers' usage rules (`checks::ServerVersion`); unread, the v1.27+ rules apply.
pub async fn cluster_names(client: &ApiClient) -> ClusterNames {
    let mut names = ClusterNames::default();
    // The request first: it is what makes the connection whose certificate is read below.
    let cm = client.get_opt(KUBEADM_CONFIG).await;
    // Unread (an error, or no numeric major and minor): None, and the usages check says the
    // v1.27+ rule applied because the version is unknown.
    names.version = match client.get_opt("/version").await {
        Ok(Some(v)) => checks::ServerVersion::from_version_body(&v),
        _ => None,
    };
    match client.served_certificate().and_then(|c| sans_of(c.as_ref())) {
        Some((dns, ips)) => {
            names.dns.extend(dns.iter().map(|d| checks::address_key(d)));
            names.ips.extend(ips);
            names.sources.push("the API server's serving certificate".into());
        }
        None => names.sources.push("not the API server's certificate (not seen)".into()),
    }
    let cfg = match cm {
        Ok(Some(cm)) => cm.pointer("/data/ClusterConfiguration").and_then(Value::as_str).map(|y| {
            crate::yaml::from_str::<KubeadmClusterConfiguration>(y)
                .map_err(|_| "kubeadm-config: ClusterConfiguration does not parse".to_string())
        }),
        Ok(None) => Some(Err("no kubeadm-config (not a kubeadm cluster?): Service CIDR unknown".into())),
        Err(f) => Some(Err(format!("kubeadm-config not readable ({}): Service CIDR unknown", f.code.as_str()))),
    };
    match cfg {
        Some(Ok(c)) => {
            names.service_cidrs =
                c.networking.service_subnet.split(',').filter_map(|s| Cidr::parse(s.trim()).ok()).collect();
            names.dns_domain = Some(c.networking.dns_domain).filter(|d| !d.is_empty());
            if let Ok(ep) = crate::endpoint::Endpoint::parse(&c.control_plane_endpoint) {
                match ep.ip() {
                    Some(ip) => {
                        names.ips.insert(ip);
                    }
                    None => {
                        names.dns.insert(checks::address_key(&ep.host));
                    }
                }
            }
            names.sources.push("kubeadm-config".into());
        }
        Some(Err(why)) => names.sources.push(why),
        None => names.sources.push("kubeadm-config has no ClusterConfiguration".into()),
    }
    names
}

/// The DNS and IP SANs of a DER certificate.
fn sans_of(der: &[u8]) -> Option<(Vec<String>, Vec<std::net::IpAddr>)> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) if b.len() == 4 => ips.push(<[u8; 4]>::try_from(*b).ok()?.into()),
                GeneralName::IPAddress(b) if b.len() == 16 => ips.push(<[u8; 16]>::try_from(*b).ok()?.into()),
                _ => {}
            }
        }
    }
    Some((dns, ips))
}

/// `Pending`, `Approved`, `Approved,Issued`, `Denied`, `Failed` (kubectl's CONDITION column).
pub fn condition(csr: &CertificateSigningRequest) -> String {
    let mut out: Vec<&str> = csr
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .filter(|c| c.status == "True")
        .map(|c| c.type_.as_str())
        .collect();
    if csr.status.as_ref().and_then(|s| s.certificate.as_ref()).is_some_and(|c| !c.0.is_empty()) {
        out.push("Issued");
    }
    if out.is_empty() {
        "Pending".into()
    } else {
        out.join(",")
    }
}

/// One row of `csr list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CsrRow {
    /// Name.
    pub name: String,
    /// `spec.signerName`.
    pub signer: String,
    /// `spec.username`.
    pub requestor: String,
    /// `CN=..., O=...` of the request ("" when it does not parse).
    pub subject: String,
    /// `DNS:x`, `IP:y`, ...
    pub sans: Vec<String>,
    /// Age (`5m`, `2d`).
    pub age: String,
    /// kubectl's CONDITION.
    pub condition: String,
    /// `approvable` or `fails: ...`.
    pub verdict: String,
    /// Every check.
    pub checks: Verdict,
}

fn age(csr: &CertificateSigningRequest) -> String {
    let created = serde_json::to_value(&csr.metadata.creation_timestamp).ok();
    let t = created
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok());
    match t {
        Some(t) => crate::token::manage::short_human((time::OffsetDateTime::now_utc() - t).whole_seconds()),
        None => "<unknown>".into(),
    }
}

/// The rows of `csr list`, in the API's order. Each verdict sees only the pending CSRs of its
/// own signer and requestor (grouped once), so the whole list is linear in the CSRs.
pub fn rows(cluster: &Cluster, opts: &CheckOptions) -> Vec<CsrRow> {
    let key = |c: &CertificateSigningRequest| (c.spec.signer_name.clone(), c.spec.username.clone());
    let mut pending: std::collections::HashMap<_, Vec<CertificateSigningRequest>> = Default::default();
    for c in cluster.csrs.iter().filter(|c| !checks::decided(c)) {
        pending.entry(key(c)).or_default().push(c.clone());
    }
    cluster
        .csrs
        .iter()
        .map(|c| {
            let req = checks::parse_request(c).ok();
            let siblings = pending.get(&key(c)).map(Vec::as_slice).unwrap_or(&[]);
            let v = verdict(c, Context { csrs: siblings, ..cluster.context() }, opts);
            CsrRow {
                name: v.name.clone(),
                signer: v.signer.clone(),
                requestor: v.requestor.clone(),
                subject: req.as_ref().map(checks::Request::subject).unwrap_or_default(),
                sans: req.as_ref().map(checks::Request::sans).unwrap_or_default(),
                age: age(c),
                condition: condition(c),
                verdict: v.summary(),
                checks: v,
            }
        })
        .collect()
}

/// At most this many characters of a `csr list` cell (the rest is `...`); the SANS cell shows
/// the first three SANs and how many more. `-o json|yaml` carry every value.
pub const MAX_CELL_CHARS: usize = 64;

/// A table cell: control characters escaped, at most [`MAX_CELL_CHARS`] characters.
fn cell(s: &str) -> String {
    let s = crate::report::escape_controls(s);
    if s.chars().count() <= MAX_CELL_CHARS {
        return s.into_owned();
    }
    let mut out: String = s.chars().take(MAX_CELL_CHARS - 3).collect();
    out.push_str("...");
    out
}

/// The SANS cell: the first three SANs and `(+N more)`.
fn sans_cell(sans: &[String]) -> String {
    match sans.len() {
        0 => "<none>".into(),
        n if n <= 3 => sans.join(","),
        n => format!("{} (+{} more)", sans[..3].join(","), n - 3),
    }
}

/// The text table of `csr list` (escaped and bounded: the values come from the cluster).
pub fn table(rows: &[CsrRow]) -> String {
    let header = ["NAME", "AGE", "SIGNER", "REQUESTOR", "SUBJECT", "SANS", "CONDITION", "VERDICT"];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.age.clone(),
                r.signer.clone(),
                r.requestor.clone(),
                r.subject.clone(),
                sans_cell(&r.sans),
                r.condition.clone(),
                r.verdict.clone(),
            ]
            .into_iter()
            .map(|s| cell(&s))
            .collect()
        })
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header.iter().map(|s| s.to_string()).collect::<Vec<_>>()).chain(cells) {
        let line: Vec<String> = row.iter().zip(&width).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// Records every check of `v` as a stage, then the `verdict` stage (failing with
/// `csr-check-failed` when a check failed).
pub fn record_verdict(report: &mut Report, v: &Verdict) {
    for c in &v.checks {
        let status = if c.passed { Status::Pass } else { Status::Fail };
        if let Some(id) = CsrCheck::ALL.iter().copied().find(|x| x.name() == c.check) {
            report.push_stage(Stage::of_file(id, &v.name, status, c.why.clone()));
        }
    }
    if v.passed {
        report.pass(CsrStage::Verdict, format!("{}: all {} checks pass", v.name, v.checks.len()));
    } else {
        report.fail(check_failed(v));
    }
}

/// `csr-check-failed` for a verdict with failing checks.
fn check_failed(v: &Verdict) -> Failure {
    let failed = v.failed();
    Failure::new(
        Code::CsrCheckFailed,
        CsrStage::Verdict,
        format!(
            "{}: {} of {} checks fail: {}",
            v.name,
            failed.len(),
            v.checks.len(),
            failed.iter().map(|c| format!("{} ({})", c.check, c.why)).collect::<Vec<_>>().join("; ")
        ),
    )
    .in_file(&v.name)
    .cause("the CSR asks for more than its requestor may have, or for a node that is not what the cluster knows")
    .fix("do not approve it; `joinkit csr deny NAME --reason ...` records why (or fix the Node's addresses / the options if the checks are wrong)")
}

/// `csr explain NAME`: every check of one CSR.
pub async fn explain(client: &ApiClient, name: &str, opts: &CheckOptions, report: &mut Report) {
    report.start();
    let cluster = match fetch(client).await {
        Ok(c) => c,
        Err(f) => return report.fail(f),
    };
    report.pass(CsrStage::List, counts(&cluster));
    let Some(csr) = cluster.find(name) else { return report.fail(not_found(name)) };
    report.pass(CsrStage::Get, format!("CSR {name}: {}", condition(csr)));
    let v = verdict(csr, cluster.context(), opts);
    if let Ok(req) = checks::parse_request(csr) {
        report.set("subject", req.subject());
        report.set("sans", req.sans());
    }
    report.set("condition", condition(csr));
    report.set("csr", &v);
    record_verdict(report, &v);
}

fn counts(c: &Cluster) -> String {
    format!("{} CSR(s), {} Node(s), {} ClusterRoleBinding(s)", c.csrs.len(), c.nodes.len(), c.bindings.len())
}

fn not_found(name: &str) -> Failure {
    Failure::new(Code::ApiNotFound, CsrStage::Get, format!("certificatesigningrequests.certificates.k8s.io {name:?} not found"))
        .cause("no CSR of that name: mistyped, or deleted (the csrcleaner removes decided CSRs after an hour, pending ones after a day)")
        .fix("`joinkit csr list` shows the CSRs")
}

/// What `approve` or `deny` does.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approve, only if every check passes; an optional reason of the user's.
    Approve(Option<String>),
    /// Deny, with the user's reason (required).
    Deny(String),
}

/// The condition joinkit writes: `(type, reason, message)`.
pub fn condition_for(decision: &Decision, v: &Verdict) -> (&'static str, String, String) {
    let one_word = |r: &str| {
        !r.is_empty()
            && r.len() <= 128
            && r.chars().all(|c| c.is_ascii_alphanumeric())
            && r.starts_with(|c: char| c.is_ascii_uppercase())
    };
    let checks = if v.passed {
        format!(
            "all {} checks passed ({})",
            v.checks.len(),
            v.checks.iter().map(|c| c.check).collect::<Vec<_>>().join(", ")
        )
    } else {
        format!("failed checks: {}", v.failed().iter().map(|c| c.check).collect::<Vec<_>>().join(", "))
    };
    match decision {
        Decision::Approve(r) => {
            let reason = r.as_deref().filter(|r| one_word(r)).unwrap_or(APPROVED_REASON).to_string();
            let said = r.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            ("Approved", reason, format!("approved by joinkit{said}; {checks}"))
        }
        Decision::Deny(r) => {
            let reason = if one_word(r) { r.clone() } else { DENIED_REASON.to_string() };
            ("Denied", reason, format!("denied by joinkit: {r}; {checks}"))
        }
    }
}

/// `csr approve|deny NAME...`: each CSR is checked; approve writes `Approved` only when every
/// check passes (else `csr-check-failed`, nothing written for it), deny writes `Denied` with the
/// reason. A CSR already decided the other way is `csr-already-decided`. With `dry_run` nothing
/// is written: the stage says what would be.
pub async fn decide(
    client: &ApiClient,
    names: &[String],
    decision: &Decision,
    opts: &CheckOptions,
    dry_run: bool,
    report: &mut Report,
) {
    report.start();
    let cluster = match fetch(client).await {
        Ok(c) => c,
        Err(f) => return report.fail(f),
    };
    report.pass(CsrStage::List, counts(&cluster));
    let stage = match decision {
        Decision::Approve(_) => CsrStage::Approve,
        Decision::Deny(_) => CsrStage::Deny,
    };
    let mut results = Vec::new();
    for name in names {
        report.start();
        let Some(csr) = cluster.find(name) else {
            report.fail(not_found(name).in_file(name));
            results.push(json!({"name": name, "action": "not-found"}));
            continue;
        };
        let v = verdict(csr, cluster.context(), opts);
        let (type_, reason, message) = condition_for(decision, &v);
        let current = condition(csr);
        let mut result = json!({"name": name, "verdict": &v, "condition": {"type": type_, "status": "True", "reason": reason, "message": message}});
        let opposite = if type_ == "Approved" { "Denied" } else { "Approved" };
        let action = if current.split(',').any(|c| c == type_) {
            report.record_file(stage, name, Status::Skip, format!("{name}: already {type_}, unchanged"));
            "unchanged"
        } else if current.split(',').any(|c| c == opposite || c == "Failed") {
            report.fail(
                Failure::new(
                    Code::CsrAlreadyDecided,
                    stage,
                    format!("{name} is already {current}: it cannot also be {type_}"),
                )
                .in_file(name)
                .cause("a CSR is decided once: the API server refuses Approved and Denied together")
                .fix("create a new CSR (the kubelet does when its request is denied) and decide that one"),
            );
            "refused"
        } else if type_ == "Approved" && !v.passed {
            report.fail(check_failed(&v).at(stage).in_file(name));
            "refused"
        } else if dry_run {
            report.record_file(
                stage,
                name,
                Status::Skip,
                format!("{name}: dry run: would set {type_} (reason {reason}, message {message:?})"),
            );
            if type_ == "Approved" {
                "would-approve"
            } else {
                "would-deny"
            }
        } else {
            match put_condition(client, csr, type_, &reason, &message).await {
                Ok(()) => {
                    report.record_file(stage, name, Status::Pass, format!("{name}: {type_} (reason {reason})"));
                    if type_ == "Approved" {
                        "approved"
                    } else {
                        "denied"
                    }
                }
                Err(f) => {
                    report.fail(f.at(stage).in_file(name));
                    "failed"
                }
            }
        };
        result["action"] = json!(action);
        results.push(result);
    }
    report.set("dryRun", dry_run);
    report.set("csrs", results);
}

/// PUTs the CSR to its `/approval` subresource with one more condition (kubectl's way; the
/// resourceVersion makes a concurrent change a 409 `api-conflict`, never a silent overwrite).
/// `joinkit csr approve|deny` and the approver write decisions only through here.
pub async fn put_condition(
    client: &ApiClient,
    csr: &CertificateSigningRequest,
    type_: &str,
    reason: &str,
    message: &str,
) -> Result<(), Failure> {
    let name = crate::k8s::name_of(&csr.metadata);
    let mut body =
        serde_json::to_value(csr).map_err(|e| Failure::new(Code::Internal, CsrStage::Approve, e.to_string()))?;
    let now = crate::duration::rfc3339(time::OffsetDateTime::now_utc());
    let cond = json!({"type": type_, "status": "True", "reason": reason, "message": message, "lastUpdateTime": now});
    if !body["status"].is_object() {
        body["status"] = json!({});
    }
    match body["status"]["conditions"].as_array_mut() {
        Some(a) => a.push(cond),
        None => body["status"]["conditions"] = json!([cond]),
    }
    let path = format!("{CSRS}/{name}/approval");
    let v = client.put(&path, &body).await?;
    expect_kind(&v, &["CertificateSigningRequest"], &format!("PUT {path}"))
}

/// The Node `name` (`Ok(None)` when it does not exist). `name` comes from a CSR (its requestor
/// or CN): anything that is not a DNS-1123 subdomain (at most 253 of `a-z0-9.-`) is not looked
/// up and is `Ok(None)`, so an untrusted name never shapes the request path.
pub async fn get_node(client: &ApiClient, name: &str) -> Result<Option<Node>, Failure> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.'])
        && !name.ends_with(['-', '.']);
    if !valid {
        return Ok(None);
    }
    match client.get_opt(&format!("{NODES}/{name}")).await? {
        None => Ok(None),
        Some(v) => crate::k8s::typed(v, &format!("Node {name}")).map(Some),
    }
}

/// The Nodes a serving CSR's checks may look at: the requestor's `system:node:<name>` and the
/// request's CN without that prefix (the checks compare the two, and take the Node of the
/// requestor, else of the CN), without duplicates. Empty when neither names a node.
pub fn node_names(csr: &CertificateSigningRequest) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = csr.spec.username.as_deref().and_then(|u| u.strip_prefix("system:node:")) {
        out.push(n.to_string());
    }
    if let Ok(req) = checks::parse_request(csr) {
        let n = req.cn.strip_prefix("system:node:").unwrap_or(&req.cn).to_string();
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// One `joinkit csr` request.
#[derive(Debug, Clone)]
pub enum Request {
    /// `list`: every CSR with joinkit's verdict.
    List,
    /// `explain NAME`: every check of one CSR.
    Explain(String),
    /// `approve|deny NAME...`, optionally as a dry run.
    Decide {
        /// The CSRs.
        names: Vec<String>,
        /// Approve or deny (with its reason).
        decision: Decision,
        /// Write nothing; say what would be written.
        dry_run: bool,
    },
}

/// Runs one `joinkit csr` request with the admin options: the report (stage `kubeconfig`
/// first) and, for `list`, the table text output prints.
pub async fn run(api: &ApiOptions, command: &str, request: &Request, opts: &CheckOptions) -> (Report, String) {
    let mut report = Report::new(command);
    let mut table = String::new();
    let Some(client) = connect(api, &mut report).await else { return (report, table) };
    match request {
        Request::List => {
            report.start();
            match fetch(&client).await {
                Ok(cluster) => {
                    let rows = rows(&cluster, opts);
                    report.pass(CsrStage::List, format!("{} CSR(s)", rows.len()));
                    table = self::table(&rows);
                    report.set("csrs", &rows);
                }
                Err(f) => report.fail(f),
            }
        }
        Request::Explain(name) => explain(&client, name, opts, &mut report).await,
        Request::Decide { names, decision, dry_run } => {
            decide(&client, names, decision, opts, *dry_run, &mut report).await
        }
    }
    (report, table)
}
