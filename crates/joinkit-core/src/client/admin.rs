//! The admin client's connection from a kubeconfig, as kubectl makes it: the files through the
//! one loader ([`crate::kubeconfig::Kubeconfig::load_merged`]: `--kubeconfig`, else every path
//! of `KUBECONFIG` merged first-wins, else `~/.kube/config`; relative paths against the file that
//! names them), context selection by kube-client (`Config::from_custom_kubeconfig`,
//! `--context`), credentials through the one credential loader
//! ([`crate::kubeconfig::load_credentials`]: exec plugin, token, tokenFile, client certificate
//! and key). Every file is read bounded by joinkit, never by kube-client.
//! `insecure-skip-tls-verify` is honoured with a warning, and only for anonymous requests.

use super::api::{unusable, ApiClient, ApiOptions};
use super::{ApiStage, TrustAnchors};
use crate::error::{Code, Failure};
use crate::kubeconfig::{self, CredentialError, ExecContext, Kubeconfig};
use base64::Engine;
use kube_client::config::{Config, KubeConfigOptions};
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Accepts any server certificate (for `insecure-skip-tls-verify`), still checking handshake
/// signatures.
#[derive(Debug)]
struct InsecureVerifier(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for InsecureVerifier {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ApiClient {
    /// Loads the kubeconfig as kubectl does and builds the client (runs an exec plugin if the
    /// user has one). Every file involved (the kubeconfigs, and the CA, client certificate, key
    /// and token file of the selected context) is read bounded by joinkit, never by
    /// kube-client. A configured CA (`certificate-authority(-data)`) that yields no certificate
    /// is an error, as kubectl's "unable to load root certificates" is: only a kubeconfig that
    /// names no CA at all uses the system trust store. Errors: `kubeconfig-unusable`.
    pub async fn connect(opts: &ApiOptions) -> Result<ApiClient, Failure> {
        let (kc, source) = load_kubeconfig(opts)?;
        let mut doc = kc.into_doc();
        let ca_bundle = inline_selected_ca(&mut doc, opts.context.as_deref(), &source)?;
        let kopts = KubeConfigOptions { context: opts.context.clone(), ..Default::default() };
        let cfg = Config::from_custom_kubeconfig(doc, &kopts).await.map_err(|e| {
            unusable(
                format!("{source}: {}", crate::redact::redact(&e.to_string())),
                "check current-context / --context and the cluster and user it names",
            )
        })?;
        let server = cfg.cluster_url.to_string().trim_end_matches('/').to_string();
        if !server.starts_with("https://") {
            return Err(unusable(
                format!("{source}: the server {server} is not https"),
                "use the API server's https URL",
            ));
        }
        let internal = |e: String| Failure::new(Code::Internal, ApiStage::Kubeconfig, e);
        let mut warnings = Vec::new();
        let provider = super::provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| internal(e.to_string()))?;
        let mut served = None;
        let (builder, ca) = if cfg.accept_invalid_certs {
            warnings
                .push(format!("{source}: insecure-skip-tls-verify is set: the API server's identity is not checked"));
            (
                builder.dangerous().with_custom_certificate_verifier(Arc::new(InsecureVerifier(provider.clone()))),
                Vec::new(),
            )
        } else {
            match ca_bundle {
                Some(bundle) => {
                    let certs = crate::pin::read_certificates(&bundle, "certificate-authority").map_err(|f| {
                        unusable(
                            format!("{source}: unable to load root certificates: {}", f.message),
                            "certificate-authority(-data) must hold the cluster's CA certificate (PEM)",
                        )
                    })?;
                    let anchors =
                        TrustAnchors::new(certs, format!("{source}'s certificate-authority")).map_err(|e| {
                            unusable(
                                format!("{source}: unable to load root certificates: {e}"),
                                "fix certificate-authority(-data)",
                            )
                        })?;
                    let (builder, recorder) = anchors.client_config_builder().map_err(internal)?;
                    served = Some(recorder);
                    (builder, anchors.certs().to_vec())
                }
                None => {
                    let anchors = TrustAnchors::system().map_err(|e| {
                        unusable(
                            format!("{source}: names no CA and {e}"),
                            "add certificate-authority-data to the kubeconfig",
                        )
                    })?;
                    let (builder, recorder) = anchors.client_config_builder().map_err(internal)?;
                    served = Some(recorder);
                    (builder, Vec::new())
                }
            }
        };
        if cfg.tls_server_name.is_some() {
            warnings.push(format!("{source}: tls-server-name is not supported by joinkit; the URL's host is verified"));
        }
        if cfg.accept_invalid_certs && kubeconfig::has_credentials(&cfg.auth_info) {
            // kubectl would send them; joinkit sends no credential to a server it has not
            // verified (SECURITY.md). Anonymous requests with the flag still work, with a warning.
            return Err(unusable(
                format!("{source}: insecure-skip-tls-verify is set and the user has credentials; joinkit does not send credentials to an API server whose certificate it has not verified"),
                "put the cluster's CA in certificate-authority-data (on a control-plane node: /etc/kubernetes/pki/ca.crt, `kubectl config set-cluster NAME --certificate-authority=ca.crt --embed-certs`) and remove insecure-skip-tls-verify",
            ));
        }
        // On a blocking thread: the caller's runtime (and its timeouts) keeps running.
        let exec = ExecContext { server: &server, timeout: opts.timeout.unwrap_or(Duration::from_secs(30)) };
        let identity = kubeconfig::load_credentials(&cfg.auth_info, Some(exec)).await.map_err(|e| match e {
            CredentialError::Plugin(f) => f,
            CredentialError::Invalid(why) => {
                unusable(format!("{source}: {why}"), "fix the user's credentials in the kubeconfig (the field named)")
            }
            CredentialError::ExecNotAllowed => internal("exec plugins are allowed here".into()),
        })?;
        let timeout = opts.timeout.unwrap_or(Duration::from_secs(15));
        let mut client = ApiClient::with_anchors_builder(builder, &server, identity, timeout, &source)?;
        client.ca = ca;
        client.warnings = warnings;
        if let Some(r) = served {
            client.set_served(r);
        }
        Ok(client)
    }
}

/// Reads the kubeconfig(s) as kubectl does (`--kubeconfig`, else every path of `KUBECONFIG`
/// merged first-wins, else `~/.kube/config`) through the one loader. Parse errors never quote the
/// file.
fn load_kubeconfig(opts: &ApiOptions) -> Result<(Kubeconfig, String), Failure> {
    let (paths, source): (Vec<PathBuf>, String) = match &opts.kubeconfig {
        Some(p) => (vec![p.clone()], p.display().to_string()),
        None => match std::env::var_os("KUBECONFIG") {
            Some(v) if std::env::split_paths(&v).any(|p| !p.as_os_str().is_empty()) => (
                std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect(),
                format!("KUBECONFIG={}", v.to_string_lossy()),
            ),
            _ => {
                let home = std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| {
                    unusable(
                        "no --kubeconfig, no KUBECONFIG and no HOME",
                        "pass --kubeconfig /etc/kubernetes/admin.conf",
                    )
                })?;
                (vec![home.join(".kube").join("config")], "~/.kube/config".to_string())
            }
        },
    };
    let fix = if opts.kubeconfig.is_some() {
        "pass a readable kubeconfig with --kubeconfig"
    } else {
        "pass --kubeconfig /etc/kubernetes/admin.conf (on a control-plane node) or set KUBECONFIG"
    };
    let kc = Kubeconfig::load_merged(&paths).map_err(|e| unusable(format!("{source}: {e}"), fix))?;
    Ok((kc, source))
}

/// Reads, bounded, the CA that the selected context's cluster names and puts it in
/// `certificate-authority-data`, so that kube-client never opens a file itself. Returns the CA
/// bundle bytes (`None` when the cluster names no CA). Unknown contexts are left for kube-client
/// to report.
fn inline_selected_ca(
    doc: &mut kube_client::config::Kubeconfig,
    context: Option<&str>,
    source: &str,
) -> Result<Option<Vec<u8>>, Failure> {
    let ctx_name = context.map(str::to_string).or_else(|| doc.current_context.clone()).unwrap_or_default();
    let Some(ctx) = doc.contexts.iter().find(|c| c.name == ctx_name).and_then(|c| c.context.clone()) else {
        return Ok(None);
    };
    let Some(cluster) = doc.clusters.iter_mut().find(|c| c.name == ctx.cluster).and_then(|c| c.cluster.as_mut()) else {
        return Ok(None);
    };
    let bundle = kubeconfig::ca_bytes(cluster).map_err(|e| {
        unusable(format!("{source}: unable to load root certificates: {e}"), "fix certificate-authority(-data)")
    })?;
    if let Some(b) = &bundle {
        cluster.certificate_authority_data = Some(base64::engine::general_purpose::STANDARD.encode(b));
    }
    cluster.certificate_authority = None;
    Ok(bundle)
}
