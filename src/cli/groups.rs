//! The argument groups several commands share, each declared once and flattened into the
//! commands that take it (`#[command(flatten)]`): the bootstrap token source, the CA trust, the
//! endpoint, admin API access and the output format. Flag names follow `kubeadm join` and
//! kubectl; each group converts itself to the library's types.

use super::{choice, SecretArg};
use clap::Args;
use joinkit_core::client::api::ApiOptions;
use joinkit_core::discovery::Trust;
use joinkit_core::error::Failure;
use joinkit_core::report::Format;
use joinkit_core::token::{self, BootstrapToken};
use std::path::PathBuf;
use std::time::Duration;

/// Where the bootstrap token comes from: `--token` (or JOINKIT_TOKEN) or `--token-file` (or
/// JOINKIT_TOKEN_FILE), the file winning.
#[derive(Debug, Args, Clone)]
pub struct TokenSource {
    /// Bootstrap token ID.SECRET (prefer --token-file or JOINKIT_TOKEN)
    #[arg(long, env = "JOINKIT_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<SecretArg>,
    /// Read the bootstrap token from this file (takes precedence over --token and JOINKIT_TOKEN)
    #[arg(long, value_name = "FILE", env = "JOINKIT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

impl TokenSource {
    /// The token, parsed (`bad-token-format`) or read from its file (`input-unreadable`).
    pub(crate) fn resolve(&self) -> Result<Option<BootstrapToken>, Failure> {
        token::resolve_token(self.token.as_ref().map(SecretArg::expose), self.token_file.as_deref())
    }
}

/// How the node trusts the CA that discovery returns: pins, or explicitly none.
#[derive(Debug, Args, Clone)]
pub struct TrustArgs {
    /// CA public-key pin sha256:<hex>; repeatable or comma-separated; any one may match
    #[arg(long = "discovery-token-ca-cert-hash", value_name = "PIN", value_delimiter = ',')]
    pub pins: Vec<String>,
    /// Do not pin the CA (unsafe: anyone with the token can impersonate the control plane)
    #[arg(long = "discovery-token-unsafe-skip-ca-verification")]
    pub unsafe_skip: bool,
}

impl TrustArgs {
    /// The trust (None: neither pins nor the unsafe flag); a malformed pin is `bad-pin-format`.
    pub(crate) fn trust(&self) -> Result<Option<Trust>, Failure> {
        joinkit_core::config::derive::trust(&self.pins, self.unsafe_skip)
    }
}

/// The token and the trust of token discovery, in the order they are checked (token first).
pub(crate) fn token_and_trust(
    source: &TokenSource,
    trust: &TrustArgs,
) -> Result<(Option<BootstrapToken>, Option<Trust>), Failure> {
    let token = source.resolve()?;
    Ok((token, trust.trust()?))
}

/// The API server endpoint of token discovery (each command adds its own requirement rule).
#[derive(Debug, Args, Clone)]
pub struct EndpointArg {
    /// API server endpoint host:port ([addr]:port for IPv6)
    #[arg(value_name = "ENDPOINT")]
    pub endpoint: Option<String>,
}

/// How to reach the API as an admin (kubectl's rules).
#[derive(Debug, Args, Clone)]
pub struct ApiArgs {
    /// Admin kubeconfig (default: KUBECONFIG, then ~/.kube/config)
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: current-context)
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// Bound for each API request
    #[arg(long = "request-timeout", value_name = "DURATION", default_value = "15s", value_parser = joinkit_core::duration::clap_parse, global = true)]
    pub request_timeout: Duration,
}

impl ApiArgs {
    /// The library's API options.
    pub(crate) fn options(&self) -> ApiOptions {
        ApiOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            timeout: Some(self.request_timeout),
        }
    }
}

/// `-o text|json|yaml`.
#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArg {
    /// Output format
    #[arg(short = 'o', long = "output", value_parser = choice(Format::ALL), default_value = "text")]
    pub output: Format,
}
