//! The argument groups several commands share, each declared once and flattened into the
//! commands that take it (`#[command(flatten)]`): the bootstrap token source, the CA trust, the
//! endpoint, admin API access and the output format. Flag names follow `kubeadm join` and
//! kubectl; each group converts itself to the library's types.

use super::SecretArg;
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

/// How the node trusts the CA that discovery returns: pins, or explicitly none. The same
/// environment variables in every command (render-config, verify-discovery, bootstrap,
/// diagnose).
#[derive(Debug, Args, Clone)]
pub struct TrustArgs {
    /// CA public-key pin sha256:<hex>; repeatable or comma-separated; any one may match
    #[arg(
        long = "discovery-token-ca-cert-hash",
        value_name = "PIN",
        value_delimiter = ',',
        env = "JOINKIT_DISCOVERY_TOKEN_CA_CERT_HASH"
    )]
    pub pins: Vec<String>,
    /// Do not pin the CA (unsafe: anyone with the token can impersonate the control plane)
    #[arg(
        long = "discovery-token-unsafe-skip-ca-verification",
        env = "JOINKIT_DISCOVERY_TOKEN_UNSAFE_SKIP_CA_VERIFICATION"
    )]
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
    #[arg(value_name = "ENDPOINT", env = "JOINKIT_API_SERVER_ENDPOINT")]
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

/// `-o text|json|yaml`: the report format, on every command that reports (kubectl's `-o`).
/// Files are written with `--output-file FILE`, never with `-o`.
#[derive(Debug, Args, Clone, Copy)]
pub struct OutputArg {
    /// Output format
    #[arg(short = 'o', long = "output", value_parser = FormatParser, default_value = "text")]
    pub output: Format,
}

/// The value parser of `-o/--output`: one of [`Format::ALL`]. Any other value is a usage error
/// that says `-o` is the format and, on a command that writes a file, names `--output-file`
/// (`render-config --output join.yaml` used to write a file).
#[derive(Clone)]
struct FormatParser;

impl clap::builder::TypedValueParser for FormatParser {
    type Value = Format;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Format, clap::Error> {
        let s = value.to_string_lossy();
        if let Some((f, _, _)) = Format::ALL.iter().find(|(_, name, _)| *name == s) {
            return Ok(*f);
        }
        let names: Vec<&str> = Format::ALL.iter().map(|(_, n, _)| *n).collect();
        let flag = arg.and_then(|a| a.get_long()).map(|l| format!("--{l}")).unwrap_or_else(|| "-o".into());
        let file = if cmd.get_arguments().any(|a| a.get_long() == Some("output-file")) {
            format!("; to write the document to a file use --output-file {s}")
        } else {
            String::new()
        };
        let message = format!(
            "invalid value '{s}' for '{flag}': -o/--output is the report format, one of {}{file}\n",
            names.join(", ")
        );
        Err(clap::Error::raw(clap::error::ErrorKind::InvalidValue, message).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(Format::ALL.iter().map(|(_, name, help)| clap::builder::PossibleValue::new(*name).help(*help))))
    }
}
