//! The in-cluster connection, as client-go's `rest.InClusterConfig` makes it: the API server at
//! `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, verified against the service
//! account's `ca.crt` (and nothing else: no system roots), the service account's token as the
//! bearer token (re-read as the kubelet rotates it), and the pod's namespace from `namespace`.
//! Every file is read bounded (64 KiB for the token and namespace, 1 MiB for the CA).

use super::api::{unusable, ApiClient, Bearer, Identity};
use super::TrustAnchors;
use crate::error::{Code, Failure};
use crate::fsutil::{read_bounded, read_bounded_string};
use secrecy::SecretString;
use std::path::Path;
use std::time::{Duration, Instant};

/// Where a pod's service-account credentials are mounted (client-go's `tokenFile`/`rootCAFile`).
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Reads a service-account token file: at most 64 KiB, trimmed, not empty.
pub(crate) fn read_token(path: &Path) -> Result<SecretString, String> {
    let text = read_bounded_string(path, 64 << 10).map_err(|e| e.to_string())?;
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(SecretString::from(t.to_string()))
}

/// True when this process looks like it runs in a pod: `KUBERNETES_SERVICE_HOST` is set (the
/// kubelet sets it in every container). kubectl and client-go fall back to the in-cluster
/// configuration in the same case when no kubeconfig is given.
pub fn in_cluster_env() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|v| !v.is_empty())
}

impl ApiClient {
    /// The in-cluster client from the service account mounted at `dir` (normally
    /// [`SERVICE_ACCOUNT_DIR`]) and the `KUBERNETES_SERVICE_HOST`/`_PORT` environment. Returns
    /// the client and the pod's namespace (`None` when `dir/namespace` is missing). Errors:
    /// `kubeconfig-unusable` naming the variable or file.
    pub fn in_cluster(dir: &Path, timeout: Option<Duration>) -> Result<(ApiClient, Option<String>), Failure> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").unwrap_or_default();
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_default();
        let fix = "run inside a pod with a service account token mounted, or pass --kubeconfig";
        if host.is_empty() || port.is_empty() {
            return Err(unusable(
                "in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set",
                fix,
            ));
        }
        // client-go: net.JoinHostPort, so an IPv6 service address gets brackets.
        let server =
            if host.contains(':') { format!("https://[{host}]:{port}") } else { format!("https://{host}:{port}") };
        let token_path = dir.join("token");
        let token = read_token(&token_path).map_err(|e| unusable(format!("in-cluster configuration: {e}"), fix))?;
        let ca_path = dir.join("ca.crt");
        let ca =
            read_bounded(&ca_path, 1 << 20).map_err(|e| unusable(format!("in-cluster configuration: {e}"), fix))?;
        let certs = crate::pin::read_certificates(&ca, "ca.crt")
            .map_err(|f| unusable(format!("in-cluster configuration: {}: {}", ca_path.display(), f.message), fix))?;
        let anchors = TrustAnchors::new(certs, ca_path.display().to_string())
            .map_err(|e| unusable(format!("in-cluster configuration: {}: {e}", ca_path.display()), fix))?;
        let (builder, recorder) = anchors
            .client_config_builder()
            .map_err(|e| Failure::new(Code::Internal, super::ApiStage::Kubeconfig, e))?;
        let mut client = ApiClient::with_anchors_builder(
            builder,
            &server,
            Identity::Bearer(token.clone()),
            timeout.unwrap_or(Duration::from_secs(15)),
            "in-cluster configuration",
        )?;
        client.set_bearer(Bearer::File {
            path: token_path,
            cached: std::sync::Mutex::new((token, Instant::now())),
            refresh: Duration::from_secs(60),
        });
        client.ca = anchors.certs().to_vec();
        client.set_served(recorder);
        let namespace = read_bounded_string(&dir.join("namespace"), 64 << 10)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Ok((client, namespace))
    }
}
