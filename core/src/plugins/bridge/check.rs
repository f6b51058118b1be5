//! bridge CHECK: the bridge, the host port and the container's interface, addresses and routes
//! still match the result of ADD (`prevResult`), then IPAM's CHECK.

use super::config::BridgeConfig;
use crate::cni::delegate;
use crate::cni::{Attachment, CniError, CniRequest, CniResult, PluginExec};
use crate::netlink::{LinkKind, Netlink};
use crate::plugins::container;

/// Verifies the attachment described by `prevResult`.
pub fn check<N: Netlink>(
    host: &N,
    ctr: &N,
    exec: &dyn PluginExec,
    req: &CniRequest,
    att: &Attachment,
    cfg: &BridgeConfig,
) -> Result<(), CniError> {
    let prev = req
        .config
        .prev_result()?
        .ok_or_else(|| CniError::invalid_config("prevResult", "CHECK needs the result of ADD"))?;
    let fail = |reason: String| CniError::CheckFailed { reason };
    let br = host
        .link_by_name(&cfg.bridge)?
        .ok_or_else(|| fail(format!("bridge {} is missing", cfg.bridge)))?;
    if br.kind != Some(LinkKind::Bridge) {
        return Err(fail(format!("{} is not a bridge", cfg.bridge)));
    }
    let ifname = att.ifname.as_str();
    let ctr_idx = prev
        .interfaces
        .iter()
        .position(|i| i.name == ifname && i.sandbox.is_some());
    let mac = ctr_idx.and_then(|i| prev.interfaces[i].mac.as_deref());
    let ips = ips_of(&prev, ctr_idx);
    let link = container::check(ctr, ifname, mac, &ips, &prev.routes)?;
    check_host_port(host, &prev, &br.index, &link, cfg)?;
    match req.config.ipam_type() {
        Some(ipam) => delegate::ipam_check(exec, req, ipam),
        None => Ok(()),
    }
}

fn ips_of(prev: &CniResult, idx: Option<usize>) -> Vec<crate::cni::IpConfig> {
    prev.ips
        .iter()
        .filter(|ip| ip.interface.is_none() || ip.interface == idx)
        .cloned()
        .collect()
}

/// The host end named in the result exists and is a port of the bridge.
fn check_host_port<N: Netlink>(
    host: &N,
    prev: &CniResult,
    bridge_index: &u32,
    _ctr_link: &crate::netlink::LinkInfo,
    cfg: &BridgeConfig,
) -> Result<(), CniError> {
    let fail = |reason: String| CniError::CheckFailed { reason };
    let Some(hv) = prev
        .interfaces
        .iter()
        .find(|i| i.sandbox.is_none() && i.name != cfg.bridge)
    else {
        return Err(fail("prevResult names no host veth".into()));
    };
    let link = host
        .link_by_name(&hv.name)?
        .ok_or_else(|| fail(format!("host veth {} is missing", hv.name)))?;
    if link.master != Some(*bridge_index) {
        return Err(fail(format!("{} is not a port of {}", hv.name, cfg.bridge)));
    }
    Ok(())
}
