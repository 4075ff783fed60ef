//! API server endpoints: `host:port`, IPv6 as `[addr]:port` (kubeadm's `apiServerEndpoint`,
//! spec section 2.1; kubeadm#3101 for IPv6).

use crate::error::{Code, Failure};
use std::net::IpAddr;

/// A parsed `host:port`. `host` holds no brackets; `is_ip` tells an address from a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port, 1-65535.
    pub port: u16,
}

impl Endpoint {
    /// Parses `host:port` or `[ipv6]:port`. A `https://` prefix and a trailing `/` are accepted
    /// (people paste the server URL). Errors with `bad-endpoint`.
    pub fn parse(s: &str) -> Result<Endpoint, Failure> {
        let bad = |why: &str| {
            Failure::new(
                Code::BadEndpoint,
                "input",
                format!("expected host:port ([addr]:port for IPv6), got {s:?}: {why}"),
            )
            .cause("the API server endpoint is mistyped or lacks the port")
            .fix("pass it as kubeadm does, e.g. 10.0.0.10:6443, cp.example.com:6443 or [fd00::10]:6443")
        };
        let t = s.trim();
        let t = t.strip_prefix("https://").unwrap_or(t);
        let t = t.strip_suffix('/').unwrap_or(t);
        if t.is_empty() {
            return Err(bad("empty"));
        }
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            let p = after.strip_prefix(':').ok_or_else(|| bad("missing :port after ']'"))?;
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("not an IPv6 address inside [ ]"));
            }
            (h.to_string(), p)
        } else {
            let (h, p) =
                t.rsplit_once(':').ok_or_else(|| bad("missing :port (the API server usually listens on 6443)"))?;
            if h.contains(':') {
                return Err(bad("an IPv6 address must be written in brackets, e.g. [fd00::10]:6443"));
            }
            (h.to_string(), p)
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        if host.parse::<IpAddr>().is_err() && !is_dns_name(&host) {
            return Err(bad("the host is neither an IP address nor a valid DNS name"));
        }
        let port: u16 = port.parse().map_err(|_| bad("the port is not a number from 1 to 65535"))?;
        if port == 0 {
            return Err(bad("port 0 is not valid"));
        }
        Ok(Endpoint { host, port })
    }

    /// The host as an IP address, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `https://host:port` (brackets around IPv6).
    pub fn url(&self) -> String {
        format!("https://{self}")
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// RFC 1123 host name: labels of [A-Za-z0-9-], not starting or ending with '-', up to 253.
fn is_dns_name(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Parses the host and port of an `https://host:port[/path]` server URL (cluster-info's
/// `server`). Errors describe the problem.
pub fn from_server_url(url: &str) -> Result<Endpoint, String> {
    let rest = url.strip_prefix("https://").ok_or_else(|| format!("server {url:?} is not an https:// URL"))?;
    let hostport = rest.split('/').next().unwrap_or("");
    let with_port = if hostport.ends_with(']')
        || !hostport.contains(':')
        || (hostport.matches(':').count() > 1 && !hostport.starts_with('['))
    {
        format!("{hostport}:443")
    } else {
        hostport.to_string()
    };
    Endpoint::parse(&with_port).map_err(|f| f.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::parse("10.0.0.1:6443").unwrap().to_string(), "10.0.0.1:6443");
        let v6 = Endpoint::parse("[fd00::1]:6443").unwrap();
        assert_eq!(v6.host, "fd00::1");
        assert_eq!(v6.to_string(), "[fd00::1]:6443");
        assert_eq!(Endpoint::parse("https://cp.example.com:6443/").unwrap().host, "cp.example.com");
        for bad in ["", "10.0.0.1", "fd00::1:6443", "[fd00::1]", "host:0", "host:70000", "bad_host:6443", "[nope]:1"] {
            assert_eq!(Endpoint::parse(bad).unwrap_err().code, Code::BadEndpoint, "{bad}");
        }
        assert_eq!(from_server_url("https://127.0.0.1:6443").unwrap().port, 6443);
        assert_eq!(from_server_url("https://cp.example.com").unwrap().port, 443);
        assert_eq!(from_server_url("https://[::1]:6443").unwrap().host, "::1");
    }
}
