//! The faults `joinkit lab --scenario` injects: one table ([`Scenario::ALL`]) for the names,
//! the help and the order of `joinkit lab scenarios`, and [`Scenario::inject`], what each one
//! changes in a freshly seeded lab. joinkit's own (no upstream): the real-control-plane suite
//! (`tests/it/real_control_plane.rs`) reproduces each on a kube-apiserver under these names.

use crate::objects::node_object;
use crate::pki::CaValidity;
use crate::LabState;
use serde_json::Value;

/// One injected fault. [`Scenario::ALL`] is the one list: names, help and the order of
/// `joinkit lab scenarios`; the real-control-plane suite's table refers to these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// Everything works.
    #[default]
    Healthy,
    /// The printed token expired (the tokencleaner removes it; it is never signed).
    TokenExpired,
    /// The printed token was signed, then its Secret was deleted.
    TokenDeleted,
    /// The printed token lacks the "signing" usage, so it is never signed.
    TokenNoSigning,
    /// The bootstrapsigner is not running: no token gets signed.
    SignerStopped,
    /// The RoleBinding letting system:anonymous read cluster-info is gone (403).
    AnonymousRevoked,
    /// kube-apiserver runs with --anonymous-auth=false (401 for unauthenticated requests).
    AnonymousAuthOff,
    /// There is no cluster-info ConfigMap (404).
    ClusterInfoMissing,
    /// cluster-info has no kubeconfig key.
    KubeconfigMissing,
    /// The printed token's signature in cluster-info was made with another secret.
    TamperedSignature,
    /// The printed token's signature in cluster-info is empty.
    JwsEmpty,
    /// The CA's validity starts tomorrow.
    CaNotYetValid,
    /// The CA expired yesterday.
    CaExpired,
    /// The serving certificate is issued by another CA (a man in the middle).
    Mitm,
    /// The serving certificate does not name 127.0.0.1 / localhost.
    WrongSan,
    /// The server's clock is 10 minutes ahead of this machine's.
    ClockSkew,
    /// The kubeadm:node-autoapprove-bootstrap binding is missing: CSRs stay Pending.
    NoAutoapproveBinding,
    /// The kubeadm:kubelet-bootstrap binding is missing: tokens cannot create CSRs.
    NoBootstrapperBinding,
    /// The CSR approver (controller-manager) is not running: CSRs stay Pending.
    ApproverDown,
    /// The CSR signer is not running (no --cluster-signing-* files): approved, never issued.
    CsrSignerDown,
    /// Node-client CSRs are denied.
    CsrDenied,
    /// A Ready Node named worker-1 already exists.
    ReadyNodeExists,
    /// The uploaded control-plane certificates (Secret kubeadm-certs) expired and are gone.
    KubeadmCertsMissing,
    /// A pre-1.28 API server answering as the recorded v1.24.0: SelfSubjectReview refused by RBAC (403; 404 for cluster admins), kubelet client and serving CSRs need key encipherment (its signer fails them without).
    Pre128,
}

impl Scenario {
    /// Every scenario as (value, kebab-case name, one-line help), in `lab scenarios` order.
    pub const ALL: &'static [(Scenario, &'static str, &'static str)] = &[
        (Scenario::Healthy, "healthy", "Everything works"),
        (Scenario::TokenExpired, "token-expired", "The printed token expired (the tokencleaner removes it; it is never signed); another token stays signed"),
        (Scenario::TokenDeleted, "token-deleted", "The printed token was signed, then its Secret was deleted; another token stays signed"),
        (Scenario::TokenNoSigning, "token-no-signing", "The printed token lacks the \"signing\" usage, so it is never signed; another token is"),
        (Scenario::SignerStopped, "signer-stopped", "The bootstrapsigner is not running: no token gets signed"),
        (Scenario::AnonymousRevoked, "anonymous-revoked", "The RoleBinding letting system:anonymous read cluster-info is gone (403)"),
        (Scenario::AnonymousAuthOff, "anonymous-auth-off", "kube-apiserver runs with --anonymous-auth=false (401 for unauthenticated requests)"),
        (Scenario::ClusterInfoMissing, "cluster-info-missing", "There is no cluster-info ConfigMap (404)"),
        (Scenario::KubeconfigMissing, "kubeconfig-missing", "cluster-info has no kubeconfig key"),
        (Scenario::TamperedSignature, "tampered-signature", "The printed token's signature in cluster-info was made with another secret"),
        (Scenario::JwsEmpty, "jws-empty", "The printed token's signature in cluster-info is empty"),
        (Scenario::CaNotYetValid, "ca-not-yet-valid", "The CA's validity starts tomorrow"),
        (Scenario::CaExpired, "ca-expired", "The CA expired yesterday"),
        (Scenario::Mitm, "mitm", "The serving certificate is issued by another CA (a man in the middle)"),
        (Scenario::WrongSan, "wrong-san", "The serving certificate does not name 127.0.0.1 / localhost"),
        (Scenario::ClockSkew, "clock-skew", "The server's clock is 10 minutes ahead of this machine's"),
        (Scenario::NoAutoapproveBinding, "no-autoapprove-binding", "The kubeadm:node-autoapprove-bootstrap binding is missing: CSRs stay Pending"),
        (Scenario::NoBootstrapperBinding, "no-bootstrapper-binding", "The kubeadm:kubelet-bootstrap binding is missing: tokens cannot create CSRs"),
        (Scenario::ApproverDown, "approver-down", "The CSR approver (controller-manager) is not running: CSRs stay Pending"),
        (Scenario::CsrSignerDown, "csr-signer-down", "The CSR signer is not running (no --cluster-signing-* files): approved, never issued"),
        (Scenario::CsrDenied, "csr-denied", "Node-client CSRs are denied"),
        (Scenario::ReadyNodeExists, "ready-node-exists", "A Ready Node named worker-1 already exists"),
        (Scenario::KubeadmCertsMissing, "kubeadm-certs-missing", "The uploaded control-plane certificates (Secret kubeadm-certs) expired and are gone"),
        (Scenario::Pre128, "pre-1-28", "A pre-1.28 API server answering as the recorded v1.24.0: SelfSubjectReview refused by RBAC (403; 404 for cluster admins), kubelet client and serving CSRs need key encipherment"),
    ];

    /// The kebab-case name, e.g. `token-expired`.
    pub fn name(self) -> &'static str {
        Scenario::ALL.iter().find(|(s, _, _)| *s == self).map(|(_, n, _)| *n).unwrap_or("healthy")
    }

    /// The validity of the lab's CA under this scenario.
    pub(crate) fn ca_validity(self) -> CaValidity {
        match self {
            Scenario::CaNotYetValid => CaValidity::NotYetValid,
            Scenario::CaExpired => CaValidity::Expired,
            _ => CaValidity::Normal,
        }
    }

    /// Switches on this scenario's fault in a freshly seeded lab: runtime [`crate::Faults`] and
    /// removed or added objects. (The faults in the PKI, in cluster-info and in the printed token
    /// are made in [`crate::Lab::start`] as it seeds them; `token_id` is that token's ID.)
    pub(crate) fn inject(self, state: &mut LabState, token_id: &str) {
        match self {
            Scenario::SignerStopped => state.faults.signer_running = false,
            Scenario::AnonymousRevoked => {
                state.store.delete("rolebindings", "kube-public", "kubeadm:bootstrap-signer-clusterinfo");
            }
            Scenario::AnonymousAuthOff => state.faults.anonymous_auth = false,
            Scenario::TamperedSignature => state.faults.tamper_jws = Some(token_id.to_string()),
            Scenario::JwsEmpty => state.faults.empty_jws = Some(token_id.to_string()),
            Scenario::ClockSkew => state.faults.clock_offset = 600,
            Scenario::NoAutoapproveBinding => {
                state.store.delete("clusterrolebindings", "", "kubeadm:node-autoapprove-bootstrap");
            }
            Scenario::NoBootstrapperBinding => {
                state.store.delete("clusterrolebindings", "", "kubeadm:kubelet-bootstrap");
            }
            Scenario::ApproverDown => state.faults.csr_approver_running = false,
            Scenario::CsrSignerDown => state.faults.csr_signer_running = false,
            Scenario::CsrDenied => state.faults.deny_csrs = true,
            Scenario::Pre128 => {
                state.faults.v1_24 = true;
                // v1.24's system:basic-user has no rule for selfsubjectreviews (added in 1.28).
                if let Some(mut role) = state.store.get("clusterroles", "", "system:basic-user").cloned() {
                    if let Some(rules) = role.get_mut("rules").and_then(Value::as_array_mut) {
                        rules.retain(|r| !r.to_string().contains("selfsubjectreviews"));
                    }
                    state.store.put("clusterroles", "", "system:basic-user", role);
                }
            }
            Scenario::ReadyNodeExists => {
                state.store.put("nodes", "", "worker-1", node_object("worker-1", true));
            }
            _ => {}
        }
    }
}

impl serde::Serialize for Scenario {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
