//! Address messages: RTM_{NEW,DEL,GET}ADDR requests and replies.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};

use crate::netlink::Address;

/// The kernel family constant for an address.
pub(super) fn family_of(ip: &IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// RTM_GETADDR dump, filtered by the kernel to one link when `index` is set.
pub(super) fn dump(index: Option<u32>) -> RouteNetlinkMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = index.unwrap_or(0);
    RouteNetlinkMessage::GetAddress(msg)
}

/// Decodes address replies, keeping those of `index` when set.
pub(super) fn addresses_of(replies: Vec<RouteNetlinkMessage>, index: Option<u32>) -> Vec<Address> {
    replies
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(msg) => parse(msg),
            _ => None,
        })
        .filter(|a| index.is_none_or(|i| a.index == i))
        .collect()
}

fn parse(msg: AddressMessage) -> Option<Address> {
    let mut local = None;
    let mut address = None;
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(ip),
            AddressAttribute::Address(ip) => address = Some(ip),
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
    let ip = local.or(address)?;
    let addr = IpNetwork::new(ip, msg.header.prefix_len).ok()?;
    Some(Address {
        index: msg.header.index,
        addr,
    })
}

/// RTM_NEWADDR or RTM_DELADDR for `addr` on link `index`. IPv4 addresses get the subnet
/// broadcast (like the CNI plugins); loopback addresses get host scope (like iproute2).
pub(super) fn change(add: bool, index: u32, addr: IpNetwork) -> RouteNetlinkMessage {
    let ip = addr.ip();
    let mut msg = AddressMessage::default();
    msg.header.family = family_of(&ip);
    msg.header.prefix_len = addr.prefix();
    msg.header.index = index;
    msg.header.scope = if ip.is_loopback() {
        AddressScope::Host
    } else {
        AddressScope::Universe
    };
    match addr {
        IpNetwork::V4(net) => {
            msg.attributes.push(AddressAttribute::Local(ip));
            msg.attributes.push(AddressAttribute::Address(ip));
            if add && net.prefix() < 31 {
                msg.attributes
                    .push(AddressAttribute::Broadcast(net.broadcast()));
            }
        }
        IpNetwork::V6(_) => msg.attributes.push(AddressAttribute::Address(ip)),
    }
    if add {
        RouteNetlinkMessage::NewAddress(msg)
    } else {
        RouteNetlinkMessage::DelAddress(msg)
    }
}
