//! Times in filters as dockerd reads them (`GetTimestamp`): a Go duration before now (`10m`,
//! `1h30m`, `1.5h`), Unix seconds with an optional fraction (`1700000000.5`), or an RFC 3339
//! date or date-time (`2024-01-02`, `2024-01-02T15:04:05`, with or without a zone; UTC
//! when none is given). All in nanoseconds since the epoch.

use berth_engine::clock::parse_rfc3339_nanos;

const NANOS: i128 = 1_000_000_000;

/// `value` in nanoseconds since the epoch; `None` if it is none of the forms above.
pub fn parse(value: &str, now_nanos: i128) -> Option<i128> {
    if let Some(d) = go_duration(value) {
        return Some(now_nanos - d);
    }
    if let Some(t) = unix(value) {
        return Some(t);
    }
    let with_zone = match value.len() {
        10 => format!("{value}T00:00:00Z"),
        19 => format!("{value}Z"),
        _ => value.to_owned(),
    };
    parse_rfc3339_nanos(&with_zone)
}

/// `SECONDS[.FRACTION]`.
fn unix(v: &str) -> Option<i128> {
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || !(frac.is_empty() || digits(frac)) || frac.len() > 9 {
        return None;
    }
    let nanos: i128 = format!("{frac:0<9}").parse().ok()?;
    Some(secs.parse::<i128>().ok()? * NANOS + nanos)
}

/// A Go `time.ParseDuration` string (`h`, `m`, `s`, `ms`, `us`, `ns` units, fractions allowed).
fn go_duration(v: &str) -> Option<i128> {
    if v.is_empty() || v == "0" {
        return (v == "0").then_some(0);
    }
    let mut rest = v;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600e9,
            "m" => 60e9,
            "s" => 1e9,
            "ms" => 1e6,
            "us" | "µs" => 1e3,
            "ns" => 1.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    Some(total as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_unix_times_and_dates_parse_as_dockerd() {
        let now = 1_000_000 * NANOS;
        assert_eq!(parse("10m", now), Some(now - 600 * NANOS));
        assert_eq!(parse("1h30m", now), Some(now - 5400 * NANOS));
        assert_eq!(parse("1.5h", now), Some(now - 5400 * NANOS));
        assert_eq!(parse("1700000000", now), Some(1_700_000_000 * NANOS));
        assert_eq!(parse("12.5", now), Some(12 * NANOS + NANOS / 2));
        assert_eq!(parse("1970-01-02", now), Some(86_400 * NANOS));
        assert_eq!(parse("1970-01-01T00:01:00", now), Some(60 * NANOS));
        assert_eq!(parse("1970-01-01T00:01:00+00:01", now), Some(0));
        assert_eq!(parse("soon", now), None);
        assert_eq!(parse("10x", now), None);
        assert_eq!(parse("", now), None);
    }
}
