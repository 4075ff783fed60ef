//! `validate-config`: every kubeadm JoinConfiguration validation rule with kubeadm's message
//! (`cmd/kubeadm/app/apis/kubeadm/validation/validation.go`, spec section 5), plus stricter
//! checks kubeadm defers to join time or only warns about (each says so): CA pin syntax, token
//! format, certificate key format, endpoint syntax, unknown fields (with the nearest known
//! field), duplicate keys, wrong types for the version, duration syntax.
//!
//! Every problem carries a severity, `file:line:column`, the field path
//! (`discovery.bootstrapToken.caCertHashes[0]`), the message and a fix.

use super::model::{ApiVersion, JoinConfig, Secret};
use super::schema::{extract, Checker, JOIN_PHASES};
use crate::report::truncate_for_display;
use crate::yaml::Node;
use serde::Serialize;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// kubeadm would fail (or joinkit is sure the join would).
    Error,
    /// Worth fixing; the join may still work.
    Warning,
}

/// One problem in a config file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
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

/// Go's `net.SplitHostPort` error for `addr`, if any (kubeadm's endpoint rule).
pub(crate) fn split_host_port_error(addr: &str) -> Option<String> {
    let err = |why: &str| Some(format!("address {addr}: {why}"));
    if let Some(rest) = addr.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return err("missing ']' in address");
        };
        let after = &rest[end + 1..];
        if after.is_empty() {
            return err("missing port in address");
        }
        if !after.starts_with(':') {
            return err("missing port in address");
        }
        if after[1..].contains(':') {
            return err("too many colons in address");
        }
        return None;
    }
    match addr.matches(':').count() {
        0 => err("missing port in address"),
        1 => None,
        _ => err("too many colons in address"),
    }
}

/// DNS-1123 subdomain (node names): kubeadm's message when it does not match.
pub(crate) fn dns1123_subdomain_error(name: &str) -> Option<String> {
    const MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    if name.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    let ok = !name.is_empty()
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    (!ok).then(|| MSG.to_string())
}

/// The semantic rules on an extracted model.
fn rules(c: &mut Checker<'_>, j: &JoinConfig) {
    let bt = "discovery.bootstrapToken";
    // Discovery: exactly one method.
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
        match j.api_server_endpoint.as_deref() {
            None | Some("") => c.kubeadm(
                &format!("{bt}.apiServerEndpoint"),
                "APIServerEndpoint is not set",
                "set discovery.bootstrapToken.apiServerEndpoint to host:port, e.g. 10.0.0.10:6443",
            ),
            Some(ep) => {
                if let Some(e) = split_host_port_error(ep) {
                    c.kubeadm(
                        &format!("{bt}.apiServerEndpoint"),
                        e,
                        "write host:port, with brackets for IPv6: [fd00::10]:6443",
                    );
                } else if let Err(f) = crate::endpoint::Endpoint::parse(ep) {
                    c.stricter(
                        Severity::Error,
                        &format!("{bt}.apiServerEndpoint"),
                        format!("{} (kubeadm checks only the host:port split and fails at discovery)", f.message),
                        "write host:port with a valid host and a port from 1 to 65535",
                    );
                }
            }
        }
        match j.token.as_ref().map(Secret::expose) {
            None | Some("") => c.kubeadm(
                &format!("{bt}.token"),
                "the bootstrap token is invalid",
                "set discovery.bootstrapToken.token (from `kubeadm token create` / `joinkit token create`)",
            ),
            Some(t) if crate::token::BootstrapToken::parse(t).is_err() => c.kubeadm(
                &format!("{bt}.token"),
                "the bootstrap token is invalid",
                "a token is [a-z0-9]{6}.[a-z0-9]{16}",
            ),
            _ => {}
        }
        if j.ca_cert_hashes.is_empty() && j.unsafe_skip_ca_verification != Some(true) {
            c.kubeadm(
                &format!("{bt}.caCertHashes"),
                "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue",
                "add the CA pin (`joinkit ca-hash /etc/kubernetes/pki/ca.crt` on a control-plane node) to caCertHashes",
            );
        }
        if j.unsafe_skip_ca_verification == Some(true) {
            c.stricter(
                Severity::Warning,
                &format!("{bt}.unsafeSkipCAVerification"),
                "the CA is not pinned: anyone who knows the token can impersonate the control plane",
                "pin the CA with caCertHashes",
            );
        }
        for (i, h) in j.ca_cert_hashes.iter().enumerate() {
            if let Err(f) = crate::pin::Pin::parse(h) {
                c.stricter(
                    Severity::Error,
                    &format!("{bt}.caCertHashes[{i}]"),
                    format!(
                        "{} (kubeadm checks this only at discovery time, then fails the join)",
                        f.kubeadm_message.unwrap_or(f.message)
                    ),
                    "a pin is sha256:<64 hex digits>; compute it with `joinkit ca-hash`",
                );
            }
        }
    }
    if let Some(t) = &j.tls_bootstrap_token {
        if crate::token::BootstrapToken::parse(t.expose()).is_err() {
            c.kubeadm(
                "discovery.tlsBootstrapToken",
                "the bootstrap token is invalid",
                "a token is [a-z0-9]{6}.[a-z0-9]{16}",
            );
        }
    }
    if j.has_file {
        match j.discovery_file.as_deref() {
            None | Some("") => c.kubeadm("discovery.file.kubeConfigPath", "not a valid HTTPS URL or a file on disk", "set the path of the discovery kubeconfig or an https:// URL"),
            Some(p) if p.contains("://") && !p.starts_with("https://") => {
                c.kubeadm("discovery.file.kubeConfigPath", "if a URL is used, the scheme must be https", "serve the discovery file over https")
            }
            Some(p) if !p.contains("://") && !std::path::Path::new(p).exists() => c.stricter(
                Severity::Warning,
                "discovery.file.kubeConfigPath",
                format!("{p} does not exist on this machine; kubeadm requires it on the node (\"not a valid HTTPS URL or a file on disk\")"),
                "make sure the file is on the node before `kubeadm join` runs",
            ),
            _ => {}
        }
        if j.tls_bootstrap_token.is_none() {
            c.stricter(Severity::Warning, "discovery.file", "file discovery needs credentials in the discovery file or discovery.tlsBootstrapToken for the TLS bootstrap", "set discovery.tlsBootstrapToken unless the file embeds credentials");
        }
    }
    if let Some(p) = &j.ca_cert_path {
        if !p.starts_with('/') {
            c.kubeadm(
                "caCertPath",
                "the ca certificate path must be an absolute path",
                "use an absolute path such as /etc/kubernetes/pki/ca.crt",
            );
        }
    }
    // Node registration.
    if let Some(n) = &j.node_name {
        if let Some(e) = dns1123_subdomain_error(n) {
            c.kubeadm("nodeRegistration.name", e, "use a lowercase DNS name, e.g. worker-1");
        }
    }
    if let Some(sock) = &j.cri_socket {
        if sock.is_empty() {
            c.kubeadm(
                "nodeRegistration.criSocket",
                "empty CRI socket",
                "remove the field (kubeadm detects the runtime) or set e.g. unix:///run/containerd/containerd.sock",
            );
        } else if let Some((scheme, _)) = sock.split_once("://") {
            if scheme != "unix" {
                c.kubeadm(
                    "nodeRegistration.criSocket",
                    format!("only URL scheme \"unix\" is supported, got {scheme:?}"),
                    "use unix:///path/to/socket",
                );
            }
        } else {
            c.stricter(
                Severity::Warning,
                "nodeRegistration.criSocket",
                format!("{sock:?} has no URL scheme; kubeadm prepends unix:// with a deprecation warning"),
                format!("write unix://{sock}"),
            );
        }
    }
    if let Some(p) = &j.image_pull_policy {
        if !matches!(p.as_str(), "Always" | "IfNotPresent" | "Never") {
            c.kubeadm("nodeRegistration.imagePullPolicy", "invalid pull policy", "use Always, IfNotPresent or Never");
        }
    }
    let lower: Vec<String> = j.ignore_preflight_errors.iter().map(|e| e.to_lowercase()).collect();
    if lower.iter().any(|e| e == "all") && lower.len() > 1 {
        c.kubeadm(
            "nodeRegistration.ignorePreflightErrors",
            "don't specify \"all\" along with other values",
            "use either all or a list of checks",
        );
    }
    for (i, t) in j.taints.iter().flatten().enumerate() {
        if !matches!(t.effect.as_str(), "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            c.stricter(
                Severity::Error,
                &format!("nodeRegistration.taints[{i}].effect"),
                format!("taint effect {:?} is not NoSchedule, PreferNoSchedule or NoExecute (kubeadm does not validate taints; the kubelet fails to register the node)", t.effect),
                "use NoSchedule, PreferNoSchedule or NoExecute",
            );
        }
        if t.key.is_empty() {
            c.stricter(
                Severity::Error,
                &format!("nodeRegistration.taints[{i}].key"),
                "a taint needs a key (kubeadm does not validate taints)",
                "set key",
            );
        }
    }
    // Control plane.
    if j.control_plane {
        if let Some(a) = &j.advertise_address {
            if a.parse::<std::net::IpAddr>().is_err() {
                c.kubeadm(
                    "controlPlane.localAPIEndpoint.advertiseAddress",
                    "ip address is not valid",
                    "use an IP address of this node",
                );
            }
        }
        if let Some(p) = j.bind_port {
            if !(1..=65535).contains(&p) {
                c.kubeadm(
                    "controlPlane.localAPIEndpoint.bindPort",
                    "port number is not valid",
                    "use a port from 1 to 65535 (6443 by default)",
                );
            }
        }
        match &j.certificate_key {
            Some(k) => {
                if let Some(e) = certificate_key_error(k.expose()) {
                    c.kubeadm(
                        "controlPlane.certificateKey",
                        e,
                        "use the 64-hex-digit key printed by `kubeadm init phase upload-certs --upload-certs`",
                    );
                }
            }
            None => c.stricter(
                Severity::Warning,
                "controlPlane",
                "no certificateKey: the control-plane certificates must already be on this node",
                "set controlPlane.certificateKey from `kubeadm init phase upload-certs --upload-certs`",
            ),
        }
    }
    for (i, p) in j.skip_phases.iter().enumerate() {
        if !JOIN_PHASES.contains(&p.as_str()) {
            c.stricter(
                Severity::Warning,
                &format!("skipPhases[{i}]"),
                format!("{p:?} is not a kubeadm join phase"),
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

/// Checks one JoinConfiguration document; returns the problems and the extracted model.
pub(crate) fn check_document(file: &str, root: &Node, version: ApiVersion) -> (Vec<Problem>, JoinConfig) {
    let mut c = Checker::check_shape(file, root, version);
    let model = extract(root, version);
    rules(&mut c, &model);
    let mut problems = c.problems;
    problems.sort_by_key(|p| (p.line, p.column));
    (problems, model)
}
