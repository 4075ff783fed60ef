//! kubeconfig exec credential plugins (`client.authentication.k8s.io/v1` ExecCredential, as
//! EKS's `aws eks get-token` and GKE's `gke-gcloud-auth-plugin` use): run the command with
//! its args and env plus `KUBERNETES_EXEC_INFO`, read `status.token` or
//! `status.clientCertificateData` / `status.clientKeyData` from its stdout. Bounded in time,
//! never interactive (joinkit runs in scripts).

use crate::error::{Code, Failure};
use kube_client::config::ExecConfig;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What an exec plugin returned.
#[derive(Debug)]
pub enum ExecCredential {
    /// A bearer token.
    Token(SecretString),
    /// A client certificate and key, PEM.
    ClientCert {
        /// Certificate chain, PEM.
        cert_pem: String,
        /// Private key, PEM.
        key_pem: String,
    },
}

fn failure(msg: String, hint: Option<&str>) -> Failure {
    let fix = match hint {
        Some(h) => format!("{h} (the plugin's installHint)"),
        None => "check that the plugin is installed and works: run it by hand with the same arguments".to_string(),
    };
    Failure::new(Code::KubeconfigUnusable, "credentials", msg)
        .cause("the kubeconfig's exec credential plugin did not produce credentials")
        .fix(fix)
}

/// Runs the plugin. `server` and `ca_data` are passed when `provideClusterInfo` is set.
pub fn run(exec: &ExecConfig, server: &str, timeout: Duration) -> Result<ExecCredential, Failure> {
    let cmd = exec
        .command
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| failure("the exec plugin has no command".into(), None))?;
    let api = exec.api_version.clone().unwrap_or_else(|| "client.authentication.k8s.io/v1".into());
    if api != "client.authentication.k8s.io/v1" && api != "client.authentication.k8s.io/v1beta1" {
        return Err(failure(
            format!("exec plugin apiVersion {api:?} is not supported (client.authentication.k8s.io/v1 or v1beta1)"),
            None,
        ));
    }
    let mut spec = json!({"interactive": false});
    if exec.provide_cluster_info {
        spec["cluster"] = json!({"server": server});
    }
    let info = json!({"apiVersion": api, "kind": "ExecCredential", "spec": spec});
    let mut c = Command::new(&cmd);
    c.args(exec.args.clone().unwrap_or_default())
        .env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for pair in exec.env.clone().unwrap_or_default() {
        if let (Some(n), Some(v)) = (pair.get("name"), pair.get("value")) {
            c.env(n, v);
        }
    }
    let hint = exec.install_hint.as_deref();
    let mut child = c.spawn().map_err(|e| failure(format!("cannot run exec plugin {cmd:?}: {e}"), hint))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failure(format!("exec plugin {cmd:?} did not finish within {timeout:?}"), hint));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(failure(format!("exec plugin {cmd:?}: {e}"), hint)),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    if !status.success() {
        return Err(failure(format!("exec plugin {cmd:?} failed ({status}): {}", err.trim()), hint));
    }
    let v: Value = serde_json::from_str(&out)
        .map_err(|e| failure(format!("exec plugin {cmd:?} printed no ExecCredential JSON: {e}"), hint))?;
    if v.get("kind").and_then(Value::as_str) != Some("ExecCredential") {
        return Err(failure(format!("exec plugin {cmd:?} printed a {:?}, not an ExecCredential", v.get("kind")), hint));
    }
    let st = v.get("status").cloned().unwrap_or(Value::Null);
    if let Some(t) = st.get("token").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        return Ok(ExecCredential::Token(SecretString::new(t.to_string().into())));
    }
    match (st.get("clientCertificateData").and_then(Value::as_str), st.get("clientKeyData").and_then(Value::as_str)) {
        (Some(c), Some(k)) => Ok(ExecCredential::ClientCert { cert_pem: c.to_string(), key_pem: k.to_string() }),
        _ => Err(failure(
            format!("exec plugin {cmd:?} returned neither status.token nor clientCertificateData/clientKeyData"),
            hint,
        )),
    }
}
