//! The rules `kubeadm config validate` applies to the documents beside a JoinConfiguration:
//! Init- and ClusterConfiguration (read together, as kubeadm merges them: `SetInitDynamicDefaults`
//! in `cmd/kubeadm/app/util/config/initconfiguration.go`, `NormalizeKubernetesVersion` in
//! `common.go`, then `ValidateInitConfiguration` in
//! `cmd/kubeadm/app/apis/kubeadm/validation/validation.go`), ResetConfiguration
//! (`ValidateResetConfiguration`) and UpgradeConfiguration (`ValidateUpgradeConfiguration`).
//! The version-dependent parts (the control-plane versions, feature gates) follow
//! [`KubeadmVersion`].

use super::golang::{dns1123_subdomain_error, parse_ip_sloppy, split_host_port, url_scheme, valid_port};
use super::kubeadm::{kubernetes_version, KubeadmVersion, KubernetesVersion, Semver};
use super::schema::{integer, Checker};
use super::validate::{api_endpoint_rules, node_registration_rules, shown, valid_token, Origin};
use crate::yaml::{Node, ScalarKind, Value};

/// The node at a dotted path (`a.b.c`).
fn at<'n>(root: &'n Node, path: &str) -> Option<&'n Node> {
    path.split('.').try_fold(root, |n, k| n.get(k)).filter(|n| !n.is_null())
}

/// A string at a path (None when absent or null).
fn text<'n>(root: &'n Node, path: &str) -> Option<&'n str> {
    at(root, path).and_then(Node::scalar).filter(|s| s.kind() != ScalarKind::Null).map(|s| s.value.as_str())
}

fn strings(root: &Node, path: &str) -> Vec<String> {
    at(root, path)
        .map(|n| n.items().iter().map(|i| i.str().filter(|_| !i.is_null()).unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

/// The names of a v1beta4 `[]Arg` list or the keys of a v1beta3 map.
fn arg_names(root: &Node, path: &str) -> Vec<String> {
    match at(root, path).map(|n| &n.value) {
        Some(Value::Seq(items)) => items.iter().map(|i| text(i, "name").unwrap_or("").to_string()).collect(),
        Some(Value::Map(m)) => m.iter().map(|(k, _)| k.name.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The value of a v1beta4 `[]Arg` list or a v1beta3 map for `name` (the last one given).
fn arg_value(root: &Node, path: &str, name: &str) -> Option<String> {
    match at(root, path).map(|n| &n.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .rev()
            .find(|i| text(i, "name") == Some(name))
            .map(|i| text(i, "value").unwrap_or("").to_string()),
        Some(Value::Map(m)) => {
            m.iter().rev().find(|(k, _)| k.name == name).and_then(|(_, v)| v.str().map(str::to_string))
        }
        _ => None,
    }
}

/// kubeadm's feature gates (`cmd/kubeadm/app/features/features.go`) by release: the names
/// `featureGates` accepts.
fn feature_gates(kv: KubeadmVersion) -> &'static [&'static str] {
    match kv {
        KubeadmVersion::V1_33 => &[
            "PublicKeysECDSA",
            "RootlessControlPlane",
            "WaitForAllControlPlaneComponents",
            "ControlPlaneKubeletLocalMode",
            "NodeLocalCRISocket",
        ],
        KubeadmVersion::V1_35 => {
            &["PublicKeysECDSA", "RootlessControlPlane", "ControlPlaneKubeletLocalMode", "NodeLocalCRISocket"]
        }
        KubeadmVersion::V1_36 => &["PublicKeysECDSA", "RootlessControlPlane", "NodeLocalCRISocket"],
    }
}

/// A CIDR as `netutils.ParseCIDRSloppy` reads it: (is IPv6, prefix length).
fn parse_cidr(s: &str) -> Option<(bool, u32)> {
    let (ip, bits) = s.split_once('/')?;
    let ip = parse_ip_sloppy(ip)?;
    if bits.is_empty()
        || bits.len() > 3
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return None;
    }
    let n: u32 = bits.parse().ok()?;
    let v6 = ip.is_ipv6();
    (n <= if v6 { 128 } else { 32 }).then_some((v6, n))
}

/// `ValidateIPNetFromString` (and the subnet-size rules after it) for a comma-separated list.
fn subnets(c: &mut Checker<'_>, path: &str, value: &str, min_addrs: u32) -> Option<Vec<(bool, u32)>> {
    let parsed: Option<Vec<(bool, u32)>> = value.split(',').map(parse_cidr).collect();
    let Some(nets) = parsed else {
        c.kubeadm(
            path,
            format!("Invalid value: {:?}: couldn't parse subnet", shown(value)),
            "write a CIDR such as 10.96.0.0/12 (two, comma-separated, for dual-stack)",
        );
        return None;
    };
    let dual = "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking";
    if nets.len() > 2 || (nets.len() == 2 && nets[0].0 == nets[1].0) {
        c.kubeadm(path, dual, "one CIDR, or one IPv4 and one IPv6 CIDR");
    }
    for (v6, ones) in &nets {
        let host_bits = if *v6 { 128 - ones } else { 32 - ones };
        if host_bits < 32 && (1u64 << host_bits) < u64::from(min_addrs) {
            c.kubeadm(
                path,
                format!("subnet with {} address(es) is too small, the minimum is {min_addrs}", 1u64 << host_bits),
                "use a larger subnet",
            );
        }
    }
    Some(nets)
}

/// `ValidateCertSANs`: each name an IP, a DNS-1123 subdomain or a `*.` wildcard one.
fn cert_sans(c: &mut Checker<'_>, path: &str, sans: &[String], lowercase: bool) {
    for san in sans {
        let san = if lowercase { san.to_lowercase() } else { san.clone() };
        let wildcard_ok = san.strip_prefix("*.").is_some_and(|rest| dns1123_subdomain_error(rest).is_none());
        if dns1123_subdomain_error(&san).is_some() && !wildcard_ok && parse_ip_sloppy(&san).is_none() {
            c.kubeadm(
                path,
                format!("Invalid value: {:?}: altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards", shown(&san)),
                "use IP addresses and lowercase DNS names (a leading *. for a wildcard)",
            );
        }
    }
}

/// `ValidateAbsolutePath`.
fn absolute(c: &mut Checker<'_>, path: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        if !v.starts_with('/') {
            c.kubeadm(path, format!("Invalid value: {:?}: path is not absolute", shown(v)), "use an absolute path");
        }
    }
}

fn extra_args(c: &mut Checker<'_>, root: &Node, path: &str) {
    for (i, n) in arg_names(root, path).iter().enumerate() {
        if n.is_empty() {
            c.kubeadm(
                path,
                format!("Invalid value: \"index {i}\": argument has no name"),
                "give every argument a name (the flag without dashes)",
            );
        }
    }
}

/// kubeadm's image repository format: a registry host (`[a-zA-Z0-9-]` labels, an optional
/// port, or a bracketed IPv6 address), optionally followed by lowercase path components.
fn image_repository_ok(s: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let domain = |d: &str| {
        if let Some(r) = d.strip_prefix('[') {
            return match r.split_once(']') {
                Some((h, p)) if h.parse::<std::net::Ipv6Addr>().is_ok() => {
                    p.is_empty() || p.strip_prefix(':').is_some_and(digits)
                }
                _ => false,
            };
        }
        let (host, port) = match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        };
        port.is_none_or(digits) && host.split('.').all(label)
    };
    let component = |p: &str| {
        // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
        let b = p.as_bytes();
        if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_lowercase() || b[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
                i += 1;
            }
            let sep = &p[start..i];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
            if !ok || i == b.len() || !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
                return false;
            }
        }
        true
    };
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() == 1 {
        return domain(parts[0]) || component(parts[0]);
    }
    let rest_ok = parts[1..].iter().all(|p| component(p));
    rest_ok && (domain(parts[0]) || component(parts[0]))
}

/// `kubernetesVersion` against what this kubeadm deploys (`NormalizeKubernetesVersion`).
fn kubernetes_version_rules(c: &mut Checker<'_>, path: &str, value: &str, kv: KubeadmVersion) {
    let (maj, min, pat) = kv.minimum_control_plane();
    match kubernetes_version(value) {
        Err(e) => c.kubeadm(path, e, "write a release such as v1.36.0, or a label such as stable"),
        Ok(KubernetesVersion::Exact(v)) => {
            let shown_v = if v.starts_with('v') { v.clone() } else { format!("v{v}") };
            match Semver::parse(&v) {
                None => c.kubeadm(path, format!("couldn't parse Kubernetes version {shown_v:?}"), "write a release such as v1.36.0"),
                Some(s) if s.less_than((maj, min, pat)) => c.kubeadm(
                    path,
                    format!("this version of kubeadm only supports deploying clusters with the control plane version >= {maj}.{min}.{pat}. Current version: {shown_v}"),
                    format!("kubeadm {} deploys and joins control planes from v{maj}.{min}.0 on; use a newer kubernetesVersion or an older kubeadm (--kubeadm-version)", kv.name()),
                ),
                Some(s) if s.core.1 > kv.minor() + 1 || s.core.0 > 1 => c.advice(
                    path,
                    format!("{shown_v} is newer than kubeadm {}; kubeadm init's preflight warns that the Kubernetes version is greater than the kubeadm version", kv.name()),
                    "use the kubeadm of that release",
                ),
                Some(_) => {}
            }
        }
        Ok(KubernetesVersion::Label { minor }) => {
            if minor.is_some_and(|m| m < min) {
                c.machine(
                    Origin::BeyondKubeadm,
                    path,
                    format!("{:?} names v1.{} releases: kubeadm resolves the label over the network (dl.k8s.io) and then refuses it (the control plane must be >= {maj}.{min}.{pat}); offline it falls back to its own version and accepts it", shown(value), minor.unwrap_or(0)),
                    "write an explicit release such as v1.36.0",
                );
            }
        }
    }
}

/// The InitConfiguration's rules (its bootstrap tokens, node registration and local API
/// endpoint); `None` when the file has only a ClusterConfiguration (kubeadm defaults the
/// InitConfiguration, so the node name is this machine's host name).
pub(crate) fn init_rules(c: &mut Checker<'_>, init: Option<&Node>) {
    if let Some(init) = init {
        // SetBootstrapTokensDynamicDefaults and the decoding of each token.
        if let Some(tokens) = at(init, "bootstrapTokens") {
            for (i, t) in tokens.items().iter().enumerate() {
                let base = format!("bootstrapTokens[{i}]");
                if let Some(tok) = t.get("token").filter(|n| !n.is_null()) {
                    if !valid_token(tok.str().unwrap_or("")) {
                        c.kubeadm(
                            &format!("{base}.token"),
                            "the bootstrap token was not of the form \"\\\\A([a-z0-9]{6})\\\\.([a-z0-9]{16})\\\\z\"",
                            "a token is [a-z0-9]{6}.[a-z0-9]{16}, or leave it out to have one generated",
                        );
                    }
                }
                let usages = strings(t, "usages");
                for u in &usages {
                    if u != "signing" && u != "authentication" {
                        c.kubeadm(
                            &format!("{base}.usages"),
                            format!(
                                "invalid bootstrap token usage string: {}, valid usage options: signing,authentication",
                                shown(u)
                            ),
                            "use signing and/or authentication",
                        );
                    }
                }
                let groups = strings(t, "groups");
                if !groups.is_empty() && !usages.is_empty() && !usages.iter().any(|u| u == "authentication") {
                    c.kubeadm(
                        &format!("{base}.groups"),
                        "token groups cannot be specified unless --usages includes \"authentication\"",
                        "add authentication to usages",
                    );
                }
                for g in &groups {
                    if !crate::token::manage::valid_group(g) {
                        c.kubeadm(
                            &format!("{base}.groups"),
                            format!("bootstrap group {:?} is invalid (must match \\Asystem:bootstrappers:[a-z0-9:-]{{0,255}}[a-z0-9]\\z)", shown(g)),
                            "groups look like system:bootstrappers:<name>",
                        );
                    }
                }
                if at(t, "ttl").is_some() && at(t, "expires").is_some() {
                    c.kubeadm(
                        &base,
                        "the BootstrapToken .TTL and .Expires fields are mutually exclusive",
                        "keep ttl or expires",
                    );
                }
            }
        }
    }
    let nr = init.and_then(|i| at(i, "nodeRegistration"));
    let extra = nr.map(|n| arg_names(n, "kubeletExtraArgs")).unwrap_or_default();
    node_registration_rules(
        c,
        "nodeRegistration",
        nr.and_then(|n| text(n, "name")),
        nr.and_then(|n| text(n, "criSocket")),
        &extra,
        nr.and_then(|n| text(n, "imagePullPolicy")),
    );
    let ep = init.and_then(|i| at(i, "localAPIEndpoint"));
    api_endpoint_rules(
        c,
        "localAPIEndpoint",
        ep.and_then(|e| text(e, "advertiseAddress")),
        integer(ep.and_then(|e| e.get("bindPort"))),
    );
}

/// The ClusterConfiguration's rules (`SetClusterDynamicDefaults`, `ValidateClusterConfiguration`).
pub(crate) fn cluster_rules(c: &mut Checker<'_>, cc: &Node, kv: KubeadmVersion) {
    // SetClusterDynamicDefaults.
    kubernetes_version_rules(c, "kubernetesVersion", text(cc, "kubernetesVersion").unwrap_or(""), kv);
    if let Some(cpe) = text(cc, "controlPlaneEndpoint").filter(|v| !v.is_empty()) {
        let (host, port) = split_host_port(cpe).unwrap_or((cpe, ""));
        if !port.is_empty() && !valid_port(port) {
            c.kubeadm(
                "controlPlaneEndpoint",
                format!("hostport {cpe}: port {port} must be a valid number between 1 and 65535, inclusive"),
                "write host or host:port with a port from 1 to 65535",
            );
        } else if parse_ip_sloppy(host).is_none() && dns1123_subdomain_error(host).is_some() {
            c.kubeadm(
                "controlPlaneEndpoint",
                format!("hostport {cpe}: host '{host}' must be a valid IP address or a valid RFC-1123 DNS subdomain"),
                "use an IP address or a lowercase DNS name",
            );
        }
    }
    // ValidateNetworking.
    if let Some(d) = text(cc, "networking.dnsDomain").filter(|d| !d.is_empty()) {
        if let Some(e) = dns1123_subdomain_error(d) {
            c.kubeadm("networking.dnsDomain", e, "use a lowercase DNS domain such as cluster.local");
        }
    }
    if let Some(svc) = text(cc, "networking.serviceSubnet").filter(|v| !v.is_empty()) {
        if let Some(nets) = subnets(c, "networking.serviceSubnet", svc, 10) {
            for (v6, ones) in nets {
                let bits = if v6 { 128 } else { 32 };
                if bits - ones > 20 {
                    c.kubeadm(
                        "networking.serviceSubnet",
                        format!(
                            "specified service subnet is too large; for {bits}-bit addresses, the mask must be >= {}",
                            bits - 20
                        ),
                        "use a smaller service subnet, e.g. 10.96.0.0/12",
                    );
                }
            }
        }
    }
    if let Some(pod) = text(cc, "networking.podSubnet").filter(|v| !v.is_empty()) {
        if let Some(nets) = subnets(c, "networking.podSubnet", pod, 14) {
            let dual = nets.len() == 2;
            for (v6, ones) in nets {
                let flag = match (dual, v6) {
                    (true, false) => "node-cidr-mask-size-ipv4",
                    (true, true) => "node-cidr-mask-size-ipv6",
                    (false, _) => "node-cidr-mask-size",
                };
                let default = if v6 { 64 } else { 24 };
                let mask = match arg_value(cc, "controllerManager.extraArgs", flag) {
                    None => default,
                    Some(v) => match v.parse::<u32>() {
                        Ok(m) => m,
                        Err(_) => {
                            c.kubeadm("networking.podSubnet", format!("could not parse the value of the kube-controller-manager flag {flag} as an integer"), "fix the flag value");
                            continue;
                        }
                    },
                };
                if ones > mask {
                    c.kubeadm(
                        "networking.podSubnet",
                        format!("the size of pod subnet with mask {ones} is smaller than the size of node subnet with mask {mask}"),
                        "use a larger pod subnet, or a larger node CIDR mask",
                    );
                } else if mask - ones > 16 {
                    c.kubeadm(
                        "networking.podSubnet",
                        format!("pod subnet mask ({ones}) and node-mask ({mask}) difference is greater than 16"),
                        "use a smaller pod subnet, or a smaller node CIDR mask",
                    );
                }
            }
        }
    }
    // ValidateAPIServer, ValidateControllerManager, ValidateScheduler.
    cert_sans(c, "apiServer.certSANs", &strings(cc, "apiServer.certSANs"), true);
    for comp in ["apiServer", "controllerManager", "scheduler", "etcd.local"] {
        extra_args(c, cc, &format!("{comp}.extraArgs"));
    }
    absolute(c, "certificatesDir", text(cc, "certificatesDir"));
    if let Some(gates) = at(cc, "featureGates") {
        if let Value::Map(m) = &gates.value {
            for (k, _) in m {
                if !feature_gates(kv).contains(&k.name.as_str()) {
                    c.kubeadm(
                        &format!("featureGates.{}", k.name),
                        format!("{} is not a valid feature name.", shown(&k.name)),
                        format!("kubeadm {} knows: {}", kv.name(), feature_gates(kv).join(", ")),
                    );
                }
            }
        }
    }
    if let Some(r) = text(cc, "imageRepository").filter(|r| !r.is_empty()) {
        if !image_repository_ok(r) {
            c.kubeadm(
                "imageRepository",
                format!("Invalid value: {:?}: invalid image repository format", shown(r)),
                "write a registry and path such as registry.k8s.io or registry.example.com/k8s",
            );
        }
    }
    // ValidateEtcd.
    let local = at(cc, "etcd.local");
    let external = at(cc, "etcd.external");
    if local.is_some() && external.is_some() {
        c.kubeadm("etcd", ".Etcd.Local and .Etcd.External are mutually exclusive", "keep etcd.local or etcd.external");
    }
    if let Some(l) = local {
        absolute(c, "etcd.local.dataDir", text(l, "dataDir"));
        cert_sans(c, "etcd.local.serverCertSANs", &strings(l, "serverCertSANs"), false);
        cert_sans(c, "etcd.local.peerCertSANs", &strings(l, "peerCertSANs"), false);
    }
    if let Some(x) = external {
        let endpoints = strings(x, "endpoints");
        if endpoints.is_empty() {
            c.kubeadm(
                "etcd.external.endpoints",
                "at least one endpoint must be specified",
                "list the etcd client URLs",
            );
        }
        let mut urls = endpoints;
        urls.extend(strings(x, "httpEndpoints"));
        for u in &urls {
            if let Err(e) = url_scheme(u) {
                c.kubeadm(
                    "etcd.external.endpoints",
                    format!("Invalid value: {:?}: URL parse error: {e}", shown(u)),
                    "write https://host:2379",
                );
            }
        }
        for f in ["caFile", "certFile", "keyFile"] {
            absolute(c, &format!("etcd.external.{f}"), text(x, f));
        }
    }
    if let Some(a) = text(cc, "encryptionAlgorithm").filter(|a| !a.is_empty()) {
        if !matches!(a, "ECDSA-P256" | "ECDSA-P384" | "RSA-2048" | "RSA-3072" | "RSA-4096") {
            c.kubeadm(
                "encryptionAlgorithm",
                format!("Invalid encryption algorithm {:?}. Must be one of [ECDSA-P256 ECDSA-P384 RSA-2048 RSA-3072 RSA-4096]", shown(a)),
                "use one of ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096",
            );
        }
    }
}

/// ResetConfiguration (`SetResetDynamicDefaults`, `ValidateResetConfiguration`).
pub(crate) fn reset_rules(c: &mut Checker<'_>, root: &Node) {
    absolute(c, "certificatesDir", text(root, "certificatesDir"));
    if let Some(sock) = text(root, "criSocket").filter(|s| !s.is_empty()) {
        let full = if sock.starts_with("unix://") { sock.to_string() } else { format!("unix://{sock}") };
        if let Err(e) = url_scheme(&full) {
            c.kubeadm("criSocket", format!("URL parsing error: {e}"), "write unix:///path/to/socket");
        }
    }
}

/// UpgradeConfiguration (`ValidateUpgradeConfiguration`): the image pull policies.
pub(crate) fn upgrade_rules(c: &mut Checker<'_>, root: &Node) {
    for section in ["apply", "node"] {
        if let Some(p) = text(root, &format!("{section}.imagePullPolicy")) {
            if !matches!(p, "" | "Always" | "IfNotPresent" | "Never") {
                c.kubeadm(
                    &format!("{section}.imagePullPolicy"),
                    "invalid pull policy",
                    "use Always, IfNotPresent or Never",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_repositories_as_kubeadm_reads_them() {
        for ok in [
            "registry.k8s.io",
            "Registry.k8s.io",
            "localhost:5000/x",
            "x_y",
            "x__y",
            "a/b/c",
            "a:5000",
            "A",
            "[::1]:5000/x",
            "1.2.3.4:5000",
        ] {
            assert!(image_repository_ok(ok), "{ok}");
        }
        for bad in ["a//b", "a b", "reg.io/Foo", "reg.io:abc", "x.", "-x", "a/b:tag", "a@sha256:x", "x..y"] {
            assert!(!image_repository_ok(bad), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.96.0.0/12"), Some((false, 12)));
        assert_eq!(parse_cidr("fd00::/108"), Some((true, 108)));
        assert_eq!(parse_cidr("42"), None);
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
    }
}
