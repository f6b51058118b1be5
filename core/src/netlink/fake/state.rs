//! The in-memory model behind `FakeNetlink`: one network namespace's links, addresses,
//! routes and sysctls, with the kernel's answers (errnos) for the common mistakes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::FakeLink;
use crate::netlink::{Address, LinkInfo, LinkKind, MacAddr, NetlinkError, Route, RouteScope};

/// One namespace's state.
pub(super) struct State {
    pub(super) links: BTreeMap<u32, FakeLink>,
    pub(super) next_index: u32,
    pub(super) addresses: Vec<Address>,
    pub(super) routes: Vec<Route>,
    pub(super) sysctls: BTreeMap<String, String>,
    /// Distinguishes generated MACs between fakes.
    pub(super) id: u8,
}

pub(super) fn err(op: impl Into<String>, errno: i32) -> NetlinkError {
    NetlinkError::kernel(op, errno)
}

impl State {
    /// A fresh namespace: only `lo`, down, like after `unshare -n`.
    pub(super) fn new(id: u8) -> State {
        let mut state = State {
            links: BTreeMap::new(),
            next_index: 1,
            addresses: Vec::new(),
            routes: Vec::new(),
            sysctls: BTreeMap::new(),
            id,
        };
        let lo = state.insert_link("lo", None, 65536, None);
        if let Some(lo) = state.links.get_mut(&lo) {
            lo.info.mac = Some(MacAddr::default());
        }
        state
    }

    pub(super) fn by_name(&self, name: &str) -> Option<&FakeLink> {
        self.links.values().find(|l| l.info.name == name)
    }

    pub(super) fn describe(&self, index: u32) -> String {
        self.links
            .get(&index)
            .map_or_else(|| format!("#{index}"), |l| l.info.name.clone())
    }

    /// The link, or ENODEV naming `what` was attempted.
    pub(super) fn link_mut(
        &mut self,
        index: u32,
        what: &str,
    ) -> Result<&mut FakeLink, NetlinkError> {
        let op = format!("{what} {}", self.describe(index));
        self.links
            .get_mut(&index)
            .ok_or_else(|| err(op, libc::ENODEV))
    }

    /// Adds a link without checks; returns its index.
    pub(super) fn insert_link(
        &mut self,
        name: &str,
        kind: Option<LinkKind>,
        mtu: u32,
        mac: Option<MacAddr>,
    ) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        let [hi, lo] = u16::try_from(index).unwrap_or(u16::MAX).to_be_bytes();
        let info = LinkInfo {
            index,
            name: name.to_owned(),
            kind,
            mac: Some(mac.unwrap_or(MacAddr([0x02, 0xfa, 0x4e, self.id, hi, lo]))),
            mtu,
            admin_up: false,
            oper_up: false,
            master: None,
            promisc: false,
            link: None,
            link_netnsid: None,
        };
        self.links.insert(index, FakeLink::new(info));
        index
    }

    /// Removes a link and everything that hangs off it (VXLAN devices on it included); returns
    /// it.
    pub(super) fn remove_link(&mut self, index: u32) -> Option<FakeLink> {
        let link = self.links.remove(&index)?;
        for vxlan in self.vxlans_on(index) {
            self.remove_link(vxlan);
        }
        self.addresses.retain(|a| a.index != index);
        self.routes.retain(|r| r.oif != Some(index));
        for port in self.links.values_mut() {
            if port.info.master == Some(index) {
                port.info.master = None;
            }
        }
        Some(link)
    }

    /// Adds an address and, like the kernel, its prefix route.
    pub(super) fn add_address(&mut self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError> {
        let op = format!("add {addr} to {}", self.describe(index));
        if !self.links.contains_key(&index) {
            return Err(err(op, libc::ENODEV));
        }
        let dup = self.addresses.iter().any(|a| {
            a.index == index
                && a.addr.ip() == addr.ip()
                && (addr.is_ipv6() || a.addr.prefix() == addr.prefix())
        });
        if dup {
            return Err(err(op, libc::EEXIST));
        }
        self.addresses.push(Address { index, addr });
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if addr.prefix() < max {
            let mut route = Route::new(subnet(addr));
            route.oif = Some(index);
            route.scope = RouteScope::Link;
            if !self.routes.contains(&route) {
                self.routes.push(route);
            }
        }
        Ok(())
    }

    /// Deletes an address and its prefix route when no other address on the link needs it.
    pub(super) fn del_address(&mut self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError> {
        let op = format!("delete {addr} from {}", self.describe(index));
        if !self.links.contains_key(&index) {
            return Err(err(op, libc::ENODEV));
        }
        let before = self.addresses.len();
        self.addresses
            .retain(|a| !(a.index == index && a.addr == addr));
        if self.addresses.len() == before {
            return Err(err(op, libc::EADDRNOTAVAIL));
        }
        let net = subnet(addr);
        let still_used = self
            .addresses
            .iter()
            .any(|a| a.index == index && subnet(a.addr) == net);
        if !still_used {
            self.routes
                .retain(|r| !(r.oif == Some(index) && r.dst == net && r.gw.is_none()));
        }
        Ok(())
    }

    /// Adds a route the way the kernel checks it: the device exists, the gateway is on-link
    /// (or the route says `onlink`, which needs its device, up), no route with the same
    /// destination, table and metric exists. Fills in the oif from the gateway's route.
    pub(super) fn add_route(&mut self, route: &Route) -> Result<(), NetlinkError> {
        let op = format!("add route {route}");
        if let Some(oif) = route.oif {
            if !self.links.contains_key(&oif) {
                return Err(err(op, libc::ENODEV));
            }
        }
        let mut route = route.clone();
        if route.onlink && route.gw.is_some() {
            let dev = route.oif.and_then(|oif| self.links.get(&oif));
            match dev {
                None => return Err(err(op, libc::ENODEV)),
                Some(link) if !link.info.admin_up => return Err(err(op, libc::ENETDOWN)),
                Some(_) => {}
            }
        } else if let Some(gw) = route.gw {
            match self.on_link_oif(gw, route.oif, route.table) {
                Some(oif) => route.oif = Some(oif),
                None => return Err(err(op, libc::ENETUNREACH)),
            }
        }
        let dup = self
            .routes
            .iter()
            .any(|r| r.dst == route.dst && r.table == route.table && r.priority == route.priority);
        if dup {
            return Err(err(op, libc::EEXIST));
        }
        self.routes.push(route);
        Ok(())
    }

    /// The interface through which `gw` is directly reachable.
    fn on_link_oif(&self, gw: IpAddr, oif: Option<u32>, table: Option<u32>) -> Option<u32> {
        if let (IpAddr::V6(v6), Some(oif)) = (gw, oif) {
            if v6.segments()[0] & 0xffc0 == 0xfe80 {
                return Some(oif); // link-local gateways are on-link by definition
            }
        }
        self.routes
            .iter()
            .filter(|r| r.gw.is_none() && r.table == table && r.dst.contains(gw))
            .filter_map(|r| r.oif)
            .find(|&r_oif| oif.is_none_or(|o| o == r_oif))
    }

    /// Deletes the first route matching dst and table, and gw/oif/priority when set.
    pub(super) fn del_route(&mut self, route: &Route) -> Result<(), NetlinkError> {
        let matches = |r: &Route| {
            r.dst == route.dst
                && r.table == route.table
                && route.gw.is_none_or(|gw| r.gw == Some(gw))
                && route.oif.is_none_or(|oif| r.oif == Some(oif))
                && route.priority.is_none_or(|p| r.priority == Some(p))
        };
        match self.routes.iter().position(matches) {
            Some(pos) => {
                self.routes.remove(pos);
                Ok(())
            }
            None => Err(err(format!("delete route {route}"), libc::ESRCH)),
        }
    }

    /// Per-interface sysctls exist only for existing links, as in /proc/sys.
    pub(super) fn sysctl_key_exists(&self, key: &str) -> bool {
        let parts: Vec<&str> = key.split('/').collect();
        match parts.as_slice() {
            ["net", "ipv4" | "ipv6", "conf" | "neigh", ifname, ..]
                if *ifname != "all" && *ifname != "default" =>
            {
                self.by_name(ifname).is_some()
            }
            _ => true,
        }
    }
}

/// The network an address is in (`10.88.0.5/16` → `10.88.0.0/16`).
pub(super) fn subnet(addr: IpNetwork) -> IpNetwork {
    IpNetwork::new(addr.network(), addr.prefix()).unwrap_or(addr)
}
