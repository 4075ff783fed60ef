//! The arguments of `joinkit token generate|create|list|describe|delete` (kubeadm's `token`
//! flags), and `token create`'s conversion to [`joinkit_core::token::create::CreateOptions`].

use super::groups::{ApiArgs, OutputArg};
use super::SecretArg;
use clap::{Args, Subcommand};
use joinkit_core::config::intent::{control_plane_intent, Given, Origin};
use joinkit_core::error::{Code, Failure};
use joinkit_core::report::Common;
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
    Create(TokenCreateArgs),
    /// List bootstrap tokens (kubeadm's columns plus SIGNED)
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
    #[arg(long, value_name = "FILE", env = "JOINKIT_TOKEN_FILE")]
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
    /// With --print-join-command (required, as kubeadm): a control-plane join command with this
    /// certificate key. As in kubeadm the flag itself asks for a control-plane join;
    /// JOINKIT_CERTIFICATE_KEY is used only with --control-plane
    #[arg(long, value_name = "KEY", env = "JOINKIT_CERTIFICATE_KEY", hide_env_values = true)]
    pub certificate_key: Option<SecretArg>,
    /// With --print-join-command: a control-plane join command (needs a certificate key:
    /// JOINKIT_CERTIFICATE_KEY or --certificate-key)
    #[arg(long, env = "JOINKIT_CONTROL_PLANE")]
    pub control_plane: bool,
    /// With --print-join-command: print a command line or a JoinConfiguration
    #[arg(long, value_enum, default_value_t = JoinFormat::JoinCommand)]
    pub format: JoinFormat,
    /// Do not wait for cluster-info to carry the token's signature
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the signature
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = joinkit_core::duration::clap_parse)]
    pub wait_timeout: Duration,
    /// Write what would be printed (the token, join command or JoinConfiguration: it holds the
    /// token) to FILE, atomically with mode 0600, instead of stdout
    #[arg(long = "output-file", value_name = "FILE", env = "JOINKIT_OUTPUT_FILE")]
    pub output_file: Option<PathBuf>,
    /// The output format.
    #[command(flatten)]
    pub out: OutputArg,
    /// API access.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Where the control-plane-only values came from (filled from the matches by
    /// [`super::parse`]).
    #[arg(skip)]
    pub control_plane_values: Vec<Given>,
}

impl TokenCreateArgs {
    /// The create options, checked (`bad-token-format`, `bad-token-options`, at `input`), and
    /// the line for stderr when JOINKIT_CERTIFICATE_KEY is ignored; no TOKEN and no
    /// --token-file generates a random token.
    ///
    /// Control-plane intent ([`joinkit_core::config::intent`]): `--control-plane`, or
    /// `--certificate-key` on the command line (kubeadm's `token create --print-join-command
    /// --certificate-key K` prints a control-plane join command: the flag is the intent there,
    /// cmd/kubeadm/app/cmd/token.go). JOINKIT_CERTIFICATE_KEY alone is ignored, and
    /// `--control-plane` without any key is `usage`.
    pub(crate) fn options(&self) -> Result<(CreateOptions, Option<String>), Failure> {
        let key_on_command_line =
            self.control_plane_values.iter().any(|g| g.flag == "--certificate-key" && g.origin == Origin::CommandLine);
        let declared = if self.control_plane {
            Some("--control-plane")
        } else {
            key_on_command_line.then_some("--certificate-key (kubeadm's control-plane join command)")
        };
        let intent = control_plane_intent("token create", declared, &self.control_plane_values)?;
        if self.control_plane && self.certificate_key.is_none() {
            return Err(Failure::new(
                Code::Usage,
                Common::Input,
                "--control-plane needs a certificate key: JOINKIT_CERTIFICATE_KEY or --certificate-key",
            )
            .cause("a control-plane join command carries the key that decrypts the uploaded control-plane certificates")
            .fix("export JOINKIT_CERTIFICATE_KEY (from `kubeadm init phase upload-certs --upload-certs`), or drop --control-plane for a worker join command"));
        }
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
            certificate_key: self
                .certificate_key
                .as_ref()
                .filter(|_| intent.control_plane)
                .map(|k| secrecy::SecretString::from(k.expose())),
            api: self.api.options(),
        };
        o.validate()?;
        Ok((o, intent.note))
    }
}
