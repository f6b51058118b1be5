//! bridge ADD.

use ipnetwork::IpNetwork;

use super::config::BridgeConfig;
use crate::cni::Route as CniRoute;
use crate::cni::delegate;
use crate::cni::{Attachment, CniError, CniRequest, CniResult, IpConfig};
use crate::netlink::{IpFamily, LinkInfo, LinkKind, Netlink, NetlinkError};
use crate::plugins::container;
use crate::plugins::veth_pair::{Context, first_host, iface};

/// bridge ADD: see the module docs of [`crate::plugins::bridge`].
pub fn add<N: Netlink>(
    ctx: &Context<'_, N>,
    req: &CniRequest,
    att: &Attachment,
    cfg: &BridgeConfig,
) -> Result<CniResult, CniError> {
    ctx.ensure_ifname_free(att)?;
    tracing::trace!("ifname is free");
    let mac = container::requested_mac(req)?;
    let bridge = ensure_bridge(ctx.host, cfg)?;
    tracing::trace!("bridge ready");
    let ipam = req.config.ipam_type();
    let allocated = match ipam {
        Some(t) => delegate::ipam_add(ctx.exec, req, t)?,
        None => CniResult::default(),
    };
    let host_veth = container::host_veth_name(&att.container_id, &att.ifname);
    let result = attach(ctx, req, att, cfg, &bridge, &host_veth, mac, allocated);
    if result.is_err() {
        ctx.undo(req, &host_veth);
    }
    let mut result = result?;
    if let Some(dns) = req.config.net.dns.clone().filter(|d| !d.is_empty()) {
        result.dns = dns;
    }
    Ok(result)
}

/// Creates the bridge if missing, brings it up and applies promiscuous mode.
fn ensure_bridge<N: Netlink>(host: &N, cfg: &BridgeConfig) -> Result<LinkInfo, CniError> {
    // A bridge without an address of its own takes the lowest MAC of its ports, so its MAC
    // (the containers' gateway MAC) would change as containers come and go.
    let mac = Some(bridge_mac(&cfg.bridge));
    let existing = host
        .link_by_name(&cfg.bridge)?
        .filter(|l| l.kind == Some(LinkKind::Bridge));
    let created = match existing {
        Some(br) => Ok(br),
        None => host.ensure_bridge(&cfg.bridge, cfg.mtu, mac, cfg.vlan_filtering()),
    };
    let br = match created {
        Err(e) if cfg.vlan_filtering() && e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            return Err(NetlinkError::Kernel {
                op: format!(
                    "create bridge {} with VLAN filtering (for vlan/vlanTrunk; this kernel \
                     lacks CONFIG_BRIDGE_VLAN_FILTERING)",
                    cfg.bridge
                ),
                source: std::io::Error::from_raw_os_error(libc::EOPNOTSUPP),
            }
            .into());
        }
        other => other?,
    };
    if !br.admin_up {
        host.set_up(br.index)?;
    }
    if cfg.promisc_mode && !br.promisc {
        host.set_promisc(br.index, true)?;
    }
    Ok(br)
}

#[allow(clippy::too_many_arguments)] // the steps of one ADD, each needed once
fn attach<N: Netlink>(
    ctx: &Context<'_, N>,
    req: &CniRequest,
    att: &Attachment,
    cfg: &BridgeConfig,
    bridge: &LinkInfo,
    host_veth: &str,
    mac: Option<crate::netlink::MacAddr>,
    allocated: CniResult,
) -> Result<CniResult, CniError> {
    let ifname = att.ifname.as_str();
    // A bridge port carries no address of its own, IPv6 or not.
    let (hv, cl) = ctx.create_veth(host_veth, ifname, cfg.mtu, mac, Some(bridge.index), false)?;
    setup_port(ctx.host, cfg, bridge, &hv)?;
    let ips: Vec<IpConfig> = allocated
        .ips
        .iter()
        .map(|ip| IpConfig {
            interface: Some(2),
            gateway: ip
                .gateway
                .or_else(|| cfg.is_gateway.then(|| first_host(ip.address))),
            ..ip.clone()
        })
        .collect();
    let mut routes = allocated.routes.clone();
    if cfg.is_default_gateway {
        add_default_routes(&mut routes, &ips);
    }
    if cfg.disable_container_interface {
        ctx.ctr.set_down(cl.index)?;
    } else {
        container::configure(ctx.ctr, &cl, &ips, &routes, cfg.enabledad)?;
    }
    ctx.ensure_network_firewall(req, &ips, cfg.ip_masq, cfg.internal)?;
    if cfg.is_gateway {
        for ip in &ips {
            if let Some(gw) = ip.gateway {
                let gw_net = IpNetwork::new(gw, ip.address.prefix())
                    .map_err(|e| CniError::invalid_config("ipam", e.to_string()))?;
                ensure_gateway(ctx.host, bridge, gw_net, cfg.force_address)?;
            }
        }
        container::enable_forwarding(ctx.host, &ips)?;
    }
    Ok(CniResult {
        interfaces: vec![
            iface(bridge, None),
            iface(&hv, None),
            ctx.sandbox_iface(&cl),
        ],
        ips,
        routes,
        dns: allocated.dns,
    })
}

/// A stable, locally administered unicast MAC derived from the bridge's name.
fn bridge_mac(name: &str) -> crate::netlink::MacAddr {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(name.as_bytes());
    crate::netlink::MacAddr([0x02, d[0], d[1], d[2], d[3], d[4]])
}

/// Sets hairpin, isolation and VLANs on the host end (already a port of the bridge, and up).
fn setup_port<N: Netlink>(
    host: &N,
    cfg: &BridgeConfig,
    bridge: &LinkInfo,
    hv: &LinkInfo,
) -> Result<(), CniError> {
    if cfg.hairpin_mode {
        host.set_hairpin(hv.index, true)?;
    }
    if cfg.port_isolation {
        host.set_port_isolated(hv.index, true)?;
    }
    if cfg.vlan != 0 {
        host.bridge_vlan_add(hv.index, cfg.vlan, true, true, false)?;
        if !cfg.preserve_default_vlan {
            host.bridge_vlan_del(hv.index, 1, false)?;
        }
        if cfg.is_gateway {
            host.bridge_vlan_add(bridge.index, cfg.vlan, false, true, true)?;
        }
    }
    for vid in cfg.trunk_ids() {
        host.bridge_vlan_add(hv.index, vid, false, false, false)?;
    }
    Ok(())
}

/// Puts `gw` on the bridge. A different IPv4 address (or an overlapping IPv6 one) already there
/// is an error, or is replaced with `forceAddress`. EEXIST (the gateway is already there, as for
/// every container after the first, or a concurrent ADD put it there) ends it at once, so the
/// common case costs one netlink call and no dump of the host's addresses.
fn ensure_gateway<N: Netlink>(
    host: &N,
    bridge: &LinkInfo,
    gw: IpNetwork,
    force: bool,
) -> Result<(), CniError> {
    if gw.is_ipv6() {
        // The gateway must answer at once, not after a second of duplicate address detection.
        let key = format!("net/ipv6/conf/{}/accept_dad", bridge.name);
        if host.get_sysctl(&key)? != "0" {
            host.set_sysctl(&key, "0")?;
        }
    }
    match host.add_address(bridge.index, gw) {
        Err(e) if e.is_exists() => return Ok(()),
        other => other?,
    }
    let existing = host.addresses(Some(bridge.index))?;
    let conflicting: Vec<IpNetwork> = existing
        .iter()
        .map(|a| a.addr)
        .filter(|a| *a != gw && conflicts(*a, gw))
        .collect();
    if let Some(other) = conflicting.first().filter(|_| !force) {
        if let Err(e) = host.del_address(bridge.index, gw) {
            tracing::warn!(%e, %gw, "could not take back the gateway address");
        }
        return Err(CniError::invalid_config(
            "bridge",
            format!(
                "bridge {} already has address {other}, not the gateway {gw}; \
                 set forceAddress to replace it",
                bridge.name
            ),
        ));
    }
    for other in conflicting {
        host.del_address(bridge.index, other)?;
    }
    Ok(())
}

fn conflicts(have: IpNetwork, want: IpNetwork) -> bool {
    match (have, want) {
        (IpNetwork::V4(_), IpNetwork::V4(_)) => have != want,
        (IpNetwork::V6(h), IpNetwork::V6(_)) => {
            let link_local = h.ip().segments()[0] & 0xffc0 == 0xfe80;
            !link_local && (have.contains(want.ip()) || want.contains(have.ip()))
        }
        _ => false,
    }
}

/// Adds a default route via the gateway for each family that has none yet.
fn add_default_routes(routes: &mut Vec<CniRoute>, ips: &[IpConfig]) {
    let any4 = IpNetwork::from(std::net::IpAddr::from([0u8; 4]));
    let any6 = IpNetwork::from(std::net::IpAddr::from([0u16; 8]));
    for (family, any) in [(IpFamily::V4, any4), (IpFamily::V6, any6)] {
        let Ok(any) = IpNetwork::new(any.ip(), 0) else {
            continue;
        };
        let has_default = routes
            .iter()
            .any(|r| r.dst.prefix() == 0 && IpFamily::of(&r.dst.ip()) == family);
        if let Some(gw) = container::default_gateway(ips, family) {
            if !has_default {
                routes.push(CniRoute::new(any, Some(gw)));
            }
        }
    }
}

#[cfg(test)]
mod tests;
