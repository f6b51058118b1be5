//! A switch between test "hosts": a throwaway namespace holding one bridge, and a veth from
//! each plugged namespace to a port of it. Multi-host tests put their hosts, their etcd and
//! an "outside" peer on it; the machine's own network is never part of it.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup step should panic loudly

use std::os::fd::AsFd;

use berth_core::netlink::{Netlink, VethSpec};
use ipnetwork::IpNetwork;

use crate::TestNetns;

/// The switch.
pub struct Underlay {
    /// The namespace holding the bridge.
    pub ns: TestNetns,
    bridge: u32,
    ports: std::cell::Cell<u32>,
}

impl Underlay {
    /// A new switch (bridge `sw0`, up).
    pub fn new(prefix: &str) -> Self {
        let ns = TestNetns::new(prefix);
        let br = ns
            .netlink()
            .ensure_bridge("sw0", None, None, false)
            .unwrap();
        ns.netlink().set_up(br.index).unwrap();
        Self {
            ns,
            bridge: br.index,
            ports: std::cell::Cell::new(0),
        }
    }

    /// Plugs `host` in: its interface `ifname` gets `addr` and is up, its peer is a port of
    /// the switch.
    pub fn plug(&self, host: &TestNetns, ifname: &str, addr: IpNetwork) {
        let n = self.ports.get();
        self.ports.set(n + 1);
        let port = format!("port{n}");
        host.netlink()
            .create_veth_with(&VethSpec {
                name: ifname,
                peer: &port,
                peer_ns: self.ns.netns().as_fd(),
                mtu: None,
                peer_mac: None,
                master: None,
                up: false,
            })
            .unwrap();
        let nl = self.ns.netlink();
        let p = nl.link_by_name(&port).unwrap().unwrap();
        nl.set_master(p.index, self.bridge).unwrap();
        nl.set_up(p.index).unwrap();
        let l = host.netlink().link_by_name(ifname).unwrap().unwrap();
        host.netlink().add_address(l.index, addr).unwrap();
        host.netlink().set_up(l.index).unwrap();
    }
}
