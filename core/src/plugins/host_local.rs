//! The `host-local` IPAM plugin: the protocol side of [`crate::ipam`].

use crate::cni::{
    Attachment, CniError, CniRequest, CniResult, IpConfig, Plugin, Route, ValidAttachment,
};
use crate::ipam::{self, HostLocalConfig};

/// host-local wired to its on-disk store.
pub struct HostLocalPlugin;

fn config(req: &CniRequest) -> Result<HostLocalConfig, CniError> {
    Ok(HostLocalConfig::from_net_config(&req.config.raw)?)
}

fn network(req: &CniRequest) -> &str {
    &req.config.net.name
}

impl Plugin for HostLocalPlugin {
    fn add(&self, req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        let cfg = config(req)?;
        let ip_arg = req.args.get("IP").map(|ip| format!("IP={ip}"));
        let requested = ipam::requested_ips(&req.config.raw, ip_arg.as_deref())?;
        let id = att.container_id.as_str();
        let alloc = ipam::allocate(network(req), &cfg, id, att.ifname.as_str(), &requested)?;
        Ok(CniResult {
            interfaces: Vec::new(),
            ips: alloc
                .ips
                .iter()
                .map(|ip| IpConfig {
                    address: ip.address,
                    gateway: ip.gateway,
                    interface: None,
                })
                .collect(),
            routes: alloc
                .routes
                .iter()
                .map(|r| Route::new(r.dst, r.gw))
                .collect(),
            dns: alloc.dns.unwrap_or_default(),
        })
    }

    fn del(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let cfg = config(req)?;
        let id = att.container_id.as_str();
        Ok(ipam::release(network(req), &cfg, id, att.ifname.as_str())?)
    }

    fn check(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let cfg = config(req)?;
        let id = att.container_id.as_str();
        ipam::check(network(req), &cfg, id, att.ifname.as_str())?;
        Ok(())
    }

    fn gc(&self, req: &CniRequest, valid: &[ValidAttachment]) -> Result<(), CniError> {
        let cfg = config(req)?;
        let valid: Vec<(String, String)> = valid
            .iter()
            .map(|v| (v.container_id.clone(), v.ifname.clone()))
            .collect();
        let released = ipam::gc(network(req), &cfg, &valid)?;
        tracing::info!(released = released.len(), "host-local GC");
        Ok(())
    }

    fn status(&self, req: &CniRequest) -> Result<(), CniError> {
        Ok(ipam::status(network(req), &config(req)?)?)
    }
}
