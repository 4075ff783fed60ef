//! Kubernetes objects, typed with k8s-openapi, and the rules about them that more than one
//! command applies, each written once:
//!
//! - [`typed`]: the one boundary where the API client's JSON becomes a k8s-openapi type (a
//!   Secret, a ConfigMap, a CertificateSigningRequest, a Node, a ClusterRoleBinding, a
//!   SelfSubjectReview, ...). An answer that does not parse as the type is an `api-error` that
//!   names the object, never a panic.
//! - [`node_ready_status`] / [`node_is_ready`]: is a Node Ready (kubeadm's `nodes.go`: a Node
//!   whose `Ready` condition is `True`). Used by bootstrap's node-name check and diagnose.
//! - [`binding_grants`]: does a ClusterRoleBinding grant a ClusterRole to one of a token's groups
//!   (RBAC: a subject of kind `Group` whose name matches; users and service accounts do not count
//!   for a bootstrap token, whose identity is `system:bootstrap:<id>` in its groups). Used by
//!   token describe and diagnose.

use crate::error::{Code, Failure};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use serde::de::DeserializeOwned;
use serde_json::Value;

crate::stages! {
    /// The stage of a failure made at the typed boundary: the API answer (the same name the API
    /// client's failures carry).
    pub enum K8sStage {
        /// An answer of the Kubernetes API.
        Api = "api",
    }
}

/// Converts an API answer into the k8s-openapi type `T`; `what` names the object in the message
/// (e.g. `GET .../secrets/bootstrap-token-abcdef`). Errors: `api-error` saying which object did
/// not have the expected shape and why.
pub(crate) fn typed<T: DeserializeOwned>(v: Value, what: &str) -> Result<T, Failure> {
    serde_json::from_value(v).map_err(|e| {
        Failure::new(
            Code::ApiError,
            K8sStage::Api,
            format!(
                "{what}: expected a {} object; it does not parse: {}",
                short_type_name::<T>(),
                crate::report::truncate_for_display(&e.to_string(), crate::report::MAX_ECHO_CHARS)
            ),
        )
        .cause("the server's answer is not what the Kubernetes API returns for this request (a proxy or a different service answered, or a field has the wrong type)")
        .fix("check that the kubeconfig's server is the API server itself")
    })
}

/// `Secret` for `k8s_openapi::api::core::v1::Secret`.
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// The status of the Node's `Ready` condition (`True`, `False`, `Unknown`), if it has one.
pub(crate) fn node_ready_status(node: &Node) -> Option<&str> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready").map(|c| c.status.as_str())
}

/// True when `node` has the condition `Ready` with status `True`.
pub(crate) fn node_is_ready(node: &Node) -> bool {
    node_ready_status(node) == Some("True")
}

/// True when `binding` binds the ClusterRole `role` to a `Group` subject named in `groups`.
pub(crate) fn binding_grants(binding: &ClusterRoleBinding, role: &str, groups: &[String]) -> bool {
    binding.role_ref.kind == "ClusterRole"
        && binding.role_ref.name == role
        && binding.subjects.iter().flatten().any(|s| s.kind == "Group" && groups.iter().any(|g| g == &s.name))
}

/// The items of a list answer (a SecretList, a ClusterRoleBindingList, ...), each typed as `T`;
/// items that do not parse as `T` are dropped (a list is evidence only of what it holds that
/// can be read). The list itself is deliberately read as JSON: only its `items` matter.
pub(crate) fn items<T: DeserializeOwned>(list: &Value) -> Vec<T> {
    list.get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| serde_json::from_value(i.clone()).ok())
        .collect()
}

/// `metadata.name` of a typed object, `?` when it has none.
pub(crate) fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Secret;
    use serde_json::json;

    #[test]
    fn ready_nodes_and_granting_bindings() {
        let node = |v: Value| typed::<Node>(v, "Node n").unwrap();
        let ready = node(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        let not_ready = node(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        );
        assert!(node_is_ready(&ready));
        assert!(!node_is_ready(&not_ready));
        assert!(!node_is_ready(&node(json!({"kind": "Node"}))));
        assert_eq!(node_ready_status(&not_ready), Some("False"));
        let groups = vec!["system:bootstrappers:kubeadm:default-node-token".to_string()];
        let b = |kind: &str| {
            typed::<ClusterRoleBinding>(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "kubeadm:kubelet-bootstrap"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node-bootstrapper"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": "system:bootstrappers:kubeadm:default-node-token"}]}), "b").unwrap()
        };
        assert!(binding_grants(&b("Group"), "system:node-bootstrapper", &groups));
        // A User subject with the group's name grants nothing to the group (diagnose used to
        // accept it while token describe did not).
        assert!(!binding_grants(&b("User"), "system:node-bootstrapper", &groups));
        assert!(!binding_grants(&b("Group"), "other-role", &groups));
    }

    #[test]
    fn a_wrong_shape_is_an_api_error_naming_the_object() {
        let f = typed::<Secret>(json!({"kind": "ConfigMap", "data": {}}), "GET secrets/x").unwrap_err();
        assert_eq!(f.code, Code::ApiError);
        assert_eq!(f.stage, "api");
        assert!(f.message.starts_with("GET secrets/x: expected a Secret object"), "{}", f.message);
        let f = typed::<Node>(json!({"status": {"conditions": "nope"}}), "Node n").unwrap_err();
        assert!(f.message.contains("Node n: expected a Node"), "{}", f.message);
        let list = json!({"items": [{"kind": "Node", "metadata": {"name": "a"}}, {"kind": "Secret"}, 7]});
        let nodes: Vec<Node> = items(&list);
        assert_eq!(nodes.len(), 1);
        assert_eq!(name_of(&nodes[0].metadata), "a");
    }
}
