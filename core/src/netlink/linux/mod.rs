//! [`LinuxNetlink`]: the real [`Netlink`] seam over one synchronous `NETLINK_ROUTE` socket.
//!
//! The socket is opened inside the target namespace (on a short-lived thread for another
//! namespace, or by the calling thread stepping in and back with [`LinuxNetlink::open_in_here`])
//! and stays bound to it, so the handle can be used from any thread. rtnetlink types
//! stay inside this module: `link`, `vxlan`, `addr`, `route` and `neigh` build and decode
//! messages, `socket` does the request/ACK/dump exchange.

mod addr;
mod detach;
mod link;
mod neigh;
mod route;
mod socket;
mod vxlan;

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::Mutex;

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};

use self::socket::{Transport, TxError};
use crate::netlink::{
    Address, FdbEntry, IpFamily, LinkInfo, LinkKind, MacAddr, Neighbour, Netlink, NetlinkError,
    Route, VethSpec, VxlanInfo, VxlanSpec,
};
use crate::netns::{self, Netns};
use crate::sysctl;

/// Netlink operations on one network namespace, through the kernel.
pub struct LinuxNetlink {
    tx: Transport,
    netns: Netns,
    netns_id: Option<(u64, u64)>,
    /// Names of the links this handle has looked up, by index, for error messages (a routine
    /// EEXIST, like the bridge's gateway address, should not cost a lookup).
    names: Mutex<Vec<(u32, String)>>,
}

impl std::fmt::Debug for LinuxNetlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxNetlink")
            .field("netns", &self.netns.path())
            .finish_non_exhaustive()
    }
}

impl LinuxNetlink {
    /// A handle on the calling thread's network namespace.
    pub fn new() -> Result<Self, NetlinkError> {
        let netns = Netns::current()?;
        let tx = Transport::open()?;
        Ok(Self::with(tx, netns))
    }

    /// A handle on `ns`: the socket is opened on a thread that entered `ns`, so it stays bound
    /// to `ns` wherever the handle is used. Keeps its own handle on `ns` for sysctls.
    pub fn open_in(ns: &Netns) -> Result<Self, NetlinkError> {
        let tx = ns.run_in(Transport::open)??;
        Ok(Self::with(tx, ns.try_clone()?))
    }

    /// Like [`LinuxNetlink::open_in`], but opens the socket on the calling thread, which enters
    /// `ns` and goes back to `home` (see [`Netns::run_here`]): no thread, for single-threaded
    /// plugin processes.
    pub fn open_in_here(ns: &Netns, home: &Netns) -> Result<Self, NetlinkError> {
        let tx = ns.run_here(home, Transport::open)??;
        Ok(Self::with(tx, ns.try_clone()?))
    }

    fn with(tx: Transport, netns: Netns) -> Self {
        let netns_id = netns::identity(netns.as_fd());
        LinuxNetlink {
            tx,
            netns,
            netns_id,
            names: Mutex::new(Vec::new()),
        }
    }

    /// The namespace this handle acts on.
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// A link's name for error messages, or `#index` when it cannot be found.
    fn describe(&self, index: u32) -> String {
        let known = self.names.lock().ok().and_then(|names| {
            names
                .iter()
                .find(|(i, _)| *i == index)
                .map(|(_, n)| n.clone())
        });
        if let Some(name) = known {
            return name;
        }
        match self.link_by_index(index) {
            Ok(Some(link)) => link.name,
            _ => format!("#{index}"),
        }
    }

    /// Sends a change request on link `index`; on failure names it as `what <link>`.
    fn change_link(
        &self,
        index: u32,
        what: &str,
        msg: netlink_packet_route::RouteNetlinkMessage,
    ) -> Result<(), NetlinkError> {
        tracing::debug!(index, what, "netlink");
        self.tx
            .request(msg, 0)
            .map(drop)
            .map_err(|e| e.with_op(format!("{what} {}", self.describe(index))))
    }

    fn get_link(
        &self,
        msg: netlink_packet_route::RouteNetlinkMessage,
        op: impl FnOnce() -> String,
    ) -> Result<Option<LinkInfo>, NetlinkError> {
        match self.tx.request(msg, 0) {
            Ok(replies) => {
                let found = link::links_of(replies).into_iter().next();
                if let (Some(link), Ok(mut names)) = (&found, self.names.lock()) {
                    names.retain(|(i, _)| *i != link.index);
                    names.push((link.index, link.name.clone()));
                }
                Ok(found)
            }
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e.with_op(op())),
        }
    }

    /// Runs `f` in this handle's namespace: directly when the calling thread is already in it,
    /// else on a helper thread (files under /proc/sys/net follow the opening thread's netns).
    fn in_netns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, NetlinkError> {
        if self.netns_id.is_some() && netns::current_identity() == self.netns_id {
            Ok(f())
        } else {
            Ok(self.netns.run_in(f)?)
        }
    }
}

impl Netlink for LinuxNetlink {
    fn link_by_name(&self, name: &str) -> Result<Option<LinkInfo>, NetlinkError> {
        self.get_link(link::get_by_name(name), || format!("get link {name}"))
    }

    fn link_by_index(&self, index: u32) -> Result<Option<LinkInfo>, NetlinkError> {
        self.get_link(link::get_by_index(index), || format!("get link #{index}"))
    }

    fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError> {
        self.tx
            .dump(link::dump())
            .map(link::links_of)
            .map_err(|e| e.with_op("list links".into()))
    }

    fn ensure_bridge(
        &self,
        name: &str,
        mtu: Option<u32>,
        mac: Option<MacAddr>,
        vlan_filtering: bool,
    ) -> Result<LinkInfo, NetlinkError> {
        tracing::debug!(name, "netlink: ensure bridge");
        let msg = link::new_bridge(name, mtu, mac, vlan_filtering);
        match self.tx.request(msg, NLM_F_CREATE | NLM_F_EXCL) {
            Ok(_) => {}
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e.with_op(format!("create bridge {name}"))),
        }
        let not_a_bridge = |kind: Option<LinkKind>| NetlinkError::NotABridge {
            name: name.to_owned(),
            kind: kind.map_or_else(|| "none".to_owned(), |k| k.to_string()),
        };
        match self.link_by_name(name)? {
            Some(link) if link.kind == Some(LinkKind::Bridge) => Ok(link),
            Some(link) => Err(not_a_bridge(link.kind)),
            // Deleted again between create and get: report it as the kernel would.
            None => Err(NetlinkError::kernel(
                format!("get bridge {name}"),
                libc::ENODEV,
            )),
        }
    }

    fn create_veth_with(&self, spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
        let (name, peer) = (spec.name, spec.peer);
        tracing::debug!(name, peer, master = ?spec.master, "netlink: create veth");
        self.tx
            .request(link::new_veth(spec), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
            .map_err(|e| e.with_op(format!("create veth {name} with peer {peer}")))
    }

    fn set_ipv6_link_local_off(&self, index: u32) -> Result<(), NetlinkError> {
        self.change_link(
            index,
            "set addrgenmode none on",
            link::set_addr_gen_none(index),
        )
    }

    fn set_arp_notify(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let what = if on {
            "set arp_notify on"
        } else {
            "set arp_notify off"
        };
        self.change_link(index, what, link::set_arp_notify(index, on))
    }

    fn delete_link(&self, name: &str) -> Result<bool, NetlinkError> {
        tracing::debug!(name, "netlink: delete link");
        match self.tx.request(link::delete(name), 0) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(e.with_op(format!("delete link {name}"))),
        }
    }

    fn remove_link(&self, name: &str) -> Result<bool, NetlinkError> {
        let Some(link) = self.link_by_name(name)? else {
            return Ok(false);
        };
        tracing::debug!(name, "netlink: remove link (detached)");
        let outcome = self.in_netns(|| detach::delete_detached(link.index))??;
        if outcome == detach::Detached::Announced || self.link_by_index(link.index)?.is_none() {
            return Ok(true);
        }
        tracing::warn!(name, "detached delete unconfirmed, deleting in place");
        self.delete_link(name)
    }

    fn set_up(&self, index: u32) -> Result<(), NetlinkError> {
        self.change_link(index, "set up", link::set_flag(index, link::UP, true))
    }

    fn set_down(&self, index: u32) -> Result<(), NetlinkError> {
        self.change_link(index, "set down", link::set_flag(index, link::UP, false))
    }

    fn set_master(&self, index: u32, master: u32) -> Result<(), NetlinkError> {
        let msg = link::set_attr(index, link::master_attr(master));
        self.change_link(index, &format!("set master #{master} of"), msg)
    }

    fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), NetlinkError> {
        let msg = link::set_attr(index, link::mtu_attr(mtu));
        self.change_link(index, &format!("set mtu {mtu} on"), msg)
    }

    fn set_mac(&self, index: u32, mac: MacAddr) -> Result<(), NetlinkError> {
        let msg = link::set_attr(index, link::mac_attr(mac));
        self.change_link(index, &format!("set address {mac} on"), msg)
    }

    fn set_promisc(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let msg = link::set_flag(index, link::PROMISC, on);
        self.change_link(index, &format!("set promisc {} on", on_off(on)), msg)
    }

    fn set_hairpin(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let msg = link::set_hairpin(index, on);
        self.change_link(index, &format!("set hairpin {} on", on_off(on)), msg)
    }

    fn set_port_isolated(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let msg = link::set_isolated(index, on);
        self.change_link(index, &format!("set isolated {} on", on_off(on)), msg)
    }

    fn bridge_vlan_add(
        &self,
        index: u32,
        vid: u16,
        pvid: bool,
        untagged: bool,
        on_bridge_self: bool,
    ) -> Result<(), NetlinkError> {
        let msg = link::bridge_vlan(true, index, vid, pvid, untagged, on_bridge_self);
        self.change_link(index, &format!("add vlan {vid} to"), msg)
    }

    fn bridge_vlan_del(
        &self,
        index: u32,
        vid: u16,
        on_bridge_self: bool,
    ) -> Result<(), NetlinkError> {
        let msg = link::bridge_vlan(false, index, vid, false, false, on_bridge_self);
        self.change_link(index, &format!("delete vlan {vid} from"), msg)
    }

    fn addresses(&self, index: Option<u32>) -> Result<Vec<Address>, NetlinkError> {
        self.tx
            .dump(addr::dump(index))
            .map(|replies| addr::addresses_of(replies, index))
            .map_err(|e| e.with_op("list addresses".into()))
    }

    fn add_address(&self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError> {
        tracing::debug!(index, %addr, "netlink: add address");
        self.tx
            .request(addr::change(true, index, addr), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
            .map_err(|e| e.with_op(format!("add {addr} to {}", self.describe(index))))
    }

    fn del_address(&self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError> {
        tracing::debug!(index, %addr, "netlink: delete address");
        self.tx
            .request(addr::change(false, index, addr), 0)
            .map(drop)
            .map_err(|e| e.with_op(format!("delete {addr} from {}", self.describe(index))))
    }

    fn routes(&self, family: IpFamily) -> Result<Vec<Route>, NetlinkError> {
        self.tx
            .dump(route::dump(family))
            .map(route::routes_of)
            .map_err(|e| e.with_op("list routes".into()))
    }

    fn add_route(&self, route: &Route) -> Result<(), NetlinkError> {
        tracing::debug!(%route, "netlink: add route");
        self.tx
            .request(route::change(true, route), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
            .map_err(|e| self.route_error(e, "add", route))
    }

    fn del_route(&self, route: &Route) -> Result<(), NetlinkError> {
        tracing::debug!(%route, "netlink: delete route");
        self.tx
            .request(route::change(false, route), 0)
            .map(drop)
            .map_err(|e| self.route_error(e, "delete", route))
    }

    fn create_vxlan(&self, spec: &VxlanSpec<'_>) -> Result<LinkInfo, NetlinkError> {
        let name = spec.name;
        tracing::debug!(name, vni = spec.vni, "netlink: create vxlan");
        self.tx
            .request(vxlan::new_vxlan(spec), NLM_F_CREATE | NLM_F_EXCL)
            .map_err(|e| e.with_op(format!("create vxlan {name}")))?;
        // Deleted again between create and get: report it as the kernel would.
        let gone = || NetlinkError::kernel(format!("get vxlan {name}"), libc::ENODEV);
        self.link_by_name(name)?.ok_or_else(gone)
    }

    fn vxlan_info(&self, index: u32) -> Result<Option<VxlanInfo>, NetlinkError> {
        match self.tx.request(link::get_by_index(index), 0) {
            Ok(replies) => Ok(vxlan::vxlan_info_of(replies)),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e.with_op(format!("get link #{index}"))),
        }
    }

    fn fdb_entries(&self, index: u32) -> Result<Vec<FdbEntry>, NetlinkError> {
        self.fdb_dump(index, false)
    }

    fn fdb_replace(&self, index: u32, entry: &FdbEntry) -> Result<(), NetlinkError> {
        let (mac, dst) = (entry.mac, entry.dst);
        tracing::debug!(index, %mac, %dst, "netlink: replace fdb entry");
        let msg = neigh::fdb_change(true, index, entry);
        self.tx
            .request(msg, NLM_F_CREATE | NLM_F_REPLACE)
            .map(drop)
            .map_err(|e| {
                e.with_op(format!(
                    "replace fdb {mac} dst {dst} on {}",
                    self.describe(index)
                ))
            })
    }

    fn fdb_del(&self, index: u32, entry: &FdbEntry) -> Result<bool, NetlinkError> {
        // The kernel answers ENOENT only for a MAC it does not know: a delete naming another
        // destination of a known MAC succeeds and removes nothing. So look first.
        let (mac, dst) = (entry.mac, entry.dst);
        if !self.fdb_dump(index, true)?.contains(entry) {
            // A dump of a missing link is just empty; the delete would have said ENODEV.
            if self.link_by_index(index)?.is_none() {
                let op = format!("delete fdb {mac} dst {dst} from #{index}");
                return Err(NetlinkError::kernel(op, libc::ENODEV));
            }
            return Ok(false);
        }
        tracing::debug!(index, %mac, %dst, "netlink: delete fdb entry");
        match self.tx.request(neigh::fdb_change(false, index, entry), 0) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e.with_op(format!(
                "delete fdb {mac} dst {dst} from {}",
                self.describe(index)
            ))),
        }
    }

    fn neighbours(&self, index: u32) -> Result<Vec<Neighbour>, NetlinkError> {
        self.tx
            .dump(neigh::neigh_dump(index))
            .map(|replies| neigh::neighbours_of(replies, index))
            .map_err(|e| e.with_op(format!("list neighbours of {}", self.describe(index))))
    }

    fn neigh_replace(&self, index: u32, n: &Neighbour) -> Result<(), NetlinkError> {
        let (ip, mac) = (n.ip, n.mac);
        tracing::debug!(index, %ip, %mac, "netlink: replace neighbour");
        self.tx
            .request(neigh::neigh_replace(index, n), NLM_F_CREATE | NLM_F_REPLACE)
            .map(drop)
            .map_err(|e| {
                e.with_op(format!(
                    "replace neighbour {ip} lladdr {mac} on {}",
                    self.describe(index)
                ))
            })
    }

    fn neigh_del(&self, index: u32, ip: IpAddr) -> Result<bool, NetlinkError> {
        tracing::debug!(index, %ip, "netlink: delete neighbour");
        match self.tx.request(neigh::neigh_del(index, ip), 0) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e.with_op(format!(
                "delete neighbour {ip} from {}",
                self.describe(index)
            ))),
        }
    }

    fn set_sysctl(&self, key: &str, value: &str) -> Result<(), NetlinkError> {
        tracing::debug!(key, value, "sysctl: write");
        Ok(self.in_netns(|| sysctl::write(key, value))??)
    }

    fn get_sysctl(&self, key: &str) -> Result<String, NetlinkError> {
        Ok(self.in_netns(|| sysctl::read(key))??)
    }
}

impl LinuxNetlink {
    /// The FDB entries of link `index` with a destination: permanent ones, or all with
    /// `any_state`.
    fn fdb_dump(&self, index: u32, any_state: bool) -> Result<Vec<FdbEntry>, NetlinkError> {
        self.tx
            .dump(neigh::fdb_dump(index))
            .map(|replies| neigh::fdb_entries_of(replies, index, any_state))
            .map_err(|e| e.with_op(format!("list fdb of {}", self.describe(index))))
    }

    fn route_error(&self, e: TxError, verb: &str, route: &Route) -> NetlinkError {
        let mut op = format!("{verb} route {route}");
        if let Some(oif) = route.oif {
            op = op.replace(
                &format!("dev #{oif}"),
                &format!("dev {}", self.describe(oif)),
            );
        }
        e.with_op(op)
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}
