//! The fake's VXLAN devices, FDB and neighbour tables: the [`State`] side of `create_vxlan`,
//! `fdb_*` and `neigh*`, with the kernel's answers for the common mistakes.

use std::net::IpAddr;

use super::state::{State, err};
use crate::netlink::{FdbEntry, LinkInfo, LinkKind, Neighbour, NetlinkError, VxlanInfo, VxlanSpec};

/// The VXLAN header overhead over IPv4 (outer IP, UDP, VXLAN and inner Ethernet headers).
const VXLAN_OVERHEAD: u32 = 50;

impl State {
    /// Creates a VXLAN device like the kernel: EEXIST for a taken name or for another device
    /// with the same VNI and port, ENODEV for a missing underlay, EINVAL for an MTU the
    /// underlay cannot carry, EADDRNOTAVAIL for a multicast or zero MAC. The MTU defaults to the underlay's minus the VXLAN overhead, or
    /// 1500 without an underlay.
    pub(super) fn create_vxlan(&mut self, spec: &VxlanSpec<'_>) -> Result<LinkInfo, NetlinkError> {
        let op = || format!("create vxlan {}", spec.name);
        let mut vxlans = self.links.values().filter_map(|l| l.vxlan.as_ref());
        let clash = vxlans.any(|v| v.vni == spec.vni && v.port == spec.port);
        if self.by_name(spec.name).is_some() || clash {
            return Err(err(op(), libc::EEXIST));
        }
        let (default_mtu, max_mtu) = match spec.underlay {
            Some(index) => match self.links.get(&index) {
                Some(lower) => {
                    let max = lower.info.mtu.saturating_sub(VXLAN_OVERHEAD);
                    (max, max)
                }
                None => return Err(err(op(), libc::ENODEV)),
            },
            None => (1500, 65535 - VXLAN_OVERHEAD),
        };
        let mtu = spec.mtu.unwrap_or(default_mtu);
        if !(68..=max_mtu).contains(&mtu) {
            return Err(err(op(), libc::EINVAL));
        }
        if spec.mac.is_some_and(|m| !m.is_unicast() || m.is_zero()) {
            return Err(err(op(), libc::EADDRNOTAVAIL));
        }
        let kind = Some(LinkKind::Other("vxlan".into()));
        let index = self.insert_link(spec.name, kind, mtu, spec.mac);
        let link = self.link_mut(index, "create vxlan")?;
        link.vxlan = Some(VxlanInfo {
            vni: spec.vni,
            local: Some(IpAddr::V4(spec.local)),
            port: spec.port,
            learning: false,
            underlay: spec.underlay,
        });
        Ok(link.info.clone())
    }

    /// `bridge fdb replace … self permanent`: one entry per MAC, its destination replaced.
    /// ENODEV for a missing link. Like the kernel, a link that is not a VXLAN device takes the
    /// entry without its destination, so it is not listed.
    pub(super) fn fdb_replace(&mut self, index: u32, entry: &FdbEntry) -> Result<(), NetlinkError> {
        let what = format!("replace fdb {} dst {} on", entry.mac, entry.dst);
        let link = self.link_mut(index, &what)?;
        if link.vxlan.is_none() {
            return Ok(());
        }
        match link.fdb.iter_mut().find(|e| e.mac == entry.mac) {
            Some(existing) => existing.dst = entry.dst,
            None => link.fdb.push(*entry),
        }
        Ok(())
    }

    /// `bridge fdb del … self`: `false` when no entry has that MAC and destination; ENODEV for
    /// a missing link.
    pub(super) fn fdb_del(&mut self, index: u32, entry: &FdbEntry) -> Result<bool, NetlinkError> {
        let what = format!("delete fdb {} dst {} from", entry.mac, entry.dst);
        let link = self.link_mut(index, &what)?;
        let before = link.fdb.len();
        link.fdb.retain(|e| e != entry);
        Ok(link.fdb.len() != before)
    }

    /// `ip neigh replace … nud permanent`: one entry per IP, its MAC replaced.
    pub(super) fn neigh_replace(&mut self, index: u32, n: &Neighbour) -> Result<(), NetlinkError> {
        let what = format!("replace neighbour {} lladdr {} on", n.ip, n.mac);
        let link = self.link_mut(index, &what)?;
        match link.neighbours.iter_mut().find(|e| e.ip == n.ip) {
            Some(existing) => existing.mac = n.mac,
            None => link.neighbours.push(*n),
        }
        Ok(())
    }

    /// `ip neigh del IP dev X`: `false` when there was no entry for `ip`.
    pub(super) fn neigh_del(&mut self, index: u32, ip: IpAddr) -> Result<bool, NetlinkError> {
        let link = self.link_mut(index, &format!("delete neighbour {ip} from"))?;
        let before = link.neighbours.len();
        link.neighbours.retain(|n| n.ip != ip);
        Ok(link.neighbours.len() != before)
    }

    /// The VXLAN devices whose underlay is `index` (the kernel deletes them with it).
    pub(super) fn vxlans_on(&self, index: u32) -> Vec<u32> {
        let on_it = |v: &VxlanInfo| v.underlay == Some(index);
        self.links
            .values()
            .filter(|l| l.vxlan.as_ref().is_some_and(on_it))
            .map(|l| l.info.index)
            .collect()
    }
}
