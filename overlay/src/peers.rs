//! The peers an agent programs, and what each change from the store means for the kernel.
//! Pure: [`PeerSet`] decides, the dataplane applies. Entries already passed their record
//! checks; here a peer is refused when it claims this host's own slice or underlay address,
//! or a slice another accepted peer holds (first come keeps it): programming it would steal
//! another host's traffic.

use std::collections::BTreeMap;

use crate::records::HostEntry;
use crate::store::PeerChange;

/// What the kernel must do for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Program this peer.
    Add(HostEntry),
    /// Remove this peer's entries.
    Remove(HostEntry),
}

/// The accepted peers of one network (this host left out).
#[derive(Debug, Clone)]
pub struct PeerSet {
    own: HostEntry,
    peers: BTreeMap<String, HostEntry>,
}

impl PeerSet {
    /// An empty set for a host whose own entry is `own`.
    pub fn new(own: HostEntry) -> Self {
        Self {
            own,
            peers: BTreeMap::new(),
        }
    }

    /// The accepted peers, by host id.
    pub fn peers(&self) -> Vec<HostEntry> {
        self.peers.values().cloned().collect()
    }

    /// The accepted peer `host`.
    pub fn get(&self, host: &str) -> Option<&HostEntry> {
        self.peers.get(host)
    }

    /// How many peers are accepted.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// True when no peer is accepted.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    fn refusal(&self, e: &HostEntry) -> Option<String> {
        if e.slice == self.own.slice {
            return Some(format!("claims this host's slice {}", e.slice));
        }
        if e.underlay_ip == self.own.underlay_ip {
            return Some(format!(
                "claims this host's underlay address {}",
                e.underlay_ip
            ));
        }
        if e.vtep_mac.eq_ignore_ascii_case(&self.own.vtep_mac) {
            return Some(format!("claims this host's VTEP MAC {}", e.vtep_mac));
        }
        self.peers
            .values()
            .find(|p| {
                p.host != e.host
                    && (p.slice == e.slice
                        || p.underlay_ip == e.underlay_ip
                        || p.vtep_mac.eq_ignore_ascii_case(&e.vtep_mac))
            })
            .map(|p| {
                format!(
                    "clashes with host {} ({}, {})",
                    p.host, p.slice, p.underlay_ip
                )
            })
    }

    /// Replaces the set with `entries` (a fresh listing); returns the accepted peers.
    pub fn reset(&mut self, entries: Vec<HostEntry>) -> Vec<HostEntry> {
        self.peers.clear();
        for e in entries {
            if e.host == self.own.host {
                continue;
            }
            match self.refusal(&e) {
                Some(why) => tracing::warn!(host = %e.host, why, "overlay peer refused"),
                None => {
                    self.peers.insert(e.host.clone(), e);
                }
            }
        }
        self.peers()
    }

    /// Applies one change; returns what the kernel must do (nothing for this host's own
    /// entry, a refused one or one that did not change).
    pub fn apply(&mut self, change: PeerChange) -> Vec<Action> {
        match change {
            PeerChange::Joined(e) if e.host == self.own.host => Vec::new(),
            PeerChange::Joined(e) => {
                if self.peers.get(&e.host) == Some(&e) {
                    return Vec::new();
                }
                let old = self.peers.remove(&e.host);
                let mut out: Vec<Action> = old.into_iter().map(Action::Remove).collect();
                match self.refusal(&e) {
                    Some(why) => tracing::warn!(host = %e.host, why, "overlay peer refused"),
                    None => {
                        self.peers.insert(e.host.clone(), e.clone());
                        out.push(Action::Add(e));
                    }
                }
                out
            }
            PeerChange::Left(host) => self
                .peers
                .remove(&host)
                .map(Action::Remove)
                .into_iter()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(host: &str, n: u8) -> HostEntry {
        HostEntry {
            host: host.into(),
            underlay_ip: [192, 0, 2, n].into(),
            vtep_mac: format!("02:00:00:00:00:{n:02x}"),
            slice: format!("10.100.{n}.0/24").parse().unwrap(),
        }
    }

    #[test]
    fn joins_leaves_and_rejoins_become_kernel_actions() {
        let mut s = PeerSet::new(h("me", 1));
        let got = s.reset(vec![h("me", 1), h("b", 2), h("c", 3)]);
        assert_eq!(got, vec![h("b", 2), h("c", 3)]);
        assert_eq!(
            s.apply(PeerChange::Joined(h("d", 4))),
            vec![Action::Add(h("d", 4))]
        );
        assert_eq!(
            s.apply(PeerChange::Joined(h("d", 4))),
            vec![],
            "no change, no work"
        );
        let mut moved = h("d", 4);
        moved.underlay_ip = [192, 0, 2, 40].into();
        assert_eq!(
            s.apply(PeerChange::Joined(moved.clone())),
            vec![Action::Remove(h("d", 4)), Action::Add(moved)]
        );
        assert_eq!(
            s.apply(PeerChange::Left("b".into())),
            vec![Action::Remove(h("b", 2))]
        );
        assert_eq!(s.apply(PeerChange::Left("b".into())), vec![]);
        assert_eq!(s.apply(PeerChange::Joined(h("me", 1))), vec![]);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn a_peer_claiming_our_slice_or_anothers_is_refused() {
        let mut s = PeerSet::new(h("me", 1));
        let mut thief = h("x", 9);
        thief.slice = h("me", 1).slice;
        assert_eq!(s.apply(PeerChange::Joined(thief)), vec![]);
        s.apply(PeerChange::Joined(h("b", 2)));
        let mut thief = h("y", 8);
        thief.slice = h("b", 2).slice;
        assert_eq!(s.apply(PeerChange::Joined(thief.clone())), vec![]);
        let mut posing = h("z", 7);
        posing.underlay_ip = h("b", 2).underlay_ip;
        assert_eq!(s.apply(PeerChange::Joined(posing)), vec![]);
        // In a listing too, and the first holder keeps its slice.
        assert_eq!(s.reset(vec![h("b", 2), thief]), vec![h("b", 2)]);
    }
}
