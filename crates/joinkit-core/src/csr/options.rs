//! The configurable rules of the CSR checks (`--dns-regex`, `--allowed-cidr`,
//! `--max-expiration`) and the IP range type they use; the checks are in `checks.rs`. Upstream:
//! joinkit's own options; [`Cidr::contains`] is Go's `net.IPNet.Contains` (IPv4-mapped IPv6
//! addresses count as IPv4).

use std::net::IpAddr;

/// An IP range `ADDR/PREFIX` (`--allowed-cidr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8` or `fd00::/8`. Errors: the text that is wrong.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, p) = s.split_once('/').ok_or_else(|| format!("{s:?} is not ADDRESS/PREFIX"))?;
        let addr: IpAddr = a.parse().map_err(|_| format!("{a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 =
            p.parse().ok().filter(|p| *p <= max).ok_or_else(|| format!("{p:?} is not a prefix 0-{max}"))?;
        Ok(Cidr { addr, prefix })
    }

    /// True when `ip` is inside the range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let bits = |x: IpAddr| -> u128 {
            match x {
                IpAddr::V4(v) => u128::from(u32::from(v)) << 96,
                IpAddr::V6(v) => u128::from(v),
            }
        };
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let prefix = u32::from(self.prefix);
        if prefix == 0 {
            return true;
        }
        let mask = u128::MAX << (128 - prefix);
        bits(ip) & mask == bits(self.addr) & mask
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv4-mapped IPv6 address as IPv4, others unchanged.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v) => v.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The configurable rules of the checks.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// `--dns-regex`: every DNS SAN of a serving CSR must match it (anchored by the caller).
    pub dns_regex: Option<regex::Regex>,
    /// `--allowed-cidr`: every IP SAN of a serving CSR must be in one of them (none: no rule).
    pub allowed_cidrs: Vec<Cidr>,
    /// `--max-expiration` in seconds: `spec.expirationSeconds` must not exceed it.
    pub max_expiration_seconds: Option<i64>,
}

impl CheckOptions {
    /// From the flags: `--dns-regex` (matched against the whole name), `--allowed-cidr`,
    /// `--max-expiration`. A bad regex or CIDR is a `usage` failure.
    pub fn parse(
        dns_regex: Option<&str>,
        cidrs: &[String],
        max_expiration: Option<std::time::Duration>,
    ) -> Result<CheckOptions, crate::error::Failure> {
        let bad = |m: String| {
            crate::error::Failure::new(crate::error::Code::Usage, crate::report::Common::Input, m)
                .fix("see `joinkit csr --help` for the flag's syntax")
        };
        let dns_regex = match dns_regex {
            Some(r) => {
                Some(regex::Regex::new(&format!(r"\A(?:{r})\z")).map_err(|e| bad(format!("--dns-regex {r:?}: {e}")))?)
            }
            None => None,
        };
        let allowed_cidrs = cidrs
            .iter()
            .map(|c| Cidr::parse(c).map_err(|e| bad(format!("--allowed-cidr: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let max_expiration_seconds = max_expiration.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Ok(CheckOptions { dns_regex, allowed_cidrs, max_expiration_seconds })
    }
}
