//! Go-style durations (`300ms`, `5s`, `1m30s`, `24h0m0s`, `1.5h`), as kubeadm's flags and
//! config files take them (Go `time.ParseDuration`: a sequence of decimal numbers, each with an
//! optional fraction and a unit `ns us µs ms s m h`; `0` alone is allowed; an optional sign).
//! Negative durations are rejected here: no joinkit setting takes one. Also the RFC 3339 UTC
//! timestamps the API uses (`2026-11-21T09:00:38Z`).

use std::time::Duration;

/// Parses a Go duration. Errors with a message naming the bad value.
pub fn parse(s: &str) -> Result<Duration, String> {
    let orig = s;
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err(format!("invalid duration {orig:?}: must not be negative"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(format!("invalid duration {orig:?}"));
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(format!("invalid duration {orig:?}"));
        }
        let value: f64 = num.parse().map_err(|_| format!("invalid duration {orig:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let nanos_per = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("invalid duration {orig:?}: missing unit in duration")),
            u => return Err(format!("invalid duration {orig:?}: unknown unit {u:?}")),
        };
        total += value * nanos_per;
        rest = &rest[unit_len..];
    }
    if total > (i64::MAX as f64) {
        return Err(format!("invalid duration {orig:?}: too large"));
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

/// Formats a duration the way Go prints it (`1m30s`, `24h0m0s`, `500ms`, `0s`).
pub fn format(d: Duration) -> String {
    let total_ns = d.as_nanos();
    if total_ns == 0 {
        return "0s".into();
    }
    if total_ns < 1_000_000_000 {
        return if total_ns.is_multiple_of(1_000_000) {
            format!("{}ms", total_ns / 1_000_000)
        } else if total_ns.is_multiple_of(1_000) {
            format!("{}µs", total_ns / 1_000)
        } else {
            format!("{total_ns}ns")
        };
    }
    let secs = d.as_secs();
    let frac = d.subsec_nanos();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let sec = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{:09}", frac);
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{h}h{m}m{sec}")
    } else if m > 0 {
        format!("{m}m{sec}")
    } else {
        sec
    }
}

/// The current time as RFC 3339 UTC with seconds (`2026-11-21T09:00:38Z`), as the API prints it.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// RFC 3339 UTC, seconds precision.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A clap value parser for Go durations.
pub fn clap_parse(s: &str) -> Result<Duration, String> {
    parse(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("24h0m0s").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("300ms").unwrap(), Duration::from_millis(300));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "5x", "-1s", "1..5s", "s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(format(Duration::from_secs(86400)), "24h0m0s");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_millis(300)), "300ms");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
    }
}
