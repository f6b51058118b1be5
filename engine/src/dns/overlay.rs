//! Names on overlay networks, this host's side: what the node agent publishes of this host's
//! containers ([`local_names`], from their records) and poking the agent after attachments
//! changed ([`notify_agents`]), so the other hosts learn a new name as soon as `run` returns.
//! The other hosts' names come back through the agent's names file ([`super::table`]).

use std::net::{IpAddr, Ipv4Addr};

use berth_core::plugins::overlay::{PeerContainer, peer_names};

use crate::container::record::ContainerRecord;
use crate::network::{BUILTINS, NetworkStore};

/// This host's containers attached to `network`, with their names (those that are DNS names)
/// and IPv4 addresses there; `host` is left empty for the agent to fill in.
pub fn local_names(records: &[ContainerRecord], network: &str) -> Vec<PeerContainer> {
    records
        .iter()
        .filter_map(|rec| {
            let attachment = rec.network_settings.networks.get(network)?;
            let addrs: Vec<Ipv4Addr> = attachment
                .addresses()
                .into_iter()
                .filter_map(|a| match a {
                    IpAddr::V4(a) => Some(a),
                    IpAddr::V6(_) => None,
                })
                .collect();
            let names: Vec<String> = super::table::names_of(rec, network)
                .into_iter()
                .filter(|n| peer_names::is_dns_name(n))
                .collect();
            (!addrs.is_empty() && !names.is_empty()).then(|| PeerContainer {
                host: String::new(),
                id: rec.id.clone(),
                names,
                addrs,
            })
        })
        .collect()
}

/// Pokes the node agent of each overlay network among `networks` (best effort). Built-in
/// networks are never overlays: the default `berth run` reads no definition for this.
pub fn notify_agents<'a>(store: &NetworkStore, networks: impl IntoIterator<Item = &'a str>) {
    let mut dirs = Vec::new();
    for name in networks.into_iter().filter(|n| !BUILTINS.contains(n)) {
        let Ok(net) = store.get(name) else { continue };
        if let Some(dir) = net.spec.as_ref().and_then(|s| s.overlay_dir()) {
            if !dirs.contains(&dir) {
                peer_names::notify(&dir);
                dirs.push(dir);
            }
        }
    }
}
