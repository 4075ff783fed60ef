//! Derivation rules between `kubeadm join`'s flags and a JoinConfiguration, both ways:
//! `render-config` (flags to a validated JoinConfiguration or cloud-init user-data, kubeadm's
//! `cmd/kubeadm/app/cmd/join.go` flag names) and `bootstrap --config` (a JoinConfiguration's
//! discovery section to the discovery inputs, as kubeadm's `discovery/token` reads it).

use super::{JoinConfig, Secret, Severity, Taint};
use crate::discovery::Trust;
use crate::error::{Code, Failure};
use crate::pin::{self, PinSet};
use crate::report::Common;
use crate::token::BootstrapToken;
use std::path::{Path, PathBuf};

crate::stages! {
    /// render-config's own stage (its input and file stages are [`Common`]'s).
    pub enum RenderStage {
        /// The rendered JoinConfiguration is checked with validate-config's rules.
        Validate = "validate",
        /// cloud-init output: the local discovery file is read to be carried in `write_files`.
        DiscoveryFile = "discovery-file",
    }
}

/// The CA trust from kubeadm's two discovery settings: the unsafe flag wins (the pins are then
/// not read); no pins and no flag is `None` (discovery refuses that later, with its fix).
pub fn trust(pins: &[String], unsafe_skip: bool) -> Result<Option<Trust>, Failure> {
    if unsafe_skip {
        Ok(Some(Trust::UnsafeSkip))
    } else {
        Ok(PinSet::parse_all(pins)?.map(Trust::Pinned))
    }
}

/// Token discovery's inputs as a JoinConfiguration gives them (`bootstrap --config`).
#[derive(Debug, Clone)]
pub struct ConfigDiscovery {
    /// `discovery.bootstrapToken.apiServerEndpoint`.
    pub endpoint: String,
    /// `discovery.bootstrapToken.token`.
    pub token: Option<BootstrapToken>,
    /// `discovery.tlsBootstrapToken`, when it differs from the discovery token.
    pub tls_bootstrap_token: Option<BootstrapToken>,
    /// `caCertHashes` or `unsafeSkipCAVerification`.
    pub trust: Option<Trust>,
    /// `nodeRegistration.name`.
    pub node_name: Option<String>,
    /// `nodeRegistration.criSocket`.
    pub cri_socket: Option<String>,
    /// True when the config has a `controlPlane` section (a control-plane join).
    pub control_plane: bool,
}

/// Reads a JoinConfiguration and takes token discovery's inputs from it. An invalid file, one
/// without a JoinConfiguration or one using file discovery is refused at `input`.
pub fn discovery_from_config(path: &Path) -> Result<ConfigDiscovery, Failure> {
    let text = super::read_config(path)?;
    let name = path.display().to_string();
    // kubeadm reads go-yaml's extra line breaks; a config joinkit acts on must read the same
    // in every YAML reader, so they are refused here (validate-config only warns).
    if let Err(e) = crate::yaml::check_line_breaks(&text) {
        return Err(Failure::new(
            Code::ConfigYamlSyntax,
            Common::Input,
            format!("{name}:{}:{}: error: YAML syntax error: {}", e.pos.line, e.pos.col, e.message),
        )
        .cause("the JoinConfiguration is invalid")
        .fix("run `joinkit validate-config` on it and fix what it reports"));
    }
    // Strict: what joinkit knows would fail the join refuses it here.
    let r = super::check_text_with(&name, &text, &super::CheckOptions { strict: true, ..Default::default() });
    if let Some(p) = r.problems.iter().find(|p| p.severity == Severity::Error) {
        return Err(Failure::new(r.code.unwrap_or(Code::ConfigInvalid), Common::Input, super::format_problem(p))
            .cause("the JoinConfiguration is invalid")
            .fix("run `joinkit validate-config` on it and fix what it reports"));
    }
    let (j, _, _) = r.join.ok_or_else(|| {
        Failure::new(Code::ConfigNoJoinConfiguration, Common::Input, "no JoinConfiguration")
            .cause("wrong file")
            .fix("pass a JoinConfiguration")
    })?;
    if !j.has_bootstrap_token {
        return Err(Failure::new(
            Code::Usage,
            Common::Input,
            "the JoinConfiguration uses file discovery; joinkit bootstrap needs token discovery",
        )
        .cause("discovery.file is set")
        .fix("use a token-discovery config"));
    }
    // kubeadm discovers with discovery.bootstrapToken.token and authenticates the TLS bootstrap
    // with discovery.tlsBootstrapToken (which defaults to it).
    let token = j.token.as_ref().map(Secret::expose).unwrap_or_default();
    let tls_bootstrap_token = match j.tls_bootstrap_token.as_ref().map(Secret::expose) {
        Some(t) if !t.is_empty() && t != token => Some(BootstrapToken::parse(t)?),
        _ => None,
    };
    let trust = trust(&j.ca_cert_hashes, j.unsafe_skip_ca_verification == Some(true))?;
    Ok(ConfigDiscovery {
        endpoint: j.api_server_endpoint.clone().unwrap_or_default(),
        token: Some(BootstrapToken::parse(token)?),
        tls_bootstrap_token,
        trust,
        node_name: j.node_name.clone(),
        cri_socket: j.cri_socket.clone(),
        control_plane: j.control_plane,
    })
}

/// What render-config prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderFormat {
    /// The JoinConfiguration YAML.
    #[default]
    Yaml,
    /// #cloud-config user-data writing the config and running kubeadm join.
    CloudInit,
    /// EKS (AL2023) user data: a nodeadm NodeConfig in a MIME multi-part document
    /// ([`render_nodeadm`]).
    Nodeadm,
}

/// Where render-config's bootstrap token comes from (written as given: validation checks it).
#[derive(Debug, Clone)]
pub enum TokenInput {
    /// The value of `--token` or JOINKIT_TOKEN.
    Value(Secret),
    /// `--token-file`: the file's text, trimmed.
    File(PathBuf),
}

/// render-config's inputs: `kubeadm join`'s flags, typed.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// `discovery.bootstrapToken.apiServerEndpoint`.
    pub endpoint: Option<String>,
    /// The bootstrap token.
    pub token: Option<TokenInput>,
    /// `--discovery-token-ca-cert-hash`.
    pub pins: Vec<String>,
    /// `--ca-cert`: add the pins of this CA file.
    pub ca_cert: Option<PathBuf>,
    /// `--discovery-token-unsafe-skip-ca-verification`.
    pub unsafe_skip: bool,
    /// `--discovery-file`.
    pub discovery_file: Option<String>,
    /// `--tls-bootstrap-token`.
    pub tls_bootstrap_token: Option<Secret>,
    /// `--discovery-timeout`, a Go duration.
    pub discovery_timeout: Option<String>,
    /// `--node-name`.
    pub node_name: Option<String>,
    /// `--cri-socket`.
    pub cri_socket: Option<String>,
    /// `--kubelet-arg NAME=VALUE`.
    pub kubelet_args: Vec<String>,
    /// `--taint key[=value]:Effect`.
    pub taints: Vec<String>,
    /// `--ignore-preflight-errors`.
    pub ignore_preflight_errors: Vec<String>,
    /// `--skip-phases`.
    pub skip_phases: Vec<String>,
    /// `--patches`.
    pub patches: Option<String>,
    /// `--control-plane`.
    pub control_plane: bool,
    /// `--certificate-key`.
    pub certificate_key: Option<Secret>,
    /// `--apiserver-advertise-address`.
    pub apiserver_advertise_address: Option<String>,
    /// `--apiserver-bind-port`.
    pub apiserver_bind_port: Option<i64>,
    /// The JoinConfiguration API version written.
    pub api_version: super::ApiVersion,
    /// YAML, cloud-init or nodeadm.
    pub format: RenderFormat,
    /// `--eks-cluster-name`: the NodeConfig's `spec.cluster.name` (nodeadm only).
    pub eks_cluster_name: Option<String>,
    /// `--eks-service-cidr`: the NodeConfig's `spec.cluster.cidr` (nodeadm only).
    pub eks_service_cidr: Option<String>,
}

/// The control-plane-only values set in `o`, as if given on the command line (a library
/// caller set them deliberately).
fn control_plane_values(o: &RenderOptions) -> Vec<super::intent::Given> {
    let set = [
        ("--certificate-key", o.certificate_key.is_some()),
        ("--apiserver-advertise-address", o.apiserver_advertise_address.is_some()),
        ("--apiserver-bind-port", o.apiserver_bind_port.is_some()),
    ];
    set.iter()
        .filter(|(_, on)| *on)
        .map(|(flag, _)| super::intent::Given {
            flag: flag.to_string(),
            env: None,
            origin: super::intent::Origin::CommandLine,
        })
        .collect()
}

fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    crate::fsutil::read_path_or_stdin(path, crate::fsutil::MAX_INPUT_FILE).map_err(|e| {
        Failure::new(Code::InputUnreadable, Common::Read, e.to_string())
            .cause("the path is wrong, not readable by this user, not a regular file, or too large")
            .fix("check the path and permissions (the CA is /etc/kubernetes/pki/ca.crt on a control-plane node)")
    })
}

/// Builds the JoinConfiguration model from render-config's flags (no validation here): the
/// token from its file, the pins of `--ca-cert` added, `--kubelet-arg` and `--taint` parsed,
/// token discovery unless only `--discovery-file` is given, a control-plane join only with
/// `control_plane` (a control-plane-only value without it is `usage`,
/// [`super::intent::control_plane_intent`]; the command line drops environment values first).
pub fn join_config(o: &RenderOptions) -> Result<JoinConfig, Failure> {
    let bad = |msg: String, fix: &str| {
        Failure::new(Code::ConfigInvalid, Common::Input, msg).cause("a flag value is malformed").fix(fix.to_string())
    };
    let token = match &o.token {
        Some(TokenInput::File(p)) => {
            let data = read_input(p).map_err(|f| f.at(Common::Input))?;
            let text = String::from_utf8(data).map_err(|_| {
                Failure::new(
                    Code::InputUnreadable,
                    Common::Input,
                    format!("cannot read {}: not UTF-8 text", p.display()),
                )
                .cause("the path is wrong or not readable by this user")
                .fix("check the path and permissions (the CA is /etc/kubernetes/pki/ca.crt on a control-plane node)")
            })?;
            Some(Secret::from(text.trim()))
        }
        Some(TokenInput::Value(s)) => Some(s.clone()),
        None => None,
    };
    let mut pins = o.pins.clone();
    if let Some(ca) = &o.ca_cert {
        let data = read_input(ca)?;
        for p in pin::pins_of_pem(&data, &ca.display().to_string())? {
            if !pins.contains(&p.to_string()) {
                pins.push(p.to_string());
            }
        }
    }
    let mut kubelet_extra_args = Vec::new();
    for kv in &o.kubelet_args {
        let fix = "write e.g. --kubelet-arg node-ip=10.0.0.5";
        let (k, v) = kv.split_once('=').ok_or_else(|| bad(format!("--kubelet-arg {kv:?} is not NAME=VALUE"), fix))?;
        let k = k.trim_start_matches("--");
        if k.is_empty() {
            return Err(bad(format!("--kubelet-arg {kv:?} has an empty name"), fix));
        }
        kubelet_extra_args.push((k.to_string(), v.to_string()));
    }
    let taints = if o.taints.is_empty() {
        None
    } else {
        let fix = "write key[=value]:Effect, e.g. dedicated=gpu:NoSchedule";
        Some(o.taints.iter().map(|t| Taint::parse(t).map_err(|e| bad(e, fix))).collect::<Result<Vec<_>, _>>()?)
    };
    // The one endpoint parser (crate::endpoint), as verify-discovery and bootstrap use it:
    // `https://host:6443` is accepted there, so it is here, and written as kubeadm's host:port.
    let endpoint =
        o.endpoint.as_deref().map(|e| crate::endpoint::Endpoint::parse(e).map(|ep| ep.host_port())).transpose()?;
    let control_plane = super::intent::control_plane_intent(
        "render-config",
        o.control_plane.then_some("--control-plane"),
        &control_plane_values(o),
    )?
    .control_plane;
    let file_only = o.discovery_file.is_some() && o.endpoint.is_none();
    let token_discovery = o.endpoint.is_some() || token.is_some() || !pins.is_empty() || o.unsafe_skip;
    Ok(JoinConfig {
        token: if file_only { None } else { token },
        api_server_endpoint: endpoint,
        ca_cert_hashes: pins,
        unsafe_skip_ca_verification: o.unsafe_skip.then_some(true),
        has_bootstrap_token: token_discovery && !file_only,
        discovery_file: o.discovery_file.clone(),
        has_file: o.discovery_file.is_some(),
        tls_bootstrap_token: o.tls_bootstrap_token.clone(),
        discovery_timeout: o.discovery_timeout.clone(),
        node_name: o.node_name.clone(),
        cri_socket: o.cri_socket.clone(),
        taints,
        kubelet_extra_args,
        ignore_preflight_errors: o.ignore_preflight_errors.clone(),
        skip_phases: o.skip_phases.clone(),
        patches_directory: o.patches.clone(),
        control_plane,
        advertise_address: o.apiserver_advertise_address.clone(),
        bind_port: o.apiserver_bind_port,
        certificate_key: o.certificate_key.clone(),
        ..JoinConfig::default()
    })
}

/// render-config's result: the lines for stderr (validation warnings and errors, in that
/// order) and the document, or the failure (nothing is written then).
#[derive(Debug)]
pub struct Rendered {
    /// `warning: ...` and `error: ...` lines.
    pub notes: Vec<String>,
    /// The YAML or cloud-init text, or why there is none.
    pub result: Result<String, Failure>,
}

/// Renders the JoinConfiguration and validates exactly what will be written, with
/// validate-config's rules: any error refuses the whole output (`config-invalid`, stage
/// `validate`).
pub fn render(o: &RenderOptions) -> Rendered {
    if o.format == RenderFormat::Nodeadm {
        return render_nodeadm(o);
    }
    let mut model = match join_config(o) {
        Ok(m) => m,
        Err(f) => return Rendered { notes: Vec::new(), result: Err(f) },
    };
    // cloud-init runs on the node, which cannot read a path on this machine: the file itself
    // goes into the user data, and the JoinConfiguration names where cloud-init writes it.
    let mut carried = None;
    if o.format == RenderFormat::CloudInit {
        if let Some(path) = o.discovery_file.as_deref().filter(|p| !is_url(p)) {
            match carried_discovery_file(path) {
                Ok(text) => {
                    model.discovery_file = Some(super::model::CLOUD_INIT_DISCOVERY_PATH.to_string());
                    carried = Some(text);
                }
                Err(f) => return Rendered { notes: Vec::new(), result: Err(f) },
            }
        }
    }
    let yaml_text = model.to_yaml(o.api_version);
    // Strict: the output must pass kubeadm and joinkit's checks beyond it.
    let checked = super::check_text_with(
        "render-config",
        &yaml_text,
        &super::CheckOptions { strict: true, ..Default::default() },
    );
    // The carried discovery file exists on the node once cloud-init has written it; only the
    // machine-dependent "does not exist on this machine" finding on that path is dropped.
    let mut checked = checked;
    if carried.is_some() {
        checked.problems.retain(|p| !(p.machine_dependent && p.path == "discovery.file.kubeConfigPath"));
    }
    let mut notes = Vec::new();
    for p in checked.problems.iter().filter(|p| p.severity == Severity::Warning) {
        if p.path != "apiVersion" {
            notes.push(format!("warning: {}: {} ({})", p.path, p.message, p.fix));
        }
    }
    for p in checked.problems.iter().filter(|p| p.severity == Severity::Error) {
        notes.push(format!("error: {}: {}", p.path, p.message));
    }
    let result = match checked.problems.iter().find(|p| p.severity == Severity::Error) {
        Some(p) => {
            let flag_hint = format!("fix the flag or environment variable that sets {} and run again", p.path);
            let mut f = Failure::new(Code::ConfigInvalid, RenderStage::Validate, format!("{}: {}", p.path, p.message))
                .cause(format!("the inputs would produce an invalid JoinConfiguration; nothing was written. {}", p.fix))
                .fix(flag_hint);
            if p.kubeadm_rule {
                f = f.kubeadm(p.message.clone());
            }
            Err(f)
        }
        None => Ok(match o.format {
            RenderFormat::Yaml | RenderFormat::Nodeadm => yaml_text,
            RenderFormat::CloudInit => super::model::cloud_init(&yaml_text, carried.as_deref()),
        }),
    };
    Rendered { notes, result }
}

/// The MIME boundary of rendered nodeadm user data (the one the EKS user guide's launch-template
/// examples use).
pub const NODEADM_BOUNDARY: &str = "BOUNDARY";

/// `render-config --format nodeadm`: EKS user data for AL2023 nodes, a MIME multi-part document
/// (as launch templates of managed node groups require) with one `application/node.eks.aws`
/// part holding a NodeConfig: the ENDPOINT argument is `spec.cluster.apiServerEndpoint` (an `https://`
/// URL), `--ca-cert` the base64 of the CA's PEM (`certificateAuthority`), `--eks-cluster-name`
/// and `--eks-service-cidr` the `name` and `cidr`; `--kubelet-arg` and `--taint` become
/// `spec.kubelet.flags` (`--NAME=VALUE`, `--register-with-taints=…`). The flags a NodeConfig has
/// no place for (the bootstrap token: EKS nodes authenticate with their IAM role; CA pins,
/// discovery, preflight, phases, patches, the CRI socket) are ignored with a note; `--node-name`
/// and `--control-plane` are refused (`usage`): EKS names the node from EC2 and runs no control
/// plane on it. The result is checked with validate-config's NodeConfig rules, strictly
/// (config/nodeadm.rs): any problem refuses it (`config-invalid`, stage `validate`).
pub fn render_nodeadm(o: &RenderOptions) -> Rendered {
    let usage = |what: &str, why: &str| Rendered {
        notes: Vec::new(),
        result: Err(Failure::new(Code::Usage, Common::Input, format!("--format nodeadm: {what}"))
            .cause(why.to_string())
            .fix("drop the flag (and its JOINKIT_ variable) for --format nodeadm")),
    };
    if o.node_name.is_some() {
        return usage("--node-name has no NodeConfig field", "EKS nodes are named from EC2 (the private DNS name, or the instance ID with the InstanceIdNodeName feature gate), and aws-auth maps the role to system:node:{{EC2PrivateDNSName}}: another name is refused by the Node authorizer");
    }
    if o.control_plane {
        return usage("--control-plane: EKS runs the control plane", "a NodeConfig joins worker nodes only");
    }
    let mut notes = Vec::new();
    let ignored: Vec<&str> = [
        ("--token/--token-file (a NodeConfig holds no bootstrap token: EKS nodes authenticate with their IAM role through aws-auth or an access entry)", o.token.is_some() || o.tls_bootstrap_token.is_some()),
        ("--discovery-token-ca-cert-hash / --discovery-token-unsafe-skip-ca-verification (the NodeConfig carries the CA itself: give --ca-cert)", !o.pins.is_empty() || o.unsafe_skip),
        ("--discovery-file / --discovery-timeout", o.discovery_file.is_some() || o.discovery_timeout.is_some()),
        ("--cri-socket (nodeadm configures containerd)", o.cri_socket.is_some()),
        ("--ignore-preflight-errors / --skip-phases / --patches (kubeadm's)", !o.ignore_preflight_errors.is_empty() || !o.skip_phases.is_empty() || o.patches.is_some()),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(w, _)| *w)
    .collect();
    for w in ignored {
        notes.push(format!("note: --format nodeadm ignores {w}"));
    }
    let bad = |msg: String, fix: &str| Rendered {
        notes: Vec::new(),
        result: Err(Failure::new(Code::ConfigInvalid, Common::Input, msg)
            .cause("a flag value is malformed")
            .fix(fix.to_string())),
    };
    let mut flags = Vec::new();
    for kv in &o.kubelet_args {
        let Some((k, v)) = kv.split_once('=') else {
            return bad(
                format!("--kubelet-arg {kv:?} is not NAME=VALUE"),
                "write e.g. --kubelet-arg node-labels=role=gpu",
            );
        };
        let k = k.trim_start_matches("--");
        if k.is_empty() {
            return bad(
                format!("--kubelet-arg {kv:?} has an empty name"),
                "write e.g. --kubelet-arg node-labels=role=gpu",
            );
        }
        flags.push(format!("--{k}={v}"));
    }
    if !o.taints.is_empty() {
        let mut ts = Vec::new();
        for t in &o.taints {
            match Taint::parse(t) {
                Ok(_) => ts.push(t.clone()),
                Err(e) => return bad(e, "write key[=value]:Effect, e.g. dedicated=gpu:NoSchedule"),
            }
        }
        flags.push(format!("--register-with-taints={}", ts.join(",")));
    }
    let ca = match &o.ca_cert {
        Some(p) => {
            let data = match read_input(p) {
                Ok(d) => d,
                Err(f) => return Rendered { notes, result: Err(f) },
            };
            let pem = if data.windows(11).any(|w| w == b"-----BEGIN ") {
                data
            } else {
                match pin::read_certificates(&data, &p.display().to_string()) {
                    Ok(certs) => certs.iter().map(|c| pem_certificate(c.as_ref())).collect::<String>().into_bytes(),
                    Err(f) => return Rendered { notes, result: Err(f) },
                }
            };
            Some(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem))
        }
        None => None,
    };
    let endpoint =
        o.endpoint.as_deref().map(|e| if e.contains("://") { e.to_string() } else { format!("https://{e}") });
    let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let mut cluster = String::new();
    for (k, v) in [
        ("name", o.eks_cluster_name.as_deref()),
        ("apiServerEndpoint", endpoint.as_deref()),
        ("certificateAuthority", ca.as_deref()),
        ("cidr", o.eks_service_cidr.as_deref()),
    ] {
        if let Some(v) = v {
            cluster.push_str(&format!("    {k}: {}\n", q(v)));
        }
    }
    let mut doc = format!("---\napiVersion: {}\nkind: NodeConfig\nspec:\n", super::nodeadm::API_VERSION);
    if cluster.is_empty() {
        doc.push_str("  cluster: {}\n");
    } else {
        doc.push_str("  cluster:\n");
        doc.push_str(&cluster);
    }
    if !flags.is_empty() {
        doc.push_str("  kubelet:\n    flags:\n");
        for f in &flags {
            doc.push_str(&format!("      - {}\n", q(f)));
        }
    }
    let b = NODEADM_BOUNDARY;
    let text = format!("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"{b}\"\n\n--{b}\nContent-Type: {}\n\n{doc}\n--{b}--\n", super::nodeadm::MEDIA_TYPE);
    // The same rules as validate-config, strictly.
    let checked =
        super::check_text_with("render-config", &text, &super::CheckOptions { strict: true, ..Default::default() });
    for p in &checked.problems {
        notes.push(format!("error: {}: {}", p.path, p.message));
    }
    let result = match checked.problems.iter().find(|p| p.severity == Severity::Error) {
        Some(p) => Err(Failure::new(Code::ConfigInvalid, RenderStage::Validate, format!("{}: {}", if p.path.is_empty() { "user data" } else { &p.path }, p.message))
            .cause(format!("the inputs would produce NodeConfig user data nodeadm refuses or a node cannot join with; nothing was written. {}", p.fix))
            .fix("set the value with its flag or environment variable: --eks-cluster-name (JOINKIT_EKS_CLUSTER_NAME), the ENDPOINT argument (JOINKIT_API_SERVER_ENDPOINT, https://…), --ca-cert (JOINKIT_CA_CERT), --eks-service-cidr (JOINKIT_EKS_SERVICE_CIDR)")),
        None => Ok(text),
    };
    Rendered { notes, result }
}

/// A DER certificate as PEM (64-character base64 lines, RFC 7468).
fn pem_certificate(der: &[u8]) -> String {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// kubeadm reads `discovery.file.kubeConfigPath` as a URL when it parses as one with an http or
/// https scheme, else as a local path (kubeadm `discovery/file.RetrieveValidatedConfigInfo`).
fn is_url(p: &str) -> bool {
    p.starts_with("https://") || p.starts_with("http://")
}

/// The local discovery file for cloud-init's `write_files`: read (bounded, as every input) and
/// checked to be a kubeconfig whose cluster has an https server and inline
/// certificate-authority-data (a `certificate-authority` path names a file on this machine,
/// which the node does not have). Errors: `input-unreadable` (3) or `bad-input-file`, stage
/// `discovery-file`, naming the path and the fix.
fn carried_discovery_file(path: &str) -> Result<String, Failure> {
    let refuse = |code: Code, what: String| {
        Failure::new(code, RenderStage::DiscoveryFile, format!("--discovery-file {path}: {what}"))
            .cause("cloud-init user data runs on the node, which cannot read a file on this machine, so render-config carries the discovery file in write_files (mode 0600) and needs to read it here")
            .fix("give a readable discovery kubeconfig with certificate-authority-data, an https:// URL the node can fetch, or --format yaml if the file is already on the node")
    };
    let bytes = crate::fsutil::read_path_or_stdin(Path::new(path), crate::fsutil::MAX_INPUT_FILE)
        .map_err(|e| refuse(Code::InputUnreadable, e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| refuse(Code::BadInputFile, "not UTF-8 text".into()))?;
    crate::kubeconfig::parse_cluster_info(&text)
        .map_err(|e| refuse(Code::BadInputFile, format!("not a usable discovery kubeconfig: {e}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn trust_unsafe_wins_and_no_pins_is_none() {
        assert!(matches!(trust(&["not-a-pin".into()], true), Ok(Some(Trust::UnsafeSkip))));
        assert!(matches!(trust(&[], false), Ok(None)));
        assert!(matches!(trust(&[PIN.into()], false), Ok(Some(Trust::Pinned(_)))));
        assert_eq!(trust(&["sha256:zz".into()], false).unwrap_err().code, Code::BadPinFormat);
    }

    #[test]
    fn file_discovery_alone_drops_the_token_and_control_plane_flags_need_control_plane() {
        let mut o = RenderOptions {
            token: Some(TokenInput::Value(Secret::from("abcdef.0123456789abcdef"))),
            discovery_file: Some("/etc/kubernetes/discovery.conf".into()),
            apiserver_bind_port: Some(6443),
            ..RenderOptions::default()
        };
        let f = join_config(&o).unwrap_err();
        assert_eq!(f.code, Code::Usage);
        assert!(f.message.contains("--apiserver-bind-port"), "{}", f.message);
        o.control_plane = true;
        let j = join_config(&o).unwrap();
        assert!(j.token.is_none() && !j.has_bootstrap_token && j.has_file);
        assert!(j.control_plane);
    }

    #[test]
    fn malformed_flag_values_fail_at_input_with_a_fix() {
        for o in [
            RenderOptions { kubelet_args: vec!["node-ip".into()], ..RenderOptions::default() },
            RenderOptions { kubelet_args: vec!["=x".into()], ..RenderOptions::default() },
            RenderOptions { taints: vec!["no-effect".into()], ..RenderOptions::default() },
        ] {
            let f = join_config(&o).unwrap_err();
            assert_eq!((f.code, f.stage.as_str()), (Code::ConfigInvalid, "input"), "{o:?}");
            assert!(!f.fix.is_empty());
        }
    }

    #[test]
    fn render_refuses_an_invalid_result_at_validate() {
        let o = RenderOptions { endpoint: Some("10.0.0.1:6443".into()), ..RenderOptions::default() };
        let r = render(&o);
        let f = r.result.unwrap_err();
        assert_eq!((f.code, f.stage.as_str()), (Code::ConfigInvalid, "validate"));
        assert!(r.notes.iter().any(|n| n.starts_with("error: ")), "{:?}", r.notes);
    }

    #[test]
    fn endpoint_goes_through_the_one_parser() {
        // verify-discovery and bootstrap accept https://host:6443; so does render-config, and it
        // writes kubeadm's host:port.
        for (given, written) in [
            ("https://10.0.0.1:6443", "10.0.0.1:6443"),
            ("https://cp.example.com:6443/", "cp.example.com:6443"),
            ("10.0.0.1:6443", "10.0.0.1:6443"),
            ("[fd00::1]:6443", "[fd00::1]:6443"),
        ] {
            let o = RenderOptions { endpoint: Some(given.into()), ..RenderOptions::default() };
            assert_eq!(join_config(&o).unwrap().api_server_endpoint.as_deref(), Some(written), "{given}");
            assert!(crate::endpoint::Endpoint::parse(given).is_ok(), "{given}");
        }
        for given in ["http://10.0.0.1:6443", "10.0.0.1", "https://10.0.0.1:6443/api"] {
            let o = RenderOptions { endpoint: Some(given.into()), ..RenderOptions::default() };
            let f = join_config(&o).unwrap_err();
            assert_eq!((f.code, f.stage.as_str()), (Code::BadEndpoint, "input"), "{given}");
            assert_eq!(crate::endpoint::Endpoint::parse(given).unwrap_err().code, Code::BadEndpoint, "{given}");
        }
    }

    #[test]
    fn nodeadm_output_is_refused_by_nodeadms_rule_and_node_name_is_usage() {
        let o = RenderOptions {
            endpoint: Some("https://x.gr7.us-west-2.eks.amazonaws.com".into()),
            eks_service_cidr: Some("10.100.0.0/16".into()),
            format: RenderFormat::Nodeadm,
            ..RenderOptions::default()
        };
        let f = render(&o).result.unwrap_err();
        assert_eq!((f.code, f.stage.as_str()), (Code::ConfigInvalid, "validate"));
        assert!(f.message.contains("Name is missing in cluster configuration"), "{}", f.message);
        let o = RenderOptions { node_name: Some("n1".into()), ..o };
        assert_eq!(render(&o).result.unwrap_err().code, Code::Usage);
    }
}
