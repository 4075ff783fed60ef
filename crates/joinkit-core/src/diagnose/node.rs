//! `joinkit diagnose`: walk the whole join path from the failing node and name the first broken
//! link with its failure domain, evidence and fix, in the shape on-call runbooks use (seed 003:
//! `root_cause`, `failure_domain`, `evidence[]`, `mitigation {immediate, long_term}`).
//!
//! Order follows `kubeadm join`: local preflight state (leftovers of an earlier attempt, port
//! 10250, the container runtime socket, kernel settings), then the network (name, route, TCP),
//! discovery and a dry-run TLS bootstrap; with an admin kubeconfig, server-side evidence (the
//! token's Secret, cluster-info and its RBAC, the bootstrapsigner, kubeadm's bindings, pending
//! CSRs, an existing Node) runs concurrently and refines the root cause; with
//! `--control-plane --certificate-key`, the uploaded certificates are fetched with the
//! bootstrap token and decrypted. Files are read under `--root` so tests use a fake tree.

use crate::bootstrap::{self, BootstrapOptions};
use crate::client::api::{ApiClient, ApiOptions, Identity};
use crate::error::{Code, Domain, Failure};
use crate::report::{Report, Stage, Status};
use crate::token::manage::JOIN_BINDINGS;
use crate::token::secret::TokenSecret;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
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
    /// Bound for the whole run.
    pub timeout: Duration,
}

/// The failure domain of a failure code.
pub fn domain_of(code: Code) -> Domain {
    use Code::*;
    match code {
        DnsFailure => Domain::Dns,
        ConnectionRefused | ConnectTimeout | NoRoute | TlsHandshakeFailed | RequestTimeout => Domain::Network,
        ClusterInfoForbidden => Domain::Rbac,
        ClusterInfoNotFound | ClusterInfoHttpError | KubeconfigMissing | KubeconfigInvalid => Domain::ControlPlane,
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
    }
}

struct Found {
    domain: Domain,
    failure: Failure,
}

fn add(
    report: &mut Report,
    found: &mut Vec<Found>,
    name: &'static str,
    domain: Domain,
    status: Status,
    detail: String,
    failure: Option<Failure>,
) {
    report.push_stage(Stage { name: name.to_string(), file: None, status, detail: detail.clone(), duration_ms: 0.0 });
    if status == Status::Warn {
        report.push_warning(format!("{name}: {detail}"));
    }
    if let Some(f) = failure {
        found.push(Found { domain, failure: f.at(name) });
    }
}

fn fail(code: Code, msg: String, cause: &str, fix: &str) -> Option<Failure> {
    Some(Failure::new(code, "", msg).cause(cause).fix(fix))
}

fn under(root: &Path, p: &str) -> PathBuf {
    root.join(p.trim_start_matches('/'))
}

/// Bytes read from a kernel table under `--root` (`/proc/net/tcp{,6}`, `/proc/net/route`,
/// `/proc/net/ipv6_route`, `/proc/swaps`): about 28,000 sockets of /proc/net/tcp. A bigger
/// table is reported as unreadable, never read without end.
pub const PROC_TABLE_LIMIT: u64 = 4 << 20;
/// Bytes read from any other file under `--root` (`/proc/sys/net/ipv4/ip_forward`, ...).
pub const FILE_LIMIT: u64 = 1 << 20;

/// Reads `p` under `root` bounded by `limit`: regular files only, opened non-blocking (a FIFO,
/// a device such as /dev/zero, a socket or a directory is refused; /proc files that report
/// size 0 are still read). The error says why, naming `p` as the node sees it.
fn read_under(root: &Path, p: &str, limit: u64) -> Result<String, ReadFailure> {
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
enum ReadFailure {
    /// It does not exist.
    Missing(String),
    /// It exists but could not or would not be read (not a regular file, too large, EACCES, ...).
    Refused(String),
}

impl ReadFailure {
    fn reason(self) -> String {
        match self {
            ReadFailure::Missing(r) | ReadFailure::Refused(r) => r,
        }
    }
}

/// kubeadm's preflight checks that matter for a join, read under `root`.
fn local_checks(report: &mut Report, found: &mut Vec<Found>, root: &Path, cri: Option<&str>) {
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
        add(
            report,
            found,
            "local/leftovers",
            Domain::NodeState,
            Status::Pass,
            "no files from an earlier join".into(),
            None,
        );
    } else {
        let d = format!("an earlier join left {}", leftovers.join(", "));
        add(
            report,
            found,
            "local/leftovers",
            Domain::NodeState,
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
            "local/port-10250",
            Domain::NodeState,
            Status::Warn,
            format!("{}: port 10250 not checked there", refused.join("; ")),
            None,
        );
    } else if listening {
        let d = "port 10250 is in use (a kubelet from an earlier join?)".to_string();
        add(
            report,
            found,
            "local/port-10250",
            Domain::NodeState,
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
        add(report, found, "local/port-10250", Domain::NodeState, Status::Pass, "port 10250 is free".into(), None);
    }
    let candidates: Vec<String> = match cri {
        Some(s) => vec![s.trim_start_matches("unix://").to_string()],
        None => [
            "/var/run/containerd/containerd.sock",
            "/run/containerd/containerd.sock",
            "/var/run/crio/crio.sock",
            "/var/run/cri-dockerd.sock",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    };
    match candidates.iter().find(|c| under(root, c).exists()) {
        Some(c) => add(
            report,
            found,
            "local/cri-socket",
            Domain::NodeState,
            Status::Pass,
            format!("container runtime socket {c} present"),
            None,
        ),
        None => {
            let d = format!("no container runtime socket ({})", candidates.join(", "));
            add(report, found, "local/cri-socket", Domain::NodeState, Status::Fail, d.clone(), fail(Code::RootCauseNodeState, d, "the container runtime is not installed or not running, or listens elsewhere", "start containerd or CRI-O (`systemctl enable --now containerd`), or set nodeRegistration.criSocket").map(|f| f.kubeadm("[ERROR CRI]: container runtime is not running")));
        }
    }
    match read_under(root, "/proc/sys/net/ipv4/ip_forward", FILE_LIMIT) {
        Ok(v) if v.trim() == "1" => {
            add(report, found, "local/ip-forward", Domain::Config, Status::Pass, "net.ipv4.ip_forward = 1".into(), None)
        }
        Ok(v) => {
            let d = format!("net.ipv4.ip_forward = {}", v.trim());
            add(report, found, "local/ip-forward", Domain::Config, Status::Fail, d.clone(), fail(Code::RootCauseConfig, d, "kubeadm preflight requires IPv4 forwarding", "`sysctl -w net.ipv4.ip_forward=1` and persist it in /etc/sysctl.d/k8s.conf").map(|f| f.kubeadm("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1")));
        }
        Err(e) => add(report, found, "local/ip-forward", Domain::Config, Status::Skip, e.reason(), None),
    }
    match read_under(root, "/proc/swaps", PROC_TABLE_LIMIT) {
        Ok(t) if t.lines().count() > 1 => add(report, found, "local/swap", Domain::Config, Status::Warn, "swap is on: the kubelet refuses to start unless it is configured for swap (kubeadm preflight [ERROR Swap] / warning)".into(), None),
        Ok(_) => add(report, found, "local/swap", Domain::Config, Status::Pass, "swap is off".into(), None),
        Err(e) => add(report, found, "local/swap", Domain::Config, Status::Skip, e.reason(), None),
    }
}

/// /proc/net/route prints addresses in host (little-endian) byte order.
fn hex_le_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 16).ok().map(u32::swap_bytes)
}

/// Why [`route_to`] found no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The table was read and has no route to the address: a finding.
    NoRoute(String),
    /// The table could not be read (missing, not a regular file, too large): no finding.
    Unreadable(String),
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteError::NoRoute(s) | RouteError::Unreadable(s) => f.write_str(s),
        }
    }
}

/// Whether the routing tables under `root` have a route to `ip` (seed 004's failure is "no
/// route and no default route"). Loopback always routes. The tables are read bounded
/// ([`PROC_TABLE_LIMIT`], regular files only).
pub fn route_to(root: &Path, ip: IpAddr) -> Result<String, RouteError> {
    if ip.is_loopback() {
        return Ok(format!("{ip} is loopback"));
    }
    match ip {
        IpAddr::V4(v4) => {
            let text = read_under(root, "/proc/net/route", PROC_TABLE_LIMIT)
                .map_err(|e| RouteError::Unreadable(e.reason()))?;
            let addr = u32::from(v4);
            let mut best: Option<(u32, String, bool)> = None;
            for l in text.lines().skip(1) {
                let c: Vec<&str> = l.split_whitespace().collect();
                if c.len() < 8 {
                    continue;
                }
                let (Some(dest), Some(mask)) = (hex_le_u32(c[1]), hex_le_u32(c[7])) else { continue };
                if addr & mask == dest & mask && best.as_ref().is_none_or(|b| mask.count_ones() > b.0.count_ones()) {
                    best = Some((mask, c[0].to_string(), mask == 0));
                }
            }
            match best {
                Some((_, iface, true)) => Ok(format!("{ip} via the default route on {iface}")),
                Some((mask, iface, false)) => Ok(format!("{ip} via {iface} (/{})", mask.count_ones())),
                None => Err(RouteError::NoRoute(format!("no route to {ip} and no default route in /proc/net/route"))),
            }
        }
        IpAddr::V6(v6) => {
            let text = read_under(root, "/proc/net/ipv6_route", PROC_TABLE_LIMIT)
                .map_err(|e| RouteError::Unreadable(e.reason()))?;
            let addr = u128::from(v6);
            for l in text.lines() {
                let c: Vec<&str> = l.split_whitespace().collect();
                if c.len() < 10 {
                    continue;
                }
                let (Ok(dest), Ok(plen)) = (u128::from_str_radix(c[0], 16), u32::from_str_radix(c[1], 16)) else {
                    continue;
                };
                let mask = if plen == 0 { 0 } else { u128::MAX << (128 - plen.min(128)) };
                if addr & mask == dest & mask && c[9] != "lo" {
                    return Ok(format!("{ip} via {} (/{plen})", c[9]));
                }
            }
            Err(RouteError::NoRoute(format!("no route to {ip} and no default route in /proc/net/ipv6_route")))
        }
    }
}

async fn network_checks(report: &mut Report, found: &mut Vec<Found>, opts: &DiagnoseOptions) {
    let crate::discovery::Source::Endpoint(ep) = &opts.bootstrap.discovery.source else { return };
    let addrs: Vec<IpAddr> = match ep.ip() {
        Some(ip) => vec![ip],
        None => {
            match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((ep.host.as_str(), ep.port)))
                .await
            {
                Ok(Ok(it)) => {
                    let v: Vec<IpAddr> = it.map(|a| a.ip()).collect();
                    add(report, found, "local/dns", Domain::Dns, Status::Pass, format!("{} -> {v:?}", ep.host), None);
                    v
                }
                other => {
                    let e = match other {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".into(),
                    };
                    let d = format!("{} does not resolve: {e}", ep.host);
                    add(
                        report,
                        found,
                        "local/dns",
                        Domain::Dns,
                        Status::Fail,
                        d.clone(),
                        fail(
                            Code::RootCauseDns,
                            d,
                            "the name is not in DNS or this node's resolver cannot reach a DNS server",
                            "check /etc/resolv.conf and `getent hosts NAME`; or join through the control plane's IP",
                        ),
                    );
                    return;
                }
            }
        }
    };
    for ip in addrs.iter().take(1) {
        match route_to(&opts.root, *ip) {
            Ok(d) => add(report, found, "local/route", Domain::Network, Status::Pass, d, None),
            Err(RouteError::Unreadable(d)) => add(
                report,
                found,
                "local/route",
                Domain::Network,
                Status::Warn,
                format!("{d}: the route to {ip} is not checked"),
                None,
            ),
            Err(RouteError::NoRoute(d)) => add(report, found, "local/route", Domain::Network, Status::Fail, d.clone(), fail(Code::RootCauseNetwork, d, "the node's subnet has no route towards the control plane (no default route: a missing route table entry, NAT gateway or internet gateway)", "add the route (cloud: the subnet's route table with a NAT gateway); check with `ip route get ADDRESS`")),
        }
    }
}

/// What one admin read saw. Only HTTP 404 means the object is absent; any other error (403 for
/// a limited admin, a timeout, a 5xx) is evidence of nothing, and the check it feeds becomes a
/// warning, never a finding.
#[derive(Debug)]
pub enum AdminRead {
    /// The object (or list) as read.
    Found(Value),
    /// HTTP 404: the object does not exist.
    Absent,
    /// The read failed otherwise: `could not read WHAT: CODE: MESSAGE; not concluded`.
    Unknown(String),
}

impl AdminRead {
    /// Classifies the result of a GET of `what`.
    pub fn from_result(r: Result<Value, Failure>, what: &str) -> AdminRead {
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
    pub fn list(r: Result<Value, Failure>, what: &str) -> AdminRead {
        match AdminRead::from_result(r, what) {
            AdminRead::Absent => {
                AdminRead::Unknown(format!("could not read {what}: the server does not serve it (404); not concluded"))
            }
            other => other,
        }
    }

    /// The found object, if any.
    pub fn found(&self) -> Option<&Value> {
        match self {
            AdminRead::Found(v) => Some(v),
            _ => None,
        }
    }

    /// The items of a found list (empty otherwise).
    fn items(&self) -> Vec<Value> {
        self.found().and_then(|v| v.get("items")).and_then(Value::as_array).cloned().unwrap_or_default()
    }
}

async fn admin_read(client: &ApiClient, path: &str, what: &str) -> AdminRead {
    AdminRead::from_result(client.get(path).await, what)
}

async fn admin_list(client: &ApiClient, path: &str, what: &str) -> AdminRead {
    AdminRead::list(client.get(path).await, what)
}

async fn admin_checks(opts: &DiagnoseOptions) -> (Report, Vec<Found>) {
    let mut report = Report::new("admin");
    let mut found = Vec::new();
    let Some(a) = &opts.admin else { return (report, found) };
    let client = match ApiClient::connect(a).await {
        Ok(c) => c,
        Err(f) => {
            add(
                &mut report,
                &mut found,
                "admin/kubeconfig",
                Domain::Config,
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
            "admin/kubeconfig",
            Domain::Config,
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
            add(&mut report, &mut found, "admin/token-secret", Domain::Token, Status::Warn, d.clone(), None)
        }
        (AdminRead::Absent, _) => {
            let d = format!("Secret kube-system/bootstrap-token-{} does not exist", token.id());
            add(
                &mut report,
                &mut found,
                "admin/token-secret",
                Domain::Token,
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
                "admin/token-secret",
                Domain::Token,
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
                "admin/token-secret",
                Domain::Token,
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
            "admin/token-secret",
            Domain::Token,
            Status::Pass,
            format!("token {} exists, valid, usages ok, groups {:?}", token.id(), t.groups),
            None,
        ),
        (AdminRead::Found(_), None) => {
            let d = format!("Secret bootstrap-token-{} is malformed", token.id());
            add(
                &mut report,
                &mut found,
                "admin/token-secret",
                Domain::Token,
                Status::Fail,
                d.clone(),
                fail(Code::RootCauseToken, d, "its type, data or name is wrong", "delete it and create a new token"),
            );
        }
    }
    let ci = admin_read(&client, crate::discovery::CLUSTER_INFO_PATH, "ConfigMap kube-public/cluster-info").await;
    let rb = admin_read(
        &client,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-public/rolebindings/kubeadm:bootstrap-signer-clusterinfo",
        "RoleBinding kube-public/kubeadm:bootstrap-signer-clusterinfo",
    )
    .await;
    match (&ci, &rb) {
        (AdminRead::Unknown(d), _) | (AdminRead::Found(_), AdminRead::Unknown(d)) => {
            add(&mut report, &mut found, "admin/cluster-info", Domain::ControlPlane, Status::Warn, d.clone(), None)
        }
        (AdminRead::Absent, _) => {
            let d = "the cluster-info ConfigMap does not exist in kube-public".to_string();
            add(
                &mut report,
                &mut found,
                "admin/cluster-info",
                Domain::ControlPlane,
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
                "admin/cluster-info",
                Domain::Rbac,
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
            "admin/cluster-info",
            Domain::ControlPlane,
            Status::Pass,
            "cluster-info exists and anonymous read access is bound".into(),
            None,
        ),
    }
    // The bootstrapsigner: does some valid signing token carry a valid signature?
    let data = ci.found().and_then(|c| c.get("data")).and_then(Value::as_object).cloned().unwrap_or_default();
    let kc = data.get("kubeconfig").and_then(Value::as_str).unwrap_or("");
    let secrets = admin_list(
        &client,
        "/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken",
        "the bootstrap-token Secrets",
    )
    .await;
    let valid: Vec<TokenSecret> =
        secrets.items().iter().filter_map(TokenSecret::from_secret).filter(|t| t.signing && !t.expired(now)).collect();
    let signed_with = |t: &TokenSecret| {
        data.get(&crate::discovery::jws_key(&t.id))
            .and_then(Value::as_str)
            .is_some_and(|s| crate::jws::verify(kc, s, &t.id, &t.secret).is_ok())
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
                "admin/bootstrap-signer",
                Domain::ControlPlane,
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
            add(&mut report, &mut found, "admin/bootstrap-signer", Domain::ControlPlane, Status::Fail, d.clone(), fail(Code::RootCauseControlPlane, d, "the bootstrapsigner controller is not running (kube-controller-manager is down or runs without it, --controllers): it signs new tokens within a second, and signatures of older tokens stay in cluster-info after it stops", "check kube-controller-manager (`kubectl -n kube-system get pods -l component=kube-controller-manager`, its logs and --controllers)"));
        }
    } else if ci_found && !kc.is_empty() {
        if let AdminRead::Unknown(d) = &secrets {
            add(&mut report, &mut found, "admin/bootstrap-signer", Domain::ControlPlane, Status::Warn, d.clone(), None);
        } else if valid.is_empty() {
            add(
                &mut report,
                &mut found,
                "admin/bootstrap-signer",
                Domain::ControlPlane,
                Status::Skip,
                "no valid signing token to judge the bootstrapsigner by".into(),
                None,
            );
        } else if valid.iter().any(signed_with) {
            add(
                &mut report,
                &mut found,
                "admin/bootstrap-signer",
                Domain::ControlPlane,
                Status::Pass,
                "valid signing tokens are signed in cluster-info: the bootstrapsigner works".into(),
                None,
            );
        } else {
            let d = format!("{} valid signing token(s) and none is signed in cluster-info", valid.len());
            add(&mut report, &mut found, "admin/bootstrap-signer", Domain::ControlPlane, Status::Fail, d.clone(), fail(Code::RootCauseControlPlane, d, "the bootstrapsigner controller is not running: kube-controller-manager is down or runs without it (--controllers)", "check kube-controller-manager (`kubectl -n kube-system get pods -l component=kube-controller-manager`, its logs and --controllers)"));
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
    let items = crbs.items();
    let missing: Vec<&str> = JOIN_BINDINGS
        .iter()
        .filter(|(_, role, _)| !items.iter().any(|b| crate::k8s::binding_grants(b, role, &groups)))
        .map(|(_, _, what)| *what)
        .collect();
    if let AdminRead::Unknown(d) = &crbs {
        add(&mut report, &mut found, "admin/rbac", Domain::Rbac, Status::Warn, d.clone(), None);
    } else if missing.is_empty() {
        add(
            &mut report,
            &mut found,
            "admin/rbac",
            Domain::Rbac,
            Status::Pass,
            "kubeadm's join bindings exist for the token's groups".into(),
            None,
        );
    } else {
        let d = format!("missing ClusterRoleBindings for the token's groups: {}", missing.join("; "));
        add(
            &mut report,
            &mut found,
            "admin/rbac",
            Domain::Rbac,
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
        .items()
        .iter()
        .filter(|c| c.pointer("/status/conditions").and_then(Value::as_array).is_none_or(|a| a.is_empty()))
        .filter(|c| crate::bootstrap::request_der(c).is_some_and(|d| {
            <x509_parser::certification_request::X509CertificationRequest as x509_parser::prelude::FromDer<_>>::from_der(&d)
                .ok()
                .and_then(|(_, r)| r.certification_request_info.subject.iter_common_name().next().and_then(|x| x.as_str().ok()).map(|s| s == cn))
                .unwrap_or(false)
        }))
        .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let AdminRead::Unknown(d) = &csrs {
        add(&mut report, &mut found, "admin/pending-csrs", Domain::Csr, Status::Warn, d.clone(), None);
    } else if pending.is_empty() {
        add(
            &mut report,
            &mut found,
            "admin/pending-csrs",
            Domain::Csr,
            Status::Pass,
            format!("no Pending CSR for {cn}"),
            None,
        );
    } else {
        add(
            &mut report,
            &mut found,
            "admin/pending-csrs",
            Domain::Csr,
            Status::Warn,
            format!("Pending CSR(s) for {cn}: {} (earlier attempts that were never approved)", pending.join(", ")),
            None,
        );
    }
    match admin_read(&client, &format!("/api/v1/nodes/{node}"), &format!("Node {node}")).await {
        AdminRead::Unknown(d) => add(&mut report, &mut found, "admin/node", Domain::NodeState, Status::Warn, d, None),
        AdminRead::Absent => add(
            &mut report,
            &mut found,
            "admin/node",
            Domain::NodeState,
            Status::Pass,
            format!("no Node named {node}"),
            None,
        ),
        AdminRead::Found(n) => {
            let ready = crate::k8s::node_is_ready(&n);
            if ready {
                let d = format!("a Ready Node named {node} exists");
                add(
                    &mut report,
                    &mut found,
                    "admin/node",
                    Domain::NodeState,
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
                    "admin/node",
                    Domain::NodeState,
                    Status::Warn,
                    format!("a NotReady Node named {node} exists"),
                    None,
                );
            }
        }
    }
    (report, found)
}

async fn control_plane_checks(report: &mut Report, found: &mut Vec<Found>, opts: &DiagnoseOptions) {
    let Some(key_hex) = opts.certificate_key.as_ref().map(secrecy::ExposeSecret::expose_secret) else { return };
    let crate::discovery::Source::Endpoint(ep) = &opts.bootstrap.discovery.source else { return };
    let key = match crate::diagnose::certs::decode_key(key_hex) {
        Ok(k) => k,
        Err(e) => {
            add(
                report,
                found,
                "control-plane/certificate-key",
                Domain::Config,
                Status::Fail,
                e.clone(),
                fail(
                    Code::RootCauseConfig,
                    e.clone(),
                    "the certificate key is malformed",
                    "use the 64-hex-digit key printed by `kubeadm init phase upload-certs --upload-certs`",
                )
                .map(|f| f.kubeadm(e)),
            );
            return;
        }
    };
    let (_, trusted) = crate::discovery::run_token_with_wait(&opts.bootstrap.discovery, ep).await;
    let (Some(trusted), Some(token)) = (trusted, &opts.bootstrap.discovery.token) else {
        add(
            report,
            found,
            "control-plane/kubeadm-certs",
            Domain::ControlPlane,
            Status::Skip,
            "discovery failed: cannot fetch kubeadm-certs".into(),
            None,
        );
        return;
    };
    let client = match ApiClient::for_discovered(
        &trusted,
        Identity::Bearer(secrecy::SecretString::new(token.expose().into())),
        opts.bootstrap.discovery.timeout,
    ) {
        Ok(c) => c,
        Err(f) => {
            return add(
                report,
                found,
                "control-plane/kubeadm-certs",
                Domain::ControlPlane,
                Status::Fail,
                f.message.clone(),
                Some(f),
            )
        }
    };
    match client.get_opt("/api/v1/namespaces/kube-system/secrets/kubeadm-certs").await {
        Ok(None) => {
            let k = "Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one";
            add(
                report,
                found,
                "control-plane/kubeadm-certs",
                Domain::ControlPlane,
                Status::Fail,
                "Secret kube-system/kubeadm-certs does not exist".into(),
                fail(
                    Code::RootCauseControlPlane,
                    "Secret kube-system/kubeadm-certs does not exist".into(),
                    "the uploaded certificates expired with their 2 h token, or were never uploaded",
                    "run `kubeadm init phase upload-certs --upload-certs` on a control plane and join with the new key",
                )
                .map(|f| f.kubeadm(k)),
            );
        }
        Ok(Some(s)) => {
            let data = s.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
            let mut bad = Vec::new();
            for (name, v) in &data {
                let sealed = crate::kubeconfig::decode_b64(v.as_str().unwrap_or("")).unwrap_or_default();
                if crate::diagnose::certs::open(&key, &sealed).is_err() {
                    bad.push(name.clone());
                }
            }
            if bad.is_empty() {
                add(
                    report,
                    found,
                    "control-plane/kubeadm-certs",
                    Domain::ControlPlane,
                    Status::Pass,
                    format!("the key decrypts all {} entries of kubeadm-certs", data.len()),
                    None,
                );
            } else {
                let d = format!(
                    "the certificate key does not decrypt {} of {} entries ({})",
                    bad.len(),
                    data.len(),
                    bad.join(", ")
                );
                add(
                    report,
                    found,
                    "control-plane/kubeadm-certs",
                    Domain::ControlPlane,
                    Status::Fail,
                    d.clone(),
                    fail(
                        Code::RootCauseControlPlane,
                        d,
                        "the key belongs to another upload (each `upload-certs --upload-certs` makes a new key)",
                        "use the key printed by the latest `kubeadm init phase upload-certs --upload-certs`",
                    )
                    .map(|f| f.kubeadm("error decoding secret data with provided key")),
                );
            }
        }
        Err(f) if f.code == Code::ApiForbidden => {
            // `kubeadm init phase upload-certs` creates the Secret *and* the Role/RoleBinding
            // kubeadm:kubeadm-certs that lets bootstrap tokens read it; a cluster that never
            // uploaded certificates answers 403, not 404 (seen on real v1.24 and v1.36).
            let d = format!("the bootstrap token may not read kubeadm-certs: {}", f.message);
            add(
                report,
                found,
                "control-plane/kubeadm-certs",
                Domain::ControlPlane,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseControlPlane,
                    d,
                    "the control-plane certificates were never uploaded for control-plane joins (upload-certs creates the Secret and the Role/RoleBinding kubeadm:kubeadm-certs), or that RoleBinding was removed or does not name the token's group",
                    "on a control-plane node run `kubeadm init phase upload-certs --upload-certs` and join with the certificate key it prints",
                ),
            );
        }
        Err(f) => {
            let d = format!("cannot read kubeadm-certs with the bootstrap token: {}", f.message);
            add(
                report,
                found,
                "control-plane/kubeadm-certs",
                Domain::ControlPlane,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseControlPlane,
                    d,
                    "the API server did not answer the read of kubeadm-certs",
                    "check the API server's health and retry",
                ),
            );
        }
    }
}

/// Runs every check and builds the report with the root cause.
pub async fn run(opts: &DiagnoseOptions) -> Report {
    let mut report = Report::new("diagnose");
    let mut found: Vec<Found> = Vec::new();
    local_checks(&mut report, &mut found, &opts.root, opts.cri_socket.as_deref());
    let all = async {
        network_checks(&mut report, &mut found, opts).await;
        let (boot, (admin_report, admin_found)) = tokio::join!(bootstrap::run(&opts.bootstrap), admin_checks(opts));
        for s in boot.stages().iter().filter(|s| s.status != Status::Skip || s.name == "input") {
            report.push_stage(s.clone());
        }
        for w in boot.warnings() {
            report.push_warning(w.clone());
        }
        if let Some(f) = boot.failure() {
            found.push(Found { domain: domain_of(f.code), failure: f.clone() });
        }
        control_plane_checks(&mut report, &mut found, opts).await;
        if boot.failure().is_none() && !admin_found.is_empty() {
            // The end-to-end checks passed: what the admin view says can refine a failure but
            // never become one. Its failing checks are shown as warnings.
            let names: Vec<&str> = admin_found.iter().map(|f| f.failure.stage.as_str()).collect();
            for st in admin_report.stages() {
                let mut st = st.clone();
                if names.contains(&st.name.as_str()) && st.status == Status::Fail {
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
        report.push_stage(Stage::new("timeout", Status::Fail, d.clone()));
        found.push(Found {
            domain: Domain::Network,
            failure: Failure::new(Code::RequestTimeout, "timeout", d)
                .cause("a network step hung (a silent firewall, a stalled endpoint)")
                .fix("see the checks that finished; raise --timeout"),
        });
    }
    conclude(&mut report, found, &opts.bootstrap.node_name);
    report
}

fn conclude(report: &mut Report, found: Vec<Found>, node: &str) {
    report.set("severity", if found.is_empty() { "OK" } else { "CRITICAL" });
    report.set("blast_radius", format!("node ({node})"));
    let Some(first) = found.first() else {
        report.set("root_cause", "none — every check passed: this node should be able to join");
        report.line("OK: no broken link found; `kubeadm join` should succeed from this node.");
        return;
    };
    // Server-side evidence refines what the node saw.
    let by = |name: &str| found.iter().find(|f| f.failure.stage == name);
    let root = match first.failure.code {
        Code::JwsMissing => by("admin/token-secret").or(by("admin/bootstrap-signer")).unwrap_or(first),
        Code::ClusterInfoForbidden | Code::ClusterInfoNotFound => by("admin/cluster-info").unwrap_or(first),
        Code::CsrPendingNoAutoapprove | Code::CsrCreateForbidden => by("admin/rbac").unwrap_or(first),
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
    report.set("root_cause", format!("{domain} — {}", f.message));
    report.set("failure_domain", domain);
    report.set("underlying_code", f.code.as_str());
    report.set("evidence", &evidence);
    report.set("mitigation", json!({"immediate": format!("Operator: {}", f.fix), "long_term": long_term(domain)}));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_404_reads_as_absent() {
        let v = json!({"kind": "Node"});
        assert!(matches!(AdminRead::from_result(Ok(v.clone()), "Node n"), AdminRead::Found(x) if x == v));
        let nf = Failure::new(Code::ApiNotFound, "api", "nodes \"n\" not found");
        assert!(matches!(AdminRead::from_result(Err(nf.clone()), "Node n"), AdminRead::Absent));
        // A 404 on a list is no evidence of an empty list.
        assert!(matches!(AdminRead::list(Err(nf), "the Nodes"), AdminRead::Unknown(_)));
        for code in [Code::ApiForbidden, Code::RequestTimeout, Code::ApiError] {
            let r = AdminRead::from_result(Err(Failure::new(code, "api", "nope")), "the ClusterRoleBindings");
            let AdminRead::Unknown(d) = r else { panic!("{code}: {r:?}") };
            assert_eq!(d, format!("could not read the ClusterRoleBindings: {code}: nope; not concluded"));
        }
    }
}
