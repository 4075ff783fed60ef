//! Discovery: can this node trust the control plane? (kubeadm's
//! `cmd/kubeadm/app/discovery/{token,file}`, spec sections 2 and 4.)
//!
//! Token discovery, stage by stage: `input`, `resolve`, `connect`, `tls-handshake`,
//! `http-get` (anonymous GET of cluster-info; the token is never sent), `cluster-info`,
//! `kubeconfig`, `jws-present`, `jws-verify`, `ca-pin`, `ca-validity`, `tls-verify` (the
//! recorded chain of the same connection against the discovered CA and the endpoint's name),
//! `clock` (the server's `Date` against the local clock). One TCP connection, one TLS handshake.
//!
//! The data moves through types that say how far it is trusted: [`UntrustedClusterInfo`] is
//! what the network or a file gave; only [`check_cluster_info`] turns it into a
//! [`TrustedClusterInfo`], after the JWS and the pin (or the explicit unsafe skip) passed.

use crate::client::{self, Credentials, FetchOptions, Fetched};
use crate::endpoint::{self, Endpoint};
use crate::error::{Code, Failure};
use crate::jws;
use crate::kubeconfig::Kubeconfig;
use crate::pin::{self, CertInfo, Pin, PinSet};
use crate::report::Report;
use crate::token::BootstrapToken;
use rustls::pki_types::CertificateDer;
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// The cluster-info path (spec section 2.1).
pub const CLUSTER_INFO_PATH: &str = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
/// Prefix kubeadm puts before identity errors.
pub const KUBEADM_PREFIX: &str = "couldn't validate the identity of the API Server: ";
/// Warn above this clock difference (the fail threshold is `--max-clock-skew`).
pub const CLOCK_WARN: Duration = Duration::from_secs(30);

/// Every stage of token discovery over the network, in order.
pub const NETWORK_STAGES: &[&str] = &[
    "input",
    "resolve",
    "connect",
    "tls-handshake",
    "http-get",
    "cluster-info",
    "kubeconfig",
    "jws-present",
    "jws-verify",
    "ca-pin",
    "ca-validity",
    "tls-verify",
    "clock",
];
/// Every stage of the offline check of a saved cluster-info.
pub const FILE_STAGES: &[&str] =
    &["input", "read", "cluster-info", "kubeconfig", "jws-present", "jws-verify", "ca-pin", "ca-validity"];
/// Every stage of file discovery.
pub const DISCOVERY_FILE_STAGES: &[&str] = &[
    "input",
    "discovery-file",
    "resolve",
    "connect",
    "tls-handshake",
    "tls-verify",
    "http-get",
    "cluster-info",
    "kubeconfig",
    "ca-validity",
    "clock",
    "tls-bootstrap-credentials",
];

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

/// A cluster-info ConfigMap as received: nothing in it is trusted yet.
#[derive(Debug, Clone)]
pub struct UntrustedClusterInfo {
    /// The ConfigMap's `data`.
    pub data: serde_json::Map<String, Value>,
}

/// A cluster-info whose kubeconfig passed the JWS check and the CA pin (or the unsafe skip).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedClusterInfo {
    /// The API server URL in cluster-info: the one the kubelet will use.
    pub api_server: String,
    /// The CA certificates, in bundle order.
    pub ca: Vec<CertInfo>,
    /// The pin that matched (None with the unsafe skip).
    pub matched_pin: Option<String>,
    /// `pinned` or `unsafe-skip`.
    pub trust: String,
    /// Token IDs with a signature in cluster-info.
    pub signed_token_ids: Vec<String>,
    /// The CA certificates, DER (for TLS verification).
    #[serde(skip)]
    pub ca_der: Vec<CertificateDer<'static>>,
    /// The raw kubeconfig text.
    #[serde(skip)]
    pub kubeconfig: String,
}

impl UntrustedClusterInfo {
    /// Reads a ConfigMap from JSON or YAML (as `kubectl get cm cluster-info -n kube-public -o
    /// json|yaml` prints it). Errors describe what is wrong.
    pub fn from_text(text: &str) -> Result<Self, String> {
        let v: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
        } else {
            serde_saphyr::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?
        };
        Self::from_value(&v)
    }

    /// Reads a ConfigMap object.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ConfigMap" {
            return Err(format!("expected kind ConfigMap, found {:?}", if kind.is_empty() { "(none)" } else { kind }));
        }
        let data = match v.get("data") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(_) => return Err("data is not a map of strings".into()),
        };
        Ok(UntrustedClusterInfo { data })
    }

    fn signed_ids(&self) -> Vec<String> {
        self.data.keys().filter_map(|k| k.strip_prefix("jws-kubeconfig-").map(str::to_string)).collect()
    }
}

fn kubeadm_msg(s: impl AsRef<str>) -> String {
    format!("{KUBEADM_PREFIX}{}", s.as_ref())
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// cluster-info's `kubeconfig`, parsed: the raw text, the server and the CA bundle.
struct ParsedKubeconfig {
    kubeconfig: String,
    server: String,
    ca_der: Vec<CertificateDer<'static>>,
    ca: Vec<CertInfo>,
}

/// Reads cluster-info's `kubeconfig` key (`kubeconfig-missing`, `kubeconfig-invalid`).
fn parse_kubeconfig(ci: &UntrustedClusterInfo) -> Result<ParsedKubeconfig, Failure> {
    let Some(kc_value) = ci.data.get("kubeconfig") else {
        return Err(Failure::new(
            Code::KubeconfigMissing,
            "kubeconfig",
            format!("expected a kubeconfig key in cluster-info; its keys are {:?}", ci.data.keys().collect::<Vec<_>>()),
        )
        .kubeadm(kubeadm_msg(
            "there is no kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up for token bootstrapping, can't connect",
        ))
        .cause("the cluster was not set up by kubeadm, or `kubeadm init phase bootstrap-token` did not run, or someone edited cluster-info")
        .fix("on a control-plane node run `kubeadm init phase bootstrap-token` (it recreates cluster-info), then retry"));
    };
    let invalid = |seen: String| {
        Failure::new(
            Code::KubeconfigInvalid,
            "kubeconfig",
            format!("expected a kubeconfig with one cluster, a server and CA data; {seen}"),
        )
        .kubeadm(kubeadm_msg("couldn't read the kubeconfig from the cluster-info ConfigMap"))
        .cause("cluster-info's kubeconfig was edited by hand or written by a tool that is not kubeadm")
        .fix("regenerate it with `kubeadm init phase bootstrap-token` on a control-plane node")
    };
    let Some(kubeconfig) = kc_value.as_str() else {
        return Err(invalid("the kubeconfig value is not a string".into()));
    };
    let kc = Kubeconfig::parse(kubeconfig).map_err(|e| invalid(format!("it does not parse: {e}")))?;
    let cluster = kc.cluster(None).map_err(&invalid)?;
    let server = cluster.cluster.server.clone();
    if server.is_empty() {
        return Err(invalid("the cluster has no server".into()));
    }
    let ca_bytes = kc
        .ca_bytes(&cluster.cluster)
        .map_err(&invalid)?
        .ok_or_else(|| invalid("the cluster has no certificate-authority-data".into()))?;
    let ca_der = pin::read_certificates(&ca_bytes, "cluster-info CA").map_err(|f| invalid(f.message))?;
    let ca: Vec<CertInfo> = ca_der
        .iter()
        .map(|c| pin::inspect(c.as_ref(), "cluster-info CA"))
        .collect::<Result<_, _>>()
        .map_err(|f| invalid(f.message))?;
    Ok(ParsedKubeconfig { kubeconfig: kubeconfig.to_string(), server, ca_der, ca })
}

/// Checks a cluster-info: `kubeconfig`, `jws-present`, `jws-verify`, `ca-pin`, `ca-validity`.
/// Records each stage in `report`. `skew` (local minus server, seconds) refines clock-related
/// advice when known.
pub fn check_cluster_info(
    report: &mut Report,
    ci: &UntrustedClusterInfo,
    token: &BootstrapToken,
    trust: &Trust,
    skew: Option<i64>,
) -> Result<TrustedClusterInfo, Failure> {
    // kubeconfig
    report.start();
    let ParsedKubeconfig { kubeconfig, server, ca_der, ca } = parse_kubeconfig(ci)?;
    let kubeconfig = kubeconfig.as_str();
    report.pass("kubeconfig", format!("server {server}, {} CA certificate(s)", ca.len()));

    // jws-present
    report.start();
    let key = format!("jws-kubeconfig-{}", token.id());
    let signed = ci.signed_ids();
    let sig = match ci.data.get(&key) {
        None => {
            let others = if signed.is_empty() {
                "no token at all is signed in cluster-info: every token has expired or been deleted, or the bootstrapsigner (kube-controller-manager) is not running".to_string()
            } else {
                format!("signed token IDs are {signed:?}, so the bootstrapsigner works and this token is the problem")
            };
            return Err(Failure::new(
                Code::JwsMissing,
                "jws-present",
                format!("expected a key {key} in cluster-info; there is none ({others})"),
            )
            .kubeadm(kubeadm_msg(format!(
                "could not find a JWS signature in the cluster-info ConfigMap for token ID {:?}",
                token.id()
            )))
            .cause(format!(
                "token {} expired (kubeadm's default TTL is 24h) and the tokencleaner deleted it, or it was deleted, or it lacks the \"signing\" usage, or the bootstrapsigner controller is not running; {others}. kubeadm would retry for its whole discovery timeout (5 min) before saying this",
                token.id()
            ))
            .fix("create a new token on a control-plane node: `joinkit token create --print-join-command` (or `kubeadm token create --print-join-command`); check `kubeadm token list` and that kube-controller-manager is running"));
        }
        Some(v) => v.as_str().unwrap_or(""),
    };
    if sig.is_empty() {
        return Err(Failure::new(Code::JwsEmpty, "jws-present", format!("expected a signature in {key}; the value is empty"))
            .kubeadm(kubeadm_msg(format!(
                "token id {:?} is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token",
                token.id()
            )))
            .cause("the bootstrapsigner wrote an empty signature, or cluster-info was edited by hand")
            .fix("create a new token (`joinkit token create` / `kubeadm token create`); if it persists, restart kube-controller-manager"));
    }
    report.pass("jws-present", format!("{key} present ({} token(s) signed)", signed.len()));

    // jws-verify
    report.start();
    if let Err(e) = jws::verify(kubeconfig, sig, token.id(), token.secret()) {
        return Err(Failure::new(
            Code::JwsInvalid,
            "jws-verify",
            format!("expected the JWS in {key} to verify with the token secret over cluster-info's kubeconfig; {e}"),
        )
        .kubeadm(kubeadm_msg("failed to verify JWS signature of received cluster info object, can't trust this API Server"))
        .cause("the token secret is wrong (a typo, or an old token whose ID was reused), or cluster-info was modified after it was signed (someone in the middle)")
        .fix("check the token secret (`kubeadm token list` on a control-plane node shows the tokens), or create a new token with `joinkit token create`"));
    }
    report.pass(
        "jws-verify",
        format!("HS256 signature by token {} verifies over {} bytes of kubeconfig", token.id(), kubeconfig.len()),
    );

    // ca-pin
    report.start();
    let seen: Vec<Pin> = ca.iter().map(|c| Pin::parse(&c.pin).expect("computed pins are well-formed")).collect();
    let (matched_pin, trust_name) = match trust {
        Trust::UnsafeSkip => {
            report.warn(
                "ca-pin",
                format!(
                    "UNSAFE: the CA was NOT pinned (--discovery-token-unsafe-skip-ca-verification); anyone who knows the token can impersonate this control plane. Pin it next time: --discovery-token-ca-cert-hash {}",
                    seen.iter().map(Pin::as_str).collect::<Vec<_>>().join(" --discovery-token-ca-cert-hash ")
                ),
            );
            (None, "unsafe-skip")
        }
        Trust::Pinned(set) => match set.find_match(&seen) {
            Some(p) => {
                report.pass(
                    "ca-pin",
                    format!("CA {} matches a pin ({p})", ca[seen.iter().position(|s| s == p).unwrap_or(0)].subject),
                );
                (Some(p.to_string()), "pinned")
            }
            None => {
                let seen_s: Vec<&str> = seen.iter().map(Pin::as_str).collect();
                return Err(Failure::new(
                    Code::PinMismatch,
                    "ca-pin",
                    format!(
                        "expected a CA matching one of {:?}; cluster-info's CA has pin(s) {:?}",
                        set.pins().iter().map(Pin::as_str).collect::<Vec<_>>(),
                        seen_s
                    ),
                )
                .kubeadm(kubeadm_msg(format!(
                    "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys {:?} are pinned",
                    seen_s.join(":")
                )))
                .cause("the pin belongs to another cluster (or an old CA), was copied wrongly, or this endpoint is not the control plane you meant (a man in the middle who knows the token)")
                .fix(format!(
                    "compare with `joinkit ca-hash /etc/kubernetes/pki/ca.crt` on a control-plane node; if this really is your cluster, its pin is {}",
                    seen_s.join(" or ")
                )));
            }
        },
    };

    // ca-validity
    report.start();
    let now = now_unix();
    let relevant: Vec<&CertInfo> = match &matched_pin {
        Some(p) => ca.iter().filter(|c| &c.pin == p).collect(),
        None => ca.iter().collect(),
    };
    let bad: Vec<(&CertInfo, &str)> =
        relevant.iter().filter_map(|c| c.validity_problem(now).map(|p| (*c, p))).collect();
    let clock_note = skew
        .filter(|s| s.unsigned_abs() > CLOCK_WARN.as_secs())
        .map(|s| format!(" This node's clock differs from the API server's by {s} s, which is the likely reason."))
        .unwrap_or_default();
    if !bad.is_empty() && bad.len() == relevant.len() {
        let (c, problem) = bad[0];
        let (code, cause, fix) = if problem == "expired" {
            (
                Code::CaExpired,
                format!("the cluster CA {} expired at {} (kubeadm CAs last 10 years), or this node's clock is far ahead.{clock_note}", c.subject, c.not_after),
                "renew the cluster CA (a planned CA rotation) or fix this node's clock (`timedatectl`, chrony/NTP)".to_string(),
            )
        } else {
            (
                Code::CaNotYetValid,
                format!(
                    "this node's clock is behind: the CA {} is valid from {}.{clock_note}",
                    c.subject, c.not_before
                ),
                "fix this node's clock (`timedatectl set-ntp true`, chrony/NTP), then retry".to_string(),
            )
        };
        return Err(Failure::new(
            code,
            "ca-validity",
            format!("expected the CA to be valid now; it is {problem} (valid {} to {})", c.not_before, c.not_after),
        )
        .kubeadm("x509: certificate has expired or is not yet valid")
        .cause(cause)
        .fix(fix));
    }
    if bad.is_empty() {
        let c = relevant[0];
        report.pass("ca-validity", format!("CA valid from {} to {}", c.not_before, c.not_after));
    } else {
        report.warn(
            "ca-validity",
            format!(
                "{} CA certificate(s) in the bundle are expired or not yet valid; at least one is valid",
                bad.len()
            ),
        );
    }
    if let Some(c) = relevant.iter().find(|c| !c.is_ca) {
        report.warnings.push(format!("ca-validity: {} is not marked as a CA (basicConstraints CA:FALSE)", c.subject));
    }

    Ok(TrustedClusterInfo {
        api_server: server,
        ca,
        matched_pin,
        trust: trust_name.into(),
        signed_token_ids: signed,
        ca_der,
        kubeconfig: kubeconfig.to_string(),
    })
}

/// Runs discovery as `opts` says and returns the report (never panics on bad input).
pub async fn run(opts: &Options) -> Report {
    match &opts.source {
        Source::ClusterInfoFile(p) => run_cluster_info_file(opts, p),
        Source::DiscoveryFile(f) => run_discovery_file(opts, f).await,
        Source::Endpoint(ep) => run_token_with_wait(opts, ep).await.0,
    }
}

fn input_stage(report: &mut Report, opts: &Options) -> Option<(BootstrapToken, Trust)> {
    report.start();
    let Some(token) = opts.token.clone() else {
        report.fail(
            Failure::new(
                Code::BadTokenFormat,
                "input",
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
            Failure::new(Code::NoPins, "input", "expected --discovery-token-ca-cert-hash or --discovery-token-unsafe-skip-ca-verification; got neither")
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
    report.pass("input", format!("token {}, {what}", token.redacted()));
    Some((token, trust))
}

fn run_cluster_info_file(opts: &Options, path: &std::path::Path) -> Report {
    let mut report = Report::new("verify-discovery");
    let Some((token, trust)) = input_stage(&mut report, opts) else {
        report.skip_rest(FILE_STAGES);
        return report;
    };
    report.start();
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
    } else {
        std::fs::read_to_string(path)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            report.fail(
                Failure::new(Code::InputUnreadable, "read", format!("cannot read {}: {e}", path.display()))
                    .cause("the path is wrong or not readable")
                    .fix("save it with `kubectl get cm cluster-info -n kube-public -o yaml > cluster-info.yaml`"),
            );
            report.skip_rest(FILE_STAGES);
            return report;
        }
    };
    report.pass("read", format!("{} bytes from {}", text.len(), path.display()));
    report.start();
    let ci = match UntrustedClusterInfo::from_text(&text) {
        Ok(ci) => ci,
        Err(e) => {
            report.fail(
                Failure::new(
                    Code::BadInputFile,
                    "cluster-info",
                    format!("expected a cluster-info ConfigMap (JSON or YAML); {e}"),
                )
                .cause("the file is not the output of `kubectl get cm cluster-info -n kube-public -o json|yaml`")
                .fix("save it again with `kubectl get cm cluster-info -n kube-public -o yaml`"),
            );
            report.skip_rest(FILE_STAGES);
            return report;
        }
    };
    report.pass("cluster-info", format!("ConfigMap with keys {:?}", ci.data.keys().collect::<Vec<_>>()));
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

fn summarise(report: &mut Report, t: &TrustedClusterInfo, endpoint: Option<&Endpoint>) {
    report.set("apiServer", &t.api_server);
    report.set("trust", &t.trust);
    report.set("ca", &t.ca);
    report.set("caPin", t.matched_pin.clone().unwrap_or_else(|| t.ca[0].pin.clone()));
    report.set("signedTokenIds", &t.signed_token_ids);
    let ca = t.matched_pin.as_ref().and_then(|p| t.ca.iter().find(|c| &c.pin == p)).unwrap_or(&t.ca[0]);
    let mut api = format!("API server: {}", t.api_server);
    if let Some(ep) = endpoint {
        let differs = endpoint::from_server_url(&t.api_server).map(|s| &s != ep).unwrap_or(true);
        report.set("endpoint", ep.to_string());
        report.set("apiServerDiffers", differs);
        if differs {
            api.push_str(&format!(" (differs from the endpoint {ep} you gave: the kubelet will use {})", t.api_server));
        }
    }
    report.line(api);
    report.line(format!("CA: {} {} valid {} to {}", ca.pin, ca.subject, ca.not_before, ca.not_after));
}

/// Token discovery with `--wait` retries; also returns the trusted cluster-info on success
/// (for the commands that go on, like bootstrap).
pub async fn run_token_with_wait(opts: &Options, ep: &Endpoint) -> (Report, Option<TrustedClusterInfo>) {
    let started = Instant::now();
    let mut attempt = 1u32;
    let mut backoff = Duration::from_millis(500);
    loop {
        let (mut report, trusted) = run_token_once(opts, ep).await;
        let retry = match (opts.wait, report.code()) {
            (Some(w), Some(code)) if code.is_retryable() => {
                let left = w.saturating_sub(started.elapsed());
                (!left.is_zero()).then_some(left)
            }
            _ => None,
        };
        let Some(left) = retry else {
            if attempt > 1 {
                report.set("attempts", attempt);
            }
            return (report, trusted);
        };
        let pause = backoff.min(left);
        if opts.verbose_attempts {
            if let Some(f) = &report.failure {
                eprintln!(
                    "joinkit: attempt {attempt} failed: {} at {}: {}; retrying in {:.1}s ({:.0}s of --wait left)",
                    f.code,
                    f.stage,
                    f.message,
                    pause.as_secs_f64(),
                    left.as_secs_f64()
                );
            }
        }
        tokio::time::sleep(pause).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
        attempt += 1;
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
        credentials: Credentials::Anonymous,
        what: "the cluster-info ConfigMap",
    };
    let fetched = match client::fetch(&mut report, ep, CLUSTER_INFO_PATH, fetch_opts).await {
        Ok(f) => f,
        Err(f) => {
            report.fail(f);
            report.skip_rest(NETWORK_STAGES);
            return (report, None);
        }
    };
    let skew = fetched.date.map(skew_seconds);
    let result = cluster_info_from_response(&mut report, &fetched, ep)
        .and_then(|ci| check_cluster_info(&mut report, &ci, &token, &trust, skew))
        .and_then(|t| {
            tls_verify_stage(&mut report, &fetched, &t.ca_der, ep, Some(&t.api_server))?;
            clock_stage(&mut report, fetched.date, opts.max_clock_skew)?;
            Ok(t)
        });
    let trusted = match result {
        Ok(t) => {
            summarise(&mut report, &t, Some(ep));
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
fn skew_seconds(server: SystemTime) -> i64 {
    let now = SystemTime::now();
    match now.duration_since(server) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

fn cluster_info_from_response(
    report: &mut Report,
    f: &Fetched,
    ep: &Endpoint,
) -> Result<UntrustedClusterInfo, Failure> {
    report.start();
    let url = format!("{}{}", ep.url(), CLUSTER_INFO_PATH);
    let status_msg = serde_json::from_slice::<Value>(&f.body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&f.body).chars().take(200).collect());
    match f.status {
        200 => {}
        401 => {
            return Err(Failure::new(
                Code::ClusterInfoForbidden,
                "cluster-info",
                format!("expected the anonymous GET of cluster-info to be allowed; HTTP 401: {status_msg}"),
            )
            .kubeadm(format!("failed to request the cluster-info ConfigMap: Unauthorized (GET {url})"))
            .cause("the API server runs with --anonymous-auth=false, so the unauthenticated discovery request is rejected")
            .fix("enable anonymous auth on kube-apiserver (--anonymous-auth=true, the kubeadm default; RBAC still limits what anonymous can read), or use file discovery (--discovery-file)"))
        }
        403 => {
            return Err(Failure::new(
                Code::ClusterInfoForbidden,
                "cluster-info",
                format!("expected the anonymous GET of cluster-info to be allowed; HTTP 403: {status_msg}"),
            )
            .kubeadm(format!("failed to request the cluster-info ConfigMap: {status_msg}"))
            .cause("the RBAC Role/RoleBinding kubeadm:bootstrap-signer-clusterinfo in kube-public that lets system:anonymous get cluster-info is missing")
            .fix("on a control-plane node: `kubeadm init phase bootstrap-token` recreates it; or `kubectl -n kube-public create role kubeadm:bootstrap-signer-clusterinfo --verb=get --resource=configmaps --resource-name=cluster-info && kubectl -n kube-public create rolebinding kubeadm:bootstrap-signer-clusterinfo --role=kubeadm:bootstrap-signer-clusterinfo --user=system:anonymous`"))
        }
        404 => {
            return Err(Failure::new(
                Code::ClusterInfoNotFound,
                "cluster-info",
                format!("expected a ConfigMap cluster-info in kube-public; HTTP 404: {status_msg}"),
            )
            .kubeadm("failed to request the cluster-info ConfigMap: configmaps \"cluster-info\" not found".to_string())
            .cause("the cluster was not created by kubeadm, `kubeadm init phase bootstrap-token` never ran, or cluster-info was deleted")
            .fix("on a control-plane node run `kubeadm init phase bootstrap-token` (it recreates cluster-info and its RBAC), or use file discovery (--discovery-file)"))
        }
        s => {
            return Err(Failure::new(
                Code::ClusterInfoHttpError,
                "cluster-info",
                format!("expected HTTP 200 for cluster-info; got HTTP {s}: {status_msg}"),
            )
            .kubeadm(format!("failed to request the cluster-info ConfigMap: {status_msg}"))
            .cause(if s == 429 || s >= 500 { "the API server is overloaded or unhealthy (or a proxy in front of it fails)" } else { "the endpoint is not a kube-apiserver, or a proxy rewrites the request" })
            .fix("check `curl -k https://ENDPOINT/readyz?verbose` and the API server's logs; retry with --wait"))
        }
    }
    let v: Value = serde_json::from_slice(&f.body).map_err(|e| {
        Failure::new(
            Code::KubeconfigInvalid,
            "cluster-info",
            format!("expected a JSON ConfigMap; the body does not parse: {e}"),
        )
        .cause("the endpoint is not a kube-apiserver, or a proxy rewrote the answer")
        .fix("check what answers on the endpoint")
    })?;
    let ci = UntrustedClusterInfo::from_value(&v).map_err(|e| {
        Failure::new(Code::KubeconfigInvalid, "cluster-info", format!("expected a ConfigMap; {e}"))
            .cause("the endpoint is not a kube-apiserver, or a proxy rewrote the answer")
            .fix("check what answers on the endpoint")
    })?;
    report.pass(
        "cluster-info",
        format!("ConfigMap cluster-info read anonymously, keys {:?}", ci.data.keys().collect::<Vec<_>>()),
    );
    Ok(ci)
}

fn tls_verify_stage(
    report: &mut Report,
    f: &Fetched,
    roots: &[CertificateDer<'static>],
    ep: &Endpoint,
    api_server: Option<&str>,
) -> Result<(), Failure> {
    report.start();
    let name = client::server_name_for(&ep.host).ok_or_else(|| {
        Failure::new(Code::BadEndpoint, "tls-verify", format!("{:?} is not a TLS server name", ep.host))
    })?;
    if let Err(e) = client::verify_chain(&f.presented_chain, roots, &name) {
        let name_problem = e.go_message.contains("not valid for");
        return Err(Failure::new(
            Code::TlsVerifyFailed,
            "tls-verify",
            format!("expected the serving certificate of {ep} to chain to the discovered CA and be valid for {}; {}", ep.host, e.reason),
        )
        .kubeadm(format!("failed to request the cluster-info ConfigMap: Get \"{}{}\": tls: failed to verify certificate: {}", ep.url(), CLUSTER_INFO_PATH, e.go_message))
        .cause(if name_problem {
            "the API server's serving certificate does not list this address or name in its SANs (joining through an address that was not in apiServer.certSANs)"
        } else {
            "the server on this address is not the API server of the pinned cluster: a TLS-terminating proxy or load balancer, or a man in the middle, or the API server's certificate was issued by another CA"
        })
        .fix(if name_problem {
            "join through an address the certificate lists, or add it to apiServer.certSANs and regenerate the certificate (`kubeadm init phase certs apiserver`)"
        } else {
            "connect to the API server directly or make the load balancer pass TLS through (TCP mode); if no proxy should be there, treat this as an attack"
        }));
    }
    let mut detail = format!("serving certificate chains to the discovered CA and is valid for {}", ep.host);
    // The kubelet will use cluster-info's server: check the same certificate covers that name.
    if let Some(server) = api_server {
        if let Ok(s_ep) = endpoint::from_server_url(server) {
            if s_ep.host != ep.host {
                if let Some(n2) = client::server_name_for(&s_ep.host) {
                    if let Err(e) = client::verify_chain(&f.presented_chain, roots, &n2) {
                        report.warn(
                            "tls-verify",
                            format!("{detail}; but it is not valid for {} (cluster-info's server, which the kubelet will use): {}", s_ep.host, e.reason),
                        );
                        return Ok(());
                    }
                    detail.push_str(&format!(" and for {} (cluster-info's server)", s_ep.host));
                }
            }
        }
    }
    report.pass("tls-verify", detail);
    Ok(())
}

fn clock_stage(report: &mut Report, date: Option<SystemTime>, max: Duration) -> Result<(), Failure> {
    report.start();
    let Some(d) = date else {
        report.skip("clock", "the server sent no Date header");
        return Ok(());
    };
    let skew = skew_seconds(d);
    report.set("clockSkewSeconds", skew);
    let abs = Duration::from_secs(skew.unsigned_abs());
    let dir = if skew > 0 { "ahead of" } else { "behind" };
    if abs > max {
        return Err(Failure::new(
            Code::ClockSkew,
            "clock",
            format!("expected the local clock within {} of the API server's; it is {} s {dir} it", crate::duration::format(max), skew.abs()),
        )
        .kubeadm("x509: certificate has expired or is not yet valid")
        .cause("this node's clock is wrong (no NTP, a fresh VM with a bad RTC); certificates issued during the TLS bootstrap will look not yet valid or expired")
        .fix("enable time sync (`timedatectl set-ntp true`, chrony) and retry"));
    }
    if abs > CLOCK_WARN {
        report.warn("clock", format!("local clock is {} s {dir} the API server's", skew.abs()));
    } else {
        report.pass("clock", format!("local clock within {} s of the API server's", skew.abs()));
    }
    Ok(())
}

async fn run_discovery_file(opts: &Options, file: &str) -> Report {
    let mut report = Report::new("verify-discovery");
    report.start();
    report.pass("input", format!("file discovery from {file}"));
    let deadline = Instant::now() + opts.timeout;

    // discovery-file: read the kubeconfig from a path or an https URL.
    report.start();
    let loaded: Result<Kubeconfig, Failure> = if file.contains("://") {
        if !file.starts_with("https://") {
            Err(Failure::new(
                Code::Usage,
                "discovery-file",
                format!("expected a file path or an https:// URL; got {file:?}"),
            )
            .kubeadm("if a URL is used, the scheme must be https")
            .cause("kubeadm only downloads discovery files over HTTPS")
            .fix("serve the file over https, or copy it to the node and pass its path"))
        } else {
            fetch_url_kubeconfig(&mut report, file, opts, deadline).await
        }
    } else {
        let p = PathBuf::from(file);
        if !p.exists() {
            Err(Failure::new(
                Code::InputUnreadable,
                "discovery-file",
                format!("expected a readable kubeconfig at {file}; it does not exist"),
            )
            .kubeadm("not a valid HTTPS URL or a file on disk")
            .cause("the path is wrong")
            .fix("copy the discovery kubeconfig to the node, or pass an https:// URL"))
        } else {
            Kubeconfig::load(&p).map_err(|e| {
                Failure::new(Code::BadInputFile, "discovery-file", format!("expected a kubeconfig; {e}"))
                    .cause("the file is not a kubeconfig")
                    .fix("generate it with `kubectl config view --raw --minify --flatten` on an admin machine")
            })
        }
    };
    let kc = match loaded {
        Ok(k) => k,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let prepared = (|| {
        let cluster = kc.cluster(None).map_err(bad_discovery_file)?;
        let server = cluster.cluster.server.clone();
        let ep = endpoint::from_server_url(&server).map_err(bad_discovery_file)?;
        let ca_bytes = kc.ca_bytes(&cluster.cluster).map_err(bad_discovery_file)?.ok_or_else(|| {
            bad_discovery_file("the cluster has neither certificate-authority-data nor certificate-authority".into())
        })?;
        let ca = pin::read_certificates(&ca_bytes, "discovery file CA").map_err(|f| bad_discovery_file(f.message))?;
        Ok::<_, Failure>((server, ep, ca))
    })();
    let (server, ep, ca) = match prepared {
        Ok(x) => x,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let user = kc.current_user().map(|u| u.user.clone()).unwrap_or_default();
    let creds = match credentials_from_user(&kc, &user) {
        Ok(c) => c,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let has_creds = !matches!(creds, Credentials::Anonymous);
    report.pass(
        "discovery-file",
        format!(
            "server {server}, {} CA certificate(s), credentials: {}",
            ca.len(),
            if has_creds { "yes" } else { "none" }
        ),
    );

    let fetch_opts = FetchOptions {
        connect_timeout: opts.connect_timeout,
        deadline,
        credentials: creds,
        what: "the cluster-info ConfigMap",
    };
    let fetched = match client::fetch(&mut report, &ep, CLUSTER_INFO_PATH, fetch_opts).await {
        Ok(f) => f,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let result = (|| {
        tls_verify_stage(&mut report, &fetched, &ca, &ep, None)?;
        report.start();
        let (api_server, ca_used) = match fetched.status {
            403 => {
                report.warn(
                    "cluster-info",
                    "cluster-info is forbidden for these credentials: kubeadm keeps the discovery file's contents",
                );
                (server.clone(), ca.clone())
            }
            _ => {
                let ci = cluster_info_from_response(&mut report, &fetched, &ep)?;
                report.start();
                let parsed = parse_kubeconfig(&ci)?;
                report.pass("kubeconfig", format!("using cluster-info's kubeconfig: server {}", parsed.server));
                (parsed.server, parsed.ca_der)
            }
        };
        report.start();
        let infos: Vec<CertInfo> = ca_used.iter().filter_map(|c| pin::inspect(c.as_ref(), "CA").ok()).collect();
        let now = now_unix();
        if let Some(c) = infos.iter().find(|c| c.validity_problem(now).is_some()) {
            let expired = c.validity_problem(now) == Some("expired");
            return Err(Failure::new(
                if expired { Code::CaExpired } else { Code::CaNotYetValid },
                "ca-validity",
                format!("expected the CA to be valid now; {} is valid {} to {}", c.subject, c.not_before, c.not_after),
            )
            .kubeadm("x509: certificate has expired or is not yet valid")
            .cause(if expired {
                "the cluster CA expired, or this node's clock is ahead"
            } else {
                "this node's clock is behind"
            })
            .fix("fix the node's clock (chrony/NTP) or renew the CA"));
        }
        report.pass("ca-validity", format!("{} CA certificate(s) valid now", infos.len()));
        clock_stage(&mut report, fetched.date, opts.max_clock_skew)?;
        report.start();
        if has_creds {
            report.pass("tls-bootstrap-credentials", "the discovery file holds credentials for the TLS bootstrap");
        } else if opts.tls_bootstrap_token.is_some() {
            report.pass("tls-bootstrap-credentials", "--tls-bootstrap-token will authenticate the TLS bootstrap");
        } else {
            return Err(Failure::new(
                Code::NoBootstrapCredentials,
                "tls-bootstrap-credentials",
                "expected credentials for the TLS bootstrap in the discovery file or from --tls-bootstrap-token; found neither",
            )
            .kubeadm("could not find authentication credentials for the TLS bootstrap process. Please use Token discovery, a discovery file with embedded authentication credentials or a discovery file without authentication credentials but with the TLSBootstrapToken flag")
            .cause("the discovery file has no user credentials and no TLS bootstrap token was given")
            .fix("pass --tls-bootstrap-token (discovery.tlsBootstrapToken in the config), or embed a token in the discovery file's user"));
        }
        report.set("apiServer", &api_server);
        report.set("endpoint", ep.to_string());
        report.set("ca", &infos);
        Ok(api_server)
    })();
    match result {
        Ok(api) => report.line(format!("OK: file discovery works; the kubelet will use API server {api}.")),
        Err(f) => report.fail(f),
    }
    report.skip_rest(DISCOVERY_FILE_STAGES);
    report
}

fn bad_discovery_file(e: String) -> Failure {
    Failure::new(Code::BadInputFile, "discovery-file", format!("expected a kubeconfig with a cluster, an https server and a CA; {e}"))
        .cause("the discovery file is incomplete")
        .fix("generate it with `kubectl config view --raw --minify --flatten` on an admin machine, keeping certificate-authority-data")
}

fn credentials_from_user(kc: &Kubeconfig, u: &crate::kubeconfig::User) -> Result<Credentials, Failure> {
    let read = |data: &Option<String>, file: &Option<String>| -> Result<Option<Vec<u8>>, Failure> {
        if let Some(d) = data.as_deref().filter(|d| !d.is_empty()) {
            return crate::kubeconfig::decode_b64(d).map(Some).map_err(bad_discovery_file);
        }
        if let Some(f) = file.as_deref().filter(|f| !f.is_empty()) {
            return std::fs::read(kc.resolve_path(f)).map(Some).map_err(|e| bad_discovery_file(format!("{f}: {e}")));
        }
        Ok(None)
    };
    if let Some(t) = u.token.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Credentials::Bearer(t.to_string()));
    }
    if let Some(f) = u.token_file.as_deref().filter(|f| !f.is_empty()) {
        let t = std::fs::read_to_string(kc.resolve_path(f))
            .map_err(|e| bad_discovery_file(format!("tokenFile {f}: {e}")))?;
        return Ok(Credentials::Bearer(t.trim().to_string()));
    }
    let cert = read(&u.client_certificate_data, &u.client_certificate)?;
    let key = read(&u.client_key_data, &u.client_key)?;
    match (cert, key) {
        (Some(c), Some(k)) => {
            let chain = pin::read_certificates(&c, "client certificate").map_err(|f| bad_discovery_file(f.message))?;
            use rustls::pki_types::pem::PemObject;
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&k)
                .map_err(|e| bad_discovery_file(format!("client key: {e}")))?;
            Ok(Credentials::ClientCert(chain, key))
        }
        _ => Ok(Credentials::Anonymous),
    }
}

async fn fetch_url_kubeconfig(
    report: &mut Report,
    url: &str,
    opts: &Options,
    deadline: Instant,
) -> Result<Kubeconfig, Failure> {
    let rest = &url["https://".len()..];
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let ep = endpoint::from_server_url(&format!("https://{hostport}")).map_err(|e| {
        Failure::new(Code::Usage, "discovery-file", format!("expected an https URL with a host; {e}"))
            .kubeadm("not a valid HTTPS URL or a file on disk")
            .cause("the URL is malformed")
            .fix("check the URL")
    })?;
    let mut sub = Report::new("fetch");
    let fetched = client::fetch(
        &mut sub,
        &ep,
        path,
        FetchOptions {
            connect_timeout: opts.connect_timeout,
            deadline,
            credentials: Credentials::Anonymous,
            what: "the discovery file",
        },
    )
    .await
    .map_err(|f| f.at("discovery-file"))?;
    // Verify the download against the system's roots (as kubeadm's HTTPS client does).
    let roots: Vec<CertificateDer<'static>> = rustls_native_certs::load_native_certs().certs;
    let name = client::server_name_for(&ep.host)
        .ok_or_else(|| Failure::new(Code::Usage, "discovery-file", "bad host in URL"))?;
    client::verify_chain(&fetched.presented_chain, &roots, &name).map_err(|e| {
        Failure::new(Code::TlsVerifyFailed, "discovery-file", format!("expected {url} to present a certificate trusted by this system; {}", e.reason))
            .kubeadm(format!("Get \"{url}\": tls: failed to verify certificate: {}", e.go_message))
            .cause("the web server's certificate is not issued by a CA in the system trust store (SSL_CERT_FILE / /etc/ssl/certs)")
            .fix("serve the file with a publicly trusted certificate or add its CA to the system trust store")
    })?;
    if fetched.status != 200 {
        return Err(Failure::new(
            Code::InputUnreadable,
            "discovery-file",
            format!("expected HTTP 200 for {url}; got {}", fetched.status),
        )
        .cause("the URL is wrong or the file server refuses")
        .fix("check the URL"));
    }
    report.stages.extend(sub.stages.into_iter().map(|mut s| {
        s.name = format!("discovery-file-{}", s.name);
        s
    }));
    let text =
        String::from_utf8(fetched.body).map_err(|_| bad_discovery_file("the downloaded file is not UTF-8".into()))?;
    Kubeconfig::parse(&text).map_err(bad_discovery_file)
}
