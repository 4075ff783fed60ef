//! The controller: kube-runtime's [`Controller`] over `kubernetes.io/kubelet-serving` CSRs
//! (watch with a `spec.signerName` field selector, a reflector store, one reconcile per CSR at
//! a time, retries), leadership from `kube_lease_manager`, decisions by
//! [`joinkit_core::csr::verdict`] and written by [`joinkit_core::csr::put_condition`].
//!
//! Per CSR: not the leader, another signer, or already decided → nothing. Otherwise the Nodes it
//! names are read (GET, fresh: a kubelet asks for its serving certificate right after it
//! registers, before a cache would have the Node), the other serving CSRs of the same
//! requestor come from the store, every other Node's addresses from an index kept by a Node
//! watch (`san-unique`), the cluster's own names from [`csr::cluster_names`] (read at start and
//! every [`NAMES_REFRESH`]), and the verdict is made on a blocking thread (bounded work, but
//! never on the async workers that answer the probes and the other CSRs). Pass → `Approved` + a Normal Event
//! `CsrApproved`. Fail → with `--on-failure deny`, `Denied` + a Warning `CsrDenied`; with
//! `leave`, a Warning `CsrCheckFailed`, once per distinct set of failed checks, and, when a
//! failed check depends on the Node (it may not be registered or have its addresses yet), a
//! re-check after 15 s, 30 s, ... up to 5 minutes between checks. A CSR's spec is immutable, so
//! nothing else changes the verdict.

use crate::metrics::Metrics;
use crate::{ApproverOptions, ApproverStage, LogEvent, OnFailure, Sink};
use futures::StreamExt;
use joinkit_core::client::api::ApiClient;
use joinkit_core::csr::checks::CheckResult;
use joinkit_core::csr::{self, ClusterNames, Context, Decision, NodeAddresses, Verdict, KUBELET_SERVING_SIGNER};
use joinkit_core::error::{Code, Failure};
use joinkit_core::report::StageId;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::Node;
use kube_client::api::Api;
use kube_client::core::Resource;
use kube_lease_manager::{LeaseCreateMode, LeaseManagerBuilder};
use kube_runtime::controller::{Action, Controller};
use kube_runtime::events::{Event, EventType, Recorder, Reporter};
use kube_runtime::watcher;
use kube_runtime::WatchStreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Everything a reconcile needs.
struct Ctx {
    api: ApiClient,
    store: kube_runtime::reflector::Store<CertificateSigningRequest>,
    recorder: Recorder,
    opts: ApproverOptions,
    /// True while this replica acts: elected by the Lease manager and its renewals seen
    /// (see [`guard`]), or always without leader election.
    leader: AtomicBool,
    /// What the Lease manager last said.
    elected: AtomicBool,
    /// Wakes [`guard`] when `elected` changes (so a new leader acts at once).
    elected_changed: tokio::sync::Notify,
    metrics: Arc<Metrics>,
    sink: Sink,
    /// CSR name → (failed checks last reported, re-checks so far), for `leave`.
    left: Mutex<HashMap<String, (Vec<&'static str>, u32)>>,
    /// Every Node's addresses, from the Node watch.
    addresses: RwLock<NodeAddresses>,
    /// True once the Node watch has listed every Node (no verdict before).
    nodes_synced: AtomicBool,
    /// The names and addresses the cluster itself uses.
    names: RwLock<Arc<ClusterNames>>,
}

impl Ctx {
    /// An error the approver goes on from: counted (`errors_total{stage}`) and logged.
    fn error(&self, stage: ApproverStage, message: String) {
        self.metrics.error(StageId::name(stage));
        (self.sink)(LogEvent::Error { stage: StageId::name(stage), message });
    }
}

/// A reconcile error: retried after 5 s.
#[derive(Debug)]
struct ReconcileError(Failure, ApproverStage);

impl std::fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.message)
    }
}

impl std::error::Error for ReconcileError {}

/// How long in-flight decisions may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The longest one CSR's judgement may take (Node reads, the decision, its Event); beyond it the
/// reconcile is abandoned and retried. Shorter than any Lease's renewal deadline is not needed:
/// leadership is checked again right before the decision is written.
const RECONCILE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many CSRs are judged at once. bench/csr_approver.py on a 1,000-CSR backlog (2 cores
/// shared with the API server): 8 gave 217 decisions/s, 32 gave 319/s, 64 gives 383/s at 23 MiB
/// peak, no bound 515/s at 90 MiB.
const CONCURRENCY: u16 = 64;

/// Checks that depend on the Node (or on other CSRs or Nodes), which may still change.
const NODE_CHECKS: &[&str] = &["san-node", "node-exists", "pending-conflict", "san-unique", "dns-names"];

/// How often the cluster's own names ([`csr::cluster_names`]) are read again.
pub(crate) const NAMES_REFRESH: Duration = Duration::from_secs(300);

/// When a left CSR is checked again: only when a failed check depends on the Node or on other
/// CSRs (the CSR's own spec is immutable); after 15 s, then 30, 60, 120, 240, then every 300 s.
/// `rechecks` counts the checks so far (1 after the first).
fn recheck_after(failed: &[&str], rechecks: u32) -> Option<Duration> {
    failed
        .iter()
        .any(|c| NODE_CHECKS.contains(c))
        .then(|| Duration::from_secs((15u64 << rechecks.clamp(1, 6).saturating_sub(1)).min(300)))
}

/// Seconds from the CSR's creationTimestamp to now (0 when it has none).
fn age_seconds(csr: &CertificateSigningRequest) -> f64 {
    let created = serde_json::to_value(&csr.metadata.creation_timestamp)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .and_then(|s| time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).ok());
    match created {
        Some(t) => ((time::OffsetDateTime::now_utc() - t).as_seconds_f64()).max(0.0),
        None => 0.0,
    }
}

/// The Event note: the failed checks and why, at most 1 KiB (the Events API's limit).
fn note(prefix: &str, failed: &[&CheckResult]) -> String {
    let mut s = format!(
        "{prefix}: {}",
        failed.iter().map(|c| format!("{}: {}", c.check, c.why)).collect::<Vec<_>>().join("; ")
    );
    if s.len() > 1024 {
        let mut end = 1021;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// [`judge`] within [`RECONCILE_TIMEOUT`].
async fn reconcile(csr: Arc<CertificateSigningRequest>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    match tokio::time::timeout(RECONCILE_TIMEOUT, judge(csr, ctx)).await {
        Ok(r) => r,
        Err(_) => Err(ReconcileError(
            Failure::new(
                Code::RequestTimeout,
                ApproverStage::Decide,
                format!("judging the CSR took over {RECONCILE_TIMEOUT:?}"),
            ),
            ApproverStage::Decide,
        )),
    }
}

/// Judges one CSR (see the module docs).
async fn judge(csr: Arc<CertificateSigningRequest>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    if !ctx.leader.load(Ordering::SeqCst)
        || csr.spec.signer_name != KUBELET_SERVING_SIGNER
        || csr::checks::decided(&csr)
    {
        return Ok(Action::await_change());
    }
    let name = csr.metadata.name.clone().unwrap_or_default();
    {
        // Bounded memory: forget CSRs that are gone (the csrcleaner deletes pending ones after
        // a day) once many are remembered.
        let mut left = ctx.left.lock().unwrap_or_else(|e| e.into_inner());
        if left.len() > 10_000 {
            let live: std::collections::HashSet<String> =
                ctx.store.state().iter().filter_map(|o| o.metadata.name.clone()).collect();
            left.retain(|k, _| live.contains(k));
        }
    }
    if !ctx.nodes_synced.load(Ordering::SeqCst) {
        // No verdict without every Node's addresses (san-unique).
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let mut nodes = Vec::new();
    for n in csr::node_names(&csr) {
        match csr::get_node(&ctx.api, &n).await {
            Ok(Some(node)) => {
                ctx.addresses.write().unwrap_or_else(|e| e.into_inner()).upsert(&node);
                nodes.push(node)
            }
            Ok(None) => {}
            Err(f) => return Err(ReconcileError(f, ApproverStage::Node)),
        }
    }
    // The other pending CSRs of the same requestor (the store holds only kubelet-serving ones):
    // filtered on the shared copies, and at most one more than the checks compare is cloned.
    let siblings: Vec<CertificateSigningRequest> = ctx
        .store
        .state()
        .into_iter()
        .filter(|o| {
            o.spec.username == csr.spec.username && o.metadata.name != csr.metadata.name && !csr::checks::decided(o)
        })
        .take(csr::checks::MAX_PENDING_SIBLINGS + 1)
        .map(|o| (*o).clone())
        .collect();
    // The verdict on a blocking thread: every check is linear and capped (at most 64 SANs, 128
    // addresses per Node, 64 siblings parsed), and the async workers stay free for the probes,
    // the watches and other CSRs while it runs.
    let v = {
        let (ctx, csr) = (ctx.clone(), csr.clone());
        tokio::task::spawn_blocking(move || {
            let names = ctx.names.read().unwrap_or_else(|e| e.into_inner()).clone();
            let index = ctx.addresses.read().unwrap_or_else(|e| e.into_inner());
            let cx = Context { nodes: &nodes, csrs: &siblings, bindings: &[], addresses: &index, cluster: &names };
            csr::verdict(&csr, cx, &ctx.opts.checks)
        })
        .await
        .map_err(|e| {
            ReconcileError(Failure::new(Code::Internal, ApproverStage::Decide, e.to_string()), ApproverStage::Decide)
        })?
    };
    let node = csr::node_names(&csr).into_iter().next().unwrap_or_default();
    let failed: Vec<&'static str> = v.failed().iter().map(|c| c.check).collect();
    let (decision, event) = if v.passed {
        ("approved", Some(Decision::Approve(None)))
    } else if ctx.opts.on_failure == OnFailure::Deny {
        ("denied", Some(Decision::Deny("failed joinkit's checks".into())))
    } else {
        ("left", None)
    };
    if let Some(d) = &event {
        // Leadership may have moved while the Nodes were read.
        if !ctx.leader.load(Ordering::SeqCst) {
            return Ok(Action::await_change());
        }
        write(&ctx, &csr, d, &v).await?;
        ctx.left.lock().unwrap_or_else(|e| e.into_inner()).remove(&name);
    } else {
        let (changed, rechecks) = {
            let mut left = ctx.left.lock().unwrap_or_else(|e| e.into_inner());
            let entry = left.entry(name.clone()).or_insert_with(|| (Vec::new(), 0));
            let changed = entry.0 != failed;
            entry.0 = failed.clone();
            entry.1 += 1;
            (changed, entry.1)
        };
        if changed {
            report(&ctx, &csr, &v, &node, decision, &failed).await;
        }
        return Ok(match recheck_after(&failed, rechecks) {
            Some(d) => Action::requeue(d),
            None => Action::await_change(),
        });
    }
    report(&ctx, &csr, &v, &node, decision, &failed).await;
    Ok(Action::await_change())
}

/// Writes the decision (the same condition `joinkit csr approve|deny` writes).
async fn write(ctx: &Ctx, csr: &CertificateSigningRequest, d: &Decision, v: &Verdict) -> Result<(), ReconcileError> {
    let (type_, reason, message) = csr::condition_for(d, v);
    csr::put_condition(&ctx.api, csr, type_, &reason, &message)
        .await
        .map_err(|f| ReconcileError(f, ApproverStage::Decide))
}

/// Logs, counts and publishes an Event for a decision.
async fn report(
    ctx: &Ctx,
    csr: &CertificateSigningRequest,
    v: &Verdict,
    node: &str,
    decision: &'static str,
    failed: &[&'static str],
) {
    let age = age_seconds(csr);
    ctx.metrics.decision(decision, failed, age);
    let failed_results = v.failed();
    (ctx.sink)(LogEvent::Decision {
        csr: v.name.clone(),
        node: node.to_string(),
        decision,
        failed_checks: failed.to_vec(),
        why: failed_results.iter().map(|c| format!("{}: {}", c.check, c.why)).collect(),
        latency_ms: (age * 1000.0) as u64,
    });
    let (type_, reason, action, text) = match decision {
        "approved" => {
            (EventType::Normal, "CsrApproved", "Approve", format!("approved: all {} checks passed", v.checks.len()))
        }
        "denied" => (EventType::Warning, "CsrDenied", "Deny", note("denied", &failed_results)),
        _ => (EventType::Warning, "CsrCheckFailed", "Check", note("left pending", &failed_results)),
    };
    let ev =
        Event { type_, reason: reason.into(), note: Some(text), action: event_action(action, failed), secondary: None };
    if let Err(e) = ctx.recorder.publish(&ev, &csr.object_ref(&())).await {
        ctx.error(ApproverStage::Event, joinkit_core::redact::redact(&format!("Event for {}: {e}", v.name)));
    }
}

/// The Event's `action`: `base`, then the failed checks (`Check:san-node,node-exists`), at
/// most 128 bytes (the Events API's limit). kube-runtime's Recorder folds Events with the same
/// type, reason, action and object into one series that keeps the first note; with the failed
/// checks in the action, a CSR whose failures change gets a new Event naming the new ones.
fn event_action(base: &str, failed: &[&str]) -> String {
    let mut a = if failed.is_empty() { base.to_string() } else { format!("{base}:{}", failed.join(",")) };
    a.truncate(128);
    a
}

fn error_policy(_: Arc<CertificateSigningRequest>, e: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.error(e.1, e.0.message.clone());
    Action::requeue(Duration::from_secs(if e.0.code == Code::ApiConflict { 1 } else { 5 }))
}

/// Runs the controller and, if configured, leader election, until `shutdown`.
pub(crate) async fn run(
    api: ApiClient,
    kube: kube_client::Client,
    opts: ApproverOptions,
    metrics: Arc<Metrics>,
    sink: Sink,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Failure> {
    let (trigger_tx, trigger_rx) = futures::channel::mpsc::unbounded::<()>();
    // Leadership: a Lease, or always the leader.
    let lease = match &opts.leader_election {
        None => None,
        Some(le) => {
            let manager = LeaseManagerBuilder::new(kube.clone(), &le.name)
                .with_namespace(&le.namespace)
                .with_identity(&opts.identity)
                .with_duration(le.lease_duration.as_secs().max(2))
                .with_grace((le.lease_duration.as_secs() / 2).max(1))
                .with_create_mode(LeaseCreateMode::AutoCreate)
                // The library's default field manager, `kube-lease-manager-<identity>`: a
                // per-replica manager is what makes two replicas' server-side applies of a
                // free Lease conflict (a shared one lets both take it).
                .build()
                .await
                .map_err(|e| lease_failure(le, &e))?;
            Some(manager.watch().await)
        }
    };
    let recorder = Recorder::new(
        kube.clone(),
        Reporter { controller: "joinkit-csr-approver".into(), instance: Some(opts.identity.clone()) },
    );
    let csrs: Api<CertificateSigningRequest> = Api::all(kube.clone());
    let config = watcher::Config::default().fields(&format!("spec.signerName={KUBELET_SERVING_SIGNER}"));
    let controller = Controller::new(csrs, config);
    let store = controller.store();
    let names = csr::cluster_names(&api).await;
    let ctx = Arc::new(Ctx {
        api,
        store: store.clone(),
        recorder,
        opts: opts.clone(),
        leader: AtomicBool::new(lease.is_none()),
        elected: AtomicBool::new(false),
        elected_changed: tokio::sync::Notify::new(),
        metrics: metrics.clone(),
        sink: sink.clone(),
        left: Mutex::new(HashMap::new()),
        addresses: RwLock::new(NodeAddresses::default()),
        nodes_synced: AtomicBool::new(false),
        names: RwLock::new(Arc::new(names)),
    });
    tokio::spawn(watch_nodes(ctx.clone(), kube.clone()));
    {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(NAMES_REFRESH).await;
                let names = csr::cluster_names(&ctx.api).await;
                *ctx.names.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(names);
            }
        });
    }
    if lease.is_none() {
        metrics.set_leader(true);
    }
    // Readiness: the CSR store and the Node index have listed once.
    {
        let metrics = metrics.clone();
        let store = store.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            // Re-polled with a bound: a single `wait_until_ready().await` was seen never to wake
            // on this runtime although the store had listed.
            loop {
                match tokio::time::timeout(Duration::from_millis(250), store.wait_until_ready()).await {
                    Ok(Ok(())) => break,
                    Ok(Err(_)) => return,
                    Err(_) => {}
                }
            }
            while !ctx.nodes_synced.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            metrics.set_ready()
        });
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Leader election that ends on its own (the Lease manager failed) stops the approver, as
    // client-go's leader election ends a controller: acting without a Lease could make two
    // leaders. The error is returned (exit code of `api-error`).
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<String>();
    let leader_task = lease.map(|(mut rx, task)| {
        let ctx = ctx.clone();
        let trigger = trigger_tx.clone();
        tokio::spawn(async move {
            let mut stop_rx = stop_rx;
            let stopped = loop {
                ctx.elected.store(*rx.borrow_and_update(), Ordering::SeqCst);
                ctx.elected_changed.notify_one();
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { break false },
                    _ = &mut stop_rx => break true,
                }
            };
            ctx.elected.store(false, Ordering::SeqCst);
            set_acting(&ctx, &trigger, false);
            // Dropping the receiver makes the manager release the Lease and end.
            drop(rx);
            let ended = task.await;
            if !stopped {
                let why = match ended {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(_)) => "the Lease manager ended".to_string(),
                    Err(e) => e.to_string(),
                };
                let _ = lost_tx.send(joinkit_core::redact::redact(&why));
            }
        })
    });
    if opts.leader_election.is_some() {
        sink(LogEvent::Leader { identity: opts.identity.clone(), leader: false });
    }
    let guard_task = opts.leader_election.clone().map(|le| tokio::spawn(guard(ctx.clone(), le, trigger_tx.clone())));
    // Shutdown (SIGTERM, Ctrl-C, or the Lease manager gone) is broadcast: the controller drains
    // gracefully, but for at most SHUTDOWN_GRACE (kube-runtime holds its queue until the first
    // list succeeds, so an API server that never answered would otherwise hold the process).
    let (shut_tx, shut_rx) = tokio::sync::watch::channel(false);
    let lost = Arc::new(Mutex::new(None::<String>));
    {
        let lost = lost.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown => {},
                Ok(why) = lost_rx => {
                    *lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                }
            }
            let _ = shut_tx.send(true);
            // Keep the sender (and so the receivers' value) until the process ends.
            std::future::pending::<()>().await;
        });
    }
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    // At most CONCURRENCY CSRs judged at once (each is a Node GET, an /approval PUT and an
    // Event): a burst of joins does not flood the API server or the approver's memory.
    let run = controller
        .with_config(kube_runtime::controller::Config::default().concurrency(CONCURRENCY))
        .reconcile_all_on(trigger_rx)
        .graceful_shutdown_on(stopped(shut_rx.clone()))
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|r| {
            let ctx = ctx.clone();
            async move {
                if let Err(kube_runtime::controller::Error::ObjectNotFound(_)) | Ok(_) = &r {
                    return;
                }
                if let Err(e) = r {
                    if !matches!(e, kube_runtime::controller::Error::ReconcilerFailed(..)) {
                        ctx.error(ApproverStage::Watch, joinkit_core::redact::redact(&e.to_string()));
                    }
                }
            }
        });
    tokio::select! {
        _ = run => {},
        _ = async {
            stopped(shut_rx.clone()).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {},
    }
    // No decision after this point, whatever is still in flight.
    ctx.leader.store(false, Ordering::SeqCst);
    drop(trigger_tx);
    if let Some(g) = guard_task {
        g.abort();
    }
    let _ = stop_tx.send(());
    if let Some(h) = leader_task {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    ctx.metrics.set_leader(false);
    let lost = lost.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (lost, &opts.leader_election) {
        (Some(why), Some(le)) => Err(Failure::new(
            Code::ApiError,
            ApproverStage::LeaderElection,
            format!("leader election on Lease {}/{} stopped: {why}", le.namespace, le.name),
        )
        .cause("the Lease manager's task ended (it retries API errors itself, so this is not a refused request)")
        .fix("the approver stops rather than act without the Lease; restart it (a Deployment does) once the API server answers")),
        _ => Ok(()),
    }
}

/// Keeps `ctx.addresses` equal to every Node's addresses: a Node watch (list, then watch, with
/// kube-runtime's backoff on errors) of which only the addresses are kept
/// ([`NodeAddresses`]); `nodes_synced` once the first list is in.
async fn watch_nodes(ctx: Arc<Ctx>, kube: kube_client::Client) {
    let nodes: Api<Node> = Api::all(kube);
    let mut events = watcher(nodes, watcher::Config::default()).default_backoff().boxed();
    let mut fresh: Option<NodeAddresses> = None;
    while let Some(ev) = events.next().await {
        match ev {
            Ok(watcher::Event::Init) => fresh = Some(NodeAddresses::default()),
            Ok(watcher::Event::InitApply(n)) => {
                if let Some(f) = fresh.as_mut() {
                    f.upsert(&n);
                }
            }
            Ok(watcher::Event::InitDone) => {
                if let Some(f) = fresh.take() {
                    *ctx.addresses.write().unwrap_or_else(|e| e.into_inner()) = f;
                }
                ctx.nodes_synced.store(true, Ordering::SeqCst);
            }
            Ok(watcher::Event::Apply(n)) => ctx.addresses.write().unwrap_or_else(|e| e.into_inner()).upsert(&n),
            Ok(watcher::Event::Delete(n)) => ctx
                .addresses
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(n.metadata.name.as_deref().unwrap_or_default()),
            Err(e) => ctx.error(ApproverStage::Watch, joinkit_core::redact::redact(&format!("Node watch: {e}"))),
        }
    }
}

/// Sets whether this replica acts, reporting a change (a log line, the gauge) and, on
/// becoming the actor, judging every pending CSR (seen while another replica acted).
fn set_acting(ctx: &Ctx, trigger: &futures::channel::mpsc::UnboundedSender<()>, acting: bool) {
    if ctx.leader.swap(acting, Ordering::SeqCst) != acting {
        ctx.metrics.set_leader(acting);
        (ctx.sink)(LogEvent::Leader { identity: ctx.opts.identity.clone(), leader: acting });
        if acting {
            let _ = trigger.unbounded_send(());
        }
    }
}

/// How often [`guard`] reads the Lease, and how long it lets a renewal go unseen before this
/// replica stops acting, for a Lease of `duration`: every `duration / 20` (at least 0.2 s), and
/// `duration - 3 × that`.
///
/// Why: a renewal at `R` is credited to the send time of the previous read, which still showed
/// the old value, so it is credited no later than `R`; staleness is noticed at the next read
/// (at most one interval plus one read, itself bounded by an interval), so a leader whose
/// renewals fail stops acting by `R + deadline + 2 × poll = R + duration - poll`, before another
/// replica may take the Lease at `R + duration`. The Lease manager renews every `duration / 2`
/// (its grace is half the duration), and a renewal is credited at most `poll` plus a read's
/// latency early, so a working leader's last credited renewal is never older than
/// `duration / 2 + 2 × poll` plus two read latencies: inside the deadline while a read takes
/// under `duration / 8` (about 2 s for 15 s Leases).
pub(crate) fn guard_timing(duration: Duration) -> (Duration, Duration) {
    let poll = (duration / 20).max(Duration::from_millis(200));
    (poll, duration.saturating_sub(poll * 3))
}

/// client-go's rule that a leader stops leading once it cannot renew (its `RenewDeadline`),
/// which kube-lease-manager does not apply (it keeps reporting leadership while its renewals
/// fail): this replica acts only while the manager says it leads **and** the Lease, read
/// through the verified connection, shows this identity as holder with a `renewTime` that
/// changed within the deadline of [`guard_timing`].
async fn guard(ctx: Arc<Ctx>, le: crate::LeaderElection, trigger: futures::channel::mpsc::UnboundedSender<()>) {
    let (poll, deadline) = guard_timing(le.lease_duration);
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/{}/leases/{}", le.namespace, le.name);
    let mut seen: Option<String> = None;
    let mut renewed: Option<std::time::Instant> = None;
    // When the last read that answered was sent.
    let mut previous_send: Option<std::time::Instant> = None;
    let mut reported = false;
    loop {
        let sent = std::time::Instant::now();
        match tokio::time::timeout(poll, ctx.api.get(&path)).await {
            Ok(Ok(v)) => {
                reported = false;
                let spec = &v["spec"];
                if spec["holderIdentity"].as_str() == Some(ctx.opts.identity.as_str()) {
                    let renew = spec["renewTime"].as_str().map(str::to_string);
                    if renew.is_some() && renew != seen {
                        seen = renew;
                        // Credited to the previous read, which did not see it yet (never
                        // later than the renewal itself); none yet: not credited.
                        renewed = previous_send;
                    }
                } else {
                    seen = None;
                    renewed = None;
                }
                previous_send = Some(sent);
            }
            Ok(Err(f)) if !reported => {
                reported = true;
                ctx.error(ApproverStage::LeaderElection, f.message);
            }
            _ => {}
        }
        let fresh = renewed.is_some_and(|t| t.elapsed() < deadline);
        set_acting(&ctx, &trigger, ctx.elected.load(Ordering::SeqCst) && fresh);
        tokio::select! {
            _ = tokio::time::sleep(poll) => {},
            _ = ctx.elected_changed.notified() => {},
        }
    }
}

/// A Lease that cannot be read or created.
fn lease_failure(le: &crate::LeaderElection, e: &kube_lease_manager::LeaseManagerError) -> Failure {
    let forbidden =
        matches!(e, kube_lease_manager::LeaseManagerError::KubeError(kube_client::Error::Api(s)) if s.code == 403);
    Failure::new(
        if forbidden { Code::ApiForbidden } else { Code::ApiError },
        ApproverStage::LeaderElection,
        format!("Lease {}/{}: {}", le.namespace, le.name, joinkit_core::redact::redact(&e.to_string())),
    )
    .cause(if forbidden {
        "the approver's identity may not get/patch (or create) that Lease"
    } else {
        "the API server refused or could not be reached"
    })
    .fix("apply deploy/ (it creates the Lease and the Role for it), or pass --leader-elect-resource-namespace/-name, or --leader-elect=false for a single replica")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_node_dependent_failures_are_rechecked_with_a_growing_bounded_pause() {
        assert_eq!(recheck_after(&["common-name", "usages"], 1), None, "an immutable spec is not re-checked");
        let secs = |n| recheck_after(&["organization", "node-exists"], n).unwrap().as_secs();
        assert_eq!((1..=8).map(secs).collect::<Vec<_>>(), vec![15, 30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(recheck_after(&["pending-conflict"], 1), Some(Duration::from_secs(15)));
        assert_eq!(recheck_after(&["san-node"], 0), Some(Duration::from_secs(15)));
    }

    #[test]
    fn a_leader_stops_acting_before_its_lease_can_be_taken() {
        for secs in [4u64, 5, 15, 60, 3600] {
            let d = Duration::from_secs(secs);
            let (poll, deadline) = guard_timing(d);
            // A renewal is credited up to one read early and noticed missing up to two reads
            // late: a leader that cannot renew stops before the Lease expires for the others.
            assert!(deadline + poll * 2 < d, "{secs}s: acts until {:?} after the last renewal", deadline + poll * 2);
            // Renewals every d/2, credited up to poll + a read (here d/16) early, are seen in time
            // (no flapping).
            let read = d / 16;
            assert!(d / 2 + poll * 2 + read * 2 < deadline, "{secs}s: renewals every {:?} outlast {deadline:?}", d / 2);
        }
    }

    #[test]
    fn event_actions_differ_when_the_failed_checks_do() {
        assert_eq!(event_action("Approve", &[]), "Approve");
        assert_eq!(event_action("Check", &["san-node", "node-exists"]), "Check:san-node,node-exists");
        assert_ne!(event_action("Check", &["requestor"]), event_action("Check", &["requestor", "san-node"]));
        let all = ["pending-conflict"; 20];
        assert_eq!(event_action("Check", &all).len(), 128);
    }

    #[test]
    fn event_notes_name_each_failed_check_within_the_events_api_limit() {
        let short = CheckResult { check: "san-node", passed: false, why: "IP 10.0.0.12 is not on Node n1".into() };
        assert_eq!(note("left pending", &[&short]), "left pending: san-node: IP 10.0.0.12 is not on Node n1");
        let long = CheckResult { check: "request", passed: false, why: "é".repeat(2000) };
        let n = note("denied", &[&short, &long]);
        assert!(n.len() <= 1024 && n.ends_with("...") && n.contains("san-node"), "{} bytes", n.len());
    }

    #[test]
    fn latency_is_measured_from_the_creation_timestamp() {
        let mut csr = CertificateSigningRequest::default();
        assert_eq!(age_seconds(&csr), 0.0, "no timestamp: 0");
        let ten_ago = time::OffsetDateTime::now_utc() - time::Duration::seconds(10);
        let text = ten_ago.format(&time::format_description::well_known::Rfc3339).unwrap();
        csr.metadata.creation_timestamp = serde_json::from_value(serde_json::json!(text)).unwrap();
        let age = age_seconds(&csr);
        assert!((9.0..12.0).contains(&age), "{age}");
    }
}
