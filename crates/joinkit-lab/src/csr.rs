//! The lab's csrapproving and csrsigning controllers for kubelet client CSRs (spec section 6):
//! auto-approval needs signer `kubernetes.io/kube-apiserver-client-kubelet`, O exactly
//! `[system:nodes]`, CN `system:node:*`, no SANs, usages {digital signature, key encipherment,
//! client auth} or {digital signature, client auth} (v1.24: only the first), and a passing
//! SubjectAccessReview for the
//! requester on `create certificatesigningrequests/nodeclient`; the condition reason is
//! `AutoApproved`. The signer issues a one-year client certificate from the cluster CA.

use super::pki::Ca;
use super::rbac::{self, Attributes, UserInfo};
use super::store::Store;
use serde_json::Value;
use x509_parser::prelude::*;

pub(crate) use joinkit_core::bootstrap::{request_der, KUBELET_CLIENT_SIGNER};

/// The usages v1.24's approver and signer require of a kubelet client CSR, sorted as its
/// signer prints them.
pub(crate) const V1_24_KUBELET_CLIENT_USAGES: &[&str] = &["client auth", "digital signature", "key encipherment"];

fn sorted_usages(csr: &Value) -> Vec<String> {
    let mut usages: Vec<String> = csr
        .pointer("/spec/usages")
        .and_then(Value::as_array)
        .map(|u| u.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    usages.sort();
    usages
}

/// The usages v1.24's signer requires of a kubelet serving CSR, with any key, sorted as it
/// prints them (`kubeletServingRequiredUsages`, pkg/apis/certificates/helpers.go before v1.27).
pub(crate) const V1_24_KUBELET_SERVING_USAGES: &[&str] = &["digital signature", "key encipherment", "server auth"];

/// What the signer checks before issuing: on v1.24 a kubelet client certificate must have
/// exactly the usages of [`V1_24_KUBELET_CLIENT_USAGES`] (recorded message: `usages did not
/// match [client auth digital signature key encipherment]`), and a kubelet serving one exactly
/// those of [`V1_24_KUBELET_SERVING_USAGES`] (the real v1.24.0 signer's message, seen by
/// tests/it/real_kubelet.rs: `usages did not match [digital signature key encipherment server
/// auth]`).
pub(crate) fn validate_for_signer(csr: &Value, v1_24: bool) -> Result<(), String> {
    let signer = csr.pointer("/spec/signerName").and_then(Value::as_str);
    let required = match signer {
        Some(KUBELET_CLIENT_SIGNER) => V1_24_KUBELET_CLIENT_USAGES,
        Some("kubernetes.io/kubelet-serving") => V1_24_KUBELET_SERVING_USAGES,
        _ => return Ok(()),
    };
    if v1_24 && sorted_usages(csr) != required {
        return Err(format!("usages did not match [{}]", required.join(" ")));
    }
    Ok(())
}

/// Whether a CSR is a node-client request the approver recognises (no SAR yet).
pub(crate) fn recognise(csr: &Value, v1_24: bool) -> Result<(), String> {
    if csr.pointer("/spec/signerName").and_then(Value::as_str) != Some(KUBELET_CLIENT_SIGNER) {
        return Err("not for the kubelet client signer".into());
    }
    let der = request_der(csr).ok_or("spec.request is not a PEM CSR")?;
    let (_, req) = X509CertificationRequest::from_der(&der).map_err(|e| e.to_string())?;
    let subject = &req.certification_request_info.subject;
    let orgs: Vec<&str> = subject.iter_organization().filter_map(|o| o.as_str().ok()).collect();
    if orgs != ["system:nodes"] {
        return Err(format!("O is {orgs:?}, not [system:nodes]"));
    }
    let cn = subject.iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or("");
    if !cn.starts_with("system:node:") {
        return Err(format!("CN {cn:?} does not start with system:node:"));
    }
    if let Some(exts) = req.requested_extensions() {
        for e in exts {
            if matches!(e, ParsedExtension::SubjectAlternativeName(_)) {
                return Err("the request has SANs".into());
            }
        }
    }
    let usages = sorted_usages(csr);
    let ok = usages == V1_24_KUBELET_CLIENT_USAGES || (!v1_24 && usages == ["client auth", "digital signature"]);
    if !ok {
        return Err(format!("usages {usages:?} are not a node client's"));
    }
    Ok(())
}

/// The approver's verdict for a pending CSR: `Some((type, reason, message))`, or None to leave
/// it Pending (not recognised, or the requester may not self-approve).
pub(crate) fn approve_decision(
    csr: &Value,
    store: &Store,
    deny: bool,
    v1_24: bool,
) -> Option<(&'static str, &'static str, String)> {
    recognise(csr, v1_24).ok()?;
    if deny {
        return Some(("Denied", "DeniedByLab", "node client CSRs are denied in this lab scenario".into()));
    }
    let user = UserInfo {
        name: csr.pointer("/spec/username").and_then(Value::as_str).unwrap_or("").to_string(),
        groups: csr
            .pointer("/spec/groups")
            .and_then(Value::as_array)
            .map(|g| g.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
    };
    let a = Attributes {
        verb: "create".into(),
        group: "certificates.k8s.io".into(),
        resource: "certificatesigningrequests".into(),
        subresource: "nodeclient".into(),
        ..Default::default()
    };
    let (allowed, _) = rbac::authorize(store, &user, &a);
    allowed.then(|| {
        ("Approved", "AutoApproved", "Auto approving kubelet client certificate after SubjectAccessReview.".to_string())
    })
}

/// Issues the certificate for an approved CSR: PEM.
pub(crate) fn sign(csr: &Value, ca: &Ca) -> Result<String, String> {
    let der = request_der(csr).ok_or("spec.request is not a PEM CSR")?;
    ca.sign_csr(&der)
}
