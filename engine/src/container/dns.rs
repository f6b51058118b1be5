//! `--dns`, `--dns-search` and `--dns-option` (Docker's `HostConfig.Dns`, `DnsSearch`,
//! `DnsOptions`): what the container's `/etc/resolv.conf` says instead of the host's. Each
//! given list replaces the host's lines of its kind (`--dns-search .` leaves no search
//! domain); what is not given comes from the host, as Docker does.

use std::net::IpAddr;

use super::ContainerError;
use super::record::HostConfig;

/// Checks the DNS settings: servers are IP addresses, search domains are names (or `.`),
/// options are single words such as `ndots:2`.
pub fn validate(h: &HostConfig) -> Result<(), ContainerError> {
    for s in &h.dns {
        if s.parse::<IpAddr>().is_err() {
            return Err(bad("--dns", s, "not an IP address"));
        }
    }
    for d in &h.dns_search {
        let ok =
            d == "." || (d.len() <= 253 && super::aliases::is_dns_name(d.trim_end_matches('.')));
        if !ok {
            return Err(bad("--dns-search", d, "not a domain name"));
        }
    }
    for o in &h.dns_options {
        if o.is_empty() || o.contains(char::is_whitespace) {
            return Err(bad(
                "--dns-option",
                o,
                "an option is one word, such as ndots:2",
            ));
        }
    }
    Ok(())
}

fn bad(flag: &'static str, value: &str, reason: &str) -> ContainerError {
    ContainerError::BadArg {
        flag,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// `resolv` (the host's, loopback servers already dealt with) with the container's settings
/// in place of its `nameserver`, `search` and `options` lines.
pub fn apply(resolv: &str, h: &HostConfig) -> String {
    let replaced = |word: &str| match word {
        "nameserver" => !h.dns.is_empty(),
        "search" | "domain" => !h.dns_search.is_empty(),
        "options" => !h.dns_options.is_empty(),
        _ => false,
    };
    let mut out = String::new();
    for line in resolv.lines() {
        if line.split_whitespace().next().is_some_and(replaced) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for s in &h.dns {
        out.push_str(&format!("nameserver {s}\n"));
    }
    let search: Vec<&str> = h
        .dns_search
        .iter()
        .map(String::as_str)
        .filter(|d| *d != ".")
        .collect();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !h.dns_options.is_empty() {
        out.push_str(&format!("options {}\n", h.dns_options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(dns: &[&str], search: &[&str], opts: &[&str]) -> HostConfig {
        let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        HostConfig {
            dns: v(dns),
            dns_search: v(search),
            dns_options: v(opts),
            ..Default::default()
        }
    }

    const HOST: &str = "# host\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n";

    #[test]
    fn given_lists_replace_the_hosts_lines_of_their_kind() {
        assert_eq!(apply(HOST, &HostConfig::default()), HOST);
        let r = apply(HOST, &host(&["192.0.2.1", "2001:db8::1"], &[], &[]));
        assert_eq!(
            r,
            "# host\nsearch corp.example\noptions edns0\nnameserver 192.0.2.1\nnameserver 2001:db8::1\n"
        );
        let r = apply(HOST, &host(&[], &["a.example", "b.example"], &["ndots:2"]));
        assert_eq!(
            r,
            "# host\nnameserver 10.0.0.2\nsearch a.example b.example\noptions ndots:2\n"
        );
        assert_eq!(
            apply(HOST, &host(&[], &["."], &[])),
            "# host\nnameserver 10.0.0.2\noptions edns0\n"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(validate(&host(&["192.0.2.1"], &["a.example", "."], &["ndots:2"])).is_ok());
        assert!(validate(&host(&["dns.example"], &[], &[])).is_err());
        assert!(validate(&host(&[], &["bad domain"], &[])).is_err());
        assert!(validate(&host(&[], &["a..b"], &[])).is_err());
        assert!(validate(&host(&[], &[], &["two words"])).is_err());
    }
}
