//! Subnets: parsing what users type, overlap checks, the host's routes, and picking a free
//! subnet for a new network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use super::NetworkError;

/// Parses a CIDR and refuses host bits and prefixes too small to hold a container.
pub fn parse_subnet(text: &str) -> Result<IpNetwork, NetworkError> {
    let bad = |reason: String| NetworkError::BadCidr {
        value: text.to_string(),
        reason,
    };
    if !text.contains('/') {
        return Err(bad("missing /PREFIX (e.g. 10.89.3.0/24)".into()));
    }
    let net: IpNetwork = text.parse().map_err(|e| bad(format!("{e}")))?;
    if net.network() != net.ip() {
        return Err(bad(format!(
            "host bits are set; did you mean {}/{}?",
            net.network(),
            net.prefix()
        )));
    }
    let too_small = match net {
        IpNetwork::V4(n) => n.prefix() > 30,
        IpNetwork::V6(n) => n.prefix() > 126,
    };
    if too_small {
        return Err(bad("too small for a gateway and a container".into()));
    }
    if net.prefix() == 0 {
        return Err(bad("covers every address; give a real subnet".into()));
    }
    Ok(net)
}

/// Parses a CIDR for `--ip-range`: host bits must be clear too, any prefix is allowed.
pub fn parse_range(text: &str) -> Result<IpNetwork, NetworkError> {
    let bad = |reason: String| NetworkError::BadCidr {
        value: text.to_string(),
        reason,
    };
    let net: IpNetwork = text.parse().map_err(|e| bad(format!("{e}")))?;
    if net.network() != net.ip() {
        return Err(bad("host bits are set".into()));
    }
    Ok(net)
}

/// True when the two networks share an address.
pub fn overlaps(a: &IpNetwork, b: &IpNetwork) -> bool {
    a.is_ipv4() == b.is_ipv4() && (a.contains(b.network()) || b.contains(a.network()))
}

/// The first /24 from 10.89.0.0 upward (or /64 from fd89:0:0:0:: for IPv6) that overlaps none
/// of `taken`.
pub fn pick_free(taken: &[IpNetwork], v6: bool) -> Option<IpNetwork> {
    if v6 {
        (0u16..=u16::MAX)
            .filter_map(|n| {
                let ip = Ipv6Addr::new(0xfd89, 0, 0, n, 0, 0, 0, 0);
                Ipv6Network::new(ip, 64).ok().map(IpNetwork::V6)
            })
            .find(|c| !taken.iter().any(|t| overlaps(c, t)))
    } else {
        (89u8..=255)
            .flat_map(|b| (0u8..=255).map(move |c| (b, c)))
            .filter_map(|(b, c)| {
                Ipv4Network::new(Ipv4Addr::new(10, b, c, 0), 24)
                    .ok()
                    .map(IpNetwork::V4)
            })
            .find(|c| !taken.iter().any(|t| overlaps(c, t)))
    }
}

/// The destinations of the calling thread's netns' main routing table, from
/// `<proc>/net/route` and `<proc>/net/ipv6_route`, default routes left out.
pub fn host_routes(proc_root: &Path) -> Vec<IpNetwork> {
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(proc_root.join("net/route")) {
        out.extend(text.lines().skip(1).filter_map(parse_v4_route));
    }
    if let Ok(text) = std::fs::read_to_string(proc_root.join("net/ipv6_route")) {
        out.extend(text.lines().filter_map(parse_v6_route));
    }
    out.retain(|n| n.prefix() > 0);
    out
}

/// One line of `/proc/net/route`: `Iface Destination Gateway Flags RefCnt Use Metric Mask ...`,
/// addresses in little-endian hex.
fn parse_v4_route(line: &str) -> Option<IpNetwork> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
    let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
    // The kernel prints the network-order word as a native integer.
    let dst = Ipv4Addr::from(dst.to_ne_bytes());
    let prefix = u8::try_from(mask.count_ones()).ok()?;
    Ipv4Network::new(dst, prefix).ok().map(IpNetwork::V4)
}

/// One line of `/proc/net/ipv6_route`: destination (32 hex), prefix length (hex), ...
fn parse_v6_route(line: &str) -> Option<IpNetwork> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let dst = u128::from_str_radix(f.first()?, 16).ok()?;
    let prefix = u8::from_str_radix(f.get(1)?, 16).ok()?;
    let dst = Ipv6Addr::from(dst);
    if dst.is_multicast() || (dst.segments()[0] & 0xffc0) == 0xfe80 || prefix == 128 {
        return None;
    }
    Ipv6Network::new(dst, prefix).ok().map(IpNetwork::V6)
}

/// The first address of `net` after the network address (the default gateway).
pub fn first_host(net: &IpNetwork) -> IpAddr {
    match net {
        IpNetwork::V4(n) => IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) + 1)),
        IpNetwork::V6(n) => IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn parse_refuses_bad_cidrs_with_reasons() {
        assert_eq!(parse_subnet("10.1.2.0/24").unwrap(), n("10.1.2.0/24"));
        for (bad, why) in [
            ("10.1.2.3/24", "did you mean 10.1.2.0/24"),
            ("10.1.2.0", "missing /PREFIX"),
            ("10.1.2.0/33", ""),
            ("banana/8", ""),
            ("10.1.2.0/31", "too small"),
            ("::/0", "every address"),
        ] {
            let e = parse_subnet(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn pick_skips_taken_and_host_routes() {
        let taken = [n("10.88.0.0/16"), n("10.89.0.0/24"), n("10.89.1.0/25")];
        assert_eq!(pick_free(&taken, false), Some(n("10.89.2.0/24")));
        let taken = [n("10.89.0.0/16")];
        assert_eq!(pick_free(&taken, false), Some(n("10.90.0.0/24")));
        assert_eq!(pick_free(&[], true), Some(n("fd89::/64")));
        assert_eq!(
            pick_free(&[n("fd89::/64")], true),
            Some(n("fd89:0:0:1::/64"))
        );
        assert!(!overlaps(&n("10.0.0.0/8"), &n("fd00::/8")));
    }

    #[test]
    fn reads_proc_routes() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("net")).unwrap();
        std::fs::write(
            d.path().join("net/route"),
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
             eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\n\
             eth0\t0059000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("net/ipv6_route"),
            "fd000000000000000000000000000000 08 00000000000000000000000000000000 00 \
             00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n\
             fe800000000000000000000000000000 40 00000000000000000000000000000000 00 \
             00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n",
        )
        .unwrap();
        assert_eq!(
            host_routes(d.path()),
            vec![n("10.0.89.0/24"), n("fd00::/8")]
        );
    }
}
