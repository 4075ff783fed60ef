//! The arguments of `joinkit csr list|explain|approve|deny` (kubectl's `certificate approve|deny`
//! and `get csr`, with joinkit's checks) and their conversion to
//! [`joinkit_core::csr::CheckOptions`].

#[cfg(feature = "approver")]
use super::choice;
use super::groups::{ApiArgs, OutputArg};

use clap::{Args, Subcommand};
#[cfg(feature = "approver")]
use joinkit_approver::{ApproverOptions, LeaderElection, OnFailure};
use joinkit_core::csr::CheckOptions;
use joinkit_core::error::Failure;
#[cfg(feature = "approver")]
use std::net::SocketAddr;
#[cfg(feature = "approver")]
use std::path::PathBuf;
use std::time::Duration;

/// The rules of the checks, shared by every `csr` subcommand.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// DNS SANs of a kubelet-serving CSR may be any name matching this regex (whole name), not
    /// only the node's name or hostname; the cluster's own names stay refused
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
    Approve(DecideArgs),
    /// Deny CSRs, recording --reason (required) and the checks in the condition
    Deny(DecideArgs),
    /// Run the approver: watch kubelet-serving CSRs and approve those that pass every check (in a cluster or with a kubeconfig)
    #[cfg(feature = "approver")]
    Approver(Box<ApproverArgs>),
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

/// A listener address, `None` when off.
#[cfg(feature = "approver")]
#[derive(Debug, Clone, Copy)]
pub struct BindAddress(pub Option<SocketAddr>);

/// `--metrics-bind-address` / `--health-probe-bind-address`: `HOST:PORT`, `:PORT` (every
/// interface, as controller-runtime reads it) or `0` (off).
#[cfg(feature = "approver")]
fn bind_address(s: &str) -> Result<BindAddress, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(BindAddress(None));
    }
    let full = if s.starts_with(':') { format!("0.0.0.0{s}") } else { s.to_string() };
    full.parse::<SocketAddr>()
        .map(|a| BindAddress(Some(a)))
        .map_err(|_| format!("{s:?} is not HOST:PORT, :PORT or 0 (off); a host must be an IP address"))
}

/// `joinkit csr approver`: the controller (crate joinkit-approver).
#[cfg(feature = "approver")]
#[derive(Debug, Args)]
pub struct ApproverArgs {
    /// What to do with a kubelet-serving CSR that fails a check: leave it pending (with a Warning Event) or deny it
    #[arg(long, value_name = "ACTION", value_parser = choice(OnFailure::ALL), default_value = "leave")]
    pub on_failure: OnFailure,
    /// Elect one acting replica through a coordination.k8s.io Lease (false: this process always acts)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// The Lease's name
    #[arg(long, value_name = "NAME", default_value = "joinkit-csr-approver")]
    pub leader_elect_resource_name: String,
    /// The Lease's namespace (default: the pod's namespace in a cluster, else kube-system)
    #[arg(long, value_name = "NAMESPACE")]
    pub leader_elect_resource_namespace: Option<String>,
    /// This replica's identity in the Lease and in Events (default: $POD_NAME, else HOSTNAME_RANDOM)
    #[arg(long, value_name = "ID")]
    pub leader_elect_identity: Option<String>,
    /// How long a Lease lasts without renewal (at least 4s); a standby takes over after it
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = joinkit_core::duration::clap_parse)]
    pub leader_elect_lease_duration: Duration,
    /// Where to serve /metrics: HOST:PORT, :PORT (every interface) or 0 (off)
    #[arg(long, value_name = "ADDR", default_value = ":8080", value_parser = bind_address)]
    pub metrics_bind_address: BindAddress,
    /// Where to serve /healthz and /readyz: HOST:PORT, :PORT or 0 (off)
    #[arg(long, value_name = "ADDR", default_value = ":8081", value_parser = bind_address)]
    pub health_probe_bind_address: BindAddress,
    /// The service account directory used in a pod (for tests)
    #[arg(long, value_name = "DIR", hide = true, default_value = joinkit_core::client::in_cluster::SERVICE_ACCOUNT_DIR)]
    pub serviceaccount_dir: PathBuf,
    /// The checks' rules.
    #[command(flatten)]
    pub checks: CheckArgs,
    /// The output format of the log lines (json/yaml: one object per decision)
    #[command(flatten)]
    pub out: OutputArg,
    /// API access (no --kubeconfig, no KUBECONFIG and KUBERNETES_SERVICE_HOST set: in-cluster).
    #[command(flatten)]
    pub api: ApiArgs,
}

#[cfg(feature = "approver")]
impl ApproverArgs {
    /// The identity: `--leader-elect-identity`, else `$POD_NAME` (deploy/ sets it from the
    /// downward API), else the host name and a random suffix (client-go's convention).
    pub(crate) fn identity(&self) -> String {
        if let Some(i) = self.leader_elect_identity.clone().filter(|s| !s.is_empty()) {
            return i;
        }
        if let Some(p) = std::env::var("POD_NAME").ok().filter(|s| !s.is_empty()) {
            return p;
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        format!(
            "{}_{:08x}",
            if host.is_empty() { "joinkit" } else { &host },
            nanos ^ std::process::id().rotate_left(16)
        )
    }

    /// The library's options, with the namespace found by the connection (in a pod).
    pub(crate) fn options(&self, pod_namespace: Option<String>) -> Result<ApproverOptions, Failure> {
        if self.leader_elect && self.leader_elect_lease_duration.as_secs() < 4 {
            return Err(Failure::new(
                joinkit_core::error::Code::Usage,
                joinkit_core::report::Common::Input,
                "--leader-elect-lease-duration must be at least 4s",
            )
            .fix("the leader renews every half duration and stops acting when it cannot: shorter Leases flap"));
        }
        let le = self.leader_elect.then(|| LeaderElection {
            namespace: self
                .leader_elect_resource_namespace
                .clone()
                .or(pod_namespace)
                .unwrap_or_else(|| "kube-system".to_string()),
            name: self.leader_elect_resource_name.clone(),
            // Whole seconds: the Lease's leaseDurationSeconds and the renewal guard agree.
            lease_duration: Duration::from_secs(self.leader_elect_lease_duration.as_secs()),
        });
        Ok(ApproverOptions {
            checks: self.checks.options()?,
            on_failure: self.on_failure,
            leader_election: le,
            identity: self.identity(),
            metrics_addr: self.metrics_bind_address.0,
            health_addr: self.health_probe_bind_address.0,
        })
    }
}
