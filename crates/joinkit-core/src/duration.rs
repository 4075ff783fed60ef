//! Go-style durations (`300ms`, `5s`, `1m30s`, `24h0m0s`, `1.5h`), as kubeadm's flags and
//! config files take them (Go `time.ParseDuration`: a sequence of decimal numbers, each with an
//! optional fraction and a unit `ns us µs ms s m h`; `0` alone is allowed; an optional sign).
//! Negative durations are rejected here: no joinkit setting takes one. Also the RFC 3339 UTC
//! timestamps the API uses (`2026-11-21T09:00:38Z`).

use std::time::Duration;

/// Parses a Go duration for a joinkit setting: surrounding white space is trimmed and a
/// negative duration is refused; otherwise [`parse_go`]'s rules and messages.
pub fn parse(s: &str) -> Result<Duration, String> {
    let nanos = parse_go(s.trim())?;
    if nanos < 0 {
        return Err(format!("invalid duration {s:?}: must not be negative"));
    }
    Ok(Duration::from_nanos(nanos.unsigned_abs()))
}

/// Go's `time.ParseDuration`, exactly (`[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, `0` alone, at most
/// 2^63-1 ns): the signed number of nanoseconds, or Go's error text (`time: invalid duration
/// "5"`, `time: missing unit in duration "5"`, `time: unknown unit "q" in duration "5q"`). This
/// is how kubeadm's `metav1.Duration` fields read their strings. No white space is trimmed.
pub fn parse_go(s: &str) -> Result<i64, String> {
    let quote = |v: &str| format!("{v:?}");
    let invalid = || format!("time: invalid duration {}", quote(s));
    let mut rest = s.as_bytes();
    let mut neg = false;
    if let Some((&c, r)) = rest.split_first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            rest = r;
        }
    }
    if rest == b"0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !rest.is_empty() {
        if !(rest[0] == b'.' || rest[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // leadingInt
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &b in &rest[..n] {
            if v > (1u64 << 63) / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(b - b'0');
            if v > 1u64 << 63 {
                return Err(invalid());
            }
        }
        let pre = n > 0;
        rest = &rest[n..];
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if rest.first() == Some(&b'.') {
            rest = &rest[1..];
            let m = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let mut overflow = false;
            for &b in &rest[..m] {
                if overflow {
                    continue;
                }
                if f > ((1u64 << 63) - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(b - b'0');
                if y > 1u64 << 63 {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = m > 0;
            rest = &rest[m..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let i = rest.iter().position(|b| *b == b'.' || b.is_ascii_digit()).unwrap_or(rest.len());
        if i == 0 {
            return Err(format!("time: missing unit in duration {}", quote(s)));
        }
        let unit_text = String::from_utf8_lossy(&rest[..i]).into_owned();
        rest = &rest[i..];
        let unit: u64 = match unit_text.as_str() {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {} in duration {}", quote(&unit_text), quote(s))),
        };
        if v > (1u64 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > 1u64 << 63 {
                return Err(invalid());
            }
        }
        d += v;
        if d > 1u64 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i128).wrapping_neg() as i64);
    }
    if d > (1u64 << 63) - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
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
        // Go's own texts and limits.
        assert_eq!(parse_go("-5m"), Ok(-300_000_000_000));
        assert_eq!(parse_go("5"), Err("time: missing unit in duration \"5\"".into()));
        assert_eq!(parse_go("5q"), Err("time: unknown unit \"q\" in duration \"5q\"".into()));
        assert_eq!(parse_go(""), Err("time: invalid duration \"\"".into()));
        assert_eq!(parse_go(" 5s"), Err("time: invalid duration \" 5s\"".into()));
        assert_eq!(parse_go("5.s"), Ok(5_000_000_000));
        assert_eq!(parse_go("1.5\u{b5}s"), Ok(1_500));
        assert!(parse_go("9223372036854775807ns").is_ok() && parse_go("9223372036854775808ns").is_err());
        assert_eq!(parse_go("-9223372036854775808ns"), Ok(i64::MIN));
        assert_eq!(format(Duration::from_secs(86400)), "24h0m0s");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_millis(300)), "300ms");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
    }
}
