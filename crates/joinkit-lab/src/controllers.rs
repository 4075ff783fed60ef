//! The controllers the join path depends on, run once per [`LabState::reconcile`] (every 50 ms
//! by the server, and when a request changed the store): the tokencleaner (deletes expired
//! bootstrap-token Secrets), the bootstrapsigner (one `jws-kubeconfig-<id>` in cluster-info per
//! valid signing token, kept current), the csrapproving and csrsigning controllers (rules in
//! [`crate::csr`]), the TTL controller and the node lifecycle controller's not-ready taint.
//! Upstream: kubernetes `pkg/controller/bootstrap/{tokencleaner,bootstrapsigner}.go`,
//! `pkg/controller/certificates/{approver,signer}`, `pkg/controller/ttl` and
//! `pkg/controller/nodelifecycle`.

use crate::objects::cluster_info_managed_fields;
use crate::{csr, store, LabState};
use joinkit_core::jws;
use joinkit_core::token::secret::TokenSecret;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Seconds since the Unix epoch, now.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl LabState {
    /// Runs the controllers once: the tokencleaner, the CSR approver and signer, the node
    /// controllers, then the bootstrapsigner.
    pub fn reconcile(&mut self) {
        let now = now_unix();
        if self.faults.cleaner_running {
            let expired: Vec<String> = self
                .store
                .list("secrets", "kube-system")
                .into_iter()
                .filter_map(|s| {
                    TokenSecret::from_secret(s).filter(|t| t.expired(now)).map(|t| format!("bootstrap-token-{}", t.id))
                })
                .collect();
            for name in expired {
                self.store.delete("secrets", "kube-system", &name);
            }
        }
        self.reconcile_csrs();
        self.reconcile_nodes();
        if !self.faults.signer_running {
            return;
        }
        let Some(ci) = self.store.get("configmaps", "kube-public", "cluster-info").cloned() else {
            return;
        };
        let Some(kubeconfig) = ci.pointer("/data/kubeconfig").and_then(Value::as_str).map(str::to_string) else {
            return;
        };
        let mut want: BTreeMap<String, String> = BTreeMap::new();
        for s in self.store.list("secrets", "kube-system") {
            let Some(t) = TokenSecret::from_secret(s) else {
                continue;
            };
            if !t.signing || t.expired(now) {
                continue;
            }
            let sig = if self.faults.empty_jws.as_deref() == Some(t.id.as_str()) {
                String::new()
            } else if self.faults.tamper_jws.as_deref() == Some(t.id.as_str()) {
                jws::sign_detached(&kubeconfig, &t.id, "tamperedtampered")
            } else {
                jws::sign_detached(&kubeconfig, &t.id, &t.secret)
            };
            want.insert(format!("jws-kubeconfig-{}", t.id), sig);
        }
        let data = ci.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
        let have: BTreeMap<String, String> = data
            .iter()
            .filter(|(k, _)| k.starts_with("jws-kubeconfig-"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        if have == want {
            return;
        }
        let mut new_data: BTreeMap<String, Value> =
            data.into_iter().filter(|(k, _)| !k.starts_with("jws-kubeconfig-")).collect();
        new_data.extend(want.into_iter().map(|(k, v)| (k, Value::String(v))));
        let mut obj = ci;
        let jws_fields: serde_json::Map<String, Value> = new_data
            .keys()
            .filter(|k| k.starts_with("jws-kubeconfig-"))
            .map(|k| (format!("f:{k}"), json!({})))
            .collect();
        obj["metadata"]["managedFields"] = cluster_info_managed_fields((!jws_fields.is_empty()).then_some(jws_fields));
        obj["data"] = json!(new_data);
        self.store.put("configmaps", "kube-public", "cluster-info", obj);
    }

    /// The node controllers a kubelet's join meets, once: the TTL controller annotates every
    /// Node with `node.alpha.kubernetes.io/ttl: "0"`; the node lifecycle controller removes the
    /// `node.kubernetes.io/not-ready` taint once the Node is Ready.
    fn reconcile_nodes(&mut self) {
        let nodes: Vec<Value> = self.store.list("nodes", "").into_iter().cloned().collect();
        for node in nodes {
            let name = node.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            let mut updated = node.clone();
            if node.pointer("/metadata/annotations/node.alpha.kubernetes.io~1ttl").is_none() {
                updated["metadata"]["annotations"]["node.alpha.kubernetes.io/ttl"] = json!("0");
            }
            let ready = node
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            if ready {
                if let Some(spec) = updated.get_mut("spec").and_then(Value::as_object_mut) {
                    if let Some(taints) = spec.get_mut("taints").and_then(Value::as_array_mut) {
                        taints.retain(|t| t["key"] != "node.kubernetes.io/not-ready");
                        if taints.is_empty() {
                            spec.remove("taints");
                        }
                    }
                }
            }
            if updated != node {
                self.store.put("nodes", "", &name, updated);
            }
        }
    }

    /// The csrapproving and csrsigning controllers, once.
    fn reconcile_csrs(&mut self) {
        let csrs: Vec<Value> = self.store.list("certificatesigningrequests", "").into_iter().cloned().collect();
        for csr in csrs {
            let name = csr.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
            let conditions = csr.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            let has = |t: &str| conditions.iter().any(|c| c.get("type").and_then(Value::as_str) == Some(t));
            let decided = has("Approved") || has("Denied") || has("Failed");
            let mut updated = csr.clone();
            if !decided && self.faults.csr_approver_running {
                if let Some(verdict) =
                    csr::approve_decision(&csr, &self.store, self.faults.deny_csrs, self.faults.v1_24)
                {
                    let now = store::now_rfc3339();
                    let (t, reason, msg) = verdict;
                    let mut conds = conditions.clone();
                    conds.push(json!({"type": t, "status": "True", "reason": reason, "message": msg, "lastUpdateTime": now, "lastTransitionTime": now}));
                    updated["status"]["conditions"] = Value::Array(conds);
                    self.store.put("certificatesigningrequests", "", &name, updated.clone());
                }
            }
            let approved = updated
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c.get("type").and_then(Value::as_str) == Some("Approved")));
            let issued = updated.pointer("/status/certificate").is_some();
            let failed = updated
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c.get("type").and_then(Value::as_str) == Some("Failed")));
            if approved && !issued && !failed && self.faults.csr_signer_running {
                if let Some(ca) = &self.ca {
                    match csr::validate_for_signer(&updated, self.faults.v1_24).and_then(|()| csr::sign(&updated, ca)) {
                        Ok(pem) => {
                            use base64::Engine;
                            updated["status"]["certificate"] =
                                json!(base64::engine::general_purpose::STANDARD.encode(pem));
                            if let Some(f) = self.on_issue {
                                let name = updated.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                                f(name, time::OffsetDateTime::now_utc().unix_timestamp_nanos());
                            }
                        }
                        Err(e) => {
                            let now = store::now_rfc3339();
                            let mut conds = updated
                                .pointer("/status/conditions")
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default();
                            conds.push(json!({"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": e, "lastUpdateTime": now, "lastTransitionTime": now}));
                            updated["status"]["conditions"] = Value::Array(conds);
                        }
                    }
                    self.store.put("certificatesigningrequests", "", &name, updated);
                }
            }
        }
    }
}
