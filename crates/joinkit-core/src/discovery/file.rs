//! File discovery (kubeadm's `cmd/kubeadm/app/discovery/file`, spec section 4): the discovery
//! kubeconfig (a path, or an `https://` URL fetched with the system roots) gives the server, the
//! CA and maybe credentials; the server must verify against that CA during the handshake
//! ([`client::fetch_verified`]) before the credentials are presented, then cluster-info (if
//! readable) replaces the file's cluster, as kubeadm does.

use super::cluster_info::{ca_validity, parse_kubeconfig, raw_kubeconfig, CLUSTER_INFO_PATH};
use super::token::{clock_stage, cluster_info_from_response, skew_seconds};
use super::{DiscoveryStage as S, Options, DISCOVERY_FILE_STAGES};
use crate::client::{self, FetchOptions, TrustAnchors};
use crate::endpoint::Endpoint;
use crate::error::{Code, Failure};
use crate::kubeconfig::{self, Kubeconfig};
use crate::pin::{self, CertInfo};
use crate::report::Report;
use std::path::PathBuf;
use std::time::Instant;

/// Runs file discovery from `file` (a path or an `https://` URL).
pub(super) async fn run_discovery_file(opts: &Options, file: &str) -> Report {
    let mut report = Report::new("verify-discovery");
    report.start();
    report.pass(S::Input, format!("file discovery from {}", crate::redact::truncate(file, 200)));
    let deadline = Instant::now() + opts.timeout;

    // discovery-file: read the kubeconfig from a path or an https URL; take its server, its CA
    // (as trust anchors: never empty) and its credentials.
    report.start();
    let loaded: Result<Kubeconfig, Failure> = if file.contains("://") {
        if !file.starts_with("https://") {
            Err(Failure::new(
                Code::Usage,
                S::DiscoveryFile,
                format!("expected a file path or an https:// URL; got {:?}", crate::redact::truncate(file, 200)),
            )
            .kubeadm("if a URL is used, the scheme must be https")
            .cause("kubeadm only downloads discovery files over HTTPS")
            .fix("serve the file over https, or copy it to the node and pass its path"))
        } else {
            fetch_url_kubeconfig(&mut report, file, opts, deadline).await
        }
    } else {
        let p = PathBuf::from(file);
        if !p.exists() {
            Err(Failure::new(
                Code::InputUnreadable,
                S::DiscoveryFile,
                format!("expected a readable kubeconfig at {file}; it does not exist"),
            )
            .kubeadm("not a valid HTTPS URL or a file on disk")
            .cause("the path is wrong")
            .fix("copy the discovery kubeconfig to the node, or pass an https:// URL"))
        } else {
            Kubeconfig::load(&p).map_err(|e| {
                Failure::new(Code::BadInputFile, S::DiscoveryFile, format!("expected a kubeconfig; {e}"))
                    .cause("the file is not a kubeconfig, or not a readable regular file")
                    .fix("generate it with `kubectl config view --raw --minify --flatten` on an admin machine")
            })
        }
    };
    let prepared = match loaded {
        Ok(kc) => prepare(&kc, !file.contains("://"), opts).await,
        Err(f) => Err(f),
    };
    let (server, ep, anchors, creds) = match prepared {
        Ok(x) => x,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let has_creds = creds.is_some();
    report.pass(
        S::DiscoveryFile,
        format!(
            "server {server}, {} CA certificate(s), credentials: {}",
            anchors.certs().len(),
            if has_creds { "yes (sent only after the server verifies against the file's CA)" } else { "none" }
        ),
    );

    // The server must verify against the file's CA during the handshake before the file's
    // credentials are presented (kubeadm builds its client from the file's CA first).
    let fetch_opts = FetchOptions {
        connect_timeout: opts.connect_timeout,
        deadline,
        what: client::KubeadmRequest::plain("the cluster-info ConfigMap"),
    };
    let fetched = match client::fetch_verified(&mut report, &ep, CLUSTER_INFO_PATH, fetch_opts, &anchors, creds).await {
        Ok(f) => f,
        Err(f) => {
            report.fail(f);
            report.skip_rest(DISCOVERY_FILE_STAGES);
            return report;
        }
    };
    let result = (|| {
        report.start();
        let (api_server, ca_used): (String, Vec<CertInfo>) = match fetched.status() {
            403 => {
                report.warn(
                    S::ClusterInfo,
                    "cluster-info is forbidden for these credentials: kubeadm keeps the discovery file's contents",
                );
                let infos = anchors.certs().iter().filter_map(|c| pin::inspect(c.as_ref(), "CA").ok()).collect();
                (server.clone(), infos)
            }
            status => {
                // The connection verified against the file's CA, so cluster-info is as trusted
                // as the file (kubeadm's file discovery does not check a JWS); it is still read
                // data only and https only.
                let ci = cluster_info_from_response(&mut report, status, fetched.body(), &ep, "")?;
                report.start();
                let parsed = parse_kubeconfig(raw_kubeconfig(&ci)?)?;
                report.pass(S::Kubeconfig, format!("using cluster-info's kubeconfig: server {}", parsed.server));
                (parsed.server, parsed.ca)
            }
        };
        report.start();
        let skew = fetched.date().map(skew_seconds);
        ca_validity(&mut report, &ca_used.iter().collect::<Vec<_>>(), skew)?;
        clock_stage(&mut report, fetched.date(), opts.max_clock_skew)?;
        report.start();
        if has_creds {
            report.pass(S::TlsBootstrapCredentials, "the discovery file holds credentials for the TLS bootstrap");
        } else if opts.tls_bootstrap_token.is_some() {
            report.pass(S::TlsBootstrapCredentials, "--tls-bootstrap-token will authenticate the TLS bootstrap");
        } else {
            return Err(Failure::new(
                Code::NoBootstrapCredentials,
                S::TlsBootstrapCredentials,
                "expected credentials for the TLS bootstrap in the discovery file or from --tls-bootstrap-token; found neither",
            )
            .kubeadm("could not find authentication credentials for the TLS bootstrap process. Please use Token discovery, a discovery file with embedded authentication credentials or a discovery file without authentication credentials but with the TLSBootstrapToken flag")
            .cause("the discovery file has no user credentials and no TLS bootstrap token was given")
            .fix("pass --tls-bootstrap-token (discovery.tlsBootstrapToken in the config), or embed a token in the discovery file's user"));
        }
        report.set("apiServer", &api_server);
        report.set("endpoint", ep.to_string());
        report.set("ca", &ca_used);
        Ok(api_server)
    })();
    match result {
        Ok(api) => report.line(format!("OK: file discovery works; the kubelet will use API server {api}.")),
        Err(f) => report.fail(f),
    }
    report.skip_rest(DISCOVERY_FILE_STAGES);
    report
}

fn bad_discovery_file(e: String) -> Failure {
    Failure::new(Code::BadInputFile, S::DiscoveryFile, format!("expected a kubeconfig with a cluster, an https server and a CA; {e}"))
        .cause("the discovery file is incomplete, or a file it names is missing, not a regular file or too large")
        .fix("generate it with `kubectl config view --raw --minify --flatten` on an admin machine, keeping certificate-authority-data")
}

/// The discovery file's server, endpoint, CA (as trust anchors: never empty) and credentials
/// (the one credential loader, [`kubeconfig::load_credentials`]; an exec plugin runs only for a
/// local file), as [`client::Credentials`] that only [`client::fetch_verified`] presents.
async fn prepare(
    kc: &Kubeconfig,
    local: bool,
    opts: &Options,
) -> Result<(String, Endpoint, TrustAnchors, Option<client::Credentials>), Failure> {
    let cluster = kc.cluster(None).map_err(bad_discovery_file)?.cluster;
    let server = cluster.server.clone().unwrap_or_default();
    let ep = Endpoint::from_server_url(&server).map_err(bad_discovery_file)?;
    let ca_bytes = kubeconfig::ca_bytes(&cluster).map_err(bad_discovery_file)?.ok_or_else(|| {
        bad_discovery_file("the cluster has neither certificate-authority-data nor certificate-authority".into())
    })?;
    let ca = pin::read_certificates(&ca_bytes, "discovery file CA").map_err(|f| bad_discovery_file(f.message))?;
    let anchors = TrustAnchors::new(ca, "the discovery file's CA").map_err(bad_discovery_file)?;
    let user = kc.current_user().map(|u| u.user.clone()).unwrap_or_default();
    let exec = local.then_some(kubeconfig::ExecContext { server: &server, timeout: opts.timeout });
    let identity = kubeconfig::load_credentials(&user, exec).await.map_err(|e| match e {
        kubeconfig::CredentialError::Invalid(why) => bad_discovery_file(why),
        kubeconfig::CredentialError::Plugin(f) => f.at(S::DiscoveryFile),
        kubeconfig::CredentialError::ExecNotAllowed => {
            bad_discovery_file("a downloaded discovery file may not name an exec plugin".into())
        }
    })?;
    let creds = client::Credentials::from_identity(identity).map_err(bad_discovery_file)?;
    Ok((server, ep, anchors, creds))
}

/// Downloads a discovery file over https, verified by the system trust store during the
/// handshake (as kubeadm's HTTPS client is), anonymously, at most [`client::MAX_BODY`] bytes.
async fn fetch_url_kubeconfig(
    report: &mut Report,
    url: &str,
    opts: &Options,
    deadline: Instant,
) -> Result<Kubeconfig, Failure> {
    let (ep, path) = Endpoint::split_url(url).map_err(|e| {
        Failure::new(Code::Usage, S::DiscoveryFile, format!("expected an https URL with a host; {e}"))
            .kubeadm("not a valid HTTPS URL or a file on disk")
            .cause("the URL is malformed")
            .fix("check the URL")
    })?;
    let anchors = TrustAnchors::system().map_err(|e| {
        Failure::new(Code::TlsVerifyFailed, S::DiscoveryFile, format!("cannot verify {url}: {e}"))
            .cause("this node has no CA certificates in its trust store")
            .fix("install the ca-certificates package, or copy the discovery file to the node")
    })?;
    let mut sub = Report::new("fetch");
    let fetched = client::fetch_verified(
        &mut sub,
        &ep,
        &path,
        FetchOptions {
            connect_timeout: opts.connect_timeout,
            deadline,
            what: client::KubeadmRequest::plain("the discovery file"),
        },
        &anchors,
        None,
    )
    .await
    .map_err(|f| f.at(S::DiscoveryFile))?;
    if fetched.status() != 200 {
        return Err(Failure::new(
            Code::InputUnreadable,
            S::DiscoveryFile,
            format!("expected HTTP 200 for {url}; got {}", fetched.status()),
        )
        .cause("the URL is wrong or the file server refuses")
        .fix("check the URL"));
    }
    report.absorb(&sub, "discovery-file-");
    let text = std::str::from_utf8(fetched.body())
        .map_err(|_| bad_discovery_file("the downloaded file is not UTF-8".into()))?;
    let kc = Kubeconfig::parse(text).map_err(bad_discovery_file)?;
    // A document from the network names no local file joinkit would open (and then send: a
    // tokenFile's contents would become the bearer token) and no command: data fields only.
    if let Err(named) = kc.refuse_local_references() {
        return Err(bad_discovery_file(format!(
            "the file downloaded from {url} names local paths or commands ({named}); a downloaded discovery file must carry certificate-authority-data, token or client-certificate-data/client-key-data, and joinkit never opens a path named by a document from the network"
        )));
    }
    Ok(kc)
}
