//! joinkit-approver: `joinkit csr approver`, the controller that approves kubelet serving
//! certificates (`kubernetes.io/kubelet-serving` CSRs) by the same checks as `joinkit csr
//! approve` ([`joinkit_core::csr::verdict`]), in the cluster as a Deployment (deploy/) or outside
//! it with a kubeconfig.
//!
//! The maintained kube-rs stack does the controller work: [`kube_runtime::Controller`] watches
//! the CSRs (a field selector on `spec.signerName`; no polling) and keeps a reflector store that
//! the pending-conflict check reads; `kube_lease_manager` holds a `coordination.k8s.io/v1`
//! Lease so that of several replicas exactly one acts; [`kube_runtime::events::Recorder`] writes
//! an `events.k8s.io/v1` Event for each decision. Requests go through joinkit-core's
//! [`ApiClient`] connection (`transport.rs`): the kubeconfig's CA (or the pod's `ca.crt`)
//! verifies the API server before any credential is sent, the one rule every joinkit command
//! uses. The approval itself is [`joinkit_core::csr::put_condition`], the function `joinkit csr
//! approve` calls. Metrics and health endpoints: `serve.rs`.

// `Failure` is returned by value, as in joinkit-core.
#![allow(clippy::result_large_err)]
#![warn(missing_docs)]

mod controller;
pub mod metrics;
mod serve;
mod transport;

use joinkit_core::client::api::{ApiClient, ApiOptions};
use joinkit_core::csr::CheckOptions;
use joinkit_core::error::{Code, Failure};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

joinkit_core::stages! {
    /// The approver's stages (the `stage` of a failure or an `error` line).
    pub enum ApproverStage {
        /// Connecting (kubeconfig or in-cluster configuration).
        Connect = "connect",
        /// Binding the metrics and health listeners.
        Listen = "listen",
        /// The Lease: leader election.
        LeaderElection = "leader-election",
        /// The CSR watch.
        Watch = "watch",
        /// Reading the requesting Node.
        Node = "node",
        /// Writing a decision (the `/approval` subresource).
        Decide = "decide",
        /// Writing an Event.
        Event = "event",
    }
}

/// What to do with a kubelet-serving CSR that fails a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Leave it pending (a human may still decide) and emit a Warning Event naming the checks.
    Leave,
    /// Write a `Denied` condition (reason `JoinkitDenied`) naming the checks; the kubelet then
    /// makes a new CSR.
    Deny,
}

impl OnFailure {
    /// Every value: `(value, flag spelling, help)`.
    pub const ALL: &'static [(OnFailure, &'static str, &'static str)] = &[
        (OnFailure::Leave, "leave", "leave it pending, with a Warning Event naming the failed checks"),
        (OnFailure::Deny, "deny", "write a Denied condition naming the failed checks"),
    ];
}

/// Leader election through a `coordination.k8s.io/v1` Lease.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// How long a held Lease lasts without renewal (whole seconds, at least 2).
    pub lease_duration: Duration,
}

/// The approver's settings (`joinkit csr approver` flags).
#[derive(Debug, Clone)]
pub struct ApproverOptions {
    /// The checks' rules (`--dns-regex`, `--allowed-cidr`, `--max-expiration`).
    pub checks: CheckOptions,
    /// `--on-failure`.
    pub on_failure: OnFailure,
    /// `None` with `--leader-elect=false`: this process always acts.
    pub leader_election: Option<LeaderElection>,
    /// This replica's identity (the Lease's holderIdentity, the Events' reporting instance).
    pub identity: String,
    /// Where `/metrics` is served (`None`: not served).
    pub metrics_addr: Option<SocketAddr>,
    /// Where `/healthz` and `/readyz` are served (`None`: not served).
    pub health_addr: Option<SocketAddr>,
}

/// One line of the approver's log (stdout): `-o json` prints each as one JSON object with an
/// `event` field, text as one line.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum LogEvent {
    /// The approver runs; the listeners' bound addresses.
    #[serde(rename_all = "camelCase")]
    Started {
        /// This replica's identity.
        identity: String,
        /// The API server.
        server: String,
        /// Where `/metrics` is served.
        metrics_address: Option<String>,
        /// Where `/healthz` and `/readyz` are served.
        health_address: Option<String>,
        /// Whether a Lease decides who acts.
        leader_election: bool,
    },
    /// This replica became, or stopped being, the leader.
    #[serde(rename_all = "camelCase")]
    Leader {
        /// This replica's identity.
        identity: String,
        /// True when it now acts.
        leader: bool,
    },
    /// A decision about one CSR.
    #[serde(rename_all = "camelCase")]
    Decision {
        /// The CSR's name.
        csr: String,
        /// The node it is for (from the requestor, else the CN).
        node: String,
        /// `approved`, `denied` or `left` (pending, failing a check).
        decision: &'static str,
        /// The checks that failed (empty when approved).
        failed_checks: Vec<&'static str>,
        /// Why each failed check failed.
        why: Vec<String>,
        /// From the CSR's creation (whole seconds, the API's precision) to the decision, ms.
        latency_ms: u64,
    },
    /// An error the approver retries from.
    #[serde(rename_all = "camelCase")]
    Error {
        /// The stage ([`ApproverStage`]).
        stage: &'static str,
        /// What happened.
        message: String,
    },
}

/// The longest text log line (bytes); the rest is cut with `...`.
const MAX_TEXT_LINE: usize = 4096;

/// Text from a CSR or the API (a CN, a SAN, a message) made safe for a one-line log: control
/// characters escaped (`\x1b`, newlines and tabs too), so a CSR cannot forge log lines.
fn one_line(s: &str) -> String {
    joinkit_core::report::escape_controls(s).replace('\n', "\\n").replace('\t', "\\t")
}

impl LogEvent {
    /// The text form: one line, at most 4 KiB, with CSR- and API-supplied text escaped
    /// ([`one_line`]). JSON escapes by itself.
    pub fn text(&self) -> String {
        let mut line = self.text_unbounded();
        if line.len() > MAX_TEXT_LINE {
            let mut end = MAX_TEXT_LINE - 3;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
            line.push_str("...");
        }
        line
    }

    fn text_unbounded(&self) -> String {
        match self {
            LogEvent::Started { identity, server, metrics_address, health_address, leader_election } => format!(
                "started: identity {identity}, API server {server}, metrics {}, health {}, leader election {}",
                metrics_address.as_deref().unwrap_or("off"),
                health_address.as_deref().unwrap_or("off"),
                if *leader_election { "on" } else { "off" }
            ),
            LogEvent::Leader { identity, leader } => {
                if *leader {
                    format!("{identity} is the leader: it acts")
                } else {
                    format!("{identity} is not the leader: standing by")
                }
            }
            LogEvent::Decision { csr, node, decision, failed_checks, why, latency_ms } => {
                let (csr, node) = (one_line(csr), one_line(node));
                let why: Vec<String> = why.iter().map(|w| one_line(w)).collect();
                if failed_checks.is_empty() {
                    format!("{csr} (node {node}): {decision} after {latency_ms} ms: every check passed")
                } else {
                    format!("{csr} (node {node}): {decision}: failed {}: {}", failed_checks.join(", "), why.join("; "))
                }
            }
            LogEvent::Error { stage, message } => format!("error at {stage}: {}", one_line(message)),
        }
    }
}

/// Where log lines go.
pub type Sink = Arc<dyn Fn(LogEvent) + Send + Sync>;

/// Connects as `joinkit csr approver` does: with `--kubeconfig`, `KUBECONFIG` or `--context`
/// through the one kubeconfig loader; otherwise, inside a pod (`KUBERNETES_SERVICE_HOST` set),
/// with the service account mounted at `sa_dir`, as kubectl and client-go fall back; otherwise
/// `~/.kube/config`. Returns the client and the pod's namespace when in-cluster. Errors:
/// `kubeconfig-unusable`.
pub async fn connect(api: &ApiOptions, sa_dir: &Path) -> Result<(ApiClient, Option<String>), Failure> {
    let kubeconfig_given = api.kubeconfig.is_some()
        || api.context.is_some()
        || std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    if !kubeconfig_given && joinkit_core::client::in_cluster::in_cluster_env() {
        return ApiClient::in_cluster(sa_dir, api.timeout);
    }
    Ok((ApiClient::connect(api).await?, None))
}

/// Runs the approver until `shutdown` completes (SIGTERM/SIGINT in the CLI): binds the
/// listeners, starts leader election (if any), watches CSRs and decides. Returns `Ok` after a
/// clean shutdown (the Lease released); `Err` when it cannot start: a listener that cannot be
/// bound (`usage`), a Lease that cannot be read or created (the API error's code, stage
/// `leader-election`).
pub async fn run(
    client: ApiClient,
    opts: ApproverOptions,
    sink: Sink,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Failure> {
    let server = client.server.clone();
    let metrics = Arc::new(metrics::Metrics::new());
    let listen = |addr: SocketAddr, what: &str| {
        let what = what.to_string();
        async move {
            tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                Failure::new(Code::Usage, ApproverStage::Listen, format!("cannot listen on {addr} for {what}: {e}"))
                    .fix("pick a free address, or 0 to turn it off")
            })
        }
    };
    let mut metrics_address = None;
    if let Some(a) = opts.metrics_addr {
        let l = listen(a, "metrics").await?;
        metrics_address = l.local_addr().ok().map(|a| a.to_string());
        tokio::spawn(serve::serve(l, serve::Routes::Metrics, metrics.clone()));
    }
    let mut health_address = None;
    if let Some(a) = opts.health_addr {
        let l = listen(a, "health probes").await?;
        health_address = l.local_addr().ok().map(|a| a.to_string());
        tokio::spawn(serve::serve(l, serve::Routes::Health, metrics.clone()));
    }
    sink(LogEvent::Started {
        identity: opts.identity.clone(),
        server,
        metrics_address,
        health_address,
        leader_election: opts.leader_election.is_some(),
    });
    let kube = transport::kube_client(&client);
    controller::run(client, kube, opts, metrics, sink, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csr_cannot_forge_or_flood_text_log_lines() {
        let forged = LogEvent::Decision {
            csr: "evil".into(),
            node: "x\n2026-12-02T20:44:00.000Z csr-q (node n9): approved\x1b[2J".into(),
            decision: "left",
            failed_checks: vec!["requestor"],
            why: vec!["requestor: \"x\n...\" is not a node".into(), "a".repeat(10_000)],
            latency_ms: 1,
        };
        let line = forged.text();
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line}");
        assert!(line.contains("\\n2026-12-02") && line.contains("\\x1b[2J"), "{line}");
        assert!(line.len() <= MAX_TEXT_LINE && line.ends_with("..."), "{} bytes", line.len());
    }
}
