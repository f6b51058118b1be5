//! Human-readable sizes, ages and times exactly as the docker CLI prints them (go-units'
//! `HumanSizeWithPrecision` and `HumanDuration`, Go's time format).

use berth_engine::clock::{format_rfc3339, parse_rfc3339};

const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// Bytes in decimal units with `precision` significant digits, like go-units
/// `HumanSizeWithPrecision` (`docker images` uses 3, `system df` 4): `4.26MB`, `512B`.
pub fn size(bytes: u64, precision: usize) -> String {
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", format_g(v, precision), UNITS[i])
}

/// `docker system df` and prune totals: 4 significant digits.
pub fn size4(bytes: u64) -> String {
    size(bytes, 4)
}

/// Go's `%.{p}g`: shortest of fixed or exponent notation, trailing zeros dropped.
fn format_g(v: f64, p: usize) -> String {
    let p = p.max(1);
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    berth_engine::clock::now_secs()
}

/// go-units `HumanDuration`: `Less than a second`, `About a minute`, `3 hours`, `2 weeks`...
pub fn duration(secs: i64) -> String {
    berth_engine::clock::human_duration(secs)
}

/// `CREATED` column: `N minutes ago` for an RFC 3339 time, `N/A` when unknown.
pub fn ago(created: Option<&str>, now: i64) -> String {
    match created.and_then(parse_rfc3339) {
        Some(t) => format!("{} ago", duration(now - t)),
        None => "N/A".into(),
    }
}

/// Go's default time format in UTC, as `--format json` prints `CreatedAt`:
/// `2023-11-14 22:13:20 +0000 UTC`.
pub fn go_time(created: Option<&str>) -> String {
    match created.and_then(parse_rfc3339) {
        Some(t) => {
            let s = format_rfc3339(t, 0);
            format!("{} {} +0000 UTC", &s[..10], &s[11..19])
        }
        None => String::new(),
    }
}

/// Go's `stringutils.Ellipsis`: at most `max` characters, the last one `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(size(0, 3), "0B");
        assert_eq!(size(512, 3), "512B");
        assert_eq!(size(1000, 3), "1kB");
        assert_eq!(size(4_261_000, 3), "4.26MB");
        assert_eq!(size(1_234_567, 4), "1.235MB");
        assert_eq!(size(2_097_152, 3), "2.1MB");
        assert_eq!(size(999_600, 3), "1e+03kB");
        assert_eq!(size4(402_653_184), "402.7MB");
    }

    #[test]
    fn durations_match_go_units() {
        assert_eq!(duration(0), "Less than a second");
        assert_eq!(duration(1), "1 second");
        assert_eq!(duration(59), "59 seconds");
        assert_eq!(duration(60), "About a minute");
        assert_eq!(duration(5 * 60), "5 minutes");
        assert_eq!(duration(3600), "About an hour");
        assert_eq!(duration(5 * 3600), "5 hours");
        assert_eq!(duration(3 * 86_400), "3 days");
        assert_eq!(duration(21 * 86_400), "3 weeks");
        assert_eq!(duration(90 * 86_400), "3 months");
        assert_eq!(duration(3 * 365 * 86_400), "3 years");
    }

    #[test]
    fn ages_and_times() {
        let now = 1_700_000_000 + 300;
        assert_eq!(ago(Some("2023-11-14T22:13:20Z"), now), "5 minutes ago");
        assert_eq!(ago(None, now), "N/A");
        assert_eq!(
            go_time(Some("2023-11-14T22:13:20.5Z")),
            "2023-11-14 22:13:20 +0000 UTC"
        );
        assert_eq!(ellipsis("abcdef", 4), "abc…");
        assert_eq!(ellipsis("abc", 4), "abc");
    }
}
