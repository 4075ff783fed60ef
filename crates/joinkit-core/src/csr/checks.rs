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
use std::collections::{BTreeSet, HashMap, HashSet};
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
        /// Serving: every DNS and IP SAN is one of the Node's `.status.addresses` (at most
        /// [`MAX_NODE_ADDRESSES`] are read).
        SanNode = "san-node",
        /// Serving: no SAN is a name or address the cluster itself uses or that no node can own
        /// (the API server's names and addresses, Service names and addresses, wildcards,
        /// loopback, link-local, unspecified, multicast).
        SanReserved = "san-reserved",
        /// Serving: no SAN is also an address of another Node.
        SanUnique = "san-unique",
        /// Serving: every DNS SAN is the node's name or one of its Hostname addresses, or, with
        /// `--dns-regex`, matches it.
        DnsNames = "dns-names",
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

/// The API server's version as its `/version` reports it (`major`, `minor`; a provider's
/// `"24+"` is read as 24), read by `csr::cluster_names`: the signers' usage rules changed in
/// v1.27.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    /// `major`.
    pub major: u32,
    /// `minor`, without a trailing `+`.
    pub minor: u32,
    /// `gitVersion` (`v1.24.0+0`), as shown in the checks' details.
    pub git_version: String,
}

impl ServerVersion {
    /// Reads a `/version` body; None when `major` or `minor` is not a number (then the v1.27+
    /// rules apply, and the checks say the version is unknown).
    pub fn from_version_body(v: &serde_json::Value) -> Option<ServerVersion> {
        let num = |k: &str| -> Option<u32> {
            let s = v.get(k)?.as_str()?;
            let digits: &str = s.trim_end_matches('+');
            (!digits.is_empty() && digits.len() <= 4 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
        };
        let git: String = v.get("gitVersion").and_then(|g| g.as_str()).unwrap_or("").chars().take(64).collect();
        Some(ServerVersion { major: num("major")?, minor: num("minor")?, git_version: git })
    }

    /// True before v1.27: the `kubernetes.io/kubelet-serving` and
    /// `kubernetes.io/kube-apiserver-client-kubelet` signers (and the latter's auto-approver)
    /// accept only the usage set with key encipherment, whatever the key.
    pub fn requires_key_encipherment(&self) -> bool {
        (self.major, self.minor) < (1, 27)
    }

    fn shown(&self) -> String {
        if self.git_version.is_empty() {
            format!("v{}.{}", self.major, self.minor)
        } else {
            crate::report::escape_controls(&self.git_version).into_owned()
        }
    }
}

/// The usage sets a kubelet signer accepts, with the API server's version: `{digital signature,
/// key encipherment, <eku>}` alone before v1.27, also `{digital signature, <eku>}` since, for
/// every key type. Upstream (`pkg/apis/certificates/helpers.go`, `ValidateKubeletServingCSR`
/// and `ValidateKubeletClientCSR`, which the signer runs before it signs,
/// `pkg/controller/certificates/signer/signer.go`, and the client auto-approver too,
/// `pkg/controller/certificates/approver/sarapprove.go`): up to v1.26 the usages must equal
/// `kubeletServingRequiredUsages` (digital signature, key encipherment, server auth), else the
/// signer sets `Failed` (`SignerValidationFailure`, "usages did not match [digital signature
/// key encipherment server auth]") on an approved CSR and never issues it; v1.27 added
/// `kubeletServingRequiredUsagesNoRSA` (digital signature, server auth) as an alternative,
/// still for any key, when the kubelet stopped asking for key encipherment with non-RSA keys
/// (`pkg/kubelet/certificate/kubelet.go`). Measured on v1.24.0 and v1.36.2
/// (tests/it/real_kubelet.rs, docs/real-kubelet.md). Returns `Err` with the reason naming the
/// version when `usages` (sorted, deduplicated) is not accepted.
fn signer_usages(
    usages: &[String],
    eku: &str,
    signer: &str,
    version: Option<&ServerVersion>,
) -> Result<Vec<String>, String> {
    let u = sorted(usages);
    let mut with_ke = vec!["digital signature", "key encipherment", eku];
    with_ke.sort_unstable();
    let mut without = vec!["digital signature", eku];
    without.sort_unstable();
    let owned = || u.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match version {
        Some(v) if v.requires_key_encipherment() => {
            if u == with_ke {
                Ok(owned())
            } else if u == without {
                Err(format!(
                    "usages {u:?}: the API server is {}, whose {signer} signer (before v1.27) requires exactly digital signature, key encipherment and {eku} with any key type; an approved CSR without key encipherment is marked Failed by kube-controller-manager (SignerValidationFailure: usages did not match [digital signature key encipherment {eku}]) and never issued",
                    v.shown()
                ))
            } else {
                Err(format!(
                    "usages {u:?}: expected exactly digital signature, key encipherment and {eku} (the {signer} signer of {}, before v1.27)",
                    v.shown()
                ))
            }
        }
        _ if u == with_ke || u == without => Ok(owned()),
        _ => Err(format!(
            "usages {u:?}: expected exactly digital signature and {eku}, optionally with key encipherment ({signer} signer, pkg/apis/certificates/helpers.go)"
        )),
    }
}

/// Serving usages: exactly {digital signature, server auth} or {digital signature, key
/// encipherment, server auth}, whatever the key, on an API server v1.27+ (or of unknown
/// version); only the second before v1.27 ([`signer_usages`]: that signer fails the first).
/// Key encipherment grants nothing to an ECDSA key; anything else (client auth, signing, ...)
/// fails. `key` and the version are named in the detail.
pub fn serving_usages(usages: &[String], key: &KeyKind, version: Option<&ServerVersion>) -> Result<String, String> {
    let u = signer_usages(usages, "server auth", KUBELET_SERVING_SIGNER, version)?;
    let rsa = matches!(key, KeyKind::Rsa(_));
    let note = match version {
        Some(v) if v.requires_key_encipherment() => format!(" (what the signer of {} requires)", v.shown()),
        Some(v) if !rsa && u.len() == 3 => format!(
            " (key encipherment with a non-RSA key: what kubelets before v1.27 ask for; the signer of {} accepts both sets)",
            v.shown()
        ),
        Some(v) => format!(" (the signer of {} accepts both sets)", v.shown()),
        None if !rsa && u.len() == 3 => " (key encipherment with a non-RSA key: what kubelets before v1.27 ask for; API server version unknown: the v1.27+ rule)".to_string(),
        None => " (API server version unknown: the v1.27+ rule)".to_string(),
    };
    Ok(format!("usages {u:?}{note}"))
}

/// Client usages: {digital signature, key encipherment, client auth} or {digital signature,
/// client auth} (the csrapproving controller's and the signer's rule, [`signer_usages`]), only
/// the first before v1.27.
pub fn client_usages(usages: &[String], version: Option<&ServerVersion>) -> Result<String, String> {
    let u = signer_usages(usages, "client auth", KUBELET_CLIENT_SIGNER, version)?;
    Ok(format!("usages {u:?}"))
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

/// At most this many `.status.addresses` of a Node are read (a node has a handful: hostname,
/// internal and external IPs and DNS names, both families). A Node reporting more fails
/// `san-node`; the address index ([`NodeAddresses`]) keeps only the first this many.
pub const MAX_NODE_ADDRESSES: usize = 128;

/// An address as the checks compare it: an IP in canonical form (IPv4-mapped IPv6 as IPv4),
/// anything else lower case without one trailing dot (DNS names are case-insensitive).
pub fn address_key(a: &str) -> String {
    match a.parse::<IpAddr>() {
        Ok(ip) => canonical(ip).to_string(),
        Err(_) => a.strip_suffix('.').unwrap_or(a).to_ascii_lowercase(),
    }
}

/// Each SAN as `DNS:x`/`IP:y` with its [`address_key`].
fn san_keys(req: &Request) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = req.dns.iter().map(|d| (format!("DNS:{d}"), address_key(d))).collect();
    v.extend(req.ips.iter().map(|i| (format!("IP:{i}"), canonical(*i).to_string())));
    v
}

/// The Node's addresses `(type, address)`, or how many it has when over [`MAX_NODE_ADDRESSES`].
fn node_addresses(node: &Node) -> Result<Vec<(&str, &str)>, usize> {
    let all = node.status.as_ref().and_then(|s| s.addresses.as_ref());
    let n = all.map_or(0, Vec::len);
    if n > MAX_NODE_ADDRESSES {
        return Err(n);
    }
    Ok(all.into_iter().flatten().map(|a| (a.type_.as_str(), a.address.as_str())).collect())
}

/// Every DNS and IP SAN is one of the Node's `.status.addresses` (a set lookup per SAN).
pub fn sans_on_node(req: &Request, node: Option<&Node>, node_name: &str) -> Result<String, String> {
    let Some(node) = node else { return Err(format!("no Node {node_name:?} to compare the SANs with")) };
    let addrs = node_addresses(node)
        .map_err(|n| format!("Node {node_name} reports {n} addresses: more than {MAX_NODE_ADDRESSES}, not compared"))?;
    let keys: HashSet<String> = addrs.iter().map(|(_, a)| address_key(a)).collect();
    let list = || addrs.iter().map(|(_, a)| *a).collect::<Vec<_>>().join(", ");
    let stray: Vec<String> = san_keys(req).into_iter().filter(|(_, k)| !keys.contains(k)).map(|(s, _)| s).collect();
    if stray.is_empty() {
        Ok(format!("every SAN is an address of Node {node_name} ({})", list()))
    } else {
        Err(format!("{} not among Node {node_name}'s addresses [{}]", stray.join(", "), list()))
    }
}

/// What the cluster itself uses, which no node's serving certificate may name: read from the
/// API server's own serving certificate and kubeadm's ClusterConfiguration (`kubeadm-config`)
/// by `csr::cluster_names`; and the API server's version (`/version`), on which the signers'
/// usage rules depend.
#[derive(Debug, Clone, Default)]
pub struct ClusterNames {
    /// The API server's DNS names ([`address_key`] form): its serving certificate's DNS SANs and
    /// the host of `controlPlaneEndpoint`.
    pub dns: HashSet<String>,
    /// The API server's addresses: its serving certificate's IP SANs, the `controlPlaneEndpoint`
    /// host when it is an IP.
    pub ips: HashSet<IpAddr>,
    /// The Service CIDRs (`networking.serviceSubnet`, comma-separated for dual-stack).
    pub service_cidrs: Vec<Cidr>,
    /// The cluster's DNS domain (`networking.dnsDomain`), when known; `cluster.local` is always
    /// refused besides.
    pub dns_domain: Option<String>,
    /// Where the above came from, or why a source could not be read (for the check's detail).
    pub sources: Vec<String>,
    /// The API server's `/version`, when read: the signers' usage rules depend on it.
    pub version: Option<ServerVersion>,
}

/// Why a DNS name is one no node can own, if it is (`name` in [`address_key`] form).
fn reserved_dns(name: &str, cluster: &ClusterNames) -> Option<String> {
    let under = |suffix: &str| name == suffix || name.ends_with(&format!(".{suffix}"));
    if name.contains('*') {
        Some("a wildcard".into())
    } else if under("localhost") {
        Some("a loopback name".into())
    } else if name == "kubernetes" || name.starts_with("kubernetes.default") {
        Some("the API server's Service name".into())
    } else if cluster.dns.contains(name) {
        Some("a name of the API server (its serving certificate or controlPlaneEndpoint)".into())
    } else if name.ends_with(".svc") || name.contains(".svc.") || under("cluster.local") {
        Some("a Service name (*.svc, *.cluster.local)".into())
    } else {
        let domain = cluster.dns_domain.as_deref().filter(|d| under(&d.to_ascii_lowercase()));
        domain.map(|d| format!("a name in the cluster's DNS domain {d}"))
    }
}

/// Why an IP is one no node can own, if it is.
fn reserved_ip(ip: IpAddr, cluster: &ClusterNames) -> Option<String> {
    let ip = canonical(ip);
    let link_local = match ip {
        IpAddr::V4(v) => v.is_link_local(),
        IpAddr::V6(v) => (v.segments()[0] & 0xffc0) == 0xfe80,
    };
    let broadcast = matches!(ip, IpAddr::V4(v) if v.is_broadcast());
    if ip.is_loopback() {
        Some("a loopback address".into())
    } else if ip.is_unspecified() {
        Some("the unspecified address".into())
    } else if link_local {
        Some("a link-local address".into())
    } else if ip.is_multicast() || broadcast {
        Some("a multicast or broadcast address".into())
    } else if cluster.ips.contains(&ip) {
        Some("an address of the API server (its serving certificate or controlPlaneEndpoint)".into())
    } else {
        cluster.service_cidrs.iter().find(|c| c.contains(ip)).map(|c| format!("in the Service CIDR {c}"))
    }
}

/// No SAN is a name or address the cluster itself uses, or that no node can own (see
/// [`CsrCheck::SanReserved`]). A node can write any address into its own Node status
/// (NodeRestriction lets it), so `san-node` alone would let it claim these.
pub fn reserved_sans(req: &Request, cluster: &ClusterNames) -> Result<String, String> {
    let mut bad: Vec<String> = req
        .dns
        .iter()
        .filter_map(|d| reserved_dns(&address_key(d), cluster).map(|w| format!("DNS:{d} ({w})")))
        .collect();
    bad.extend(req.ips.iter().filter_map(|i| reserved_ip(*i, cluster).map(|w| format!("IP:{i} ({w})"))));
    let from = if cluster.sources.is_empty() {
        String::new()
    } else {
        format!("; cluster names from {}", cluster.sources.join(", "))
    };
    if bad.is_empty() {
        Ok(format!("no SAN is a cluster name or an address no node can own{from}"))
    } else {
        Err(format!("{}: a node's serving certificate may not name it{from}", bad.join(", ")))
    }
}

/// Which Nodes report which address: an index built once per list (or kept up to date by the
/// approver's Node watch), so "is this address another Node's?" is one lookup per SAN.
#[derive(Debug, Clone, Default)]
pub struct NodeAddresses {
    by_address: HashMap<String, BTreeSet<String>>,
    by_node: HashMap<String, Vec<String>>,
}

impl NodeAddresses {
    /// The index of `nodes`.
    pub fn from_nodes(nodes: &[Node]) -> NodeAddresses {
        let mut ix = NodeAddresses::default();
        for n in nodes {
            ix.upsert(n);
        }
        ix
    }

    /// Adds or replaces a Node's addresses (the first [`MAX_NODE_ADDRESSES`]).
    pub fn upsert(&mut self, node: &Node) {
        let name = crate::k8s::name_of(&node.metadata).to_string();
        self.remove(&name);
        let keys: Vec<String> = node
            .status
            .iter()
            .flat_map(|s| s.addresses.iter().flatten())
            .take(MAX_NODE_ADDRESSES)
            .map(|a| address_key(&a.address))
            .collect();
        for k in &keys {
            self.by_address.entry(k.clone()).or_default().insert(name.clone());
        }
        self.by_node.insert(name, keys);
    }

    /// Forgets a Node.
    pub fn remove(&mut self, name: &str) {
        for k in self.by_node.remove(name).unwrap_or_default() {
            if let Some(set) = self.by_address.get_mut(&k) {
                set.remove(name);
                if set.is_empty() {
                    self.by_address.remove(&k);
                }
            }
        }
    }

    /// The Nodes other than `node` that report `key` ([`address_key`] form).
    pub fn others<'a>(&'a self, key: &str, node: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.by_address.get(key).into_iter().flatten().map(String::as_str).filter(move |n| *n != node)
    }

    /// How many Nodes are indexed.
    pub fn len(&self) -> usize {
        self.by_node.len()
    }

    /// True when no Node is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_node.is_empty()
    }
}

/// No SAN is also an address of another Node: two nodes reporting one address means at least
/// one of them is not its owner, and the certificate would let this node serve as the other.
pub fn unique_sans(req: &Request, node_name: &str, index: &NodeAddresses) -> Result<String, String> {
    let clash: Vec<String> = san_keys(req)
        .into_iter()
        .filter_map(|(s, k)| {
            let others: Vec<&str> = index.others(&k, node_name).take(3).collect();
            (!others.is_empty()).then(|| format!("{s} (also reported by Node {})", others.join(", ")))
        })
        .collect();
    if clash.is_empty() {
        Ok(format!("no SAN is an address of another of the {} Node(s)", index.len()))
    } else {
        Err(format!("{}: an address two Nodes report is not this node's alone", clash.join(", ")))
    }
}

/// DNS SANs: without `--dns-regex`, each is the node's name or one of the Node's `Hostname`
/// addresses; with it, each matches it (whole name).
pub fn dns_names(req: &Request, node_name: &str, node: Option<&Node>, opts: &CheckOptions) -> Result<String, String> {
    if let Some(re) = &opts.dns_regex {
        let bad: Vec<&String> = req.dns.iter().filter(|d| !re.is_match(d)).collect();
        return if bad.is_empty() {
            Ok(format!("every DNS SAN matches --dns-regex {}", re.as_str()))
        } else {
            Err(format!("DNS SANs {bad:?} do not match --dns-regex {}", re.as_str()))
        };
    }
    let mut own: HashSet<String> = HashSet::from([address_key(node_name)]);
    if let Some(Ok(addrs)) = node.map(node_addresses) {
        own.extend(addrs.iter().filter(|(t, _)| *t == "Hostname").map(|(_, a)| address_key(a)));
    }
    let bad: Vec<&String> = req.dns.iter().filter(|d| !own.contains(&address_key(d))).collect();
    if bad.is_empty() {
        Ok("every DNS SAN is the node's name or hostname".into())
    } else {
        Err(format!(
            "DNS SANs {bad:?} are neither the node's name {node_name:?} nor its Hostname address (other names need --dns-regex)"
        ))
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
        .take(MAX_PENDING_SIBLINGS + 1)
        .collect();
    if pending.len() > MAX_PENDING_SIBLINGS {
        return Err(format!(
            "more than {MAX_PENDING_SIBLINGS} other pending CSRs of the same requestor: not compared; a kubelet has one or two"
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
    /// Which Node reports which address (every Node, not only those in `nodes`).
    pub addresses: &'a NodeAddresses,
    /// The names and addresses the cluster itself uses.
    pub cluster: &'a ClusterNames,
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
                    add(CsrCheck::Usages, serving_usages(&usages, &req.key, ctx.cluster.version.as_ref()));
                    add(CsrCheck::SanTypes, serving_san_types(&req));
                    let found = node_exists(ctx.nodes, &node_name);
                    let node = found.as_ref().ok().copied();
                    add(CsrCheck::SanNode, sans_on_node(&req, node, &node_name));
                    add(CsrCheck::SanReserved, reserved_sans(&req, ctx.cluster));
                    add(CsrCheck::SanUnique, unique_sans(&req, &node_name, ctx.addresses));
                    add(CsrCheck::DnsNames, dns_names(&req, &node_name, node, opts));
                    add(CsrCheck::IpCidrs, ip_cidrs(&req, opts));
                    add(CsrCheck::NodeExists, found.map(|_| format!("Node {node_name} exists")));
                    add(CsrCheck::Expiration, expiration(spec.expiration_seconds, opts));
                    add(CsrCheck::Key, key_check(&req.key));
                    add(CsrCheck::PendingConflict, pending_conflict(csr, &req, ctx.csrs));
                } else {
                    add(CsrCheck::Requestor, client_requestor(&req, &username, &groups));
                    add(CsrCheck::CommonName, client_common_name(&req));
                    add(CsrCheck::Organization, organization(&req));
                    add(CsrCheck::Usages, client_usages(&usages, ctx.cluster.version.as_ref()));
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
