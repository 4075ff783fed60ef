//! The objects the lab seeds as kubeadm writes them: the cluster-info kubeconfig and its
//! managedFields, the admin kubeconfig, a Node, and the Secret `kubeadm-certs` with its
//! AES-256-GCM sealing. Upstream: kubeadm `cmd/kubeadm/app/phases/bootstraptoken/clusterinfo`,
//! `phases/kubeconfig` (admin.conf) and `phases/copycerts` (upload-certs).

use crate::pki::Ca;
use crate::store;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The Secret `kubeadm-certs` as `kubeadm init phase upload-certs` writes it (spec section 7):
/// data keys are file names with `/` as `-`, each AES-256-GCM under the key, laid out
/// nonce | ciphertext | tag; an empty value means the file was absent.
pub(crate) fn kubeadm_certs_secret(key_hex: &str, ca: &Ca) -> Result<Value, String> {
    use base64::Engine;
    let key = joinkit_core::diagnose::certs::decode_key(key_hex)?;
    let mut data = BTreeMap::new();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("ca.crt", ca.cert_pem.clone().into_bytes()),
        ("ca.key", b"-----BEGIN PRIVATE KEY-----\n(lab: not the real key)\n-----END PRIVATE KEY-----\n".to_vec()),
        ("front-proxy-ca.crt", ca.cert_pem.clone().into_bytes()),
        ("front-proxy-ca.key", b"lab".to_vec()),
        ("sa.pub", b"lab".to_vec()),
        ("sa.key", b"lab".to_vec()),
        ("etcd-ca.crt", ca.cert_pem.clone().into_bytes()),
        ("etcd-ca.key", b"lab".to_vec()),
    ];
    for (name, content) in files {
        let sealed = seal(&key, &content)?;
        data.insert(name.to_string(), base64::engine::general_purpose::STANDARD.encode(sealed));
    }
    Ok(
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "kubeadm-certs", "namespace": "kube-system"}, "type": "Opaque", "data": data}),
    )
}

/// A Node object; `ready` sets the Ready condition.
pub(crate) fn node_object(name: &str, ready: bool) -> Value {
    json!({"kind": "Node", "apiVersion": "v1", "metadata": {"labels": {"kubernetes.io/hostname": name}},
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": if ready { "KubeletReady" } else { "KubeletNotReady" }}]}})
}

/// An admin kubeconfig laid out like kubeadm's `admin.conf`.
pub fn admin_kubeconfig(server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) -> String {
    use base64::Engine;
    let b = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\nkind: Config\npreferences: {{}}\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        b(ca_pem),
        b(cert_pem),
        b(key_pem)
    )
}

/// cluster-info's `managedFields` as a kubeadm cluster has them: kubeadm owns `kubeconfig`,
/// kube-controller-manager (the bootstrapsigner) the `jws-kubeconfig-*` keys.
pub(crate) fn cluster_info_managed_fields(jws: Option<serde_json::Map<String, Value>>) -> Value {
    let t = store::now_rfc3339();
    let mut v = vec![
        json!({"manager": "kubeadm", "operation": "Update", "apiVersion": "v1", "time": t, "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {".": {}, "f:kubeconfig": {}}}}),
    ];
    if let Some(j) = jws {
        v.push(json!({"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": t, "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": j}}));
    }
    Value::Array(v)
}

/// Serialises a kubeconfig with the cluster-info layout kubeadm writes (key order and the
/// `name: ""`, `contexts: null`, `users: null` lines), for the lab's cluster-info.
pub(crate) fn cluster_info_kubeconfig(server: &str, ca_pem: &[u8]) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, ca_pem),
        server
    )
}

/// Encrypts `data` as kubeadm uploads control-plane certificates (the inverse of
/// `joinkit_core::diagnose::certs::open`): nonce | ciphertext | tag. Empty input stays empty (an absent file).
pub fn seal(key: &[u8; 32], data: &[u8]) -> Result<Vec<u8>, String> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
    use ring::rand::{SecureRandom, SystemRandom};
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| "bad key")?);
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| "no randomness")?;
    let mut buf = data.to_vec();
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
        .map_err(|_| "seal failed")?;
    let mut out = nonce.to_vec();
    out.extend(buf);
    Ok(out)
}
