//! `FakeFirewall`: an in-memory [`Firewall`] for unit tests of the plugins.

use std::path::Path;
use std::sync::Mutex;

use super::{
    AttachmentProbe, Firewall, FirewallError, NetworkRules, Owner, PortForward, Published,
};

/// Records networks and published ports in memory, refusing taken ports like the real one.
#[derive(Debug, Default)]
pub struct FakeFirewall {
    /// Networks set up, by name.
    pub networks: Mutex<Vec<NetworkRules>>,
    /// Published ports with their owners.
    pub ports: Mutex<Vec<(PortForward, Owner)>>,
    /// The host ports whose UDP flows were forgotten, call by call.
    pub forgotten: Mutex<Vec<Vec<u16>>>,
}

fn same_key(a: &PortForward, b: &PortForward) -> bool {
    a.proto == b.proto
        && a.host_ip == b.host_ip
        && a.host_port == b.host_port
        && a.target.is_ipv4() == b.target.is_ipv4()
}

/// Publishing both would make one shadow the other: same port, and one of them on every address.
fn clashes(a: &PortForward, b: &PortForward) -> bool {
    a.proto == b.proto
        && a.host_port == b.host_port
        && a.target.is_ipv4() == b.target.is_ipv4()
        && (a.host_ip == b.host_ip || a.host_ip.is_none() || b.host_ip.is_none())
}

impl Firewall for FakeFirewall {
    fn ensure_network(
        &self,
        net: &NetworkRules,
        _probe: &dyn AttachmentProbe,
    ) -> Result<(), FirewallError> {
        let mut nets = self.networks.lock().unwrap_or_else(|e| e.into_inner());
        if !nets.iter().any(|n| n.name == net.name) {
            nets.push(net.clone());
        }
        Ok(())
    }

    fn remove_network(&self, net: &NetworkRules) -> Result<(), FirewallError> {
        let mut nets = self.networks.lock().unwrap_or_else(|e| e.into_inner());
        nets.retain(|n| n.name != net.name);
        Ok(())
    }

    fn remove_unused_networks(
        &self,
        _network: &str,
        _ipam_dir: Option<&Path>,
        probe: &dyn AttachmentProbe,
    ) -> Result<Vec<String>, FirewallError> {
        let ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        let mut nets = self.networks.lock().unwrap_or_else(|e| e.into_inner());
        let mut removed = Vec::new();
        nets.retain(|n| {
            let used = ports.iter().any(|(_, o)| o.network == n.name)
                || probe.has_attachments(&n.name, n.ipam_dir.as_deref());
            if !used {
                removed.push(n.name.clone());
            }
            used
        });
        Ok(removed)
    }

    fn publish(&self, owner: &Owner, forwards: &[PortForward]) -> Result<(), FirewallError> {
        let mut ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        for pf in forwards {
            let taken = ports.iter().find(|(p, o)| clashes(p, pf) && o != owner);
            if let Some((_, holder)) = taken {
                return Err(FirewallError::PortTaken {
                    forward: *pf,
                    holder: holder.to_string(),
                });
            }
        }
        ports.extend(forwards.iter().map(|pf| (*pf, owner.clone())));
        Ok(())
    }

    fn unpublish(
        &self,
        owner: &Owner,
        forwards: Option<&[PortForward]>,
    ) -> Result<usize, FirewallError> {
        let mut ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        let before = ports.len();
        ports.retain(|(p, o)| {
            let listed = forwards.is_none_or(|list| list.iter().any(|f| same_key(f, p)));
            !(o == owner && listed)
        });
        Ok(before - ports.len())
    }

    fn published(&self) -> Result<Vec<Published>, FirewallError> {
        let ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        Ok(ports
            .iter()
            .map(|(p, o)| Published {
                forward: *p,
                owner: Some(o.clone()),
            })
            .collect())
    }

    fn forget_udp_flows(&self, ports: &[u16]) -> Result<usize, FirewallError> {
        let mut f = self.forgotten.lock().unwrap_or_else(|e| e.into_inner());
        f.push(ports.to_vec());
        Ok(0)
    }
}
