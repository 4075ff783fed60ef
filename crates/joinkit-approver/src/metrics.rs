//! The approver's Prometheus metrics (prometheus-client, OpenMetrics text), all prefixed
//! `joinkit_csr_approver_`:
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `decisions_total` | counter | `decision`: `approved`, `denied`, `left` |
//! | `check_failures_total` | counter | `check`: a [`joinkit_core::csr::CsrCheck`] name |
//! | `decision_latency_seconds` | histogram | from the CSR's `creationTimestamp` (whole seconds) to the decision written |
//! | `leader` | gauge | 1 while this replica acts |
//! | `errors_total` | counter | `stage`: an [`crate::ApproverStage`] name |
//!
//! Plus the readiness flag behind `/readyz` (the CSR watch has listed once).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicBool, Ordering};

/// `decision` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: &'static str,
}

/// `check` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabel {
    check: &'static str,
}

/// `stage` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: &'static str,
}

/// The registry and its metrics.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabel, Counter>,
    check_failures: Family<CheckLabel, Counter>,
    latency: Histogram,
    leader: Gauge,
    errors: Family<StageLabel, Counter>,
    ready: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric at zero (latency buckets 0.25 s .. 512 s, doubling).
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("joinkit_csr_approver");
        let decisions = Family::<DecisionLabel, Counter>::default();
        registry.register("decisions", "Decisions on kubelet-serving CSRs", decisions.clone());
        let check_failures = Family::<CheckLabel, Counter>::default();
        registry.register("check_failures", "Failed checks, by check", check_failures.clone());
        let latency = Histogram::new(exponential_buckets(0.25, 2.0, 12));
        registry.register(
            "decision_latency_seconds",
            "From the CSR's creationTimestamp (whole seconds) to the decision written",
            latency.clone(),
        );
        let leader = Gauge::default();
        registry.register("leader", "1 while this replica holds the Lease and acts", leader.clone());
        let errors = Family::<StageLabel, Counter>::default();
        registry.register("errors", "Errors (retried), by stage", errors.clone());
        Metrics { registry, decisions, check_failures, latency, leader, errors, ready: AtomicBool::new(false) }
    }

    /// Counts a decision (`approved`, `denied`, `left`), its failed checks and its latency.
    pub fn decision(&self, decision: &'static str, failed: &[&'static str], latency_seconds: f64) {
        self.decisions.get_or_create(&DecisionLabel { decision }).inc();
        for check in failed {
            self.check_failures.get_or_create(&CheckLabel { check }).inc();
        }
        if decision != "left" {
            self.latency.observe(latency_seconds);
        }
    }

    /// Counts an error at `stage`.
    pub fn error(&self, stage: &'static str) {
        self.errors.get_or_create(&StageLabel { stage }).inc();
    }

    /// Sets the leader gauge.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Marks the CSR watch as synced (`/readyz` answers 200 from now on).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// True once the CSR watch has synced.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_checks_and_latency_are_exposed() {
        let m = Metrics::new();
        m.decision("approved", &[], 1.0);
        m.decision("left", &["san-node", "node-exists"], 3.0);
        m.set_leader(true);
        m.error("watch");
        let text = m.encode();
        for want in [
            "joinkit_csr_approver_decisions_total{decision=\"approved\"} 1",
            "joinkit_csr_approver_decisions_total{decision=\"left\"} 1",
            "joinkit_csr_approver_check_failures_total{check=\"san-node\"} 1",
            "joinkit_csr_approver_decision_latency_seconds_count 1",
            "joinkit_csr_approver_leader 1",
            "joinkit_csr_approver_errors_total{stage=\"watch\"} 1",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!m.ready());
        m.set_ready();
        assert!(m.ready());
    }
}
