//! The API server's status errors read by their structure: who was refused what.
//!
//! The shapes (upstream kubernetes/kubernetes):
//! - `staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go`: `NewForbidden` prints
//!   `%s %q is forbidden: %v` (qualified resource, name, reason), `%s is forbidden: %v` without a
//!   name; `NewNotFound` `%s %q not found`; `NewAlreadyExists` `%s %q already exists`;
//!   `NewConflict` `Operation cannot be fulfilled on %s %q: %v`; `NewUnauthorized` prints its
//!   reason (`not authorized` when empty), and the API server's authentication filter
//!   (`staging/src/k8s.io/apiserver/pkg/endpoints/filters/authentication.go`) gives it
//!   `Unauthorized`: every 401 reads `Unauthorized`.
//! - `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go`
//!   (`forbiddenMessage`, 1.11+): `User %q cannot %s resource %q in API group %q in the
//!   namespace %q` or `... at the cluster scope`, then `: <authorizer reason>` when the
//!   authorizer gave one; before 1.11 `User %q cannot %s %s in the namespace %q` /
//!   `User %q cannot %s %s at the cluster scope` (resource unquoted, `resource.group`).
//! - `plugin/pkg/auth/authorizer/node/node_authorizer.go` (the reasons above, for
//!   `system:node:<name>`): `no relationship found between node '%s' and this object`,
//!   `can only access node lease with the same name as the requesting node`.
//! - `plugin/pkg/admission/noderestriction/admission.go` (wrapped by `NewForbidden`, no user):
//!   `node %q is not allowed to modify node %q`, `can only access node lease with the same name
//!   as the requesting node`.
//!
//! [`parse`] takes such a line apart ([`StatusError`]); [`classify`] decides the domain from the
//! subject and the object. explain-log runs them as one structural rule: the catalog's literal
//! automaton finds `is forbidden: `, ` cannot ` or `Unauthorized` in a line, and the rule adds
//! its finding where no catalog cause but the generic ones it
//! supersedes (`rbac-forbidden`, `kubelet-unauthorized`) matched: a more specific catalog
//! entry keeps precedence.

use super::catalog::{Signature, Source, ROLE_CAUSE};
use crate::error::Domain;
use regex::Regex;
use std::sync::OnceLock;

/// The kind of status error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 403.
    Forbidden,
    /// 401.
    Unauthorized,
    /// 404.
    NotFound,
    /// 409, `already exists`.
    AlreadyExists,
    /// 409, `Operation cannot be fulfilled`.
    Conflict,
}

/// A status error taken apart; the fields the line does not carry are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError<'a> {
    /// Its kind.
    pub kind: Kind,
    /// The user refused (`User "..."`).
    pub subject: Option<&'a str>,
    /// The verb refused.
    pub verb: Option<&'a str>,
    /// The resource (plural, with `/subresource`; the qualified `resource.group` of the
    /// `NewForbidden` prefix when no `User` clause names it).
    pub resource: Option<&'a str>,
    /// The API group (`""` is the core group).
    pub group: Option<&'a str>,
    /// The namespace (`None` at the cluster scope or when not said).
    pub namespace: Option<&'a str>,
    /// The object's name.
    pub name: Option<&'a str>,
    /// The authorizer's or admission plugin's reason, after the user clause (or the whole
    /// detail after `is forbidden: ` when it has no user clause).
    pub reason: Option<&'a str>,
}

struct Res {
    forbidden: Regex,
    user: Regex,
    user_old: Regex,
    not_found: Regex,
    exists: Regex,
    conflict: Regex,
    modify: Regex,
    relationship: Regex,
}

fn res() -> &'static Res {
    static R: OnceLock<Res> = OnceLock::new();
    // A name or string: quoted ("x", \"x\" in a structured log) or bare.
    const Q: &str = r#"\\?"([^"\\]*)\\?""#;
    R.get_or_init(|| {
        let re = |p: String| Regex::new(&p).expect("a valid regex (tested)");
        Res {
            forbidden: re(format!(r"([A-Za-z0-9][A-Za-z0-9.\-/]*)(?: {Q})? is forbidden: ?(.*)$")),
            user: re(format!(
                r#"User (?:{Q}|([^\s"\\]+)) cannot ([a-z]+) resource {Q} in API group {Q}(?: in the namespace \\?"([^"\\]*)(?:\\?")?| at the cluster scope)?(?:: (.*))?"#
            )),
            user_old: re(format!(
                r#"User (?:{Q}|([^\s"\\]+)) cannot ([a-z]+) ([A-Za-z0-9][A-Za-z0-9.\-/]*)(?: in the namespace \\?"([^"\\]*)(?:\\?")?| at the cluster scope)?(?:: (.*))?"#
            )),
            not_found: re(format!(r"([A-Za-z0-9][A-Za-z0-9.\-/]*) {Q} not found")),
            exists: re(format!(r"([A-Za-z0-9][A-Za-z0-9.\-/]*) {Q} already exists")),
            conflict: re(format!(r"Operation cannot be fulfilled on ([A-Za-z0-9][A-Za-z0-9.\-/]*) {Q}: ?(.*)$")),
            modify: re(format!(r#"node (?:{Q}|([^\s"\\]+)) (?:is not allowed to|cannot) modify node (?:{Q}|\\?"?([^\s"\\]+))"#)),
            relationship: re(r"no relationship found between node '([^']*)'".into()),
        }
    })
}

/// The text of a line up to its first invalid UTF-8 byte (status messages are ASCII).
fn text(line: &[u8]) -> &str {
    match std::str::from_utf8(line) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Whether `w` is in `s` as a word (no ASCII letter, digit or `_` on either side), as the
/// catalog's `\bUnauthorized\b` (ASCII `\b`; a Unicode `\b` regex would cost a slower engine).
fn word(s: &str, w: &str) -> bool {
    let b = s.as_bytes();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    memchr::memmem::find_iter(b, w.as_bytes()).any(|at| {
        let end = at + w.len();
        (at == 0 || !is_word(b[at - 1])) && (end == b.len() || !is_word(b[end]))
    })
}

/// The largest char boundary of `s` at or before `i`.
fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Takes a status error out of `line`: the first of forbidden (with or without its
/// `NewForbidden` prefix: a log may wrap the `User ...` clause onto its own line), not found,
/// already exists, conflict, unauthorized.
pub fn parse(line: &[u8]) -> Option<StatusError<'_>> {
    fn opt<'t>(m: Option<regex::Match<'t>>) -> Option<&'t str> {
        m.map(|m| m.as_str())
    }
    // A reason runs to the end of the line, or in a structured log line (klog's
    // `err="...: reason" key=value`, inner quotes escaped) to the first unescaped quote.
    fn reason_of<'t>(m: Option<regex::Match<'t>>, structured: bool) -> Option<&'t str> {
        let r = opt(m)?;
        let b = r.as_bytes();
        let end = match structured {
            true => (0..b.len()).find(|&k| b[k] == b'"' && (k == 0 || b[k - 1] != b'\\')).unwrap_or(b.len()),
            false => b.len(),
        };
        Some(r[..end].trim_end_matches('\\').trim_end()).filter(|s| !s.is_empty())
    }
    let line = text(line);
    let structured = line.contains("\\\"");
    let nonempty = |m| reason_of(m, structured);
    let r = res();
    let none = |kind| StatusError {
        kind,
        subject: None,
        verb: None,
        resource: None,
        group: None,
        namespace: None,
        name: None,
        reason: None,
    };
    // Each regex runs only where its literal is (a memchr search), so a line costs a few
    // substring searches and the one regex that applies (explain-log's throughput).
    let has = |lit: &str| memchr::memmem::find(line.as_bytes(), lit.as_bytes());
    // The `NewForbidden` prefix: searched from a little before `is forbidden:` (a resource and
    // a quoted name fit in 512 bytes).
    let prefix =
        has(" is forbidden:").and_then(|at| r.forbidden.captures(&line[floor(line, at.saturating_sub(512))..]));
    let user = has(" cannot ").is_some() && has("User ").is_some();
    if let Some(c) = user.then(|| r.user.captures(line)).flatten() {
        let mut e = none(Kind::Forbidden);
        e.subject = opt(c.get(1).or(c.get(2)));
        e.verb = opt(c.get(3));
        e.resource = opt(c.get(4));
        e.group = opt(c.get(5));
        e.namespace = opt(c.get(6));
        e.reason = nonempty(c.get(7));
        e.name = prefix.as_ref().and_then(|p| opt(p.get(2)));
        return Some(e);
    }
    if let Some(c) = user.then(|| r.user_old.captures(line)).flatten() {
        let mut e = none(Kind::Forbidden);
        e.subject = opt(c.get(1).or(c.get(2)));
        e.verb = opt(c.get(3));
        // `resource.group` (pre-1.11 printed the qualified resource).
        let qualified = c.get(4).map_or("", |m| m.as_str());
        let (res, group) = qualified.split_once('.').unwrap_or((qualified, ""));
        e.resource = Some(res);
        e.group = Some(group);
        e.namespace = opt(c.get(5));
        e.reason = nonempty(c.get(6));
        e.name = prefix.as_ref().and_then(|p| opt(p.get(2)));
        return Some(e);
    }
    // NodeRestriction's reason alone (a user's paste, or a tool that prints the admission
    // error's reason without `NewForbidden`'s prefix): its wording is the structure.
    if prefix.is_none() && (has(" is not allowed to modify node ").is_some() || has(" cannot modify node ").is_some()) {
        if let Some(c) = r.modify.captures(line) {
            let mut e = none(Kind::Forbidden);
            e.resource = Some("nodes");
            e.reason = Some(c.get(0).map_or("", |m| m.as_str()));
            return Some(e);
        }
    }
    if let Some(p) = prefix {
        let mut e = none(Kind::Forbidden);
        let qualified = p.get(1).map_or("", |m| m.as_str());
        let (res, group) = qualified.split_once('.').unwrap_or((qualified, ""));
        e.resource = Some(res);
        e.group = Some(group);
        e.name = opt(p.get(2));
        e.reason = nonempty(p.get(3));
        return Some(e);
    }
    for (re, kind, lit) in [
        (&r.not_found, Kind::NotFound, "\" not found"),
        (&r.exists, Kind::AlreadyExists, "\" already exists"),
        (&r.conflict, Kind::Conflict, "Operation cannot be fulfilled on "),
    ] {
        if has(lit).is_none() {
            continue;
        }
        if let Some(c) = re.captures(line) {
            let mut e = none(kind);
            let qualified = c.get(1).map_or("", |m| m.as_str());
            let (res, group) = qualified.split_once('.').unwrap_or((qualified, ""));
            e.resource = Some(res);
            e.group = Some(group);
            e.name = opt(c.get(2));
            e.reason = nonempty(c.get(3));
            return Some(e);
        }
    }
    if word(line, "Unauthorized") {
        return Some(none(Kind::Unauthorized));
    }
    None
}

/// A class of status error explain-log reports ([`classify`]); the index of its signature in
/// [`signatures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `system:anonymous` refused the cluster-info ConfigMap: kubeadm's
    /// `kubeadm:bootstrap-signer-clusterinfo` Role/RoleBinding in kube-public is missing.
    AnonymousClusterInfo = 0,
    /// `Unauthorized` on token discovery's cluster-info GET, which carries no credentials:
    /// the API server runs with `--anonymous-auth=false`.
    AnonymousAuthOff = 1,
    /// A CSR creation refused: the `kubeadm:kubelet-bootstrap` binding (group
    /// `system:bootstrappers`) to `system:node-bootstrapper` is missing.
    BootstrapCsr = 2,
    /// A node refused another node's object (or its own lease): the kubelet's credential names
    /// another node than its node name.
    NodeIdentity = 3,
    /// Any other subject refused something: RBAC.
    Rbac = 4,
    /// `system:anonymous` refused anything but cluster-info: the client presented no credential
    /// the API server accepted (a kubeconfig without its token or certificate, a bootstrap token
    /// the server no longer knows), so the fix is the credential, not a binding for anonymous.
    AnonymousRefused = 5,
}

/// Every class, in index order (the order of [`signatures`]).
pub const CLASSES: [Class; 6] = [
    Class::AnonymousClusterInfo,
    Class::AnonymousAuthOff,
    Class::BootstrapCsr,
    Class::NodeIdentity,
    Class::Rbac,
    Class::AnonymousRefused,
];

/// Decides the class of `e`, seen on `line`; `None` where the structure decides nothing (a
/// 401 outside discovery, a 404/409, a 403 without a user or node clause): the catalog's
/// phrases decide those lines.
pub fn classify(e: &StatusError<'_>, line: &[u8]) -> Option<Class> {
    let line = text(line);
    let r = res();
    match e.kind {
        Kind::Unauthorized => {
            // kubeadm's token discovery (cmd/kubeadm/app/discovery/token/token.go) reads
            // cluster-info with an anonymous client; its wrappers across releases.
            discovery(line.as_bytes()).then_some(Class::AnonymousAuthOff)
        }
        Kind::Forbidden => {
            let reason = e.reason.unwrap_or("");
            let node = e.subject.and_then(|s| s.strip_prefix("system:node:"));
            // NodeRestriction's wording: "is not allowed to modify" since ~1.9, "cannot modify"
            // (quoted or bare names) in 1.7-1.8.
            let other = (line.contains(" is not allowed to modify node ") || line.contains(" cannot modify node "))
                .then(|| r.modify.captures(line))
                .flatten()
                .map(|c| {
                    let g = |a: usize, b: usize| c.get(a).or_else(|| c.get(b)).map_or("", |m| m.as_str());
                    (g(1, 2), g(3, 4))
                });
            if other.is_some_and(|(a, b)| a != b)
                || (line.contains("no relationship found between node") && r.relationship.is_match(line))
                || reason.contains("can only access node lease with the same name")
            {
                return Some(Class::NodeIdentity);
            }
            if let Some(node) = node {
                let node_object =
                    matches!(e.resource, Some("nodes" | "nodes/status" | "leases" | "pods" | "pods/status"));
                if node_object && e.name.is_some_and(|n| n != node && !n.is_empty()) {
                    return Some(Class::NodeIdentity);
                }
                if e.resource == Some("leases") {
                    return Some(Class::NodeIdentity);
                }
                return Some(Class::Rbac);
            }
            let subject = e.subject?;
            if subject == "system:anonymous"
                && e.resource == Some("configmaps")
                && (e.name.is_none_or(|n| n == "cluster-info"))
                && (e.namespace.is_none_or(|ns| ns == "kube-public"))
            {
                return Some(Class::AnonymousClusterInfo);
            }
            if subject == "system:anonymous" {
                return Some(Class::AnonymousRefused);
            }
            if e.resource == Some("certificatesigningrequests") && e.verb == Some("create") {
                return Some(Class::BootstrapCsr);
            }
            Some(Class::Rbac)
        }
        Kind::NotFound | Kind::AlreadyExists | Kind::Conflict => None,
    }
}

/// The class of `line`, if it is a status error explain-log decides by structure.
pub fn class_of(line: &[u8]) -> Option<Class> {
    // The quick way out for the common candidate, a 401 outside discovery (a kubelet's
    // reflector lines on a node with a bad credential): prebuilt substring searchers, no regex.
    let f = finders();
    if f.forbidden.find(line).is_none()
        && f.cannot.find(line).is_none()
        && f.modify.find(line).is_none()
        && !discovery(line)
    {
        return None;
    }
    parse(line).and_then(|e| classify(&e, line))
}

/// Substring searchers, built once.
struct Finders {
    forbidden: memchr::memmem::Finder<'static>,
    cannot: memchr::memmem::Finder<'static>,
    modify: memchr::memmem::Finder<'static>,
    discovery: [memchr::memmem::Finder<'static>; 3],
}

fn finders() -> &'static Finders {
    static F: OnceLock<Finders> = OnceLock::new();
    F.get_or_init(|| {
        let f = memchr::memmem::Finder::new;
        Finders {
            forbidden: f(" is forbidden:"),
            cannot: f(" cannot "),
            modify: f(" is not allowed to modify node "),
            discovery: [f("cluster-info"), f("cluster info"), f("validate the identity of the API Server")],
        }
    })
}

/// A line of kubeadm's token discovery (`cmd/kubeadm/app/discovery/token/token.go`), which
/// reads cluster-info with an anonymous client: its wrappers across releases name
/// cluster-info or "validate the identity of the API Server".
fn discovery(line: &[u8]) -> bool {
    finders().discovery.iter().any(|f| f.find(line).is_some())
}

/// The meaning of a finding of class `c` whose first line is `line`: the fixed meaning with
/// the subject, verb, resource and name the line carries.
pub fn meaning(c: Class, line: &str) -> String {
    let base = &signatures()[c as usize].meaning;
    let Some(e) = parse(line.as_bytes()) else { return base.clone() };
    let mut who = String::new();
    if let Some(s) = e.subject {
        who.push_str(&format!("{s:?} "));
    }
    if let (Some(v), Some(r)) = (e.verb, e.resource) {
        who.push_str(&format!("may not {v} {r}"));
        if let Some(g) = e.group.filter(|g| !g.is_empty()) {
            who.push_str(&format!(" (group {g})"));
        }
    } else if let Some(r) = e.resource {
        who.push_str(&format!("was refused {r}"));
    }
    if let Some(n) = e.name {
        who.push_str(&format!(" {n:?}"));
    }
    if let Some(ns) = e.namespace {
        who.push_str(&format!(" in namespace {ns:?}"));
    }
    if let Some(reason) = e.reason {
        who.push_str(&format!(" ({reason})"));
    }
    if who.trim().is_empty() {
        base.clone()
    } else {
        format!("{}: {base}", who.trim())
    }
}

/// The literals that make a line a candidate for the rule (the catalog's automaton finds
/// them; [`parse`] decides).
pub(crate) const LITERALS: [&[u8]; 4] =
    [b"is forbidden: ", b" cannot ", b"Unauthorized", b" is not allowed to modify node "];

/// The catalog ids the rule supersedes on a line it decides (the generic phrases for the same
/// errors).
pub(crate) const SUPERSEDES: [&str; 2] = ["rbac-forbidden", "kubelet-unauthorized"];

const F_ERRORS: &str = "kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go";
const F_FORBIDDEN: &str =
    "kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go";
const F_NODE: &str = "kubernetes/kubernetes plugin/pkg/auth/authorizer/node/node_authorizer.go";
const F_RESTRICT: &str = "kubernetes/kubernetes plugin/pkg/admission/noderestriction/admission.go";

/// The rule's signatures, in [`Class`] order.
pub(crate) fn signatures() -> &'static [Signature] {
    static S: OnceLock<Vec<Signature>> = OnceLock::new();
    S.get_or_init(|| {
        let src = |file: &str, releases: &str, wording: &str, evidence: &str| Source {
            file: file.into(),
            releases: releases.into(),
            wording: wording.into(),
            evidence: evidence.into(),
        };
        let forbidden = vec![
            src(F_ERRORS, "1.x-1.36", "%s %q is forbidden: %v", "index-id 62584807 (NewForbidden)"),
            src(F_FORBIDDEN, "~1.11-1.36", "User %q cannot %s resource %q in API group %q in the namespace %q", "index-id 197599860 (forbiddenMessage)"),
            src(F_FORBIDDEN, "~1.11-1.36", "User %q cannot %s resource %q in API group %q at the cluster scope", "index-id 197599860 (forbiddenMessage)"),
            src(F_FORBIDDEN, "<=1.10", "User %q cannot %s %s in the namespace %q", "tests/logs/141-* (kubeadm 1.12 against an older server)"),
        ];
        let sig = |id: &str, domain: Domain, pattern: &str, meaning: &str, fix: &str, sources: Vec<Source>| Signature {
            id: id.into(),
            domain: Some(domain),
            role: ROLE_CAUSE.into(),
            pattern: pattern.into(),
            masks: Vec::new(),
            meaning: meaning.into(),
            fix: fix.into(),
            sources,
            examples: Vec::new(),
            explains: Vec::new(),
            normal_after_join: false,
        };
        let mut node = forbidden.clone();
        node.push(src(F_NODE, "~1.8-1.36", "no relationship found between node '%s' and this object", "index-id 126241418"));
        node.push(src(F_NODE, "~1.14-1.36", "can only access node lease with the same name as the requesting node", "index-id 126241418"));
        node.push(src(F_RESTRICT, "~1.9-1.36", "node %q is not allowed to modify node %q", "index-id 49019139"));
        node.push(src(F_RESTRICT, "~1.7-1.8", "node %q cannot modify node %q", "index-id 260019656 and index-id 35386564365 (admission.NewForbidden(a, fmt.Errorf(\"node %q cannot modify node %q\", ...)))"));
        node.push(src(F_RESTRICT, "~1.7 (first form)", "node %s cannot modify node %s", "index-id 637209471"));
        vec![
            sig("status-anonymous-cluster-info-forbidden", Domain::Rbac, r#"User \\?"system:anonymous\\?" cannot"#,
                "RBAC refuses system:anonymous the cluster-info ConfigMap in kube-public: kubeadm's kubeadm:bootstrap-signer-clusterinfo Role and RoleBinding (which token discovery relies on) are missing",
                "run kubeadm init phase bootstrap-token on a control-plane node (it recreates the Role and RoleBinding), or use file discovery",
                forbidden.clone()),
            sig("status-anonymous-auth-off", Domain::ControlPlane, r"\bUnauthorized\b",
                "token discovery's cluster-info request carries no credentials and the API server answered 401 Unauthorized: anonymous authentication is off (--anonymous-auth=false), so no token can fix it",
                "enable anonymous auth on the API server (--anonymous-auth=true; kubeadm's RBAC lets anonymous read only cluster-info), or use file discovery (--discovery-file)",
                vec![src(F_ERRORS, "1.x-1.36", "Unauthorized", "index-id 62584807 (NewUnauthorized: the message is the reason); index-id 39745555788 (notes quoting the authentication filter's NewUnauthorized(\"Unauthorized\"); weaker)")]),
            sig("status-bootstrap-csr-forbidden", Domain::Rbac, r"cannot create (resource \\?.)?certificatesigningrequests",
                "RBAC refuses the bootstrap identity the creation of its CertificateSigningRequest: the kubeadm:kubelet-bootstrap ClusterRoleBinding (group system:bootstrappers to system:node-bootstrapper) is missing, or the identity is not in that group",
                "run kubeadm init phase bootstrap-token on a control-plane node (it recreates the binding); for a hand-made bootstrap user, bind it to system:node-bootstrapper",
                forbidden.clone()),
            sig("status-node-identity", Domain::Rbac, r#"User \\?"system:node:| (is not allowed to|cannot) modify node "#,
                "the node authorizer or NodeRestriction refuses a kubelet a Node, Lease or Pod: its credential (system:node:<name>) names another node than its node name (hostname override, --node-name or cloud provider name mismatch)",
                "make the kubelet's node name and its client certificate's CN agree: the same --hostname-override/--node-name as when it joined, or rejoin after a rename (kubeadm reset; join again)",
                node),
            sig("status-rbac-forbidden", Domain::Rbac, r#"User \\?"[^"\\]+\\?" cannot "#,
                "RBAC denies this identity a request the join needs",
                "bind the identity to a role that allows it (kubectl create rolebinding/clusterrolebinding); kubeadm init phase bootstrap-token recreates kubeadm's own bindings",
                forbidden.clone()),
            sig("status-anonymous-refused", Domain::Token, r#"User \\?"system:anonymous\\?" cannot"#,
                "the API server treated the client as system:anonymous and refused it: the client presented no credential the server accepted (a kubeconfig without its token or client certificate, a bootstrap kubeconfig whose token was deleted or expired, a client certificate from another CA)",
                "give the client a working credential: for a joining node, a fresh bootstrap token (joinkit token create; kubeadm reset -f and join again); check the kubeconfig's user entry (token or client-certificate-data) rather than granting anything to system:anonymous",
                forbidden),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> StatusError<'_> {
        parse(line.as_bytes()).unwrap_or_else(|| panic!("not parsed: {line}"))
    }

    #[test]
    fn forbidden_1_11_namespaced_and_cluster_scoped() {
        let e = p(
            r#"[discovery] Failed to request cluster-info, will try again: configmaps "cluster-info" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace "kube-public""#,
        );
        assert_eq!(
            e,
            StatusError {
                kind: Kind::Forbidden,
                subject: Some("system:anonymous"),
                verb: Some("get"),
                resource: Some("configmaps"),
                group: Some(""),
                namespace: Some("kube-public"),
                name: Some("cluster-info"),
                reason: None
            }
        );
        let e = p(
            r#"certificatesigningrequests.certificates.k8s.io is forbidden: User "system:bootstrap:abcdef" cannot create resource "certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope"#,
        );
        assert_eq!(
            (e.subject, e.verb, e.resource, e.group),
            (
                Some("system:bootstrap:abcdef"),
                Some("create"),
                Some("certificatesigningrequests"),
                Some("certificates.k8s.io")
            )
        );
        assert_eq!((e.namespace, e.name, e.reason), (None, None, None));
    }

    #[test]
    fn forbidden_with_an_authorizer_reason_and_escaped_quotes() {
        let line = r#"E0101 kubelet.go:1] "Failed to update lease" err="leases.coordination.k8s.io \"w2\" is forbidden: User \"system:node:w1\" cannot update resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"kube-node-lease\": can only access node lease with the same name as the requesting node""#;
        let e = p(line);
        assert_eq!(
            (e.subject, e.verb, e.resource, e.name),
            (Some("system:node:w1"), Some("update"), Some("leases"), Some("w2"))
        );
        assert_eq!(e.namespace, Some("kube-node-lease"));
        assert_eq!(e.reason, Some("can only access node lease with the same name as the requesting node"));
        let e = p(
            r#"pods "x" is forbidden: User "system:node:a" cannot get resource "pods" in API group "" in the namespace "default": no relationship found between node 'a' and this object"#,
        );
        assert_eq!(e.reason, Some("no relationship found between node 'a' and this object"));
    }

    #[test]
    fn forbidden_pre_1_11_wording_and_unquoted_parts() {
        let e = p(
            r#"configmaps "kubelet-config-1.12" is forbidden: User "system:bootstrap:4ipkdk" cannot get configmaps in the namespace "kube-system""#,
        );
        assert_eq!(
            (e.subject, e.verb, e.resource, e.group, e.namespace, e.name),
            (
                Some("system:bootstrap:4ipkdk"),
                Some("get"),
                Some("configmaps"),
                Some(""),
                Some("kube-system"),
                Some("kubelet-config-1.12")
            )
        );
        let e = p(
            r#"certificatesigningrequests.certificates.k8s.io is forbidden: User "kubelet-bootstrap" cannot create certificatesigningrequests.certificates.k8s.io at the cluster scope"#,
        );
        assert_eq!(
            (e.subject, e.verb, e.resource, e.group, e.namespace),
            (
                Some("kubelet-bootstrap"),
                Some("create"),
                Some("certificatesigningrequests"),
                Some("certificates.k8s.io"),
                None
            )
        );
        // An unquoted user; a namespace cut at the end of the line; the User clause alone.
        let e = p(r#"User system:anonymous cannot get configmaps in the namespace "kube-public"#);
        assert_eq!((e.subject, e.namespace), (Some("system:anonymous"), Some("kube-public")));
        let e = p(r#"    User "system:anonymous" cannot get resource "configmaps" in API group "" "#);
        assert_eq!(
            (e.subject, e.resource, e.name, e.namespace),
            (Some("system:anonymous"), Some("configmaps"), None, None)
        );
    }

    #[test]
    fn noderestriction_unauthorized_notfound_conflict_exists() {
        let e = p(r#"nodes "w2" is forbidden: node "w1" is not allowed to modify node "w2""#);
        assert_eq!((e.kind, e.subject, e.resource, e.name), (Kind::Forbidden, None, Some("nodes"), Some("w2")));
        assert_eq!(e.reason, Some(r#"node "w1" is not allowed to modify node "w2""#));
        assert_eq!(p("couldn't validate the identity of the API Server: Unauthorized").kind, Kind::Unauthorized);
        let e = p(r#"failed to request the cluster-info ConfigMap: configmaps "cluster-info" not found"#);
        assert_eq!((e.kind, e.resource, e.name), (Kind::NotFound, Some("configmaps"), Some("cluster-info")));
        let e = p(r#"etcdmembers "m1" already exists"#);
        assert_eq!((e.kind, e.name), (Kind::AlreadyExists, Some("m1")));
        let e = p(r#"Operation cannot be fulfilled on nodes "w1": the object has been modified"#);
        assert_eq!(
            (e.kind, e.resource, e.name, e.reason),
            (Kind::Conflict, Some("nodes"), Some("w1"), Some("the object has been modified"))
        );
        assert!(parse(b"UnauthorizedAccess is not a status").is_none());
        assert!(parse(b"nothing here").is_none());
    }

    #[test]
    fn who_was_refused_what_decides_the_class() {
        let c = |l: &str| class_of(l.as_bytes());
        assert_eq!(
            c(
                r#"configmaps "cluster-info" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace "kube-public""#
            ),
            Some(Class::AnonymousClusterInfo)
        );
        assert_eq!(
            c(r#"    User "system:anonymous" cannot get resource "configmaps" in API group "" "#),
            Some(Class::AnonymousClusterInfo)
        );
        assert_eq!(
            c("error execution phase preflight: couldn't validate the identity of the API Server: Unauthorized"),
            Some(Class::AnonymousAuthOff)
        );
        assert_eq!(
            c("[discovery] Failed to request cluster info, will try again: [Unauthorized]"),
            Some(Class::AnonymousAuthOff)
        );
        // A 401 elsewhere is left to the catalog (a token or certificate problem).
        assert_eq!(c("error: You must be logged in to the server (Unauthorized)"), None);
        assert_eq!(
            c(
                r#"certificatesigningrequests.certificates.k8s.io is forbidden: User "system:bootstrap:5s9ry0" cannot create resource "certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope"#
            ),
            Some(Class::BootstrapCsr)
        );
        // A node refused another node's lease / node; the node authorizer; its own lease.
        assert_eq!(
            c(
                r#"leases.coordination.k8s.io "w2" is forbidden: User "system:node:w1" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease""#
            ),
            Some(Class::NodeIdentity)
        );
        assert_eq!(
            c(r#"nodes "w2" is forbidden: node "w1" is not allowed to modify node "w2""#),
            Some(Class::NodeIdentity)
        );
        // NodeRestriction's 1.7-1.8 wording, quoted, bare, and a quote cut off by the excerpt;
        // the same name on both sides is no identity mismatch.
        for l in [
            r#"nodes "w2.ec2.internal" is forbidden: node "w2" cannot modify node "w2.ec2.internal""#,
            r#"nodes "w2" is forbidden: node w1 cannot modify node w2"#,
            r#"nodes "w2" is forbidden: node "w1" cannot modify node "w2"#,
        ] {
            assert_eq!(c(l), Some(Class::NodeIdentity), "{l}");
        }
        assert_eq!(c(r#"nodes "w1" is forbidden: node "w1" cannot modify node "w1""#), None);
        // The reason alone, without NewForbidden's prefix.
        assert_eq!(c(r#"the node "bootstrap.example.com" cannot modify node "bootstrap""#), Some(Class::NodeIdentity));
        assert_eq!(c(r#"node "a" is not allowed to modify node "b""#), Some(Class::NodeIdentity));
        assert_eq!(c(r#"node "a" is not allowed to modify node "a""#), None);
        assert_eq!(
            c(
                r#"pods "x" is forbidden: User "system:node:a" cannot get resource "pods" in API group "" in the namespace "default": no relationship found between node 'a' and this object"#
            ),
            Some(Class::NodeIdentity)
        );
        assert_eq!(
            c(
                r#"leases.coordination.k8s.io "w1" is forbidden: User "system:node:w1" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease""#
            ),
            Some(Class::NodeIdentity)
        );
        // A node refused something else, another subject: RBAC.
        assert_eq!(
            c(r#"User "system:node:w1" cannot list resource "secrets" in API group "" at the cluster scope"#),
            Some(Class::Rbac)
        );
        assert_eq!(
            c(
                r#"deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "prod""#
            ),
            Some(Class::Rbac)
        );
        // Anonymous refused anything but cluster-info: a credential problem, not RBAC.
        assert_eq!(
            c(
                r#"nodes is forbidden: User "system:anonymous" cannot create resource "nodes" in API group "" at the cluster scope"#
            ),
            Some(Class::AnonymousRefused)
        );
        // A 403 with no user or node clause (quota, admission webhook), a 404: not decided here.
        assert_eq!(c(r#"pods "p" is forbidden: exceeded quota: compute"#), None);
        assert_eq!(c(r#"nodes "w1" not found"#), None);
    }

    #[test]
    fn every_class_is_listed_once_in_signature_order() {
        assert_eq!(CLASSES.len(), signatures().len());
        for (i, c) in CLASSES.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }

    #[test]
    fn the_meaning_names_who_was_refused_what() {
        let m = meaning(
            Class::Rbac,
            r#"deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "prod""#,
        );
        assert!(
            m.starts_with(r#""alice" may not patch deployments (group apps) "web" in namespace "prod": RBAC"#),
            "{m}"
        );
    }
}
