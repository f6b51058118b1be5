//! VXLAN link messages: the RTM_NEWLINK that creates a device and the decoding of its
//! `IFLA_INFO_DATA` from a link reply.

use std::net::IpAddr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVxlan, LinkAttribute, LinkInfo as NlLinkInfo, LinkMessage,
};

use crate::netlink::{VxlanInfo, VxlanSpec};

/// RTM_NEWLINK for a VXLAN device: id, local, dstport, optional underlay, learning off. No
/// l2miss/l3miss and no checksum settings are sent, so the kernel's defaults apply.
pub(super) fn new_vxlan(spec: &VxlanSpec<'_>) -> RouteNetlinkMessage {
    let mut attrs = vec![LinkAttribute::IfName(spec.name.to_owned())];
    attrs.extend(spec.mtu.map(LinkAttribute::Mtu));
    attrs.extend(spec.mac.map(|m| LinkAttribute::Address(m.0.to_vec())));
    let mut data = vec![
        InfoVxlan::Id(spec.vni),
        InfoVxlan::Local(spec.local),
        InfoVxlan::Port(spec.port),
        InfoVxlan::Learning(false),
    ];
    data.extend(spec.underlay.map(InfoVxlan::Link));
    attrs.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::Vxlan),
        NlLinkInfo::Data(InfoData::Vxlan(data)),
    ]));
    let mut msg = LinkMessage::default();
    msg.attributes = attrs;
    RouteNetlinkMessage::NewLink(msg)
}

/// The VXLAN settings in the first link of a reply list; `None` when it is not a VXLAN device.
pub(super) fn vxlan_info_of(replies: Vec<RouteNetlinkMessage>) -> Option<VxlanInfo> {
    replies.into_iter().find_map(|m| match m {
        RouteNetlinkMessage::NewLink(msg) => parse(msg),
        _ => None,
    })
}

fn parse(msg: LinkMessage) -> Option<VxlanInfo> {
    let infos = msg.attributes.into_iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => Some(infos),
        _ => None,
    })?;
    if !infos.contains(&NlLinkInfo::Kind(InfoKind::Vxlan)) {
        return None;
    }
    let data = infos.into_iter().find_map(|i| match i {
        NlLinkInfo::Data(InfoData::Vxlan(data)) => Some(data),
        _ => None,
    })?;
    // Learning is the kernel's default; it always reports the attribute anyway.
    let mut info = VxlanInfo {
        vni: 0,
        local: None,
        port: 0,
        learning: true,
        underlay: None,
    };
    for attr in data {
        match attr {
            InfoVxlan::Id(vni) => info.vni = vni,
            InfoVxlan::Local(ip) => info.local = Some(IpAddr::V4(ip)),
            InfoVxlan::Local6(ip) => info.local = Some(IpAddr::V6(ip)),
            InfoVxlan::Port(port) => info.port = port,
            InfoVxlan::Learning(on) => info.learning = on,
            InfoVxlan::Link(index) => info.underlay = Some(index),
            _ => {}
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::MacAddr;

    fn spec(underlay: Option<u32>) -> VxlanSpec<'static> {
        VxlanSpec {
            name: "flannel.1",
            vni: 1,
            local: "192.0.2.1".parse().unwrap(),
            port: 8472,
            underlay,
            mtu: Some(1450),
            mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
        }
    }

    #[test]
    fn new_vxlan_sends_learning_off_and_no_miss_or_checksum_settings() {
        let RouteNetlinkMessage::NewLink(msg) = new_vxlan(&spec(Some(2))) else {
            panic!("not a NewLink");
        };
        assert!(msg.attributes.contains(&LinkAttribute::Mtu(1450)));
        assert!(
            msg.attributes
                .contains(&LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]))
        );
        let data = msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                NlLinkInfo::Data(InfoData::Vxlan(data)) => Some(data.clone()),
                _ => None,
            }),
            _ => None,
        });
        let expected = [
            InfoVxlan::Id(1),
            InfoVxlan::Local("192.0.2.1".parse().unwrap()),
            InfoVxlan::Port(8472),
            InfoVxlan::Learning(false),
            InfoVxlan::Link(2),
        ];
        assert_eq!(data.as_deref(), Some(&expected[..]));
    }

    #[test]
    fn the_info_of_a_created_message_reads_back_and_other_kinds_are_none() {
        let RouteNetlinkMessage::NewLink(msg) = new_vxlan(&spec(None)) else {
            panic!("not a NewLink");
        };
        let info = vxlan_info_of(vec![RouteNetlinkMessage::NewLink(msg)]).unwrap();
        let expected = VxlanInfo {
            vni: 1,
            local: Some("192.0.2.1".parse().unwrap()),
            port: 8472,
            learning: false,
            underlay: None,
        };
        assert_eq!(info, expected);
        let mut dummy = LinkMessage::default();
        dummy.attributes = vec![LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(
            InfoKind::Dummy,
        )])];
        assert_eq!(
            vxlan_info_of(vec![RouteNetlinkMessage::NewLink(dummy)]),
            None
        );
        assert_eq!(vxlan_info_of(vec![]), None);
    }
}
