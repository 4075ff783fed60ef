//! diagnose on EKS worker nodes: the node's way out (seed 004: a node group in a subnet whose
//! route table has only the local route never joins; seed 003, "Network": "Private clusters
//! need VPC endpoints for: ec2, ecr.api, ecr.dkr, sts, s3 (gateway)", "Worker node SG must allow
//! outbound 443 to 0.0.0.0/0 (for ECR, STS, etc.) or to VPC endpoints"). From the node, for each
//! endpoint a join needs (the cluster endpoint, regional STS, EC2, the ECR API, the EKS image
//! registry and the S3 bucket ECR serves layers from; EKS user guide, "Deploy private clusters
//! with limited internet access"), the name is resolved, the address classified (private: an
//! interface VPC endpoint with private DNS, or the cluster's private endpoint; public: reached
//! through the subnet's NAT or internet gateway), the node's routing table
//! (`/proc/net/route` under `--root`) asked for a route to it and TCP connected on its port,
//! each within [`REACH_TIMEOUT`] and all of them concurrently, inside `--diagnose-timeout`.
//! The VPC route table itself is not visible from the node: the node's default route points at
//! the VPC router whatever the route table says, so a missing `0.0.0.0/0 -> NAT gateway` shows
//! as a public address that never answers. docs/eks-way-out.md has the whole picture.
//!
//! The region comes from the NodeConfig's endpoint host name
//! (`NAME.SUFFIX.REGION.eks.amazonaws.com`) or, when diagnosing this machine (`--root /`) or when
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` names a metadata service, from IMDS
//! (`placement/region`, [`crate::imds`]). The registry account is the one amazon-eks-ami's
//! `get-ecr-uri.sh` gives the region (the EKS images: pause, VPC CNI, kube-proxy). Every host
//! and port can be replaced with [`OVERRIDES_ENV`] (tests; non-standard endpoints).

use super::local::NodeFs;
use super::network::{default_route, route_in, RouteError};
use super::node::{add, Check, DiagnoseOptions, Found};
use crate::error::{Code, Domain, Failure};
use crate::report::{Report, Stage, StageId, Status};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::Instant;

/// `KEY=HOST[:PORT],...` replacing an endpoint's host (and port, 443 unless given); keys
/// `cluster`, `sts`, `ec2`, `ecr-api`, `ecr-dkr`, `s3`.
pub const OVERRIDES_ENV: &str = "JOINKIT_EKS_ENDPOINT_OVERRIDES";
/// The bound on each endpoint's check: resolving its name and connecting.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(3);

/// An endpoint a join needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Cluster,
    Sts,
    Ec2,
    EcrApi,
    EcrDkr,
    S3,
}

impl Service {
    const ALL: [Service; 6] =
        [Service::Cluster, Service::Sts, Service::Ec2, Service::EcrApi, Service::EcrDkr, Service::S3];

    fn key(self) -> &'static str {
        match self {
            Service::Cluster => "cluster",
            Service::Sts => "sts",
            Service::Ec2 => "ec2",
            Service::EcrApi => "ecr-api",
            Service::EcrDkr => "ecr-dkr",
            Service::S3 => "s3",
        }
    }

    fn check(self) -> Check {
        match self {
            Service::Cluster => Check::EksReachCluster,
            Service::Sts => Check::EksReachSts,
            Service::Ec2 => Check::EksReachEc2,
            Service::EcrApi => Check::EksReachEcrApi,
            Service::EcrDkr => Check::EksReachEcrDkr,
            Service::S3 => Check::EksReachS3,
        }
    }

    /// What a join needs it for (seed 004, "Wrapping it up"; EKS private-cluster guide).
    fn why(self) -> &'static str {
        match self {
            Service::Cluster => "the cluster endpoint: the kubelet's TLS bootstrap and every API call",
            Service::Sts => "regional STS: IAM roles for service accounts and the AWS SDKs' AssumeRole calls",
            Service::Ec2 => "EC2: the VPC CNI (aws-node) attaches ENIs and IP addresses through it",
            Service::EcrApi => "the ECR API: the registry credentials for the EKS images",
            Service::EcrDkr => "the EKS image registry: the pause, VPC CNI and kube-proxy images",
            Service::S3 => "S3: ECR serves image layers from it",
        }
    }

    /// The fix when there is no way to it: 004's terms (route table, NAT gateway, endpoint).
    fn no_way_fix(self, region: &str) -> String {
        let nat = "add a 0.0.0.0/0 route to a NAT gateway in the node subnet's route table (aws ec2 create-route --route-table-id RTB --destination-cidr-block 0.0.0.0/0 --nat-gateway-id NAT)";
        match self {
            Service::Cluster => format!("turn on the cluster's private endpoint access (aws eks update-cluster-config --resources-vpc-config endpointPrivateAccess=true) so the endpoint resolves inside the VPC, or {nat}"),
            Service::S3 => format!("associate a gateway endpoint com.amazonaws.{region}.s3 with the node subnet's route table, or {nat}"),
            s => format!(
                "{nat}, or create the interface VPC endpoint com.amazonaws.{region}.{} in the node's VPC with private DNS enabled",
                match s {
                    Service::Sts => "sts",
                    Service::Ec2 => "ec2",
                    Service::EcrApi => "ecr.api",
                    _ => "ecr.dkr",
                }
            ),
        }
    }
}

/// The region and DNS suffix of an EKS endpoint host (`X.gr7.us-west-2.eks.amazonaws.com`,
/// `X.yl4.cn-north-1.eks.amazonaws.com.cn`).
fn region_of_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let i = labels.iter().position(|l| *l == "eks")?;
    let tail = &labels[i + 1..];
    if !(tail == ["amazonaws", "com"] || tail == ["amazonaws", "com", "cn"]) || i == 0 {
        return None;
    }
    let r = labels[i - 1];
    (r.contains('-') && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        .then(|| r.to_string())
}

/// The AWS DNS suffix of a region (`amazonaws.com.cn` in the China regions).
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The account of the EKS image registry in a region: amazon-eks-ami `files/get-ecr-uri.sh`.
fn registry_account(region: &str) -> &'static str {
    match region {
        "ap-east-1" => "800184023465",
        "me-south-1" => "558608220178",
        "cn-north-1" => "918309763551",
        "cn-northwest-1" => "961992271922",
        "us-gov-west-1" => "013241004608",
        "us-gov-east-1" => "151742754352",
        "us-iso-east-1" => "725322719131",
        "us-isob-east-1" => "187977181151",
        "af-south-1" => "877085696533",
        "eu-south-1" => "590381155156",
        "ap-southeast-3" => "296578399912",
        _ => "602401143452",
    }
}

/// The standard host of a service in a region (port 443).
fn standard_host(s: Service, region: &str) -> String {
    let d = dns_suffix(region);
    match s {
        Service::Cluster => String::new(),
        Service::Sts => format!("sts.{region}.{d}"),
        Service::Ec2 => format!("ec2.{region}.{d}"),
        Service::EcrApi => format!("api.ecr.{region}.{d}"),
        Service::EcrDkr => format!("{}.dkr.ecr.{region}.{d}", registry_account(region)),
        Service::S3 => format!("prod-{region}-starport-layer-bucket.s3.{region}.{d}"),
    }
}

/// Parses [`OVERRIDES_ENV`]: `KEY=HOST[:PORT]` pairs separated by commas.
fn parse_overrides(text: &str) -> Result<Vec<(Service, String, u16)>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            format!(
                "{OVERRIDES_ENV}: {:?} is not KEY=HOST[:PORT] with KEY one of cluster, sts, ec2, ecr-api, ecr-dkr, s3",
                crate::redact::truncate(part, 100)
            )
        };
        let (k, v) = part.split_once('=').ok_or_else(bad)?;
        let s = Service::ALL.into_iter().find(|s| s.key() == k.trim()).ok_or_else(bad)?;
        // `HOST[:PORT]` (IPv6 in brackets), port 443 unless given: the one authority parser.
        let ep = crate::endpoint::parse_authority(v.trim(), Some(443)).map_err(|_| bad())?;
        out.push((s, ep.host, ep.port));
    }
    Ok(out)
}

/// Private addresses: RFC 1918, the shared space VPCs may use (RFC 6598, 100.64.0.0/10), IPv6
/// unique local (RFC 4193) and loopback (a stand-in). Interface endpoints with private DNS and
/// a cluster's private endpoint resolve to such addresses inside the VPC (AWS PrivateLink guide).
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// One endpoint to check.
struct Target {
    service: Service,
    host: String,
    port: u16,
    /// Where host and port come from (for the detail).
    origin: &'static str,
}

/// What resolving and connecting found.
enum Outcome {
    NoName(String),
    NoRoute(IpAddr, String),
    Reached(IpAddr, Option<String>),
    Refused(IpAddr),
    TimedOut(IpAddr),
    Unreachable(IpAddr, String),
}

async fn resolve(host: String, port: u16, deadline: Instant) -> Result<IpAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    match tokio::time::timeout_at(deadline, tokio::net::lookup_host((host.as_str(), port))).await {
        Ok(Ok(it)) => {
            let v: Vec<IpAddr> = it.map(|a| a.ip()).collect();
            v.iter().find(|a| a.is_ipv4()).or(v.first()).copied().ok_or_else(|| "no address".to_string())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", REACH_TIMEOUT.as_secs())),
    }
}

async fn connect(addr: SocketAddr, deadline: Instant) -> Result<(), std::io::Result<()>> {
    match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Err(e)),
        Err(_) => Err(Ok(())),
    }
}

/// Resolves every target, asks the routing table, then connects: concurrently, each within
/// [`REACH_TIMEOUT`].
async fn probe(fs: &NodeFs, targets: &[Target]) -> Vec<Outcome> {
    let deadline = Instant::now() + REACH_TIMEOUT;
    let mut names = tokio::task::JoinSet::new();
    for (i, t) in targets.iter().enumerate() {
        let (h, p) = (t.host.clone(), t.port);
        names.spawn(async move { (i, resolve(h, p, deadline).await) });
    }
    let mut resolved: Vec<Option<Result<IpAddr, String>>> = targets.iter().map(|_| None).collect();
    while let Some(Ok((i, r))) = names.join_next().await {
        resolved[i] = Some(r);
    }
    let mut out: Vec<Option<Outcome>> = targets.iter().map(|_| None).collect();
    let mut conns = tokio::task::JoinSet::new();
    for (i, r) in resolved.into_iter().enumerate() {
        let ip = match r.unwrap_or_else(|| Err("the lookup did not finish".into())) {
            Ok(ip) => ip,
            Err(e) => {
                out[i] = Some(Outcome::NoName(e));
                continue;
            }
        };
        let route = match route_in(fs, ip) {
            Ok(d) => Some(d),
            Err(RouteError::NoRoute(d)) => {
                out[i] = Some(Outcome::NoRoute(ip, d));
                continue;
            }
            Err(RouteError::Unreadable(_)) => None,
        };
        let addr = SocketAddr::new(ip, targets[i].port);
        conns.spawn(async move { (i, ip, route, connect(addr, deadline).await) });
    }
    while let Some(Ok((i, ip, route, r))) = conns.join_next().await {
        out[i] = Some(match r {
            Ok(()) => Outcome::Reached(ip, route),
            Err(Ok(())) => Outcome::TimedOut(ip),
            Err(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Outcome::Refused(ip),
            Err(Err(e)) => Outcome::Unreachable(ip, e.to_string()),
        });
    }
    out.into_iter().map(|o| o.unwrap_or_else(|| Outcome::NoName("the check did not finish".into()))).collect()
}

/// Records a failing reach check with its own domain (dns for a name that does not resolve).
fn finding(
    report: &mut Report,
    found: &mut Vec<Found>,
    check: Check,
    domain: Domain,
    msg: String,
    cause: String,
    fix: String,
) {
    report.push_stage(Stage::new(check, Status::Fail, msg.clone()));
    let failure = Failure::new(Code::for_domain(domain), check, msg).cause(cause).fix(fix);
    found.push(Found { domain, failure });
}

/// The region: the endpoint's host name, else IMDS (when this machine is the node, or a
/// metadata service is named). `Err` says why it is unknown.
async fn region(fs: &NodeFs, cluster_host: Option<&str>) -> Result<(String, String), (Status, String)> {
    if let Some(r) = cluster_host.and_then(region_of_host) {
        return Ok((r, "the cluster endpoint's host name".into()));
    }
    let named = std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT").is_ok_and(|v| !v.trim().is_empty());
    let not_eks = match cluster_host {
        Some(h) => format!(
            "the cluster endpoint's host {} is not NAME.REGION.eks.amazonaws.com",
            crate::redact::truncate(h, 100)
        ),
        None => "no cluster endpoint was read".to_string(),
    };
    if !fs.is_host() && !named {
        return Err((Status::Skip, format!("the region is unknown ({not_eks}) and the instance metadata service is this machine's, not the node's under --root (set AWS_EC2_METADATA_SERVICE_ENDPOINT to ask one): the endpoints of the AWS services are not checked")));
    }
    let asked = async {
        let ep = crate::imds::endpoint_from(|k| std::env::var(k).ok())?;
        crate::imds::region(&ep).await.map(|r| (r, format!("the instance metadata service ({})", ep.url)))
    };
    asked.await.map_err(|f: Failure| {
        (
            Status::Warn,
            format!("the region is unknown ({not_eks}) and the instance metadata service did not give it: {}; to fix: {}: the endpoints of the AWS services are not checked", f.message, f.fix),
        )
    })
}

/// The way-out checks on an EKS node: `eks/region`, `eks/default-route`, `eks/reach-*` and
/// `eks/way-out`, all within `--diagnose-timeout`.
pub(super) async fn way_out_checks(
    report: &mut Report,
    found: &mut Vec<Found>,
    opts: &DiagnoseOptions,
    fs: &NodeFs,
    cluster_endpoint: Option<&str>,
) {
    let run = way_out(report, found, fs, cluster_endpoint);
    if tokio::time::timeout(opts.timeout, run).await.is_err() {
        let d = format!(
            "the way-out checks did not finish within --diagnose-timeout {}",
            crate::duration::format(opts.timeout)
        );
        add(report, found, Check::EksWayOut, Status::Warn, d, None);
    }
}

async fn way_out(report: &mut Report, found: &mut Vec<Found>, fs: &NodeFs, cluster_endpoint: Option<&str>) {
    let cluster = cluster_endpoint.and_then(|e| crate::endpoint::Endpoint::from_server_url(e).ok());
    let overrides = match std::env::var(OVERRIDES_ENV) {
        Ok(v) => match parse_overrides(&v) {
            Ok(o) => o,
            Err(e) => {
                report.push_warning(format!("{}: {e} (ignored)", Check::EksRegion.name()));
                Vec::new()
            }
        },
        Err(_) => Vec::new(),
    };
    let region = region(fs, cluster.as_ref().map(|c| c.host.as_str())).await;
    let mut targets = Vec::new();
    for s in Service::ALL {
        let over = overrides.iter().find(|(o, _, _)| *o == s);
        let (host, port, origin) = match (s, over, &region, &cluster) {
            (_, Some((_, h, p)), _, _) => (h.clone(), *p, "JOINKIT_EKS_ENDPOINT_OVERRIDES"),
            (Service::Cluster, None, _, Some(c)) => (c.host.clone(), c.port, "the NodeConfig"),
            (Service::Cluster, None, _, None) => continue,
            (_, None, Ok((r, _)), _) => (standard_host(s, r), 443, "the region"),
            (_, None, Err(_), _) => continue,
        };
        targets.push(Target { service: s, host, port, origin });
    }
    let region_name = match &region {
        Ok((r, from)) => {
            let overridden = if overrides.is_empty() {
                String::new()
            } else {
                format!(
                    "; {OVERRIDES_ENV} replaces {}",
                    overrides.iter().map(|o| o.0.key()).collect::<Vec<_>>().join(", ")
                )
            };
            add(report, found, Check::EksRegion, Status::Pass, format!("region {r} (from {from}); EKS image registry account {} (amazon-eks-ami get-ecr-uri.sh){overridden}", registry_account(r)), None);
            r.clone()
        }
        Err((status, d)) => {
            add(report, found, Check::EksRegion, *status, d.clone(), None);
            "REGION".to_string()
        }
    };
    let default = default_route(fs);
    let has_default = match &default {
        Ok(Some(d)) => {
            add(report, found, Check::EksDefaultRoute, Status::Pass, format!("default route {d} (/proc/net/route): the way out is the VPC router, and the subnet's route table decides where 0.0.0.0/0 goes (a NAT or internet gateway)"), None);
            Some(true)
        }
        Ok(None) => {
            add(report, found, Check::EksDefaultRoute, Status::Pass, "no default route in /proc/net/route: only addresses inside the VPC are reachable, so every AWS service must be a VPC endpoint (interface endpoints with private DNS, the S3 gateway endpoint)".into(), None);
            Some(false)
        }
        Err(e) => {
            add(
                report,
                found,
                Check::EksDefaultRoute,
                Status::Warn,
                format!("{e}: the default route is not checked"),
                None,
            );
            None
        }
    };
    let outcomes = probe(fs, &targets).await;
    let (mut private, mut public, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for (t, o) in targets.iter().zip(outcomes) {
        let c = t.service.check();
        let name = format!("{}:{} ({})", crate::redact::truncate(&t.host, 120), t.port, t.service.why());
        let from = if t.origin == OVERRIDES_ENV { format!(" [{OVERRIDES_ENV}]") } else { String::new() };
        let fix = t.service.no_way_fix(&region_name);
        let sg = "allow inbound TCP 443 from the node's security group (or subnet) on the endpoint's security group, and outbound 443 on the node's; network ACLs must allow 443 and the ephemeral ports 1025-65535 back";
        match o {
            Outcome::Reached(ip, route) => {
                let via = route.map(|r| format!(", {r}")).unwrap_or_default();
                let kind = if is_private(ip) {
                    private.push(t.service);
                    if t.service == Service::Cluster {
                        "private: the cluster's private endpoint in the VPC"
                    } else {
                        "private: a VPC endpoint with private DNS"
                    }
                } else {
                    public.push(t.service);
                    if t.service == Service::S3 {
                        // A gateway endpoint keeps S3's public addresses and routes them in the
                        // route table (VPC user guide, "Gateway endpoints for Amazon S3").
                        "public: through the subnet's NAT or internet gateway, or its S3 gateway endpoint"
                    } else {
                        "public: through the subnet's NAT or internet gateway"
                    }
                };
                add(report, found, c, Status::Pass, format!("{name}{from} -> {ip} ({kind}){via}: TCP connects"), None);
            }
            Outcome::NoName(e) => {
                failed.push(t.service);
                let cause = match has_default {
                    Some(false) => format!("no default route and {} does not resolve: the node has no NAT path and no VPC endpoint with private DNS answers for this name, or the VPC's DNS resolution (enableDnsSupport) is off", t.host),
                    _ => "the VPC's DNS resolution (enableDnsSupport) or its DHCP options set (domain-name-servers=AmazonProvidedDNS) is wrong, or /etc/resolv.conf points elsewhere; a VPC endpoint whose private DNS is off leaves the name resolving publicly".into(),
                };
                let fix = match has_default {
                    Some(false) => fix,
                    _ => format!("turn on DNS resolution and DNS hostnames on the VPC, use AmazonProvidedDNS in its DHCP options set, check `getent hosts {}` on the node; or {fix}", t.host),
                };
                finding(report, found, c, Domain::Dns, format!("{name}{from} does not resolve: {e}"), cause, fix);
            }
            Outcome::NoRoute(ip, d) => {
                failed.push(t.service);
                let (cause, fix) = if is_private(ip) {
                    (format!("{ip} is a private address, but the node's routing table has no route to it"), format!("check the node's routes (`ip route get {ip}`) and that the endpoint is in the node's VPC; {sg}"))
                } else {
                    (format!("{} resolves to the public address {ip} and the node has no default route: the subnet has no way out (its route table has no 0.0.0.0/0 route to a NAT gateway) and no VPC endpoint answers for the name", t.host), fix)
                };
                finding(report, found, c, Domain::Network, format!("{name}{from} -> {ip}: {d}"), cause, fix);
            }
            Outcome::Refused(ip) | Outcome::TimedOut(ip) | Outcome::Unreachable(ip, _) => {
                failed.push(t.service);
                let what = match &o {
                    Outcome::Refused(_) => "the connection is refused".to_string(),
                    Outcome::TimedOut(_) => format!("no answer to TCP within {}s", REACH_TIMEOUT.as_secs()),
                    Outcome::Unreachable(_, e) => e.clone(),
                    _ => unreachable!(),
                };
                let (cause, fix) = if is_private(ip) {
                    (
                        format!("{ip} is in the VPC (a VPC endpoint or the cluster's private endpoint) but does not take TCP on port {}: a security group or network ACL drops it, or the endpoint is not in this node's subnets' reach", t.port),
                        if t.service == Service::Cluster {
                            format!("allow inbound TCP 443 from the node's security group on the cluster security group; {sg}")
                        } else {
                            format!("on the VPC endpoint: {sg}")
                        },
                    )
                } else {
                    (
                        format!("{ip} is public: the node's default route ends at the VPC router, and the subnet's route table sends 0.0.0.0/0 to no NAT gateway (or internet gateway), or the node's security group or network ACL blocks outbound 443"),
                        format!("{fix}; and allow outbound TCP 443 in the node's security group"),
                    )
                };
                finding(report, found, c, Domain::Network, format!("{name}{from} -> {ip}: {what}"), cause, fix);
            }
        }
    }
    let keys = |v: &[Service]| v.iter().map(|s| s.key()).collect::<Vec<_>>().join(", ");
    let aws_private: Vec<Service> = private.iter().copied().filter(|s| *s != Service::Cluster).collect();
    let aws_public: Vec<Service> = public.iter().copied().filter(|s| *s != Service::Cluster).collect();
    let case = match (aws_private.is_empty(), aws_public.is_empty()) {
        (_, true) if !aws_private.is_empty() => format!("the VPC-endpoint case: {} resolve to private addresses in the VPC (no default route needed)", keys(&aws_private)),
        (true, false) => format!("the NAT case: {} resolve to public addresses, reached through the default route (a NAT or internet gateway)", keys(&aws_public)),
        (false, false) => format!("mixed: {} through VPC endpoints, {} through the default route (a NAT or internet gateway)", keys(&aws_private), keys(&aws_public)),
        _ => "no AWS service endpoint was reached".to_string(),
    };
    if targets.is_empty() {
        add(
            report,
            found,
            Check::EksWayOut,
            Status::Skip,
            "nothing to check: no cluster endpoint and no region".into(),
            None,
        );
    } else if failed.is_empty() {
        add(
            report,
            found,
            Check::EksWayOut,
            Status::Pass,
            format!("every endpoint a join needs is reachable: {case}"),
            None,
        );
    } else {
        report.push_stage(Stage::new(
            Check::EksWayOut,
            Status::Fail,
            format!("unreachable: {}; {case}", keys(&failed)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_eks_endpoint_host_names_only() {
        assert_eq!(region_of_host("ABCDEF0123.gr7.us-west-2.eks.amazonaws.com").as_deref(), Some("us-west-2"));
        assert_eq!(region_of_host("abc.yl4.cn-north-1.eks.amazonaws.com.cn").as_deref(), Some("cn-north-1"));
        for h in ["127.0.0.1", "eks.amazonaws.com", "api.example.com", "x.eks.example.com", "x.EVIL.eks.amazonaws.com"]
        {
            assert_eq!(region_of_host(h), None, "{h}");
        }
        assert_eq!(standard_host(Service::EcrDkr, "us-west-2"), "602401143452.dkr.ecr.us-west-2.amazonaws.com");
        assert_eq!(standard_host(Service::EcrDkr, "af-south-1"), "877085696533.dkr.ecr.af-south-1.amazonaws.com");
        assert_eq!(standard_host(Service::Sts, "cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
        assert_eq!(
            standard_host(Service::S3, "eu-west-1"),
            "prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn overrides_and_private_addresses() {
        let o = parse_overrides("sts=10.0.1.5, ecr-dkr=[fd00::5]:8443,cluster=api.local:6443").unwrap();
        assert_eq!(o[0], (Service::Sts, "10.0.1.5".to_string(), 443));
        assert_eq!(o[1], (Service::EcrDkr, "fd00::5".to_string(), 8443));
        assert_eq!(o[2], (Service::Cluster, "api.local".to_string(), 6443));
        for bad in ["sqs=1.2.3.4", "sts", "sts=", "sts=h:x", "sts=http://h"] {
            assert!(parse_overrides(bad).is_err(), "{bad}");
        }
        for (ip, private) in [
            ("10.42.1.1", true),
            ("172.31.0.2", true),
            ("192.168.1.1", true),
            ("100.64.0.1", true),
            ("100.128.0.1", false),
            ("203.0.113.10", false),
            ("52.94.1.1", false),
            ("fd00:ec2::254", true),
            ("2600:1f14::1", false),
        ] {
            assert_eq!(is_private(ip.parse().unwrap()), private, "{ip}");
        }
    }
}
