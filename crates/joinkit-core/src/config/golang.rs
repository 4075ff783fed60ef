//! The Go standard-library and apimachinery behaviours kubeadm's configuration checks rest on,
//! reproduced with their error texts: `net.SplitHostPort`, `net.ParseIP` (as
//! `k8s.io/utils/net.ParseIPSloppy`: IPv4 parts may have leading zeros), `net/url.Parse`'s
//! errors, `time.ParseDuration` (in [`crate::duration::parse_go`]), RFC 3339 times as
//! `metav1.Time` reads them, DNS-1123 subdomains (`k8s.io/apimachinery/pkg/util/validation`) and
//! the node name kubeadm derives from the host name (`k8s.io/component-helpers/node/util.GetHostname`).

use std::net::{IpAddr, Ipv4Addr};

/// Go's `net.SplitHostPort` error for `addr`, if any (as `address ADDR: REASON`).
pub(crate) fn split_host_port_error(addr: &str) -> Option<String> {
    let err = |why: &str| Some(format!("address {addr}: {why}"));
    if let Some(rest) = addr.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return err("missing ']' in address");
        };
        let after = &rest[end + 1..];
        if after.is_empty() {
            return err("missing port in address");
        }
        if !after.starts_with(':') {
            return err("missing port in address");
        }
        if after[1..].contains(':') {
            return err("too many colons in address");
        }
        if rest[..end].contains('[') {
            return err("unexpected '[' in address");
        }
        return None;
    }
    match addr.matches(':').count() {
        0 => err("missing port in address"),
        1 if addr.contains(']') => err("unexpected ']' in address"),
        1 => None,
        _ => err("too many colons in address"),
    }
}

/// `(host, port)` of `net.SplitHostPort`, when it succeeds.
pub(crate) fn split_host_port(addr: &str) -> Option<(&str, &str)> {
    if split_host_port_error(addr).is_some() {
        return None;
    }
    if let Some(rest) = addr.strip_prefix('[') {
        let end = rest.find(']')?;
        return Some((&rest[..end], &rest[end + 2..]));
    }
    addr.split_once(':')
}

/// `ParseIPSloppy`: dotted IPv4 with parts of 1 to 3 decimal digits (leading zeros read as
/// decimal) or IPv6 (no zone).
pub(crate) fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        b[i] = p.parse::<u16>().ok().filter(|v| *v <= 255)? as u8;
    }
    Some(IpAddr::V4(Ipv4Addr::from(b)))
}

/// kubeadm's `ParsePort`: a decimal number from 1 to 65535.
pub(crate) fn valid_port(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
}

/// DNS-1123 subdomain (node names, SANs): kubeadm's message when it does not match.
pub(crate) fn dns1123_subdomain_error(name: &str) -> Option<String> {
    const MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    if name.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    let ok = !name.is_empty()
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    (!ok).then(|| MSG.to_string())
}

/// What `net/url.Parse` makes of a string: its scheme (lowercased; empty when none), or Go's
/// error (`parse "RAW": REASON`). The checks kubeadm's callers can hit: control characters,
/// `missing protocol scheme`, a colon in the first path segment, the host's brackets and port,
/// and `%` escapes.
pub(crate) fn url_scheme(raw: &str) -> Result<String, String> {
    let err = |why: String| Err(format!("parse {raw:?}: {why}"));
    let (u, fragment) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    if let Some(f) = fragment {
        if let Some(e) = unescape_error(f) {
            return err(e);
        }
    }
    if u.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return err("net/url: invalid control character in URL".into());
    }
    if u.is_empty() {
        return Ok(String::new());
    }
    let mut scheme = String::new();
    let mut rest = u;
    for (i, c) in u.bytes().enumerate() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.') {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == b':' {
            if i == 0 {
                return err("missing protocol scheme".into());
            }
            scheme = u[..i].to_ascii_lowercase();
            rest = &u[i + 1..];
        }
        break;
    }
    let rest = match rest.split_once('?') {
        Some((r, _)) => r,
        None => rest,
    };
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            return Ok(scheme); // opaque
        }
        let first = rest.split('/').next().unwrap_or("");
        if first.contains(':') {
            return err("first path segment in URL cannot contain colon".into());
        }
    }
    let mut path = rest;
    if rest.starts_with("//") && (!scheme.is_empty() || !rest.starts_with("///")) {
        let after = &rest[2..];
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        path = &after[end..];
        let host = match authority.rfind('@') {
            Some(i) => &authority[i + 1..],
            None => authority,
        };
        if let Some(e) = host_error(host) {
            return err(e);
        }
    }
    if let Some(e) = unescape_error(path) {
        return err(e);
    }
    Ok(scheme)
}

fn host_error(host: &str) -> Option<String> {
    let port_ok = |p: &str| p.is_empty() || (p.starts_with(':') && p[1..].bytes().all(|b| b.is_ascii_digit()));
    if let Some(rest) = host.strip_prefix('[') {
        let Some(end) = rest.find(']') else { return Some("missing ']' in host".into()) };
        let port = &rest[end + 1..];
        if !port_ok(port) {
            return Some(format!("invalid port {port:?} after host"));
        }
        return None;
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !port_ok(port) {
            return Some(format!("invalid port {port:?} after host"));
        }
    }
    unescape_error(host)
}

/// Go's `invalid URL escape "%zz"` for the first malformed `%` escape.
fn unescape_error(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                let end = (i + 3).min(b.len());
                let seq = String::from_utf8_lossy(&b[i..end]).into_owned();
                return Some(format!("invalid URL escape {seq:?}"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

/// The error of `metav1.Time`'s reading of `s` (Go's `time.Parse(time.RFC3339, s)`), if any.
pub(crate) fn rfc3339_error(s: &str) -> Option<String> {
    let bad = || Some(format!("parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse it as RFC 3339"));
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let p = b.get(r)?;
        p.iter().all(u8::is_ascii_digit).then(|| p.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return bad();
    }
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) =
        (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16), num(17..19))
    else {
        return bad();
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d == 0 || d > days[mo as usize - 1] || h > 23 || mi > 59 || sec > 59 {
        return Some(format!("parsing time {s:?}: a field is out of range"));
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return bad();
        }
        rest = &r[n..];
    }
    match rest.as_bytes() {
        [b'Z'] => None,
        [sign, h1, h2, b':', m1, m2]
            if matches!(sign, b'+' | b'-') && [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let (oh, om) =
                (u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0'), u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0'));
            (oh > 23 || om > 59).then(|| format!("parsing time {s:?}: time zone offset out of range"))
        }
        _ => bad(),
    }
}

/// The host name as kubeadm reads it when no node name is given (`os.Hostname`: on Linux
/// `/proc/sys/kernel/hostname`, else `uname`), or None when it cannot be read here.
pub(crate) fn machine_hostname() -> Option<String> {
    if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        return Some(s.trim_end_matches('\n').to_string());
    }
    // SAFETY: `uname` fills the zeroed struct it is given; nodename is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) == 0 {
            let c = std::ffi::CStr::from_ptr(u.nodename.as_ptr());
            return Some(c.to_string_lossy().into_owned());
        }
    }
    None
}

/// Whether this machine's loopback interface `lo` has a global unicast address, as
/// `ChooseBindAddressForInterface("lo")` (`k8s.io/apimachinery/pkg/util/net`) looks for one
/// when kubeadm is given a loopback advertise address; None when the interfaces cannot be read.
pub(crate) fn loopback_has_global_unicast() -> Option<bool> {
    let mut found = false;
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list freed below with freeifaddrs; each entry's name is a
    // NUL-terminated string and its address, when not null, a sockaddr of the stated family.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return None;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name).to_string_lossy();
            if name == "lo" && !ifa.ifa_addr.is_null() {
                let ip: Option<IpAddr> = match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))))
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        Some(IpAddr::V6(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
                    }
                    _ => None,
                };
                if ip.is_some_and(is_global_unicast) {
                    found = true;
                }
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    Some(found)
}

/// Go's `net.IP.IsGlobalUnicast`.
fn is_global_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified() || v4.is_loopback() || v4.is_multicast() || v4.is_link_local() || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_unspecified() || v6.is_loopback() || v6.is_multicast() || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_parsers() {
        assert_eq!(parse_ip_sloppy("010.0.0.1"), Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert!(parse_ip_sloppy("10.0.0.256").is_none() && parse_ip_sloppy("fe80::1%eth0").is_none());
        assert_eq!(url_scheme("https://example.com/x").as_deref(), Ok("https"));
        assert_eq!(url_scheme("/etc/kubernetes/discovery.conf").as_deref(), Ok(""));
        assert_eq!(
            url_scheme("unix:///run/%zz.sock").unwrap_err(),
            "parse \"unix:///run/%zz.sock\": invalid URL escape \"%zz\""
        );
        assert!(url_scheme("10.0.0.1:6443").unwrap_err().contains("first path segment"));
        assert!(url_scheme(":x").unwrap_err().contains("missing protocol scheme"));
        assert!(url_scheme("https://h:abc/").unwrap_err().contains("invalid port"));
        assert!(rfc3339_error("2024-01-01T00:00:00Z").is_none());
        assert!(rfc3339_error("2024-02-30T00:00:00Z").is_some());
        assert!(rfc3339_error("2024-01-01").is_some());
        assert!(rfc3339_error("2024-01-01T00:00:00.5+01:00").is_none());
        assert_eq!(split_host_port("[fd00::1]:6443"), Some(("fd00::1", "6443")));
        assert!(valid_port("6443") && !valid_port("0") && !valid_port("65536"));
    }
}
