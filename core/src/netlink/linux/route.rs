//! Route messages: RTM_{NEW,DEL,GET}ROUTE requests and replies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteMetric,
    RouteProtocol, RouteScope as NlScope, RouteType,
};

use crate::netlink::{IpFamily, Route, RouteScope};

const RT_TABLE_MAIN: u32 = RouteHeader::RT_TABLE_MAIN as u32;
const RT_TABLE_LOCAL: u32 = 255;

fn af(family: IpFamily) -> AddressFamily {
    match family {
        IpFamily::V4 => AddressFamily::Inet,
        IpFamily::V6 => AddressFamily::Inet6,
    }
}

/// RTM_GETROUTE dump of one family.
pub(super) fn dump(family: IpFamily) -> RouteNetlinkMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = af(family);
    RouteNetlinkMessage::GetRoute(msg)
}

/// Decodes route replies, dropping cloned/cache routes, the local table and non-unicast routes.
pub(super) fn routes_of(replies: Vec<RouteNetlinkMessage>) -> Vec<Route> {
    replies
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewRoute(msg) => parse(msg),
            _ => None,
        })
        .collect()
}

fn ip_of(addr: RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(ip) => Some(IpAddr::V4(ip)),
        RouteAddress::Inet6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    }
}

fn parse(msg: RouteMessage) -> Option<Route> {
    let header = &msg.header;
    if header.flags.contains(RouteFlags::Cloned) || header.kind != RouteType::Unicast {
        return None;
    }
    let mut dst = match header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let dst_prefix = header.destination_prefix_length;
    let mut table = u32::from(header.table);
    let mut route = Route::new(IpNetwork::new(dst, dst_prefix).ok()?);
    route.onlink = header.flags.contains(RouteFlags::Onlink);
    route.scope = match header.scope {
        NlScope::Link => RouteScope::Link,
        NlScope::Host => RouteScope::Host,
        _ => RouteScope::Universe,
    };
    for attr in msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => dst = ip_of(a)?,
            RouteAttribute::Gateway(a) => route.gw = ip_of(a),
            RouteAttribute::Oif(i) => route.oif = Some(i),
            RouteAttribute::Table(t) => table = t,
            RouteAttribute::Priority(p) => route.priority = Some(p),
            RouteAttribute::Metrics(metrics) => {
                for metric in metrics {
                    match metric {
                        RouteMetric::Mtu(m) => route.mtu = Some(m),
                        RouteMetric::Advmss(m) => route.advmss = Some(m),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if table == RT_TABLE_LOCAL {
        return None;
    }
    route.table = (table != RT_TABLE_MAIN).then_some(table);
    route.dst = IpNetwork::new(dst, dst_prefix).ok()?;
    Some(route)
}

/// RTM_NEWROUTE (`add`) or RTM_DELROUTE for `route`, the way iproute2 builds them: adds are
/// protocol boot, unicast, with the route's scope and `RTNH_F_ONLINK` for `onlink`; deletes
/// match any scope and type.
pub(super) fn change(add: bool, route: &Route) -> RouteNetlinkMessage {
    let mut msg = RouteMessage::default();
    let header = &mut msg.header;
    header.address_family = af(route.family());
    header.destination_prefix_length = route.dst.prefix();
    let table = route.table.unwrap_or(RT_TABLE_MAIN);
    header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    if add {
        header.protocol = RouteProtocol::Boot;
        header.kind = RouteType::Unicast;
        header.scope = match route.scope {
            RouteScope::Universe => NlScope::Universe,
            RouteScope::Link => NlScope::Link,
            RouteScope::Host => NlScope::Host,
        };
        if route.onlink {
            header.flags |= RouteFlags::Onlink;
        }
    } else {
        header.scope = NlScope::NoWhere;
    }
    let attrs = &mut msg.attributes;
    if table > 255 {
        attrs.push(RouteAttribute::Table(table));
    }
    if route.dst.prefix() > 0 {
        attrs.push(RouteAttribute::Destination(route.dst.ip().into()));
    }
    attrs.extend(route.gw.map(|gw| RouteAttribute::Gateway(gw.into())));
    attrs.extend(route.oif.map(RouteAttribute::Oif));
    attrs.extend(route.priority.map(RouteAttribute::Priority));
    let mut metrics = Vec::new();
    metrics.extend(route.mtu.map(RouteMetric::Mtu));
    metrics.extend(route.advmss.map(RouteMetric::Advmss));
    if add && !metrics.is_empty() {
        attrs.push(RouteAttribute::Metrics(metrics));
    }
    if add {
        RouteNetlinkMessage::NewRoute(msg)
    } else {
        RouteNetlinkMessage::DelRoute(msg)
    }
}
