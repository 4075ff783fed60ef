//! diagnose's control-plane check (`--control-plane --certificate-key`): the uploaded
//! certificates (Secret kube-system/kubeadm-certs, spec section 7) are fetched with the
//! bootstrap token, as `kubeadm join --control-plane` does, and decrypted with the key
//! ([`super::certs`]). The Secret is typed with k8s-openapi.

use super::node::{add, fail, Check, DiagnoseOptions, Found};
use crate::client::api::{ApiClient, Identity};
use crate::discovery::TrustedClusterInfo;
use crate::error::Code;
use crate::report::{Report, Status};
use k8s_openapi::api::core::v1::Secret;

/// Fetches kubeadm-certs with the bootstrap token from the control plane that bootstrap's
/// discovery trusted (`trusted`: reused, not discovered again) and checks the key decrypts
/// every entry.
pub(super) async fn control_plane_checks(
    report: &mut Report,
    found: &mut Vec<Found>,
    opts: &DiagnoseOptions,
    trusted: Option<&TrustedClusterInfo>,
) {
    let Some(key_hex) = opts.certificate_key.as_ref().map(secrecy::ExposeSecret::expose_secret) else { return };
    let key = match crate::diagnose::certs::decode_key(key_hex) {
        Ok(k) => k,
        Err(e) => {
            add(
                report,
                found,
                Check::ControlPlaneCertificateKey,
                Status::Fail,
                e.clone(),
                fail(
                    Code::RootCauseConfig,
                    e.clone(),
                    "the certificate key is malformed",
                    "use the 64-hex-digit key printed by `kubeadm init phase upload-certs --upload-certs`",
                )
                .map(|f| f.kubeadm(e)),
            );
            return;
        }
    };
    let (Some(trusted), Some(token)) = (trusted, &opts.bootstrap.discovery.token) else {
        add(
            report,
            found,
            Check::ControlPlaneKubeadmCerts,
            Status::Skip,
            "discovery failed: cannot fetch kubeadm-certs".into(),
            None,
        );
        return;
    };
    let client = match ApiClient::for_discovered(
        trusted,
        Identity::Bearer(secrecy::SecretString::new(token.expose().into())),
        opts.bootstrap.discovery.timeout,
    ) {
        Ok(c) => c,
        Err(f) => {
            return add(report, found, Check::ControlPlaneKubeadmCerts, Status::Fail, f.message.clone(), Some(f.into()))
        }
    };
    const PATH: &str = "/api/v1/namespaces/kube-system/secrets/kubeadm-certs";
    let read = client.get_opt(PATH).await;
    match read.and_then(|o| o.map(|v| crate::k8s::typed::<Secret>(v, &format!("GET {PATH}"))).transpose()) {
        Ok(None) => {
            let k = "Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one";
            add(
                report,
                found,
                Check::ControlPlaneKubeadmCerts,
                Status::Fail,
                "Secret kube-system/kubeadm-certs does not exist".into(),
                fail(
                    Code::RootCauseControlPlane,
                    "Secret kube-system/kubeadm-certs does not exist".into(),
                    "the uploaded certificates expired with their 2 h token, or were never uploaded",
                    "run `kubeadm init phase upload-certs --upload-certs` on a control plane and join with the new key",
                )
                .map(|f| f.kubeadm(k)),
            );
        }
        Ok(Some(s)) => {
            let data = s.data.unwrap_or_default();
            let mut bad = Vec::new();
            let mut kubeadm_error = None;
            for (name, sealed) in &data {
                if let Err(e) = crate::diagnose::certs::open(&key, &sealed.0) {
                    bad.push(name.clone());
                    kubeadm_error.get_or_insert(e);
                }
            }
            if bad.is_empty() {
                add(
                    report,
                    found,
                    Check::ControlPlaneKubeadmCerts,
                    Status::Pass,
                    format!("the key decrypts all {} entries of kubeadm-certs", data.len()),
                    None,
                );
            } else {
                let d = format!(
                    "the certificate key does not decrypt {} of {} entries ({})",
                    bad.len(),
                    data.len(),
                    bad.join(", ")
                );
                add(
                    report,
                    found,
                    Check::ControlPlaneKubeadmCerts,
                    Status::Fail,
                    d.clone(),
                    fail(
                        Code::RootCauseControlPlane,
                        d,
                        "the key belongs to another upload (each `upload-certs --upload-certs` makes a new key)",
                        "use the key printed by the latest `kubeadm init phase upload-certs --upload-certs`",
                    )
                    // kubeadm stops at the first entry that does not open and prints
                    // `error execution phase control-plane-prepare/download-certs: error
                    // downloading certs: ` + this (seen from the real kubeadm v1.36.2 join,
                    // tests/it/kubeadm_tokens.rs).
                    .map(|f| {
                        f.kubeadm(kubeadm_error.unwrap_or_else(|| crate::diagnose::certs::DECODE_ERROR.to_string()))
                    }),
                );
            }
        }
        Err(f) if f.code == Code::ApiForbidden => {
            // `kubeadm init phase upload-certs` creates the Secret *and* the Role/RoleBinding
            // kubeadm:kubeadm-certs that lets bootstrap tokens read it; a cluster that never
            // uploaded certificates answers 403, not 404 (seen on real v1.24 and v1.36).
            let d = format!("the bootstrap token may not read kubeadm-certs: {}", f.message);
            add(
                report,
                found,
                Check::ControlPlaneKubeadmCerts,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseControlPlane,
                    d,
                    "the control-plane certificates were never uploaded for control-plane joins (upload-certs creates the Secret and the Role/RoleBinding kubeadm:kubeadm-certs), or that RoleBinding was removed or does not name the token's group",
                    "on a control-plane node run `kubeadm init phase upload-certs --upload-certs` and join with the certificate key it prints",
                ),
            );
        }
        Err(f) => {
            let d = format!("cannot read kubeadm-certs with the bootstrap token: {}", f.message);
            add(
                report,
                found,
                Check::ControlPlaneKubeadmCerts,
                Status::Fail,
                d.clone(),
                fail(
                    Code::RootCauseControlPlane,
                    d,
                    "the API server did not answer the read of kubeadm-certs",
                    "check the API server's health and retry",
                ),
            );
        }
    }
}
