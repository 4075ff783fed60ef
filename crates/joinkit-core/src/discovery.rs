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
//! ([`client::fetch_verified`]) and only then presents the file's credentials.

use crate::client::{self, Credentials, FetchOptions, TrustAnchors, UnverifiedResponse};
use crate::endpoint::{self, Endpoint};
use crate::error::{Code, Failure};
use crate::jws;
use crate::kubeconfig::Kubeconfig;
use crate::pin::{self, CertInfo, Pin, PinSet};
use crate::report::Report;
use crate::token::BootstrapToken;
use secrecy::{ExposeSecret, SecretString};
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
    "jws-present",
    "jws-verify",
    "kubeconfig",
    "ca-pin",
    "ca-validity",
    "tls-verify",
    "clock",
];
/// Every stage of the offline check of a saved cluster-info.
pub const FILE_STAGES: &[&str] =
    &["input", "read", "cluster-info", "jws-present", "jws-verify", "kubeconfig", "ca-pin", "ca-validity"];
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

/// A cluster-info ConfigMap as received: nothing in it is trusted yet. Its `kubeconfig` is
/// raw text until the JWS over exactly that text verified ([`check_cluster_info`]).
#[derive(Debug, Clone)]
pub struct UntrustedClusterInfo {
    data: serde_json::Map<String, Value>,
}

/// How the CA of a verified cluster-info was trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedBy {
    /// A CA certificate matched this pin.
    Pin(Pin),
    /// `--discovery-token-unsafe-skip-ca-verification`: only the JWS vouches for the CA.
    UnsafeSkip,
}

/// A cluster-info whose kubeconfig's JWS verified with the bootstrap token and whose CA
/// matched a pin (or the unsafe skip was given). Fields are private and the only constructor
/// is [`check_cluster_info`]: holding one proves those checks passed. It says what it was
/// verified with (the token ID and the pin).
#[derive(Debug, Clone)]
pub struct AuthenticatedClusterInfo {
    api_server: String,
    ca: Vec<CertInfo>,
    anchors: TrustAnchors,
    trusted_by: TrustedBy,
    token_id: String,
    signed_token_ids: Vec<String>,
    kubeconfig: String,
}

impl AuthenticatedClusterInfo {
    /// The API server URL in cluster-info (`https://...`): the one the kubelet will use.
    pub fn api_server(&self) -> &str {
        &self.api_server
    }
    /// The CA certificates, in bundle order.
    pub fn ca(&self) -> &[CertInfo] {
        &self.ca
    }
    /// The CA as trust anchors (never empty).
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }
    /// The pin that matched, or the unsafe skip.
    pub fn trusted_by(&self) -> &TrustedBy {
        &self.trusted_by
    }
    /// The bootstrap token ID whose JWS verified.
    pub fn token_id(&self) -> &str {
        &self.token_id
    }
    /// Token IDs with a signature in cluster-info.
    pub fn signed_token_ids(&self) -> &[String] {
        &self.signed_token_ids
    }
    /// The raw kubeconfig text the JWS covers.
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }
    fn matched_pin(&self) -> Option<&str> {
        match &self.trusted_by {
            TrustedBy::Pin(p) => Some(p.as_str()),
            TrustedBy::UnsafeSkip => None,
        }
    }
}

/// An [`AuthenticatedClusterInfo`] that also came over a connection whose serving certificate
/// chains to that CA and is valid for the endpoint (the `tls-verify` stage). Only token
/// discovery over the network makes one; it is what the TLS bootstrap needs before it sends the
/// bootstrap token to the API server.
#[derive(Debug, Clone)]
pub struct TrustedClusterInfo {
    auth: AuthenticatedClusterInfo,
    endpoint: Endpoint,
}

impl TrustedClusterInfo {
    /// What the JWS and the pin established.
    pub fn authenticated(&self) -> &AuthenticatedClusterInfo {
        &self.auth
    }
    /// The endpoint whose serving certificate verified.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    /// The API server URL from cluster-info (`https://...`).
    pub fn api_server(&self) -> &str {
        &self.auth.api_server
    }
    /// The cluster CA as trust anchors.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.auth.anchors
    }
}

impl UntrustedClusterInfo {
    /// Reads a ConfigMap from JSON or YAML (as `kubectl get cm cluster-info -n kube-public -o
    /// json|yaml` prints it). Errors describe what is wrong without quoting the input.
    pub fn from_text(text: &str) -> Result<Self, String> {
        let v: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
        } else {
            serde_saphyr::from_str(text)
                .map_err(|e| format!("not valid YAML: {}", crate::kubeconfig::yaml_error(&e)))?
        };
        Self::from_value(&v)
    }

    /// Reads a ConfigMap object.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ConfigMap" {
            return Err(format!(
                "expected kind ConfigMap, found {:?}",
                if kind.is_empty() { "(none)".to_string() } else { crate::redact::truncate(kind, 60) }
            ));
        }
        let data = match v.get("data") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(_) => return Err("data is not a map of strings".into()),
        };
        Ok(UntrustedClusterInfo { data })
    }

    /// The keys of `data` (for messages), each shortened.
    pub fn keys(&self) -> Vec<String> {
        self.data.keys().take(20).map(|k| crate::redact::truncate(k, 80)).collect()
    }

    fn signed_ids(&self) -> Vec<String> {
        self.data
            .keys()
            .filter_map(|k| k.strip_prefix(JWS_KEY_PREFIX).map(|id| crate::redact::truncate(id, 40)))
            .collect()
    }
}

/// The prefix of the cluster-info keys that hold a token's detached JWS (`jws-kubeconfig-<id>`,
/// `bootstrapapi.JWSSignatureKeyPrefix`).
pub const JWS_KEY_PREFIX: &str = "jws-kubeconfig-";

/// The cluster-info key that holds the detached JWS of token `id`: `jws-kubeconfig-<id>`.
pub fn jws_key(id: &str) -> String {
    format!("{JWS_KEY_PREFIX}{id}")
}

fn kubeadm_msg(s: impl AsRef<str>) -> String {
    format!("{KUBEADM_PREFIX}{}", s.as_ref())
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// cluster-info's `kubeconfig`, parsed after its JWS verified: server, CA bundle and anchors.
struct ParsedKubeconfig {
    server: String,
    ca: Vec<CertInfo>,
    anchors: TrustAnchors,
}

fn kubeconfig_invalid(seen: String) -> Failure {
    Failure::new(
        Code::KubeconfigInvalid,
        "kubeconfig",
        format!("expected a kubeconfig with one cluster, an https server and CA data; {seen}"),
    )
    .kubeadm(kubeadm_msg("couldn't read the kubeconfig from the cluster-info ConfigMap"))
    .cause("cluster-info's kubeconfig was edited by hand or written by a tool that is not kubeadm")
    .fix("regenerate it with `kubeadm init phase bootstrap-token` on a control-plane node")
}

/// The raw `kubeconfig` value of cluster-info (`kubeconfig-missing`, `kubeconfig-invalid` when
/// it is not a string). Nothing is parsed here: the JWS covers these exact bytes.
fn raw_kubeconfig(ci: &UntrustedClusterInfo) -> Result<&str, Failure> {
    let Some(kc_value) = ci.data.get("kubeconfig") else {
        return Err(Failure::new(
            Code::KubeconfigMissing,
            "kubeconfig",
            format!("expected a kubeconfig key in cluster-info; its keys are {:?}", ci.keys()),
        )
        .kubeadm(kubeadm_msg(
            "there is no kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up for token bootstrapping, can't connect",
        ))
        .cause("the cluster was not set up by kubeadm, or `kubeadm init phase bootstrap-token` did not run, or someone edited cluster-info")
        .fix("on a control-plane node run `kubeadm init phase bootstrap-token` (it recreates cluster-info), then retry"));
    };
    kc_value.as_str().ok_or_else(|| kubeconfig_invalid("the kubeconfig value is not a string".into()))
}

/// Parses a kubeconfig whose origin is authenticated (by the JWS, or by the verified connection
/// of file discovery), data only and https only ([`crate::kubeconfig::parse_cluster_info`]).
fn parse_kubeconfig(kubeconfig: &str) -> Result<ParsedKubeconfig, Failure> {
    let parsed = crate::kubeconfig::parse_cluster_info(kubeconfig).map_err(kubeconfig_invalid)?;
    let ca_der =
        pin::read_certificates(&parsed.ca_data, "cluster-info CA").map_err(|f| kubeconfig_invalid(f.message))?;
    let ca: Vec<CertInfo> = ca_der
        .iter()
        .map(|c| pin::inspect(c.as_ref(), "cluster-info CA"))
        .collect::<Result<_, _>>()
        .map_err(|f| kubeconfig_invalid(f.message))?;
    let anchors = TrustAnchors::new(ca_der, "the cluster CA from cluster-info").map_err(kubeconfig_invalid)?;
    Ok(ParsedKubeconfig { server: parsed.server, ca, anchors })
}

/// Checks a cluster-info in kubeadm's order (`validateClusterInfoToken`, then `clientcmd.Load`,
/// then the pin): `jws-present`, `jws-verify` over the raw kubeconfig text, then `kubeconfig`
/// (parsed only now, data only), `ca-pin`, `ca-validity`. Records each stage in `report`.
/// `skew` (local minus server, seconds) refines clock-related advice when known.
pub fn check_cluster_info(
    report: &mut Report,
    ci: &UntrustedClusterInfo,
    token: &BootstrapToken,
    trust: &Trust,
    skew: Option<i64>,
) -> Result<AuthenticatedClusterInfo, Failure> {
    let kubeconfig = raw_kubeconfig(ci)?;

    // jws-present
    report.start();
    let key = jws_key(token.id());
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

    // jws-verify: over the raw text, before anything in it is parsed or acted on.
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

    // kubeconfig: parsed only now that the JWS vouches for it.
    report.start();
    let ParsedKubeconfig { server, ca, anchors } = parse_kubeconfig(kubeconfig)?;
    report.pass("kubeconfig", format!("server {server}, {} CA certificate(s)", ca.len()));

    // ca-pin
    report.start();
    let seen: Vec<Pin> = ca.iter().map(|c| Pin::parse(&c.pin).expect("computed pins are well-formed")).collect();
    let trusted_by = match trust {
        Trust::UnsafeSkip => {
            report.warn(
                "ca-pin",
                format!(
                    "UNSAFE: the CA was NOT pinned (--discovery-token-unsafe-skip-ca-verification); anyone who knows the token can impersonate this control plane. Pin it next time: --discovery-token-ca-cert-hash {}",
                    seen.iter().map(Pin::as_str).collect::<Vec<_>>().join(" --discovery-token-ca-cert-hash ")
                ),
            );
            TrustedBy::UnsafeSkip
        }
        Trust::Pinned(set) => match set.find_match(&seen) {
            Some(p) => {
                report.pass(
                    "ca-pin",
                    format!("CA {} matches a pin ({p})", ca[seen.iter().position(|s| s == p).unwrap_or(0)].subject),
                );
                TrustedBy::Pin(p.clone())
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
    let relevant: Vec<&CertInfo> = match &trusted_by {
        TrustedBy::Pin(p) => ca.iter().filter(|c| c.pin == p.as_str()).collect(),
        TrustedBy::UnsafeSkip => ca.iter().collect(),
    };
    ca_validity(report, &relevant, skew)?;

    Ok(AuthenticatedClusterInfo {
        api_server: server,
        ca,
        anchors,
        trusted_by,
        token_id: token.id().to_string(),
        signed_token_ids: signed,
        kubeconfig: kubeconfig.to_string(),
    })
}

/// The one CA validity rule (stage `ca-validity`) for token and file discovery alike: fail when
/// every relevant CA certificate is expired or not yet valid (`ca-expired`, `ca-not-yet-valid`),
/// warn when only some are (a CA rotation bundle), and warn about certificates without CA:TRUE.
fn ca_validity(report: &mut Report, relevant: &[&CertInfo], skew: Option<i64>) -> Result<(), Failure> {
    let now = now_unix();
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
    match (bad.is_empty(), relevant.first()) {
        (true, Some(c)) => report.pass("ca-validity", format!("CA valid from {} to {}", c.not_before, c.not_after)),
        (true, None) => report.pass("ca-validity", "no CA certificate to check"),
        (false, _) => report.warn(
            "ca-validity",
            format!(
                "{} CA certificate(s) in the bundle are expired or not yet valid; at least one is valid",
                bad.len()
            ),
        ),
    }
    if let Some(c) = relevant.iter().find(|c| !c.is_ca) {
        report.note("ca-validity", format!("{} is not marked as a CA (basicConstraints CA:FALSE)", c.subject));
    }
    Ok(())
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
                Failure::new(Code::InputUnreadable, "read", e.to_string())
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
    report.pass("cluster-info", format!("ConfigMap with keys {:?}", ci.keys()));
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
        let differs = endpoint::from_server_url(t.api_server()).map(|s| &s != ep).unwrap_or(true);
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
            if let Some(f) = report.failure() {
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
        what: "the cluster-info ConfigMap",
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
    let result = cluster_info_from_response(&mut report, fetched.status(), fetched.untrusted_body(), ep)
        .and_then(|ci| check_cluster_info(&mut report, &ci, &token, &trust, skew))
        .and_then(|auth| {
            let trusted = tls_verify_stage(&mut report, &fetched, auth, ep)?;
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
fn skew_seconds(server: SystemTime) -> i64 {
    let now = SystemTime::now();
    match now.duration_since(server) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Reads the answer to the cluster-info GET: the HTTP status (`cluster-info-forbidden`,
/// `cluster-info-not-found`, `cluster-info-http-error`) and a ConfigMap body. Quoted server
/// text is shortened and redacted.
fn cluster_info_from_response(
    report: &mut Report,
    status: u16,
    body: &[u8],
    ep: &Endpoint,
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
    let v: Value = serde_json::from_slice(body).map_err(|e| {
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
    report.pass("cluster-info", format!("ConfigMap cluster-info read anonymously, keys {:?}", ci.keys()));
    Ok(ci)
}

/// `tls-verify`: the chain recorded on the cluster-info connection must chain to the CA that
/// the JWS and the pin vouched for and be valid for the endpoint; only then does the
/// authenticated cluster-info become a [`TrustedClusterInfo`]. A certificate that does not
/// also cover cluster-info's server (which the kubelet will use) is a warning.
fn tls_verify_stage(
    report: &mut Report,
    f: &UnverifiedResponse,
    auth: AuthenticatedClusterInfo,
    ep: &Endpoint,
) -> Result<TrustedClusterInfo, Failure> {
    report.start();
    let name = client::server_name_for(&ep.host).ok_or_else(|| {
        Failure::new(Code::BadEndpoint, "tls-verify", format!("{:?} is not a TLS server name", ep.host))
    })?;
    let url = format!("{}{}", ep.url(), CLUSTER_INFO_PATH);
    if let Err(e) = f.verify_for(auth.anchors(), &name) {
        return Err(client::verify_failure(&e, ep, auth.anchors(), "the cluster-info ConfigMap", &url));
    }
    let mut detail = format!("serving certificate chains to the discovered CA and is valid for {}", ep.host);
    let mut warning = None;
    if let Ok(s_ep) = endpoint::from_server_url(auth.api_server()) {
        if s_ep.host != ep.host {
            if let Some(n2) = client::server_name_for(&s_ep.host) {
                match f.verify_for(auth.anchors(), &n2) {
                    Err(e) => {
                        warning = Some(format!(
                        "{detail}; but it is not valid for {} (cluster-info's server, which the kubelet will use): {}",
                        s_ep.host, e.reason
                    ))
                    }
                    Ok(()) => detail.push_str(&format!(" and for {} (cluster-info's server)", s_ep.host)),
                }
            }
        }
    }
    match warning {
        Some(w) => report.warn("tls-verify", w),
        None => report.pass("tls-verify", detail),
    }
    Ok(TrustedClusterInfo { auth, endpoint: ep.clone() })
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
    report.pass("input", format!("file discovery from {}", crate::redact::truncate(file, 200)));
    let deadline = Instant::now() + opts.timeout;

    // discovery-file: read the kubeconfig from a path or an https URL; take its server, its CA
    // (as trust anchors: never empty) and its credentials.
    report.start();
    let loaded: Result<Kubeconfig, Failure> = if file.contains("://") {
        if !file.starts_with("https://") {
            Err(Failure::new(
                Code::Usage,
                "discovery-file",
                format!("expected a file path or an https:// URL; got {:?}", crate::redact::truncate(file, 200)),
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
                    .cause("the file is not a kubeconfig, or not a readable regular file")
                    .fix("generate it with `kubectl config view --raw --minify --flatten` on an admin machine")
            })
        }
    };
    let prepared = loaded.and_then(|kc| {
        let cluster = kc.cluster(None).map_err(bad_discovery_file)?;
        let server = cluster.cluster.server.clone();
        let ep = endpoint::from_server_url(&server).map_err(bad_discovery_file)?;
        let ca_bytes = kc.ca_bytes(&cluster.cluster).map_err(bad_discovery_file)?.ok_or_else(|| {
            bad_discovery_file("the cluster has neither certificate-authority-data nor certificate-authority".into())
        })?;
        let ca = pin::read_certificates(&ca_bytes, "discovery file CA").map_err(|f| bad_discovery_file(f.message))?;
        let anchors = TrustAnchors::new(ca, "the discovery file's CA").map_err(bad_discovery_file)?;
        let user = kc.current_user().map(|u| u.user.clone()).unwrap_or_default();
        let creds = credentials_from_user(&kc, &user)?;
        Ok::<_, Failure>((server, ep, anchors, creds))
    });
    let (server, ep, anchors, creds) = match prepared {
        Ok(x) => x,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let has_creds = creds.is_some();
    report.pass(
        "discovery-file",
        format!(
            "server {server}, {} CA certificate(s), credentials: {}",
            anchors.certs().len(),
            if has_creds { "yes (sent only after the server verifies against the file's CA)" } else { "none" }
        ),
    );

    // The server must verify against the file's CA during the handshake before the file's
    // credentials are presented (kubeadm builds its client from the file's CA first).
    let fetch_opts =
        FetchOptions { connect_timeout: opts.connect_timeout, deadline, what: "the cluster-info ConfigMap" };
    let fetched = match client::fetch_verified(&mut report, &ep, CLUSTER_INFO_PATH, fetch_opts, &anchors, creds).await {
        Ok(f) => f,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let result = (|| {
        report.start();
        let (api_server, ca_used): (String, Vec<CertInfo>) = match fetched.status() {
            403 => {
                report.warn(
                    "cluster-info",
                    "cluster-info is forbidden for these credentials: kubeadm keeps the discovery file's contents",
                );
                let infos = anchors.certs().iter().filter_map(|c| pin::inspect(c.as_ref(), "CA").ok()).collect();
                (server.clone(), infos)
            }
            status => {
                // The connection verified against the file's CA, so cluster-info is as trusted
                // as the file (kubeadm's file discovery does not check a JWS); it is still read
                // data only and https only.
                let ci = cluster_info_from_response(&mut report, status, fetched.body(), &ep)?;
                report.start();
                let parsed = parse_kubeconfig(raw_kubeconfig(&ci)?)?;
                report.pass("kubeconfig", format!("using cluster-info's kubeconfig: server {}", parsed.server));
                (parsed.server, parsed.ca)
            }
        };
        report.start();
        let skew = fetched.date().map(skew_seconds);
        ca_validity(&mut report, &ca_used.iter().collect::<Vec<_>>(), skew)?;
        clock_stage(&mut report, fetched.date(), opts.max_clock_skew)?;
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
        report.set("ca", &ca_used);
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
        .cause("the discovery file is incomplete, or a file it names is missing, not a regular file or too large")
        .fix("generate it with `kubectl config view --raw --minify --flatten` on an admin machine, keeping certificate-authority-data")
}

/// The discovery file user's credentials (token, tokenFile, or client certificate and key;
/// files read bounded), as [`Credentials`] that only [`client::fetch_verified`] accepts.
fn credentials_from_user(kc: &Kubeconfig, u: &crate::kubeconfig::User) -> Result<Option<Credentials>, Failure> {
    let read = |data: Option<&str>, file: &Option<String>, field: &str| -> Result<Option<Vec<u8>>, Failure> {
        if let Some(d) = data.filter(|d| !d.is_empty()) {
            return crate::kubeconfig::decode_b64(d)
                .map(Some)
                .map_err(|e| bad_discovery_file(format!("{field}-data: {e}")));
        }
        if let Some(f) = file.as_deref().filter(|f| !f.is_empty()) {
            return crate::kubeconfig::read_referenced(kc, field, f).map(Some).map_err(bad_discovery_file);
        }
        Ok(None)
    };
    if let Some(t) = u.token.as_ref().filter(|t| !t.expose_secret().is_empty()) {
        return Ok(Some(Credentials::Bearer(t.clone())));
    }
    if let Some(f) = u.token_file.as_deref().filter(|f| !f.is_empty()) {
        let t = crate::kubeconfig::read_referenced(kc, "tokenFile", f).map_err(bad_discovery_file)?;
        let t = String::from_utf8(t).map_err(|_| bad_discovery_file("tokenFile: not UTF-8 text".into()))?;
        return Ok(Some(Credentials::Bearer(SecretString::from(t.trim().to_string()))));
    }
    let cert = read(u.client_certificate_data.as_deref(), &u.client_certificate, "client-certificate")?;
    let key = read(u.client_key_data.as_ref().map(|k| k.expose_secret()), &u.client_key, "client-key")?;
    match (cert, key) {
        (Some(c), Some(k)) => {
            let chain = pin::read_certificates(&c, "client certificate").map_err(|f| bad_discovery_file(f.message))?;
            use rustls::pki_types::pem::PemObject;
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&k)
                .map_err(|_| bad_discovery_file("client key: not a PEM private key".into()))?;
            Ok(Some(Credentials::ClientCert(chain, key)))
        }
        _ => Ok(None),
    }
}

/// Downloads a discovery file over https, verified by the system trust store during the
/// handshake (as kubeadm's HTTPS client is), anonymously, at most [`client::MAX_BODY`] bytes.
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
    let anchors = TrustAnchors::system().map_err(|e| {
        Failure::new(Code::TlsVerifyFailed, "discovery-file", format!("cannot verify {url}: {e}"))
            .cause("this node has no CA certificates in its trust store")
            .fix("install the ca-certificates package, or copy the discovery file to the node")
    })?;
    let mut sub = Report::new("fetch");
    let fetched = client::fetch_verified(
        &mut sub,
        &ep,
        path,
        FetchOptions { connect_timeout: opts.connect_timeout, deadline, what: "the discovery file" },
        &anchors,
        None,
    )
    .await
    .map_err(|f| f.at("discovery-file"))?;
    if fetched.status() != 200 {
        return Err(Failure::new(
            Code::InputUnreadable,
            "discovery-file",
            format!("expected HTTP 200 for {url}; got {}", fetched.status()),
        )
        .cause("the URL is wrong or the file server refuses")
        .fix("check the URL"));
    }
    report.absorb(&sub, "discovery-file-");
    let text = std::str::from_utf8(fetched.body())
        .map_err(|_| bad_discovery_file("the downloaded file is not UTF-8".into()))?;
    let kc = Kubeconfig::parse(text).map_err(bad_discovery_file)?;
    // A document from the network names no local file joinkit would open (and then send: a
    // tokenFile's contents would become the bearer token): data fields only.
    let paths: Vec<&str> = kc
        .clusters
        .iter()
        .filter(|c| c.cluster.certificate_authority.as_deref().is_some_and(|p| !p.is_empty()))
        .map(|_| "certificate-authority")
        .chain(kc.users.iter().flat_map(|u| {
            [
                ("tokenFile", &u.user.token_file),
                ("client-certificate", &u.user.client_certificate),
                ("client-key", &u.user.client_key),
            ]
            .into_iter()
            .filter(|(_, v)| v.as_deref().is_some_and(|p| !p.is_empty()))
            .map(|(k, _)| k)
        }))
        .collect();
    if !paths.is_empty() {
        return Err(bad_discovery_file(format!(
            "the file downloaded from {url} names local paths ({}); a downloaded discovery file must carry certificate-authority-data, token or client-certificate-data/client-key-data, and joinkit never opens a path named by a document from the network",
            paths.join(", ")
        )));
    }
    Ok(kc)
}
