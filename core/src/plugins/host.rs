//! The `host` plugin: for containers that share the host's network namespace.
//!
//! ADD and CHECK verify that `CNI_NETNS` is the namespace the plugin runs in and report the
//! host's interfaces and addresses; DEL, GC and STATUS have nothing to do.

use crate::cni::{
    Attachment, CniError, CniRequest, CniResult, Interface, IpConfig, Plugin, ValidAttachment,
};
use crate::netlink::{LinuxNetlink, Netlink};
use crate::netns::Netns;
use crate::plugins::kernel;

/// Fails unless `netns` is the namespace this process runs in.
pub fn ensure_same_netns(att: &Attachment, current: &Netns) -> Result<(), CniError> {
    let path = att.netns()?;
    let target = kernel::open_netns(path)?;
    if target.same_as(current) {
        Ok(())
    } else {
        Err(CniError::InvalidEnv {
            var: "CNI_NETNS",
            reason: format!(
                "{} is not the host's network namespace; the host plugin only serves \
                 containers that share the namespace it runs in",
                path.display()
            ),
        })
    }
}

/// The namespace's interfaces and their addresses, as a result.
pub fn report<N: Netlink>(nl: &N, sandbox: &str) -> Result<CniResult, CniError> {
    let links = nl.links()?;
    let addrs = nl.addresses(None)?;
    let mut result = CniResult::default();
    for (i, link) in links.iter().enumerate() {
        result.interfaces.push(Interface {
            name: link.name.clone(),
            mac: link.mac.map(|m| m.to_string()),
            mtu: Some(link.mtu),
            sandbox: Some(sandbox.to_string()),
            ..Default::default()
        });
        for a in addrs.iter().filter(|a| a.index == link.index) {
            result.ips.push(IpConfig {
                address: a.addr,
                gateway: None,
                interface: Some(i),
            });
        }
    }
    Ok(result)
}

/// The host plugin wired to the real kernel.
pub struct HostPlugin;

impl Plugin for HostPlugin {
    fn add(&self, _req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        ensure_same_netns(att, &Netns::current()?)?;
        let path = att.netns()?.display().to_string();
        report(&LinuxNetlink::new()?, &path)
    }

    fn del(&self, _req: &CniRequest, _att: &Attachment) -> Result<(), CniError> {
        Ok(())
    }

    fn check(&self, _req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        ensure_same_netns(att, &Netns::current()?)
    }

    fn gc(&self, _req: &CniRequest, _valid: &[ValidAttachment]) -> Result<(), CniError> {
        Ok(())
    }

    fn status(&self, _req: &CniRequest) -> Result<(), CniError> {
        Ok(())
    }
}
