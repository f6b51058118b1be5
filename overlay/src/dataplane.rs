//! The kernel side of one overlay network on one host, flannel's vxlan backend without its
//! learning: a VXLAN device (`bvx-<vni>`, learning off, this host's underlay address as its
//! source, MTU the underlay's minus the VXLAN overhead) holding this host's VTEP address
//! (its slice's network address, /32), and for every peer three static entries:
//!
//! - FDB `peer VTEP MAC -> peer underlay IP` (where to send its frames),
//! - neighbour `peer VTEP IP -> peer VTEP MAC` (no ARP over the overlay),
//! - route `peer slice via peer VTEP IP dev bvx-<vni> onlink`.
//!
//! [`Dataplane::sync`] makes the kernel hold exactly the entries of a peer list (adding what is
//! missing and removing what no peer wants, so a restarted agent adds no duplicates and drops
//! peers that left while it was away); [`Dataplane::add_peer`] and
//! [`Dataplane::remove_peer`] apply one change with three writes each, whatever the number
//! of peers or containers. Containers never cause work here: a slice is routed as a whole.

use std::cell::Cell;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use berth_core::netlink::{
    FdbEntry, IpFamily, MacAddr, Neighbour, Netlink, NetlinkError, Route, VxlanSpec,
};
use ipnetwork::{IpNetwork, Ipv4Network};

use crate::names::{VXLAN_OVERHEAD, VXLAN_PORT, vtep_ip, vxlan_device};
use crate::records::{HostEntry, NetworkSpec};

/// What can go wrong programming the kernel.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// No interface of this host has the underlay address.
    #[error("no interface on this host has the underlay address {0}")]
    NoUnderlay(Ipv4Addr),
    /// The underlay's MTU leaves no room for VXLAN.
    #[error("the underlay's MTU {0} is too small for VXLAN")]
    UnderlayMtu(u32),
    /// A VTEP MAC that does not parse (entries are checked before they get here).
    #[error("bad VTEP MAC {0:?}")]
    BadMac(String),
    /// A netlink request failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// This host's VXLAN device of one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtep {
    /// Its interface index.
    pub index: u32,
    /// Its MTU (what containers get).
    pub mtu: u32,
}

/// The entries one peer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PeerEntries {
    fdb: FdbEntry,
    neigh: Neighbour,
    route: Route,
}

/// One network's kernel state on this host, through a netlink handle of the host's
/// namespace.
pub struct Dataplane<'a, N: Netlink> {
    nl: &'a N,
    net: NetworkSpec,
    vtep: Vtep,
    writes: Cell<u64>,
}

fn mac_of(entry: &HostEntry) -> Result<MacAddr, DataplaneError> {
    entry
        .vtep_mac
        .parse()
        .map_err(|_| DataplaneError::BadMac(entry.vtep_mac.clone()))
}

/// Fails unless an interface of this host holds the underlay address `ip`.
pub fn check_underlay<N: Netlink>(nl: &N, ip: Ipv4Addr) -> Result<(), DataplaneError> {
    underlay(nl, ip).map(|_| ())
}

/// The underlay interface: the one holding `ip`, and its MTU.
fn underlay<N: Netlink>(nl: &N, ip: Ipv4Addr) -> Result<(u32, u32), DataplaneError> {
    let index = nl
        .addresses(None)?
        .into_iter()
        .find(|a| a.addr.ip() == IpAddr::V4(ip))
        .map(|a| a.index)
        .ok_or(DataplaneError::NoUnderlay(ip))?;
    let link = nl
        .link_by_index(index)?
        .ok_or(DataplaneError::NoUnderlay(ip))?;
    Ok((index, link.mtu))
}

impl<'a, N: Netlink> Dataplane<'a, N> {
    /// Makes sure this host's VXLAN device of `net` exists as `own` says (its MAC, its VTEP
    /// address) on the underlay interface holding `own.underlay_ip`, and is up. A device of
    /// that name made for another VNI, address or MAC is replaced; one that matches is kept
    /// with its entries (a restarted agent does not cut traffic).
    pub fn ensure(nl: &'a N, net: &NetworkSpec, own: &HostEntry) -> Result<Self, DataplaneError> {
        let (under_index, under_mtu) = underlay(nl, own.underlay_ip)?;
        let mtu = under_mtu
            .checked_sub(VXLAN_OVERHEAD)
            .filter(|m| *m >= 576)
            .ok_or(DataplaneError::UnderlayMtu(under_mtu))?;
        let name = vxlan_device(net.vni);
        let mac = mac_of(own)?;
        let writes = Cell::new(0);
        let existing = match nl.link_by_name(&name)? {
            Some(link) => {
                let info = nl.vxlan_info(link.index)?;
                let fits = info.as_ref().is_some_and(|i| {
                    i.vni == net.vni
                        && i.local == Some(IpAddr::V4(own.underlay_ip))
                        && i.port == VXLAN_PORT
                        && !i.learning
                }) && link.mac == Some(mac);
                if fits {
                    Some(link)
                } else {
                    tracing::info!(device = %name, "replacing a VXLAN device that does not match");
                    nl.delete_link(&name)?;
                    None
                }
            }
            None => None,
        };
        let link = match existing {
            Some(link) => link,
            None => {
                writes.set(writes.get() + 1);
                let link = nl.create_vxlan(&VxlanSpec {
                    name: &name,
                    vni: net.vni,
                    local: own.underlay_ip,
                    port: VXLAN_PORT,
                    underlay: Some(under_index),
                    mtu: Some(mtu),
                    mac: Some(mac),
                })?;
                nl.set_ipv6_link_local_off(link.index)?;
                link
            }
        };
        if link.mtu != mtu {
            nl.set_mtu(link.index, mtu)?;
        }
        // Exactly one address: this host's VTEP IP (a slice changed after a long outage
        // leaves the old one behind otherwise).
        let want = IpNetwork::V4(Ipv4Network::from(vtep_ip(&own.slice)));
        let mut have = false;
        for a in nl.addresses(Some(link.index))? {
            if a.addr == want {
                have = true;
            } else if a.addr.is_ipv4() {
                nl.del_address(link.index, a.addr)?;
            }
        }
        if !have {
            nl.add_address(link.index, want)?;
        }
        // Strict reverse-path filtering: a packet from the overlay must come from a slice
        // routed through this device, so no peer can pose as another network's container.
        nl.set_sysctl(&format!("net/ipv4/conf/{name}/rp_filter"), "1")?;
        if !link.admin_up {
            nl.set_up(link.index)?;
        }
        Ok(Self {
            nl,
            net: net.clone(),
            vtep: Vtep {
                index: link.index,
                mtu,
            },
            writes,
        })
    }

    /// The device.
    pub fn vtep(&self) -> Vtep {
        self.vtep
    }

    /// How many kernel writes this handle made so far (the agent's work, for benchmarks).
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    fn wrote(&self) {
        self.writes.set(self.writes.get() + 1);
    }

    fn entries(&self, peer: &HostEntry) -> Result<PeerEntries, DataplaneError> {
        let mac = mac_of(peer)?;
        let gw = vtep_ip(&peer.slice);
        let mut route = Route::new(IpNetwork::V4(peer.slice));
        route.gw = Some(IpAddr::V4(gw));
        route.oif = Some(self.vtep.index);
        route.onlink = true;
        Ok(PeerEntries {
            fdb: FdbEntry {
                mac,
                dst: IpAddr::V4(peer.underlay_ip),
            },
            neigh: Neighbour {
                ip: IpAddr::V4(gw),
                mac,
            },
            route,
        })
    }

    /// Programs one peer (a new one, or one that rejoined: its entries are replaced).
    pub fn add_peer(&self, peer: &HostEntry) -> Result<(), DataplaneError> {
        let e = self.entries(peer)?;
        self.nl.fdb_replace(self.vtep.index, &e.fdb)?;
        self.nl.neigh_replace(self.vtep.index, &e.neigh)?;
        self.wrote();
        self.wrote();
        match self.nl.add_route(&e.route) {
            Err(err) if err.is_exists() => {
                // A route to the slice through another next hop (a stale one): replace it.
                self.remove_route_to(&peer.slice)?;
                self.nl.add_route(&e.route)?;
            }
            other => other?,
        }
        self.wrote();
        Ok(())
    }

    /// Removes one peer's entries (those that are there).
    pub fn remove_peer(&self, peer: &HostEntry) -> Result<(), DataplaneError> {
        let e = self.entries(peer)?;
        self.remove_route_to(&peer.slice)?;
        self.nl.neigh_del(self.vtep.index, e.neigh.ip)?;
        self.nl.fdb_del(self.vtep.index, &e.fdb)?;
        self.wrote();
        self.wrote();
        Ok(())
    }

    fn remove_route_to(&self, slice: &Ipv4Network) -> Result<(), DataplaneError> {
        let mut route = Route::new(IpNetwork::V4(*slice));
        route.oif = Some(self.vtep.index);
        match self.nl.del_route(&route) {
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
            Ok(()) => {
                self.wrote();
                Ok(())
            }
        }
    }

    /// Makes the kernel hold exactly the entries of `peers`: adds the missing ones, removes
    /// every other FDB entry, permanent neighbour and route of the device. Returns how many
    /// entries were added and removed.
    pub fn sync(&self, peers: &[HostEntry]) -> Result<(usize, usize), DataplaneError> {
        let idx = self.vtep.index;
        let wanted: Vec<PeerEntries> = peers
            .iter()
            .map(|p| self.entries(p))
            .collect::<Result<_, _>>()?;
        let (mut added, mut removed) = (0, 0);

        let fdb: HashSet<FdbEntry> = self.nl.fdb_entries(idx)?.into_iter().collect();
        let want_fdb: HashSet<FdbEntry> = wanted.iter().map(|e| e.fdb).collect();
        for f in fdb.difference(&want_fdb) {
            self.nl.fdb_del(idx, f)?;
            self.wrote();
            removed += 1;
        }
        for f in want_fdb.difference(&fdb) {
            self.nl.fdb_replace(idx, f)?;
            self.wrote();
            added += 1;
        }

        let neigh: HashSet<Neighbour> = self.nl.neighbours(idx)?.into_iter().collect();
        let want_neigh: HashSet<Neighbour> = wanted.iter().map(|e| e.neigh).collect();
        for n in neigh.difference(&want_neigh) {
            self.nl.neigh_del(idx, n.ip)?;
            self.wrote();
            removed += 1;
        }
        for n in want_neigh.difference(&neigh) {
            self.nl.neigh_replace(idx, n)?;
            self.wrote();
            added += 1;
        }

        let key = |r: &Route| (r.dst, r.gw);
        let routes: Vec<Route> = self
            .nl
            .routes(IpFamily::V4)?
            .into_iter()
            .filter(|r| r.oif == Some(idx) && r.table.is_none() && r.gw.is_some())
            .collect();
        let want_routes: HashSet<_> = wanted.iter().map(|e| key(&e.route)).collect();
        let have_routes: HashSet<_> = routes.iter().map(key).collect();
        for r in routes.iter().filter(|r| !want_routes.contains(&key(r))) {
            match self.nl.del_route(r) {
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {}
            }
            self.wrote();
            removed += 1;
        }
        for e in wanted
            .iter()
            .filter(|e| !have_routes.contains(&key(&e.route)))
        {
            self.nl.add_route(&e.route)?;
            self.wrote();
            added += 1;
        }
        Ok((added, removed))
    }

    /// Removes the device (and with it every entry it held).
    pub fn remove(nl: &N, net: &NetworkSpec) -> Result<bool, DataplaneError> {
        Ok(nl.delete_link(&vxlan_device(net.vni))?)
    }

    /// The network.
    pub fn network(&self) -> &NetworkSpec {
        &self.net
    }
}
