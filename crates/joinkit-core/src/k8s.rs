//! Rules about Kubernetes objects that more than one command applies, written once over
//! k8s-openapi's types: is a Node Ready (kubeadm's `nodes.go`: a Node whose `Ready` condition is
//! `True`), and does a ClusterRoleBinding grant a ClusterRole to one of a token's groups (RBAC:
//! a subject of kind `Group` whose name matches; users and service accounts do not count for a
//! bootstrap token, whose identity is `system:bootstrap:<id>` in its groups).
//!
//! Objects arrive as JSON from the API server; a value that does not parse as the type is
//! treated as not matching (never a panic).

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use serde_json::Value;

/// True when `node` (a Node object) has the condition `Ready` with status `True`.
pub fn node_is_ready(node: &Value) -> bool {
    node_ready_status(node).as_deref() == Some("True")
}

/// The status of the Node's `Ready` condition (`True`, `False`, `Unknown`), if it has one.
pub fn node_ready_status(node: &Value) -> Option<String> {
    let n: Node = serde_json::from_value(node.clone()).ok()?;
    n.status?.conditions?.into_iter().find(|c| c.type_ == "Ready").map(|c| c.status)
}

/// True when `binding` (a ClusterRoleBinding) binds the ClusterRole `role` to a `Group` subject
/// named in `groups`.
pub fn binding_grants(binding: &Value, role: &str, groups: &[String]) -> bool {
    let Ok(b) = serde_json::from_value::<ClusterRoleBinding>(binding.clone()) else { return false };
    b.role_ref.kind == "ClusterRole"
        && b.role_ref.name == role
        && b.subjects.unwrap_or_default().iter().any(|s| s.kind == "Group" && groups.iter().any(|g| g == &s.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ready_nodes_and_granting_bindings() {
        let ready = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let not_ready = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert!(node_is_ready(&ready));
        assert!(!node_is_ready(&not_ready));
        assert!(!node_is_ready(&json!({"kind": "Node"})));
        assert_eq!(node_ready_status(&not_ready).as_deref(), Some("False"));
        let groups = vec!["system:bootstrappers:kubeadm:default-node-token".to_string()];
        let b = |kind: &str| {
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "kubeadm:kubelet-bootstrap"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node-bootstrapper"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": "system:bootstrappers:kubeadm:default-node-token"}]})
        };
        assert!(binding_grants(&b("Group"), "system:node-bootstrapper", &groups));
        // A User subject with the group's name grants nothing to the group (diagnose used to
        // accept it while token describe did not).
        assert!(!binding_grants(&b("User"), "system:node-bootstrapper", &groups));
        assert!(!binding_grants(&b("Group"), "other-role", &groups));
    }
}
