//! The other hosts' container names of one network, as this host's agent hands them to berth's
//! DNS server. Pure: the store's entries come in ([`RemoteNames::reset`], [`RemoteNames::apply`]),
//! and [`RemoteNames::file`] says what the DNS server may answer: entries of accepted peers
//! whose addresses lie in that peer's slice. An entry of a host that is not (yet) a peer waits
//! for it (the names watch may run ahead of the peers watch); one claiming addresses outside
//! its host's slice is refused with a warning, once, and never answered.

use std::collections::{BTreeMap, BTreeSet};

use berth_core::plugins::overlay::{PeerContainer, PeerNames};

use crate::name_store::NameChange;
use crate::peers::PeerSet;

/// Everyone's entries of one network, this host's left out.
#[derive(Debug, Clone)]
pub struct RemoteNames {
    own: String,
    /// By (host, id).
    entries: BTreeMap<(String, String), PeerContainer>,
    /// Entries warned about, so each refusal is logged once.
    refused: BTreeSet<(String, String)>,
}

impl RemoteNames {
    /// An empty view for the host `own`.
    pub fn new(own: &str) -> Self {
        Self {
            own: own.to_owned(),
            entries: BTreeMap::new(),
            refused: BTreeSet::new(),
        }
    }

    /// Replaces the entries with a fresh listing.
    pub fn reset(&mut self, listed: Vec<PeerContainer>) {
        self.entries.clear();
        for c in listed {
            self.apply(NameChange::Put(c));
        }
    }

    /// Applies one change from the watch.
    pub fn apply(&mut self, change: NameChange) {
        match change {
            NameChange::Put(c) if c.host != self.own => {
                let key = (c.host.clone(), c.id.clone());
                self.refused.remove(&key);
                self.entries.insert(key, c);
            }
            NameChange::Put(_) => {}
            NameChange::Gone { host, id } => {
                let key = (host, id);
                self.refused.remove(&key);
                self.entries.remove(&key);
            }
        }
    }

    /// What the DNS server may answer for `network`, given the accepted `peers`.
    pub fn file(&mut self, network: &str, peers: &PeerSet) -> PeerNames {
        let mut containers = Vec::new();
        for (key, c) in &self.entries {
            let Some(peer) = peers.get(&c.host) else {
                continue;
            };
            match c.check(Some(peer.slice)) {
                Ok(()) => containers.push(c.clone()),
                Err(why) => {
                    if self.refused.insert(key.clone()) {
                        tracing::warn!(network, host = %c.host, id = %c.id, error = %why, "overlay name entry refused");
                    }
                }
            }
        }
        PeerNames {
            network: network.to_owned(),
            containers,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::records::HostEntry;
    use crate::store::PeerChange;

    fn host(name: &str, n: u8) -> HostEntry {
        HostEntry {
            host: name.into(),
            underlay_ip: [192, 0, 2, n].into(),
            vtep_mac: format!("02:00:00:00:00:{n:02x}"),
            slice: format!("10.100.{n}.0/24").parse().unwrap(),
        }
    }

    fn ctr(host: &str, id: &str, name: &str, addr: [u8; 4]) -> PeerContainer {
        PeerContainer {
            host: host.into(),
            id: id.into(),
            names: vec![name.into()],
            addrs: vec![Ipv4Addr::from(addr)],
        }
    }

    #[test]
    fn only_accepted_peers_entries_inside_their_slice_are_answered() {
        let mut peers = PeerSet::new(host("me", 1));
        peers.apply(PeerChange::Joined(host("b", 2)));
        let mut r = RemoteNames::new("me");
        r.reset(vec![
            ctr("b", "1", "web", [10, 100, 2, 5]),
            // Claims an address of this host's slice: refused.
            ctr("b", "2", "thief", [10, 100, 1, 5]),
            // This host's own entry: served from local records instead.
            ctr("me", "3", "mine", [10, 100, 1, 6]),
            // A host that is not a peer yet: waits.
            ctr("c", "4", "early", [10, 100, 3, 5]),
        ]);
        let names = |f: PeerNames| -> Vec<String> {
            f.containers.iter().map(|c| c.names[0].clone()).collect()
        };
        assert_eq!(names(r.file("ov", &peers)), ["web"]);
        peers.apply(PeerChange::Joined(host("c", 3)));
        assert_eq!(names(r.file("ov", &peers)), ["web", "early"]);
        r.apply(NameChange::Gone {
            host: "b".into(),
            id: "1".into(),
        });
        assert_eq!(names(r.file("ov", &peers)), ["early"]);
        // A peer that leaves takes its names along, even before their keys expire.
        peers.apply(PeerChange::Left("c".into()));
        assert!(r.file("ov", &peers).containers.is_empty());
        // A fixed entry is answered again.
        r.apply(NameChange::Put(ctr("b", "2", "thief", [10, 100, 2, 9])));
        assert_eq!(names(r.file("ov", &peers)), ["thief"]);
    }
}
