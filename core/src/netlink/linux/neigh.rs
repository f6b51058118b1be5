//! Neighbour messages, RTM_{NEW,DEL,GET}NEIGH, for both tables a VXLAN overlay fills: the
//! VXLAN device's forwarding database (`AF_BRIDGE`, `NTF_SELF`: `bridge fdb`) and the IPv4/IPv6
//! neighbour tables (`ip neigh`).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::addr::family_of;
use crate::netlink::{FdbEntry, MacAddr, Neighbour};

/// A permanent entry's message on link `index`, without attributes.
fn permanent(family: AddressFamily, index: u32, flags: NeighbourFlags) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = family;
    msg.header.ifindex = index;
    msg.header.state = NeighbourState::Permanent;
    msg.header.flags = flags;
    msg
}

fn new_or_del(add: bool, msg: NeighbourMessage) -> RouteNetlinkMessage {
    if add {
        RouteNetlinkMessage::NewNeighbour(msg)
    } else {
        RouteNetlinkMessage::DelNeighbour(msg)
    }
}

/// AF_BRIDGE RTM_GETNEIGH dump of link `index`'s FDB (the kernel filters on the header's
/// ifindex).
pub(super) fn fdb_dump(index: u32) -> RouteNetlinkMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = AddressFamily::Bridge;
    msg.header.ifindex = index;
    RouteNetlinkMessage::GetNeighbour(msg)
}

/// RTM_NEWNEIGH (send with NLM_F_CREATE|NLM_F_REPLACE) or RTM_DELNEIGH for a permanent entry in
/// the device's own FDB (`self`, not a bridge master's).
pub(super) fn fdb_change(add: bool, index: u32, entry: &FdbEntry) -> RouteNetlinkMessage {
    let mut msg = permanent(AddressFamily::Bridge, index, NeighbourFlags::Own);
    msg.attributes = vec![
        NeighbourAttribute::LinkLayerAddress(entry.mac.0.to_vec()),
        NeighbourAttribute::Destination(entry.dst.into()),
    ];
    new_or_del(add, msg)
}

/// Decodes FDB replies: the entries of link `index` with a MAC and a destination, only the
/// permanent ones unless `any_state`.
pub(super) fn fdb_entries_of(
    replies: Vec<RouteNetlinkMessage>,
    index: u32,
    any_state: bool,
) -> Vec<FdbEntry> {
    // One reply per remote: a MAC with the same destination under another port or VNI
    // would repeat.
    let mut seen = HashSet::new();
    entries(replies, index, any_state)
        .filter_map(|(mac, dst)| {
            Some(FdbEntry {
                mac,
                dst: ip_of(dst?)?,
            })
        })
        .filter(|entry| seen.insert(*entry))
        .collect()
}

/// RTM_GETNEIGH dump of the IPv4 and IPv6 tables (AF_UNSPEC), filtered by the kernel to link
/// `index` (under strict checking the filter goes in NDA_IFINDEX; the header's must be 0).
pub(super) fn neigh_dump(index: u32) -> RouteNetlinkMessage {
    let mut msg = NeighbourMessage::default();
    msg.attributes = vec![NeighbourAttribute::IfIndex(index)];
    RouteNetlinkMessage::GetNeighbour(msg)
}

/// RTM_NEWNEIGH for a permanent neighbour (send with NLM_F_CREATE|NLM_F_REPLACE).
pub(super) fn neigh_replace(index: u32, n: &Neighbour) -> RouteNetlinkMessage {
    let mut msg = permanent(family_of(&n.ip), index, NeighbourFlags::empty());
    msg.attributes = vec![
        NeighbourAttribute::Destination(n.ip.into()),
        NeighbourAttribute::LinkLayerAddress(n.mac.0.to_vec()),
    ];
    RouteNetlinkMessage::NewNeighbour(msg)
}

/// RTM_DELNEIGH for the neighbour `ip` on link `index`, whatever its state.
pub(super) fn neigh_del(index: u32, ip: IpAddr) -> RouteNetlinkMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = family_of(&ip);
    msg.header.ifindex = index;
    msg.attributes = vec![NeighbourAttribute::Destination(ip.into())];
    new_or_del(false, msg)
}

/// Decodes neighbour replies: the permanent IPv4/IPv6 entries of link `index` with a MAC.
pub(super) fn neighbours_of(replies: Vec<RouteNetlinkMessage>, index: u32) -> Vec<Neighbour> {
    entries(replies, index, false)
        .filter_map(|(mac, ip)| {
            Some(Neighbour {
                ip: ip_of(ip?)?,
                mac,
            })
        })
        .collect()
}

/// The (MAC, NDA_DST) of every non-proxy reply on link `index` that has a 6-byte link-layer
/// address and is permanent (or in any state, with `any_state`).
fn entries(
    replies: Vec<RouteNetlinkMessage>,
    index: u32,
    any_state: bool,
) -> impl Iterator<Item = (MacAddr, Option<NeighbourAddress>)> {
    replies.into_iter().filter_map(move |m| {
        let RouteNetlinkMessage::NewNeighbour(msg) = m else {
            return None;
        };
        let header = &msg.header;
        if header.ifindex != index
            || (!any_state && header.state != NeighbourState::Permanent)
            || header.flags.contains(NeighbourFlags::Proxy)
        {
            return None;
        }
        let (mut mac, mut dst) = (None, None);
        for attr in msg.attributes {
            match attr {
                NeighbourAttribute::LinkLayerAddress(bytes) => mac = MacAddr::from_slice(&bytes),
                NeighbourAttribute::Destination(addr) => dst = Some(addr),
                _ => {}
            }
        }
        Some((mac?, dst))
    })
}

/// An NDA_DST as an IP address; AF_BRIDGE replies carry it as raw bytes (4 or 16).
fn ip_of(addr: NeighbourAddress) -> Option<IpAddr> {
    match addr {
        NeighbourAddress::Inet(ip) => Some(IpAddr::V4(ip)),
        NeighbourAddress::Inet6(ip) => Some(IpAddr::V6(ip)),
        NeighbourAddress::Other(bytes) => {
            if let Ok(v4) = <[u8; 4]>::try_from(bytes.as_slice()) {
                Some(IpAddr::V4(Ipv4Addr::from(v4)))
            } else {
                <[u8; 16]>::try_from(bytes.as_slice())
                    .ok()
                    .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    fn reply(msg: RouteNetlinkMessage) -> RouteNetlinkMessage {
        match msg {
            RouteNetlinkMessage::NewNeighbour(m) | RouteNetlinkMessage::DelNeighbour(m) => {
                RouteNetlinkMessage::NewNeighbour(m)
            }
            other => other,
        }
    }

    #[test]
    fn fdb_entries_are_self_permanent_and_read_back_from_raw_bridge_addresses() {
        let entry = FdbEntry {
            mac: MAC,
            dst: "192.0.2.2".parse().unwrap(),
        };
        let RouteNetlinkMessage::NewNeighbour(mut msg) = fdb_change(true, 7, &entry) else {
            panic!("not a NewNeighbour");
        };
        assert_eq!(msg.header.flags, NeighbourFlags::Own);
        assert_eq!(msg.header.state, NeighbourState::Permanent);
        assert_eq!(msg.header.family, AddressFamily::Bridge);
        // The kernel's AF_BRIDGE replies decode NDA_DST as raw bytes.
        msg.attributes[1] =
            NeighbourAttribute::Destination(NeighbourAddress::Other(vec![192, 0, 2, 2]));
        let mut own = permanent(AddressFamily::Bridge, 7, NeighbourFlags::Own);
        own.attributes = vec![NeighbourAttribute::LinkLayerAddress(vec![2, 0, 0, 0, 0, 9])];
        let other_link = reply(fdb_change(true, 8, &entry));
        let replies = vec![
            RouteNetlinkMessage::NewNeighbour(msg.clone()),
            RouteNetlinkMessage::NewNeighbour(msg),
            RouteNetlinkMessage::NewNeighbour(own),
            other_link,
        ];
        assert_eq!(fdb_entries_of(replies, 7, false), [entry]);
    }

    #[test]
    fn neighbours_keep_permanent_entries_of_the_link_with_an_address() {
        let v4 = Neighbour {
            ip: "10.100.2.0".parse().unwrap(),
            mac: MAC,
        };
        let v6 = Neighbour {
            ip: "fd00:2::".parse().unwrap(),
            mac: MAC,
        };
        let RouteNetlinkMessage::NewNeighbour(mut stale) = neigh_replace(7, &v4) else {
            panic!("not a NewNeighbour");
        };
        stale.header.state = NeighbourState::Stale;
        let replies = vec![
            reply(neigh_replace(7, &v4)),
            reply(neigh_replace(7, &v6)),
            reply(neigh_replace(8, &v4)),
            RouteNetlinkMessage::NewNeighbour(stale),
        ];
        assert_eq!(neighbours_of(replies, 7), [v4, v6]);
    }
}
