//! `joinkit ca-hash`: the CA public-key pins of certificate files and of a kubeconfig's CA
//! (kubeadm's `pubkeypin`), with warnings about expired and non-CA certificates. The reading and
//! hashing are joinkit_core::pin's; this workflow belongs beside it in the library.

use crate::cli::CaHashArgs;
use crate::output::Outcome;
use joinkit_core::error::{Code, Failure};
use joinkit_core::kubeconfig::Kubeconfig;
use joinkit_core::pin;
use joinkit_core::report::{Common, Report};

/// `joinkit ca-hash`: the pins in text (stdout, one a line), the report in json/yaml.
pub fn run(a: &CaHashArgs) -> Outcome {
    let mut report = Report::new("ca-hash");
    let certs = match collect_certs(a, &mut report) {
        Ok(c) => c,
        Err(f) => {
            report.fail(f);
            return Outcome::Product(report, a.out.output, String::new());
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
    Outcome::Product(report, a.out.output, pins)
}

/// The certificates of ca-hash's inputs, in order, each with its source's name.
fn collect_certs(a: &CaHashArgs, report: &mut Report) -> Result<Vec<(String, pin::CertInfo)>, Failure> {
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
        let data = joinkit_core::fsutil::read_path_or_stdin(f, joinkit_core::fsutil::MAX_INPUT_FILE).map_err(|e| {
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
