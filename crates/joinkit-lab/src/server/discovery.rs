//! The paths that are not objects: API discovery (`/api`, `/apis`, each group version's
//! APIResourceList, as the recorded v1.24 and v1.31 servers list them), `/version`, and
//! `/healthz` `/livez` `/readyz` with their `?verbose` check lists; and the table of the
//! resources the lab serves (kinds, list kinds). Upstream:
//! `staging/src/k8s.io/apiserver/pkg/endpoints/discovery`, `.../server/healthz` and
//! `pkg/controlplane` (the check names).

use super::reply::{text, Ctx};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

const HEALTH_CHECKS: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "poststarthook/start-kube-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/bootstrap-controller",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/aggregator-reload-proxy-client-cert",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-status-available-controller",
    "poststarthook/kube-apiserver-autoregistration",
    "autoregister-completion",
    "poststarthook/apiservice-openapi-controller",
    "poststarthook/apiservice-openapiv3-controller",
];

/// `/healthz`, `/livez`, `/readyz`: `ok`, or the check list with `?verbose`.
pub(super) fn health(ctx: &Ctx, which: &str, verbose: bool) -> Response<Full<Bytes>> {
    if !verbose {
        return text(ctx, StatusCode::OK, "ok".into());
    }
    let mut checks: Vec<&str> = HEALTH_CHECKS.to_vec();
    if which == "readyz" {
        checks.insert(3, "informer-sync");
        checks.push("shutdown");
    }
    let mut s: String = checks.iter().map(|c| format!("[+]{c} ok\n")).collect();
    s.push_str(&format!("{which} check passed\n"));
    text(ctx, StatusCode::OK, s)
}

/// `/version`: v1.31.0, or the recorded v1.24.0.
pub(super) fn version_body(v1_24: bool) -> Value {
    if v1_24 {
        return json!({
            "major": "1", "minor": "24", "gitVersion": "v1.24.0+0", "gitCommit": "2cc6ddc68588debdbb6806e1b57e73207505324f",
            "gitTreeState": "clean", "buildDate": "2022-05-06T09:44:28Z", "goVersion": "go1.19.8", "compiler": "gc", "platform": "linux/amd64"
        });
    }
    json!({
        "major": "1", "minor": "31", "gitVersion": "v1.31.0", "gitCommit": "9edcffcde5595e8a5b1a35f88c421764e575afce",
        "gitTreeState": "clean", "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"
    })
}

fn resource_list(group_version: &str, resources: &[(&str, &str, bool, &[&str])]) -> Value {
    let list: Vec<Value> = resources
        .iter()
        .map(|(name, kind, namespaced, verbs)| {
            json!({"name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced, "kind": kind, "verbs": verbs})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list})
}

const RW: &[&str] = &["create", "delete", "get", "list"];
const CORE_V1: &[(&str, &str, bool, &[&str])] =
    &[("configmaps", "ConfigMap", true, RW), ("secrets", "Secret", true, RW), ("nodes", "Node", false, RW)];
const RBAC_V1: &[(&str, &str, bool, &[&str])] = &[
    ("clusterroles", "ClusterRole", false, RW),
    ("clusterrolebindings", "ClusterRoleBinding", false, RW),
    ("roles", "Role", true, RW),
    ("rolebindings", "RoleBinding", true, RW),
];

const CERTS_V1: &[(&str, &str, bool, &[&str])] = &[(
    "certificatesigningrequests",
    "CertificateSigningRequest",
    false,
    &["create", "delete", "get", "list", "watch"],
)];

/// The discovery document at `path` (v1.24 lists fewer authentication resources).
pub(super) fn discovery(path: &str, v1_24: bool) -> Option<Value> {
    let group = |name: &str| {
        let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
        json!({"name": name, "versions": [gv], "preferredVersion": gv})
    };
    match path {
        // v1.24 lists only tokenreviews (with an empty singularName); 1.28+ adds selfsubjectreviews.
        "/apis/authentication.k8s.io" => {
            let g = group("authentication.k8s.io");
            Some(
                json!({"kind": "APIGroup", "apiVersion": "v1", "name": g["name"], "versions": g["versions"], "preferredVersion": g["preferredVersion"]}),
            )
        }
        "/apis/authentication.k8s.io/v1" => {
            let mut resources = vec![];
            if !v1_24 {
                resources.push(json!({"name": "selfsubjectreviews", "singularName": "selfsubjectreview", "namespaced": false, "kind": "SelfSubjectReview", "verbs": ["create"]}));
            }
            resources.push(json!({"name": "tokenreviews", "singularName": if v1_24 { "" } else { "tokenreview" }, "namespaced": false, "kind": "TokenReview", "verbs": ["create"]}));
            Some(
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "authentication.k8s.io/v1", "resources": resources}),
            )
        }
        "/api" => Some(
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
        ),
        "/apis" => Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            group("authentication.k8s.io"), group("authorization.k8s.io"), group("certificates.k8s.io"),
            group("rbac.authorization.k8s.io")]})),
        "/api/v1" => Some(resource_list("v1", CORE_V1)),
        "/apis/rbac.authorization.k8s.io/v1" => Some(resource_list("rbac.authorization.k8s.io/v1", RBAC_V1)),
        "/apis/certificates.k8s.io/v1" => Some(resource_list("certificates.k8s.io/v1", CERTS_V1)),
        _ => None,
    }
}

/// The kind of `resource` (`Object` for one the lab does not serve).
pub(super) fn kind_of(resource: &str) -> &'static str {
    CORE_V1.iter().chain(RBAC_V1).chain(CERTS_V1).find(|r| r.0 == resource).map(|r| r.1).unwrap_or("Object")
}

/// The List kind and apiVersion of `resource`.
pub(super) fn list_kind(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "configmaps" => ("ConfigMapList", "v1"),
        "secrets" => ("SecretList", "v1"),
        "nodes" => ("NodeList", "v1"),
        "clusterroles" => ("ClusterRoleList", "rbac.authorization.k8s.io/v1"),
        "clusterrolebindings" => ("ClusterRoleBindingList", "rbac.authorization.k8s.io/v1"),
        "certificatesigningrequests" => ("CertificateSigningRequestList", "certificates.k8s.io/v1"),
        "roles" => ("RoleList", "rbac.authorization.k8s.io/v1"),
        "rolebindings" => ("RoleBindingList", "rbac.authorization.k8s.io/v1"),
        _ => ("List", "v1"),
    }
}

/// The resources the lab stores and serves.
pub(super) const SERVED: &[&str] = &[
    "configmaps",
    "secrets",
    "nodes",
    "clusterroles",
    "clusterrolebindings",
    "roles",
    "rolebindings",
    "certificatesigningrequests",
];
