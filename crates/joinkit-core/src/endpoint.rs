//! API server endpoints, one parser for every command (kubeadm's `apiServerEndpoint`, spec section
//! 2.1; kubeadm#3101 for IPv6): `host:port`, `[v6]:port` and `https://host:port` (people paste the
//! server URL) are accepted; `http://` and other schemes, paths, queries, fragments, user info
//! and a missing port are refused with a `bad-endpoint` failure that says which. The
//! [`Display`](std::fmt::Display) form, `host:port` with brackets around IPv6, is what kubeadm
//! writes in JoinConfiguration's `discovery.bootstrapToken.apiServerEndpoint` (render-config
//! prints it). Server URLs (a kubeconfig's `server`, a discovery file's URL) go through the same
//! host and port rules with `Endpoint::from_server_url` and `Endpoint::split_url`
//! (default port 443, a path allowed).

use crate::error::{Code, Failure};
use crate::report::Common;
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
    /// Parses an API server endpoint as `verify-discovery`, `bootstrap`, `diagnose` and
    /// `render-config` take it: `host:port`, `[ipv6]:port`, or `https://host:port` with an
    /// optional trailing `/`. Errors with `bad-endpoint` (stage `input`), naming the problem:
    /// another scheme (`http://`), a path, query or fragment, user info, a missing or bad port, a
    /// host that is neither an IP address nor a DNS name.
    pub fn parse(s: &str) -> Result<Endpoint, Failure> {
        let bad = |why: &str| {
            Failure::new(
                Code::BadEndpoint,
                Common::Input,
                format!("expected host:port ([addr]:port for IPv6), got {s:?}: {why}"),
            )
            .cause("the API server endpoint is mistyped or lacks the port")
            .fix("pass it as kubeadm does, e.g. 10.0.0.10:6443, cp.example.com:6443 or [fd00::10]:6443")
        };
        let t = s.trim();
        let t = match t.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some(_) => {
                return Err(bad("only https:// may prefix an endpoint (the API server speaks TLS; http:// is refused)"))
            }
            None => t,
        };
        let t = t.strip_suffix('/').unwrap_or(t);
        if t.contains(['/', '?', '#']) {
            return Err(bad("an endpoint has no path, query or fragment"));
        }
        parse_authority(t, None).map_err(|why| bad(&why))
    }

    /// The host and port of an `https://host[:port][/path]` server URL (a kubeconfig's or
    /// cluster-info's `server`); the port defaults to 443 and the path is ignored. Errors describe
    /// the problem.
    pub(crate) fn from_server_url(url: &str) -> Result<Endpoint, String> {
        Self::split_url(url).map(|(ep, _)| ep)
    }

    /// Splits an `https://host[:port][/path][?query]` URL into its endpoint (port 443 by
    /// default) and the request target (`/` when there is none). Errors describe the problem:
    /// another scheme, user info, a bad host or port.
    pub(crate) fn split_url(url: &str) -> Result<(Endpoint, String), String> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| format!("{:?} is not an https:// URL", crate::redact::truncate(url, 200)))?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        let target = target.split('#').next().unwrap_or("");
        let target = match target {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        let ep = parse_authority(authority, Some(443))
            .map_err(|why| format!("expected https://host[:port] in {:?}: {why}", crate::redact::truncate(url, 200)))?;
        Ok((ep, target))
    }

    /// `host:port` as kubeadm writes `apiServerEndpoint` (brackets around IPv6): the
    /// [`Display`](std::fmt::Display) form.
    pub fn host_port(&self) -> String {
        self.to_string()
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

/// The host and port rules shared by endpoints and URLs: `host:port` or `[ipv6]:port` (the port
/// may be left out only when `default_port` is given), no user info.
pub(crate) fn parse_authority(t: &str, default_port: Option<u16>) -> Result<Endpoint, String> {
    if t.is_empty() {
        return Err("empty".into());
    }
    if t.contains('@') {
        return Err("user info (user@host) has no place in an endpoint; credentials never go in it".into());
    }
    let (host, port) = if let Some(rest) = t.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unclosed '['")?;
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("not an IPv6 address inside [ ]".into());
        }
        let port = match (after.strip_prefix(':'), default_port) {
            (Some(p), _) => Some(p),
            (None, Some(_)) if after.is_empty() => None,
            _ => return Err("missing :port after ']'".into()),
        };
        (h, port)
    } else {
        match t.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err("an IPv6 address must be written in brackets, e.g. [fd00::10]:6443".into())
            }
            Some((h, p)) => (h, Some(p)),
            None if default_port.is_some() => (t, None),
            None => return Err("missing :port (the API server usually listens on 6443)".into()),
        }
    };
    if host.is_empty() {
        return Err("empty host".into());
    }
    if host.parse::<IpAddr>().is_err() && !is_dns_name(host) {
        return Err("the host is neither an IP address nor a valid DNS name".into());
    }
    let port = match port {
        None => default_port.unwrap_or(443),
        Some(p) => p.parse::<u16>().map_err(|_| "the port is not a number from 1 to 65535".to_string())?,
    };
    if port == 0 {
        return Err("port 0 is not valid".into());
    }
    Ok(Endpoint { host: host.to_string(), port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::parse("10.0.0.1:6443").unwrap().to_string(), "10.0.0.1:6443");
        let v6 = Endpoint::parse("[fd00::1]:6443").unwrap();
        assert_eq!(v6.host, "fd00::1");
        assert_eq!(v6.host_port(), "[fd00::1]:6443");
        assert_eq!(Endpoint::parse("https://cp.example.com:6443/").unwrap().host, "cp.example.com");
        assert_eq!(Endpoint::parse("https://[fd00::1]:6443").unwrap().host_port(), "[fd00::1]:6443");
        for bad in ["", "10.0.0.1", "fd00::1:6443", "[fd00::1]", "host:0", "host:70000", "bad_host:6443", "[nope]:1"] {
            assert_eq!(Endpoint::parse(bad).unwrap_err().code, Code::BadEndpoint, "{bad}");
        }
        for (bad, why) in [
            ("http://10.0.0.1:6443", "only https://"),
            ("ftp://10.0.0.1:6443", "only https://"),
            ("https://10.0.0.1:6443/api", "no path"),
            ("10.0.0.1:6443?x=1", "no path, query"),
            ("https://admin@10.0.0.1:6443", "user info"),
            ("https://10.0.0.1", "missing :port"),
        ] {
            let f = Endpoint::parse(bad).unwrap_err();
            assert_eq!((f.code, f.stage.as_str()), (Code::BadEndpoint, "input"), "{bad}");
            assert!(f.message.contains(why), "{bad}: {}", f.message);
        }
        assert_eq!(Endpoint::from_server_url("https://127.0.0.1:6443").unwrap().port, 6443);
        assert_eq!(Endpoint::from_server_url("https://cp.example.com").unwrap().port, 443);
        assert_eq!(Endpoint::from_server_url("https://[::1]:6443").unwrap().host, "::1");
        assert_eq!(Endpoint::from_server_url("https://[::1]").unwrap().port, 443);
        assert!(Endpoint::from_server_url("http://127.0.0.1:6443").is_err());
        assert!(Endpoint::from_server_url("https://u:p@127.0.0.1:6443").is_err());
        let (ep, target) = Endpoint::split_url("https://files.example.com/d/kc.yaml?v=1#frag").unwrap();
        assert_eq!((ep.to_string(), target.as_str()), ("files.example.com:443".into(), "/d/kc.yaml?v=1"));
        assert_eq!(Endpoint::split_url("https://h:8443").unwrap().1, "/");
    }
}
