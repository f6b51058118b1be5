//! A network's subnet cut into host slices of `slice_prefix` bits: slice `i` of 10.100.0.0/16
//! in /24s is 10.100.i.0/24. Which slices are taken is etcd's knowledge ([`crate::store`]).

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use crate::records::NetworkSpec;

/// How many slices the network has.
pub fn count(net: &NetworkSpec) -> u64 {
    1u64 << (net.slice_prefix - net.subnet.prefix())
}

/// Slice `i`, if the network has that many.
pub fn nth(net: &NetworkSpec, i: u64) -> Option<Ipv4Network> {
    if i >= count(net) {
        return None;
    }
    let base = u32::from(net.subnet.network()) as u64;
    let size = 1u64 << (32 - net.slice_prefix);
    let ip = Ipv4Addr::from(u32::try_from(base + i * size).ok()?);
    Ipv4Network::new(ip, net.slice_prefix).ok()
}

/// Every slice, in order.
pub fn all(net: &NetworkSpec) -> impl Iterator<Item = Ipv4Network> + '_ {
    (0..count(net)).filter_map(|i| nth(net, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_16_has_256_slash_24s_in_order() {
        let net = NetworkSpec {
            name: "ov".into(),
            subnet: "10.100.0.0/16".parse().unwrap(),
            vni: 1,
            slice_prefix: 24,
        };
        assert_eq!(count(&net), 256);
        assert_eq!(nth(&net, 0).unwrap().to_string(), "10.100.0.0/24");
        assert_eq!(nth(&net, 255).unwrap().to_string(), "10.100.255.0/24");
        assert_eq!(nth(&net, 256), None);
        assert_eq!(all(&net).count(), 256);
        let small = NetworkSpec {
            subnet: "192.168.8.0/22".parse().unwrap(),
            slice_prefix: 26,
            ..net
        };
        let got: Vec<String> = all(&small).take(3).map(|s| s.to_string()).collect();
        assert_eq!(
            got,
            ["192.168.8.0/26", "192.168.8.64/26", "192.168.8.128/26"]
        );
        assert_eq!(count(&small), 16);
    }
}
