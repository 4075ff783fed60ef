//! A small RBAC authorizer over the lab's stored Roles, ClusterRoles and their bindings, with
//! the objects `kubeadm init` creates (spec section 6) and the Kubernetes bootstrap policy the
//! join path touches. Decisions and reason strings follow the real RBAC authorizer, e.g.
//! `RBAC: allowed by ClusterRoleBinding "kubeadm:node-autoapprove-bootstrap" of ClusterRole
//! "system:certificates.k8s.io:certificatesigningrequests:nodeclient" to Group
//! "system:bootstrappers:kubeadm:default-node-token"` (transcript `token_ssar_csr_nodeclient`).

use super::store::Store;
use serde_json::{json, Value};

/// The group kubeadm's default bootstrap tokens carry.
pub const DEFAULT_NODE_TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

/// An authenticated (or anonymous) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserInfo {
    /// `system:anonymous`, `system:bootstrap:<id>`, `kubernetes-admin`, `system:node:<name>`...
    pub name: String,
    /// Groups, including `system:authenticated` / `system:unauthenticated`.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The anonymous user.
    pub(crate) fn anonymous() -> Self {
        UserInfo { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()] }
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// Resource, e.g. `configmaps`.
    pub resource: String,
    /// Subresource, e.g. `nodeclient`.
    pub subresource: String,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// Object name (`""` for lists and creates).
    pub name: String,
    /// Set for non-resource requests (`/version`), else None.
    pub path: Option<String>,
}

fn matches(list: Option<&Value>, want: &str) -> bool {
    list.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).any(|v| v == "*" || v == want))
        .unwrap_or(false)
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !matches(rule.get("verbs"), &a.verb) {
        return false;
    }
    if let Some(path) = &a.path {
        return rule.get("nonResourceURLs").and_then(Value::as_array).is_some_and(|urls| {
            urls.iter()
                .filter_map(Value::as_str)
                .any(|u| u == "*" || u == path || (u.ends_with('*') && path.starts_with(&u[..u.len() - 1])))
        });
    }
    let res = if a.subresource.is_empty() { a.resource.clone() } else { format!("{}/{}", a.resource, a.subresource) };
    if !matches(rule.get("apiGroups"), &a.group) || !matches(rule.get("resources"), &res) {
        return false;
    }
    match rule.get("resourceNames").and_then(Value::as_array) {
        Some(names) if !names.is_empty() => names.iter().filter_map(Value::as_str).any(|n| n == a.name),
        _ => true,
    }
}

fn subject_matches(s: &Value, u: &UserInfo) -> Option<String> {
    let kind = s.get("kind").and_then(Value::as_str)?;
    let name = s.get("name").and_then(Value::as_str)?;
    let ok = match kind {
        "User" => u.name == name,
        "Group" => u.groups.iter().any(|g| g == name),
        _ => false,
    };
    ok.then(|| format!("{kind} {name:?}"))
}

/// Decides `a` for `u` from the stored RBAC objects. Returns (allowed, reason).
pub(crate) fn authorize(store: &Store, u: &UserInfo, a: &Attributes) -> (bool, String) {
    let mut bindings: Vec<(&Value, bool)> =
        store.list("clusterrolebindings", "").into_iter().map(|b| (b, true)).collect();
    if !a.namespace.is_empty() {
        bindings.extend(store.list("rolebindings", &a.namespace).into_iter().map(|b| (b, false)));
    }
    for (b, cluster) in bindings {
        let Some(subject) =
            b.get("subjects").and_then(Value::as_array).and_then(|ss| ss.iter().find_map(|s| subject_matches(s, u)))
        else {
            continue;
        };
        let role_kind = b.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or("");
        let role_name = b.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or("");
        let role = if role_kind == "ClusterRole" {
            store.get("clusterroles", "", role_name)
        } else {
            store.get("roles", &a.namespace, role_name)
        };
        let Some(role) = role else { continue };
        let allowed =
            role.get("rules").and_then(Value::as_array).is_some_and(|rules| rules.iter().any(|r| rule_allows(r, a)));
        if allowed {
            let bname = b.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
            let binding = if cluster {
                format!("ClusterRoleBinding {bname:?}")
            } else {
                format!("RoleBinding \"{bname}/{}\"", a.namespace)
            };
            return (true, format!("RBAC: allowed by {binding} of {role_kind} {role_name:?} to {subject}"));
        }
    }
    (false, String::new())
}

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> Value {
    let mut r = json!({"verbs": verbs, "apiGroups": groups, "resources": resources});
    if !names.is_empty() {
        r["resourceNames"] = json!(names);
    }
    r
}

fn nonres(verbs: &[&str], urls: &[&str]) -> Value {
    json!({"verbs": verbs, "nonResourceURLs": urls})
}

fn binding(
    kind: &str,
    name: &str,
    ns: Option<&str>,
    role_kind: &str,
    role: &str,
    subjects: &[(&str, &str)],
) -> (String, String, Value) {
    let mut meta = json!({"name": name});
    if let Some(n) = ns {
        meta["namespace"] = json!(n);
    }
    let subjects: Vec<Value> = subjects
        .iter()
        .map(|(k, n)| {
            let mut s = json!({"kind": k, "name": n});
            if *k != "ServiceAccount" {
                s["apiGroup"] = json!("rbac.authorization.k8s.io");
            }
            s
        })
        .collect();
    let res = if kind == "ClusterRoleBinding" { "clusterrolebindings" } else { "rolebindings" };
    (
        res.to_string(),
        ns.unwrap_or("").to_string(),
        json!({"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": meta,
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": subjects}),
    )
}

fn role(kind: &str, name: &str, ns: Option<&str>, rules: Vec<Value>) -> (String, String, Value) {
    let mut meta = json!({"name": name});
    if let Some(n) = ns {
        meta["namespace"] = json!(n);
    }
    let res = if kind == "ClusterRole" { "clusterroles" } else { "roles" };
    (
        res.to_string(),
        ns.unwrap_or("").to_string(),
        json!({"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": meta, "rules": rules}),
    )
}

/// The RBAC objects a kubeadm cluster has that the join path uses: (resource, namespace, object).
pub(crate) fn kubeadm_defaults() -> Vec<(String, String, Value)> {
    let g = DEFAULT_NODE_TOKEN_GROUP;
    vec![
        role("ClusterRole", "cluster-admin", None, vec![rule(&["*"], &["*"], &["*"], &[]), nonres(&["*"], &["*"])]),
        binding(
            "ClusterRoleBinding",
            "kubeadm:cluster-admins",
            None,
            "ClusterRole",
            "cluster-admin",
            &[("Group", "kubeadm:cluster-admins")],
        ),
        binding(
            "ClusterRoleBinding",
            "cluster-admin",
            None,
            "ClusterRole",
            "cluster-admin",
            &[("Group", "system:masters")],
        ),
        role(
            "ClusterRole",
            "system:public-info-viewer",
            None,
            vec![nonres(&["get"], &["/healthz", "/livez", "/readyz", "/version", "/version/"])],
        ),
        binding(
            "ClusterRoleBinding",
            "system:public-info-viewer",
            None,
            "ClusterRole",
            "system:public-info-viewer",
            &[("Group", "system:authenticated"), ("Group", "system:unauthenticated")],
        ),
        role(
            "ClusterRole",
            "system:discovery",
            None,
            vec![nonres(
                &["get"],
                &[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            )],
        ),
        binding(
            "ClusterRoleBinding",
            "system:discovery",
            None,
            "ClusterRole",
            "system:discovery",
            &[("Group", "system:authenticated")],
        ),
        role(
            "Role",
            "kubeadm:bootstrap-signer-clusterinfo",
            Some("kube-public"),
            vec![rule(&["get"], &[""], &["configmaps"], &["cluster-info"])],
        ),
        binding(
            "RoleBinding",
            "kubeadm:bootstrap-signer-clusterinfo",
            Some("kube-public"),
            "Role",
            "kubeadm:bootstrap-signer-clusterinfo",
            &[("User", "system:anonymous")],
        ),
        role(
            "ClusterRole",
            "system:node-bootstrapper",
            None,
            vec![rule(
                &["create", "get", "list", "watch"],
                &["certificates.k8s.io"],
                &["certificatesigningrequests"],
                &[],
            )],
        ),
        binding(
            "ClusterRoleBinding",
            "kubeadm:kubelet-bootstrap",
            None,
            "ClusterRole",
            "system:node-bootstrapper",
            &[("Group", g)],
        ),
        role(
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            None,
            vec![rule(&["create"], &["certificates.k8s.io"], &["certificatesigningrequests/nodeclient"], &[])],
        ),
        binding(
            "ClusterRoleBinding",
            "kubeadm:node-autoapprove-bootstrap",
            None,
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            &[("Group", g)],
        ),
        role(
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            None,
            vec![rule(&["create"], &["certificates.k8s.io"], &["certificatesigningrequests/selfnodeclient"], &[])],
        ),
        binding(
            "ClusterRoleBinding",
            "kubeadm:node-autoapprove-certificate-rotation",
            None,
            "ClusterRole",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            &[("Group", "system:nodes")],
        ),
        role(
            "ClusterRole",
            "system:basic-user",
            None,
            vec![
                rule(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    &[],
                ),
                rule(&["create"], &["authentication.k8s.io"], &["selfsubjectreviews"], &[]),
            ],
        ),
        binding(
            "ClusterRoleBinding",
            "system:basic-user",
            None,
            "ClusterRole",
            "system:basic-user",
            &[("Group", "system:authenticated")],
        ),
        // The Node authorizer lets a kubelet read its Node; this rule stands in for it.
        role("ClusterRole", "system:node", None, vec![rule(&["get", "list", "watch"], &[""], &["nodes"], &[])]),
        binding("ClusterRoleBinding", "system:node", None, "ClusterRole", "system:node", &[("Group", "system:nodes")]),
        role("ClusterRole", "kubeadm:get-nodes", None, vec![rule(&["get"], &[""], &["nodes"], &[])]),
        binding("ClusterRoleBinding", "kubeadm:get-nodes", None, "ClusterRole", "kubeadm:get-nodes", &[("Group", g)]),
        role(
            "Role",
            "kubeadm:nodes-kubeadm-config",
            Some("kube-system"),
            vec![rule(&["get"], &[""], &["configmaps"], &["kubeadm-config"])],
        ),
        binding(
            "RoleBinding",
            "kubeadm:nodes-kubeadm-config",
            Some("kube-system"),
            "Role",
            "kubeadm:nodes-kubeadm-config",
            &[("Group", g), ("Group", "system:nodes")],
        ),
        role(
            "Role",
            "kubeadm:kubelet-config",
            Some("kube-system"),
            vec![rule(&["get"], &[""], &["configmaps"], &["kubelet-config"])],
        ),
        binding(
            "RoleBinding",
            "kubeadm:kubelet-config",
            Some("kube-system"),
            "Role",
            "kubeadm:kubelet-config",
            &[("Group", g), ("Group", "system:nodes")],
        ),
        role(
            "Role",
            "kubeadm:kubeadm-certs",
            Some("kube-system"),
            vec![rule(&["get"], &[""], &["secrets"], &["kubeadm-certs"])],
        ),
        binding(
            "RoleBinding",
            "kubeadm:kubeadm-certs",
            Some("kube-system"),
            "Role",
            "kubeadm:kubeadm-certs",
            &[("Group", g)],
        ),
    ]
}
