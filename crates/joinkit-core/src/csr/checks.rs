//! The checks joinkit makes of a CertificateSigningRequest before it approves one, as pure
//! functions over k8s-openapi objects (the CSR, the Nodes, the other CSRs, the
//! ClusterRoleBindings) and [`CheckOptions`]. Upstream: the kubelet-serving rules of
//! `k8s.io/kubernetes/pkg/apis/certificates/v1/helpers.go` (`IsKubeletServingCSR`,
//! `ValidateKubeletServingCSR`: requestor, CN, O, usages, SANs), which no built-in controller
//! applies (kubelet serving CSRs are left to the cluster's own approver), and the kubelet
//! client auto-approval rules of kube-controller-manager's csrapproving controller
//! (`pkg/controller/certificates/approver/sarapprove.go`: `nodeclient` for bootstrappers,
//! `selfnodeclient` for renewals), with the RBAC bindings matched by `crate::k8s::binding_grants`
//! as `token describe` and `diagnose` match them.

use crate::bootstrap::KUBELET_CLIENT_SIGNER;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use serde::Serialize;
use std::net::IpAddr;

use super::options::canonical;
pub use super::options::{CheckOptions, Cidr};

/// The kubelet serving signer.
pub const KUBELET_SERVING_SIGNER: &str = "kubernetes.io/kubelet-serving";
/// The ClusterRole that lets bootstrappers have their node client CSR auto-approved.
pub const NODECLIENT_ROLE: &str = "system:certificates.k8s.io:certificatesigningrequests:nodeclient";
/// The ClusterRole that lets nodes have the renewal of their own client CSR auto-approved.
pub const SELFNODECLIENT_ROLE: &str = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient";

crate::stages! {
    /// The checks of a CSR, each recorded as a stage by `csr explain`.
    pub enum CsrCheck {
        /// The signer is one joinkit judges.
        Signer = "signer",
        /// `spec.request` is a PEM PKCS#10 request.
        Request = "request",
        /// Serving: the requestor is `system:node:<n>` in `system:nodes`; client: a bootstrapper
        /// or the node itself.
        Requestor = "requestor",
        /// The subject's CN is the requestor (serving) or a node's (client).
        CommonName = "common-name",
        /// The subject's O is exactly `system:nodes`.
        Organization = "organization",
        /// The usages are exactly the signer's set.
        Usages = "usages",
        /// Serving: only DNS and IP SANs (no URI, email or other names); client: no SANs at all.
        SanTypes = "san-types",
        /// Serving: every DNS and IP SAN is one of the Node's `.status.addresses`.
        SanNode = "san-node",
        /// Serving, with `--dns-regex`: every DNS SAN matches it.
        DnsRegex = "dns-regex",
        /// Serving, with `--allowed-cidr`: every IP SAN is within one of them.
        IpCidrs = "ip-cidrs",
        /// Serving: the Node exists.
        NodeExists = "node-exists",
        /// `spec.expirationSeconds` is within `--max-expiration`.
        Expiration = "expiration",
        /// The key is RSA >= 2048 bits, ECDSA P-256/P-384 or Ed25519.
        Key = "key",
        /// Serving: no other pending CSR of the same node asks for different SANs.
        PendingConflict = "pending-conflict",
        /// Client: a ClusterRoleBinding lets the requestor's groups have it auto-approved.
        Autoapprove = "autoapprove-binding",
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check's name (a [`CsrCheck`]).
    pub check: &'static str,
    /// True when it passed.
    pub passed: bool,
    /// Why, naming what was expected and what was seen.
    pub why: String,
}

/// Every check of one CSR.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The CSR's name.
    pub name: String,
    /// `spec.signerName`.
    pub signer: String,
    /// `spec.username`.
    pub requestor: String,
    /// The checks in the order they ran.
    pub checks: Vec<CheckResult>,
    /// True when every check passed: joinkit would approve it.
    pub passed: bool,
}

impl Verdict {
    /// The checks that failed.
    pub fn failed(&self) -> Vec<&CheckResult> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }

    /// `approvable`, or `fails: a, b`.
    pub fn summary(&self) -> String {
        if self.passed {
            "approvable".into()
        } else {
            format!("fails: {}", self.failed().iter().map(|c| c.check).collect::<Vec<_>>().join(", "))
        }
    }
}

pub use super::request::{KeyKind, Request};

const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// Reads `spec.request` as the signer does ([`super::request::read`]: one strict PEM block,
/// canonical DER, one extensionRequest, no duplicate extension, at most
/// [`super::request::MAX_SANS`] SANs). Errors: why it is not judged.
pub fn parse_request(csr: &CertificateSigningRequest) -> Result<Request, String> {
    super::request::read(&csr.spec.request.0)
}

/// Is the key a sound type and size (RSA >= 2048, ECDSA P-256/P-384, Ed25519)?
pub fn key_check(k: &KeyKind) -> Result<String, String> {
    match k {
        KeyKind::Rsa(bits) if *bits >= 2048 => Ok(format!("RSA {bits} bits")),
        KeyKind::Rsa(bits) => Err(format!("RSA {bits} bits: expected at least 2048")),
        KeyKind::Ecdsa(c) if c == OID_P256 => Ok("ECDSA P-256".into()),
        KeyKind::Ecdsa(c) if c == OID_P384 => Ok("ECDSA P-384".into()),
        KeyKind::Ecdsa(c) => Err(format!("ECDSA on curve {c}: expected P-256 or P-384")),
        KeyKind::Ed25519 => Ok("Ed25519".into()),
        KeyKind::Other(o) => Err(format!("key algorithm {o}: expected RSA, ECDSA or Ed25519")),
    }
}

/// The requestor of a serving CSR: `system:node:<n>` in group `system:nodes`; the node name.
pub fn serving_requestor(username: &str, groups: &[String]) -> Result<String, String> {
    let node = username.strip_prefix("system:node:").filter(|n| !n.is_empty()).ok_or_else(|| {
        format!("requested by {username:?}: expected a node, system:node:<name> (anyone else asking for a node's serving certificate is impersonating it)")
    })?;
    if !groups.iter().any(|g| g == "system:nodes") {
        return Err(format!("requested by {username:?} in groups {groups:?}: expected the group system:nodes"));
    }
    Ok(node.to_string())
}

/// The CN must be the requestor.
pub fn common_name_is(req: &Request, username: &str) -> Result<String, String> {
    if req.cn == username {
        Ok(format!("CN {:?} is the requestor", req.cn))
    } else {
        Err(format!("CN {:?} differs from the requestor {username:?}", req.cn))
    }
}

/// O must be exactly `[system:nodes]`.
pub fn organization(req: &Request) -> Result<String, String> {
    if req.orgs == ["system:nodes"] {
        Ok("O is exactly system:nodes".into())
    } else {
        Err(format!("O is {:?}: expected exactly [\"system:nodes\"] (any other group, system:masters above all, would be granted to the certificate's holder)", req.orgs))
    }
}

fn sorted(usages: &[String]) -> Vec<&str> {
    let mut u: Vec<&str> = usages.iter().map(String::as_str).collect();
    u.sort_unstable();
    u.dedup();
    u
}

/// Serving usages: exactly {digital signature, server auth} or {digital signature, key
/// encipherment, server auth}, whatever the key. The second set is what kubelets before v1.27
/// ask for with their ECDSA key and what the v1.24-v1.26 `kubelet-serving` signer requires
/// (measured on v1.24.0: a CSR without key encipherment is approved, then `Failed` by the
/// signer); kubernetes#111660 (v1.27) stopped asking for it with non-RSA keys, and the signer
/// has accepted both sets since (`pkg/apis/certificates/v1/helpers.go`,
/// `ValidateKubeletServingCSR`). Key encipherment grants nothing to an ECDSA key; anything else
/// (client auth, signing, ...) fails. `key` is named in the detail.
pub fn serving_usages(usages: &[String], key: &KeyKind) -> Result<String, String> {
    let u = sorted(usages);
    let ok = u == ["digital signature", "server auth"] || u == ["digital signature", "key encipherment", "server auth"];
    let rsa = matches!(key, KeyKind::Rsa(_));
    if ok {
        let note = if !rsa && u.len() == 3 {
            " (key encipherment with a non-RSA key: what kubelets before v1.27 ask for, kubernetes#111660)"
        } else {
            ""
        };
        Ok(format!("usages {u:?}{note}"))
    } else {
        Err(format!(
            "usages {u:?}: expected exactly digital signature and server auth, optionally with key encipherment (kubelet-serving signer, pkg/apis/certificates/v1/helpers.go)"
        ))
    }
}

/// Client usages: {digital signature, key encipherment, client auth} or {digital signature,
/// client auth} (the csrapproving controller's rule).
pub fn client_usages(usages: &[String]) -> Result<String, String> {
    let u = sorted(usages);
    if u == ["client auth", "digital signature", "key encipherment"] || u == ["client auth", "digital signature"] {
        Ok(format!("usages {u:?}"))
    } else {
        Err(format!("usages {u:?}: expected client auth and digital signature (and optionally key encipherment)"))
    }
}

/// Serving SAN types: DNS and IP only, and at least one of them.
pub fn serving_san_types(req: &Request) -> Result<String, String> {
    if !req.uris.is_empty() || !req.emails.is_empty() || req.other_sans > 0 {
        return Err(format!(
            "URI SANs {:?}, email SANs {:?}, {} other SAN(s): a serving certificate may name only DNS names and IPs",
            req.uris, req.emails, req.other_sans
        ));
    }
    if req.dns.is_empty() && req.ips.is_empty() {
        return Err("no DNS or IP SAN: a serving certificate must name at least one".into());
    }
    Ok(format!("{} DNS and {} IP SAN(s), nothing else", req.dns.len(), req.ips.len()))
}

/// Client SANs: none.
pub fn no_sans(req: &Request) -> Result<String, String> {
    let sans = req.sans();
    if sans.is_empty() && req.other_sans == 0 {
        Ok("no SANs".into())
    } else {
        Err(format!("SANs {sans:?}: a kubelet client certificate has none"))
    }
}

/// Every DNS and IP SAN is one of the Node's `.status.addresses`.
pub fn sans_on_node(req: &Request, node: Option<&Node>, node_name: &str) -> Result<String, String> {
    let Some(node) = node else { return Err(format!("no Node {node_name:?} to compare the SANs with")) };
    let addrs: Vec<&str> =
        node.status.iter().flat_map(|s| s.addresses.iter().flatten()).map(|a| a.address.as_str()).collect();
    let node_ips: Vec<IpAddr> = addrs.iter().filter_map(|a| a.parse::<IpAddr>().ok()).map(canonical).collect();
    let mut stray: Vec<String> = req
        .dns
        .iter()
        .filter(|d| !addrs.iter().any(|a| a.eq_ignore_ascii_case(d)))
        .map(|d| format!("DNS:{d}"))
        .collect();
    stray.extend(req.ips.iter().filter(|i| !node_ips.contains(&canonical(**i))).map(|i| format!("IP:{i}")));
    if stray.is_empty() {
        Ok(format!("every SAN is an address of Node {node_name} ({})", addrs.join(", ")))
    } else {
        Err(format!("{} not among Node {node_name}'s addresses [{}]", stray.join(", "), addrs.join(", ")))
    }
}

/// With `--dns-regex`, every DNS SAN matches it.
pub fn dns_regex(req: &Request, opts: &CheckOptions) -> Result<String, String> {
    let Some(re) = &opts.dns_regex else { return Ok("no --dns-regex given".into()) };
    let bad: Vec<&String> = req.dns.iter().filter(|d| !re.is_match(d)).collect();
    if bad.is_empty() {
        Ok(format!("every DNS SAN matches {}", re.as_str()))
    } else {
        Err(format!("DNS SANs {bad:?} do not match --dns-regex {}", re.as_str()))
    }
}

/// With `--allowed-cidr`, every IP SAN is inside one.
pub fn ip_cidrs(req: &Request, opts: &CheckOptions) -> Result<String, String> {
    if opts.allowed_cidrs.is_empty() {
        return Ok("no --allowed-cidr given".into());
    }
    let list = opts.allowed_cidrs.iter().map(Cidr::to_string).collect::<Vec<_>>().join(", ");
    let bad: Vec<String> =
        req.ips.iter().filter(|i| !opts.allowed_cidrs.iter().any(|c| c.contains(**i))).map(|i| i.to_string()).collect();
    if bad.is_empty() {
        Ok(format!("every IP SAN is within {list}"))
    } else {
        Err(format!("IP SANs {bad:?} are outside --allowed-cidr {list}"))
    }
}

/// `spec.expirationSeconds` within the cap (absent: the signer's default duration applies).
pub fn expiration(seconds: Option<i32>, opts: &CheckOptions) -> Result<String, String> {
    match (seconds, opts.max_expiration_seconds) {
        (Some(s), Some(max)) if i64::from(s) > max => {
            Err(format!("expirationSeconds {s}: more than --max-expiration {max}s"))
        }
        (Some(s), _) => Ok(format!("expirationSeconds {s}")),
        (None, Some(_)) => Ok("no expirationSeconds: the signer's --cluster-signing-duration applies".into()),
        (None, None) => Ok("no expirationSeconds and no --max-expiration".into()),
    }
}

/// The Node named `name` exists.
pub fn node_exists<'a>(nodes: &'a [Node], name: &str) -> Result<&'a Node, String> {
    nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| format!("no Node {name:?}: a serving certificate is only for a registered node"))
}

/// True when the CSR has an `Approved` or `Denied` (or `Failed`) condition.
pub fn decided(csr: &CertificateSigningRequest) -> bool {
    csr.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.status == "True" && ["Approved", "Denied", "Failed"].contains(&c.type_.as_str()))
}

/// At most this many other pending CSRs of one requestor are compared (each is parsed); more is
/// a `pending-conflict` failure by itself: a kubelet has one or two pending at a time, and a
/// requestor with hundreds must not make every verdict parse them all.
pub const MAX_PENDING_SIBLINGS: usize = 64;

/// No other pending serving CSR of the same requestor asks for different SANs (at most
/// [`MAX_PENDING_SIBLINGS`] are compared).
pub fn pending_conflict(
    csr: &CertificateSigningRequest,
    req: &Request,
    others: &[CertificateSigningRequest],
) -> Result<String, String> {
    let mine = {
        let mut s = req.sans();
        s.sort();
        s
    };
    let pending: Vec<&CertificateSigningRequest> = others
        .iter()
        .filter(|o| o.metadata.name != csr.metadata.name && !decided(o))
        .filter(|o| o.spec.signer_name == csr.spec.signer_name && o.spec.username == csr.spec.username)
        .collect();
    if pending.len() > MAX_PENDING_SIBLINGS {
        return Err(format!(
            "{} other pending CSRs of the same requestor (more than {MAX_PENDING_SIBLINGS}): not compared; a kubelet has one or two",
            pending.len()
        ));
    }
    let conflicting: Vec<String> = pending
        .into_iter()
        .filter(|o| {
            parse_request(o)
                .map(|r| {
                    let mut s = r.sans();
                    s.sort();
                    s != mine
                })
                .unwrap_or(true)
        })
        .map(|o| crate::k8s::name_of(&o.metadata).to_string())
        .collect();
    if conflicting.is_empty() {
        Ok("no other pending CSR of this node asks for different SANs".into())
    } else {
        Err(format!("other pending CSR(s) of the same node ask for different SANs: {}", conflicting.join(", ")))
    }
}

/// Client: the requestor is a bootstrapper (nodeclient) or the node itself renewing
/// (selfnodeclient), and a ClusterRoleBinding grants the matching role to its groups.
pub fn autoapprove_binding(
    req: &Request,
    username: &str,
    groups: &[String],
    bindings: &[ClusterRoleBinding],
) -> Result<String, String> {
    let (role, what) = if username == req.cn {
        (SELFNODECLIENT_ROLE, "the node renewing its own client certificate")
    } else {
        (NODECLIENT_ROLE, "a bootstrapper asking for a new node's client certificate")
    };
    match bindings.iter().find(|b| crate::k8s::binding_grants(b, role, groups)) {
        Some(b) => Ok(format!("{what}: ClusterRoleBinding {} grants {role} to the requestor's groups", crate::k8s::name_of(&b.metadata))),
        None => Err(format!("{what}: no ClusterRoleBinding grants {role} to the requestor's groups {groups:?}, so kube-controller-manager would not approve it (kubeadm's bindings: kubeadm:node-autoapprove-bootstrap, kubeadm:node-autoapprove-certificate-rotation)")),
    }
}

/// Client requestor: the node itself, or a member of `system:bootstrappers`.
pub fn client_requestor(req: &Request, username: &str, groups: &[String]) -> Result<String, String> {
    if username == req.cn {
        Ok(format!("{username} renews its own client certificate"))
    } else if groups.iter().any(|g| g == "system:bootstrappers") {
        Ok(format!("{username} is a bootstrapper (group system:bootstrappers)"))
    } else {
        Err(format!("requested by {username:?} in groups {groups:?} for {:?}: expected the node itself or a bootstrapper (system:bootstrappers)", req.cn))
    }
}

/// Client CN: `system:node:<name>`.
pub fn client_common_name(req: &Request) -> Result<String, String> {
    match req.cn.strip_prefix("system:node:") {
        Some(n) if !n.is_empty() => Ok(format!("CN {:?} names node {n}", req.cn)),
        _ => Err(format!("CN {:?}: expected system:node:<name>", req.cn)),
    }
}

/// The nodes, CSRs and bindings a verdict is made against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Every Node.
    pub nodes: &'a [Node],
    /// Every CSR (the one judged may be among them).
    pub csrs: &'a [CertificateSigningRequest],
    /// Every ClusterRoleBinding.
    pub bindings: &'a [ClusterRoleBinding],
}

/// Runs every check that applies to `csr`'s signer.
pub fn verdict(csr: &CertificateSigningRequest, ctx: Context<'_>, opts: &CheckOptions) -> Verdict {
    let spec = &csr.spec;
    let username = spec.username.clone().unwrap_or_default();
    let groups = spec.groups.clone().unwrap_or_default();
    let usages = spec.usages.clone().unwrap_or_default();
    let mut checks = Vec::new();
    let mut add = |c: CsrCheck, r: Result<String, String>| {
        let (passed, why) = match r {
            Ok(w) => (true, w),
            Err(w) => (false, w),
        };
        checks.push(CheckResult { check: crate::report::StageId::name(c), passed, why });
    };
    let serving = spec.signer_name == KUBELET_SERVING_SIGNER;
    if !serving && spec.signer_name != KUBELET_CLIENT_SIGNER {
        add(
            CsrCheck::Signer,
            Err(format!(
                "signer {:?}: joinkit judges only {KUBELET_SERVING_SIGNER} and {KUBELET_CLIENT_SIGNER}",
                spec.signer_name
            )),
        );
    } else {
        add(CsrCheck::Signer, Ok(spec.signer_name.clone()));
        match parse_request(csr) {
            Err(e) => add(CsrCheck::Request, Err(e)),
            Ok(req) => {
                add(CsrCheck::Request, Ok(format!("{}; SANs [{}]", req.subject(), req.sans().join(", "))));
                if serving {
                    let node = serving_requestor(&username, &groups);
                    let node_name = node
                        .clone()
                        .unwrap_or_else(|_| req.cn.strip_prefix("system:node:").unwrap_or(&req.cn).to_string());
                    add(CsrCheck::Requestor, node.map(|n| format!("node {n} ({username} in system:nodes)")));
                    add(CsrCheck::CommonName, common_name_is(&req, &username));
                    add(CsrCheck::Organization, organization(&req));
                    add(CsrCheck::Usages, serving_usages(&usages, &req.key));
                    add(CsrCheck::SanTypes, serving_san_types(&req));
                    let found = node_exists(ctx.nodes, &node_name);
                    add(CsrCheck::SanNode, sans_on_node(&req, found.as_ref().ok().copied(), &node_name));
                    add(CsrCheck::DnsRegex, dns_regex(&req, opts));
                    add(CsrCheck::IpCidrs, ip_cidrs(&req, opts));
                    add(CsrCheck::NodeExists, found.map(|_| format!("Node {node_name} exists")));
                    add(CsrCheck::Expiration, expiration(spec.expiration_seconds, opts));
                    add(CsrCheck::Key, key_check(&req.key));
                    add(CsrCheck::PendingConflict, pending_conflict(csr, &req, ctx.csrs));
                } else {
                    add(CsrCheck::Requestor, client_requestor(&req, &username, &groups));
                    add(CsrCheck::CommonName, client_common_name(&req));
                    add(CsrCheck::Organization, organization(&req));
                    add(CsrCheck::Usages, client_usages(&usages));
                    add(CsrCheck::SanTypes, no_sans(&req));
                    add(CsrCheck::Expiration, expiration(spec.expiration_seconds, opts));
                    add(CsrCheck::Key, key_check(&req.key));
                    add(CsrCheck::Autoapprove, autoapprove_binding(&req, &username, &groups, ctx.bindings));
                }
            }
        }
    }
    let passed = checks.iter().all(|c| c.passed);
    Verdict {
        name: crate::k8s::name_of(&csr.metadata).to_string(),
        signer: spec.signer_name.clone(),
        requestor: username,
        checks,
        passed,
    }
}
