//! diagnose's network checks: does the endpoint's name resolve, and do the node's routing
//! tables (`/proc/net/route`, `/proc/net/ipv6_route` under `--root`) route to it (seed 004: "no
//! route and no default route").

use super::local::{NodeFs, PROC_TABLE_LIMIT};
use super::node::{add, fail, Check, DiagnoseOptions, Found};
use crate::error::Code;
use crate::report::{Report, Status};
use std::net::IpAddr;
use std::time::Duration;

/// /proc/net/route prints addresses in host (little-endian) byte order.
fn hex_le_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 16).ok().map(u32::swap_bytes)
}

/// Why [`route_to`] found no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The table was read and has no route to the address: a finding.
    NoRoute(String),
    /// The table could not be read (missing, not a regular file, too large): no finding.
    Unreadable(String),
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteError::NoRoute(s) | RouteError::Unreadable(s) => f.write_str(s),
        }
    }
}

/// Whether the routing tables under `root` have a route to `ip` (seed 004's failure is "no
/// route and no default route"). Loopback always routes. The tables are read bounded
/// ([`PROC_TABLE_LIMIT`], regular files only) and inside the root ([`crate::fsutil::Root`]).
pub fn route_to(root: &crate::fsutil::Root, ip: IpAddr) -> Result<String, RouteError> {
    route_in(&NodeFs::of(root.clone()), ip)
}

pub(super) fn route_in(fs: &NodeFs, ip: IpAddr) -> Result<String, RouteError> {
    if ip.is_loopback() {
        return Ok(format!("{ip} is loopback"));
    }
    match ip {
        IpAddr::V4(v4) => {
            let text = fs.read("/proc/net/route", PROC_TABLE_LIMIT).map_err(|e| RouteError::Unreadable(e.reason()))?;
            let addr = u32::from(v4);
            let mut best: Option<(u32, String, bool)> = None;
            for l in text.lines().skip(1) {
                let c: Vec<&str> = l.split_whitespace().collect();
                if c.len() < 8 {
                    continue;
                }
                let (Some(dest), Some(mask)) = (hex_le_u32(c[1]), hex_le_u32(c[7])) else { continue };
                if addr & mask == dest & mask && best.as_ref().is_none_or(|b| mask.count_ones() > b.0.count_ones()) {
                    best = Some((mask, c[0].to_string(), mask == 0));
                }
            }
            match best {
                Some((_, iface, true)) => Ok(format!("{ip} via the default route on {iface}")),
                Some((mask, iface, false)) => Ok(format!("{ip} via {iface} (/{})", mask.count_ones())),
                None => Err(RouteError::NoRoute(format!("no route to {ip} and no default route in /proc/net/route"))),
            }
        }
        IpAddr::V6(v6) => {
            let text =
                fs.read("/proc/net/ipv6_route", PROC_TABLE_LIMIT).map_err(|e| RouteError::Unreadable(e.reason()))?;
            let addr = u128::from(v6);
            for l in text.lines() {
                let c: Vec<&str> = l.split_whitespace().collect();
                if c.len() < 10 {
                    continue;
                }
                let (Ok(dest), Ok(plen)) = (u128::from_str_radix(c[0], 16), u32::from_str_radix(c[1], 16)) else {
                    continue;
                };
                let mask = if plen == 0 { 0 } else { u128::MAX << (128 - plen.min(128)) };
                if addr & mask == dest & mask && c[9] != "lo" {
                    return Ok(format!("{ip} via {} (/{plen})", c[9]));
                }
            }
            Err(RouteError::NoRoute(format!("no route to {ip} and no default route in /proc/net/ipv6_route")))
        }
    }
}

/// The IPv4 default route in `/proc/net/route` under the root (destination and mask
/// `00000000`): `Ok(Some("via GATEWAY on IFACE"))`, `Ok(None)` when the table has none, and
/// [`RouteError::Unreadable`] when the table cannot be read.
pub(super) fn default_route(fs: &NodeFs) -> Result<Option<String>, RouteError> {
    let text = fs.read("/proc/net/route", PROC_TABLE_LIMIT).map_err(|e| RouteError::Unreadable(e.reason()))?;
    Ok(text.lines().skip(1).find_map(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        (c.len() >= 8 && hex_le_u32(c[1]) == Some(0) && hex_le_u32(c[7]) == Some(0)).then(|| {
            let gw = hex_le_u32(c[2]).map(std::net::Ipv4Addr::from).map(|g| g.to_string()).unwrap_or_default();
            format!("via {gw} on {}", c[0])
        })
    }))
}

pub(super) async fn network_checks(report: &mut Report, found: &mut Vec<Found>, opts: &DiagnoseOptions, fs: &NodeFs) {
    let crate::discovery::Source::Endpoint(ep) = &opts.bootstrap.discovery.source else { return };
    let addrs: Vec<IpAddr> = match ep.ip() {
        Some(ip) => vec![ip],
        None => {
            match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((ep.host.as_str(), ep.port)))
                .await
            {
                Ok(Ok(it)) => {
                    let v: Vec<IpAddr> = it.map(|a| a.ip()).collect();
                    add(report, found, Check::LocalDns, Status::Pass, format!("{} -> {v:?}", ep.host), None);
                    v
                }
                other => {
                    let e = match other {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".into(),
                    };
                    let d = format!("{} does not resolve: {e}", ep.host);
                    add(
                        report,
                        found,
                        Check::LocalDns,
                        Status::Fail,
                        d.clone(),
                        fail(
                            Code::RootCauseDns,
                            d,
                            "the name is not in DNS or this node's resolver cannot reach a DNS server",
                            "check /etc/resolv.conf and `getent hosts NAME`; or join through the control plane's IP",
                        ),
                    );
                    return;
                }
            }
        }
    };
    for ip in addrs.iter().take(1) {
        match route_in(fs, *ip) {
            Ok(d) => add(report, found, Check::LocalRoute, Status::Pass, d, None),
            Err(RouteError::Unreadable(d)) => add(
                report,
                found,
                Check::LocalRoute,
                Status::Warn,
                format!("{d}: the route to {ip} is not checked"),
                None,
            ),
            Err(RouteError::NoRoute(d)) => add(report, found, Check::LocalRoute, Status::Fail, d.clone(), fail(Code::RootCauseNetwork, d, "the node's subnet has no route towards the control plane (no default route: a missing route table entry, NAT gateway or internet gateway)", "add the route (cloud: the subnet's route table with a NAT gateway); check with `ip route get ADDRESS`")),
        }
    }
}
