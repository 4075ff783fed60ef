//! The lab answers like the recorded v1.24 kube-apiserver: same status codes, Status bodies
//! and messages, content types and headers, compact JSON (+ newline) or pretty JSON for curl;
//! its bootstrapsigner keeps cluster-info current the way the recorded one did.

use crate::common;
use common::{https, lab, vectors, Http};
use joinkit_lab::Scenario;
use serde_json::Value;
use std::time::{Duration, Instant};

/// One recorded exchange.
struct Recorded {
    method: String,
    path: String,
    user_agent: String,
    auth: Option<String>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn load(name: &str) -> Recorded {
    let dir = vectors().join("apiserver-v1.24/rsa");
    let http = std::fs::read_to_string(dir.join(format!("{name}.http"))).unwrap();
    let body = std::fs::read(dir.join(format!("{name}.body"))).unwrap();
    let mut lines = http.lines();
    let req = lines.next().unwrap().trim_start_matches("# ").to_string();
    let (method, path) = req.split_once(' ').unwrap();
    let ua = lines.next().unwrap().trim_start_matches("# user-agent: ").to_string();
    let args = lines.next().unwrap().trim_start_matches("# curl args:").trim().to_string();
    let auth = args.strip_prefix("-H Authorization: Bearer ").map(|s| s.split_whitespace().next().unwrap().to_string());
    let status: u16 = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    for l in lines.by_ref() {
        if l.trim().is_empty() {
            break;
        }
        let (k, v) = l.split_once(": ").unwrap();
        headers.push((k.to_string(), v.to_string()));
    }
    Recorded { method: method.into(), path: path.into(), user_agent: ua, auth, status, headers, body }
}

const RECORDED_ID: &str = "v49uhc";

/// Replays a recorded request against the lab, mapping the recorded token to the lab's.
fn replay(l: &joinkit_lab::Lab, r: &Recorded) -> Http {
    let id = l.token().id().to_string();
    let path = r.path.replace(RECORDED_ID, &id);
    let token = r.auth.as_ref().map(|a| match a.as_str() {
        "<token.txt>" => l.info.token.clone(),
        other => other.replace(RECORDED_ID, &id),
    });
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("user-agent", r.user_agent.as_str())];
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    https(l.endpoint(), &l.info.ca_cert_pem, &r.method, &path, &headers, None)
}

fn header_names(h: &[(String, String)]) -> Vec<String> {
    let mut v: Vec<String> = h.iter().map(|(k, _)| k.to_lowercase()).filter(|k| k != "content-length").collect();
    v.sort();
    v
}

/// Exchanges whose bodies must match byte for byte (after the token ID is mapped).
const EXACT: &[&str] = &[
    "cluster-info_with_bootstrap_token",
    "forbidden_anonymous_list_configmaps",
    "forbidden_anonymous_other_configmap",
    "forbidden_anonymous_secret",
    "forbidden_anonymous_secret_curl_ua",
    "forbidden_token_secret",
    "notfound_anonymous_missing_configmap",
    "unauthorized_deleted_token",
    "unauthorized_expired_token",
    "unauthorized_malformed_token",
    "unauthorized_unknown_token",
    "unauthorized_unknown_token_curl_ua",
    "unauthorized_unknown_token_version",
    "unauthorized_wrong_secret",
    "token_get_node_notfound",
    "healthz",
    "healthz_verbose",
    "livez",
    "readyz",
    "readyz_verbose",
];

/// Exchanges whose JSON shape (keys, nesting, formatting) must match.
const SHAPE: &[&str] = &[
    "cluster-info_after_signing",
    "cluster-info_after_signing_curl_ua",
    "version",
    "version_curl_ua",
    "token_get_kubeadm_config",
];

#[test]
fn exact_answers_match_the_recordings() {
    let l = lab(Scenario::Healthy);
    let id = l.token().id().to_string();
    for name in EXACT {
        let r = load(name);
        let got = replay(&l, &r);
        assert_eq!(got.status, r.status, "{name}: status");
        let want_body = String::from_utf8(r.body.clone()).unwrap().replace(RECORDED_ID, &id);
        assert_eq!(String::from_utf8(got.body.clone()).unwrap(), want_body, "{name}: body");
        assert_eq!(
            got.header("content-type"),
            r.headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str()),
            "{name}"
        );
        assert_eq!(header_names(&got.headers), header_names(&r.headers), "{name}: header set");
    }
}

fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        if k.starts_with("jws-kubeconfig-") || k.starts_with("f:jws-kubeconfig-") {
                            "JWS".to_string()
                        } else {
                            k.clone()
                        },
                        shape(v),
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => Value::String(String::new()),
        other => other.clone(),
    }
}

#[test]
fn json_answers_have_the_recorded_shape() {
    let l = lab(Scenario::Healthy);
    for name in SHAPE {
        let r = load(name);
        let got = replay(&l, &r);
        assert_eq!(got.status, r.status, "{name}");
        let mut want: Value = serde_json::from_slice(&r.body).unwrap();
        if *name == "token_get_kubeadm_config" {
            // The recorder created kubeadm-config with `kubectl apply` (an annotation and its
            // managed field); kubeadm itself writes neither.
            want["metadata"].as_object_mut().unwrap().remove("annotations");
            want["metadata"]["managedFields"][0]["fieldsV1"].as_object_mut().unwrap().remove("f:metadata");
        }
        assert_eq!(shape(&got.json()), shape(&want), "{name}: JSON shape");
        // Formatting: pretty JSON for curl agents and for /version, compact + newline otherwise.
        let pretty = r.body.starts_with(b"{\n");
        assert_eq!(got.body.starts_with(b"{\n"), pretty, "{name}: pretty");
        assert_eq!(got.body.ends_with(b"\n"), r.body.ends_with(b"\n"), "{name}: trailing newline");
        assert_eq!(header_names(&got.headers), header_names(&r.headers), "{name}: header set");
        if name.starts_with("cluster-info") {
            // The kubeconfig has kubeadm's layout line by line (values aside).
            let keys = |v: &Value| -> Vec<String> {
                v["data"]["kubeconfig"]
                    .as_str()
                    .unwrap()
                    .lines()
                    .map(|l| l.split(':').next().unwrap().to_string())
                    .collect()
            };
            assert_eq!(keys(&got.json()), keys(&want), "{name}: kubeconfig layout");
        }
    }
}

fn cluster_info(l: &joinkit_lab::Lab) -> Value {
    https(l.endpoint(), &l.info.ca_cert_pem, "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info", &[], None)
        .json()
}

fn wait_for(l: &joinkit_lab::Lab, what: &str, f: impl Fn(&Value) -> bool) -> Duration {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(3) {
        if f(&cluster_info(l)) {
            return t.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what} did not happen within 3 s");
}

/// Like the recording: a new token's signature appears (~0.1 s there), deleting the Secret
/// removes it (~0.2 s), an expiring token is cleaned up at expiry with its key, a token created
/// already expired is never signed, and signatures verify.
#[test]
fn bootstrapsigner_and_tokencleaner_behave_like_the_recording() {
    let l = lab(Scenario::Healthy);
    let id = l.token().id().to_string();
    let ci = cluster_info(&l);
    let sig = ci["data"][format!("jws-kubeconfig-{id}")].as_str().unwrap();
    assert!(joinkit_core::jws::verify(ci["data"]["kubeconfig"].as_str().unwrap(), sig, &id, l.token().secret()).is_ok());

    let second = joinkit_core::token::BootstrapToken::generate();
    let key2 = format!("jws-kubeconfig-{}", second.id());
    let soon = time::OffsetDateTime::now_utc() + Duration::from_secs(2);
    {
        let mut s = l.state.lock().unwrap();
        let secret = joinkit_lab::token_secret(&second, Some(soon), &["signing", "authentication"], &[], "");
        s.store.put("secrets", "kube-system", &format!("bootstrap-token-{}", second.id()), secret);
    }
    let appeared = wait_for(&l, "signature of a new token", |v| v["data"].get(&key2).is_some());
    assert!(appeared < Duration::from_millis(500), "signed after {appeared:?}");
    let two = cluster_info(&l);
    assert_eq!(two["data"].as_object().unwrap().keys().filter(|k| k.starts_with("jws-")).count(), 2);
    // Expiry: cleaned up with its key.
    wait_for(&l, "tokencleaner removing the expired token's key", |v| v["data"].get(&key2).is_none());
    assert!(l
        .state
        .lock()
        .unwrap()
        .store
        .get("secrets", "kube-system", &format!("bootstrap-token-{}", second.id()))
        .is_none());
    // Deletion drops the signature.
    l.state.lock().unwrap().store.delete("secrets", "kube-system", &format!("bootstrap-token-{id}"));
    let gone =
        wait_for(&l, "signature removal after delete", |v| v["data"].get(format!("jws-kubeconfig-{id}")).is_none());
    assert!(gone < Duration::from_millis(500));
    // Already expired: never signed.
    let third = joinkit_core::token::BootstrapToken::generate();
    {
        let past = time::OffsetDateTime::now_utc() - Duration::from_secs(60);
        let mut s = l.state.lock().unwrap();
        s.store.put(
            "secrets",
            "kube-system",
            &format!("bootstrap-token-{}", third.id()),
            joinkit_lab::token_secret(&third, Some(past), &["signing", "authentication"], &[], ""),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(cluster_info(&l)["data"].get(format!("jws-kubeconfig-{}", third.id())).is_none());
    // The deleted token now gets the bare 401 everywhere.
    let r = https(
        l.endpoint(),
        &l.info.ca_cert_pem,
        "GET",
        "/version",
        &[("authorization", &format!("Bearer {}", l.info.token))],
        None,
    );
    assert_eq!(r.status, 401);
}

/// Scenario switches change the answers the way the real faults do.
#[test]
fn fault_scenarios_change_answers() {
    let ci = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
    let l = lab(Scenario::AnonymousRevoked);
    let r = https(l.endpoint(), &l.info.ca_cert_pem, "GET", ci, &[], None);
    assert_eq!(r.status, 403);
    assert!(r.json()["message"].as_str().unwrap().contains("system:anonymous"));
    let l = lab(Scenario::ClusterInfoMissing);
    let r = https(l.endpoint(), &l.info.ca_cert_pem, "GET", ci, &[], None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "configmaps \"cluster-info\" not found");
    let l = lab(Scenario::AnonymousAuthOff);
    assert_eq!(https(l.endpoint(), &l.info.ca_cert_pem, "GET", ci, &[], None).status, 401);
    let l = lab(Scenario::SignerStopped);
    let v = https(l.endpoint(), &l.info.ca_cert_pem, "GET", ci, &[], None).json();
    assert_eq!(v["data"].as_object().unwrap().keys().filter(|k| k.starts_with("jws-")).count(), 0);
}
