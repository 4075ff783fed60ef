//! The arguments of `joinkit csr list|explain|approve|deny` (kubectl's `certificate approve|deny`
//! and `get csr`, with joinkit's checks) and their conversion to
//! [`joinkit_core::csr::CheckOptions`].

use super::groups::{ApiArgs, OutputArg};
use super::AFTER_HELP;
use clap::{Args, Subcommand};
use joinkit_core::csr::CheckOptions;
use joinkit_core::error::Failure;
use std::time::Duration;

/// The rules of the checks, shared by every `csr` subcommand.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Every DNS SAN of a kubelet-serving CSR must also match this regex (whole name)
    #[arg(long, value_name = "REGEX")]
    pub dns_regex: Option<String>,
    /// Every IP SAN of a kubelet-serving CSR must be within one of these CIDRs (repeatable)
    #[arg(long, value_name = "CIDR")]
    pub allowed_cidr: Vec<String>,
    /// The longest spec.expirationSeconds allowed (e.g. 720h)
    #[arg(long, value_name = "DURATION", value_parser = joinkit_core::duration::clap_parse)]
    pub max_expiration: Option<Duration>,
}

impl CheckArgs {
    /// The library's options; a bad regex or CIDR is a usage error.
    pub(crate) fn options(&self) -> Result<CheckOptions, Failure> {
        CheckOptions::parse(self.dns_regex.as_deref(), &self.allowed_cidr, self.max_expiration)
    }
}

/// `joinkit csr` subcommands.
#[derive(Debug, Subcommand)]
pub enum CsrCommand {
    /// List CSRs with signer, requestor, subject, SANs, age, condition and joinkit's verdict
    #[command(after_long_help = AFTER_HELP)]
    List {
        /// The checks' rules.
        #[command(flatten)]
        checks: CheckArgs,
        /// The output format.
        #[command(flatten)]
        out: OutputArg,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show every check of one CSR with pass/fail and why (exit csr-check-failed if one fails)
    #[command(after_long_help = AFTER_HELP)]
    Explain {
        /// The CSR's name
        #[arg(value_name = "NAME")]
        name: String,
        /// The checks' rules.
        #[command(flatten)]
        checks: CheckArgs,
        /// The output format.
        #[command(flatten)]
        out: OutputArg,
        /// API access.
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Approve CSRs that pass every check (a failing one is refused: csr-check-failed)
    #[command(after_long_help = AFTER_HELP)]
    Approve(DecideArgs),
    /// Deny CSRs, recording --reason (required) and the checks in the condition
    #[command(after_long_help = AFTER_HELP)]
    Deny(DecideArgs),
}

/// `csr approve|deny NAME...`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The CSRs' names (each is checked; there is no --all)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    /// Why: written into the condition's message (a single CamelCase word also becomes its reason); required for deny
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Check and show what would be written, but write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The checks' rules.
    #[command(flatten)]
    pub checks: CheckArgs,
    /// The output format.
    #[command(flatten)]
    pub out: OutputArg,
    /// API access.
    #[command(flatten)]
    pub api: ApiArgs,
}
