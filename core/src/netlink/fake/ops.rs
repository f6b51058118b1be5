//! The [`Netlink`] implementation of [`FakeNetlink`].

use std::net::IpAddr;
use std::sync::Arc;

use ipnetwork::IpNetwork;

use super::state::{State, err};
use super::{FakeNetlink, NetlinkCall, lock};
use crate::netlink::{
    Address, FdbEntry, IpFamily, LinkInfo, LinkKind, MacAddr, Neighbour, Netlink, NetlinkError,
    Route, VethSpec, VxlanInfo, VxlanSpec,
};

/// Runs `f` on the link, which the caller has checked exists.
fn on_link(st: &mut State, index: u32, f: impl FnOnce(&mut super::FakeLink)) -> Result<(), i32> {
    st.links.get_mut(&index).map(f).ok_or(libc::ENODEV)
}

/// The link must be a bridge port (hairpin, isolated, port VLANs).
fn require_port(st: &State, index: u32) -> Result<(), i32> {
    let master = st.links.get(&index).and_then(|l| l.info.master);
    let is_bridge = master
        .and_then(|m| st.links.get(&m))
        .is_some_and(|m| m.info.kind == Some(LinkKind::Bridge));
    if is_bridge {
        Ok(())
    } else {
        Err(libc::EOPNOTSUPP)
    }
}

fn require_vlan_target(st: &State, index: u32, on_bridge_self: bool) -> Result<(), i32> {
    if !on_bridge_self {
        return require_port(st, index);
    }
    match st.links.get(&index) {
        Some(l) if l.info.kind == Some(LinkKind::Bridge) => Ok(()),
        _ => Err(libc::EOPNOTSUPP),
    }
}

impl Netlink for FakeNetlink {
    fn link_by_name(&self, name: &str) -> Result<Option<LinkInfo>, NetlinkError> {
        self.record(NetlinkCall::LinkByName(name.into()), || {
            format!("get link {name}")
        })?;
        Ok(self.state().by_name(name).map(|l| l.info.clone()))
    }

    fn link_by_index(&self, index: u32) -> Result<Option<LinkInfo>, NetlinkError> {
        self.record(NetlinkCall::LinkByIndex(index), || {
            format!("get link #{index}")
        })?;
        Ok(self.state().links.get(&index).map(|l| l.info.clone()))
    }

    fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError> {
        self.record(NetlinkCall::Links, || "list links".into())?;
        Ok(self
            .state()
            .links
            .values()
            .map(|l| l.info.clone())
            .collect())
    }

    fn ensure_bridge(
        &self,
        name: &str,
        mtu: Option<u32>,
        mac: Option<MacAddr>,
        vlan_filtering: bool,
    ) -> Result<LinkInfo, NetlinkError> {
        let call = NetlinkCall::EnsureBridge {
            name: name.into(),
            mtu,
            mac,
            vlan_filtering,
        };
        self.record(call, || format!("create bridge {name}"))?;
        let mut st = self.state();
        if let Some(existing) = st.by_name(name) {
            return match &existing.info.kind {
                Some(LinkKind::Bridge) => Ok(existing.info.clone()),
                kind => Err(NetlinkError::NotABridge {
                    name: name.to_owned(),
                    kind: kind
                        .as_ref()
                        .map_or_else(|| "none".into(), |k| k.to_string()),
                }),
            };
        }
        let index = st.insert_link(name, Some(LinkKind::Bridge), mtu.unwrap_or(1500), mac);
        let link = st.link_mut(index, "create bridge")?;
        link.vlan_filtering = vlan_filtering;
        Ok(link.info.clone())
    }

    fn create_veth_with(&self, spec: &VethSpec<'_>) -> Result<(), NetlinkError> {
        let VethSpec {
            name,
            peer,
            peer_ns,
            mtu,
            peer_mac,
            master,
            up,
        } = *spec;
        let op = || format!("create veth {name} with peer {peer}");
        if let Some(m) = master {
            let is_bridge = matches!(
                self.state().links.get(&m).map(|l| &l.info.kind),
                Some(Some(LinkKind::Bridge))
            );
            if !is_bridge {
                return Err(err(op(), libc::ENODEV));
            }
        }
        let call = NetlinkCall::CreateVeth {
            name: name.into(),
            peer: peer.into(),
            mtu,
            peer_mac,
        };
        self.record(call, op)?;
        // No namespace registered for this fd: the kernel would say EBADF/EINVAL.
        let target = self
            .peer_for(peer_ns)
            .ok_or_else(|| err(op(), libc::EINVAL))?;
        let same = Arc::ptr_eq(&target, &self.shared);
        let taken = self.state().by_name(name).is_some()
            || lock(&target.state).by_name(peer).is_some()
            || (same && name == peer);
        if taken {
            return Err(err(op(), libc::EEXIST));
        }
        let mtu = mtu.unwrap_or(1500);
        let host = self
            .state()
            .insert_link(name, Some(LinkKind::Veth), mtu, None);
        let remote = lock(&target.state).insert_link(peer, Some(LinkKind::Veth), mtu, peer_mac);
        let netnsid = (!same).then_some(0);
        for (shared, index, other) in [(&self.shared, host, remote), (&target, remote, host)] {
            if let Some(link) = lock(&shared.state).links.get_mut(&index) {
                link.info.link = Some(other);
                link.info.link_netnsid = netnsid;
            }
        }
        let host_weak = Arc::downgrade(&self.shared);
        lock(&self.shared.peers)
            .veths
            .insert(host, (Arc::downgrade(&target), remote));
        lock(&target.peers).veths.insert(remote, (host_weak, host));
        if let Some(link) = self.state().links.get_mut(&host) {
            link.info.master = master;
            (link.info.admin_up, link.info.oper_up) = (up, up);
        }
        Ok(())
    }

    fn set_ipv6_link_local_off(&self, index: u32) -> Result<(), NetlinkError> {
        let Some(name) = self.state().links.get(&index).map(|l| l.info.name.clone()) else {
            return Err(err(format!("set addrgenmode of #{index}"), libc::ENODEV));
        };
        self.set_sysctl(&format!("net/ipv6/conf/{name}/addr_gen_mode"), "1")
    }

    fn set_arp_notify(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let Some(name) = self.state().links.get(&index).map(|l| l.info.name.clone()) else {
            return Err(err(format!("set arp_notify of #{index}"), libc::ENODEV));
        };
        self.set_sysctl(
            &format!("net/ipv4/conf/{name}/arp_notify"),
            if on { "1" } else { "0" },
        )
    }

    fn remove_link(&self, name: &str) -> Result<bool, NetlinkError> {
        self.delete_link(name)
    }

    fn delete_link(&self, name: &str) -> Result<bool, NetlinkError> {
        self.record(NetlinkCall::DeleteLink(name.into()), || {
            format!("delete link {name}")
        })?;
        let index = match self.state().by_name(name) {
            Some(link) => link.info.index,
            None => return Ok(false),
        };
        self.state().remove_link(index);
        let peer = lock(&self.shared.peers).veths.remove(&index);
        if let Some((weak, peer_index)) = peer {
            if let Some(target) = weak.upgrade() {
                lock(&target.state).remove_link(peer_index);
                lock(&target.peers).veths.remove(&peer_index);
            }
        }
        Ok(true)
    }

    fn set_up(&self, index: u32) -> Result<(), NetlinkError> {
        self.link_change(NetlinkCall::SetUp(index), index, "set up", |st, i| {
            on_link(st, i, |l| (l.info.admin_up, l.info.oper_up) = (true, true))
        })
    }

    fn set_down(&self, index: u32) -> Result<(), NetlinkError> {
        self.link_change(NetlinkCall::SetDown(index), index, "set down", |st, i| {
            on_link(st, i, |l| {
                (l.info.admin_up, l.info.oper_up) = (false, false)
            })
        })
    }

    fn set_master(&self, index: u32, master: u32) -> Result<(), NetlinkError> {
        let call = NetlinkCall::SetMaster { index, master };
        self.link_change(
            call,
            index,
            &format!("set master #{master} of"),
            |st, i| match st.links.get(&master).map(|m| &m.info.kind) {
                None => Err(libc::ENODEV),
                Some(Some(LinkKind::Bridge)) if master != i => {
                    on_link(st, i, |l| l.info.master = Some(master))
                }
                Some(_) => Err(libc::EOPNOTSUPP),
            },
        )
    }

    fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), NetlinkError> {
        let call = NetlinkCall::SetMtu { index, mtu };
        self.link_change(call, index, &format!("set mtu {mtu} on"), |st, i| {
            if !(68..=65535).contains(&mtu) {
                return Err(libc::EINVAL);
            }
            on_link(st, i, |l| l.info.mtu = mtu)
        })
    }

    fn set_mac(&self, index: u32, mac: MacAddr) -> Result<(), NetlinkError> {
        let call = NetlinkCall::SetMac { index, mac };
        self.link_change(call, index, &format!("set address {mac} on"), |st, i| {
            if !mac.is_unicast() || mac.is_zero() {
                return Err(libc::EADDRNOTAVAIL);
            }
            on_link(st, i, |l| l.info.mac = Some(mac))
        })
    }

    fn set_promisc(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let call = NetlinkCall::SetPromisc { index, on };
        self.link_change(call, index, "set promisc on", |st, i| {
            on_link(st, i, |l| l.info.promisc = on)
        })
    }

    fn set_hairpin(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let call = NetlinkCall::SetHairpin { index, on };
        self.link_change(call, index, "set hairpin on", |st, i| {
            require_port(st, i)?;
            on_link(st, i, |l| l.hairpin = on)
        })
    }

    fn set_port_isolated(&self, index: u32, on: bool) -> Result<(), NetlinkError> {
        let call = NetlinkCall::SetPortIsolated { index, on };
        self.link_change(call, index, "set isolated on", |st, i| {
            require_port(st, i)?;
            on_link(st, i, |l| l.isolated = on)
        })
    }

    fn bridge_vlan_add(
        &self,
        index: u32,
        vid: u16,
        pvid: bool,
        untagged: bool,
        on_bridge_self: bool,
    ) -> Result<(), NetlinkError> {
        let call = NetlinkCall::BridgeVlanAdd {
            index,
            vid,
            pvid,
            untagged,
            on_bridge_self,
        };
        self.link_change(call, index, &format!("add vlan {vid} to"), |st, i| {
            require_vlan_target(st, i, on_bridge_self)?;
            if !(1..=4094).contains(&vid) {
                return Err(libc::EINVAL);
            }
            on_link(st, i, |l| {
                if pvid {
                    l.vlans.values_mut().for_each(|(p, _)| *p = false);
                }
                l.vlans.insert(vid, (pvid, untagged));
            })
        })
    }

    fn bridge_vlan_del(
        &self,
        index: u32,
        vid: u16,
        on_bridge_self: bool,
    ) -> Result<(), NetlinkError> {
        let call = NetlinkCall::BridgeVlanDel {
            index,
            vid,
            on_bridge_self,
        };
        self.link_change(call, index, &format!("delete vlan {vid} from"), |st, i| {
            require_vlan_target(st, i, on_bridge_self)?;
            let link = st.links.get_mut(&i).ok_or(libc::ENODEV)?;
            link.vlans.remove(&vid).map(drop).ok_or(libc::ENOENT)
        })
    }

    fn addresses(&self, index: Option<u32>) -> Result<Vec<Address>, NetlinkError> {
        self.record(NetlinkCall::Addresses(index), || "list addresses".into())?;
        let st = self.state();
        let matching = st
            .addresses
            .iter()
            .filter(|a| index.is_none_or(|i| a.index == i));
        Ok(matching.copied().collect())
    }

    fn add_address(&self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError> {
        let op = || format!("add {addr} to {}", self.state().describe(index));
        self.record(NetlinkCall::AddAddress { index, addr }, op)?;
        self.state().add_address(index, addr)
    }

    fn del_address(&self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError> {
        let op = || format!("delete {addr} from {}", self.state().describe(index));
        self.record(NetlinkCall::DelAddress { index, addr }, op)?;
        self.state().del_address(index, addr)
    }

    fn routes(&self, family: IpFamily) -> Result<Vec<Route>, NetlinkError> {
        self.record(NetlinkCall::Routes(family), || "list routes".into())?;
        let st = self.state();
        Ok(st
            .routes
            .iter()
            .filter(|r| r.family() == family)
            .cloned()
            .collect())
    }

    fn add_route(&self, route: &Route) -> Result<(), NetlinkError> {
        self.record(NetlinkCall::AddRoute(route.clone()), || {
            format!("add route {route}")
        })?;
        self.state().add_route(route)
    }

    fn del_route(&self, route: &Route) -> Result<(), NetlinkError> {
        let op = || format!("delete route {route}");
        self.record(NetlinkCall::DelRoute(route.clone()), op)?;
        self.state().del_route(route)
    }

    fn create_vxlan(&self, spec: &VxlanSpec<'_>) -> Result<LinkInfo, NetlinkError> {
        let call = NetlinkCall::CreateVxlan {
            name: spec.name.into(),
            vni: spec.vni,
            local: spec.local,
            port: spec.port,
            underlay: spec.underlay,
            mtu: spec.mtu,
            mac: spec.mac,
        };
        self.record(call, || format!("create vxlan {}", spec.name))?;
        self.state().create_vxlan(spec)
    }

    fn vxlan_info(&self, index: u32) -> Result<Option<VxlanInfo>, NetlinkError> {
        let call = NetlinkCall::VxlanInfo(index);
        self.on_state(call, "get vxlan info of", index, |st| {
            Ok(st.links.get(&index).and_then(|l| l.vxlan.clone()))
        })
    }

    fn fdb_entries(&self, index: u32) -> Result<Vec<FdbEntry>, NetlinkError> {
        // Like a dump filtered on a missing ifindex: nothing.
        let call = NetlinkCall::FdbEntries(index);
        self.on_state(call, "list fdb of", index, |st| {
            Ok(st
                .links
                .get(&index)
                .map(|l| l.fdb.clone())
                .unwrap_or_default())
        })
    }

    fn fdb_replace(&self, index: u32, entry: &FdbEntry) -> Result<(), NetlinkError> {
        let call = NetlinkCall::FdbReplace {
            index,
            entry: *entry,
        };
        self.on_state(call, "replace fdb entry on", index, |st| {
            st.fdb_replace(index, entry)
        })
    }

    fn fdb_del(&self, index: u32, entry: &FdbEntry) -> Result<bool, NetlinkError> {
        let call = NetlinkCall::FdbDel {
            index,
            entry: *entry,
        };
        self.on_state(call, "delete fdb entry from", index, |st| {
            st.fdb_del(index, entry)
        })
    }

    fn neighbours(&self, index: u32) -> Result<Vec<Neighbour>, NetlinkError> {
        let call = NetlinkCall::Neighbours(index);
        self.on_state(call, "list neighbours of", index, |st| {
            let link = st.links.get(&index);
            Ok(link.map(|l| l.neighbours.clone()).unwrap_or_default())
        })
    }

    fn neigh_replace(&self, index: u32, n: &Neighbour) -> Result<(), NetlinkError> {
        let call = NetlinkCall::NeighReplace {
            index,
            neighbour: *n,
        };
        self.on_state(call, "replace neighbour on", index, |st| {
            st.neigh_replace(index, n)
        })
    }

    fn neigh_del(&self, index: u32, ip: IpAddr) -> Result<bool, NetlinkError> {
        let call = NetlinkCall::NeighDel { index, ip };
        self.on_state(call, "delete neighbour from", index, |st| {
            st.neigh_del(index, ip)
        })
    }

    fn set_sysctl(&self, key: &str, value: &str) -> Result<(), NetlinkError> {
        let call = NetlinkCall::SetSysctl {
            key: key.into(),
            value: value.into(),
        };
        self.record(call, || format!("write sysctl {key}"))?;
        crate::sysctl::key_path(key)?;
        let mut st = self.state();
        if !st.sysctl_key_exists(key) {
            return Err(missing_sysctl("write", key));
        }
        st.sysctls.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn get_sysctl(&self, key: &str) -> Result<String, NetlinkError> {
        self.record(NetlinkCall::GetSysctl(key.into()), || {
            format!("read sysctl {key}")
        })?;
        crate::sysctl::key_path(key)?;
        let st = self.state();
        st.sysctls
            .get(key)
            .cloned()
            .ok_or_else(|| missing_sysctl("read", key))
    }
}

fn missing_sysctl(op: &'static str, key: &str) -> NetlinkError {
    NetlinkError::Sysctl(crate::sysctl::SysctlError::Io {
        op,
        key: key.to_owned(),
        source: std::io::Error::from_raw_os_error(libc::ENOENT),
    })
}
