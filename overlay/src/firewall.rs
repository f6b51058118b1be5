//! The firewall of an overlay network on this host, in berth's nftables table: masquerade of
//! traffic from the whole subnet to anywhere outside berth's networks, none between the
//! network's hosts (sources are kept), no connection tracking between its addresses (the path
//! is routed and stateless), and isolation from every other network, other overlays included. The agent sets it up at join for the whole subnet, whether or not this host runs
//! any of the network's containers, and records no host-local directory with it, so the
//! plugins' garbage collection (which removes networks left without attachments) keeps it.
//! Leaving removes it.

use berth_core::firewall::{Firewall, FirewallError, NetworkRules, NftFirewall};
use berth_core::plugins::attachments::StoredAttachments;
use ipnetwork::IpNetwork;

use crate::records::NetworkSpec;

fn rules(net: &NetworkSpec) -> NetworkRules {
    NetworkRules {
        name: net.name.clone(),
        subnets: vec![IpNetwork::V4(net.subnet)],
        masquerade: true,
        internal: false,
        untracked: true,
        ipam_dir: None,
    }
}

/// Sets up the network's firewall (cheap when it is in place).
pub fn ensure(net: &NetworkSpec) -> Result<(), FirewallError> {
    NftFirewall::new().ensure_network(&rules(net), &StoredAttachments)
}

/// Removes the network's firewall; Ok when it is gone already.
pub fn remove(net: &NetworkSpec) -> Result<(), FirewallError> {
    NftFirewall::new().remove_network(&rules(net))
}
