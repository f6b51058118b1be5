//! Link messages: building RTM_{NEW,DEL,SET,GET}LINK requests and decoding link replies.

use std::os::fd::AsRawFd;

use netlink_packet_core::DefaultNla;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    AfSpecBridge, BridgeFlag, BridgeVlanInfo, BridgeVlanInfoFlags, InfoBridge, InfoData, InfoKind,
    InfoVeth, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage, LinkProtoInfoBridge,
};

use crate::netlink::{LinkInfo, LinkKind, MacAddr, VethSpec};

/// `IFLA_BRPORT_MODE` (hairpin) from `<linux/if_link.h>`.
const IFLA_BRPORT_MODE: u16 = 4;
/// `IFLA_BRPORT_ISOLATED` from `<linux/if_link.h>`.
const IFLA_BRPORT_ISOLATED: u16 = 33;

/// Decodes a link reply into berth's [`LinkInfo`].
pub(super) fn parse_link(msg: LinkMessage) -> LinkInfo {
    let flags = msg.header.flags;
    let mut info = LinkInfo {
        index: msg.header.index,
        name: String::new(),
        kind: None,
        mac: None,
        mtu: 0,
        admin_up: flags.contains(LinkFlags::Up),
        oper_up: flags.contains(LinkFlags::Running),
        master: None,
        promisc: flags.contains(LinkFlags::Promisc),
        link: None,
        link_netnsid: None,
    };
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => info.name = name,
            LinkAttribute::Address(bytes) => info.mac = MacAddr::from_slice(&bytes),
            LinkAttribute::Mtu(mtu) => info.mtu = mtu,
            LinkAttribute::Controller(master) => info.master = Some(master),
            LinkAttribute::Link(link) => info.link = Some(link),
            LinkAttribute::LinkNetNsId(id) => info.link_netnsid = Some(id),
            LinkAttribute::LinkInfo(infos) => info.kind = parse_kind(&infos),
            _ => {}
        }
    }
    info
}

fn parse_kind(infos: &[NlLinkInfo]) -> Option<LinkKind> {
    infos.iter().find_map(|i| match i {
        NlLinkInfo::Kind(InfoKind::Bridge) => Some(LinkKind::Bridge),
        NlLinkInfo::Kind(InfoKind::Veth) => Some(LinkKind::Veth),
        NlLinkInfo::Kind(other) => Some(LinkKind::Other(other.to_string())),
        _ => None,
    })
}

/// Picks the links out of a reply list.
pub(super) fn links_of(replies: Vec<RouteNetlinkMessage>) -> Vec<LinkInfo> {
    replies
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) => Some(parse_link(link)),
            _ => None,
        })
        .collect()
}

fn message(index: u32, attributes: Vec<LinkAttribute>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes = attributes;
    msg
}

/// RTM_GETLINK by name.
pub(super) fn get_by_name(name: &str) -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetLink(message(0, vec![LinkAttribute::IfName(name.to_owned())]))
}

/// RTM_GETLINK by index.
pub(super) fn get_by_index(index: u32) -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetLink(message(index, vec![]))
}

/// RTM_GETLINK dump.
pub(super) fn dump() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetLink(LinkMessage::default())
}

/// RTM_NEWLINK for a bridge, multicast snooping off.
pub(super) fn new_bridge(
    name: &str,
    mtu: Option<u32>,
    mac: Option<MacAddr>,
    vlan_filtering: bool,
) -> RouteNetlinkMessage {
    let mut attrs = vec![LinkAttribute::IfName(name.to_owned())];
    attrs.extend(mtu.map(LinkAttribute::Mtu));
    attrs.extend(mac.map(|m| LinkAttribute::Address(m.0.to_vec())));
    // Multicast snooping off: no IGMP/MLD querier runs on a container bridge, and without one
    // the kernel floods multicast to every port anyway, while with snooping on every new port
    // re-arms a multicast timer on every other port (with 1000 ports, ~1 ms more per ADD).
    let mut data = vec![InfoBridge::MulticastSnooping(false)];
    if vlan_filtering {
        data.push(InfoBridge::VlanFiltering(true));
    }
    attrs.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::Bridge),
        NlLinkInfo::Data(InfoData::Bridge(data)),
    ]));
    RouteNetlinkMessage::NewLink(message(0, attrs))
}

/// RTM_NEWLINK for a veth pair whose peer is created directly in its namespace, optionally
/// enslaved and up.
///
/// Both ends get one TX and one RX queue, which is what a veth uses anyway: without an explicit
/// count the kernel allocates one queue per possible CPU and then cuts the active count back to
/// one, and that cut waits for an RCU grace period while holding the rtnl lock (a few hundred
/// microseconds per pair on a loaded machine).
pub(super) fn new_veth(spec: &VethSpec<'_>) -> RouteNetlinkMessage {
    let queues = [LinkAttribute::NumTxQueues(1), LinkAttribute::NumRxQueues(1)];
    let mut peer_attrs = vec![LinkAttribute::IfName(spec.peer.to_owned())];
    peer_attrs.extend(spec.mtu.map(LinkAttribute::Mtu));
    peer_attrs.push(LinkAttribute::NetNsFd(spec.peer_ns.as_raw_fd()));
    peer_attrs.extend(spec.peer_mac.map(|m| LinkAttribute::Address(m.0.to_vec())));
    peer_attrs.extend(queues.clone());
    let mut attrs = vec![LinkAttribute::IfName(spec.name.to_owned())];
    attrs.extend(spec.mtu.map(LinkAttribute::Mtu));
    attrs.extend(queues);
    attrs.extend(spec.master.map(LinkAttribute::Controller));
    // The peer cannot be created up: the kernel opens it before the pair is linked (ENOTCONN).
    let peer = message(0, peer_attrs);
    attrs.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::Veth),
        NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    let mut msg = message(0, attrs);
    if spec.up {
        msg.header.flags = UP;
        msg.header.change_mask = UP;
    }
    RouteNetlinkMessage::NewLink(msg)
}

/// `IFLA_AF_SPEC`, the attribute carrying per-family link settings.
const IFLA_AF_SPEC: u16 = 26;
/// `IFLA_INET_CONF` inside the `AF_INET` part of `IFLA_AF_SPEC`.
const IFLA_INET_CONF: u16 = 1;
/// `IPV4_DEVCONF_ARP_NOTIFY` (include/uapi/linux/ip.h).
const IPV4_DEVCONF_ARP_NOTIFY: u16 = 22;

/// RTM_SETLINK setting one IPv4 devconf value: `IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF {
/// key: value } } }`. Only the named key is sent, so the others stay as they are.
pub(super) fn set_arp_notify(index: u32, on: bool) -> RouteNetlinkMessage {
    let conf = nla(IPV4_DEVCONF_ARP_NOTIFY, &u32::from(on).to_ne_bytes());
    let inet = nla(libc::AF_INET as u16, &nla(IFLA_INET_CONF, &conf));
    let attr = LinkAttribute::Other(DefaultNla::new(IFLA_AF_SPEC, inet));
    RouteNetlinkMessage::SetLink(message(index, vec![attr]))
}

/// `IFLA_INET6_ADDR_GEN_MODE` inside the `AF_INET6` part of `IFLA_AF_SPEC`.
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
/// `IN6_ADDR_GEN_MODE_NONE`: no link-local address is generated.
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;

/// RTM_SETLINK with `IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: none } }`
/// (`ip link set dev X addrgenmode none`).
pub(super) fn set_addr_gen_none(index: u32) -> RouteNetlinkMessage {
    let mode = nla(IFLA_INET6_ADDR_GEN_MODE, &[IN6_ADDR_GEN_MODE_NONE, 0, 0, 0]);
    let inet6 = nla(libc::AF_INET6 as u16, &mode);
    let attr = LinkAttribute::Other(DefaultNla::new(IFLA_AF_SPEC, inet6));
    RouteNetlinkMessage::SetLink(message(index, vec![attr]))
}

/// One raw attribute: length, type, payload (the payload's padding is the caller's).
fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(4 + payload.len() as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out
}

/// RTM_DELLINK by name.
pub(super) fn delete(name: &str) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelLink(message(0, vec![LinkAttribute::IfName(name.to_owned())]))
}

/// RTM_SETLINK changing only the flags in `mask` to `value`.
pub(super) fn set_flag(index: u32, mask: LinkFlags, on: bool) -> RouteNetlinkMessage {
    let mut msg = message(index, vec![]);
    msg.header.change_mask = mask;
    msg.header.flags = if on { mask } else { LinkFlags::empty() };
    RouteNetlinkMessage::SetLink(msg)
}

/// RTM_SETLINK with one attribute.
pub(super) fn set_attr(index: u32, attr: LinkAttribute) -> RouteNetlinkMessage {
    RouteNetlinkMessage::SetLink(message(index, vec![attr]))
}

/// `IFLA_MASTER`.
pub(super) fn master_attr(master: u32) -> LinkAttribute {
    LinkAttribute::Controller(master)
}

/// `IFLA_MTU`.
pub(super) fn mtu_attr(mtu: u32) -> LinkAttribute {
    LinkAttribute::Mtu(mtu)
}

/// `IFLA_ADDRESS`.
pub(super) fn mac_attr(mac: MacAddr) -> LinkAttribute {
    LinkAttribute::Address(mac.0.to_vec())
}

/// `IFF_UP`.
pub(super) const UP: LinkFlags = LinkFlags::Up;
/// `IFF_PROMISC`.
pub(super) const PROMISC: LinkFlags = LinkFlags::Promisc;

/// An AF_BRIDGE RTM_SETLINK setting one u8 bridge-port option under IFLA_PROTINFO.
fn brport_option(index: u32, kind: u16, on: bool) -> RouteNetlinkMessage {
    let opt = LinkProtoInfoBridge::Other(DefaultNla::new(kind, vec![u8::from(on)]));
    let mut msg = message(index, vec![LinkAttribute::ProtoInfoBridge(vec![opt])]);
    msg.header.interface_family = AddressFamily::Bridge;
    RouteNetlinkMessage::SetLink(msg)
}

/// `bridge link set dev X hairpin on|off`.
pub(super) fn set_hairpin(index: u32, on: bool) -> RouteNetlinkMessage {
    brport_option(index, IFLA_BRPORT_MODE, on)
}

/// `bridge link set dev X isolated on|off`.
pub(super) fn set_isolated(index: u32, on: bool) -> RouteNetlinkMessage {
    brport_option(index, IFLA_BRPORT_ISOLATED, on)
}

/// `bridge vlan {add|del} dev X vid V [pvid] [untagged] [self]`.
pub(super) fn bridge_vlan(
    add: bool,
    index: u32,
    vid: u16,
    pvid: bool,
    untagged: bool,
    on_bridge_self: bool,
) -> RouteNetlinkMessage {
    let mut flags = BridgeVlanInfoFlags::empty();
    flags.set(BridgeVlanInfoFlags::Pvid, pvid);
    flags.set(BridgeVlanInfoFlags::Untagged, untagged);
    let mut spec = Vec::with_capacity(2);
    if on_bridge_self {
        spec.push(AfSpecBridge::Flags(BridgeFlag::LowerDev));
    }
    spec.push(AfSpecBridge::VlanInfo(BridgeVlanInfo { flags, vid }));
    let mut msg = message(index, vec![LinkAttribute::AfSpecBridge(spec)]);
    msg.header.interface_family = AddressFamily::Bridge;
    if add {
        RouteNetlinkMessage::SetLink(msg)
    } else {
        RouteNetlinkMessage::DelLink(msg)
    }
}
