//! Bootstrap tokens through the API, as `kubeadm token create|list|delete` do (spec section 1),
//! plus `describe`: is the token valid, signed in cluster-info, and do the RBAC bindings a join
//! needs exist for its groups (spec section 6)?

//!
//! Objects are typed with k8s-openapi: the token Secrets, the cluster-info ConfigMap and the
//! ClusterRoleBindings (converted at the boundary with [`crate::k8s::typed`]).

use super::secret::{token_secret_object, TokenSecret};
use super::BootstrapToken;
use crate::client::api::{expect_kind, ApiClient};
use crate::error::{Code, Failure};
use crate::k8s::typed;
use crate::pin::Pin;
use crate::report::{Common, Report};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

crate::stages! {
    /// The stages of the token commands (`token create`, `list`, `describe`, `delete`); each
    /// command records the ones it runs, `describe` in this order.
    pub enum TokenStage {
        /// `list`: the token Secrets are listed.
        List = "list",
        /// `create`: the token's Secret is created.
        Create = "create",
        /// `describe`: the token's Secret exists.
        Secret = "secret",
        /// `describe` with a whole token: its secret matches the Secret's.
        TokenSecret = "token-secret",
        /// `describe`: the token has not expired.
        Expiry = "expiry",
        /// `describe`: the token has both usages a join needs.
        Usages = "usages",
        /// `create`, `describe`: cluster-info carries a valid JWS for the token.
        Signature = "signature",
        /// `describe`: a binding lets the token's groups create CSRs.
        RbacBootstrapper = "rbac-bootstrapper",
        /// `describe`: a binding lets the token's groups have their CSR auto-approved.
        RbacAutoapprove = "rbac-autoapprove",
        /// `describe`: a binding lets the token's groups read Nodes.
        RbacGetNodes = "rbac-get-nodes",
        /// `delete`: one token is deleted.
        Delete = "delete",
    }
}

/// kubeadm's default group for node bootstrap tokens.
pub(crate) const DEFAULT_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";
/// The group regex kubeadm prints in its message.
pub(crate) const GROUP_PATTERN: &str = r"\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z";
/// The token ID pattern kubeadm prints.
pub(crate) const ID_PATTERN: &str = r"\A([a-z0-9]{6})\z";
const SECRETS: &str = "/api/v1/namespaces/kube-system/secrets";
const CLUSTER_INFO: &str = crate::discovery::CLUSTER_INFO_PATH;

/// What `token create` makes.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// The token (generated when the user gave none).
    pub token: BootstrapToken,
    /// TTL; `None` or zero: never expires.
    pub ttl: Option<Duration>,
    /// Usages (`signing`, `authentication`).
    pub usages: Vec<String>,
    /// Extra groups.
    pub groups: Vec<String>,
    /// Description.
    pub description: String,
}

fn bad(msg: String, fix: &str) -> Failure {
    Failure::new(Code::BadTokenOptions, Common::Input, msg)
        .kubeadm_self()
        .cause("the token options break kubeadm's rules")
        .fix(fix.to_string())
}

trait KubeadmSelf {
    fn kubeadm_self(self) -> Self;
}

impl KubeadmSelf for Failure {
    /// The message is kubeadm's own wording.
    fn kubeadm_self(self) -> Self {
        let m = self.message.clone();
        self.kubeadm(m)
    }
}

/// True when `g` matches [`GROUP_PATTERN`].
pub(crate) fn valid_group(g: &str) -> bool {
    let Some(rest) = g.strip_prefix("system:bootstrappers:") else { return false };
    !rest.is_empty()
        && rest.len() <= 256
        && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'-')
        && rest.bytes().last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl TokenSpec {
    /// Validates usages and groups with kubeadm's rules and messages (`bad-token-options`).
    pub fn validate(&self) -> Result<(), Failure> {
        for u in &self.usages {
            if u != "signing" && u != "authentication" {
                return Err(bad(
                    format!("invalid bootstrap token usage string: {u}, valid usage options: signing,authentication"),
                    "use --usages signing,authentication (or one of them)",
                ));
            }
        }
        if !self.groups.is_empty() && !self.usages.iter().any(|u| u == "authentication") {
            return Err(bad(
                "token groups cannot be specified unless --usages includes \"authentication\"".into(),
                "add authentication to --usages, or pass --groups '' for a signing-only token",
            ));
        }
        for g in &self.groups {
            if !valid_group(g) {
                return Err(bad(
                    format!("bootstrap group {g:?} is invalid (must match {GROUP_PATTERN})"),
                    "groups look like system:bootstrappers:<name>",
                ));
            }
        }
        Ok(())
    }

    /// The Secret kubeadm would create now.
    pub fn secret(&self) -> Secret {
        let exp = self.ttl.filter(|t| !t.is_zero()).map(|t| time::OffsetDateTime::now_utc() + t);
        let usages: Vec<&str> = self.usages.iter().map(String::as_str).collect();
        let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
        token_secret_object(&self.token, exp, &usages, &groups, &self.description)
    }
}

/// Parses `ID` or `ID.SECRET` as kubeadm's `token delete` does.
pub fn parse_id(s: &str) -> Result<String, Failure> {
    let s = s.trim();
    if super::is_valid_id(s) {
        return Ok(s.to_string());
    }
    if let Ok(t) = BootstrapToken::parse(s) {
        return Ok(t.id().to_string());
    }
    Err(Failure::new(
        Code::BadTokenFormat,
        Common::Input,
        format!("given token didn't match pattern {:?} or {:?}", ID_PATTERN, super::TOKEN_PATTERN),
    )
    .kubeadm_self()
    .cause("not a token ID ([a-z0-9]{6}) nor a token")
    .fix("pass the token ID, e.g. abcdef, as `joinkit token list` shows it"))
}

/// Parses `describe`'s argument: a token ID, or a whole token whose secret is then checked.
pub fn parse_given(s: &str) -> Result<(String, Option<BootstrapToken>), Failure> {
    match BootstrapToken::parse(s) {
        Ok(t) => Ok((t.id().to_string(), Some(t))),
        Err(_) => parse_id(s).map(|id| (id, None)),
    }
}

/// kubeadm's `duration.ShortHumanDuration`.
pub(crate) fn short_human(secs: i64) -> String {
    if secs < -1 {
        "<invalid>".into()
    } else if secs < 0 {
        "0s".into()
    } else if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86400 {
        format!("{}h", secs / 3600)
    } else if secs < 86400 * 365 {
        format!("{}d", secs / 86400)
    } else {
        format!("{}y", secs / (86400 * 365))
    }
}

/// kubeadm's TTL cell for an expiry at `expiration` (Unix seconds) seen at `now_nanos` (Unix
/// nanoseconds): `duration.ShortHumanDuration(time.Until(expires))` (formatBootstrapToken,
/// cmd/kubeadm/app/cmd/token.go). The remaining time is truncated toward zero like Go's
/// `int(d.Seconds())` (k8s.io/apimachinery/pkg/util/duration): 1.5 s past expiry is `0s`, only
/// from 2 s past it is `<invalid>`.
fn ttl_cell(expiration: i64, now_nanos: i128) -> String {
    let remaining_nanos = i128::from(expiration) * 1_000_000_000 - now_nanos;
    short_human(i64::try_from(remaining_nanos / 1_000_000_000).unwrap_or(i64::MIN))
}

/// A token as `list` and `describe` show it. The secret is included only on request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// `<id>.<redacted>`, or the whole token with `--show-secrets`.
    pub token: String,
    /// Token ID.
    pub id: String,
    /// kubeadm's TTL column (`23h`, `<forever>`, `<invalid>`).
    pub ttl: String,
    /// RFC 3339 expiry or `<never>`.
    pub expires: String,
    /// True when expired now.
    pub expired: bool,
    /// Usages.
    pub usages: Vec<String>,
    /// Description (`<none>` in text).
    pub description: String,
    /// Extra groups.
    pub groups: Vec<String>,
    /// Whether cluster-info carries a signature for it.
    pub signed: bool,
    /// Whether that signature verifies with this token's secret.
    pub signature_valid: bool,
}

/// What cluster-info holds: its data (the JWS signatures by key) and its kubeconfig.
#[derive(Default)]
struct ClusterInfo {
    data: BTreeMap<String, String>,
    kubeconfig: Option<String>,
}

impl ClusterInfo {
    /// The JWS cluster-info carries for token ID `id`, if any.
    fn signature(&self, id: &str) -> Option<&str> {
        self.data.get(&crate::discovery::jws_key(id)).map(String::as_str)
    }

    /// True when cluster-info carries a JWS for `id` that verifies with `secret`.
    fn verifies(&self, id: &str, secret: &str) -> bool {
        match (self.signature(id), self.kubeconfig.as_deref()) {
            (Some(sig), Some(kc)) => crate::jws::verify(kc, sig, id, secret).is_ok(),
            _ => false,
        }
    }
}

fn info_of(ts: &TokenSecret, ci: &ClusterInfo, show: bool) -> TokenInfo {
    let now_utc = time::OffsetDateTime::now_utc();
    let now = now_utc.unix_timestamp();
    let (ttl, expires) = match ts.expiration {
        Some(e) => (
            ttl_cell(e, now_utc.unix_timestamp_nanos()),
            crate::duration::rfc3339(
                time::OffsetDateTime::from_unix_timestamp(e).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            ),
        ),
        None => ("<forever>".into(), "<never>".into()),
    };
    let mut usages = Vec::new();
    if ts.authentication {
        usages.push("authentication".to_string());
    }
    if ts.signing {
        usages.push("signing".to_string());
    }
    TokenInfo {
        token: if show { format!("{}.{}", ts.id, ts.secret) } else { format!("{}.<redacted>", ts.id) },
        id: ts.id.clone(),
        ttl,
        expires,
        expired: ts.expired(now),
        usages,
        description: ts.description.clone(),
        groups: ts.groups.clone(),
        signed: ci.signature(&ts.id).is_some(),
        signature_valid: ci.verifies(&ts.id, &ts.secret),
    }
}

async fn cluster_info(client: &ApiClient) -> Result<ClusterInfo, Failure> {
    let what = format!("GET {CLUSTER_INFO}");
    let Some(c) = client.get_opt(CLUSTER_INFO).await? else { return Ok(ClusterInfo::default()) };
    expect_kind(&c, &["ConfigMap"], &what)?;
    let mut data = typed::<ConfigMap>(c, &what)?.data.unwrap_or_default();
    let kubeconfig = data.remove("kubeconfig");
    Ok(ClusterInfo { data, kubeconfig })
}

/// Every bootstrap token, sorted by ID.
pub async fn list(client: &ApiClient, show_secrets: bool) -> Result<(Vec<TokenInfo>, Vec<String>), Failure> {
    let path = format!("{SECRETS}?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken");
    let v = client.get(&path).await?;
    expect_kind(&v, &["SecretList"], &format!("GET {path}"))?;
    let ci = cluster_info(client).await?;
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    // The list is read as JSON for its items only; each item is typed as a Secret.
    for item in v.get("items").and_then(serde_json::Value::as_array).into_iter().flatten() {
        let s: Option<Secret> = serde_json::from_value(item.clone()).ok();
        match s.as_ref().and_then(TokenSecret::of) {
            Some(ts) => out.push(info_of(&ts, &ci, show_secrets)),
            None => warnings.push(format!(
                "Secret {} has the bootstrap token type but is malformed (bad token-id/token-secret or a name that does not match)",
                s.as_ref().map(|s| crate::k8s::name_of(&s.metadata)).unwrap_or("?")
            )),
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((out, warnings))
}

/// kubeadm's `<none>` for an empty cell (formatBootstrapToken in cmd/kubeadm/app/cmd/token.go:
/// usages, description and extra groups).
fn none_if_empty(s: String) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s
    }
}

/// kubeadm's `token list` table plus a SIGNED column. Cells are escaped
/// ([`crate::report::escape_controls`]) and cut at 120 characters.
pub fn list_table(tokens: &[TokenInfo]) -> String {
    let rows: Vec<[String; 7]> = std::iter::once(
        ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS", "SIGNED"].map(String::from),
    )
    .chain(tokens.iter().map(|t| {
        [
            t.token.clone(),
            t.ttl.clone(),
            t.expires.clone(),
            none_if_empty(t.usages.join(",")),
            none_if_empty(t.description.clone()),
            none_if_empty(t.groups.join(",")),
            (if t.signed {
                if t.signature_valid {
                    "yes"
                } else {
                    "invalid"
                }
            } else {
                "no"
            })
            .to_string(),
        ]
    }))
    // Server-supplied text (descriptions, groups) is escaped (no terminal control sequences)
    // and cut, as everywhere in text output.
    .map(|r| r.map(|c| crate::report::escape_controls(&crate::report::truncate_for_display(&c, 120)).into_owned()))
    .collect();
    let widths: Vec<usize> = (0..7).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut s = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 6 { c.clone() } else { format!("{c:<w$}", w = widths[i]) })
            .collect();
        s.push_str(line.join("   ").trim_end());
        s.push('\n');
    }
    s
}

/// Creates the token's Secret (failing if the ID exists, with kubeadm's message); returns the
/// Secret the server created.
pub async fn create(client: &ApiClient, spec: &TokenSpec) -> Result<Secret, Failure> {
    spec.validate()?;
    let name = format!("bootstrap-token-{}", spec.token.id());
    let exists = || {
        Failure::new(
            Code::ApiConflict,
            TokenStage::Create,
            format!("a token with id {:?} already exists", spec.token.id()),
        )
        .kubeadm_self()
        .cause("the token ID is taken by an existing bootstrap token")
        .fix("let joinkit generate a token, or delete the old one with `joinkit token delete ID`")
    };
    if let Some(old) = client.get_opt(&format!("{SECRETS}/{name}")).await? {
        expect_kind(&old, &["Secret"], &format!("GET {SECRETS}/{name}"))?;
        return Err(exists());
    }
    let body = serde_json::to_value(spec.secret()).unwrap_or_default();
    let created = client.post(SECRETS, &body).await.map_err(|f| {
        if f.code == Code::ApiConflict {
            exists()
        } else {
            f.at(TokenStage::Create)
        }
    })?;
    let what = format!("POST {SECRETS}");
    expect_kind(&created, &["Secret"], &what).map_err(|f| f.at(TokenStage::Create))?;
    typed(created, &what).map_err(|f| f.at(TokenStage::Create))
}

/// Waits (bounded) until cluster-info carries a valid signature for `token`. Returns whether it
/// appeared and the CA pins of cluster-info.
pub async fn wait_signed(
    client: &ApiClient,
    token: &BootstrapToken,
    bound: Duration,
) -> Result<(bool, Vec<String>), Failure> {
    let mut retry =
        crate::client::retry::Retry::new(crate::client::retry::Policy::polling(Duration::from_millis(25), bound));
    let _progress = crate::report::progress::Progress::start(format!(
        "waiting for the bootstrapsigner to sign cluster-info for token {} (up to {})",
        token.id(),
        crate::duration::format(bound)
    ));
    loop {
        let ci = cluster_info(client).await?;
        let pins = ci.kubeconfig.as_deref().map(pins_of_kubeconfig).unwrap_or_default();
        if ci.verifies(token.id(), token.secret()) {
            return Ok((true, pins));
        }
        match retry.pause_after(true, None) {
            Some(pause) => tokio::time::sleep(pause).await,
            None => return Ok((false, pins)),
        }
    }
}

fn pins_of_kubeconfig(kc: &str) -> Vec<String> {
    crate::kubeconfig::Kubeconfig::parse(kc)
        .ok()
        .and_then(|k| k.cluster(None).ok().and_then(|c| k.ca_bytes(&c.cluster).ok().flatten()))
        .and_then(|b| crate::pin::pins_of_pem(&b, "cluster-info CA").ok())
        .map(|p| p.iter().map(Pin::to_string).collect())
        .unwrap_or_default()
}

/// kubeadm's join command, byte for byte as `kubeadm token create --print-join-command` prints
/// it (without the newline). kubeadm renders `joinCommandTemplate`
/// (cmd/kubeadm/app/cmd/util/join.go) and then deletes every backslash-newline and tab
/// (cmd/kubeadm/app/cmd/token.go, RunCreateToken), which leaves: `kubeadm join <server without
/// https://> --token <token> ` + `--discovery-token-ca-cert-hash <pin> ` per pin, then, for a
/// control-plane join, `--control-plane --certificate-key <key>`. So a worker's command ends
/// with a space (after the last pin) and a control-plane one does not; both were compared with
/// the real kubeadm v1.36.2 (tests/it/kubeadm_tokens.rs, docs/kubeadm-token-parity.md).
pub fn join_command(server: &str, token: &BootstrapToken, pins: &[String], certificate_key: Option<&str>) -> String {
    // kubeadm: strings.Replace(server, "https://", "", -1).
    let mut s = format!("kubeadm join {} --token {} ", server.replace("https://", ""), token.expose());
    for p in pins {
        s.push_str(&format!("--discovery-token-ca-cert-hash {p} "));
    }
    if let Some(k) = certificate_key {
        s.push_str(&format!("--control-plane --certificate-key {k}"));
    }
    s
}

/// The pins of the kubeconfig's CA data (kubeadm's rule), falling back to `fallback`.
pub fn kubeconfig_pins(client: &ApiClient, fallback: &[String]) -> Vec<String> {
    let pins: Vec<String> =
        client.ca.iter().filter_map(|c| crate::pin::inspect(c.as_ref(), "kubeconfig CA").ok()).map(|i| i.pin).collect();
    if pins.is_empty() {
        fallback.to_vec()
    } else {
        pins
    }
}

/// The bindings a join needs for a token group: (check, ClusterRole, what it allows).
pub(crate) const JOIN_BINDINGS: &[(TokenStage, &str, &str)] = &[
    (TokenStage::RbacBootstrapper, "system:node-bootstrapper", "create CSRs (kubeadm:kubelet-bootstrap)"),
    (
        TokenStage::RbacAutoapprove,
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        "auto-approval of the node's CSR (kubeadm:node-autoapprove-bootstrap)",
    ),
    (TokenStage::RbacGetNodes, "kubeadm:get-nodes", "read Nodes during join (kubeadm:get-nodes)"),
];

/// `describe`: the token's state as report stages. When `given` (a whole token) is passed, its
/// secret is checked, in constant time, against the Secret's `token-secret` (stage
/// `token-secret`: a mismatch is `bootstrap-token-rejected`, the API server would answer 401)
/// and against cluster-info's JWS for its ID (stage `signature`: `jws-invalid`). The given
/// secret is never printed.
pub async fn describe(
    client: &ApiClient,
    id: &str,
    given: Option<&BootstrapToken>,
    show_secret: bool,
) -> Result<Report, Failure> {
    let mut report = Report::new("token describe");
    let name = format!("bootstrap-token-{id}");
    let path = format!("{SECRETS}/{name}");
    let Some(s) = client.get_opt(&path).await? else {
        return Err(Failure::new(
            Code::ApiNotFound,
            TokenStage::Secret,
            format!("bootstrap token {id:?} not found (no Secret kube-system/{name})"),
        )
        .cause("the token was deleted, expired and was removed by the tokencleaner, or the ID is mistyped")
        .fix("list tokens with `joinkit token list`; create one with `joinkit token create`"));
    };
    expect_kind(&s, &["Secret"], &format!("GET {path}"))?;
    let s: Secret = typed(s, &format!("GET {path}"))?;
    let Some(ts) = TokenSecret::of(&s) else {
        return Err(Failure::new(
            Code::ApiInvalid,
            TokenStage::Secret,
            format!("Secret kube-system/{name} is not a well-formed bootstrap token"),
        )
        .cause("its type, token-id, token-secret or name is wrong")
        .fix("delete it and create a new token"));
    };
    let ci = cluster_info(client).await?;
    let info = info_of(&ts, &ci, show_secret);
    report.pass(TokenStage::Secret, format!("Secret kube-system/{name} exists"));
    if let Some(t) = given {
        if crate::jws::secrets_equal(t.secret().as_bytes(), ts.secret.as_bytes()) {
            report.pass(
                TokenStage::TokenSecret,
                format!("the given token {} matches the Secret's token-secret", t.redacted()),
            );
        } else {
            report.fail(
                Failure::new(
                    Code::BootstrapTokenRejected,
                    TokenStage::TokenSecret,
                    format!(
                        "the given token {} does not match Secret kube-system/{name}: its secret differs from the Secret's token-secret",
                        t.redacted()
                    ),
                )
                .cause("the token secret was mistyped or truncated, or it is an old token whose ID was reused; the API server rejects it (401) at TLS bootstrap and discovery fails with jws-invalid")
                .fix("copy the token again (`joinkit token list --show-secrets` on an admin machine), or create a new one with `joinkit token create`"),
            );
        }
    }
    if info.expired {
        report.warn(TokenStage::Expiry, format!("EXPIRED at {} (the tokencleaner will delete it)", info.expires));
    } else {
        report.pass(TokenStage::Expiry, format!("valid; expires {} (TTL {})", info.expires, info.ttl));
    }
    if ts.signing && ts.authentication {
        report.pass(TokenStage::Usages, info.usages.join(","));
    } else {
        report.warn(
            TokenStage::Usages,
            format!(
                "{}: a join needs both signing (discovery) and authentication (TLS bootstrap)",
                info.usages.join(",")
            ),
        );
    }
    let given_verifies = match (given, ci.signature(id), ci.kubeconfig.as_deref()) {
        (Some(t), Some(_), Some(_)) => Some(ci.verifies(t.id(), t.secret())),
        _ => None,
    };
    match (info.signed, info.signature_valid) {
        (true, _) if given_verifies == Some(false) => report.fail(
            Failure::new(
                Code::JwsInvalid,
                TokenStage::Signature,
                format!("cluster-info's JWS for token ID {id} does not verify with the given token's secret over cluster-info's kubeconfig"),
            )
            .kubeadm("failed to verify JWS signature of received cluster info object, can't trust this API Server")
            .cause(if info.signature_valid {
                "the given token secret is wrong (the JWS verifies with the Secret's own secret): discovery with this token fails"
            } else {
                "the token secret is wrong, or cluster-info was modified after it was signed"
            })
            .fix("use the token exactly as `joinkit token create` printed it, or create a new one"),
        ),
        (true, true) => report.pass(TokenStage::Signature, "cluster-info carries a valid JWS for this token"),
        (true, false) => report.warn(TokenStage::Signature, "cluster-info carries a JWS for this ID that does not verify with this token's secret"),
        (false, _) => report.warn(TokenStage::Signature, "cluster-info carries no JWS for this token: token discovery fails with jws-missing (no signing usage or expired, while other tokens are signed) or jws-none-signed (nothing signed: the bootstrapsigner is not running)"),
    }
    const CRBS: &str = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
    let crbs = client.get(CRBS).await?;
    expect_kind(&crbs, &["ClusterRoleBindingList"], &format!("GET {CRBS}"))?;
    let items: Vec<ClusterRoleBinding> = crate::k8s::items(&crbs);
    let mut groups = vec!["system:bootstrappers".to_string()];
    groups.extend(ts.groups.clone());
    for (check, role, what) in JOIN_BINDINGS {
        let found = items.iter().find(|b| crate::k8s::binding_grants(b, role, &groups));
        match found {
            Some(b) => report.pass(*check, format!("ClusterRoleBinding {} grants {what}", crate::k8s::name_of(&b.metadata))),
            None => report.warn(*check, format!("no ClusterRoleBinding of {role} to the token's groups {:?}: the join will lack {what}; `kubeadm init phase bootstrap-token` recreates kubeadm's bindings", ts.groups)),
        }
    }
    report.set("token", &info);
    Ok(report)
}

/// Deletes tokens by ID; each result becomes a stage; the first error is the failure.
pub async fn delete(client: &ApiClient, ids: &[String]) -> Report {
    let mut report = Report::new("token delete");
    for id in ids {
        report.start();
        let path = format!("{SECRETS}/bootstrap-token-{id}");
        let deleted =
            client.delete(&path).await.and_then(|v| expect_kind(&v, &["Status", "Secret"], &format!("DELETE {path}")));
        match deleted {
            Ok(()) => report.pass(TokenStage::Delete, format!("bootstrap token {id:?} deleted")),
            Err(f) if f.code == Code::ApiNotFound => report.fail(
                Failure::new(Code::ApiNotFound, TokenStage::Delete, format!("bootstrap token {id:?} not found"))
                    .kubeadm(format!(
                        "failed to delete bootstrap token {id:?}: secrets \"bootstrap-token-{id}\" not found"
                    ))
                    .cause("no such token: deleted already, removed by the tokencleaner after expiry, or mistyped")
                    .fix("list tokens with `joinkit token list`"),
            ),
            Err(f) => report.fail(f.at(TokenStage::Delete)),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_cell_truncates_like_go() {
        const S: i128 = 1_000_000_000;
        let e = 1_000_000;
        let at = |nanos_before_expiry: i128| ttl_cell(e, i128::from(e) * S - nanos_before_expiry);
        // kubeadm: 2 h minus a moment is "1h"; 90 s is "1m"; 59.9 s is "59s".
        assert_eq!(at(2 * 3600 * S - 1), "1h");
        assert_eq!(at(90 * S), "1m");
        assert_eq!(at(59 * S + S * 9 / 10), "59s");
        // Past expiry: int(-1.5) is -1 in Go, so "0s"; from -2 s "<invalid>".
        assert_eq!(at(-S / 2), "0s");
        assert_eq!(at(-S * 3 / 2), "0s");
        assert_eq!(at(-2 * S), "<invalid>");
        assert_eq!(at(400 * 86400 * S), "1y");
        assert_eq!(ttl_cell(i64::MIN, 0), "<invalid>");
    }

    #[test]
    fn empty_cells_are_none_as_kubeadm_prints_them() {
        let t = TokenInfo {
            token: "abcdef.<redacted>".into(),
            id: "abcdef".into(),
            ttl: "1h".into(),
            expires: "2026-01-01T00:00:00Z".into(),
            expired: false,
            usages: vec![],
            description: String::new(),
            groups: vec![],
            signed: false,
            signature_valid: false,
        };
        let table = list_table(&[t]);
        let row: Vec<&str> =
            table.lines().nth(1).unwrap().split("   ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(row, ["abcdef.<redacted>", "1h", "2026-01-01T00:00:00Z", "<none>", "<none>", "<none>", "no"]);
    }

    #[test]
    fn join_command_is_kubeadms_template() {
        let t = BootstrapToken::parse("abcdef.0123456789abcdef").unwrap();
        let pins = ["sha256:aa".to_string(), "sha256:bb".to_string()];
        assert_eq!(
            join_command("https://10.0.0.1:6443", &t, &pins, None),
            "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:aa --discovery-token-ca-cert-hash sha256:bb "
        );
        assert_eq!(
            join_command("https://10.0.0.1:6443", &t, &pins[..1], Some("k")),
            "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:aa --control-plane --certificate-key k"
        );
    }
}
