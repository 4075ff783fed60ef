//! The arguments of `joinkit token generate|create|list|describe|delete` (kubeadm's `token`
//! flags), and `token create`'s conversion to [`joinkit_core::token::create::CreateOptions`].

use super::groups::{ApiArgs, OutputArg};
use super::{SecretArg, AFTER_HELP};
use clap::{Args, Subcommand};
use joinkit_core::error::Failure;
use joinkit_core::token::create::{list_values, CreateOptions, Print};
use joinkit_core::token::manage::TokenSpec;
use joinkit_core::token::{self, BootstrapToken};
use std::path::PathBuf;
use std::time::Duration;

/// What `token create` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum JoinFormat {
    /// The `kubeadm join ...` command line.
    #[default]
    JoinCommand,
    /// A v1beta4 JoinConfiguration (render-config's output).
    JoinConfig,
}

/// `joinkit token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a random bootstrap token in kubeadm's format (no API call)
    Generate,
    /// Create a bootstrap token Secret exactly as kubeadm does and print the token
    #[command(after_long_help = AFTER_HELP)]
    Create(TokenCreateArgs),
    /// List bootstrap tokens (kubeadm's columns plus SIGNED)
    #[command(after_long_help = AFTER_HELP)]
    List {
        /// Show the token secrets (redacted by default)
        #[arg(long)]
        show_secrets: bool,
        /// The output format.
        #[command(flatten)]
        out: OutputArg,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show a token's validity, expiry, usages, groups, signature and the RBAC a join needs
    #[command(after_long_help = AFTER_HELP)]
    Describe {
        /// Token ID or token (a whole token's secret is checked too, but is then in argv)
        #[arg(value_name = "ID|TOKEN")]
        id: SecretArg,
        /// Show the token secret (redacted by default)
        #[arg(long)]
        show_secret: bool,
        /// The output format.
        #[command(flatten)]
        out: OutputArg,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Delete bootstrap tokens
    #[command(after_long_help = AFTER_HELP)]
    Delete {
        /// Token IDs or tokens (the ID is enough)
        #[arg(value_name = "ID|TOKEN", required = true)]
        ids: Vec<SecretArg>,
        /// The output format.
        #[command(flatten)]
        out: OutputArg,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// `joinkit token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The token to create (default: a random one; prefer --token-file to keep it out of argv)
    #[arg(value_name = "TOKEN")]
    pub token: Option<SecretArg>,
    /// Read the token to create from FILE
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Lifetime (Go duration); 0 means it never expires
    #[arg(long, value_name = "DURATION", default_value = "24h0m0s", value_parser = joinkit_core::duration::clap_parse)]
    pub ttl: Duration,
    /// Usages (comma-separated): signing, authentication
    #[arg(long, value_name = "USAGES", value_delimiter = ',', default_value = "signing,authentication")]
    pub usages: Vec<String>,
    /// Extra groups (comma-separated); '' for none
    #[arg(
        long,
        value_name = "GROUPS",
        value_delimiter = ',',
        default_value = "system:bootstrappers:kubeadm:default-node-token"
    )]
    pub groups: Vec<String>,
    /// A human-readable description
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub description: String,
    /// Print the full `kubeadm join` command instead of the token
    #[arg(long)]
    pub print_join_command: bool,
    /// With --print-join-command (required, as kubeadm): a control-plane join with this certificate key (or JOINKIT_CERTIFICATE_KEY)
    #[arg(long, value_name = "KEY", env = "JOINKIT_CERTIFICATE_KEY", hide_env_values = true)]
    pub certificate_key: Option<SecretArg>,
    /// With --print-join-command: print a command line or a JoinConfiguration
    #[arg(long, value_enum, default_value_t = JoinFormat::JoinCommand)]
    pub format: JoinFormat,
    /// Do not wait for cluster-info to carry the token's signature
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the signature
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = joinkit_core::duration::clap_parse)]
    pub wait_timeout: Duration,
    /// The output format.
    #[command(flatten)]
    pub out: OutputArg,
    /// API access.
    #[command(flatten)]
    pub api: ApiArgs,
}

impl TokenCreateArgs {
    /// The create options, checked (`bad-token-format`, `bad-token-options`, at `input`); no
    /// TOKEN and no --token-file generates a random token.
    pub(crate) fn options(&self) -> Result<CreateOptions, Failure> {
        let token = match &self.token_file {
            Some(p) => token::resolve_token(None, Some(p))?,
            None => self.token.as_ref().map(SecretArg::expose).map(BootstrapToken::parse).transpose()?,
        };
        let o = CreateOptions {
            spec: TokenSpec {
                token: token.unwrap_or_else(BootstrapToken::generate),
                ttl: Some(self.ttl),
                usages: list_values(&self.usages),
                groups: list_values(&self.groups),
                description: self.description.clone(),
            },
            wait: (!self.no_wait).then_some(self.wait_timeout),
            print: match (self.print_join_command, self.format) {
                (false, _) => Print::Token,
                (true, JoinFormat::JoinCommand) => Print::JoinCommand,
                (true, JoinFormat::JoinConfig) => Print::JoinConfig,
            },
            certificate_key: self.certificate_key.as_ref().map(|k| secrecy::SecretString::from(k.expose())),
            api: self.api.options(),
        };
        o.validate()?;
        Ok(o)
    }
}
