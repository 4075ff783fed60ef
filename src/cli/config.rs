//! The arguments of the JoinConfiguration commands, `render-config`, `validate-config` and
//! `migrate-config`; render-config's flags are `kubeadm join`'s and convert to
//! [`joinkit_core::config::derive::RenderOptions`].

use super::groups::{EndpointArg, OutputArg, TokenSource, TrustArgs};
use super::{choice, SecretArg};
use clap::Args;
use joinkit_core::config::derive::{self, RenderOptions, TokenInput};
use joinkit_core::config::intent::control_plane_intent;
use joinkit_core::config::Secret;
use joinkit_core::error::Failure;
use std::path::PathBuf;

/// Output of render-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum RenderFormat {
    /// The JoinConfiguration YAML.
    #[default]
    Yaml,
    /// #cloud-config user-data writing the config and running kubeadm join.
    CloudInit,
    /// EKS AL2023 user data: a nodeadm NodeConfig in MIME multi-part form.
    Nodeadm,
}

/// `joinkit render-config`: every flag also reads JOINKIT_<FLAG>.
#[derive(Debug, Args)]
pub struct RenderConfigArgs {
    /// The endpoint for token discovery.
    #[command(flatten)]
    pub endpoint: EndpointArg,
    /// The bootstrap token.
    #[command(flatten)]
    pub token: TokenSource,
    /// The CA trust.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Compute the pins from this CA certificate file (PEM or DER)
    #[arg(long, value_name = "FILE", env = "JOINKIT_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// File discovery: a kubeconfig path or https:// URL on the node
    #[arg(long, value_name = "PATH|URL", env = "JOINKIT_DISCOVERY_FILE")]
    pub discovery_file: Option<String>,
    /// Token for the TLS bootstrap (file discovery)
    #[arg(long, value_name = "TOKEN", env = "JOINKIT_TLS_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub tls_bootstrap_token: Option<SecretArg>,
    /// Discovery timeout (Go duration, e.g. 5m0s)
    #[arg(long, value_name = "DURATION", env = "JOINKIT_DISCOVERY_TIMEOUT")]
    pub discovery_timeout: Option<String>,
    /// Node name (nodeRegistration.name)
    #[arg(long, value_name = "NAME", env = "JOINKIT_NODE_NAME")]
    pub node_name: Option<String>,
    /// CRI socket, e.g. unix:///run/containerd/containerd.sock
    #[arg(long, value_name = "SOCKET", env = "JOINKIT_CRI_SOCKET")]
    pub cri_socket: Option<String>,
    /// Kubelet flag NAME=VALUE (repeatable; JOINKIT_KUBELET_ARG holds one)
    #[arg(long = "kubelet-arg", value_name = "NAME=VALUE", env = "JOINKIT_KUBELET_ARG")]
    pub kubelet_args: Vec<String>,
    /// Node taint key[=value]:Effect (repeatable or comma-separated)
    #[arg(long = "taint", value_name = "TAINT", value_delimiter = ',', env = "JOINKIT_TAINT")]
    pub taints: Vec<String>,
    /// Preflight errors to ignore (comma-separated check names, or all)
    #[arg(long, value_name = "CHECKS", value_delimiter = ',', env = "JOINKIT_IGNORE_PREFLIGHT_ERRORS")]
    pub ignore_preflight_errors: Vec<String>,
    /// Join phases to skip (comma-separated)
    #[arg(long, value_name = "PHASES", value_delimiter = ',', env = "JOINKIT_SKIP_PHASES")]
    pub skip_phases: Vec<String>,
    /// Directory of kubeadm patches
    #[arg(long, value_name = "DIR", env = "JOINKIT_PATCHES")]
    pub patches: Option<String>,
    /// Join as a control-plane node
    #[arg(long, env = "JOINKIT_CONTROL_PLANE")]
    pub control_plane: bool,
    /// Key that decrypts the uploaded control-plane certificates (64 hex)
    #[arg(long, value_name = "KEY", env = "JOINKIT_CERTIFICATE_KEY", hide_env_values = true)]
    pub certificate_key: Option<SecretArg>,
    /// Advertise address of this control-plane node's API server
    #[arg(long, value_name = "IP", env = "JOINKIT_APISERVER_ADVERTISE_ADDRESS")]
    pub apiserver_advertise_address: Option<String>,
    /// Bind port of this control-plane node's API server
    #[arg(long, value_name = "PORT", env = "JOINKIT_APISERVER_BIND_PORT")]
    pub apiserver_bind_port: Option<i64>,
    /// JoinConfiguration API version
    #[arg(long, value_parser = choice(joinkit_core::config::ApiVersion::ALL), default_value = "v1beta4", env = "JOINKIT_API_VERSION")]
    pub api_version: joinkit_core::config::ApiVersion,
    /// What to print (no environment variable: `token create --format` takes other values,
    /// and a flag reads the same variable in every command)
    #[arg(long, value_enum, default_value_t = RenderFormat::Yaml)]
    pub format: RenderFormat,
    /// EKS cluster name (--format nodeadm: spec.cluster.name)
    #[arg(long, value_name = "NAME", env = "JOINKIT_EKS_CLUSTER_NAME")]
    pub eks_cluster_name: Option<String>,
    /// EKS service CIDR (--format nodeadm: spec.cluster.cidr), e.g. 10.100.0.0/16
    #[arg(long, value_name = "CIDR", env = "JOINKIT_EKS_SERVICE_CIDR")]
    pub eks_service_cidr: Option<String>,
    /// Write the document to FILE (atomically, mode 0600) instead of stdout
    #[arg(long = "output-file", value_name = "FILE", env = "JOINKIT_OUTPUT_FILE")]
    pub output_file: Option<PathBuf>,
    /// The report format (json|yaml: the report, with the document or the file's path, on stdout).
    #[command(flatten)]
    pub out: OutputArg,
    /// Where the control-plane-only values came from (filled from the matches by
    /// [`super::parse`]).
    #[arg(skip)]
    pub control_plane_values: Vec<joinkit_core::config::intent::Given>,
}

fn secret(s: &Option<SecretArg>) -> Option<Secret> {
    s.as_ref().map(|t| Secret::from(t.expose()))
}

impl ValidateConfigArgs {
    /// The check's options; a `--node-role-arn` that is not a role (or assumed-role) ARN is
    /// `usage` ([`joinkit_core::config::eks::node_role`]).
    pub(crate) fn options(&self) -> Result<joinkit_core::config::CheckOptions, Failure> {
        let node_role_arn = match &self.node_role_arn {
            Some(a) => Some(joinkit_core::config::eks::node_role(a).map_err(|e| {
                Failure::new(joinkit_core::error::Code::Usage, joinkit_core::report::Common::Input, format!("--node-role-arn: {e}"))
                    .fix("pass the node's IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME (aws sts get-caller-identity on the node prints its assumed-role ARN, which works too)")
            })?),
            None => None,
        };
        Ok(joinkit_core::config::CheckOptions { kubeadm: self.kubeadm_version, strict: self.strict, node_role_arn })
    }
}

impl RenderConfigArgs {
    /// The library's render options (the token file is read when rendering) and the line for
    /// stderr when control-plane values from the environment are ignored; a control-plane-only
    /// flag without `--control-plane` is `usage` ([`joinkit_core::config::intent`]).
    pub(crate) fn options(&self) -> Result<(RenderOptions, Option<String>), Failure> {
        let declared = self.control_plane.then_some("--control-plane");
        let intent = control_plane_intent("render-config", declared, &self.control_plane_values)?;
        let token = match &self.token.token_file {
            Some(p) => Some(TokenInput::File(p.clone())),
            None => secret(&self.token.token).map(TokenInput::Value),
        };
        let cp = intent.control_plane;
        let options = RenderOptions {
            endpoint: self.endpoint.endpoint.clone(),
            token,
            pins: self.trust.pins.clone(),
            ca_cert: self.ca_cert.clone(),
            unsafe_skip: self.trust.unsafe_skip,
            discovery_file: self.discovery_file.clone(),
            tls_bootstrap_token: secret(&self.tls_bootstrap_token),
            discovery_timeout: self.discovery_timeout.clone(),
            node_name: self.node_name.clone(),
            cri_socket: self.cri_socket.clone(),
            kubelet_args: self.kubelet_args.clone(),
            taints: self.taints.clone(),
            ignore_preflight_errors: self.ignore_preflight_errors.clone(),
            skip_phases: self.skip_phases.clone(),
            patches: self.patches.clone(),
            control_plane: cp,
            certificate_key: secret(&self.certificate_key).filter(|_| cp),
            apiserver_advertise_address: self.apiserver_advertise_address.clone().filter(|_| cp),
            apiserver_bind_port: self.apiserver_bind_port.filter(|_| cp),
            api_version: self.api_version,
            format: match self.format {
                RenderFormat::Yaml => derive::RenderFormat::Yaml,
                RenderFormat::CloudInit => derive::RenderFormat::CloudInit,
                RenderFormat::Nodeadm => derive::RenderFormat::Nodeadm,
            },
            eks_cluster_name: self.eks_cluster_name.clone(),
            eks_service_cidr: self.eks_service_cidr.clone(),
        };
        let mut notes: Vec<String> = intent.note.into_iter().collect();
        if std::env::var_os("JOINKIT_FORMAT").is_some() {
            notes.push("note: ignoring JOINKIT_FORMAT: --format has no environment variable (token create's --format takes other values); pass --format".into());
        }
        Ok((options, (!notes.is_empty()).then(|| notes.join("\n"))))
    }
}

/// `joinkit validate-config`.
#[derive(Debug, Args)]
pub struct ValidateConfigArgs {
    /// Config files (multi-document YAML; `-` for stdin)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The kubeadm release whose `kubeadm config validate` verdict to reproduce
    #[arg(long, value_name = "MINOR", value_parser = choice(joinkit_core::config::KubeadmVersion::ALL), default_value = "1.36", env = "JOINKIT_KUBEADM_VERSION")]
    pub kubeadm_version: joinkit_core::config::KubeadmVersion,
    /// Also fail on what joinkit finds beyond kubeadm config validate (warnings otherwise)
    #[arg(long, env = "JOINKIT_STRICT")]
    pub strict: bool,
    /// For aws-auth ConfigMaps and access-entry JSON: say how this node IAM role is mapped
    #[arg(long, value_name = "ARN", env = "JOINKIT_NODE_ROLE_ARN")]
    pub node_role_arn: Option<String>,
    /// Read the node IAM role from the instance metadata service (IMDSv2; on the node)
    #[arg(long, env = "JOINKIT_NODE_ROLE_FROM_IMDS", conflicts_with = "node_role_arn")]
    pub node_role_from_imds: bool,
    /// The output format.
    #[command(flatten)]
    pub out: OutputArg,
}

/// `joinkit migrate-config`.
#[derive(Debug, Args)]
pub struct MigrateConfigArgs {
    /// The config file (`-` for stdin)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write the document to FILE (atomically, mode 0600) instead of stdout
    #[arg(long = "output-file", value_name = "FILE", env = "JOINKIT_OUTPUT_FILE")]
    pub output_file: Option<PathBuf>,
    /// The report format (json|yaml: the report, with the document or the file's path, on stdout).
    #[command(flatten)]
    pub out: OutputArg,
}
