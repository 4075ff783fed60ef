//! Token discovery over the network (kubeadm's `cmd/kubeadm/app/discovery/token`, spec
//! section 2): one anonymous GET of cluster-info over one connection ([`client::fetch_unverified`]),
//! the trust checks of [`super::cluster_info`], then the recorded chain against the discovered CA
//! and the server's clock; `--wait` retries the retryable failures ([`Code::is_retryable`](crate::error::Code::is_retryable)).

use super::cluster_info::{check_cluster_info, verify_serving, UntrustedClusterInfo, CLUSTER_INFO_PATH};
use super::{input_stage, summarise, DiscoveryStage as S, Options, TrustedClusterInfo, CLOCK_WARN, NETWORK_STAGES};
use crate::client::retry::{Policy, Retry};
use crate::client::{self, FetchOptions};
use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use crate::report::Report;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

/// Token discovery with `--wait` retries ([`Policy::discovery`]: the retryable failures,
/// [`Code::is_retryable`](crate::error::Code::is_retryable), for the `--wait` budget); also
/// returns the trusted cluster-info on success (for the commands that go on, like bootstrap).
pub(crate) async fn run_token_with_wait(opts: &Options, ep: &Endpoint) -> (Report, Option<TrustedClusterInfo>) {
    let mut retry = Retry::new(Policy::discovery(opts.wait.unwrap_or_default()));
    // On a terminal, after a second: what is being waited for (report::progress).
    let progress = crate::report::progress::Progress::start(match opts.wait {
        Some(w) => {
            format!("discovery: fetching cluster-info from {ep} (retrying for up to {})", crate::duration::format(w))
        }
        None => format!("discovery: fetching cluster-info from {ep}"),
    });
    loop {
        let (mut report, trusted) = run_token_once(opts, ep).await;
        let retryable = opts.wait.is_some() && report.code().is_some_and(|c| c.is_retryable());
        let attempt = retry.attempts();
        let Some(pause) = retry.pause_after(retryable, None) else {
            if attempt > 1 {
                report.set("attempts", attempt);
            }
            return (report, trusted);
        };
        if let Some(f) = report.failure() {
            progress.set_message(format!(
                "discovery at {ep}: attempt {attempt} failed with {}; retrying ({:.0}s of --wait left)",
                f.code,
                retry.left().as_secs_f64()
            ));
            if opts.verbose_attempts {
                progress.println(format!(
                    "joinkit: attempt {attempt} failed: {} at {}: {}; retrying in {:.1}s ({:.0}s of --wait left)",
                    f.code,
                    f.stage,
                    f.message,
                    pause.as_secs_f64(),
                    retry.left().as_secs_f64()
                ));
            }
        }
        tokio::time::sleep(pause).await;
    }
}

async fn run_token_once(opts: &Options, ep: &Endpoint) -> (Report, Option<TrustedClusterInfo>) {
    let mut report = Report::new("verify-discovery");
    let Some((token, trust)) = input_stage(&mut report, opts) else {
        report.skip_rest(NETWORK_STAGES);
        return (report, None);
    };
    let fetch_opts = FetchOptions {
        connect_timeout: opts.connect_timeout,
        deadline: Instant::now() + opts.timeout,
        what: super::cluster_info::CLUSTER_INFO_REQUEST,
    };
    // Anonymous by construction: fetch_unverified has no way to send a credential.
    let fetched = match client::fetch_unverified(&mut report, ep, CLUSTER_INFO_PATH, fetch_opts).await {
        Ok(f) => f,
        Err(f) => {
            report.fail(f);
            report.skip_rest(NETWORK_STAGES);
            return (report, None);
        }
    };
    let skew = fetched.date().map(skew_seconds);
    let result = cluster_info_from_response(
        &mut report,
        fetched.status(),
        fetched.untrusted_body(),
        ep,
        super::cluster_info::KUBEADM_PREFIX,
    )
    .and_then(|ci| check_cluster_info(&mut report, &ci, &token, &trust, skew))
    .and_then(|auth| {
        let trusted = verify_serving(&mut report, &fetched, auth, ep)?;
        clock_stage(&mut report, fetched.date(), opts.max_clock_skew)?;
        Ok(trusted)
    });
    let trusted = match result {
        Ok(t) => {
            summarise(&mut report, t.authenticated(), Some(ep));
            report.line("OK: this node can trust the control plane (discovery would succeed).");
            Some(t)
        }
        Err(f) => {
            report.fail(f);
            None
        }
    };
    report.skip_rest(NETWORK_STAGES);
    (report, trusted)
}

/// Local clock minus the server's `Date`, in seconds (positive: this node is ahead).
pub(super) fn skew_seconds(server: SystemTime) -> i64 {
    let now = SystemTime::now();
    match now.duration_since(server) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Reads the answer to the cluster-info GET: the HTTP status (`cluster-info-forbidden`,
/// `cluster-info-not-found`, `cluster-info-http-error`) and a ConfigMap body. Quoted server
/// text is shortened and redacted.
///
/// `kubeadm_prefix` is what kubeadm wraps the failed GET in: token discovery's
/// [`super::cluster_info::KUBEADM_PREFIX`] (client-go's error for a Status answer is the
/// Status's message), "" where kubeadm's wording differs (file discovery).
pub(super) fn cluster_info_from_response(
    report: &mut Report,
    status: u16,
    body: &[u8],
    ep: &Endpoint,
    kubeadm_prefix: &str,
) -> Result<UntrustedClusterInfo, Failure> {
    report.start();
    let url = format!("{}{}", ep.url(), CLUSTER_INFO_PATH);
    let status_msg = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let status_msg = crate::redact::truncate(&crate::redact::redact(&status_msg), 300);
    match status {
        200 => {}
        401 => {
            return Err(Failure::new(
                Code::ClusterInfoForbidden,
                S::ClusterInfo,
                format!("expected the anonymous GET of cluster-info to be allowed; HTTP 401: {status_msg}"),
            )
            .kubeadm(format!("{kubeadm_prefix}failed to request the cluster-info ConfigMap: Unauthorized (GET {url})"))
            .cause("the API server runs with --anonymous-auth=false, so the unauthenticated discovery request is rejected")
            .fix("enable anonymous auth on kube-apiserver (--anonymous-auth=true, the kubeadm default; RBAC still limits what anonymous can read), or use file discovery (--discovery-file)"))
        }
        403 => {
            return Err(Failure::new(
                Code::ClusterInfoForbidden,
                S::ClusterInfo,
                format!("expected the anonymous GET of cluster-info to be allowed; HTTP 403: {status_msg}"),
            )
            .kubeadm(format!("{kubeadm_prefix}failed to request the cluster-info ConfigMap: {status_msg}"))
            .cause("the RBAC Role/RoleBinding kubeadm:bootstrap-signer-clusterinfo in kube-public that lets system:anonymous get cluster-info is missing")
            .fix("on a control-plane node: `kubeadm init phase bootstrap-token` recreates it; or `kubectl -n kube-public create role kubeadm:bootstrap-signer-clusterinfo --verb=get --resource=configmaps --resource-name=cluster-info && kubectl -n kube-public create rolebinding kubeadm:bootstrap-signer-clusterinfo --role=kubeadm:bootstrap-signer-clusterinfo --user=system:anonymous`"))
        }
        404 => {
            return Err(Failure::new(
                Code::ClusterInfoNotFound,
                S::ClusterInfo,
                format!("expected a ConfigMap cluster-info in kube-public; HTTP 404: {status_msg}"),
            )
            .kubeadm(format!("{kubeadm_prefix}failed to request the cluster-info ConfigMap: configmaps \"cluster-info\" not found"))
            .cause("the cluster was not created by kubeadm, `kubeadm init phase bootstrap-token` never ran, or cluster-info was deleted")
            .fix("on a control-plane node run `kubeadm init phase bootstrap-token` (it recreates cluster-info and its RBAC), or use file discovery (--discovery-file)"))
        }
        s => {
            return Err(Failure::new(
                Code::ClusterInfoHttpError,
                S::ClusterInfo,
                format!("expected HTTP 200 for cluster-info; got HTTP {s}: {status_msg}"),
            )
            .kubeadm(format!("{kubeadm_prefix}failed to request the cluster-info ConfigMap: {status_msg}"))
            .cause(if s == 429 || s >= 500 { "the API server is overloaded or unhealthy (or a proxy in front of it fails)" } else { "the endpoint is not a kube-apiserver, or a proxy rewrites the request" })
            .fix("check `curl -k https://ENDPOINT/readyz?verbose` and the API server's logs; retry with --wait"))
        }
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        Failure::new(
            Code::KubeconfigInvalid,
            S::ClusterInfo,
            format!("expected a JSON ConfigMap; the body does not parse: {e}"),
        )
        .cause("the endpoint is not a kube-apiserver, or a proxy rewrote the answer")
        .fix("check what answers on the endpoint")
    })?;
    let ci = UntrustedClusterInfo::from_value(&v).map_err(|e| {
        Failure::new(Code::KubeconfigInvalid, S::ClusterInfo, format!("expected a ConfigMap; {e}"))
            .cause("the endpoint is not a kube-apiserver, or a proxy rewrote the answer")
            .fix("check what answers on the endpoint")
    })?;
    report.pass(S::ClusterInfo, format!("ConfigMap cluster-info read anonymously, keys {:?}", ci.keys()));
    Ok(ci)
}

/// `tls-verify`: the chain recorded on the cluster-info connection must chain to the CA that
pub(super) fn clock_stage(report: &mut Report, date: Option<SystemTime>, max: Duration) -> Result<(), Failure> {
    report.start();
    let Some(d) = date else {
        report.skip(S::Clock, "the server sent no Date header");
        return Ok(());
    };
    let skew = skew_seconds(d);
    report.set("clockSkewSeconds", skew);
    let abs = Duration::from_secs(skew.unsigned_abs());
    let dir = if skew > 0 { "ahead of" } else { "behind" };
    if abs > max {
        return Err(Failure::new(
            Code::ClockSkew,
            S::Clock,
            format!("expected the local clock within {} of the API server's; it is {} s {dir} it", crate::duration::format(max), skew.abs()),
        )
        .kubeadm("x509: certificate has expired or is not yet valid")
        .cause("this node's clock is wrong (no NTP, a fresh VM with a bad RTC); certificates issued during the TLS bootstrap will look not yet valid or expired")
        .fix("enable time sync (`timedatectl set-ntp true`, chrony) and retry"));
    }
    if abs > CLOCK_WARN {
        report.warn(S::Clock, format!("local clock is {} s {dir} the API server's", skew.abs()));
    } else {
        report.pass(S::Clock, format!("local clock within {} s of the API server's", skew.abs()));
    }
    Ok(())
}
