//! The arguments of the join-path commands, `verify-discovery`, `bootstrap` and `diagnose`,
//! and their conversion to the library's options ([`joinkit_core::discovery::Options`],
//! [`joinkit_core::bootstrap::BootstrapOptions`], [`joinkit_core::diagnose::node::DiagnoseOptions`]).
//! Flags follow `kubeadm join`'s discovery flags.

use super::groups::{token_and_trust, EndpointArg, OutputArg, TokenSource, TrustArgs};
use super::SecretArg;
use clap::Args;
use joinkit_core::bootstrap::BootstrapOptions;
use joinkit_core::client::api::ApiOptions;
use joinkit_core::config::derive;
use joinkit_core::config::intent::control_plane_intent;
use joinkit_core::diagnose::node::DiagnoseOptions;
use joinkit_core::discovery::{Options, Source};
use joinkit_core::endpoint::Endpoint;
use joinkit_core::error::Failure;
use joinkit_core::token::BootstrapToken;
use std::path::PathBuf;
use std::time::Duration;

/// `joinkit verify-discovery`.
#[derive(Debug, Args)]
#[command(mut_arg("endpoint", |a| a.required_unless_present_any(["cluster_info_file", "discovery_file", "config"])))]
pub struct VerifyDiscoveryArgs {
    /// The endpoint (not with --cluster-info-file or --discovery-file).
    #[command(flatten)]
    pub endpoint: EndpointArg,
    /// The bootstrap token.
    #[command(flatten)]
    pub token: TokenSource,
    /// The CA trust.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Check a saved cluster-info ConfigMap (JSON or YAML, `-` for stdin) offline
    #[arg(long, value_name = "FILE")]
    pub cluster_info_file: Option<PathBuf>,
    /// File discovery: a kubeconfig path or an https:// URL (no token, no JWS)
    #[arg(long, value_name = "PATH|URL", env = "JOINKIT_DISCOVERY_FILE")]
    pub discovery_file: Option<String>,
    /// Take the endpoint, token, pins and TLS bootstrap token from this JoinConfiguration (as
    /// bootstrap and diagnose do)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Token for the TLS bootstrap with file discovery (or JOINKIT_TLS_BOOTSTRAP_TOKEN)
    #[arg(long, env = "JOINKIT_TLS_BOOTSTRAP_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub tls_bootstrap_token: Option<SecretArg>,
    /// Bound for the TCP connect and, separately, for the TLS handshake
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = joinkit_core::duration::clap_parse)]
    pub connect_timeout: Duration,
    /// Bound for one whole attempt
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = joinkit_core::duration::clap_parse)]
    pub timeout: Duration,
    /// Retry retryable failures (transport errors, jws-none-signed; README's retryable column) for up to DURATION, with backoff; others stop at once
    #[arg(long, value_name = "DURATION", value_parser = joinkit_core::duration::clap_parse)]
    pub wait: Option<Duration>,
    /// Fail when the local clock and the server's Date differ by more than this
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = joinkit_core::duration::clap_parse)]
    pub max_clock_skew: Duration,
    /// The output format.
    #[command(flatten)]
    pub out: OutputArg,
}

impl VerifyDiscoveryArgs {
    /// The discovery options; input errors (token, pins, endpoint) are failures at `input`.
    pub(crate) fn options(&self) -> Result<Options, Failure> {
        if let Some(path) = &self.config {
            let from = derive::discovery_from_config(path)?;
            return Ok(Options {
                source: Source::Endpoint(Endpoint::parse(&from.endpoint)?),
                token: from.token,
                trust: from.trust,
                connect_timeout: self.connect_timeout,
                timeout: self.timeout,
                wait: self.wait,
                max_clock_skew: self.max_clock_skew,
                tls_bootstrap_token: from.tls_bootstrap_token,
                verbose_attempts: true,
            });
        }
        let (token, trust) = token_and_trust(&self.token, &self.trust)?;
        let source = if let Some(f) = &self.cluster_info_file {
            Source::ClusterInfoFile(f.clone())
        } else if let Some(d) = &self.discovery_file {
            Source::DiscoveryFile(d.clone())
        } else {
            Source::Endpoint(Endpoint::parse(self.endpoint.endpoint.as_deref().unwrap_or(""))?)
        };
        let tls_bootstrap_token =
            self.tls_bootstrap_token.as_ref().map(SecretArg::expose).map(BootstrapToken::parse).transpose()?;
        Ok(Options {
            source,
            token,
            trust,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            wait: self.wait,
            max_clock_skew: self.max_clock_skew,
            tls_bootstrap_token,
            verbose_attempts: true,
        })
    }
}

/// `joinkit bootstrap`.
#[derive(Debug, Args)]
#[command(mut_arg("endpoint", |a| a.required_unless_present("config")))]
pub struct BootstrapArgs {
    /// The endpoint (or --config).
    #[command(flatten)]
    pub endpoint: EndpointArg,
    /// The bootstrap token.
    #[command(flatten)]
    pub token: TokenSource,
    /// The CA trust.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Take discovery settings and the node name from this JoinConfiguration (its token is used, not JOINKIT_TOKEN)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Node name (default: this host's name, lowercased)
    #[arg(long, value_name = "NAME", env = "JOINKIT_NODE_NAME")]
    pub node_name: Option<String>,
    /// How long to wait for the CSR's approval and certificate [default: 60s; for diagnose, half of
    /// --diagnose-timeout and at most 15s]
    #[arg(long, value_name = "DURATION", value_parser = joinkit_core::duration::clap_parse)]
    pub timeout: Option<Duration>,
    /// Bound for discovery and for each API request
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = joinkit_core::duration::clap_parse)]
    pub request_timeout: Duration,
    /// Bound for the TCP connect and the TLS handshake
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = joinkit_core::duration::clap_parse)]
    pub connect_timeout: Duration,
    /// Keep the CSR on the cluster instead of deleting it
    #[arg(long)]
    pub keep_csr: bool,
    /// Not a dry run: write bootstrap-kubelet.conf, kubelet.conf and pki/ca.crt under DIR
    #[arg(long, value_name = "DIR")]
    pub write_dir: Option<PathBuf>,
    /// Admin kubeconfig used only to delete the CSR afterwards (tokens may not delete CSRs)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The admin kubeconfig's context
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub context: Option<String>,
    /// The output format.
    #[command(flatten)]
    pub out: OutputArg,
}

/// This host's name, lowercased (the kubelet's default node name).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .unwrap_or_else(|_| "localhost".into())
}

impl BootstrapArgs {
    /// The bootstrap options, from the flags or `--config`; also the config's CRI socket and
    /// whether the config declares a control-plane join.
    fn resolve(&self) -> Result<(BootstrapOptions, Option<String>, bool), Failure> {
        let from = match &self.config {
            Some(path) => derive::discovery_from_config(path)?,
            None => {
                let (token, trust) = token_and_trust(&self.token, &self.trust)?;
                derive::ConfigDiscovery {
                    endpoint: self.endpoint.endpoint.clone().unwrap_or_default(),
                    token,
                    tls_bootstrap_token: None,
                    trust,
                    node_name: None,
                    cri_socket: None,
                    control_plane: false,
                }
            }
        };
        let opts = BootstrapOptions {
            discovery: Options {
                source: Source::Endpoint(Endpoint::parse(&from.endpoint)?),
                token: from.token,
                trust: from.trust,
                connect_timeout: self.connect_timeout,
                timeout: self.request_timeout,
                wait: None,
                max_clock_skew: Duration::from_secs(300),
                tls_bootstrap_token: from.tls_bootstrap_token,
                verbose_attempts: false,
            },
            node_name: self.node_name.clone().or(from.node_name).unwrap_or_else(hostname),
            csr_timeout: self.timeout.unwrap_or(Duration::from_secs(60)),
            keep_csr: self.keep_csr,
            no_csr: false,
            write_dir: self.write_dir.clone(),
            admin: self.kubeconfig.as_ref().map(|k| ApiOptions {
                kubeconfig: Some(k.clone()),
                context: self.context.clone(),
                timeout: Some(self.request_timeout),
            }),
        };
        Ok((opts, from.cri_socket, from.control_plane))
    }

    /// The bootstrap options (discovery, node name, CSR wait, clean-up access).
    pub(crate) fn options(&self) -> Result<BootstrapOptions, Failure> {
        self.resolve().map(|(o, _, _)| o)
    }
}

/// `joinkit diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The bootstrap inputs (endpoint, token, pins or --config, node name).
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// Control-plane join: check the uploaded certificates
    #[arg(long, env = "JOINKIT_CONTROL_PLANE")]
    pub control_plane: bool,
    /// The certificate key for --control-plane (or JOINKIT_CERTIFICATE_KEY)
    #[arg(long, value_name = "KEY", env = "JOINKIT_CERTIFICATE_KEY", hide_env_values = true)]
    pub certificate_key: Option<SecretArg>,
    /// Root of the node's filesystem for the local checks: paths and links are resolved inside
    /// it (an absolute link from DIR, as on the node); a link that leaves it is not followed
    #[arg(long, value_name = "DIR", default_value = "/", env = "JOINKIT_ROOT")]
    pub root: PathBuf,
    /// CRI socket to look for and ask for its CRI version (default: the config's, else the kubelet's containerRuntimeEndpoint, else the usual ones)
    #[arg(long, value_name = "SOCKET", env = "JOINKIT_CRI_SOCKET")]
    pub cri_socket: Option<String>,
    /// The kubelet's health endpoint to check (host:port), or `off`
    #[arg(long, value_name = "ADDR", default_value = joinkit_core::diagnose::runtime::KUBELET_HEALTHZ)]
    pub kubelet_healthz: String,
    /// Read-only: check discovery, the token's authentication and authorization and the node
    /// name, but create no CSR (nothing is created on or left behind on the cluster; for runs
    /// between join retries)
    #[arg(long, conflicts_with_all = ["keep_csr", "write_dir"])]
    pub no_csr: bool,
    /// Bound for the whole run
    #[arg(long = "diagnose-timeout", value_name = "DURATION", default_value = "30s", value_parser = joinkit_core::duration::clap_parse)]
    pub diagnose_timeout: Duration,
    /// Where the control-plane-only values came from (filled from the matches by
    /// [`super::parse`]).
    #[arg(skip)]
    pub control_plane_values: Vec<joinkit_core::config::intent::Given>,
}

impl DiagnoseArgs {
    /// The diagnose options: bootstrap's, with diagnose's shorter CSR wait and bounds; the
    /// certificate key only for a declared control-plane join (`--control-plane` or the
    /// config's `controlPlane`, [`joinkit_core::config::intent`]: the flag without it is
    /// `usage`, the environment variable is ignored with the returned line for stderr).
    pub(crate) fn options(&self) -> Result<(DiagnoseOptions, Option<String>), Failure> {
        let b = &self.bootstrap;
        let (mut opts, config_cri, config_control_plane) = b.resolve()?;
        let declared = if self.control_plane {
            Some("--control-plane")
        } else {
            config_control_plane.then_some("the --config file's controlPlane section")
        };
        let intent = control_plane_intent("diagnose", declared, &self.control_plane_values)?;
        opts.no_csr = self.no_csr;
        if b.timeout.is_none() {
            // diagnose waits less for the CSR than a bootstrap run: its own --diagnose-timeout
            // bounds all. An explicit --timeout (even 60s) is kept as given.
            opts.csr_timeout = (self.diagnose_timeout / 2).min(Duration::from_secs(15));
        }
        // Nothing admin-side may outlast the whole run: an exec credential plugin's timeout is
        // the request timeout, capped at --diagnose-timeout.
        if let Some(admin) = opts.admin.as_mut() {
            admin.timeout = Some(admin.timeout.unwrap_or(b.request_timeout).min(self.diagnose_timeout));
        }
        let certificate_key = if intent.control_plane {
            self.certificate_key.as_ref().map(|k| secrecy::SecretString::from(k.expose().to_string()))
        } else {
            None
        };
        let options = DiagnoseOptions {
            admin: opts.admin.clone(),
            bootstrap: opts,
            certificate_key,
            root: self.root.clone(),
            cri_socket: self.cri_socket.clone().or(config_cri),
            kubelet_healthz: (self.kubelet_healthz != "off").then(|| self.kubelet_healthz.clone()),
            timeout: self.diagnose_timeout,
        };
        Ok((options, intent.note))
    }
}
