//! The names and addresses an agent derives for a network on its host: device names from the
//! VNI, a VTEP MAC from the host id and VNI (stable across restarts, so peers' FDB entries
//! stay right even when the device is recreated), and the slice addresses.

use std::net::Ipv4Addr;

use berth_core::netlink::MacAddr;
use ipnetwork::Ipv4Network;
use sha2::{Digest, Sha256};

/// The UDP port of VXLAN (IANA).
pub const VXLAN_PORT: u16 = 4789;
/// What VXLAN adds to each packet on an IPv4 underlay: outer IP 20 + UDP 8 + VXLAN 8 +
/// inner Ethernet 14.
pub const VXLAN_OVERHEAD: u32 = 50;

/// The VXLAN device of network `vni`: `bvx-<vni>` (at most 12 bytes).
pub fn vxlan_device(vni: u32) -> String {
    format!("bvx-{vni}")
}

/// The bridge of network `vni`'s containers: `bov-<vni>`.
pub fn bridge_device(vni: u32) -> String {
    format!("bov-{vni}")
}

/// The VTEP MAC of `host` on network `vni`: locally administered, unicast.
pub fn vtep_mac(host: &str, vni: u32) -> MacAddr {
    let digest = Sha256::new()
        .chain_update(host.as_bytes())
        .chain_update(vni.to_be_bytes())
        .finalize();
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&digest[..6]);
    mac[0] = (mac[0] & 0xfe) | 0x02;
    MacAddr(mac)
}

/// The slice's VTEP address (its network address, as flannel does): the next hop other
/// hosts route the slice through, and the address on this host's VXLAN device.
pub fn vtep_ip(slice: &Ipv4Network) -> Ipv4Addr {
    slice.network()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_an_interface_and_macs_are_stable_unicast_and_local() {
        assert_eq!(vxlan_device(16_777_215), "bvx-16777215");
        assert!(vxlan_device(16_777_215).len() <= 15);
        let a = vtep_mac("h1", 42);
        assert_eq!(a, vtep_mac("h1", 42));
        assert_ne!(a, vtep_mac("h2", 42));
        assert_ne!(a, vtep_mac("h1", 43));
        assert!(a.is_unicast());
        assert_eq!(a.0[0] & 2, 2, "locally administered");
        assert_eq!(
            vtep_ip(&"10.100.7.0/24".parse().unwrap()),
            Ipv4Addr::new(10, 100, 7, 0)
        );
    }
}
