//! The veth pair shared by the bridge and veth plugins: what ADD works with, creating the pair
//! with the container end born inside the netns, undoing a failed ADD, and DEL.
//!
//! DEL is idempotent and tolerant: the netns, the interface and the reservation may each already
//! be gone. The host end's name is derived from the attachment, so the pair is removed from the
//! host side without entering the container's namespace; only when no such host end exists (an
//! interface someone else created) is the container's namespace entered. DEL returns once the
//! kernel has unlisted the pair and leaves the slow rest of the teardown (an RCU barrier) to a
//! detached child ([`Netlink::remove_link`]).

use std::net::IpAddr;
use std::os::fd::BorrowedFd;
use std::path::Path;

use ipnetwork::IpNetwork;

use crate::cni::delegate;
use crate::cni::{Attachment, CniError, CniRequest, Interface, IpConfig, PluginExec};
use crate::firewall::{Firewall, NetworkRules};
use crate::netlink::{LinkInfo, MacAddr, Netlink, VethSpec};
use crate::plugins::attachments::{self, StoredAttachments};
use crate::plugins::container;

/// What ADD works with: both netlink handles, the container's netns, and the IPAM executor.
pub struct Context<'a, N: Netlink> {
    /// Netlink in the host's namespace (where the plugin runs).
    pub host: &'a N,
    /// Netlink in the container's namespace.
    pub ctr: &'a N,
    /// The container's namespace, for creating the veth peer inside it.
    pub ctr_ns: BorrowedFd<'a>,
    /// `CNI_NETNS`, reported as the container interface's sandbox.
    pub netns: &'a Path,
    /// Runs the IPAM plugin.
    pub exec: &'a dyn PluginExec,
    /// The host's firewall (masquerade and isolation).
    pub fw: &'a dyn Firewall,
}

impl<N: Netlink> Context<'_, N> {
    /// Refuses an ADD whose interface already exists in the container.
    pub(crate) fn ensure_ifname_free(&self, att: &Attachment) -> Result<(), CniError> {
        if self.ctr.link_by_name(att.ifname.as_str())?.is_some() {
            return Err(CniError::InterfaceExists {
                ifname: att.ifname.to_string(),
                netns: self.netns.display().to_string(),
            });
        }
        Ok(())
    }

    /// Creates the pair in one message, the host end already a port of `master` when given,
    /// then brings the host end up. Without `host_ipv6` the host end gets no IPv6 link-local
    /// address (it needs none), which keeps the kernel's per-interface IPv6 background work from
    /// growing with every container. A host end left over from a crashed ADD of the same
    /// attachment (its name is derived from the attachment) is removed first. Returns (host end,
    /// container end).
    pub(crate) fn create_veth(
        &self,
        host_veth: &str,
        ifname: &str,
        mtu: Option<u32>,
        mac: Option<MacAddr>,
        master: Option<u32>,
        host_ipv6: bool,
    ) -> Result<(LinkInfo, LinkInfo), CniError> {
        let spec = VethSpec {
            name: host_veth,
            peer: ifname,
            peer_ns: self.ctr_ns,
            mtu,
            peer_mac: mac,
            master,
            up: host_ipv6,
        };
        match self.host.create_veth_with(&spec) {
            Err(e) if e.is_exists() && self.host.link_by_name(host_veth)?.is_some() => {
                tracing::info!(host_veth, "removing a stale veth from an earlier ADD");
                self.host.delete_link(host_veth)?;
                self.host.create_veth_with(&spec)?;
            }
            other => other?,
        }
        let hv = lookup(self.host, host_veth)?;
        if !host_ipv6 {
            self.host.set_ipv6_link_local_off(hv.index)?;
            self.host.set_up(hv.index)?;
        }
        Ok((hv, lookup(self.ctr, ifname)?))
    }

    /// Undoes a failed ADD: deletes the pair and releases the address. Best effort.
    pub(crate) fn undo(&self, req: &CniRequest, host_veth: &str) {
        if let Err(e) = self.host.delete_link(host_veth) {
            tracing::warn!(%e, host_veth, "rollback: could not delete veth");
        }
        if let Some(t) = req.config.ipam_type() {
            if let Err(e) = delegate::ipam_del(self.exec, req, t) {
                tracing::warn!(%e, "rollback: IPAM DEL failed");
            }
        }
    }

    /// Sets up the network's firewall when asked for (`ipMasq` or `internal`): masquerade of
    /// its subnets and isolation from other networks, once per network, not per container.
    pub(crate) fn ensure_network_firewall(
        &self,
        req: &CniRequest,
        ips: &[IpConfig],
        masquerade: bool,
        internal: bool,
    ) -> Result<(), CniError> {
        if !masquerade && !internal {
            return Ok(());
        }
        let mut subnets: Vec<IpNetwork> = Vec::new();
        for ip in ips {
            let net = IpNetwork::new(ip.address.network(), ip.address.prefix())
                .map_err(|e| CniError::invalid_config("ipam", e.to_string()))?;
            if !subnets.contains(&net) {
                subnets.push(net);
            }
        }
        let rules = NetworkRules {
            name: req.config.net.name.clone(),
            subnets,
            masquerade,
            internal,
            untracked: false,
            ipam_dir: attachments::ipam_dir(&req.config),
        };
        Ok(self.fw.ensure_network(&rules, &StoredAttachments)?)
    }

    /// The container end as a result interface.
    pub(crate) fn sandbox_iface(&self, link: &LinkInfo) -> Interface {
        iface(link, Some(self.netns.display().to_string()))
    }
}

/// GC's firewall part for the plugins that set up network firewalls: removes the chains and
/// elements of every network left without attachments (this one's judged by its config's
/// host-local data directory; the others' by the one their elements record). A failure only
/// warns: addresses were already collected.
pub fn gc_firewalls<F: Firewall>(fw: &F, req: &CniRequest) {
    let name = &req.config.net.name;
    let dir = attachments::ipam_dir(&req.config);
    match fw.remove_unused_networks(name, dir.as_deref(), &StoredAttachments) {
        Ok(removed) if !removed.is_empty() => {
            tracing::info!(
                ?removed,
                "removed the firewall of networks without attachments"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "GC of network firewalls"),
    }
}

/// Releases the IPAM reservation and removes the veth pair. Keeps going after a failure and
/// returns the first error.
pub fn del<N: Netlink>(
    host: &N,
    open_ctr: impl FnOnce() -> Result<Option<N>, CniError>,
    exec: &dyn PluginExec,
    req: &CniRequest,
    att: &Attachment,
) -> Result<(), CniError> {
    let mut first_err = None;
    if let Some(ipam) = req.config.ipam_type() {
        if let Err(e) = delegate::ipam_del(exec, req, ipam) {
            tracing::warn!(%e, "IPAM DEL failed");
            first_err.get_or_insert(e);
        }
    }
    if let Err(e) = remove_pair(host, open_ctr, att) {
        tracing::warn!(%e, "removing the veth failed");
        first_err.get_or_insert(e);
    }
    first_err.map_or(Ok(()), Err)
}

fn remove_pair<N: Netlink>(
    host: &N,
    open_ctr: impl FnOnce() -> Result<Option<N>, CniError>,
    att: &Attachment,
) -> Result<(), CniError> {
    let host_veth = container::host_veth_name(&att.container_id, &att.ifname);
    if host.remove_link(&host_veth)? {
        return Ok(());
    }
    if let Some(ctr) = open_ctr()? {
        ctr.remove_link(att.ifname.as_str())?;
    }
    Ok(())
}

/// The link named `name`, which must exist.
pub(crate) fn lookup<N: Netlink>(nl: &N, name: &str) -> Result<LinkInfo, CniError> {
    nl.link_by_name(name)?.ok_or_else(|| CniError::Io {
        op: format!("find link {name} just created"),
        source: std::io::Error::from_raw_os_error(libc::ENODEV),
    })
}

/// A link as a result interface.
pub(crate) fn iface(link: &LinkInfo, sandbox: Option<String>) -> Interface {
    Interface {
        name: link.name.clone(),
        mac: link.mac.map(|m| m.to_string()),
        mtu: Some(link.mtu),
        sandbox,
        ..Default::default()
    }
}

/// The subnet's first host address (the reference plugins' default gateway).
pub(crate) fn first_host(addr: IpNetwork) -> IpAddr {
    match addr {
        IpNetwork::V4(n) => IpAddr::V4((u32::from(n.network()) + 1).into()),
        IpNetwork::V6(n) => IpAddr::V6((u128::from(n.network()) + 1).into()),
    }
}
