//! `FakeNetlink`: an in-memory [`Netlink`] for unit tests without root.
//!
//! Each `FakeNetlink` models one network namespace: it starts with `lo` (down), and answers
//! like the kernel for the common cases (EEXIST for duplicate names, addresses and routes,
//! ENODEV for missing links, ENETUNREACH for a gateway that is not on-link, ESRCH for a missing
//! route). Every call is recorded as a [`NetlinkCall`].
//!
//! Veth peers: build one fake per namespace, and tell the host fake where peers go, either for
//! every `create_veth` ([`FakeNetlink::link_peer_namespace`]) or per namespace fd
//! ([`FakeNetlink::add_peer_namespace`], keyed by the fd's device and inode, so a real
//! [`crate::netns::Netns`] or any open file can stand for a namespace). `create_veth` then puts
//! the peer, with its final name, into that fake; deleting either end deletes both.
//! Clones share state, so a test can keep a handle while the code under test owns another.
//!
//! VXLAN devices keep their [`VxlanInfo`], FDB and neighbour entries on their [`FakeLink`];
//! deleting the underlay deletes the VXLAN devices on it, as the kernel does.

mod ops;
mod state;
#[cfg(test)]
mod tests;
mod vxlan;
#[cfg(test)]
mod vxlan_tests;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use ipnetwork::IpNetwork;

use self::state::{State, err};
use crate::netlink::{
    FdbEntry, IpFamily, LinkInfo, LinkKind, MacAddr, Neighbour, NetlinkError, Route, VxlanInfo,
};

/// One recorded call on a [`FakeNetlink`], with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // each variant mirrors the trait method of the same name
pub enum NetlinkCall {
    LinkByName(String),
    LinkByIndex(u32),
    Links,
    EnsureBridge {
        name: String,
        mtu: Option<u32>,
        mac: Option<MacAddr>,
        vlan_filtering: bool,
    },
    CreateVeth {
        name: String,
        peer: String,
        mtu: Option<u32>,
        peer_mac: Option<MacAddr>,
    },
    DeleteLink(String),
    SetUp(u32),
    SetDown(u32),
    SetMaster {
        index: u32,
        master: u32,
    },
    SetMtu {
        index: u32,
        mtu: u32,
    },
    SetMac {
        index: u32,
        mac: MacAddr,
    },
    SetPromisc {
        index: u32,
        on: bool,
    },
    SetHairpin {
        index: u32,
        on: bool,
    },
    SetPortIsolated {
        index: u32,
        on: bool,
    },
    BridgeVlanAdd {
        index: u32,
        vid: u16,
        pvid: bool,
        untagged: bool,
        on_bridge_self: bool,
    },
    BridgeVlanDel {
        index: u32,
        vid: u16,
        on_bridge_self: bool,
    },
    Addresses(Option<u32>),
    AddAddress {
        index: u32,
        addr: IpNetwork,
    },
    DelAddress {
        index: u32,
        addr: IpNetwork,
    },
    Routes(IpFamily),
    AddRoute(Route),
    DelRoute(Route),
    SetSysctl {
        key: String,
        value: String,
    },
    GetSysctl(String),
    CreateVxlan {
        name: String,
        vni: u32,
        local: Ipv4Addr,
        port: u16,
        underlay: Option<u32>,
        mtu: Option<u32>,
        mac: Option<MacAddr>,
    },
    VxlanInfo(u32),
    FdbEntries(u32),
    FdbReplace {
        index: u32,
        entry: FdbEntry,
    },
    FdbDel {
        index: u32,
        entry: FdbEntry,
    },
    Neighbours(u32),
    NeighReplace {
        index: u32,
        neighbour: Neighbour,
    },
    NeighDel {
        index: u32,
        ip: IpAddr,
    },
}

/// A link in the fake, with the bridge-port and VLAN state that [`LinkInfo`] does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLink {
    /// What `link_by_name` reports.
    pub info: LinkInfo,
    /// `bridge link … hairpin on`.
    pub hairpin: bool,
    /// `bridge link … isolated on`.
    pub isolated: bool,
    /// For bridges: created with `vlan_filtering 1`.
    pub vlan_filtering: bool,
    /// VLANs by id, with their (pvid, untagged) flags.
    pub vlans: BTreeMap<u16, (bool, bool)>,
    /// For VXLAN devices: what `vxlan_info` reports.
    pub vxlan: Option<VxlanInfo>,
    /// The permanent FDB entries (`bridge fdb … self permanent`), in insertion order.
    pub fdb: Vec<FdbEntry>,
    /// The permanent neighbour entries, in insertion order.
    pub neighbours: Vec<Neighbour>,
}

impl FakeLink {
    fn new(info: LinkInfo) -> FakeLink {
        FakeLink {
            info,
            hairpin: false,
            isolated: false,
            vlan_filtering: false,
            vlans: BTreeMap::new(),
            vxlan: None,
            fdb: Vec::new(),
            neighbours: Vec::new(),
        }
    }
}

type Failure = (Box<dyn Fn(&NetlinkCall) -> bool + Send>, i32);

struct Shared {
    state: Mutex<State>,
    calls: Mutex<Vec<NetlinkCall>>,
    failures: Mutex<Vec<Failure>>,
    peers: Mutex<Peers>,
}

#[derive(Default)]
struct Peers {
    default: Option<Weak<Shared>>,
    by_inode: Vec<((u64, u64), Weak<Shared>)>,
    /// Host veth index -> (peer namespace, peer index).
    veths: BTreeMap<u32, (Weak<Shared>, u32)>,
}

/// An in-memory network namespace implementing [`Netlink`]. See the module docs.
#[derive(Clone)]
pub struct FakeNetlink {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FakeNetlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNetlink").finish_non_exhaustive()
    }
}

impl Default for FakeNetlink {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeNetlink {
    /// A fresh namespace with only `lo` (index 1, down).
    pub fn new() -> FakeNetlink {
        static NEXT_ID: AtomicU8 = AtomicU8::new(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        FakeNetlink {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new(id)),
                calls: Mutex::new(Vec::new()),
                failures: Mutex::new(Vec::new()),
                peers: Mutex::new(Peers::default()),
            }),
        }
    }

    /// Every `create_veth` on this fake puts its peer into `peer` (unless a namespace fd
    /// registered with [`FakeNetlink::add_peer_namespace`] matches first).
    pub fn link_peer_namespace(&self, peer: &FakeNetlink) {
        lock(&self.shared.peers).default = Some(Arc::downgrade(&peer.shared));
    }

    /// `create_veth(…, ns, …)` with an fd on the same file as `ns` puts the peer into `peer`.
    pub fn add_peer_namespace(&self, ns: BorrowedFd<'_>, peer: &FakeNetlink) {
        if let Some(id) = crate::netns::identity(ns) {
            let weak = Arc::downgrade(&peer.shared);
            lock(&self.shared.peers).by_inode.push((id, weak));
        }
    }

    /// The calls made so far, in order.
    pub fn calls(&self) -> Vec<NetlinkCall> {
        lock(&self.shared.calls).clone()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        lock(&self.shared.calls).clear();
    }

    /// Makes the next call matching `when` fail with `errno` (once), without changing state.
    pub fn fail_next(&self, when: impl Fn(&NetlinkCall) -> bool + Send + 'static, errno: i32) {
        lock(&self.shared.failures).push((Box::new(when), errno));
    }

    /// Adds a link directly (no call recorded), e.g. a pre-existing `eth0` of kind `None` or a
    /// `dummy`. Returns its index.
    pub fn add_link(&self, name: &str, kind: Option<LinkKind>) -> u32 {
        lock(&self.shared.state).insert_link(name, kind, 1500, None)
    }

    /// The link named `name`, with port and VLAN state.
    pub fn link(&self, name: &str) -> Option<FakeLink> {
        lock(&self.shared.state).by_name(name).cloned()
    }

    /// Presets a sysctl (no call recorded).
    pub fn preset_sysctl(&self, key: &str, value: &str) {
        lock(&self.shared.state)
            .sysctls
            .insert(key.to_owned(), value.to_owned());
    }

    /// The current value of a sysctl.
    pub fn sysctl(&self, key: &str) -> Option<String> {
        lock(&self.shared.state).sysctls.get(key).cloned()
    }

    /// Records `call` and returns the injected failure for it, if any.
    fn record(&self, call: NetlinkCall, op: impl FnOnce() -> String) -> Result<(), NetlinkError> {
        let mut failures = lock(&self.shared.failures);
        let hit = failures.iter().position(|(when, _)| when(&call));
        lock(&self.shared.calls).push(call);
        match hit {
            Some(pos) => Err(err(op(), failures.remove(pos).1)),
            None => Ok(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    fn peer_for(&self, ns: BorrowedFd<'_>) -> Option<Arc<Shared>> {
        let peers = lock(&self.shared.peers);
        let id = crate::netns::identity(ns);
        let by_inode = peers.by_inode.iter().find(|(i, _)| Some(*i) == id);
        by_inode
            .map(|(_, weak)| weak)
            .or(peers.default.as_ref())
            .and_then(Weak::upgrade)
    }

    /// Records `call` (an injected failure names it `what <link>`), then runs `f` on the state.
    fn on_state<T>(
        &self,
        call: NetlinkCall,
        what: &str,
        index: u32,
        f: impl FnOnce(&mut State) -> Result<T, NetlinkError>,
    ) -> Result<T, NetlinkError> {
        self.record(call, || format!("{what} {}", self.state().describe(index)))?;
        f(&mut self.state())
    }

    fn link_change(
        &self,
        call: NetlinkCall,
        index: u32,
        what: &str,
        change: impl FnOnce(&mut State, u32) -> Result<(), i32>,
    ) -> Result<(), NetlinkError> {
        let op = || format!("{what} {}", self.state().describe(index));
        self.record(call, op)?;
        let mut state = self.state();
        state.link_mut(index, what)?;
        change(&mut state, index)
            .map_err(|errno| err(format!("{what} {}", state.describe(index)), errno))
    }
}
