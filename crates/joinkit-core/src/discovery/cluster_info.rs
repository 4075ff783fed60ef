//! cluster-info, the pure trust rules of token discovery (kubeadm's
//! `cmd/kubeadm/app/discovery/token/token.go`: `validateClusterInfoToken`, then `clientcmd.Load`,
//! then the pin; `k8s.io/cluster-bootstrap/token/jws` for the signature; spec section 2): the
//! cluster-info path, the JWS key and the signed token IDs, CA data to pins, the CA validity rule,
//! and the types that say how far cluster-info is trusted.
//!
//! [`UntrustedClusterInfo`] is what the network or a file gave; only [`check_cluster_info`] turns
//! it into an [`AuthenticatedClusterInfo`], and only `verify_serving` turns that into a
//! [`TrustedClusterInfo`]. Their fields are private and these are their only constructors.

use super::{DiscoveryStage as S, Trust, CLOCK_WARN};
use crate::client::{self, TrustAnchors, UnverifiedResponse};
use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use crate::jws;
use crate::pin::{self, CertInfo, Pin};
use crate::report::Report;
use crate::token::BootstrapToken;
use serde_json::Value;
use std::time::SystemTime;

/// The cluster-info path (spec section 2.1).
pub(crate) const CLUSTER_INFO_PATH: &str = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
/// Prefix kubeadm puts before identity errors (`cmd/kubeadm/app/discovery/discovery.go`,
/// `For`: every discovery error is wrapped in it).
pub(crate) const KUBEADM_PREFIX: &str = "couldn't validate the identity of the API Server: ";

/// How kubeadm's token discovery words a failed GET of cluster-info
/// (`cmd/kubeadm/app/discovery/token`, `getClusterInfo`: "failed to request the cluster-info
/// ConfigMap", with kubeadm's 10 s client timeout in the URL, wrapped in [`KUBEADM_PREFIX`]).
/// Checked against the real kubeadm v1.36.2 (tests/it/real_control_plane.rs,
/// docs/kubeadm-join-parity.md).
pub(crate) const CLUSTER_INFO_REQUEST: client::KubeadmRequest =
    client::KubeadmRequest { what: "the cluster-info ConfigMap", query: "?timeout=10s", prefix: KUBEADM_PREFIX };

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
    pub(super) fn matched_pin(&self) -> Option<&str> {
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
            crate::yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?
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
pub(crate) const JWS_KEY_PREFIX: &str = "jws-kubeconfig-";

/// The cluster-info key that holds the detached JWS of token `id`: `jws-kubeconfig-<id>`.
pub(crate) fn jws_key(id: &str) -> String {
    format!("{JWS_KEY_PREFIX}{id}")
}

pub(super) fn kubeadm_msg(s: impl AsRef<str>) -> String {
    format!("{KUBEADM_PREFIX}{}", s.as_ref())
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// cluster-info's `kubeconfig`, parsed after its JWS verified: server, CA bundle and anchors.
pub(super) struct ParsedKubeconfig {
    pub(super) server: String,
    pub(super) ca: Vec<CertInfo>,
    anchors: TrustAnchors,
}

fn kubeconfig_invalid(seen: String) -> Failure {
    Failure::new(
        Code::KubeconfigInvalid,
        S::Kubeconfig,
        format!("expected a kubeconfig with one cluster, an https server and CA data; {seen}"),
    )
    .kubeadm(kubeadm_msg("couldn't read the kubeconfig from the cluster-info ConfigMap"))
    .cause("cluster-info's kubeconfig was edited by hand or written by a tool that is not kubeadm")
    .fix("regenerate it with `kubeadm init phase bootstrap-token` on a control-plane node")
}

/// The raw `kubeconfig` value of cluster-info (`kubeconfig-missing`, `kubeconfig-invalid` when
/// it is not a string). Nothing is parsed here: the JWS covers these exact bytes.
pub(super) fn raw_kubeconfig(ci: &UntrustedClusterInfo) -> Result<&str, Failure> {
    let Some(kc_value) = ci.data.get("kubeconfig") else {
        return Err(Failure::new(
            Code::KubeconfigMissing,
            S::Kubeconfig,
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
pub(super) fn parse_kubeconfig(kubeconfig: &str) -> Result<ParsedKubeconfig, Failure> {
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

/// No `jws-kubeconfig-<id>` for this token: `jws-missing` (exit 30, permanent) when other
/// tokens are signed (the bootstrapsigner works, so this token is deleted, expired or lacks the
/// signing usage: waiting does not help), `jws-none-signed` (exit 33, retryable) when nothing
/// is (not signed yet, or the bootstrapsigner, in kube-controller-manager, is down). kubeadm
/// retries both until its discovery timeout (`cmd/kubeadm/app/discovery/token/token.go`) with
/// the same message. A signer stopped after signing other tokens looks like the first case
/// from the node; diagnose with an admin kubeconfig tells them apart.
fn jws_missing(id: &str, key: &str, signed: &[String]) -> Failure {
    let kubeadm =
        kubeadm_msg(format!("could not find a JWS signature in the cluster-info ConfigMap for token ID {id:?}"));
    if signed.is_empty() {
        return Failure::new(
            Code::JwsNoneSigned,
            S::JwsPresent,
            format!("expected a key {key} in cluster-info; there is none, and no token at all is signed in cluster-info"),
        )
        .kubeadm(kubeadm)
        .cause("nothing is signed: the bootstrapsigner (kube-controller-manager) is not running or has not signed yet, or every token has expired or been deleted. kubeadm would retry for its whole discovery timeout (5 min) before saying this")
        .fix("retry (--wait) while kube-controller-manager starts; check that it runs with the bootstrapsigner controller enabled, and `kubeadm token list` (or `joinkit token list`) that the token exists");
    }
    Failure::new(
        Code::JwsMissing,
        S::JwsPresent,
        format!("expected a key {key} in cluster-info; there is none, while token IDs {signed:?} are signed"),
    )
    .kubeadm(kubeadm)
    .cause(format!(
        "the bootstrapsigner works (it signed {signed:?}), so token {id} is the problem: it expired (kubeadm's default TTL is 24h) and the tokencleaner deleted it, or it was deleted, or it lacks the \"signing\" usage; retrying does not help. (A token created after kube-controller-manager stopped looks the same from here.) kubeadm would retry for its whole discovery timeout (5 min) before saying this"
    ))
    .fix("create a new token on a control-plane node: `joinkit token create --print-join-command` (or `kubeadm token create --print-join-command`); check `kubeadm token list` and that kube-controller-manager is running")
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
    // Every failure of this stage lists what is signed (JSON `signedTokenIds`): it is what
    // tells a token's own fault from a signer that does not run.
    report.set("signedTokenIds", &signed);
    let sig = match ci.data.get(&key) {
        None => return Err(jws_missing(token.id(), &key, &signed)),
        Some(v) => v.as_str().unwrap_or(""),
    };
    if sig.is_empty() {
        return Err(Failure::new(Code::JwsEmpty, S::JwsPresent, format!("expected a signature in {key}; the value is empty"))
            .kubeadm(kubeadm_msg(format!(
                "token id {:?} is invalid for this cluster or it has expired. Use \"kubeadm token create\" on the control-plane node to create a new valid token",
                token.id()
            )))
            .cause("the bootstrapsigner wrote an empty signature, or cluster-info was edited by hand")
            .fix("create a new token (`joinkit token create` / `kubeadm token create`); if it persists, restart kube-controller-manager"));
    }
    report.pass(S::JwsPresent, format!("{key} present ({} token(s) signed)", signed.len()));

    // jws-verify: over the raw text, before anything in it is parsed or acted on.
    report.start();
    if let Err(e) = jws::verify(kubeconfig, sig, token.id(), token.secret()) {
        return Err(Failure::new(
            Code::JwsInvalid,
            S::JwsVerify,
            format!("expected the JWS in {key} to verify with the token secret over cluster-info's kubeconfig; {e}"),
        )
        .kubeadm(kubeadm_msg("failed to verify JWS signature of received cluster info object, can't trust this API Server"))
        .cause("the token secret is wrong (a typo, or an old token whose ID was reused), or cluster-info was modified after it was signed (someone in the middle)")
        .fix("check the token secret (`kubeadm token list` on a control-plane node shows the tokens), or create a new token with `joinkit token create`"));
    }
    report.pass(
        S::JwsVerify,
        format!("HS256 signature by token {} verifies over {} bytes of kubeconfig", token.id(), kubeconfig.len()),
    );

    // kubeconfig: parsed only now that the JWS vouches for it.
    report.start();
    let ParsedKubeconfig { server, ca, anchors } = parse_kubeconfig(kubeconfig)?;
    report.pass(S::Kubeconfig, format!("server {server}, {} CA certificate(s)", ca.len()));

    // ca-pin
    report.start();
    let seen: Vec<Pin> = ca.iter().map(|c| Pin::parse(&c.pin).expect("computed pins are well-formed")).collect();
    let trusted_by = match trust {
        Trust::UnsafeSkip => {
            report.warn(
                S::CaPin,
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
                    S::CaPin,
                    format!("CA {} matches a pin ({p})", ca[seen.iter().position(|s| s == p).unwrap_or(0)].subject),
                );
                TrustedBy::Pin(p.clone())
            }
            None => {
                let seen_s: Vec<&str> = seen.iter().map(Pin::as_str).collect();
                return Err(Failure::new(
                    Code::PinMismatch,
                    S::CaPin,
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
pub(super) fn ca_validity(report: &mut Report, relevant: &[&CertInfo], skew: Option<i64>) -> Result<(), Failure> {
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
            S::CaValidity,
            format!("expected the CA to be valid now; it is {problem} (valid {} to {})", c.not_before, c.not_after),
        )
        .kubeadm("x509: certificate has expired or is not yet valid")
        .cause(cause)
        .fix(fix));
    }
    match (bad.is_empty(), relevant.first()) {
        (true, Some(c)) => report.pass(S::CaValidity, format!("CA valid from {} to {}", c.not_before, c.not_after)),
        (true, None) => report.pass(S::CaValidity, "no CA certificate to check"),
        (false, _) => report.warn(
            S::CaValidity,
            format!(
                "{} CA certificate(s) in the bundle are expired or not yet valid; at least one is valid",
                bad.len()
            ),
        ),
    }
    if let Some(c) = relevant.iter().find(|c| !c.is_ca) {
        report.note(S::CaValidity, format!("{} is not marked as a CA (basicConstraints CA:FALSE)", c.subject));
    }
    Ok(())
}

/// `tls-verify`: the chain recorded on the cluster-info connection must chain to the CA that
/// the JWS and the pin vouched for and be valid for the endpoint; only then does the
/// authenticated cluster-info become a [`TrustedClusterInfo`]. A certificate that does not
/// also cover cluster-info's server (which the kubelet will use) is a warning.
pub(super) fn verify_serving(
    report: &mut Report,
    f: &UnverifiedResponse,
    auth: AuthenticatedClusterInfo,
    ep: &Endpoint,
) -> Result<TrustedClusterInfo, Failure> {
    report.start();
    let name = client::server_name_for(&ep.host).ok_or_else(|| {
        Failure::new(Code::BadEndpoint, S::TlsVerify, format!("{:?} is not a TLS server name", ep.host))
    })?;
    let url = format!("{}{}", ep.url(), CLUSTER_INFO_PATH);
    if let Err(e) = f.verify_for(auth.anchors(), &name) {
        return Err(client::verify_failure(&e, ep, auth.anchors(), CLUSTER_INFO_REQUEST, &url));
    }
    let mut detail = format!("serving certificate chains to the discovered CA and is valid for {}", ep.host);
    let mut warning = None;
    if let Ok(s_ep) = Endpoint::from_server_url(auth.api_server()) {
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
        Some(w) => report.warn(S::TlsVerify, w),
        None => report.pass(S::TlsVerify, detail),
    }
    Ok(TrustedClusterInfo { auth, endpoint: ep.clone() })
}

/// The pure trust rules against real recordings (tests/vectors: cluster-info as a v1.24 and a
/// v1.36 kube-apiserver served it, signed by the real bootstrapsigner; the CA pins computed with
/// openssl). Each check must be able to fail: one flipped byte, a wrong secret, a wrong pin.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::PinSet;
    use crate::report::StageId;

    struct Vector {
        body: &'static str,
        token: &'static str,
        pin: &'static str,
        server: &'static str,
    }

    const V124_RSA: Vector = Vector {
        body: include_str!("../../../../tests/vectors/apiserver-v1.24/rsa/cluster-info_after_signing.body"),
        token: "v49uhc.4xw3u8xp298x9m5n",
        pin: "sha256:f1204b94911a0d2e39a5d461bc83a59d67234d8665163afdd683767b12ccba64",
        server: "https://127.0.0.1:6443",
    };
    const V124_ECDSA: Vector = Vector {
        body: include_str!("../../../../tests/vectors/apiserver-v1.24/ecdsa/cluster-info_after_signing.body"),
        token: "x6nxeo.2uwvhpvyrgwfdzym",
        pin: "sha256:77a5756a48149f5d47e09b37e65f09008360e7038693221e4e3f903a88f33d3d",
        server: "https://127.0.0.1:6443",
    };
    const V136_RSA: Vector = Vector {
        body: include_str!("../../../../tests/vectors/apiserver-v1.36/bootstrap/token_cluster-info_signed.body"),
        token: "19czna.mnxrzvb44d5al023",
        pin: "sha256:f011f02c9682a7a2caa9c1696bae57b1eb71b1c5a7cf167253b57ae736cd2541",
        server: "https://127.0.0.1:7443",
    };
    /// Another CA's pin (tests/vectors/ca-pins/rsa2048.crt).
    const OTHER_PIN: &str = "sha256:3f73af16fa67a1c9d2dee1f7720918913f78360b0e4e3a27b660a85f5a1266e4";

    fn pinned(pin: &str) -> Trust {
        Trust::Pinned(PinSet::new(vec![Pin::parse(pin).unwrap()]).unwrap())
    }

    fn check(body: &str, token: &str, trust: &Trust) -> (Report, Result<AuthenticatedClusterInfo, Failure>) {
        let mut report = Report::new("test");
        let ci = UntrustedClusterInfo::from_text(body).expect("a ConfigMap");
        let token = BootstrapToken::parse(token).unwrap();
        let r = check_cluster_info(&mut report, &ci, &token, trust, None);
        (report, r)
    }

    #[test]
    fn recorded_cluster_info_authenticates_with_the_recorded_token_and_pin() {
        for v in [V124_RSA, V124_ECDSA, V136_RSA] {
            let (report, r) = check(v.body, v.token, &pinned(v.pin));
            let auth = r.unwrap_or_else(|f| panic!("{}: {f}", v.token));
            assert_eq!(auth.trusted_by(), &TrustedBy::Pin(Pin::parse(v.pin).unwrap()));
            assert_eq!(auth.api_server(), v.server);
            assert_eq!(auth.token_id(), &v.token[..6]);
            assert!(auth.signed_token_ids().contains(&v.token[..6].to_string()));
            assert_eq!(auth.ca()[0].pin, v.pin);
            let names: Vec<&str> = report.stages().iter().map(|s| s.name.as_str()).collect();
            let want: Vec<&str> = [S::JwsPresent, S::JwsVerify, S::Kubeconfig, S::CaPin, S::CaValidity]
                .iter()
                .map(|s| s.name())
                .collect();
            assert_eq!(names, want);
        }
    }

    #[test]
    fn one_flipped_byte_in_the_signed_kubeconfig_is_jws_invalid() {
        for v in [V124_RSA, V136_RSA] {
            // The server's port, inside the signed kubeconfig text, one digit changed.
            let port = &v.server[v.server.rfind(':').unwrap()..];
            let flipped_port = format!("{}{}", &port[..port.len() - 1], if port.ends_with('3') { '4' } else { '3' });
            let tampered = v.body.replacen(port, &flipped_port, 1);
            assert_ne!(tampered, v.body);
            let f = check(&tampered, v.token, &pinned(v.pin)).1.unwrap_err();
            assert_eq!((f.code, f.stage.as_str()), (Code::JwsInvalid, "jws-verify"), "{f}");
        }
    }

    #[test]
    fn wrong_secret_is_jws_invalid_and_unknown_id_is_jws_missing() {
        let f = check(V124_RSA.body, "v49uhc.0000000000000000", &pinned(V124_RSA.pin)).1.unwrap_err();
        assert_eq!((f.code, f.stage.as_str()), (Code::JwsInvalid, "jws-verify"));
        let f = check(V124_RSA.body, "abcdef.4xw3u8xp298x9m5n", &pinned(V124_RSA.pin)).1.unwrap_err();
        assert_eq!((f.code, f.stage.as_str()), (Code::JwsMissing, "jws-present"));
        assert!(f.message.contains("v49uhc"), "names the signed IDs: {}", f.message);
        // Other tokens are signed: the token is the problem, permanent.
        assert!(!Code::JwsMissing.is_retryable() && !Code::JwsInvalid.is_retryable());
    }

    #[test]
    fn nothing_signed_is_jws_none_signed_and_retryable_with_signed_ids_reported() {
        let ci = UntrustedClusterInfo::from_text(V124_RSA.body).unwrap();
        let unsigned = UntrustedClusterInfo {
            data: ci.data.into_iter().filter(|(k, _)| !k.starts_with(JWS_KEY_PREFIX)).collect(),
        };
        let token = BootstrapToken::parse(V124_RSA.token).unwrap();
        let mut report = Report::new("verify-discovery");
        let f = check_cluster_info(&mut report, &unsigned, &token, &pinned(V124_RSA.pin), None).unwrap_err();
        assert_eq!((f.code, f.stage.as_str(), f.exit_code()), (Code::JwsNoneSigned, "jws-present", 33));
        assert!(Code::JwsNoneSigned.is_retryable());
        assert!(f.cause.contains("bootstrapsigner"), "{}", f.cause);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["signedTokenIds"], serde_json::json!([]), "{v}");
        // With the token missing while another is signed, the list names it.
        let mut report = Report::new("verify-discovery");
        let ci = UntrustedClusterInfo::from_text(V124_RSA.body).unwrap();
        let other = BootstrapToken::parse("abcdef.4xw3u8xp298x9m5n").unwrap();
        let f = check_cluster_info(&mut report, &ci, &other, &pinned(V124_RSA.pin), None).unwrap_err();
        assert_eq!(f.code, Code::JwsMissing);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["signedTokenIds"], serde_json::json!(["v49uhc"]), "{v}");
    }

    #[test]
    fn wrong_pin_is_a_ca_pin_failure_naming_the_real_pin_and_unsafe_skip_warns() {
        let (_, r) = check(V124_ECDSA.body, V124_ECDSA.token, &pinned(OTHER_PIN));
        let f = r.unwrap_err();
        assert_eq!((f.code, f.stage.as_str()), (Code::PinMismatch, "ca-pin"));
        assert!(f.message.contains(V124_ECDSA.pin) && f.fix.contains(V124_ECDSA.pin), "{f:?}");
        let (report, r) = check(V124_ECDSA.body, V124_ECDSA.token, &Trust::UnsafeSkip);
        assert_eq!(r.unwrap().trusted_by(), &TrustedBy::UnsafeSkip);
        assert!(report.warnings().iter().any(|w| w.starts_with("ca-pin: UNSAFE")), "{:?}", report.warnings());
    }

    #[test]
    fn the_jws_key_is_kubeadms() {
        assert_eq!(jws_key("abcdef"), "jws-kubeconfig-abcdef");
        let ci = UntrustedClusterInfo::from_text(V136_RSA.body).unwrap();
        let mut ids = ci.signed_ids();
        ids.sort();
        assert_eq!(ids, ["19czna", "5ghmow"]);
    }
}
