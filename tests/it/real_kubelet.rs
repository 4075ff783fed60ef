//! The real kubelet (v1.36.2 and v1.24.0, each on a control plane of its own version) against
//! what joinkit writes and what it checks: tests/common/kubelet.rs starts it with a containerd
//! of its own, as `../shared/k8s/README.md` ("Real clients") describes; docs/real-kubelet.md
//! explains the results.
//!
//! - `joinkit bootstrap --write-dir`'s `bootstrap-kubelet.conf` takes the real kubelet through
//!   its TLS bootstrap and Node registration, from flags and from a JoinConfiguration written by
//!   `joinkit render-config` (`bootstrap --config`).
//! - joinkit's dry-run CSR and the real kubelet's client CSR, field by field.
//! - With `serverTLSBootstrap: true`, the real kubelet's serving CSR judged by `joinkit csr
//!   explain`, approved by `joinkit csr approve` and by `joinkit csr approver`, issued, and
//!   served on the kubelet's port with a certificate that verifies for the node's address.
//!
//! - Under a fault (the systemd cgroup driver beside containerd's cgroupfs on this systemd-less
//!   host; with tests/it/real_containerd.rs, containerd killed with its socket left and
//!   containerd with its CRI plugin disabled) the real kubelet fails, `joinkit diagnose` names
//!   the cgroup driver mismatch, and `joinkit explain-log` on the kubelet's own log names the
//!   runtime cause ([`fault_log`]); with `JOINKIT_REGENERATE_LOGS=1` those logs are written to
//!   `tests/logs/generated/kubelet-<fault>-v<version>.log` (the test names are in
//!   `tests/logs/generated/kubelet-tests.txt`).
//!
//! Skipped with a notice without the control-plane script, the kubelet archives or containerd
//! (a failure under CI). Timings are printed (`--nocapture`).

use crate::common;
use crate::k8s::{self, CaAlgo, Cluster, Version};
use crate::kubelet::{CgroupSetup, Kubelet, KubeletSpec};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use x509_parser::prelude::*;

/// The clusters of this module (one per version): its tests create Nodes and CSRs, and must not
/// run while another module's test has stopped the controller-manager.
pub(crate) fn cluster(v: Version) -> Option<&'static k8s::Shared> {
    k8s::shared_in("real-kubelet", v, CaAlgo::Ecdsa)
}

fn tag(v: Version) -> &'static str {
    match v {
        Version::V124 => "v124",
        Version::V136 => "v136",
    }
}

const JOIN: Duration = Duration::from_secs(90);

/// The DER certificates of a PEM bundle (keys and other blocks skipped).
fn pem_certs(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem).map(|c| c.unwrap().to_vec()).collect()
}

/// Asserts `der` is signed by the cluster's CA and names `cn` in O `system:nodes`; returns
/// its extended key usages (server auth, client auth).
fn assert_from_cluster_ca(c: &Cluster, der: &[u8], cn: &str, what: &str) -> (bool, bool) {
    let label = c.label();
    let ca_pem = c.ca_pem();
    let ca_der = pem_certs(ca_pem.as_bytes()).remove(0);
    let (_, ca) = parse_x509_certificate(&ca_der).unwrap();
    let (_, cert) = parse_x509_certificate(der).unwrap();
    assert_eq!(cert.issuer(), ca.subject(), "{label}: {what} issued by the cluster CA");
    cert.verify_signature(Some(ca.public_key())).unwrap_or_else(|e| panic!("{label}: {what}: CA signature: {e}"));
    assert_eq!(cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()), Some(cn), "{label}: {what}");
    let orgs: Vec<&str> = cert.subject().iter_organization().filter_map(|o| o.as_str().ok()).collect();
    assert_eq!(orgs, ["system:nodes"], "{label}: {what}");
    let eku = cert.extended_key_usage().unwrap().expect("extended key usage").value;
    (eku.server_auth, eku.client_auth)
}

/// `joinkit bootstrap` against `c` as node `node` with `extra` arguments; the JSON report.
fn joinkit_bootstrap(c: &Cluster, home: &Path, node: &str, extra: &[&str]) -> (Value, Duration) {
    let mut args =
        vec!["bootstrap", c.endpoint(), "--discovery-token-ca-cert-hash", c.pin(), "--node-name", node, "-o", "json"];
    args.extend(extra);
    let t = Instant::now();
    let r = common::run_with(&args, &[("JOINKIT_TOKEN", c.token()), ("HOME", home.to_str().unwrap())], None);
    let took = t.elapsed();
    assert_eq!(r.code, 0, "{}: joinkit bootstrap {node}: {}{}", c.label(), r.stdout, r.stderr);
    (r.json(), took)
}

/// The kube-apiserver-client-kubelet CSRs requested for `node` (by CN), as stored.
fn client_csrs_for(c: &Cluster, node: &str) -> Vec<Value> {
    let list: Value = serde_json::from_str(&c.kubectl(&["get", "csr", "-o", "json"])).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet")
        .filter(|o| request_cn(o).as_deref() == Some(&format!("system:node:{node}")))
        .cloned()
        .collect()
}

/// The DER of a CSR object's `spec.request`.
fn request_der(csr: &Value) -> Vec<u8> {
    use base64::Engine;
    let pem = base64::engine::general_purpose::STANDARD.decode(csr["spec"]["request"].as_str().unwrap()).unwrap();
    let block = String::from_utf8(pem).unwrap();
    let b64: String = block.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

fn request_cn(csr: &Value) -> Option<String> {
    let der = request_der(csr);
    let (_, req) = X509CertificationRequest::from_der(&der).ok()?;
    let cn = req.certification_request_info.subject.iter_common_name().next()?.as_str().ok()?.to_string();
    Some(cn)
}

fn issued_der(csr: &Value) -> Vec<u8> {
    use base64::Engine;
    let pem = base64::engine::general_purpose::STANDARD.decode(csr["status"]["certificate"].as_str().unwrap()).unwrap();
    pem_certs(&pem).remove(0)
}

// ---------------------------------------------------------------------------------------------
// a. joinkit's bootstrap-kubelet.conf takes the real kubelet through its TLS bootstrap

/// Where `joinkit bootstrap` takes its inputs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    /// Flags (endpoint, pin, node name) and JOINKIT_TOKEN.
    Flags,
    /// A JoinConfiguration written by `joinkit render-config` (the API version kubeadm of the
    /// cluster's release writes: v1beta4 for v1.36, v1beta3 for v1.24), given as `--config`.
    RenderConfig,
}

/// `joinkit render-config` for `c` and `node` into `dir/join.yaml`, then `joinkit bootstrap
/// --config` on it; the bootstrap report, its time, and the node name read back from the file.
fn joinkit_bootstrap_rendered(
    c: &Cluster,
    home: &Path,
    node: &str,
    version: Version,
    extra: &[&str],
) -> (Value, Duration, String) {
    let api = match version {
        Version::V124 => "v1beta3",
        Version::V136 => "v1beta4",
    };
    let file = home.join("join.yaml");
    let env = [("JOINKIT_TOKEN", c.token()), ("HOME", home.to_str().unwrap())];
    let r = common::run_with(
        &[
            "render-config",
            c.endpoint(),
            "--discovery-token-ca-cert-hash",
            c.pin(),
            "--node-name",
            node,
            "--api-version",
            api,
            "--output-file",
            file.to_str().unwrap(),
        ],
        &env,
        None,
    );
    assert_eq!(r.code, 0, "{}: render-config: {}{}", c.label(), r.stdout, r.stderr);
    let rendered = std::fs::read_to_string(&file).unwrap();
    assert!(rendered.contains(&format!("apiVersion: kubeadm.k8s.io/{api}")), "{rendered}");
    // The node name the kubelet is started with is the one the file holds, as kubeadm passes
    // nodeRegistration.name to the kubelet (--hostname-override in kubeadm-flags.env).
    let doc: Value = serde_saphyr::from_str(&rendered).unwrap();
    let name = doc["nodeRegistration"]["name"].as_str().expect("nodeRegistration.name").to_string();
    let mut args = vec!["bootstrap", "--config", file.to_str().unwrap(), "-o", "json"];
    args.extend(extra);
    let t = Instant::now();
    let r = common::run_with(&args, &[("HOME", home.to_str().unwrap())], None);
    let took = t.elapsed();
    assert_eq!(r.code, 0, "{}: joinkit bootstrap --config (rendered): {}{}\n{rendered}", c.label(), r.stdout, r.stderr);
    (r.json(), took, name)
}

fn joins_with_joinkit_bootstrap_kubeconfig(version: Version, from: From) {
    let Some(s) = cluster(version) else { return };
    let c = &s.cluster;
    let label = c.label();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("etc-kubernetes");
    let write = ["--write-dir", out.to_str().unwrap(), "--kubeconfig", c.admin()];
    let (report, joinkit_took, node) = match from {
        From::Flags => {
            let node = format!("jk-kubelet-join-{}", tag(version));
            let (r, t) = joinkit_bootstrap(c, work.path(), &node, &write);
            (r, t, node)
        }
        From::RenderConfig => {
            joinkit_bootstrap_rendered(c, work.path(), &format!("jk-kubelet-render-{}", tag(version)), version, &write)
        }
    };
    assert_eq!(report["ok"], true, "{label}: {report}");
    let bootstrap = out.join("bootstrap-kubelet.conf");
    assert!(bootstrap.is_file(), "{label}: joinkit wrote {}", bootstrap.display());

    let spec = KubeletSpec {
        version,
        node_name: node.clone(),
        bootstrap_kubeconfig: bootstrap.clone(),
        server_tls_bootstrap: false,
        cgroups: CgroupSetup::HOST,
    };
    let Some(mut k) = Kubelet::start(spec) else { return };
    let conf = k.kubeconfig();
    let to_conf = k.wait_for("kubelet.conf (TLS bootstrap done)", JOIN, || conf.is_file());
    let to_node = k.wait_for("its Node", JOIN, || c.get("node", None, &node).is_some());
    eprintln!(
        "{label} ({from:?}): joinkit bootstrap --write-dir {:.2} s; real kubelet v{} from its bootstrap-kubelet.conf: kubelet.conf after {:.2} s, Node after {:.2} s (containerd up in {:.2} s)",
        joinkit_took.as_secs_f64(),
        version.as_str(),
        to_conf.as_secs_f64(),
        to_node.as_secs_f64(),
        k.containerd().start_time.as_secs_f64()
    );

    // The Node is the kubelet's: its version, its address, its runtime.
    let n = c.get("node", None, &node).unwrap();
    let want_version = crate::kubelet::RELEASES.iter().find(|r| r.version == version).unwrap().git_version;
    assert_eq!(n["status"]["nodeInfo"]["kubeletVersion"], want_version, "{label}: {n}");
    let addrs = &n["status"]["addresses"];
    assert!(
        addrs
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["type"] == "InternalIP" && x["address"] == k.node_ip.to_string())),
        "{label}: {addrs}"
    );
    assert!(
        n["status"]["nodeInfo"]["containerRuntimeVersion"].as_str().unwrap().starts_with("containerd://"),
        "{label}: {n}"
    );

    // The client certificate the kubelet got: from the cluster CA, for system:node:<node>.
    let client = std::fs::read(k.cert_dir().join("kubelet-client-current.pem")).unwrap();
    let der = pem_certs(&client).remove(0);
    let eku = assert_from_cluster_ca(c, &der, &format!("system:node:{node}"), "kubelet client certificate");
    assert_eq!(eku, (false, true), "{label}: client auth only");
    // Its kubelet.conf names that certificate and authenticates as the node.
    let kubelet_conf = std::fs::read_to_string(&conf).unwrap();
    assert!(kubelet_conf.contains("kubelet-client-current.pem"), "{label}: {kubelet_conf}");
    let got = k8s::kubectl_as_ok(&conf, work.path(), &["get", "node", &node, "-o", "jsonpath={.metadata.name}"], None);
    assert_eq!(got, node, "{label}");

    // Its CSR was made with the token of joinkit's file, and auto-approved by the controller-manager.
    let csrs = client_csrs_for(c, &node);
    let kubelet_csr = csrs
        .iter()
        .find(|o| o["metadata"]["name"] != report["csrName"])
        .unwrap_or_else(|| panic!("{label}: the kubelet's own client CSR among {csrs:?}"));
    assert_eq!(kubelet_csr["spec"]["username"], format!("system:bootstrap:{}", c.token_id()), "{label}");
    let approved = kubelet_csr["status"]["conditions"].as_array().unwrap().iter().find(|x| x["type"] == "Approved");
    assert_eq!(approved.unwrap()["reason"], "AutoApproved", "{label}: {kubelet_csr}");
    assert_eq!(issued_der(kubelet_csr), der, "{label}: the kubelet uses the certificate issued for its CSR");
}

#[test]
fn joinkit_bootstrap_kubeconfig_joins_the_real_kubelet_v1_36() {
    joins_with_joinkit_bootstrap_kubeconfig(Version::V136, From::Flags);
}

#[test]
fn joinkit_bootstrap_kubeconfig_joins_the_real_kubelet_v1_24() {
    joins_with_joinkit_bootstrap_kubeconfig(Version::V124, From::Flags);
}

/// A kubelet started from render-config's values: the JoinConfiguration render-config writes
/// (v1beta4) drives `joinkit bootstrap --config`, whose bootstrap-kubelet.conf and node name
/// take the real kubelet v1.36.2 through its TLS bootstrap to its Node.
#[test]
fn render_config_values_join_the_real_kubelet_v1_36() {
    joins_with_joinkit_bootstrap_kubeconfig(Version::V136, From::RenderConfig);
}

/// The same with a v1beta3 JoinConfiguration (what kubeadm of the v1.24 era writes) and the
/// real kubelet v1.24.0.
#[test]
fn render_config_values_join_the_real_kubelet_v1_24() {
    joins_with_joinkit_bootstrap_kubeconfig(Version::V124, From::RenderConfig);
}

// ---------------------------------------------------------------------------------------------
// b. joinkit's dry-run CSR and the real kubelet's client CSR, field by field

/// One CSR described field by field (the node's name replaced by `<node>`), for comparison.
fn describe_client_csr(csr: &Value, node: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    use x509_parser::der_parser::asn1_rs::Tag;
    let anon = |s: &str| s.replace(node, "<node>");
    let name = csr["metadata"]["name"].as_str().unwrap().to_string();
    let der = request_der(csr);
    let (_, req) = X509CertificationRequest::from_der(&der).unwrap();
    let info = &req.certification_request_info;
    let cn = info.subject.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default().to_string();
    let orgs: Vec<String> =
        info.subject.iter_organization().filter_map(|a| a.as_str().ok()).map(String::from).collect();
    let usages: Vec<String> =
        csr["spec"]["usages"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_string()).collect();

    // The kubelet's name: node-csr- and base64url (unpadded) SHA-512/256 over
    // b64url(SPKI)|b64url(CN)|b64url(O)...|b64url(usage)...| (pkg/kubelet/certificate/bootstrap,
    // digestedName); recomputed here from the request and the usages as stored.
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut input = Vec::new();
    for part in [info.subject_pki.raw, cn.as_bytes()]
        .into_iter()
        .chain(orgs.iter().map(|o| o.as_bytes()))
        .chain(usages.iter().map(|u| u.as_bytes()))
    {
        input.extend(b64.encode(part).as_bytes());
        input.push(b'|');
    }
    let digest = b64.encode(ring::digest::digest(&ring::digest::SHA512_256, &input));
    let name_rule = if name == format!("node-csr-{digest}") {
        "node-csr-<b64url sha512/256(SPKI|CN|O|usages)>".to_string()
    } else {
        format!("{name} (not the digest)")
    };

    let subject: Vec<String> = info
        .subject
        .iter_attributes()
        .map(|a| {
            let ty = match a.attr_type().to_id_string().as_str() {
                "2.5.4.10" => "O".to_string(),
                "2.5.4.3" => "CN".to_string(),
                other => other.to_string(),
            };
            let tag = match a.attr_value().tag() {
                Tag::PrintableString => "PrintableString".to_string(),
                Tag::Utf8String => "UTF8String".to_string(),
                t => format!("tag {}", t.0),
            };
            format!("{ty}={} ({tag})", anon(a.as_str().unwrap_or("?")))
        })
        .collect();
    let params = info.subject_pki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
    let key = match (info.subject_pki.algorithm.algorithm.to_id_string().as_str(), params.map(|p| p.to_id_string())) {
        ("1.2.840.10045.2.1", Some(c)) if c == "1.2.840.10045.3.1.7" => "ECDSA P-256".to_string(),
        (a, p) => format!("{a} {p:?}"),
    };
    let sig = match req.signature_algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256".to_string(),
        other => other.to_string(),
    };
    let attributes: Vec<String> = info.attributes().iter().map(|a| a.oid.to_id_string()).collect();
    let extensions: Vec<String> =
        req.requested_extensions().map(|e| e.map(|x| format!("{x:?}")).collect()).unwrap_or_default();
    let pem = String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(csr["spec"]["request"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let longest = pem.lines().map(str::len).max().unwrap_or(0);
    let meta = &csr["metadata"];
    let status = &csr["status"];
    let approved = status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Approved");
    let cert = issued_der(csr);
    let (_, cert) = parse_x509_certificate(&cert).unwrap();
    let ku = cert.key_usage().ok().flatten().map(|k| k.value.to_string()).unwrap_or_else(|| "none".into());
    let eku = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .map(|e| format!("server auth {}, client auth {}", e.value.server_auth, e.value.client_auth));
    let lifetime = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    vec![
        ("metadata.name", name_rule),
        ("metadata.generateName", meta["generateName"].to_string()),
        ("metadata.labels, annotations", format!("{} {}", meta["labels"], meta["annotations"])),
        ("spec.signerName", csr["spec"]["signerName"].to_string()),
        ("spec.usages", usages.join(", ")),
        ("spec.expirationSeconds", csr["spec"]["expirationSeconds"].to_string()),
        ("spec.username", csr["spec"]["username"].to_string()),
        ("spec.groups", csr["spec"]["groups"].to_string()),
        ("spec.extra", csr["spec"]["extra"].to_string()),
        ("request PEM", format!("{:?}, lines <= {longest}", pem.lines().next().unwrap_or(""))),
        ("request version", format!("{:?}", info.version)),
        ("request subject", subject.join(", ")),
        ("request key", key),
        ("request signature", sig),
        ("request attributes", format!("{attributes:?}")),
        ("request extensions", format!("{extensions:?}")),
        ("approval", approved.map(|c| c["reason"].to_string()).unwrap_or_else(|| "none".into())),
        ("issued: key usage", ku),
        ("issued: extended key usage", eku.unwrap_or_else(|| "none".into())),
        ("issued: lifetime (s), subject", format!("{lifetime}, {}", anon(&cert.subject().to_string()))),
    ]
}

/// Where joinkit's dry-run CSR knowingly differs from the real kubelet's (docs/real-kubelet.md).
fn known_differences(v: Version) -> &'static [&'static str] {
    match v {
        // kubelets from v1.27 ask for key encipherment with RSA keys only; joinkit asks for it
        // with its ECDSA key as kubelets before v1.27 did, which the v1.24 approver requires.
        Version::V136 => &["spec.usages", "issued: key usage"],
        Version::V124 => &[],
    }
}

fn dry_run_csr_is_the_real_kubelets(version: Version) {
    let Some(s) = cluster(version) else { return };
    let c = &s.cluster;
    let label = c.label();
    let work = tempfile::tempdir().unwrap();
    let (jnode, knode) = (format!("jk-csr-joinkit-{}", tag(version)), format!("jk-csr-kubelet-{}", tag(version)));

    // joinkit's dry run, keeping its CSR (--keep-csr: the cleanup stage is the only difference)
    // so that it is read as stored.
    let (report, joinkit_took) = joinkit_bootstrap(c, work.path(), &jnode, &["--keep-csr"]);
    let jname = report["csrName"].as_str().unwrap().to_string();
    let joinkit_csr = c.get("csr", None, &jname).unwrap_or_else(|| panic!("{label}: {jname} kept"));
    c.delete("csr", None, &jname);

    // The real kubelet's, from a bootstrap kubeconfig as kubeadm writes it, with the same token.
    let bootstrap = work.path().join("bootstrap-kubelet.conf");
    crate::kubelet::write_bootstrap_kubeconfig(&bootstrap, c.server(), &c.ca_pem(), c.token());
    let spec = KubeletSpec::new(version, &knode, bootstrap);
    let Some(mut k) = Kubelet::start(spec) else { return };
    let mut kubelet_csr = Value::Null;
    let issued = k.wait_for("its client CSR issued", JOIN, || {
        let issued = client_csrs_for(c, &knode).into_iter().find(|o| o["status"]["certificate"].is_string());
        issued.map(|o| kubelet_csr = o).is_some()
    });
    let conf = k.kubeconfig();
    let to_conf = k.wait_for("kubelet.conf", JOIN, || conf.is_file());
    k.stop();

    let (j, r) = (describe_client_csr(&joinkit_csr, &jnode), describe_client_csr(&kubelet_csr, &knode));
    let mut table = format!(
        "{label}: joinkit's dry-run CSR vs the real kubelet v{}'s client CSR\n| field | joinkit | kubelet |\n|---|---|---|\n",
        version.as_str()
    );
    let mut differ = vec![];
    for ((field, jv), (_, kv)) in j.iter().zip(&r) {
        let same = jv == kv;
        if !same {
            differ.push(*field);
        }
        table.push_str(&format!("| {field} | {jv} | {} |\n", if same { "same" } else { kv }));
    }
    eprintln!(
        "{table}{label}: joinkit bootstrap (dry run, the whole flow) {:.2} s, its approval {:.3} s; real kubelet v{}: CSR issued {:.2} s after start, kubelet.conf after {:.2} s",
        joinkit_took.as_secs_f64(),
        report["approvalSeconds"].as_f64().unwrap_or(-1.0),
        version.as_str(),
        issued.as_secs_f64(),
        to_conf.as_secs_f64()
    );
    assert_eq!(
        differ,
        known_differences(version),
        "{label}: the differences, each explained in docs/real-kubelet.md\n{table}"
    );
}

#[test]
fn dry_run_csr_is_the_real_kubelets_v1_36() {
    dry_run_csr_is_the_real_kubelets(Version::V136);
}

#[test]
fn dry_run_csr_is_the_real_kubelets_v1_24() {
    dry_run_csr_is_the_real_kubelets(Version::V124);
}

// ---------------------------------------------------------------------------------------------
// c. the real kubelet's serving CSR: judged, approved by joinkit, issued, served

/// The kubelet-serving CSR requested by `node`, once it exists.
fn serving_csr_of(c: &Cluster, node: &str) -> Option<Value> {
    let list: Value = serde_json::from_str(&c.kubectl(&["get", "csr", "-o", "json"])).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["spec"]["signerName"] == "kubernetes.io/kubelet-serving"
                && o["spec"]["username"] == format!("system:node:{node}")
        })
        .cloned()
}

/// The failed checks of a `csr explain -o json` report: (check, detail).
fn failed_checks(report: &Value) -> Vec<(String, String)> {
    report["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "fail")
        .map(|s| (s["name"].as_str().unwrap_or("?").to_string(), s["detail"].as_str().unwrap_or("").to_string()))
        .collect()
}

/// A TLS handshake with `addr`, verifying its certificate against `ca_pem` for the IP address
/// `name` (rustls, the provider joinkit uses); the leaf it served.
fn served_leaf(addr: std::net::SocketAddr, ca_pem: &str, name: std::net::Ipv4Addr) -> Result<Vec<u8>, String> {
    use rustls::pki_types::ServerName;
    let cfg = common::client_tls_config(ca_pem);
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(cfg), ServerName::IpAddress(name.into()))
        .map_err(|e| e.to_string())?;
    let mut tcp = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    Ok(conn.peer_certificates().ok_or("no peer certificate")?[0].to_vec())
}

/// How the serving CSR gets its approval.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Approval {
    /// `joinkit csr approve NAME`, after `joinkit csr explain NAME`.
    Cli,
    /// `joinkit csr approver`, running before the kubelet starts.
    Approver,
}

/// Starts a kubelet with `serverTLSBootstrap: true` as `node`, has its serving CSR approved
/// `how`, and checks the certificate it then serves. Returns the timings line.
fn serving_certificate(
    c: &Cluster,
    work: &Path,
    node: &str,
    how: Approval,
    approver: Option<&crate::csr_approver::Approver>,
) -> String {
    let label = format!("{} {node}", c.label());
    let version = c.version;
    let bootstrap = work.join(format!("{node}-bootstrap-kubelet.conf"));
    crate::kubelet::write_bootstrap_kubeconfig(&bootstrap, c.server(), &c.ca_pem(), c.token());
    let spec = KubeletSpec {
        version,
        node_name: node.to_string(),
        bootstrap_kubeconfig: bootstrap,
        server_tls_bootstrap: true,
        cgroups: CgroupSetup::HOST,
    };
    let Some(mut k) = Kubelet::start(spec) else { return String::new() };
    let mut csr = Value::Null;
    let to_csr = k.wait_for("its kubelet-serving CSR", JOIN, || serving_csr_of(c, node).map(|o| csr = o).is_some());
    let name = csr["metadata"]["name"].as_str().unwrap().to_string();
    let ip = k.node_ip.to_string();

    // What joinkit reads in it, and every check: a failure here is a finding about joinkit's
    // checks against a real kubelet, reported with the check and its reason.
    let explain = common::run(&["csr", "explain", &name, "--kubeconfig", c.admin(), "-o", "json"]);
    let report = explain.json();
    let failed = failed_checks(&report);
    assert!(
        failed.is_empty() && explain.code == 0,
        "{label}: joinkit csr explain fails the real kubelet's serving CSR {name} (exit {}): {failed:?}\n{}",
        explain.code,
        explain.stdout
    );
    assert_eq!(report["subject"], format!("CN=system:node:{node}, O=system:nodes"), "{label}: {report}");
    let sans: Vec<&str> = report["sans"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(sans, [format!("DNS:{node}"), format!("IP:{ip}")], "{label}: the kubelet asks for its name and node IP");

    match how {
        Approval::Cli => {
            let r = common::run(&["csr", "approve", &name, "--kubeconfig", c.admin(), "-o", "json"]);
            assert_eq!(r.code, 0, "{label}: joinkit csr approve {name}: {}{}", r.stdout, r.stderr);
        }
        Approval::Approver => {
            let a = approver.expect("an approver");
            let d = a.decision(&name, JOIN);
            assert_eq!(d["decision"], "approved", "{label}: {d}\n{}", a.dump());
            assert_eq!(d["failedChecks"].as_array().map_or(0, Vec::len), 0, "{label}: {d}");
        }
    }
    let mut cond = None;
    let to_approved = k.wait_for("the Approved condition", JOIN, || {
        cond = c.csr_condition(&name, "Approved");
        cond.is_some()
    });
    assert_eq!(cond.unwrap()["reason"], "JoinkitApproved", "{label}");

    // Issued by the real signer, and served by the kubelet on its address.
    let mut issued = Value::Null;
    let to_issued = k.wait_for("the certificate issued", JOIN, || {
        let o = c.get("csr", None, &name).unwrap();
        let done = o["status"]["certificate"].is_string();
        issued = o;
        done
    });
    let cert = issued_der(&issued);
    let eku = assert_from_cluster_ca(c, &cert, &format!("system:node:{node}"), "kubelet serving certificate");
    assert_eq!(eku, (true, false), "{label}: server auth only");
    let ca = c.ca_pem();
    let addr = k.server_addr();
    let mut served = Err(String::new());
    let to_served = k.wait_for("the kubelet serving its issued certificate", JOIN, || {
        served = served_leaf(addr, &ca, k_ip(addr));
        served.as_ref().is_ok_and(|leaf| *leaf == cert)
    });
    // The same certificate is refused for another address: the verification above checked the name.
    let other = std::net::Ipv4Addr::new(192, 0, 2, 254);
    let wrong = served_leaf(addr, &ca, other);
    assert!(wrong.is_err(), "{label}: the certificate verified for {other} too");
    let usages = match (how, approver) {
        (Approval::Approver, Some(a)) => approver_by_version(c, &k, work, a),
        _ => key_encipherment_by_version(c, &k, work),
    };
    k.stop();
    format!(
        "{label}: after the kubelet's start: serving CSR {name} at {:.2} s, Approved by joinkit ({how:?}, after csr explain) at {:.2} s, issued at {:.2} s, served on {addr} (verified for {ip}) at {:.2} s{usages}",
        to_csr.as_secs_f64(),
        to_approved.as_secs_f64(),
        to_issued.as_secs_f64(),
        to_served.as_secs_f64()
    )
}

/// Creates, with the kubelet's own credentials, a serving CSR for its name and address with an
/// ECDSA key and the usages digital signature and server auth (no key encipherment); its name.
fn create_without_key_encipherment(k: &Kubelet, work: &Path) -> String {
    use base64::Engine;
    let node = &k.spec.node_name;
    let user = format!("system:node:{node}");
    let pem =
        common::kubelet_csr_pem(&user, &["system:nodes"], &[&format!("DNS:{node}"), &format!("IP:{}", k.node_ip)]);
    let name = format!("{node}-no-key-encipherment");
    let yaml = format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: {name}\nspec:\n  signerName: kubernetes.io/kubelet-serving\n  usages: [digital signature, server auth]\n  request: {}\n",
        base64::engine::general_purpose::STANDARD.encode(&pem)
    );
    k8s::kubectl_as_ok(&k.kubeconfig(), work, &["create", "-f", "-"], Some(&yaml));
    name
}

/// The same CSR as [`key_encipherment_by_version`] with `joinkit csr approver` running: on
/// v1.24 its decision is not to approve, with `usages` the only failed check (the same verdict
/// function as `csr approve`); on v1.36 it approves and the signer issues. The timings line.
fn approver_by_version(c: &Cluster, k: &Kubelet, work: &Path, a: &crate::csr_approver::Approver) -> String {
    let label = format!("{} {}", c.label(), k.spec.node_name);
    let name = create_without_key_encipherment(k, work);
    let t = Instant::now();
    let d = a.decision(&name, JOIN);
    let took = t.elapsed();
    let failed: Vec<&str> = d["failedChecks"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    match c.version {
        Version::V124 => {
            assert_ne!(d["decision"], "approved", "{label}: {d}");
            assert_eq!(failed, ["usages"], "{label}: {d}");
            assert!(d.to_string().contains("the API server is v1.24.0+0"), "{label}: {d}");
            assert!(c.csr_condition(&name, "Approved").is_none(), "{label}: not approved");
        }
        Version::V136 => {
            assert_eq!(d["decision"], "approved", "{label}: {d}");
            let t = Instant::now();
            while c.get("csr", None, &name).unwrap()["status"]["certificate"].is_null() {
                assert!(t.elapsed() < Duration::from_secs(20), "{label}: {name} not issued");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    format!(
        "; a serving CSR without key encipherment: the approver's decision {} ({failed:?}) after {:.2} s",
        d["decision"],
        took.as_secs_f64()
    )
}

/// A serving CSR without key encipherment (an ECDSA key, usages digital signature and server
/// auth: what a v1.27+ kubelet asks for), made with the running kubelet's own credentials for
/// its name and address. On v1.24 `joinkit csr approve` refuses it with the `usages` check
/// naming the server's version, and the same CSR approved by `kubectl certificate approve`
/// stays Approved but is never issued: the v1.24.0 signer marks it Failed
/// (`SignerValidationFailure`). On v1.36 `joinkit csr approve` approves it and the signer
/// issues it. The timings line.
fn key_encipherment_by_version(c: &Cluster, k: &Kubelet, work: &Path) -> String {
    let label = format!("{} {}", c.label(), k.spec.node_name);
    let name = create_without_key_encipherment(k, work);
    let t = Instant::now();
    let r = common::run(&["csr", "approve", &name, "--kubeconfig", c.admin(), "-o", "json"]);
    let v = r.json();
    let wait = |what: &str, f: &dyn Fn(&Value) -> bool| -> Value {
        let t = Instant::now();
        loop {
            let o = c.get("csr", None, &name).unwrap();
            if f(&o) {
                return o;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "{label}: {name}: no {what} after 20 s: {o}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let has = |o: &Value, t: &str| o["status"]["conditions"].as_array().into_iter().flatten().any(|x| x["type"] == t);
    match c.version {
        Version::V124 => {
            assert_ne!(r.code, 0, "{label}: joinkit csr approve {name} on v1.24: {}", r.stdout);
            assert_eq!(v["csrs"][0]["action"], "refused", "{label}: {}", r.stdout);
            let failed: Vec<&Value> =
                v["csrs"][0]["verdict"]["checks"].as_array().unwrap().iter().filter(|x| x["passed"] == false).collect();
            assert_eq!(failed.len(), 1, "{label}: only the usages check fails: {}", r.stdout);
            assert_eq!(failed[0]["check"], "usages", "{label}");
            let why = failed[0]["why"].as_str().unwrap();
            assert!(
                why.contains("the API server is v1.24.0+0")
                    && why.contains("requires exactly digital signature, key encipherment and server auth"),
                "{label}: {why}"
            );
            assert!(
                r.stdout.contains("csr-check-failed") || v["failure"]["code"] == "csr-check-failed",
                "{label}: {}",
                r.stdout
            );
            let refused = t.elapsed();
            // What joinkit prevents: approved by kubectl, then failed by the real signer.
            c.kubectl(&["certificate", "approve", &name]);
            let o = wait("Failed condition", &|o| has(o, "Failed"));
            let f =
                o["status"]["conditions"].as_array().unwrap().iter().find(|x| x["type"] == "Failed").unwrap().clone();
            assert_eq!(f["reason"], "SignerValidationFailure", "{label}: {o}");
            assert_eq!(
                f["message"], "usages did not match [digital signature key encipherment server auth]",
                "{label}: {o}"
            );
            assert!(
                has(&o, "Approved") && o["status"]["certificate"].is_null(),
                "{label}: approved, never issued: {o}"
            );
            format!(
                "; a serving CSR without key encipherment: refused by joinkit csr approve in {:.2} s (usages: {why}); approved by kubectl instead, Failed by the v1.24 signer after {:.2} s",
                refused.as_secs_f64(),
                t.elapsed().as_secs_f64()
            )
        }
        Version::V136 => {
            assert_eq!(r.code, 0, "{label}: joinkit csr approve {name} on v1.36: {}{}", r.stdout, r.stderr);
            assert_eq!(v["csrs"][0]["action"], "approved", "{label}: {}", r.stdout);
            let o = wait("certificate", &|o| o["status"]["certificate"].is_string() || has(o, "Failed"));
            assert!(o["status"]["certificate"].is_string(), "{label}: issued: {o}");
            format!(
                "; a serving CSR without key encipherment: approved by joinkit and issued after {:.2} s",
                t.elapsed().as_secs_f64()
            )
        }
    }
}

fn k_ip(addr: std::net::SocketAddr) -> std::net::Ipv4Addr {
    match addr.ip() {
        std::net::IpAddr::V4(v4) => v4,
        std::net::IpAddr::V6(_) => unreachable!("the harness gives IPv4 addresses"),
    }
}

fn serving_csr_approved_and_served(version: Version) {
    let Some(s) = cluster(version) else { return };
    let c = &s.cluster;
    let work = tempfile::tempdir().unwrap();
    // First by hand (explain, approve) with no approver running, then by the approver.
    let cli = serving_certificate(c, work.path(), &format!("jk-serving-cli-{}", tag(version)), Approval::Cli, None);
    if cli.is_empty() {
        return; // skipped
    }
    let a = crate::csr_approver::Approver::start(c, &["--leader-elect=false"]);
    a.event("started", JOIN);
    let by_approver = serving_certificate(
        c,
        work.path(),
        &format!("jk-serving-approver-{}", tag(version)),
        Approval::Approver,
        Some(&a),
    );
    eprintln!("{cli}\n{by_approver}");
}

#[test]
fn real_kubelet_serving_csr_approved_by_joinkit_and_served_v1_36() {
    serving_csr_approved_and_served(Version::V136);
}

#[test]
fn real_kubelet_serving_csr_approved_by_joinkit_and_served_v1_24() {
    serving_csr_approved_and_served(Version::V124);
}

// ---------------------------------------------------------------------------------------------
// d. the real kubelet under runtime faults: its log, explained

/// A bootstrap kubeconfig for `node` on `c` in `dir` (kubeadm's layout).
pub(crate) fn bootstrap_for(c: &Cluster, dir: &Path, node: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{node}-bootstrap-kubelet.conf"));
    crate::kubelet::write_bootstrap_kubeconfig(&p, c.server(), &c.ca_pem(), c.token());
    p
}

/// YAML single-quoted scalar.
fn yq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The real kubelet's log under `fault`: `joinkit explain-log` must give the failure domain
/// `runtime` with `root_cause_id` as its root cause and list a line containing `evidence` among
/// those that decided it (what `explain_corpus::generated_corpus` asks of every generated log).
/// With `JOINKIT_REGENERATE_LOGS=1` the log is written, with the front matter of
/// `tests/logs/*.log`, to `tests/logs/generated/kubelet-<fault>-v<1.36|1.24>.log`; `test` names
/// the test that writes it. Returns explain-log's report.
pub(crate) fn fault_log(
    k: &Kubelet,
    fault: &str,
    root_cause_id: &str,
    evidence: &str,
    root_cause: &str,
    test: &str,
) -> Value {
    let label = k.label();
    let body = std::fs::read_to_string(k.log_path()).unwrap();
    let r = common::run_with(&["explain-log", "-", "-o", "json"], &[], Some(body.as_bytes()));
    let v = r.json();
    assert_eq!(v["failureDomain"], "runtime", "{label} ({fault}): explain-log on the kubelet's log: {v}\n{body}");
    assert_eq!(v["rootCause"]["id"], root_cause_id, "{label} ({fault}): {v}");
    assert_ne!(r.code, 0, "{label} ({fault})");
    let decided: Vec<&str> = v["decidedBy"].as_array().unwrap().iter().filter_map(|d| d["text"].as_str()).collect();
    assert!(decided.iter().any(|t| t.contains(evidence)), "{label} ({fault}): {evidence:?} not among {decided:?}");
    if std::env::var("JOINKIT_REGENERATE_LOGS").is_ok_and(|x| x == "1") {
        let git = crate::kubelet::RELEASES.iter().find(|r| r.version == k.spec.version).unwrap().git_version;
        let containerd = Command::new("containerd")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().nth(2).unwrap_or("?").to_string())
            .unwrap_or_default();
        let short = containerd.split('~').next().unwrap_or(&containerd).to_string();
        let front = format!(
            "---\nsource: {}\nrepository: joinkit\nkind: kubelet\ntest: {}\nversions: {}\ndomain: runtime\nroot_cause: {}\nevidence: {}\nredactions: {}\n---\n",
            yq(&format!("generated by tests/logs/generated/regenerate.sh from kubelet {git} with containerd {short}")),
            yq(test),
            yq(&format!("kubelet {git}, control plane v{}, containerd {containerd}", k.spec.version.as_str())),
            yq(root_cause),
            yq(evidence),
            yq("none (a test's own kubelet: temporary paths, TEST-NET addresses)"),
        );
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/logs/generated");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("kubelet-{fault}-v{}.log", k.spec.version.as_str()));
        std::fs::write(&path, format!("{front}{body}")).unwrap();
        eprintln!("wrote {}", path.display());
    }
    v
}

/// The kubeadm default driver, systemd, with the kubelet's default QoS cgroups, beside
/// containerd on cgroupfs (its default: no `SystemdCgroup = true`), containerd 1.6 laid out in a
/// `diagnose --root` tree. containerd 1.6 does not implement CRI `RuntimeConfig`, so the kubelet
/// cannot learn containerd's driver and uses its own; on this systemd-less host it then fails
/// to make its first cgroup ("systemd not running on this host, cannot use systemd cgroups
/// manager") and exits after its TLS bootstrap. `joinkit diagnose --root` names the mismatch
/// from the kubelet's config and containerd's; `joinkit explain-log` names the cause from the
/// kubelet's log.
fn cgroup_driver_systemd(version: Version, test: &str) {
    let Some(s) = cluster(version) else { return };
    let c = &s.cluster;
    let dir = tempfile::tempdir().unwrap();
    let root = crate::diagnose::fake_root_without_runtime(dir.path());
    let Some(containerd) = crate::kubelet::Containerd::start_in_root(&root, "") else { return };
    let node = format!("jk-cgroup-systemd-{}", tag(version));
    let spec = KubeletSpec {
        cgroups: CgroupSetup::SYSTEMD_WITH_QOS,
        ..KubeletSpec::new(version, &node, bootstrap_for(c, dir.path(), &node))
    };
    let Some(mut k) = Kubelet::start_on(spec, &containerd.endpoint()) else { return };
    let (status, took) = k.wait_exit(JOIN);
    let label = k.label();
    assert!(!status.success(), "{label}: the kubelet exits with an error: {status}");
    assert!(k.kubeconfig().is_file(), "{label}: it joined (TLS bootstrap) before failing:\n{}", k.log_tail(30));

    // diagnose, with the kubelet's config where a node has it (its runtime endpoint as seen
    // inside the root: the socket at /run/containerd/containerd.sock).
    let cfg = std::fs::read_to_string(k.config_path())
        .unwrap()
        .replace(&containerd.endpoint(), "unix:///run/containerd/containerd.sock");
    assert!(cfg.contains("cgroupDriver: systemd"), "{cfg}");
    std::fs::create_dir_all(root.join("var/lib/kubelet")).unwrap();
    std::fs::write(root.join("var/lib/kubelet/config.yaml"), cfg).unwrap();
    let l = common::lab(joinkit_lab::Scenario::Healthy);
    let (r, d) = crate::diagnose::diagnose(&l, &root, &[]);
    let stage = d["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "local/cgroup-driver")
        .cloned()
        .unwrap_or_default();
    assert_eq!(stage["status"], "fail", "{label}: diagnose: {}", r.stdout);
    let detail = stage["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("cgroup driver mismatch: the kubelet uses systemd (cgroupDriver: systemd in /var/lib/kubelet/config.yaml) but containerd uses cgroupfs"),
        "{label}: {detail}"
    );
    assert!(detail.contains("systemd does not run on this node"), "{label}: {detail}");
    assert_eq!(d["failureDomain"], "runtime", "{label}: {}", r.stdout);

    let v = fault_log(
        &k,
        "cgroup-driver-systemd",
        "runtime-cgroup-driver-systemd-absent",
        r#""Failed to start ContainerManager" err="systemd not running on this host, cannot use systemd cgroups manager""#,
        "the kubelet's cgroupDriver is systemd (cgroupsPerQOS on), containerd 1.6 uses cgroupfs and cannot tell the kubelet its driver (no CRI RuntimeConfig), and systemd does not run on this host: the kubelet fails to create its kubepods cgroup and exits after its TLS bootstrap",
        test,
    );
    eprintln!(
        "{label}: cgroupDriver systemd beside containerd cgroupfs: exited ({status}) {:.2} s after start; diagnose: {detail}; explain-log: {} ({})",
        took.as_secs_f64(),
        v["rootCause"]["id"],
        v["failureDomain"]
    );
}

#[test]
fn real_kubelet_with_the_systemd_cgroup_driver_beside_cgroupfs_containerd_v1_36() {
    cgroup_driver_systemd(
        Version::V136,
        "real_kubelet::real_kubelet_with_the_systemd_cgroup_driver_beside_cgroupfs_containerd_v1_36",
    );
}

#[test]
fn real_kubelet_with_the_systemd_cgroup_driver_beside_cgroupfs_containerd_v1_24() {
    cgroup_driver_systemd(
        Version::V124,
        "real_kubelet::real_kubelet_with_the_systemd_cgroup_driver_beside_cgroupfs_containerd_v1_24",
    );
}
