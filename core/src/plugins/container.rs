//! What the bridge and veth plugins share: the host-side veth name, the MAC a runtime asks for,
//! configuring the container's interface from IPAM's answer, checking it later, and turning on
//! forwarding.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::cni::{CniError, CniRequest, IpConfig, Route as CniRoute};
use crate::names::{ContainerId, IfName};
use crate::netlink::{IpFamily, LinkInfo, MacAddr, Netlink, NetlinkError, Route, RouteScope};

/// The host end of a container's veth: `veth` + 8 hex digits of sha256(id, ifname).
///
/// The name is derived, not random, so DEL finds the host end from the attachment alone, even
/// when the container's namespace and the cached result are gone.
pub(crate) fn host_veth_name(id: &ContainerId, ifname: &IfName) -> String {
    let mut h = Sha256::new();
    h.update(id.as_str().as_bytes());
    h.update([0]);
    h.update(ifname.as_str().as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("veth{hex}")
}

/// The MAC the runtime asks for: `CNI_ARGS` `MAC=`, then `args.cni.mac`, then
/// `runtimeConfig.mac` (the last one present wins, as in the reference bridge plugin).
pub(crate) fn requested_mac(req: &CniRequest) -> Result<Option<MacAddr>, CniError> {
    let from_args = req.args.get("MAC").map(str::to_owned);
    let from_cni_args = req
        .config
        .net
        .args
        .as_ref()
        .and_then(|a| a.pointer("/cni/mac"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let from_runtime = req
        .config
        .runtime_config("mac")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let Some(text) = from_runtime.or(from_cni_args).or(from_args) else {
        return Ok(None);
    };
    text.parse::<MacAddr>()
        .map(Some)
        .map_err(|e| CniError::invalid_config("mac", format!("{text:?}: {e}")))
}

/// Configures the container's end: DAD/ARP sysctls, addresses, link up, routes. Gateways of
/// routes without one default to the first address of the same family with a gateway.
pub(crate) fn configure<N: Netlink>(
    ctr: &N,
    link: &LinkInfo,
    ips: &[IpConfig],
    routes: &[CniRoute],
    keep_dad: bool,
) -> Result<(), CniError> {
    let name = &link.name;
    if ips.iter().any(|ip| ip.address.is_ipv4()) {
        ctr.set_arp_notify(link.index, true)?;
    }
    if !ips.iter().any(|ip| ip.address.is_ipv6()) {
        // No IPv6 here: no link-local address either, so no DAD, router solicitations or
        // multicast reports keep the kernel busy for this interface.
        if !link.admin_up {
            ctr.set_ipv6_link_local_off(link.index)?;
        }
    } else if !keep_dad {
        ctr.set_sysctl(&format!("net/ipv6/conf/{name}/accept_dad"), "0")?;
    }
    for ip in ips {
        ctr.add_address(link.index, ip.address)?;
    }
    if !link.admin_up {
        ctr.set_up(link.index)?;
    }
    for r in routes {
        add_route(ctr, &kernel_route(r, link.index, ips))?;
    }
    Ok(())
}

/// Adds a route of the container's interface. A route without a metric that another interface
/// already holds (the default route of a container's second network) is added with the
/// interface's index as its metric instead of failing, so the first network's route stays
/// preferred and this one takes over when that interface goes. (The reference plugins add a
/// second route of the same metric for the same reason.)
pub(crate) fn add_route<N: Netlink>(ctr: &N, route: &Route) -> Result<(), NetlinkError> {
    match (ctr.add_route(route), route.oif) {
        (Err(e), Some(oif)) if e.is_exists() && route.priority.is_none() => ctr.add_route(&Route {
            priority: Some(oif),
            ..route.clone()
        }),
        (other, _) => other,
    }
}

/// The kernel route for a result route on the container interface `oif`.
pub(crate) fn kernel_route(r: &CniRoute, oif: u32, ips: &[IpConfig]) -> Route {
    let family = IpFamily::of(&r.dst.ip());
    let gw = r.gw.or_else(|| default_gateway(ips, family));
    Route {
        gw,
        oif: Some(oif),
        scope: match r.scope {
            Some(253) => RouteScope::Link,
            Some(254) => RouteScope::Host,
            _ => RouteScope::Universe,
        },
        table: r.table,
        priority: r.priority,
        mtu: r.mtu,
        advmss: r.advmss,
        ..Route::new(r.dst)
    }
}

/// The gateway of the first address of `family` that has one.
pub(crate) fn default_gateway(ips: &[IpConfig], family: IpFamily) -> Option<IpAddr> {
    ips.iter()
        .filter(|ip| IpFamily::of(&ip.address.ip()) == family)
        .find_map(|ip| ip.gateway)
}

/// Turns on forwarding for each family in `ips` (`sysctl net.ipv4.ip_forward=1`,
/// `net.ipv6.conf.all.forwarding=1`) in the handle's namespace, writing only when needed.
pub(crate) fn enable_forwarding<N: Netlink>(host: &N, ips: &[IpConfig]) -> Result<(), CniError> {
    let mut keys = Vec::new();
    if ips.iter().any(|ip| ip.address.is_ipv4()) {
        keys.push("net/ipv4/ip_forward");
    }
    if ips.iter().any(|ip| ip.address.is_ipv6()) {
        keys.push("net/ipv6/conf/all/forwarding");
    }
    for key in keys {
        if host.get_sysctl(key)? != "1" {
            host.set_sysctl(key, "1")?;
        }
    }
    Ok(())
}

/// CHECK of the container's end: the interface exists, has the expected MAC (when the result
/// names one) and every address of `ips`, and every route of `routes` is installed.
pub(crate) fn check<N: Netlink>(
    ctr: &N,
    ifname: &str,
    mac: Option<&str>,
    ips: &[IpConfig],
    routes: &[CniRoute],
) -> Result<LinkInfo, CniError> {
    let missing = |reason: String| CniError::CheckFailed { reason };
    let link = ctr
        .link_by_name(ifname)?
        .ok_or_else(|| missing(format!("interface {ifname} is missing from the netns")))?;
    if let (Some(want), Some(have)) = (mac, link.mac) {
        if !want.eq_ignore_ascii_case(&have.to_string()) {
            return Err(missing(format!("{ifname} has MAC {have}, expected {want}")));
        }
    }
    let addrs = ctr.addresses(Some(link.index))?;
    for ip in ips {
        if !addrs.iter().any(|a| a.addr == ip.address) {
            return Err(missing(format!("{ifname} lacks address {}", ip.address)));
        }
    }
    let installed_v4 = ctr.routes(IpFamily::V4)?;
    let installed_v6 = ctr.routes(IpFamily::V6)?;
    for r in routes {
        let want = kernel_route(r, link.index, ips);
        let installed = match want.family() {
            IpFamily::V4 => &installed_v4,
            IpFamily::V6 => &installed_v6,
        };
        let found = installed
            .iter()
            .any(|have| have.dst == want.dst && have.gw == want.gw && have.table == want.table);
        if !found {
            return Err(missing(format!("route {want} is missing in the netns")));
        }
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_veth_name_is_stable_short_and_distinct() {
        let id = ContainerId::new("c1").unwrap();
        let a = host_veth_name(&id, &IfName::new("eth0").unwrap());
        let b = host_veth_name(&id, &IfName::new("eth1").unwrap());
        assert_eq!(a, host_veth_name(&id, &IfName::new("eth0").unwrap()));
        assert_ne!(a, b);
        assert_eq!(a.len(), 12);
        assert!(IfName::new(a).is_ok());
    }

    #[test]
    fn a_second_default_route_gets_its_interface_index_as_metric() {
        use crate::netlink::FakeNetlink;
        let ctr = FakeNetlink::new();
        let default_via = |ifname: &str, subnet: &str, gw: &str| {
            let index = ctr.add_link(ifname, None);
            ctr.add_route(&Route {
                oif: Some(index),
                ..Route::new(subnet.parse().unwrap())
            })
            .unwrap();
            let r = Route {
                gw: Some(gw.parse().unwrap()),
                oif: Some(index),
                ..Route::new("0.0.0.0/0".parse().unwrap())
            };
            add_route(&ctr, &r).unwrap();
            index
        };
        default_via("eth0", "10.1.0.0/24", "10.1.0.1");
        let second = default_via("eth1", "10.2.0.0/24", "10.2.0.1");
        let defaults: Vec<Option<u32>> = ctr
            .routes(IpFamily::V4)
            .unwrap()
            .into_iter()
            .filter(|r| r.dst.prefix() == 0)
            .map(|r| r.priority)
            .collect();
        assert_eq!(defaults, [None, Some(second)]);
        // A route with a metric of its own still fails when taken.
        let taken = Route {
            priority: Some(second),
            oif: Some(second),
            ..Route::new("0.0.0.0/0".parse().unwrap())
        };
        assert!(add_route(&ctr, &taken).unwrap_err().is_exists());
    }

    #[test]
    fn route_gateway_defaults_to_the_address_gateway_of_its_family() {
        let ips = vec![
            IpConfig {
                address: "fd00::5/64".parse().unwrap(),
                gateway: Some("fd00::1".parse().unwrap()),
                interface: Some(2),
            },
            IpConfig {
                address: "10.0.0.5/24".parse().unwrap(),
                gateway: Some("10.0.0.1".parse().unwrap()),
                interface: Some(2),
            },
        ];
        let r = kernel_route(&CniRoute::new("0.0.0.0/0".parse().unwrap(), None), 7, &ips);
        assert_eq!(r.gw, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(r.oif, Some(7));
        let r6 = kernel_route(&CniRoute::new("::/0".parse().unwrap(), None), 7, &ips);
        assert_eq!(r6.gw, Some("fd00::1".parse().unwrap()));
    }
}
