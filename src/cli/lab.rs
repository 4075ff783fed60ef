//! The arguments of `joinkit lab` and `joinkit lab demo|scenarios` (default feature `lab`).

use super::choice;
use super::groups::OutputArg;
use clap::{Args, Subcommand};
use joinkit_lab::{pki::KeyKind, Scenario};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `joinkit lab`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LabArgs {
    /// Optional subcommand.
    #[command(subcommand)]
    pub command: Option<LabCommand>,
    /// Loopback address to listen on; the default port 0 picks a free port (printed). A port
    /// that is taken is a usage error (exit 2)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// CA key type
    #[arg(long, value_parser = choice(KeyKind::ALL), default_value = "rsa")]
    pub ca_key: KeyKind,
    /// Fault to inject
    #[arg(long, value_parser = choice(Scenario::ALL), default_value = "healthy")]
    pub scenario: Scenario,
    /// Use the bootstrap token in this file instead of a random one
    #[arg(long, value_name = "FILE", env = "JOINKIT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// host:port to advertise in cluster-info instead of the listen address
    #[arg(long, value_name = "HOST:PORT")]
    pub control_plane_endpoint: Option<String>,
    /// Write endpoint, token, CA pin and CA certificate as JSON to FILE (mode 0600)
    #[arg(long, value_name = "FILE")]
    pub write_json: Option<PathBuf>,
    /// Write the CA certificate (PEM) to FILE
    #[arg(long, value_name = "FILE")]
    pub write_ca: Option<PathBuf>,
    /// Write an admin kubeconfig (like kubeadm's admin.conf) to FILE (mode 0600)
    #[arg(long, value_name = "FILE")]
    pub write_kubeconfig: Option<PathBuf>,
    /// Stop after DURATION
    #[arg(long, value_name = "DURATION", value_parser = joinkit_core::duration::clap_parse)]
    pub exit_after: Option<Duration>,
}

/// `joinkit lab` subcommands.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Start a lab, verify discovery against it healthy and with a fault, print both reports
    Demo {
        /// The fault for the second run
        #[arg(long, value_parser = choice(Scenario::ALL), default_value = "token-expired")]
        scenario: Scenario,
        /// The output format.
        #[command(flatten)]
        out: OutputArg,
    },
    /// List the fault scenarios
    Scenarios,
}
