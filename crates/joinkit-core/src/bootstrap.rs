//! `joinkit bootstrap`: a dry-run TLS bootstrap (spec section 6). The node half of a join,
//! proved before a kubelet runs: discovery, authentication with the bootstrap token, the RBAC
//! the join needs, the node name, a kubelet-identical CSR, its approval and issue (watched, not
//! polled), the certificate, authentication with it, and clean-up. Nothing is left behind unless
//! `--keep-csr` or `--write-dir` say so.
//!
//! The CSR is what the kubelet sends (`k8s.io/kubernetes/pkg/kubelet/certificate/bootstrap`):
//! ECDSA P-256 key, subject `O=system:nodes, CN=system:node:<name>`, no SANs, signer
//! `kubernetes.io/kube-apiserver-client-kubelet`, usages digital signature, key encipherment,
//! client auth, named `node-csr-<digest>` where the digest is base64url (unpadded) of
//! SHA-512/256 over `b64url(SPKI)|b64url(CN)|b64url(O)...|b64url(usage)...|`.

use crate::client::api::{ApiClient, Identity};
use crate::discovery::{self, Options, TrustedClusterInfo};
use crate::error::{Code, Failure};
use crate::report::Report;
use crate::token::BootstrapToken;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rustls::pki_types::CertificateDer;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde_json::{json, Value};
use sha2::Digest;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The usages the kubelet requests.
pub const USAGES: &[&str] = &["digital signature", "key encipherment", "client auth"];
const CSR_PATH: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// The kubelet client signer.
pub const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";

/// The DER of a CSR's `spec.request` (base64 of PEM).
pub fn request_der(csr: &Value) -> Option<Vec<u8>> {
    let b64 = csr.pointer("/spec/request")?.as_str()?;
    let pem = crate::kubeconfig::decode_b64(b64).ok()?;
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateSigningRequestDer::from_pem_slice(&pem).ok().map(|d| d.as_ref().to_vec())
}

/// Every stage after discovery, in order.
pub const BOOTSTRAP_STAGES: &[&str] = &[
    "authenticate",
    "authorize",
    "node-name",
    "csr",
    "submit",
    "approval",
    "certificate",
    "node-identity",
    "write",
    "cleanup",
];

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// Discovery options (token, trust, endpoint).
    pub discovery: Options,
    /// The node name.
    pub node_name: String,
    /// Bound for waiting on the CSR.
    pub csr_timeout: Duration,
    /// Keep the CSR on the cluster.
    pub keep_csr: bool,
    /// Write the join's files here (not a dry run).
    pub write_dir: Option<PathBuf>,
    /// An admin kubeconfig for deleting the CSR (bootstrap tokens may not delete CSRs).
    pub admin: Option<crate::client::api::ApiOptions>,
}

/// A fresh key and the kubelet's CSR for `node`.
pub struct NodeCsr {
    /// The CSR, PEM.
    pub csr_pem: String,
    /// The private key, PEM.
    pub key_pem: SecretString,
    /// The key's DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// `node-csr-...`.
    pub name: String,
}

/// The kubelet's CSR name for a public key, subject and usages (see module docs).
pub fn csr_name(spki_der: &[u8], cn: &str, orgs: &[&str], usages: &[&str]) -> String {
    let mut h = sha2::Sha512_256::new();
    let mut write = |d: &[u8]| {
        h.update(URL_SAFE_NO_PAD.encode(d).as_bytes());
        h.update(b"|");
    };
    write(spki_der);
    write(cn.as_bytes());
    for o in orgs {
        write(o.as_bytes());
    }
    for u in usages {
        write(u.as_bytes());
    }
    format!("node-csr-{}", URL_SAFE_NO_PAD.encode(h.finalize()))
}

/// Makes a new ECDSA P-256 key and the kubelet's CSR for `node`.
pub fn node_csr(node: &str) -> Result<NodeCsr, String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "system:nodes");
    dn.push(rcgen::DnType::CommonName, format!("system:node:{node}"));
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key).map_err(|e| e.to_string())?;
    let spki_der = rcgen::PublicKeyData::subject_public_key_info(&key);
    let cn = format!("system:node:{node}");
    Ok(NodeCsr {
        csr_pem: csr.pem().map_err(|e| e.to_string())?,
        key_pem: SecretString::from(key.serialize_pem()),
        name: csr_name(&spki_der, &cn, &["system:nodes"], USAGES),
        spki_der,
    })
}

async fn ssar(
    client: &ApiClient,
    verb: &str,
    group: &str,
    resource: &str,
    sub: &str,
) -> Result<(bool, String), Failure> {
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource, "subresource": sub}}});
    let v = client.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", &body).await?;
    let allowed = v.pointer("/status/allowed").and_then(Value::as_bool).unwrap_or(false);
    let reason = v.pointer("/status/reason").and_then(Value::as_str).unwrap_or("").to_string();
    Ok((allowed, reason))
}

/// Who the credentials are: SelfSubjectReview (1.28+), else `None` after a 404 (older servers).
/// SelfSubjectReview (`authentication.k8s.io/v1`, GA in 1.28). `Ok(None)` when the server does
/// not serve it: before 1.28 it answers 404 to `system:masters` and **403** to everyone else,
/// bootstrap tokens included (RBAC refuses the unknown resource before routing; recorded from a
/// real v1.24 server in `vectors/apiserver-v1.24/bootstrap/whoami_token_v1`). A 403 still proves
/// the token authenticated (a rejected token is 401); callers confirm with an access review.
async fn whoami(client: &ApiClient) -> Result<Option<(String, Vec<String>)>, Failure> {
    let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    match client.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", &body).await {
        Ok(v) => {
            let name = v.pointer("/status/userInfo/username").and_then(Value::as_str).unwrap_or("").to_string();
            let groups = v
                .pointer("/status/userInfo/groups")
                .and_then(Value::as_array)
                .map(|g| g.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            Ok(Some((name, groups)))
        }
        Err(f) if f.code == Code::ApiNotFound => Ok(None),
        Err(f) if f.code == Code::ApiForbidden && f.message.contains("selfsubjectreviews") => Ok(None),
        Err(f) => Err(f),
    }
}

/// `reason (message)` of a CSR condition, for reports.
fn condition_text(csr: &Value, t: &str) -> String {
    let c = condition(csr, t);
    let get = |k: &str| c.and_then(|c| c.get(k)).and_then(Value::as_str).unwrap_or("");
    format!("{} ({})", get("reason"), get("message"))
}

fn condition<'a>(csr: &'a Value, t: &str) -> Option<&'a Value> {
    csr.pointer("/status/conditions")?.as_array()?.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(t))
}

/// What the watch saw last.
enum CsrOutcome {
    Issued(Value),
    Denied(Value),
    Failed(Value),
    TimedOut(Option<Value>),
}

/// Watches one CSR until issued, denied, failed, or the timeout (a watch, not a poll).
async fn watch_csr(client: &ApiClient, name: &str, timeout: Duration) -> Result<(CsrOutcome, Duration), Failure> {
    let started = Instant::now();
    let mut last: Option<Value> = None;
    let judge = |o: &Value| -> Option<CsrOutcome> {
        if condition(o, "Denied").is_some() {
            Some(CsrOutcome::Denied(o.clone()))
        } else if condition(o, "Failed").is_some() {
            Some(CsrOutcome::Failed(o.clone()))
        } else if condition(o, "Approved").is_some()
            && o.pointer("/status/certificate").and_then(Value::as_str).is_some_and(|c| !c.is_empty())
        {
            Some(CsrOutcome::Issued(o.clone()))
        } else {
            None
        }
    };
    while started.elapsed() < timeout {
        let left = timeout.saturating_sub(started.elapsed());
        let path = format!(
            "{CSR_PATH}?watch=true&fieldSelector=metadata.name%3D{name}&timeoutSeconds={}",
            left.as_secs().max(1)
        );
        let mut resp = match client.get_stream(&path, left + Duration::from_secs(1)).await {
            Ok(r) => r,
            Err(f) if matches!(f.code, Code::RequestTimeout) => break,
            Err(f) => return Err(f),
        };
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            let chunk = match tokio::time::timeout(left, resp.chunk()).await {
                Err(_) => return Ok((CsrOutcome::TimedOut(last), started.elapsed())),
                Ok(Err(_)) | Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            buf.extend_from_slice(&chunk);
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                let Ok(ev) = serde_json::from_slice::<Value>(&line) else { continue };
                let Some(obj) = ev.get("object") else { continue };
                if ev.get("type").and_then(Value::as_str) == Some("DELETED") {
                    return Err(Failure::new(
                        Code::CsrFailed,
                        "approval",
                        format!("CSR {name} was deleted while waiting"),
                    )
                    .cause("someone or something deleted the CSR")
                    .fix("retry"));
                }
                if let Some(out) = judge(obj) {
                    return Ok((out, started.elapsed()));
                }
                last = Some(obj.clone());
            }
        }
    }
    Ok((CsrOutcome::TimedOut(last), started.elapsed()))
}

/// Checks the issued certificate: chains to the CA, subject and O, client auth, validity, key.
fn verify_certificate(
    cert_pem: &[u8],
    ca: &[CertificateDer<'static>],
    node: &str,
    spki: &[u8],
) -> Result<String, String> {
    use x509_parser::prelude::*;
    let certs = crate::pin::read_certificates(cert_pem, "issued certificate").map_err(|f| f.message)?;
    let (_, cert) = X509Certificate::from_der(certs[0].as_ref()).map_err(|e| e.to_string())?;
    let issuer_ok = ca.iter().any(|c| {
        X509Certificate::from_der(c.as_ref())
            .ok()
            .is_some_and(|(_, ca)| cert.verify_signature(Some(ca.public_key())).is_ok())
    });
    if !issuer_ok {
        return Err("it is not signed by the cluster CA".into());
    }
    let cn = cert.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or("");
    if cn != format!("system:node:{node}") {
        return Err(format!("CN is {cn:?}, not system:node:{node}"));
    }
    let orgs: Vec<&str> = cert.subject().iter_organization().filter_map(|o| o.as_str().ok()).collect();
    if orgs != ["system:nodes"] {
        return Err(format!("O is {orgs:?}, not [system:nodes]"));
    }
    let client_auth = cert.extended_key_usage().ok().flatten().is_some_and(|e| e.value.client_auth);
    if !client_auth {
        return Err("it lacks the client auth extended key usage".into());
    }
    let now = ASN1Time::now();
    if !cert.validity().is_valid_at(now) {
        return Err(format!(
            "it is not valid now (valid {} to {})",
            cert.validity().not_before,
            cert.validity().not_after
        ));
    }
    if cert.public_key().raw != spki {
        return Err("its public key is not the key of the CSR".into());
    }
    Ok(format!("{} issued by {}, valid until {}", cert.subject(), cert.issuer(), cert.validity().not_after))
}

fn kubeconfig_yaml(server: &str, ca_pem: &str, user: &str, context: &str, cluster: &str, auth: Value) -> String {
    let v = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"certificate-authority-data": STANDARD.encode(ca_pem), "server": server}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
        "preferences": {},
        "users": [{"name": user, "user": auth}],
    });
    serde_saphyr::to_string(&v).unwrap_or_default()
}

fn ca_pem(ca: &[CertificateDer<'static>]) -> String {
    ca.iter()
        .map(|c| {
            let b = STANDARD.encode(c.as_ref());
            let lines: Vec<&str> = b.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap_or("")).collect();
            format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
        })
        .collect()
}

/// Runs the dry-run TLS bootstrap and returns the report.
pub async fn run(opts: &BootstrapOptions) -> Report {
    let (mut report, trusted) = match &opts.discovery.source {
        discovery::Source::Endpoint(ep) => discovery::run_token_with_wait(&opts.discovery, ep).await,
        _ => {
            let mut r = Report::new("bootstrap");
            r.fail(
                Failure::new(Code::Usage, "input", "joinkit bootstrap needs token discovery (ENDPOINT and a token)")
                    .cause("file discovery and saved cluster-info files are not supported by bootstrap")
                    .fix("pass ENDPOINT, the token and the pins"),
            );
            return r;
        }
    };
    report.set_command("bootstrap");
    let Some(trusted) = trusted.filter(|_| report.ok()) else {
        report.skip_rest(discovery::NETWORK_STAGES);
        report.skip_rest(BOOTSTRAP_STAGES);
        return report;
    };
    report.clear_lines();
    // The TLS bootstrap authenticates with discovery.tlsBootstrapToken when it differs from
    // the discovery token (kubeadm's TLSBootstrapToken, defaulted to the discovery token).
    let token = opts
        .discovery
        .tls_bootstrap_token
        .clone()
        .or_else(|| opts.discovery.token.clone())
        .expect("discovery checked the token");
    if let Err(f) = steps(&mut report, opts, &trusted, &token).await {
        report.fail(f);
    }
    report.skip_rest(BOOTSTRAP_STAGES);
    report
}

async fn steps(
    report: &mut Report,
    opts: &BootstrapOptions,
    trusted: &TrustedClusterInfo,
    token: &BootstrapToken,
) -> Result<(), Failure> {
    let timeout = opts.discovery.timeout;
    // The bootstrap token goes only to the server of a TrustedClusterInfo (JWS, pin and serving
    // certificate verified; https by construction).
    let client =
        ApiClient::for_discovered(trusted, Identity::Bearer(SecretString::new(token.expose().into())), timeout)?;
    let node = opts.node_name.clone();

    // 2. authenticate
    report.start();
    let who = whoami(&client).await.map_err(|f| token_rejected(f, token))?;
    match &who {
        Some((name, groups)) => {
            report.set("bootstrapIdentity", json!({"username": name, "groups": groups}));
            report.pass("authenticate", format!("{name} in {groups:?} (SelfSubjectReview)"));
        }
        None => {
            // Pre-1.28: no SelfSubjectReview; an SSAR proves the token authenticates.
            ssar(&client, "create", "certificates.k8s.io", "certificatesigningrequests", "")
                .await
                .map_err(|f| token_rejected(f, token))?;
            report.pass("authenticate", format!("system:bootstrap:{} (this server does not serve SelfSubjectReview, a v1.27 or older API: 404, or 403 for non-admins; a SelfSubjectAccessReview authenticated)", token.id()));
        }
    }

    // 3. authorize
    report.start();
    let (can_create, why_create) =
        ssar(&client, "create", "certificates.k8s.io", "certificatesigningrequests", "").await?;
    let (can_autoapprove, why_auto) =
        ssar(&client, "create", "certificates.k8s.io", "certificatesigningrequests", "nodeclient").await?;
    let (can_get_nodes, _) = ssar(&client, "get", "", "nodes", "").await?;
    report.set(
        "permissions",
        json!({"createCSR": can_create, "nodeclientAutoApproval": can_autoapprove, "getNodes": can_get_nodes}),
    );
    if !can_create {
        return Err(Failure::new(
            Code::CsrCreateForbidden,
            "authorize",
            format!("expected system:bootstrap:{} to be allowed to create certificatesigningrequests; RBAC denies it", token.id()),
        )
        .kubeadm("certificatesigningrequests.certificates.k8s.io is forbidden: User \"system:bootstrap:<id>\" cannot create resource \"certificatesigningrequests\" in API group \"certificates.k8s.io\" at the cluster scope")
        .cause("the ClusterRoleBinding kubeadm:kubelet-bootstrap (ClusterRole system:node-bootstrapper for group system:bootstrappers:kubeadm:default-node-token) is missing, or the token has other groups")
        .fix("on a control-plane node: `kubeadm init phase bootstrap-token` recreates the bindings, or `kubectl create clusterrolebinding kubeadm:kubelet-bootstrap --clusterrole=system:node-bootstrapper --group=system:bootstrappers:kubeadm:default-node-token`"));
    }
    let mut detail = format!("may create CSRs ({why_create})");
    if can_autoapprove {
        detail.push_str("; auto-approval permitted");
        report.pass("authorize", detail);
    } else {
        report.warn("authorize", format!("{detail}; but NOT the nodeclient auto-approval permission: the CSR will stay Pending unless someone approves it"));
    }
    let _ = why_auto;

    // 4. node-name
    report.start();
    if let Some(e) = crate::config::validate::dns1123_subdomain_error(&node) {
        return Err(Failure::new(
            Code::BadNodeName,
            "node-name",
            format!("expected a lowercase DNS-1123 subdomain as node name; got {node:?}: {e}"),
        )
        .kubeadm(e)
        .cause("the hostname or --node-name has upper-case letters, underscores or is too long")
        .fix("pass --node-name with a lowercase DNS name, e.g. worker-1"));
    }
    if can_get_nodes {
        match client.get_opt(&format!("/api/v1/nodes/{node}")).await? {
            None => report.pass("node-name", format!("{node} is a valid name and no Node of that name exists")),
            Some(n) => {
                let ready = crate::k8s::node_ready_status(&n).unwrap_or_else(|| "Unknown".into());
                if ready == "True" {
                    return Err(Failure::new(Code::NodeNameTaken, "node-name", format!("expected no Ready Node named {node:?}; one exists"))
                        .kubeadm(format!("a Node with name {node:?} and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node"))
                        .cause("another machine (or an earlier life of this one) registered with the same name")
                        .fix(format!("`kubectl delete node {node}` if it is gone for good, or join with another --node-name")));
                }
                report.warn("node-name", format!("a Node {node:?} exists with Ready={ready}; kubeadm allows the join and the kubelet will take it over"));
            }
        }
    } else {
        report.warn("node-name", format!("{node} is a valid name; the token may not read Nodes, so an existing Node was not checked (kubeadm:get-nodes binding missing)"));
    }

    // 5. csr
    report.start();
    let csr = node_csr(&node).map_err(|e| Failure::new(Code::Internal, "csr", e))?;
    report.set("csrName", &csr.name);
    report
        .pass("csr", format!("{} for CN=system:node:{node}, O=system:nodes, ECDSA P-256, usages {USAGES:?}", csr.name));

    // 6. submit + approval
    report.start();
    let body = json!({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": csr.name},
        "spec": {"request": STANDARD.encode(&csr.csr_pem), "signerName": KUBELET_CLIENT_SIGNER, "usages": USAGES},
    });
    match client.post(CSR_PATH, &body).await {
        Ok(_) => report.pass("submit", format!("created CertificateSigningRequest {}", csr.name)),
        Err(f) if f.code == Code::ApiForbidden => {
            return Err(Failure::new(Code::CsrCreateForbidden, "submit", f.message.clone())
                .cause("RBAC denied the CSR: the kubeadm:kubelet-bootstrap binding is missing")
                .fix("`kubeadm init phase bootstrap-token` on a control-plane node recreates it"))
        }
        Err(f) => return Err(f.at("submit")),
    }
    report.start();
    let (outcome, waited) = watch_csr(&client, &csr.name, opts.csr_timeout).await?;
    report.set("approvalSeconds", waited.as_secs_f64());
    let result = finish_csr(report, opts, trusted, &csr, outcome, can_autoapprove, waited).await;
    // 10. cleanup (always attempted)
    report.start();
    if opts.keep_csr {
        report.skip("cleanup", format!("--keep-csr: {} stays on the cluster", csr.name));
    } else {
        let path = format!("{CSR_PATH}/{}", csr.name);
        let deleted = match &opts.admin {
            Some(a) => match ApiClient::connect(a).await {
                Ok(admin) => admin.delete(&path).await.map(|_| "with the admin kubeconfig"),
                Err(f) => Err(f),
            },
            None => client.delete(&path).await.map(|_| "with the bootstrap token"),
        };
        match deleted {
            Ok(how) => report.pass("cleanup", format!("deleted {} {how}", csr.name)),
            Err(f) if f.code == Code::ApiForbidden && opts.admin.is_none() => report.warn(
                "cleanup",
                format!(
                    "{} was left on the cluster: bootstrap tokens may not delete CSRs (system:node-bootstrapper grants create/get/list/watch only). Pass --kubeconfig with an admin kubeconfig to delete it, or `kubectl delete csr {}`; the csrcleaner controller removes approved CSRs after one hour",
                    csr.name, csr.name
                ),
            ),
            Err(f) => report.warn("cleanup", format!("could not delete {}: {}", csr.name, f.message)),
        }
    }
    result
}

fn token_rejected(f: Failure, token: &BootstrapToken) -> Failure {
    if f.code == Code::ApiUnauthorized {
        return Failure::new(Code::BootstrapTokenRejected, "authenticate", format!("expected the API server to accept token {}; it answered 401 Unauthorized", token.redacted()))
            .kubeadm("Unauthorized")
            .cause("discovery found this token's signature, so its Secret exists with the signing usage; a 401 then means it lacks the \"authentication\" usage (usage-bootstrap-authentication), expired a moment ago, or the API server runs without --enable-bootstrap-token-auth")
            .fix("create a token with both usages: `joinkit token create` (defaults: signing,authentication)");
    }
    f.at("authenticate")
}

async fn finish_csr(
    report: &mut Report,
    opts: &BootstrapOptions,
    trusted: &TrustedClusterInfo,
    csr: &NodeCsr,
    outcome: CsrOutcome,
    can_autoapprove: bool,
    waited: Duration,
) -> Result<(), Failure> {
    let node = &opts.node_name;
    let issued = match outcome {
        CsrOutcome::Issued(o) => o,
        CsrOutcome::Denied(o) => {
            return Err(Failure::new(
                Code::CsrDenied,
                "approval",
                format!("expected the CSR to be approved; it was Denied: {}", condition_text(&o, "Denied")),
            )
            .cause("an administrator or an approval policy denied the node's certificate request")
            .fix(
                "find out who denies node CSRs (`kubectl get csr`, admission or approver policies) and retry the join",
            ));
        }
        CsrOutcome::Failed(o) => {
            return Err(Failure::new(
                Code::CsrFailed,
                "approval",
                format!("expected a certificate; the CSR Failed: {}", condition_text(&o, "Failed")),
            )
            .cause("the signer refused the request")
            .fix("check kube-controller-manager's logs for the csrsigning controller"));
        }
        CsrOutcome::TimedOut(last) => {
            let approved = last.as_ref().is_some_and(|o| condition(o, "Approved").is_some());
            let secs = waited.as_secs_f64();
            let kubeadm = "timed out waiting for the condition (kubeadm: \"Waiting for the kubelet to perform the TLS Bootstrap\")";
            return Err(if approved {
                Failure::new(Code::CsrApprovedNotIssued, "approval", format!("expected a certificate within {secs:.1} s of approval; the CSR {} is Approved but has none", csr.name))
                    .kubeadm(kubeadm)
                    .cause("no signer issues kubelet client certificates: kube-controller-manager runs without --cluster-signing-cert-file/--cluster-signing-key-file (or the csrsigning controller is disabled)")
                    .fix("give kube-controller-manager the cluster CA (kubeadm sets --cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt and --cluster-signing-key-file=/etc/kubernetes/pki/ca.key)")
            } else if !can_autoapprove {
                Failure::new(Code::CsrPendingNoAutoapprove, "approval", format!("expected the CSR {} to be auto-approved; it stayed Pending for {secs:.1} s", csr.name))
                    .kubeadm(kubeadm)
                    .cause("the token's groups may not create certificatesigningrequests/nodeclient: the ClusterRoleBinding kubeadm:node-autoapprove-bootstrap is missing, so nothing approves the CSR")
                    .fix(format!("`kubectl certificate approve {}` now; for good: `kubectl create clusterrolebinding kubeadm:node-autoapprove-bootstrap --clusterrole=system:certificates.k8s.io:certificatesigningrequests:nodeclient --group=system:bootstrappers:kubeadm:default-node-token`", csr.name))
            } else {
                Failure::new(Code::CsrPendingNoApprover, "approval", format!("expected the CSR {} to be auto-approved; it stayed Pending for {secs:.1} s although auto-approval is permitted", csr.name))
                    .kubeadm(kubeadm)
                    .cause("the approver is not running: kube-controller-manager is down or runs without the csrapproving controller")
                    .fix("check kube-controller-manager (`kubectl -n kube-system get pods -l component=kube-controller-manager`, its logs, its --controllers flag)")
            });
        }
    };
    // When the watch delivered the issued certificate (Unix nanoseconds; benchmarks compare it
    // with the signer's own record of when it issued).
    report.set("certificateSeenAtUnixNs", time::OffsetDateTime::now_utc().unix_timestamp_nanos().to_string());
    report.pass(
        "approval",
        format!(
            "Approved ({}) and issued after {:.3} s, seen through a watch",
            condition(&issued, "Approved").and_then(|c| c.get("reason")).and_then(Value::as_str).unwrap_or("?"),
            waited.as_secs_f64()
        ),
    );

    // 7. certificate
    report.start();
    let cert_pem = issued
        .pointer("/status/certificate")
        .and_then(Value::as_str)
        .and_then(|c| STANDARD.decode(c).ok())
        .ok_or_else(|| {
            Failure::new(Code::CertificateInvalid, "certificate", "status.certificate is not base64 PEM")
                .cause("the signer wrote garbage")
                .fix("check the signer")
        })?;
    let detail = verify_certificate(&cert_pem, trusted.anchors().certs(), node, &csr.spki_der).map_err(|e| {
        Failure::new(
            Code::CertificateInvalid,
            "certificate",
            format!("expected a client certificate for system:node:{node} from the cluster CA; {e}"),
        )
        .kubeadm("x509: certificate signed by unknown authority")
        .cause("the signer uses another CA than the one in cluster-info, or signs with the wrong subject or usages")
        .fix("make kube-controller-manager's --cluster-signing-cert-file the cluster CA (/etc/kubernetes/pki/ca.crt)")
    })?;
    report.pass("certificate", detail);

    // 8. node-identity
    report.start();
    let node_client = ApiClient::for_discovered(
        trusted,
        Identity::ClientCert(cert_pem.clone(), SecretSlice::from(csr.key_pem.expose_secret().as_bytes().to_vec())),
        opts.discovery.timeout,
    )?;
    let want = format!("system:node:{node}");
    match whoami(&node_client).await {
        Ok(Some((name, groups))) if name == want => report.pass("node-identity", format!("the certificate authenticates as {name} in {groups:?}")),
        Ok(Some((name, _))) => {
            return Err(Failure::new(Code::NodeCredentialRejected, "node-identity", format!("expected {want}; the server sees {name}"))
                .cause("the API server maps client certificates unusually")
                .fix("check kube-apiserver's --client-ca-file"))
        }
        Ok(None) => match node_client.get_opt(&format!("/api/v1/nodes/{node}")).await {
            Ok(_) => report.pass("node-identity", format!("the certificate authenticates (GET nodes/{node} allowed; this server has no SelfSubjectReview to show the name)")),
            Err(f) => return Err(node_rejected(f, &want)),
        },
        Err(f) => return Err(node_rejected(f, &want)),
    }

    // 9. write
    report.start();
    match &opts.write_dir {
        None => report.skip("write", "dry run: nothing written (use --write-dir DIR)"),
        Some(dir) => {
            let ca = ca_pem(trusted.anchors().certs());
            let token = opts.discovery.tls_bootstrap_token.as_ref().or(opts.discovery.token.as_ref()).expect("token");
            let bootstrap = kubeconfig_yaml(
                trusted.api_server(),
                &ca,
                "tls-bootstrap-token-user",
                "tls-bootstrap-token-user@kubernetes",
                "kubernetes",
                json!({"token": token.expose()}),
            );
            let kubelet = kubeconfig_yaml(
                trusted.api_server(),
                &ca,
                "default-auth",
                "default-context",
                "default-cluster",
                json!({"client-certificate-data": STANDARD.encode(&cert_pem), "client-key-data": STANDARD.encode(csr.key_pem.expose_secret())}),
            );
            let files: [(&str, &[u8]); 3] = [
                ("bootstrap-kubelet.conf", bootstrap.as_bytes()),
                ("kubelet.conf", kubelet.as_bytes()),
                ("pki/ca.crt", ca.as_bytes()),
            ];
            crate::fsutil::write_all_or_none(dir, &files).map_err(|e| {
                Failure::new(Code::OutputUnwritable, "write", e)
                    .cause("cannot write under --write-dir (permissions, a read-only or full file system, or a path that is not a directory)")
                    .fix("check --write-dir; nothing was left half-written")
            })?;
            report.pass(
                "write",
                format!(
                    "wrote bootstrap-kubelet.conf, kubelet.conf and pki/ca.crt under {} (files 0600, new directories 0700; all or none)",
                    dir.display()
                ),
            );
        }
    }
    Ok(())
}

fn node_rejected(f: Failure, want: &str) -> Failure {
    Failure::new(Code::NodeCredentialRejected, "node-identity", format!("expected the new certificate to authenticate as {want}; {}", f.message))
        .cause("the API server does not trust the signer's CA for client certificates (--client-ca-file differs from --cluster-signing-cert-file)")
        .fix("make kube-apiserver's --client-ca-file the CA that signs kubelet certificates")
}
