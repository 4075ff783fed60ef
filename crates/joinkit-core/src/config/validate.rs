//! `validate-config`: every rule `kubeadm config validate` applies to a JoinConfiguration, with
//! kubeadm's message (`cmd/kubeadm/app/apis/kubeadm/validation/validation.go`,
//! `ValidateJoinConfiguration`, after the defaults of `SetJoinDynamicDefaults` in
//! `cmd/kubeadm/app/util/config/joinconfiguration.go` and `initconfiguration.go`), plus what
//! joinkit finds beyond it, each saying so: CA pin syntax, endpoint syntax, taints, a CRI socket
//! the kubelet cannot dial, `ignorePreflightErrors` that `kubeadm join` refuses.
//!
//! Every problem carries a severity, its [`Origin`], `file:line:column`, the field path
//! (`discovery.bootstrapToken.caCertHashes[0]`), the message and a fix. The contract
//! (README, `validate-config`): an error of origin `kubeadm` is one `kubeadm config validate`
//! reports; `beyond-kubeadm` findings are warnings that say why (an error with `--strict`);
//! `advice` is always a warning. Checks that depend on the machine (a discovery file path, the
//! host name when no node name is set) are made here as kubeadm makes them on the node, and
//! marked `machineDependent`.

use super::golang::{self, parse_ip_sloppy, url_scheme};
use super::model::{ApiVersion, JoinConfig, Secret};
use super::schema::{extract, Checker, JOIN_PHASES};
use crate::error::Code;
use crate::report::truncate_for_display;
use crate::yaml::Node;
use serde::Serialize;

pub(crate) use golang::{dns1123_subdomain_error, split_host_port_error};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// kubeadm would fail (or, with `--strict`, joinkit is sure a later step would).
    Error,
    /// Worth fixing; `kubeadm config validate` accepts it.
    Warning,
}

/// Whose rule a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `kubeadm config validate` rejects this: always an error.
    Kubeadm,
    /// `kubeadm config validate` accepts this, but joinkit knows a later step fails on it or
    /// tools read it differently (the message says which): a warning, an error with `--strict`.
    BeyondKubeadm,
    /// Advice (deprecated forms, an unpinned CA): always a warning.
    Advice,
    /// `kubeadm config validate` accepts this and joinkit refuses it by design, always an
    /// error: a knowing difference (docs/kubeadm-config-parity.md). The line breaks only
    /// YAML 1.1 honours (NEL, U+2028, U+2029, a lone CR): kubeadm reads keys there that YAML 1.2
    /// tools do not see, so the file means different things to different readers.
    Joinkit,
    /// An `aws-auth` ConfigMap or access-entry rule: aws-iam-authenticator's or EKS's
    /// ([`super::eks`]); errors are what leaves a node (or a mapping) unauthenticated, warnings
    /// what is ignored or ambiguous (errors with `--strict`).
    Eks,
}

/// One problem in a config file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Whose rule it is.
    pub origin: Origin,
    /// True when the verdict depends on the machine joinkit runs on (a path that must exist,
    /// the host name): kubeadm checks it on the node that joins.
    pub machine_dependent: bool,
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The field path, e.g. `discovery.bootstrapToken.caCertHashes[0]`.
    pub path: String,
    /// What is wrong (kubeadm's message where kubeadm has the rule).
    pub message: String,
    /// True when `message` is kubeadm's own wording for the rule.
    pub kubeadm_rule: bool,
    /// How to fix it.
    pub fix: String,
    /// The failure code the problem gives a file whose first error it is.
    #[serde(skip)]
    pub code: Code,
}

/// The most characters of a problem's message or fix (a safety net: echoed values are cut to
/// [`crate::report::MAX_ECHO_CHARS`] where they are formatted; kubeadm's longest messages are
/// about 350 characters).
pub(crate) const MAX_MESSAGE_CHARS: usize = 1000;
/// The most characters of a problem's field path.
pub(crate) const MAX_PATH_CHARS: usize = 400;

/// An input value as messages echo it: at most [`crate::report::MAX_ECHO_CHARS`] characters.
pub(super) fn shown(s: &str) -> String {
    truncate_for_display(s, crate::report::MAX_ECHO_CHARS)
}

/// kubeadm's bootstrap token rule (`bootstraputil.IsValidBootstrapToken`:
/// `^[a-z0-9]{6}\.[a-z0-9]{16}$`, nothing trimmed).
pub(crate) fn valid_token(t: &str) -> bool {
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    t.split_once('.').is_some_and(|(id, secret)| ok(id, 6) && ok(secret, 16))
}

/// The node name kubeadm registers (`GetHostname`): the given name, else this machine's host
/// name, trimmed and lowercased; an empty result is kubeadm's `empty hostname is invalid`.
/// The flag says whether the machine's host name was used.
pub(crate) fn node_name(given: Option<&str>) -> (Result<String, String>, bool) {
    let (raw, machine) = match given.filter(|n| !n.is_empty()) {
        Some(n) => (Some(n.to_string()), false),
        None => (golang::machine_hostname(), true),
    };
    let Some(raw) = raw else { return (Err("couldn't determine hostname".into()), machine) };
    let t = raw.trim();
    if t.is_empty() {
        return (Err("empty hostname is invalid".into()), machine);
    }
    (Ok(t.to_lowercase()), machine)
}

/// The rules kubeadm applies to `nodeRegistration` (`SetNodeRegistrationDynamicDefaults`, then
/// `ValidateNodeRegistrationOptions`), shared by Init- and JoinConfiguration. `base` is the
/// field path of the `nodeRegistration` section.
pub(crate) fn node_registration_rules(
    c: &mut Checker<'_>,
    base: &str,
    name: Option<&str>,
    cri_socket: Option<&str>,
    extra_arg_names: &[String],
    image_pull_policy: Option<&str>,
) {
    let name_path = format!("{base}.name");
    match node_name(name) {
        (Err(e), machine) => {
            let fix = "set nodeRegistration.name to this node's lowercase DNS name";
            if machine {
                c.machine(
                    Origin::Kubeadm,
                    &name_path,
                    format!("{e} (no nodeRegistration.name: kubeadm uses this machine's host name)"),
                    fix,
                );
            } else {
                c.kubeadm(&name_path, e, fix);
            }
        }
        (Ok(n), machine) => {
            if let Some(e) = dns1123_subdomain_error(&n) {
                let fix = "use a lowercase DNS name, e.g. worker-1";
                if machine {
                    c.machine(
                        Origin::Kubeadm,
                        &name_path,
                        format!("this machine's host name {:?} is not a valid node name: {e} (no nodeRegistration.name: kubeadm uses the host name, lowercased)", shown(&n)),
                        "set nodeRegistration.name, or run the join where the host name is a DNS name",
                    );
                } else {
                    c.kubeadm(&name_path, e, fix);
                }
            }
        }
    }
    let sock_path = format!("{base}.criSocket");
    if let Some(sock) = cri_socket.filter(|s| !s.is_empty()) {
        let full = if sock.starts_with("unix://") {
            sock.to_string()
        } else {
            match sock.split_once("://") {
                Some((scheme, _)) => c.beyond(
                    &sock_path,
                    format!("kubeadm config validate accepts this, but kubeadm supports only the \"unix\" scheme: it prepends unix:// (making unix://{}), which no runtime listens on, so the join fails at preflight (scheme {:?})", shown(sock), shown(scheme)),
                    "use unix:///path/to/socket",
                ),
                None => c.advice(
                    &sock_path,
                    format!("{:?} has no URL scheme; kubeadm prepends unix:// with a deprecation warning", shown(sock)),
                    format!("write unix://{}", shown(sock)),
                ),
            }
            format!("unix://{sock}")
        };
        if let Err(e) = url_scheme(&full) {
            c.kubeadm(
                &sock_path,
                format!("URL parsing error: {e}"),
                "write unix:///path/to/socket with %-escapes only as %XX",
            );
        }
    }
    for (i, n) in extra_arg_names.iter().enumerate() {
        if n.is_empty() {
            c.kubeadm(
                &format!("{base}.kubeletExtraArgs"),
                format!("Invalid value: \"index {i}\": argument has no name"),
                "give every argument a name (the kubelet flag without dashes)",
            );
        }
    }
    if let Some(p) = image_pull_policy {
        if !matches!(p, "" | "Always" | "IfNotPresent" | "Never") {
            c.kubeadm(&format!("{base}.imagePullPolicy"), "invalid pull policy", "use Always, IfNotPresent or Never");
        }
    }
}

/// kubeadm's `SetAPIEndpointDynamicDefaults` then `ValidateAPIEndpoint` on a `localAPIEndpoint`
/// (`base` is its field path); a bind port of 0 is the default 6443.
pub(crate) fn api_endpoint_rules(c: &mut Checker<'_>, base: &str, advertise: Option<&str>, bind_port: Option<i64>) {
    if let Some(a) = advertise.filter(|a| !a.is_empty()) {
        match parse_ip_sloppy(a) {
            None => c.kubeadm(
                &format!("{base}.advertiseAddress"),
                format!("couldn't use {:?} as \"apiserver-advertise-address\", must be ipv4 or ipv6 address", shown(a)),
                "use an IP address of this node",
            ),
            Some(ip) if ip.is_loopback() => {
                let (origin, msg) = match golang::loopback_has_global_unicast() {
                    Some(false) => (Origin::Kubeadm, "unable to select an IP from lo network interface: for a loopback advertise address kubeadm takes a global unicast address of the loopback interface, and this machine's has none"),
                    _ => (Origin::Advice, "a loopback advertise address: kubeadm replaces it with a global unicast address of the loopback interface of the machine it runs on, and fails where there is none"),
                };
                c.machine(origin, &format!("{base}.advertiseAddress"), msg, "use the node's own IP address");
            }
            Some(_) => {}
        }
    }
    if let Some(p) = bind_port {
        if p != 0 && !(1..=65535).contains(&p) {
            c.kubeadm(
                &format!("{base}.bindPort"),
                "port number is not valid",
                "use a port from 1 to 65535 (6443 by default)",
            );
        }
    }
}

/// kubeadm's `ValidateDiscoveryKubeConfigPath`: an https URL, or a path that exists on this
/// machine (machine-dependent: kubeadm checks it on the node).
fn discovery_file_rules(c: &mut Checker<'_>, path: &str) {
    let field = "discovery.file.kubeConfigPath";
    match url_scheme(path) {
        Err(_) => c.kubeadm(
            field,
            "not a valid HTTPS URL or a file on disk",
            "set the path of the discovery kubeconfig or an https:// URL",
        ),
        Ok(scheme) if scheme.is_empty() => {
            let missing = std::fs::metadata(path).err().is_some_and(|e| e.raw_os_error() == Some(libc::ENOENT));
            if missing {
                c.machine(
                    Origin::Kubeadm,
                    field,
                    format!("not a valid HTTPS URL or a file on disk: {:?} does not exist on this machine (kubeadm checks the path on the node where it runs)", shown(path)),
                    "put the discovery file on the node before `kubeadm join` runs, or validate on that node",
                );
            }
        }
        Ok(scheme) if scheme != "https" => {
            c.kubeadm(field, "if a URL is used, the scheme must be https", "serve the discovery file over https")
        }
        Ok(_) => {}
    }
}

/// The semantic rules on an extracted model, in kubeadm's order.
fn rules(c: &mut Checker<'_>, j: &JoinConfig) {
    let bt = "discovery.bootstrapToken";
    // SetJoinDynamicDefaults: the node registration and the control plane's endpoint.
    let arg_names: Vec<String> = j.kubelet_extra_args.iter().map(|(n, _)| n.clone()).collect();
    node_registration_rules(
        c,
        "nodeRegistration",
        j.node_name.as_deref(),
        j.cri_socket.as_deref(),
        &arg_names,
        j.image_pull_policy.as_deref(),
    );
    // ValidateDiscovery.
    match (j.has_bootstrap_token, j.has_file) {
        (false, false) => c.kubeadm(
            "discovery",
            "bootstrapToken or file must be set",
            "set discovery.bootstrapToken (token discovery) or discovery.file.kubeConfigPath",
        ),
        (true, true) => {
            c.kubeadm("discovery", "bootstrapToken and file cannot both be set", "keep one discovery method")
        }
        _ => {}
    }
    if j.has_bootstrap_token {
        let ep = j.api_server_endpoint.as_deref().unwrap_or("");
        if ep.is_empty() {
            c.kubeadm(
                &format!("{bt}.apiServerEndpoint"),
                "APIServerEndpoint is not set",
                "set discovery.bootstrapToken.apiServerEndpoint to host:port, e.g. 10.0.0.10:6443",
            );
        } else if let Some(e) = split_host_port_error(ep) {
            c.kubeadm(
                &format!("{bt}.apiServerEndpoint"),
                e,
                "write host:port, with brackets for IPv6: [fd00::10]:6443",
            );
        } else if let Err(f) = crate::endpoint::Endpoint::parse(ep) {
            c.beyond(
                &format!("{bt}.apiServerEndpoint"),
                format!(
                    "{}: kubeadm config validate checks only the host:port split; kubeadm join would fail at discovery",
                    f.message
                ),
                "write host:port with a valid host and a port from 1 to 65535",
            );
        }
        if j.ca_cert_hashes.is_empty() && j.unsafe_skip_ca_verification != Some(true) {
            c.kubeadm(
                &format!("{bt}.caCertHashes"),
                "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue",
                "add the CA pin (`joinkit ca-hash /etc/kubernetes/pki/ca.crt` on a control-plane node) to caCertHashes",
            );
        }
        if !valid_token(j.token.as_ref().map_or("", Secret::expose)) {
            c.kubeadm(
                &format!("{bt}.token"),
                "the bootstrap token is invalid",
                "set discovery.bootstrapToken.token to [a-z0-9]{6}.[a-z0-9]{16} (`kubeadm token create` / `joinkit token create`)",
            );
        }
        if j.unsafe_skip_ca_verification == Some(true) {
            c.advice(
                &format!("{bt}.unsafeSkipCAVerification"),
                "the CA is not pinned: anyone who knows the token can impersonate the control plane",
                "pin the CA with caCertHashes",
            );
        }
        if j.unsafe_skip_ca_verification != Some(true) {
            for (i, h) in j.ca_cert_hashes.iter().enumerate() {
                if let Err(f) = crate::pin::Pin::parse(h) {
                    c.beyond(
                        &format!("{bt}.caCertHashes[{i}]"),
                        format!(
                            "{}: kubeadm config validate accepts this; kubeadm join would fail at discovery, where it reads the pins",
                            f.kubeadm_message.unwrap_or(f.message)
                        ),
                        "a pin is sha256:<64 hex digits>; compute it with `joinkit ca-hash`",
                    );
                }
            }
        }
    }
    // tlsBootstrapToken defaults to the discovery token (whose own error is reported above).
    if let Some(t) = j.tls_bootstrap_token.as_ref().map(Secret::expose).filter(|t| !t.is_empty()) {
        if (j.has_bootstrap_token || j.has_file) && !valid_token(t) {
            c.kubeadm(
                "discovery.tlsBootstrapToken",
                "the bootstrap token is invalid",
                "a token is [a-z0-9]{6}.[a-z0-9]{16}",
            );
        }
    }
    if j.has_file {
        discovery_file_rules(c, j.discovery_file.as_deref().unwrap_or(""));
        if j.tls_bootstrap_token.as_ref().is_none_or(|t| t.expose().is_empty()) {
            c.advice("discovery.file", "file discovery needs credentials in the discovery file or discovery.tlsBootstrapToken for the TLS bootstrap", "set discovery.tlsBootstrapToken unless the file embeds credentials");
        }
    }
    // ValidateJoinControlPlane.
    if j.control_plane {
        api_endpoint_rules(c, "controlPlane.localAPIEndpoint", j.advertise_address.as_deref(), j.bind_port);
        match &j.certificate_key {
            Some(k) if !k.expose().is_empty() => {
                if let Some(e) = certificate_key_error(k.expose()) {
                    c.kubeadm(
                        "controlPlane.certificateKey",
                        e,
                        "use the 64-hex-digit key printed by `kubeadm init phase upload-certs --upload-certs`",
                    );
                }
            }
            _ => c.advice(
                "controlPlane",
                "no certificateKey: the control-plane certificates must already be on this node",
                "set controlPlane.certificateKey from `kubeadm init phase upload-certs --upload-certs`",
            ),
        }
    }
    // caCertPath (defaulted to /etc/kubernetes/pki/ca.crt).
    if let Some(p) = j.ca_cert_path.as_deref().filter(|p| !p.is_empty()) {
        if !p.starts_with('/') || !p.ends_with(".crt") {
            c.kubeadm(
                "caCertPath",
                "the ca certificate path must be an absolute path",
                "use an absolute path ending in .crt, such as /etc/kubernetes/pki/ca.crt (kubeadm requires both)",
            );
        }
    }
    // Beyond kubeadm config validate.
    let lower: Vec<String> = j.ignore_preflight_errors.iter().map(|e| e.to_lowercase()).collect();
    if lower.iter().any(|e| e == "all") && lower.len() > 1 {
        c.beyond(
            "nodeRegistration.ignorePreflightErrors",
            "kubeadm config validate accepts this; kubeadm join refuses it: don't specify \"all\" along with other values",
            "use either all or a list of checks",
        );
    }
    for (i, t) in j.taints.iter().flatten().enumerate() {
        if !matches!(t.effect.as_str(), "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            c.beyond(
                &format!("nodeRegistration.taints[{i}].effect"),
                format!("taint effect {:?} is not NoSchedule, PreferNoSchedule or NoExecute: kubeadm does not validate taints; the kubelet fails to register the node", shown(&t.effect)),
                "use NoSchedule, PreferNoSchedule or NoExecute",
            );
        }
        if t.key.is_empty() {
            c.beyond(
                &format!("nodeRegistration.taints[{i}].key"),
                "a taint needs a key: kubeadm does not validate taints; the kubelet fails to register the node",
                "set key",
            );
        }
    }
    for (i, p) in j.skip_phases.iter().enumerate() {
        if !JOIN_PHASES.contains(&p.as_str()) {
            c.advice(
                &format!("skipPhases[{i}]"),
                format!("{:?} is not a kubeadm join phase", shown(p)),
                format!("known phases: {}", JOIN_PHASES.join(", ")),
            );
        }
    }
}

/// kubeadm's certificate key rule: hex-decodes to exactly 32 bytes.
pub fn certificate_key_error(k: &str) -> Option<String> {
    if !k.len().is_multiple_of(2) || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bad = k.bytes().position(|b| !b.is_ascii_hexdigit());
        let why = match bad {
            Some(i) => format!("encoding/hex: invalid byte: U+{:04X} {:?}", k.as_bytes()[i], k.as_bytes()[i] as char),
            None => "encoding/hex: odd length hex string".into(),
        };
        return Some(format!("certificate key decoding error: {why}"));
    }
    (k.len() != 64)
        .then(|| format!("invalid certificate key size {}, the key must be an AES key of size 32", k.len() / 2))
}

/// The JoinConfiguration's semantic rules, on a checker that has walked the document: the
/// extracted model.
pub(crate) fn join_rules(c: &mut Checker<'_>, root: &Node, version: ApiVersion) -> JoinConfig {
    let model = extract(root, version);
    rules(c, &model);
    model
}
