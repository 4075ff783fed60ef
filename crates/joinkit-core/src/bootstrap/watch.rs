//! Waiting for the node's CSR to be approved and issued, as the kubelet does: a watch on the
//! one CSR (`?watch=true&fieldSelector=metadata.name=<name>`), re-opened until the bound, never
//! a poll. Each event's object is typed as a `certificates.k8s.io/v1` CertificateSigningRequest;
//! a line that is not a watch event is skipped, an object that is not a CSR is an `api-error`.

use super::BootstrapStage;
use crate::client::api::ApiClient;
use crate::error::{Code, Failure};
use k8s_openapi::api::certificates::v1::{CertificateSigningRequest, CertificateSigningRequestCondition};
use serde_json::Value;
use std::time::{Duration, Instant};

const CSR_PATH: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/// The CSR's condition of type `t` (`Approved`, `Denied`, `Failed`), if any.
pub(super) fn condition<'a>(
    csr: &'a CertificateSigningRequest,
    t: &str,
) -> Option<&'a CertificateSigningRequestCondition> {
    csr.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == t)
}

/// `reason (message)` of a CSR condition, for reports.
pub(super) fn condition_text(csr: &CertificateSigningRequest, t: &str) -> String {
    let c = condition(csr, t);
    format!(
        "{} ({})",
        c.and_then(|c| c.reason.as_deref()).unwrap_or(""),
        c.and_then(|c| c.message.as_deref()).unwrap_or("")
    )
}

/// The issued certificate (PEM bytes), when `status.certificate` is set and not empty.
pub(super) fn issued_certificate(csr: &CertificateSigningRequest) -> Option<&[u8]> {
    csr.status.as_ref()?.certificate.as_ref().map(|c| c.0.as_slice()).filter(|c| !c.is_empty())
}

/// What the watch saw last.
pub(super) enum CsrOutcome {
    Issued(CertificateSigningRequest),
    Denied(CertificateSigningRequest),
    Failed(CertificateSigningRequest),
    TimedOut(Option<CertificateSigningRequest>),
}

fn judge(o: &CertificateSigningRequest) -> Option<CsrOutcome> {
    if condition(o, "Denied").is_some() {
        Some(CsrOutcome::Denied(o.clone()))
    } else if condition(o, "Failed").is_some() {
        Some(CsrOutcome::Failed(o.clone()))
    } else if condition(o, "Approved").is_some() && issued_certificate(o).is_some() {
        Some(CsrOutcome::Issued(o.clone()))
    } else {
        None
    }
}

/// Watches one CSR until issued, denied, failed, or the timeout (a watch, not a poll).
pub(super) async fn watch_csr(
    client: &ApiClient,
    name: &str,
    timeout: Duration,
) -> Result<(CsrOutcome, Duration), Failure> {
    let started = Instant::now();
    let mut last: Option<CertificateSigningRequest> = None;
    let _progress = crate::report::progress::Progress::start(format!(
        "waiting for CSR {name} to be approved and its certificate issued (up to {})",
        crate::duration::format(timeout)
    ));
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
                // A watch event is `{type, object}`: read as JSON, its object typed.
                let Ok(mut ev) = serde_json::from_slice::<Value>(&line) else { continue };
                let Some(obj) = ev.get_mut("object").map(Value::take) else { continue };
                if ev.get("type").and_then(Value::as_str) == Some("DELETED") {
                    return Err(Failure::new(
                        Code::CsrFailed,
                        BootstrapStage::Approval,
                        format!("CSR {name} was deleted while waiting"),
                    )
                    .cause("someone or something deleted the CSR")
                    .fix("retry"));
                }
                // An object that is not a CSR (a status.certificate that is not base64, a field
                // of the wrong type) is an error now, not a wait until the bound.
                let csr: CertificateSigningRequest = crate::k8s::typed(obj, &format!("watch of CSR {name}"))
                    .map_err(|f| f.at(BootstrapStage::Approval))?;
                if let Some(out) = judge(&csr) {
                    return Ok((out, started.elapsed()));
                }
                last = Some(csr);
            }
        }
    }
    Ok((CsrOutcome::TimedOut(last), started.elapsed()))
}
