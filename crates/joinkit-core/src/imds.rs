//! The node's IAM role from the EC2 instance metadata service, IMDSv2 only: a session token is
//! fetched first (`PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`), then
//! `GET /latest/meta-data/iam/info` (the instance profile ARN: partition and account) and
//! `GET /latest/meta-data/iam/security-credentials/` (the role's name) with
//! `X-aws-ec2-metadata-token` (EC2 user guide, "Use the Instance Metadata Service to access
//! instance metadata" and "Instance metadata categories"). The credentials themselves are never
//! requested.
//!
//! The hop limit is respected, not worked around: the token's PUT answer is sent with the IP
//! TTL of the instance's `HttpPutResponseHopLimit`, so from a container one hop further than the
//! limit it never arrives; joinkit then fails with that explanation and does **not** fall back
//! to IMDSv1 (which a `HttpTokens: required` instance refuses anyway).
//!
//! The endpoint is chosen as the AWS SDKs choose it (AWS SDKs and Tools reference guide, "IMDS
//! client" settings): `AWS_EC2_METADATA_SERVICE_ENDPOINT` (a URL) if set, else
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` (`IPv4`: `http://169.254.169.254`, the default;
//! `IPv6`: `http://[fd00:ec2::254]`); `AWS_EC2_METADATA_DISABLED=true` turns it off. Each request
//! is bounded by [`REQUEST_TIMEOUT`] and each answer by [`MAX_BODY`] bytes.

use crate::error::{Code, Failure};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use std::time::Duration;

crate::stages! {
    /// The stages of reading the node's role from the instance metadata service.
    pub enum ImdsStage {
        /// The endpoint is chosen from the environment.
        Endpoint = "imds-endpoint",
        /// An IMDSv2 session token is requested (PUT).
        Token = "imds-token",
        /// The instance profile and its role are read with the token.
        Role = "imds-role",
    }
}

/// IMDS over IPv4.
pub const DEFAULT_IPV4: &str = "http://169.254.169.254";
/// IMDS over IPv6 (Nitro instances).
pub const DEFAULT_IPV6: &str = "http://[fd00:ec2::254]";
/// The session token's lifetime asked for, in seconds (the SDKs' default, 6 hours).
pub const TOKEN_TTL_SECONDS: u32 = 21600;
/// The bound on each request: connect, send and read the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The most bytes of an answer read (IMDS answers are a few hundred bytes).
pub const MAX_BODY: usize = 64 * 1024;

/// Where the metadata service is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The host as a socket address takes it (an IPv6 address without brackets).
    pub host: String,
    /// The port (80 unless given).
    pub port: u16,
    /// The URL as given or defaulted, for messages.
    pub url: String,
    /// Which setting chose it.
    pub source: &'static str,
}

/// Chooses the endpoint from the environment (`env` reads a variable), as the SDKs do; a
/// disabled service, an endpoint that is not an `http://` URL and an unknown mode are `usage`.
pub fn endpoint_from(env: impl Fn(&str) -> Option<String>) -> Result<Endpoint, Failure> {
    let usage = |msg: String, fix: &str| Failure::new(Code::Usage, ImdsStage::Endpoint, msg).fix(fix);
    if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Err(usage(
            "AWS_EC2_METADATA_DISABLED=true: the instance metadata service is turned off for this process".into(),
            "unset AWS_EC2_METADATA_DISABLED, or pass --node-role-arn",
        ));
    }
    let (url, source) = match env("AWS_EC2_METADATA_SERVICE_ENDPOINT").filter(|v| !v.trim().is_empty()) {
        Some(u) => (u.trim().to_string(), "AWS_EC2_METADATA_SERVICE_ENDPOINT"),
        None => match env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE").map(|m| m.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("ipv4") => (DEFAULT_IPV4.to_string(), "the default (IPv4)"),
            Some("ipv6") => (DEFAULT_IPV6.to_string(), "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6"),
            Some(other) => {
                return Err(usage(
                    format!(
                        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE={:?}: the modes are IPv4 and IPv6",
                        crate::report::truncate_for_display(other, 40)
                    ),
                    "set it to IPv4 or IPv6",
                ))
            }
        },
    };
    let bad = || {
        usage(
            format!(
                "{source}: {:?} is not an http:// URL of a host and optional port",
                crate::report::truncate_for_display(&url, 200)
            ),
            "write it as http://169.254.169.254 or http://[fd00:ec2::254] (or http://HOST:PORT)",
        )
    };
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(bad());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse::<u16>().map_err(|_| bad())?,
            None if after.is_empty() => 80,
            None => return Err(bad()),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| bad())?),
            None => (authority.to_string(), 80),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Endpoint { host, port, url: url.trim_end_matches('/').to_string(), source })
}

/// The node's role as the metadata service gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRole {
    /// `arn:P:iam::A:role/NAME` (no path: the name is what IMDS lists, and the path is not part of
    /// the caller's canonical ARN either).
    pub role_arn: String,
    /// The instance profile's ARN (`iam/info`).
    pub instance_profile_arn: String,
}

fn host_header(ep: &Endpoint) -> String {
    let h = if ep.host.contains(':') { format!("[{}]", ep.host) } else { ep.host.clone() };
    if ep.port == 80 {
        h
    } else {
        format!("{h}:{}", ep.port)
    }
}

/// One HTTP/1.1 exchange within [`REQUEST_TIMEOUT`]: the status and the body (at most
/// [`MAX_BODY`] bytes). Transport failures are the network codes; `Err(None)` is a timeout,
/// for the caller to explain.
async fn exchange(
    ep: &Endpoint,
    method: hyper::Method,
    path: &str,
    headers: &[(&str, &str)],
    stage: ImdsStage,
) -> Result<(u16, String), Option<Failure>> {
    let url = format!("{}{path}", ep.url);
    let run = async {
        let stream = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port)).await.map_err(|e| {
            let code = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => Code::ConnectionRefused,
                _ => Code::NoRoute,
            };
            Some(
                Failure::new(
                    code,
                    stage,
                    format!("connecting to the instance metadata service at {} failed: {e}", ep.url),
                )
                .cause(format!("this is not an EC2 instance, or the endpoint ({}) is wrong", ep.source))
                .fix("run on the node, set AWS_EC2_METADATA_SERVICE_ENDPOINT, or pass --node-role-arn"),
            )
        })?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| {
                Some(
                    Failure::new(Code::InputUnreadable, stage, format!("HTTP to {url} failed: {e}"))
                        .cause("something other than IMDS answers at this address")
                        .fix("check AWS_EC2_METADATA_SERVICE_ENDPOINT, or pass --node-role-arn"),
                )
            })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, host_header(ep))
            .header(hyper::header::USER_AGENT, concat!("joinkit/", env!("CARGO_PKG_VERSION")));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Empty::<Bytes>::new()).expect("static request parts are valid");
        let resp = sender.send_request(req).await.map_err(|e| {
            Some(
                Failure::new(
                    Code::InputUnreadable,
                    stage,
                    format!("the instance metadata service at {} closed the exchange: {e}", ep.url),
                )
                .cause("something other than IMDS answers at this address")
                .fix("check AWS_EC2_METADATA_SERVICE_ENDPOINT, or pass --node-role-arn"),
            )
        })?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_BODY).collect().await.map_err(|e| {
            Some(Failure::new(Code::InputUnreadable, stage, format!("reading the answer from {url} failed: {e}")).cause(
                format!("the connection broke mid-answer, or the answer is larger than {MAX_BODY} bytes (IMDS answers are a few hundred)"),
            ).fix("retry; check AWS_EC2_METADATA_SERVICE_ENDPOINT, or pass --node-role-arn"))
        })?;
        Ok((status, String::from_utf8_lossy(&body.to_bytes()).into_owned()))
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, run).await {
        Ok(r) => r,
        Err(_) => Err(None),
    }
}

fn http_failure(stage: ImdsStage, what: &str, status: u16) -> Failure {
    let (cause, fix) = match status {
        401 => ("the session token was refused (expired, or not IMDS's)", "retry; if it persists, the endpoint is not IMDS"),
        403 => (
            "the instance metadata service is turned off for this instance (HttpEndpoint disabled) or refuses this caller",
            "aws ec2 modify-instance-metadata-options --instance-id ID --http-endpoint enabled, or pass --node-role-arn",
        ),
        _ => ("an unexpected answer from the instance metadata service", "retry, or pass --node-role-arn"),
    };
    Failure::new(Code::InputUnreadable, stage, format!("{what}: HTTP {status}")).cause(cause).fix(fix)
}

/// The IMDSv2 session token (`PUT /latest/api/token`); the errors of [`node_role`]'s first step.
async fn session_token(ep: &Endpoint) -> Result<String, Failure> {
    let ttl = TOKEN_TTL_SECONDS.to_string();
    match exchange(ep, hyper::Method::PUT, "/latest/api/token", &[("X-aws-ec2-metadata-token-ttl-seconds", &ttl)], ImdsStage::Token).await {
        Ok((200, body)) if !body.trim().is_empty() && body.len() <= 1024 => Ok(body.trim().to_string()),
        Ok((200, _)) => {
            Err(Failure::new(Code::InputUnreadable, ImdsStage::Token, "the IMDSv2 token answer is empty or not a token (expected a token of at most 1 KiB)".to_string())
                .cause("something other than IMDS answers at this address")
                .fix("check AWS_EC2_METADATA_SERVICE_ENDPOINT, or pass --node-role-arn"))
        }
        Ok((status, _)) => Err(http_failure(ImdsStage::Token, "the IMDSv2 token request was refused", status)),
        Err(Some(f)) => Err(f),
        Err(None) => {
            Err(Failure::new(
                Code::RequestTimeout,
                ImdsStage::Token,
                format!("no answer to the IMDSv2 token request (PUT {}/latest/api/token) within {}s", ep.url, REQUEST_TIMEOUT.as_secs()),
            )
            .cause("the instance's metadata hop limit (HttpPutResponseHopLimit, 1 by default on some launch templates) is lower than the hops to this process: the answer's IP TTL runs out in a container or network namespace; joinkit does not fall back to IMDSv1")
            .fix("run on the host, or raise the limit: aws ec2 modify-instance-metadata-options --instance-id ID --http-put-response-hop-limit 2; or pass --node-role-arn"))
        }
    }
}

/// The instance's region (`GET /latest/meta-data/placement/region`, token first), e.g.
/// `us-west-2`; the errors of [`node_role`] (an answer that is not a region name is
/// `input-unreadable`).
pub async fn region(ep: &Endpoint) -> Result<String, Failure> {
    let token = session_token(ep).await?;
    let path = "/latest/meta-data/placement/region";
    match exchange(ep, hyper::Method::GET, path, &[("X-aws-ec2-metadata-token", token.as_str())], ImdsStage::Role).await
    {
        Ok((200, body)) => {
            let r = body.trim();
            if !r.is_empty()
                && r.len() <= 40
                && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                Ok(r.to_string())
            } else {
                Err(Failure::new(
                    Code::InputUnreadable,
                    ImdsStage::Role,
                    "placement/region is not a region name".to_string(),
                )
                .cause("something other than IMDS answers at this address")
                .fix("check AWS_EC2_METADATA_SERVICE_ENDPOINT"))
            }
        }
        Ok((status, _)) => Err(http_failure(ImdsStage::Role, "GET placement/region", status)),
        Err(Some(f)) => Err(f),
        Err(None) => Err(Failure::new(
            Code::RequestTimeout,
            ImdsStage::Role,
            format!("no answer to GET {}{path} within {}s", ep.url, REQUEST_TIMEOUT.as_secs()),
        )
        .fix("retry")),
    }
}

/// Reads the node's role: the IMDSv2 token first, then the instance profile and its role.
/// Errors: `usage` never (see [`endpoint_from`]); the network codes when nothing answers;
/// `request-timeout` when the token PUT gets no answer (the hop limit, explained) or a read
/// does not; `input-unreadable` for an HTTP error or an answer that is not what IMDS sends
/// (no instance profile attached: 404).
pub async fn node_role(ep: &Endpoint) -> Result<NodeRole, Failure> {
    let token = session_token(ep).await?;
    let auth = [("X-aws-ec2-metadata-token", token.as_str())];
    let get = |path: &'static str| async move {
        match exchange(ep, hyper::Method::GET, path, &auth, ImdsStage::Role).await {
            Ok(r) => Ok(r),
            Err(Some(f)) => Err(f),
            Err(None) => Err(Failure::new(
                Code::RequestTimeout,
                ImdsStage::Role,
                format!("no answer to GET {}{path} within {}s", ep.url, REQUEST_TIMEOUT.as_secs()),
            )
            .fix("retry, or pass --node-role-arn")),
        }
    };
    let info = match get("/latest/meta-data/iam/info").await? {
        (200, body) => body,
        (404, _) => {
            return Err(Failure::new(Code::InputUnreadable, ImdsStage::Role, "the instance has no IAM instance profile (iam/info: 404)".to_string())
                .cause("without an instance profile the node has no IAM role, so it cannot authenticate to EKS at all")
                .fix("attach an instance profile holding the node role (aws ec2 associate-iam-instance-profile), or launch the node group with one"))
        }
        (status, _) => return Err(http_failure(ImdsStage::Role, "GET iam/info", status)),
    };
    let profile = serde_json::from_str::<serde_json::Value>(&info)
        .ok()
        .and_then(|v| v.get("InstanceProfileArn").and_then(|a| a.as_str()).map(str::to_string))
        .ok_or_else(|| {
            Failure::new(
                Code::InputUnreadable,
                ImdsStage::Role,
                "iam/info is not IMDS's JSON with InstanceProfileArn".to_string(),
            )
            .cause("something other than IMDS answers at this address")
            .fix("check AWS_EC2_METADATA_SERVICE_ENDPOINT, or pass --node-role-arn")
        })?;
    let parts: Vec<&str> = profile.splitn(6, ':').collect();
    let (partition, account) = match parts.as_slice() {
        ["arn", p, "iam", "", a, r] if r.starts_with("instance-profile/") => (*p, *a),
        _ => {
            return Err(Failure::new(
                Code::InputUnreadable,
                ImdsStage::Role,
                format!(
                    "iam/info's InstanceProfileArn {:?} is not an instance profile ARN",
                    crate::report::truncate_for_display(&profile, 200)
                ),
            )
            .cause("something other than IMDS answers at this address")
            .fix("check AWS_EC2_METADATA_SERVICE_ENDPOINT, or pass --node-role-arn"))
        }
    };
    let name = match get("/latest/meta-data/iam/security-credentials/").await? {
        (200, body) => body.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string),
        (404, _) => None,
        (status, _) => return Err(http_failure(ImdsStage::Role, "GET iam/security-credentials/", status)),
    };
    let name =
        name.filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))).ok_or_else(|| {
            Failure::new(
                Code::InputUnreadable,
                ImdsStage::Role,
                format!("the instance profile {profile} lists no role"),
            )
            .cause("an instance profile without a role gives the instance no credentials")
            .fix("add the node role to the instance profile: aws iam add-role-to-instance-profile")
        })?;
    Ok(NodeRole { role_arn: format!("arn:{partition}:iam::{account}:role/{name}"), instance_profile_arn: profile })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_endpoint_is_chosen_as_the_sdks_choose_it() {
        let e = endpoint_from(env(&[])).unwrap();
        assert_eq!((e.host.as_str(), e.port, e.url.as_str()), ("169.254.169.254", 80, DEFAULT_IPV4));
        let e = endpoint_from(env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")])).unwrap();
        assert_eq!((e.host.as_str(), host_header(&e).as_str()), ("fd00:ec2::254", "[fd00:ec2::254]"));
        // The endpoint wins over the mode.
        let e = endpoint_from(env(&[
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8111/"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"),
        ]))
        .unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.url.as_str(), host_header(&e).as_str()),
            ("127.0.0.1", 8111, "http://127.0.0.1:8111", "127.0.0.1:8111")
        );
        let e = endpoint_from(env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://[::1]:9")])).unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 9));
        for bad in
            ["https://169.254.169.254", "169.254.169.254", "http://", "http://h:x", "http://h/path", "http://[::1"]
        {
            let f = endpoint_from(env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", bad)])).unwrap_err();
            assert_eq!(f.code, Code::Usage, "{bad}");
        }
        assert_eq!(
            endpoint_from(env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv5")])).unwrap_err().code,
            Code::Usage
        );
        assert_eq!(endpoint_from(env(&[("AWS_EC2_METADATA_DISABLED", "TRUE")])).unwrap_err().code, Code::Usage);
        assert!(endpoint_from(env(&[("AWS_EC2_METADATA_DISABLED", "false")])).is_ok());
    }
}
