//! Discovery: can this node trust the control plane? (kubeadm's
//! `cmd/kubeadm/app/discovery/{token,file}`, spec sections 2 and 4.)
//!
//! Token discovery, stage by stage: `input`, `resolve`, `connect`, `tls-handshake`,
//! `http-get` (anonymous GET of cluster-info; no credential exists in that code path),
//! `cluster-info`, `jws-present`, `jws-verify` (over the raw kubeconfig text, before it is
//! parsed), `kubeconfig` (parsed only now, data only, https only), `ca-pin`, `ca-validity`,
//! `tls-verify` (the recorded chain of the same connection against the discovered CA and the
//! endpoint's name), `clock` (the server's `Date` against the local clock). One TCP connection,
//! one TLS handshake.
//!
//! The data moves through types that say how far it is trusted: [`UntrustedClusterInfo`] is
//! what the network or a file gave; only [`check_cluster_info`] turns it into an
//! [`AuthenticatedClusterInfo`] (JWS and pin, or the explicit unsafe skip, passed), and only the
//! `tls-verify` stage turns that into a [`TrustedClusterInfo`], the one value the TLS bootstrap
//! accepts before it sends the bootstrap token. Their fields are private; this module is the only
//! place that constructs them.
//!
//! File discovery verifies the server with the file's CA during the TLS handshake
//! (`client::fetch_verified`) and only then presents the file's credentials.

//!
//! Layout: [`cluster_info`] holds the pure trust rules (the cluster-info path, the JWS key, the
//! signed token IDs, CA data to pins, CA validity, and the three trust types with their only
//! constructors); `token` runs token discovery over the network (with `--wait` retries through
//! `crate::client::retry`); `file` runs file discovery; this module holds the options, the
//! stage table and the offline check of a saved cluster-info.

pub mod cluster_info;
mod file;
mod token;

pub use cluster_info::{
    check_cluster_info, AuthenticatedClusterInfo, TrustedBy, TrustedClusterInfo, UntrustedClusterInfo,
};
pub(crate) use cluster_info::{jws_key, CLUSTER_INFO_PATH};
pub(crate) use token::run_token_with_wait;

use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use crate::pin::PinSet;
use crate::report::Report;
use crate::token::BootstrapToken;
use std::path::PathBuf;
use std::time::Duration;

/// Warn above this clock difference (the fail threshold is `--max-clock-skew`).
pub(crate) const CLOCK_WARN: Duration = Duration::from_secs(30);

crate::stages! {
    /// Every stage of discovery (token discovery, the offline check of a saved cluster-info,
    /// file discovery). Each run goes through one flow: [`NETWORK_STAGES`], [`FILE_STAGES`] or
    /// [`DISCOVERY_FILE_STAGES`].
    pub enum DiscoveryStage {
        /// The token, the pins and the source are checked.
        Input = "input",
        /// A saved cluster-info file is read.
        Read = "read",
        /// File discovery: the discovery kubeconfig is read (a path or an https URL).
        DiscoveryFile = "discovery-file",
        /// The endpoint's name is resolved.
        Resolve = "resolve",
        /// TCP connect.
        Connect = "connect",
        /// TLS handshake (the chain is recorded).
        TlsHandshake = "tls-handshake",
        /// The GET of cluster-info.
        HttpGet = "http-get",
        /// The answer is a cluster-info ConfigMap.
        ClusterInfo = "cluster-info",
        /// The token's `jws-kubeconfig-<id>` key is there and not empty.
        JwsPresent = "jws-present",
        /// The JWS verifies over the raw kubeconfig text.
        JwsVerify = "jws-verify",
        /// cluster-info's kubeconfig parses (data only, https only).
        Kubeconfig = "kubeconfig",
        /// A CA matches a pin (or the unsafe skip was given).
        CaPin = "ca-pin",
        /// The CA is valid now.
        CaValidity = "ca-validity",
        /// The serving certificate chains to the discovered CA and is valid for the endpoint.
        TlsVerify = "tls-verify",
        /// The local clock against the server's `Date`.
        Clock = "clock",
        /// File discovery: credentials for the TLS bootstrap exist.
        TlsBootstrapCredentials = "tls-bootstrap-credentials",
    }
}

use DiscoveryStage as S;

/// Every stage of token discovery over the network, in order.
pub const NETWORK_STAGES: &[DiscoveryStage] = &[
    S::Input,
    S::Resolve,
    S::Connect,
    S::TlsHandshake,
    S::HttpGet,
    S::ClusterInfo,
    S::JwsPresent,
    S::JwsVerify,
    S::Kubeconfig,
    S::CaPin,
    S::CaValidity,
    S::TlsVerify,
    S::Clock,
];
/// Every stage of the offline check of a saved cluster-info.
pub const FILE_STAGES: &[DiscoveryStage] =
    &[S::Input, S::Read, S::ClusterInfo, S::JwsPresent, S::JwsVerify, S::Kubeconfig, S::CaPin, S::CaValidity];
/// Every stage of file discovery.
pub const DISCOVERY_FILE_STAGES: &[DiscoveryStage] = &[
    S::Input,
    S::DiscoveryFile,
    S::Resolve,
    S::Connect,
    S::TlsHandshake,
    S::TlsVerify,
    S::HttpGet,
    S::ClusterInfo,
    S::Kubeconfig,
    S::CaValidity,
    S::Clock,
    S::TlsBootstrapCredentials,
];

/// The stage names of a flow, in order (what a report of that flow lists).
pub fn flow_names(flow: &[DiscoveryStage]) -> Vec<&'static str> {
    use crate::report::StageId;
    flow.iter().map(|s| s.name()).collect()
}

/// Where discovery reads cluster-info from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Token discovery against `host:port`.
    Endpoint(Endpoint),
    /// A saved cluster-info ConfigMap (JSON or YAML; `-` is stdin), checked offline.
    ClusterInfoFile(PathBuf),
    /// File discovery: a kubeconfig path or an `https://` URL.
    DiscoveryFile(String),
}

/// How the CA is to be trusted.
#[derive(Debug, Clone)]
pub enum Trust {
    /// At least one pin; the CA must match one of them.
    Pinned(PinSet),
    /// `--discovery-token-unsafe-skip-ca-verification`: anything the JWS vouches for.
    UnsafeSkip,
}

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to read cluster-info.
    pub source: Source,
    /// The bootstrap token (required for token discovery and `--cluster-info-file`).
    pub token: Option<BootstrapToken>,
    /// The CA trust (None: neither pins nor the unsafe flag were given).
    pub trust: Option<Trust>,
    /// TCP connect bound, and separately the TLS handshake bound.
    pub connect_timeout: Duration,
    /// Bound for one whole attempt.
    pub timeout: Duration,
    /// Retry retryable failures for this long (`--wait`).
    pub wait: Option<Duration>,
    /// Fail above this difference between the local clock and the server's `Date`.
    pub max_clock_skew: Duration,
    /// `--tls-bootstrap-token` for file discovery.
    pub tls_bootstrap_token: Option<BootstrapToken>,
    /// Print retry attempts to stderr.
    pub verbose_attempts: bool,
}

/// Runs discovery as `opts` says and returns the report (never panics on bad input).
pub async fn run(opts: &Options) -> Report {
    match &opts.source {
        Source::ClusterInfoFile(p) => run_cluster_info_file(opts, p),
        Source::DiscoveryFile(f) => file::run_discovery_file(opts, f).await,
        Source::Endpoint(ep) => run_token_with_wait(opts, ep).await.0,
    }
}

fn input_stage(report: &mut Report, opts: &Options) -> Option<(BootstrapToken, Trust)> {
    report.start();
    let Some(token) = opts.token.clone() else {
        report.fail(
            Failure::new(
                Code::BadTokenFormat,
                S::Input,
                "expected a bootstrap token from --token, --token-file or JOINKIT_TOKEN; none was given",
            )
            .kubeadm("the bootstrap token \"\" was not of the form \"\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z\"")
            .cause("token discovery needs the bootstrap token")
            .fix("pass --token-file FILE or set JOINKIT_TOKEN (keeps the secret out of argv), or --token ID.SECRET"),
        );
        return None;
    };
    let Some(trust) = opts.trust.clone() else {
        report.fail(
            Failure::new(Code::NoPins, S::Input, "expected --discovery-token-ca-cert-hash or --discovery-token-unsafe-skip-ca-verification; got neither")
                .kubeadm("using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")
                .cause("without a CA pin the node cannot tell the real control plane from an impostor who knows the token")
                .fix("get the pin on a control-plane node with `joinkit ca-hash /etc/kubernetes/pki/ca.crt` and pass --discovery-token-ca-cert-hash sha256:..."),
        );
        return None;
    };
    let what = match &trust {
        Trust::Pinned(s) => format!("{} pin(s)", s.pins().len()),
        Trust::UnsafeSkip => "CA pinning skipped (unsafe)".into(),
    };
    report.pass(S::Input, format!("token {}, {what}", token.redacted()));
    Some((token, trust))
}

fn run_cluster_info_file(opts: &Options, path: &std::path::Path) -> Report {
    let mut report = Report::new("verify-discovery");
    let Some((token, trust)) = input_stage(&mut report, opts) else {
        report.skip_rest(FILE_STAGES);
        return report;
    };
    report.start();
    let text = crate::fsutil::read_path_or_stdin(path, crate::fsutil::MAX_INPUT_FILE).and_then(|b| {
        String::from_utf8(b).map_err(|_| crate::fsutil::ReadError::Io {
            path: path.display().to_string(),
            error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        })
    });
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            report.fail(
                Failure::new(Code::InputUnreadable, S::Read, e.to_string())
                    .cause("the path is wrong or not readable")
                    .fix("save it with `kubectl get cm cluster-info -n kube-public -o yaml > cluster-info.yaml`"),
            );
            report.skip_rest(FILE_STAGES);
            return report;
        }
    };
    report.pass(S::Read, format!("{} bytes from {}", text.len(), path.display()));
    report.start();
    let ci = match UntrustedClusterInfo::from_text(&text) {
        Ok(ci) => ci,
        Err(e) => {
            report.fail(
                Failure::new(
                    Code::BadInputFile,
                    S::ClusterInfo,
                    format!("expected a cluster-info ConfigMap (JSON or YAML); {e}"),
                )
                .cause("the file is not the output of `kubectl get cm cluster-info -n kube-public -o json|yaml`")
                .fix("save it again with `kubectl get cm cluster-info -n kube-public -o yaml`"),
            );
            report.skip_rest(FILE_STAGES);
            return report;
        }
    };
    report.pass(S::ClusterInfo, format!("ConfigMap with keys {:?}", ci.keys()));
    match check_cluster_info(&mut report, &ci, &token, &trust, None) {
        Ok(t) => {
            summarise(&mut report, &t, None);
            report.line("OK: this cluster-info is signed by the token and its CA is trusted (checked offline; no network stages ran).");
        }
        Err(f) => report.fail(f),
    }
    report.skip_rest(FILE_STAGES);
    report
}

fn summarise(report: &mut Report, t: &AuthenticatedClusterInfo, endpoint: Option<&Endpoint>) {
    report.set("apiServer", t.api_server());
    report.set("trust", if t.matched_pin().is_some() { "pinned" } else { "unsafe-skip" });
    report.set("ca", t.ca());
    report.set("caPin", t.matched_pin().map(str::to_string).unwrap_or_else(|| t.ca()[0].pin.clone()));
    report.set("signedTokenIds", t.signed_token_ids());
    let ca = t.matched_pin().and_then(|p| t.ca().iter().find(|c| c.pin == p)).unwrap_or(&t.ca()[0]);
    let mut api = format!("API server: {}", t.api_server());
    if let Some(ep) = endpoint {
        let differs = Endpoint::from_server_url(t.api_server()).map(|s| &s != ep).unwrap_or(true);
        report.set("endpoint", ep.to_string());
        report.set("apiServerDiffers", differs);
        if differs {
            api.push_str(&format!(
                " (differs from the endpoint {ep} you gave: the kubelet will use {})",
                t.api_server()
            ));
        }
    }
    report.line(api);
    report.line(format!("CA: {} {} valid {} to {}", ca.pin, ca.subject, ca.not_before, ca.not_after));
}
