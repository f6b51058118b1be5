//! The `dns` part of an allocation, read from the resolv.conf-style file named by `resolvConf`.
//!
//! Only `nameserver`, `domain`, `search` and `options` lines count, as in the reference plugin;
//! `#` and `;` start comments.

use std::path::Path;

pub use crate::cni::Dns;

use super::error::IpamError;

/// Reads and parses a resolv.conf-style file.
pub fn read_resolv_conf(path: &Path) -> Result<Dns, IpamError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| IpamError::io("read resolvConf", path, source))?;
    Ok(parse_resolv_conf(&text))
}

/// Parses resolv.conf text; unknown lines are ignored.
pub fn parse_resolv_conf(text: &str) -> Dns {
    let mut dns = Dns::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(key) = words.next() else { continue };
        match key {
            "nameserver" => dns.nameservers.extend(words.next().map(str::to_owned)),
            "domain" => dns.domain = words.next().map(str::to_owned),
            "search" => dns.search.extend(words.map(str::to_owned)),
            "options" => dns.options.extend(words.map(str::to_owned)),
            _ => {}
        }
    }
    dns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_the_four_keys_and_skips_comments() {
        let dns = parse_resolv_conf(
            "# generated\nnameserver 10.0.0.53\nnameserver fd00::53 ; v6\n\
             domain example.com\nsearch a.example b.example\noptions ndots:5 edns0\nsortlist x\n",
        );
        assert_eq!(dns.nameservers, ["10.0.0.53", "fd00::53"]);
        assert_eq!(dns.domain.as_deref(), Some("example.com"));
        assert_eq!(dns.search, ["a.example", "b.example"]);
        assert_eq!(dns.options, ["ndots:5", "edns0"]);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = read_resolv_conf(Path::new("/nonexistent/resolv.conf")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/resolv.conf"),
            "{err}"
        );
    }
}
