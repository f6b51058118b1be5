//! The `veth` plugin: a routed point-to-point link between the container and the host (the
//! reference `ptp` plugin's job), without a bridge.
//!
//! Host side: the veth's host end carries the gateway address as a /32 (/128) and a /32 (/128)
//! route to each container address. Container side: its address, an on-link route to the
//! gateway, the subnet via the gateway instead of on-link, then IPAM's routes (typically the
//! default route via the gateway).

use std::os::fd::AsFd;

use ipnetwork::IpNetwork;
use serde::Deserialize;

use crate::cni::delegate;
use crate::cni::{
    Attachment, CniError, CniRequest, CniResult, IpConfig, Plugin, Route as CniRoute,
    ValidAttachment,
};
use crate::firewall::NftFirewall;
use crate::netlink::{LinkInfo, LinuxNetlink, Netlink, Route, RouteScope};
use crate::plugins::builtin_exec::BuiltinExec;
use crate::plugins::veth_pair::{Context, first_host, iface};
use crate::plugins::{container, kernel, veth_pair};

/// The veth plugin's own keys (those of the reference `ptp`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VethConfig {
    /// Masquerade traffic leaving the network (needs the firewall layer).
    #[serde(default)]
    pub ip_masq: bool,
    /// berth extension: no way out of the network (see the bridge plugin).
    #[serde(default)]
    pub internal: bool,
    /// MTU of both ends.
    #[serde(default)]
    pub mtu: Option<u32>,
}

impl VethConfig {
    /// Parses and validates the keys; IPAM is required.
    pub fn parse(req: &CniRequest) -> Result<(Self, String), CniError> {
        let c: VethConfig = req.config.plugin_keys()?;
        if c.mtu.is_some_and(|m| !(68..=65535).contains(&m)) {
            return Err(CniError::invalid_config("mtu", "must be 68..=65535"));
        }
        let ipam = req
            .config
            .ipam_type()
            .ok_or_else(|| CniError::invalid_config("ipam", "the veth plugin needs IPAM"))?;
        Ok((c, ipam.to_string()))
    }
}

/// veth ADD.
pub fn add<N: Netlink>(
    ctx: &Context<'_, N>,
    req: &CniRequest,
    att: &Attachment,
    cfg: &VethConfig,
    ipam: &str,
) -> Result<CniResult, CniError> {
    ctx.ensure_ifname_free(att)?;
    let mac = container::requested_mac(req)?;
    let allocated = delegate::ipam_add(ctx.exec, req, ipam)?;
    let host_veth = container::host_veth_name(&att.container_id, &att.ifname);
    let result = attach(ctx, req, att, cfg, &host_veth, mac, allocated);
    if result.is_err() {
        ctx.undo(req, &host_veth);
    }
    let mut result = result?;
    if let Some(dns) = req.config.net.dns.clone().filter(|d| !d.is_empty()) {
        result.dns = dns;
    }
    Ok(result)
}

fn attach<N: Netlink>(
    ctx: &Context<'_, N>,
    req: &CniRequest,
    att: &Attachment,
    cfg: &VethConfig,
    host_veth: &str,
    mac: Option<crate::netlink::MacAddr>,
    allocated: CniResult,
) -> Result<CniResult, CniError> {
    let v6 = allocated.ips.iter().any(|ip| ip.address.is_ipv6());
    let (hv, cl) = ctx.create_veth(host_veth, att.ifname.as_str(), cfg.mtu, mac, None, v6)?;
    let ips: Vec<IpConfig> = allocated
        .ips
        .iter()
        .map(|ip| IpConfig {
            interface: Some(1),
            gateway: Some(ip.gateway.unwrap_or_else(|| first_host(ip.address))),
            ..ip.clone()
        })
        .collect();
    setup_container(ctx.ctr, &cl, &ips, &allocated.routes)?;
    setup_host(ctx.host, &hv, &ips)?;
    ctx.ensure_network_firewall(req, &ips, cfg.ip_masq, cfg.internal)?;
    container::enable_forwarding(ctx.host, &ips)?;
    Ok(CniResult {
        interfaces: vec![iface(&hv, None), ctx.sandbox_iface(&cl)],
        ips,
        routes: allocated.routes,
        dns: allocated.dns,
    })
}

/// Addresses, then the point-to-point routes replacing the on-link subnet route, then IPAM's.
fn setup_container<N: Netlink>(
    ctr: &N,
    cl: &LinkInfo,
    ips: &[IpConfig],
    routes: &[CniRoute],
) -> Result<(), CniError> {
    container::configure(ctr, cl, ips, &[], false)?;
    for ip in ips {
        let Some(gw) = ip.gateway else { continue };
        let subnet = IpNetwork::new(ip.address.network(), ip.address.prefix())
            .map_err(|e| CniError::invalid_config("ipam", e.to_string()))?;
        let on_link = Route {
            oif: Some(cl.index),
            ..Route::new(subnet)
        };
        if let Err(e) = ctr.del_route(&on_link) {
            if !e.is_not_found() {
                return Err(e.into());
            }
        }
        ctr.add_route(&Route {
            oif: Some(cl.index),
            scope: RouteScope::Link,
            ..Route::new(host_prefix(gw))
        })?;
        if subnet.prefix() != host_prefix(gw).prefix() {
            ctr.add_route(&Route {
                gw: Some(gw),
                oif: Some(cl.index),
                ..Route::new(subnet)
            })?;
        }
    }
    for r in routes {
        container::add_route(ctr, &container::kernel_route(r, cl.index, ips))?;
    }
    Ok(())
}

/// The gateway as a host address on the host end, and a host route to each container address.
fn setup_host<N: Netlink>(host: &N, hv: &LinkInfo, ips: &[IpConfig]) -> Result<(), CniError> {
    for ip in ips {
        if let Some(gw) = ip.gateway {
            match host.add_address(hv.index, host_prefix(gw)) {
                Err(e) if e.is_exists() => {}
                other => other?,
            }
        }
        host.add_route(&Route {
            oif: Some(hv.index),
            scope: RouteScope::Link,
            ..Route::new(host_prefix(ip.address.ip()))
        })?;
    }
    Ok(())
}

fn host_prefix(ip: std::net::IpAddr) -> IpNetwork {
    let len = if ip.is_ipv4() { 32 } else { 128 };
    // A full-length prefix is always valid for its family.
    IpNetwork::new(ip, len).unwrap_or_else(|_| IpNetwork::from(ip))
}

/// veth CHECK: the container's interface, addresses and routes, the host end, then IPAM.
pub fn check<N: Netlink>(
    host: &N,
    ctr: &N,
    exec: &dyn crate::cni::PluginExec,
    req: &CniRequest,
    att: &Attachment,
    ipam: &str,
) -> Result<(), CniError> {
    let prev = req
        .config
        .prev_result()?
        .ok_or_else(|| CniError::invalid_config("prevResult", "CHECK needs the result of ADD"))?;
    let ifname = att.ifname.as_str();
    let mac = prev
        .interfaces
        .iter()
        .find(|i| i.name == ifname && i.sandbox.is_some())
        .and_then(|i| i.mac.as_deref());
    container::check(ctr, ifname, mac, &prev.ips, &prev.routes)?;
    let host_veth = container::host_veth_name(&att.container_id, &att.ifname);
    if host.link_by_name(&host_veth)?.is_none() {
        return Err(CniError::CheckFailed {
            reason: format!("host veth {host_veth} is missing"),
        });
    }
    delegate::ipam_check(exec, req, ipam)
}

/// The veth plugin wired to the real kernel and the real IPAM binary.
pub struct VethPlugin;

impl Plugin for VethPlugin {
    fn add(&self, req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        let (cfg, ipam) = VethConfig::parse(req)?;
        let netns = att.netns()?;
        let k = kernel::open(netns)?;
        let exec = BuiltinExec::new(req.cni_path.clone());
        let ctx = Context {
            host: &k.host,
            ctr: &k.ctr,
            ctr_ns: k.ns.as_fd(),
            netns,
            exec: &exec,
            fw: &NftFirewall::new(),
        };
        add(&ctx, req, att, &cfg, &ipam)
    }

    fn del(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        VethConfig::parse(req)?;
        let host = LinuxNetlink::new()?;
        let exec = BuiltinExec::new(req.cni_path.clone());
        let open_ctr = || kernel::open_ctr_for_del(att.netns.as_deref());
        veth_pair::del(&host, open_ctr, &exec, req, att)
    }

    fn check(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let (_, ipam) = VethConfig::parse(req)?;
        let k = kernel::open(att.netns()?)?;
        let exec = BuiltinExec::new(req.cni_path.clone());
        check(&k.host, &k.ctr, &exec, req, att, &ipam)
    }

    fn gc(&self, req: &CniRequest, _valid: &[ValidAttachment]) -> Result<(), CniError> {
        let (_, ipam) = VethConfig::parse(req)?;
        delegate::ipam_gc(&BuiltinExec::new(req.cni_path.clone()), req, &ipam)?;
        veth_pair::gc_firewalls(&NftFirewall::new(), req);
        Ok(())
    }

    fn status(&self, req: &CniRequest) -> Result<(), CniError> {
        let (_, ipam) = VethConfig::parse(req)?;
        delegate::ipam_status(&BuiltinExec::new(req.cni_path.clone()), req, &ipam)
    }
}
