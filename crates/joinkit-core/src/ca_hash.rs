//! `ca-hash` as a workflow: the CA public-key pins of certificate files and of a kubeconfig's CA
//! (kubeadm's `cmd/kubeadm/app/util/pubkeypin`: sha256 over the DER SubjectPublicKeyInfo, via
//! [`crate::pin`]), with warnings about expired and non-CA certificates. The CLI converts its
//! arguments into [`CaHashOptions`] and prints what [`run`] returns.

use crate::error::{Code, Failure};
use crate::kubeconfig::Kubeconfig;
use crate::pin;
use crate::report::{Common, Report};
use std::path::PathBuf;

/// What to hash: files (`-` is standard input, once) and/or a kubeconfig's CA.
#[derive(Debug, Clone, Default)]
pub struct CaHashOptions {
    /// PEM or DER certificate files, in order.
    pub files: Vec<PathBuf>,
    /// Take the CA from this kubeconfig.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig cluster (default: the current context's).
    pub cluster: Option<String>,
}

/// Hashes every certificate: the report (`certificates`, `pins`, warnings) and the pins as text,
/// one `sha256:<64 hex>` a line in input order (what text output prints on stdout). Errors are
/// the report's failure (`input`, `read`; `input-unreadable`, `bad-input-file`, `no-certificate`).
pub fn run(a: &CaHashOptions) -> (Report, String) {
    let mut report = Report::new("ca-hash");
    let certs = match collect_certs(a, &mut report) {
        Ok(c) => c,
        Err(f) => {
            report.fail(f);
            return (report, String::new());
        }
    };
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    for (src, c) in &certs {
        if let Some(p) = c.validity_problem(now) {
            report.push_warning(format!(
                "{src}: certificate {} is {p} (valid {} to {}); its pin is printed anyway",
                c.subject, c.not_before, c.not_after
            ));
        }
        if !c.is_ca {
            report.push_warning(format!(
                "{src}: certificate {} is not a CA (basicConstraints CA:FALSE); kubeadm pins the cluster CA",
                c.subject
            ));
        }
    }
    let list: Vec<serde_json::Value> = certs
        .iter()
        .map(|(src, c)| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["source"] = serde_json::json!(src);
            v
        })
        .collect();
    report.set("certificates", list);
    report.set("pins", certs.iter().map(|(_, c)| c.pin.clone()).collect::<Vec<_>>());
    let pins: String = certs.iter().map(|(_, c)| format!("{}\n", c.pin)).collect();
    (report, pins)
}

/// The certificates of ca-hash's inputs, in order, each with its source's name.
fn collect_certs(a: &CaHashOptions, report: &mut Report) -> Result<Vec<(String, pin::CertInfo)>, Failure> {
    report.start();
    if a.files.is_empty() && a.kubeconfig.is_none() {
        return Err(Failure::new(Code::Usage, Common::Input, "expected at least one FILE, `-` or --kubeconfig; got none")
            .cause("nothing to hash")
            .fix("e.g. `joinkit ca-hash /etc/kubernetes/pki/ca.crt` or `joinkit ca-hash --kubeconfig /etc/kubernetes/admin.conf`"));
    }
    let mut out = Vec::new();
    let mut stdin_used = false;
    for f in &a.files {
        if f.as_os_str() == "-" && std::mem::replace(&mut stdin_used, true) {
            return Err(Failure::new(Code::Usage, Common::Input, "`-` (standard input) given twice")
                .cause("stdin can be read once")
                .fix("pass `-` once"));
        }
        let name = f.display().to_string();
        let data = crate::fsutil::read_path_or_stdin(f, crate::fsutil::MAX_INPUT_FILE).map_err(|e| {
            Failure::new(Code::InputUnreadable, Common::Read, e.to_string())
                .cause("the path is wrong, not readable by this user, not a regular file, or too large")
                .fix("check the path and permissions (the CA is /etc/kubernetes/pki/ca.crt on a control-plane node)")
        })?;
        for der in pin::read_certificates(&data, &name)? {
            out.push((name.clone(), pin::inspect(der.as_ref(), &name)?));
        }
    }
    if let Some(k) = &a.kubeconfig {
        let name = k.display().to_string();
        let read = |code, e: String, cause: &str, fix: &str| Failure::new(code, Common::Read, e).cause(cause).fix(fix);
        let kc = Kubeconfig::load(k).map_err(|e| {
            let fix = "pass an admin kubeconfig such as /etc/kubernetes/admin.conf";
            read(
                Code::BadInputFile,
                format!("expected a kubeconfig; {e}"),
                "the file is not a readable kubeconfig",
                fix,
            )
        })?;
        let cluster = kc.cluster(a.cluster.as_deref()).map_err(|e| {
            read(
                Code::BadInputFile,
                format!("{name}: {e}"),
                "the kubeconfig has no such cluster",
                "name one with --cluster",
            )
        })?;
        let what = format!("{name} (cluster {:?})", cluster.name);
        let ca = kc
            .ca_bytes(&cluster.cluster)
            .map_err(|e| {
                let cause = "the CA data or file cannot be read";
                read(Code::InputUnreadable, format!("{what}: {e}"), cause, "check certificate-authority(-data)")
            })?
            .ok_or_else(|| {
                let e = format!("{what}: the cluster has neither certificate-authority-data nor certificate-authority");
                let cause = "the kubeconfig trusts the system roots or skips verification";
                read(Code::NoCertificate, e, cause, "pass the CA file itself")
            })?;
        for der in pin::read_certificates(&ca, &what)? {
            out.push((what.clone(), pin::inspect(der.as_ref(), &what)?));
        }
    }
    report.pass(Common::Read, format!("{} certificate(s)", out.len()));
    Ok(out)
}
