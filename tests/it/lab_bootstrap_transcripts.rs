//! The lab answers the TLS-bootstrap and token-management requests like the recorded servers
//! (`tests/vectors/apiserver-v1.24/bootstrap/`, and `apiserver-v1.36/bootstrap/` where newer
//! servers differ): each recorded request is replayed against a lab with the lab's own token,
//! admin and node credentials (names substituted), and the answers must have the same status,
//! header set and JSON. Status bodies (403, 404, 409, 422, delete Successes) match byte for byte;
//! objects match with their volatile values (uids, resourceVersions, timestamps, issued
//! certificates) blanked; watch streams have the recorded event order and framing (one JSON event
//! per line). The `pre-1-28` scenario claims v1.24 (`/version`) and answers exactly as recorded
//! there; the healthy lab (v1.31) answers SelfSubjectReview and two-usage ECDSA CSRs as v1.36 did.

use crate::common;
use common::{lab, vectors, Http};
use joinkit_lab::pki::{KeyKind, Leaf};
use joinkit_lab::{Lab, Scenario};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Who sent a recorded request.
#[derive(Debug, Clone, PartialEq)]
enum Who {
    Token,
    Admin,
    Node,
    Anonymous,
    Bearer(String),
}

/// One recorded exchange.
#[derive(Debug)]
struct Recorded {
    name: String,
    method: String,
    path: String,
    user_agent: String,
    who: Who,
    content_type: Option<String>,
    request: Option<String>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn load(version: &str, name: &str) -> Recorded {
    let dir = vectors().join(format!("apiserver-{version}/bootstrap"));
    let http = std::fs::read_to_string(dir.join(format!("{name}.http"))).unwrap();
    let body = std::fs::read(dir.join(format!("{name}.body"))).unwrap();
    let mut lines = http.lines();
    let req = lines.next().unwrap().trim_start_matches("# ").to_string();
    let (method, path) = req.split_once(' ').unwrap();
    let ua = lines.next().unwrap().trim_start_matches("# user-agent: ").to_string();
    let args = lines.next().unwrap().trim_start_matches("# curl args:").trim().to_string();
    let who = if args.contains("--cert ./pki/admin.crt") {
        Who::Admin
    } else if args.contains("--cert ./rec-node-1.crt") {
        Who::Node
    } else if let Some(rest) = args.split("-H Authorization: Bearer ").nth(1) {
        match rest.split_whitespace().next().unwrap() {
            "<token.txt>" => Who::Token,
            other => Who::Bearer(other.to_string()),
        }
    } else {
        Who::Anonymous
    };
    let content_type = args.split("-H Content-Type: ").nth(1).map(|r| r.split_whitespace().next().unwrap().to_string());
    let request = args.split("--data-binary ").nth(1).map(|b| match b.strip_prefix("@./") {
        Some(file) => std::fs::read_to_string(dir.join(file)).unwrap(),
        None => b.to_string(),
    });
    let status: u16 = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    for l in lines.by_ref() {
        if l.trim().is_empty() {
            break;
        }
        let (k, v) = l.split_once(": ").unwrap();
        headers.push((k.to_lowercase(), v.to_string()));
    }
    Recorded {
        name: name.into(),
        method: method.into(),
        path: path.into(),
        user_agent: ua,
        who,
        content_type,
        request,
        status,
        headers,
        body,
    }
}

/// A lab and the identities that stand in for the recorded ones.
struct Replay {
    lab: Lab,
    version: &'static str,
    recorded_id: &'static str,
    id: String,
    node: Leaf,
}

impl Replay {
    fn new(scenario: Scenario, version: &'static str) -> Replay {
        let lab = lab(scenario);
        let id = lab.token().id().to_string();
        let node = lab.ca.client_cert("system:node:rec-node-1", Some("system:nodes"), KeyKind::Ecdsa).unwrap();
        let recorded_id = if version == "v1.24" { "57lpb3" } else { "5ghmow" };
        Replay { lab, version, recorded_id, id, node }
    }

    fn load(&self, name: &str) -> Recorded {
        load(self.version, name)
    }

    /// The recorded text with the recorded token ID mapped to the lab's.
    fn subst(&self, s: &str) -> String {
        s.replace(self.recorded_id, &self.id)
    }

    /// Sends `r`'s request (optionally with another body) as the lab's stand-in for its caller.
    fn send_with(&self, r: &Recorded, body: Option<String>) -> Http {
        let body = body.or_else(|| r.request.as_ref().map(|b| self.subst(b)));
        let (auth, cert) = self.credentials(&r.who);
        let mut headers = vec![("user-agent".to_string(), r.user_agent.clone())];
        if let Some(a) = auth {
            headers.push(("authorization".into(), a));
        }
        if let Some(ct) = &r.content_type {
            headers.push(("content-type".into(), ct.clone()));
        }
        request(&self.lab, &r.method, &self.subst(&r.path), &headers, body, cert, None)
    }

    fn send(&self, r: &Recorded) -> Http {
        self.send_with(r, None)
    }

    fn credentials(&self, who: &Who) -> (Option<String>, Option<&Leaf>) {
        match who {
            Who::Token => (Some(format!("Bearer {}", self.lab.info.token)), None),
            Who::Admin => (Some(format!("Bearer {}", self.lab.info.admin_token)), None),
            Who::Bearer(t) => (Some(format!("Bearer {t}")), None),
            Who::Node => (None, Some(&self.node)),
            Who::Anonymous => (None, None),
        }
    }

    /// Replays and checks a Status answer (or any answer) byte for byte.
    fn exact(&self, name: &str) -> Http {
        let r = self.load(name);
        let got = self.send(&r);
        self.check_exact(&r, &got);
        got
    }

    fn check_exact(&self, r: &Recorded, got: &Http) {
        let name = &r.name;
        assert_eq!(got.status, r.status, "{name}: status; body {}", String::from_utf8_lossy(&got.body));
        let mut want = self.subst(&String::from_utf8(r.body.clone()).unwrap());
        // A delete's Status names the deleted object's uid: the lab's own.
        let recorded: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        if let (Some(a), Some(b)) = (
            recorded.pointer("/details/uid").and_then(Value::as_str),
            serde_json::from_slice::<Value>(&got.body).ok().and_then(|v| v.pointer("/details/uid").cloned()),
        ) {
            want = want.replace(a, b.as_str().unwrap());
        }
        assert_eq!(String::from_utf8_lossy(&got.body), want, "{name}: body");
        self.check_headers(r, got);
    }

    fn check_headers(&self, r: &Recorded, got: &Http) {
        let names = |h: &[(String, String)]| {
            let mut v: Vec<String> = h
                .iter()
                .map(|(k, _)| k.to_lowercase())
                .filter(|k| k != "content-length" && k != "transfer-encoding")
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&got.headers), names(&r.headers), "{}: header set", r.name);
        let ct = r.headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str());
        assert_eq!(got.header("content-type"), ct, "{}: content-type", r.name);
    }

    /// Replays and checks an object answer: equal JSON once volatile values are blanked.
    fn like(&self, name: &str) -> Http {
        let r = self.load(name);
        let got = self.send(&r);
        self.check_like(&r, &got);
        got
    }

    fn check_like(&self, r: &Recorded, got: &Http) {
        let name = &r.name;
        assert_eq!(got.status, r.status, "{name}: status; body {}", String::from_utf8_lossy(&got.body));
        let want: Value = serde_json::from_str(&self.subst(&String::from_utf8(r.body.clone()).unwrap())).unwrap();
        assert_json_like(&got.json(), &want, name);
        assert_eq!(got.body.ends_with(b"\n"), r.body.ends_with(b"\n"), "{name}: trailing newline");
        assert_eq!(got.body.starts_with(b"{\n"), r.body.starts_with(b"{\n"), "{name}: pretty");
        self.check_headers(r, got);
    }

    /// Opens the recorded watch now and returns its stream after `dur` (read in the background).
    fn watch(&self, name: &str, dur: Duration) -> Watch {
        let r = self.load(name);
        let (auth, _) = self.credentials(&r.who);
        let headers = vec![("user-agent".to_string(), r.user_agent.clone()), ("authorization".into(), auth.unwrap())];
        let (tx, rx) = std::sync::mpsc::channel();
        let endpoint = self.lab.endpoint().to_string();
        let ca = self.lab.info.ca_cert_pem.clone();
        let path = self.subst(&r.path);
        let thread =
            std::thread::spawn(move || request_to(&endpoint, &ca, "GET", &path, &headers, None, None, Some((dur, tx))));
        rx.recv_timeout(Duration::from_secs(5)).expect("the watch answers with headers");
        Watch { recorded: r, thread }
    }
}

struct Watch {
    recorded: Recorded,
    thread: std::thread::JoinHandle<Http>,
}

impl Watch {
    /// Checks the stream: status, headers, newline-delimited events of the recorded types in
    /// the recorded order, each event object like the recorded one. Returns the events.
    fn check(self, rp: &Replay) -> Vec<Value> {
        let got = self.thread.join().unwrap();
        let r = &self.recorded;
        assert_eq!(got.status, 200, "{}", r.name);
        rp.check_headers(r, &got);
        let lines = |b: &[u8]| -> Vec<Value> {
            let s = String::from_utf8(b.to_vec()).unwrap();
            assert!(s.is_empty() || s.ends_with('\n'), "{}: every event ends with a newline", r.name);
            s.lines()
                .map(|l| {
                    assert!(l.starts_with("{\"type\":\""), "{}: event framing: {l}", r.name);
                    serde_json::from_str(l).unwrap()
                })
                .collect()
        };
        let (got, want) = (lines(&got.body), lines(rp.subst(&String::from_utf8_lossy(&r.body)).as_bytes()));
        let types = |v: &[Value]| v.iter().map(|e| e["type"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(types(&got), types(&want), "{}: event order", r.name);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_json_like(g, w, &format!("{} event {i}", r.name));
        }
        got
    }
}

/// Keys whose values differ on every run (or every server).
const VOLATILE: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "time",
    "lastUpdateTime",
    "lastTransitionTime",
    "lastHeartbeatTime",
    "certificate",
];

fn blank(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v =
                        if VOLATILE.contains(&k.as_str()) && v.is_string() { json!("<volatile>") } else { blank(v) };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(blank).collect()),
        other => other.clone(),
    }
}

fn assert_json_like(got: &Value, want: &Value, what: &str) {
    let (g, w) = (blank(got), blank(want));
    assert!(g == w, "{what}: JSON differs\n got: {g}\nwant: {w}");
}

/// One HTTPS request to the lab (optionally with a client certificate). With `stream`, reads
/// the body for that long, telling the sender when the headers arrived.
fn request(
    lab: &Lab,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<String>,
    cert: Option<&Leaf>,
    stream: Option<(Duration, std::sync::mpsc::Sender<()>)>,
) -> Http {
    let cert = cert.map(|l| (l.cert_pem.clone(), l.key_pem.clone()));
    request_to(lab.endpoint(), &lab.info.ca_cert_pem, method, path, headers, body, cert, stream)
}

#[allow(clippy::too_many_arguments)]
fn request_to(
    endpoint: &str,
    ca_pem: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<String>,
    cert: Option<(String, String)>,
    stream: Option<(Duration, std::sync::mpsc::Sender<()>)>,
) -> Http {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
        let b = rustls::ClientConfig::builder_with_provider(joinkit_core::client::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let cfg = match &cert {
            Some((c, k)) => b
                .with_client_auth_cert(
                    vec![CertificateDer::from_pem_slice(c.as_bytes()).unwrap()],
                    PrivateKeyDer::from_pem_slice(k.as_bytes()).unwrap(),
                )
                .unwrap(),
            None => b.with_no_client_auth(),
        };
        let tcp = tokio::net::TcpStream::connect(endpoint).await.unwrap();
        let host = endpoint.rsplit_once(':').unwrap().0.to_string();
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
            .connect(ServerName::try_from(host).unwrap(), tcp)
            .await
            .unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await.unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder().method(method).uri(path).header("host", endpoint);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp =
            send.send_request(req.body(Full::new(Bytes::from(body.unwrap_or_default()))).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let headers =
            resp.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
        let mut body_stream = resp.into_body();
        let body = match stream {
            None => body_stream.collect().await.unwrap().to_bytes().to_vec(),
            Some((dur, tx)) => {
                let _ = tx.send(());
                let mut out = Vec::new();
                let deadline = tokio::time::Instant::now() + dur;
                while let Ok(Some(Ok(f))) = tokio::time::timeout_at(deadline, body_stream.frame()).await {
                    if let Ok(d) = f.into_data() {
                        out.extend_from_slice(&d);
                    }
                }
                out
            }
        };
        Http { status, headers, body }
    })
}

/// Runs `f` until it holds or 3 s passed.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(3) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not happen within 3 s");
}

fn delete_binding(rp: &Replay, name: &str) -> Value {
    rp.lab.state.lock().unwrap().store.delete("clusterrolebindings", "", name).expect("the binding exists")
}

fn restore_binding(rp: &Replay, name: &str, b: Value) {
    rp.lab.state.lock().unwrap().store.put("clusterrolebindings", "", name, b);
}

fn csr(rp: &Replay, name: &str) -> Value {
    rp.lab.state.lock().unwrap().store.get("certificatesigningrequests", "", name).cloned().unwrap()
}

/// The recorded approval body, pointed at the lab's current object (as kubectl does: it GETs,
/// sets the condition and PUTs with the resourceVersion it read).
fn approval_body(rp: &Replay, r: &Recorded, csr_name: &str) -> String {
    let now = csr(rp, csr_name);
    let mut body: Value = serde_json::from_str(&rp.subst(r.request.as_ref().unwrap())).unwrap();
    body["metadata"]["uid"] = now["metadata"]["uid"].clone();
    body["metadata"]["resourceVersion"] = now["metadata"]["resourceVersion"].clone();
    body.to_string()
}

// ---------------------------------------------------------------------------------------------
// Identity: SelfSubjectReview, discovery, /version.

/// v1.24 (the `pre-1-28` scenario): RBAC refuses SelfSubjectReview before routing (403 for
/// the token, a node and anonymous, any version); only an authorized admin sees the 404.
#[test]
fn pre_1_28_identity_answers_match_v1_24() {
    let rp = Replay::new(Scenario::Pre128, "v1.24");
    for v in ["v1", "v1beta1", "v1alpha1"] {
        rp.exact(&format!("whoami_token_{v}"));
        rp.exact(&format!("whoami_admin_{v}"));
        rp.exact(&format!("whoami_anonymous_{v}"));
    }
    rp.exact("nodecert_whoami_v1");
    rp.exact("version");
    rp.exact("discovery_authentication_v1_token");
    rp.exact("discovery_authentication_v1_anonymous");
    rp.exact("discovery_authentication_group_token");
    discovery_apis_is_a_subset(&rp);
}

/// The healthy lab (v1.31) serves SelfSubjectReview v1 as v1.36 did; v1alpha1/v1beta1 are 404.
#[test]
fn healthy_identity_answers_match_v1_36() {
    let rp = Replay::new(Scenario::Healthy, "v1.36");
    rp.like("whoami_token_v1");
    rp.exact("whoami_token_v1beta1");
    rp.exact("whoami_token_v1alpha1");
    rp.exact("whoami_admin_v1beta1");
    rp.exact("discovery_authentication_v1_token");
    rp.exact("discovery_authentication_group_token");
    rp.exact("discovery_authentication_v1_anonymous");
    discovery_apis_is_a_subset(&rp);
}

/// The lab serves fewer API groups than a real server; those it lists are listed as recorded.
fn discovery_apis_is_a_subset(rp: &Replay) {
    let r = rp.load("discovery_apis_token");
    let got = rp.send(&r);
    assert_eq!(got.status, 200);
    rp.check_headers(&r, &got);
    let (got, want): (Value, Value) = (got.json(), serde_json::from_slice(&r.body).unwrap());
    assert_eq!(got["kind"], want["kind"]);
    assert_eq!(got["apiVersion"], want["apiVersion"]);
    let groups = want["groups"].as_array().unwrap();
    for g in got["groups"].as_array().unwrap() {
        assert!(groups.contains(g), "/apis lists {g} unlike the recording");
    }
    for name in ["authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io"] {
        assert!(got["groups"].as_array().unwrap().iter().any(|g| g["name"] == name), "/apis lacks {name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Access reviews and Nodes.

fn access_reviews_and_nodes(rp: &Replay) {
    for name in [
        "ssar_token_create_csr",
        "ssar_token_create_csr_nodeclient",
        "ssar_token_create_csr_selfnodeclient",
        "ssar_token_get_nodes",
        "ssar_token_delete_csr",
        "ssar_token_update_csr_approval",
        "ssar_token_list_secrets_kube-system",
        "nodecert_ssar_create_csr_selfnodeclient",
    ] {
        rp.like(name);
    }
    rp.exact("node_get_missing_token");
    let created = rp.like("node_create_admin");
    assert!(created.json()["metadata"].get("annotations").is_none());
    // The TTL controller annotates the Node before the status patch arrives (as recorded).
    eventually("the ttl annotation", || {
        rp.lab.state.lock().unwrap().store.get("nodes", "", "rec-ready-node").unwrap()["metadata"]["annotations"]
            ["node.alpha.kubernetes.io/ttl"]
            == "0"
    });
    rp.like("node_status_patch_admin");
    // Ready=True: the not-ready taint goes away.
    eventually("the not-ready taint removed", || {
        rp.lab.state.lock().unwrap().store.get("nodes", "", "rec-ready-node").unwrap()["spec"] == json!({})
    });
    rp.like("node_get_ready_token");
    let b = delete_binding(rp, "kubeadm:get-nodes");
    rp.like("ssar_token_get_nodes_without_get-nodes");
    rp.exact("node_get_missing_token_without_get-nodes");
    rp.exact("node_get_ready_token_without_get-nodes");
    restore_binding(rp, "kubeadm:get-nodes", b);
    rp.exact("node_delete_admin");
    rp.exact("nodecert_get_own_node");
    rp.exact("nodecert_get_other_node");
}

#[test]
fn access_reviews_and_nodes_match_v1_24() {
    access_reviews_and_nodes(&Replay::new(Scenario::Pre128, "v1.24"));
    access_reviews_and_nodes(&Replay::new(Scenario::Healthy, "v1.24"));
}

// ---------------------------------------------------------------------------------------------
// The CSR lifecycle.

/// The kubelet v1.24 CSR (digital signature, key encipherment, client auth): ADDED, MODIFIED
/// (AutoApproved), MODIFIED (certificate), two updates; then list, get, and deletes.
fn auto_approved_csr(rp: &Replay) {
    let w = rp.watch("csr_rec1ke_watch", Duration::from_millis(1500));
    let t = Instant::now();
    rp.like("csr_rec1ke_create");
    let events = w.check(rp);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(events[1]["object"]["status"].get("certificate").is_none(), "approval and issuance are two updates");
    rp.like("csr_rec1ke_list_fieldselector");
    let got = rp.like("csr_rec1ke_get");
    // The issued certificate, like rec-node-1.crt: NotBefore 5 minutes before issuance, one year.
    use base64::Engine;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(got.json()["status"]["certificate"].as_str().unwrap())
        .unwrap();
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(&pem)
        .map(|c: rustls::pki_types::CertificateDer| c.to_vec())
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let nb = cert.validity().not_before.timestamp();
    assert!((now - 310..=now - 290).contains(&nb), "NotBefore {} s before now", now - nb);
    let days = (cert.validity().not_after.timestamp() - nb - 300) / 86400;
    assert_eq!(days, 365, "valid one year from issuance");
    rp.exact("csr_rec1ke_delete_token");
    rp.exact("csr_rec1ke_delete_admin");
}

/// Version-independent CSR answers: Pending variants with no condition, denial, broken bindings.
fn csr_variants(rp: &Replay) {
    for (create, get) in
        [("csr_serverauth_create", "csr_serverauth_get_after3s"), ("csr_notnode_create", "csr_notnode_get_after3s")]
    {
        rp.like(create);
        std::thread::sleep(Duration::from_millis(300));
        let got = rp.like(get);
        assert_eq!(got.json()["status"], json!({}), "{get}: Pending, no condition at all");
    }
    // Denial.
    rp.like("csr_deny_create");
    rp.exact("csr_deny_approval_token");
    let w = rp.watch("csr_deny_watch", Duration::from_millis(800));
    let r = rp.load("csr_deny_approval_admin");
    let got = rp.send_with(&r, Some(approval_body(rp, &r, "node-csr-rec-deny")));
    rp.check_like(&r, &got);
    w.check(rp);
    rp.like("csr_deny_get");
    // Without kubeadm:node-autoapprove-bootstrap: Pending; approved once it is back.
    let b = delete_binding(rp, "kubeadm:node-autoapprove-bootstrap");
    rp.like("ssar_token_create_csr_nodeclient_without_autoapprove");
    rp.like("csr_noautoapprove_create");
    std::thread::sleep(Duration::from_millis(300));
    rp.like("csr_noautoapprove_get_after3s");
    restore_binding(rp, "kubeadm:node-autoapprove-bootstrap", b);
    eventually("approval after the binding is back", || {
        csr(rp, "node-csr-rec-noautoapprove").pointer("/status/certificate").is_some()
    });
    rp.like("csr_noautoapprove_get_after_restore");
    // Without kubeadm:kubelet-bootstrap: no CSR at all, and the list names the selected CSR.
    let b = delete_binding(rp, "kubeadm:kubelet-bootstrap");
    rp.like("ssar_token_create_csr_without_kubelet-bootstrap");
    rp.exact("csr_nobootstrap_create");
    rp.exact("csr_nobootstrap_list_fieldselector");
    restore_binding(rp, "kubeadm:kubelet-bootstrap", b);
}

/// v1.24: the ECDSA kubelet CSR without key encipherment stays Pending (`"status":{}`, no
/// event); an admin's approval makes the signer fail it ("usages did not match ...").
#[test]
fn pre_1_28_csr_lifecycle_matches_v1_24() {
    let rp = Replay::new(Scenario::Pre128, "v1.24");
    let w = rp.watch("csr_rec1_watch", Duration::from_millis(1200));
    rp.like("csr_rec1_create");
    w.check(&rp);
    rp.like("csr_rec1_list_fieldselector");
    rp.like("csr_rec1_get");
    let w = rp.watch("csr_rec1_adminapprove_watch", Duration::from_millis(1200));
    let r = rp.load("csr_rec1_approval_admin");
    let got = rp.send_with(&r, Some(approval_body(&rp, &r, "node-csr-rec1")));
    rp.check_like(&r, &got);
    w.check(&rp);
    rp.like("csr_rec1_get_after_admin_approval");
    rp.exact("csr_rec1_delete_token");
    rp.exact("csr_rec1_delete_admin");
    auto_approved_csr(&rp);
    csr_variants(&rp);
}

/// Newer servers (the healthy lab, v1.31; recorded on v1.36) auto-approve and issue the
/// two-usage ECDSA CSR; everything else is as on v1.24.
#[test]
fn healthy_csr_lifecycle_matches_the_recordings() {
    let rp = Replay::new(Scenario::Healthy, "v1.36");
    let w = rp.watch("csr_rec1_watch", Duration::from_millis(1200));
    rp.like("csr_rec1_create");
    w.check(&rp);
    rp.like("csr_rec1_get");
    rp.exact("csr_rec1_delete_token");
    rp.exact("csr_rec1_delete_admin");
    let rp = Replay::new(Scenario::Healthy, "v1.24");
    auto_approved_csr(&rp);
    csr_variants(&rp);
}

// ---------------------------------------------------------------------------------------------
// Token Secrets through the API.

/// `kubeadm token create/list/delete` with the admin, invalid token ids, and what the
/// bootstrapsigner and the authenticator make of them.
fn token_secrets(rp: &Replay) {
    // The recorded expirations have passed: give every created token another day.
    let tomorrow = (time::OffsetDateTime::now_utc() + Duration::from_secs(86400))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let fresh = |r: &Recorded| {
        use base64::Engine;
        let mut v: Value = serde_json::from_str(r.request.as_ref().unwrap()).unwrap();
        v["data"]["expiration"] = json!(base64::engine::general_purpose::STANDARD.encode(&tomorrow));
        v.to_string()
    };
    let create = |name: &str| {
        let r = rp.load(name);
        let got = rp.send_with(&r, Some(fresh(&r)));
        if r.status == 201 {
            let mut want: Value = serde_json::from_slice(&r.body).unwrap();
            want["data"]["expiration"] =
                json!(serde_json::from_str::<Value>(&fresh(&r)).unwrap()["data"]["expiration"]);
            let r2 = Recorded { body: format!("{want}\n").into_bytes(), ..r };
            rp.check_like(&r2, &got);
        } else {
            rp.check_exact(&r, &got);
        }
    };
    rp.exact("token_get_before_create");
    create("token_create");
    create("token_create_again");
    // The list: the lab's items are its own token Secrets; the created one is as recorded.
    let r = rp.load("token_list");
    let got = rp.send(&r);
    assert_eq!(got.status, 200);
    rp.check_headers(&r, &got);
    let (got, want): (Value, Value) = (got.json(), serde_json::from_slice(&r.body).unwrap());
    assert_eq!(got["kind"], want["kind"]);
    assert_eq!(got["apiVersion"], want["apiVersion"]);
    assert_eq!(blank(&got["metadata"]), blank(&want["metadata"]));
    let item = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["metadata"]["name"] == "bootstrap-token-vsyi8s")
            .cloned()
            .unwrap()
    };
    let mut want_item = item(&want);
    want_item["data"]["expiration"] = item(&got)["data"]["expiration"].clone();
    assert_json_like(&item(&got), &want_item, "token_list item");
    assert!(got["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["type"] == "bootstrap.kubernetes.io/token" && i.get("kind").is_none()));
    let signed = |id: &str| {
        let ci = rp.lab.state.lock().unwrap().store.get("configmaps", "kube-public", "cluster-info").cloned().unwrap();
        ci["data"].get(format!("jws-kubeconfig-{id}")).is_some()
    };
    eventually("the new token signed", || signed("vsyi8s"));
    rp.exact("token_delete");
    eventually("the deleted token's signature removed", || !signed("vsyi8s"));
    rp.exact("token_delete_again");
    // Invalid token ids: only the object name is validated; the signer and the authenticator
    // ignore Secrets whose name and token-id disagree or whose id is not [a-z0-9]{6}.
    create("token_invalid_uppercase_create");
    create("token_invalid_mismatch_create");
    create("token_invalid_hyphen_create");
    create("token_valid_control_create");
    eventually("the control token signed", || signed("b0jwf9"));
    std::thread::sleep(Duration::from_millis(200));
    for id in ["ABCDEF", "r8ysju", "x-e46t"] {
        assert!(!signed(id), "{id} must not be signed");
    }
    rp.exact("token_invalid_mismatch_auth_by_name");
    rp.exact("token_invalid_mismatch_auth_by_tokenid");
    rp.exact("token_invalid_hyphen_auth");
}

#[test]
fn token_secrets_match_v1_24() {
    let rp = Replay::new(Scenario::Pre128, "v1.24");
    token_secrets(&rp);
    // A v1.24 lab's /version is the recorded one, byte for byte.
    rp.exact("token_valid_control_auth");
    let rp = Replay::new(Scenario::Healthy, "v1.24");
    token_secrets(&rp);
    let r = rp.load("token_valid_control_auth");
    assert_eq!(rp.send(&r).status, 200);
}
