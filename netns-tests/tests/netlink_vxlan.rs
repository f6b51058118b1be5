//! Root tests for the VXLAN overlay half of `berth_core::netlink::LinuxNetlink`: VXLAN devices,
//! their static FDB entries, permanent neighbours and onlink routes, the way flannel's `vxlan`
//! backend wires two hosts, each host a throwaway network namespace.

use std::net::IpAddr;

use berth_core::netlink::{
    FdbEntry, IpFamily, LinkInfo, LinkKind, MacAddr, Neighbour, Netlink, Route, VxlanInfo,
    VxlanSpec,
};
use berth_netns_tests::{TestNetns, cni, veth_between};
use ipnetwork::IpNetwork;

const VXLAN: &str = "vxlan42";

fn net(s: &str) -> IpNetwork {
    s.parse().expect("valid network")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("valid address")
}

fn index(ns: &TestNetns, name: &str) -> u32 {
    let link = ns.netlink().link_by_name(name).expect("get link");
    link.expect("link exists").index
}

/// One overlay host: host `n` has underlay `192.0.2.n` and overlay subnet `10.100.n.0/24`.
struct Host {
    ns: TestNetns,
    n: u8,
    vx: u32,
    mac: MacAddr,
}

impl Host {
    fn underlay_ip(&self) -> IpAddr {
        ip(&format!("192.0.2.{}", self.n))
    }

    fn overlay_ip(&self) -> IpAddr {
        ip(&format!("10.100.{}.0", self.n))
    }

    /// The route to this host's subnet, as a peer adds it.
    fn route_from(&self, peer: &Host) -> Route {
        let mut route = Route::new(net(&format!("10.100.{}.0/24", self.n)));
        route.gw = Some(self.overlay_ip());
        route.oif = Some(peer.vx);
        route.onlink = true;
        route
    }

    fn fdb_entry(&self) -> FdbEntry {
        FdbEntry {
            mac: self.mac,
            dst: self.underlay_ip(),
        }
    }

    fn neighbour(&self) -> Neighbour {
        Neighbour {
            ip: self.overlay_ip(),
            mac: self.mac,
        }
    }
}

fn spec(n: u8, underlay: u32) -> VxlanSpec<'static> {
    VxlanSpec {
        name: VXLAN,
        vni: 42,
        local: format!("192.0.2.{n}").parse().expect("valid address"),
        port: 4789,
        underlay: Some(underlay),
        mtu: Some(1450),
        mac: Some(MacAddr([0x02, 0x42, 0, 0, 0, n])),
    }
}

/// Creates host `n`'s VXLAN device on `ul0`, gives it `10.100.n.0/32` and brings it up.
fn vtep(ns: TestNetns, n: u8) -> Host {
    let spec = spec(n, index(&ns, "ul0"));
    let link: LinkInfo = ns.netlink().create_vxlan(&spec).expect("create vxlan");
    assert_eq!(link.name, VXLAN);
    assert_eq!(link.kind, Some(LinkKind::Other("vxlan".into())));
    assert_eq!((link.mtu, link.mac), (1450, spec.mac));
    assert!(!link.admin_up, "created down");
    let host = Host {
        vx: link.index,
        mac: spec.mac.expect("spec has a MAC"),
        n,
        ns,
    };
    let nl = host.ns.netlink();
    let addr = IpNetwork::new(host.overlay_ip(), 32).expect("valid prefix");
    nl.add_address(host.vx, addr).expect("add overlay address");
    nl.set_up(host.vx).expect("set vxlan up");
    host
}

/// Two hosts joined by a veth underlay (`ul0`, 192.0.2.1/24 and 192.0.2.2/24), each with its
/// VXLAN device up and addressed, not yet told about the other.
fn two_hosts() -> (Host, Host) {
    let ns1 = TestNetns::new("vx1");
    let ns2 = TestNetns::new("vx2");
    let (a, b) = (net("192.0.2.1/24"), net("192.0.2.2/24"));
    veth_between(&ns1, "ul0", a, &ns2, "ul0", b);
    (vtep(ns1, 1), vtep(ns2, 2))
}

/// What flannel does when it learns of `peer`: FDB entry, neighbour, onlink route. Replaces
/// are done twice: they must be idempotent.
fn wire(host: &Host, peer: &Host) {
    let nl = host.ns.netlink();
    for _ in 0..2 {
        nl.fdb_replace(host.vx, &peer.fdb_entry())
            .expect("fdb replace");
        nl.neigh_replace(host.vx, &peer.neighbour())
            .expect("neigh replace");
    }
    nl.add_route(&peer.route_from(host))
        .expect("add onlink route");
}

fn vxlan_routes(host: &Host) -> Vec<Route> {
    let routes = host.ns.netlink().routes(IpFamily::V4).expect("list routes");
    routes
        .into_iter()
        .filter(|r| r.oif == Some(host.vx))
        .collect()
}

/// `busybox ping` of `addr` from `from`, a few tries for a loaded machine.
fn pings(from: &TestNetns, addr: IpAddr) -> bool {
    (0..3).any(|_| cni::ping(from, &addr.to_string()))
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn two_vteps_reach_each_other_through_static_fdb_neighbours_and_onlink_routes() {
    let (h1, h2) = two_hosts();
    for (host, peer) in [(&h1, &h2), (&h2, &h1)] {
        let info = host.ns.netlink().vxlan_info(host.vx).unwrap();
        let expected = VxlanInfo {
            vni: 42,
            local: Some(host.underlay_ip()),
            port: 4789,
            learning: false,
            underlay: Some(index(&host.ns, "ul0")),
        };
        assert_eq!(info, Some(expected));
        wire(host, peer);
    }

    assert!(
        pings(&h1.ns, h2.overlay_ip()),
        "ping 10.100.2.0 from host 1"
    );
    assert!(
        pings(&h2.ns, h1.overlay_ip()),
        "ping 10.100.1.0 from host 2"
    );

    for (host, peer) in [(&h1, &h2), (&h2, &h1)] {
        let nl = host.ns.netlink();
        assert_eq!(nl.fdb_entries(host.vx).unwrap(), [peer.fdb_entry()]);
        assert_eq!(nl.neighbours(host.vx).unwrap(), [peer.neighbour()]);
        let routes = vxlan_routes(host);
        assert_eq!(routes, [peer.route_from(host)], "{routes:#?}");
        assert!(routes[0].onlink);
    }
    // iproute2 sees the same entries.
    let fdb = h1.ns.run_ok("bridge", &["fdb", "show", "dev", VXLAN]);
    assert!(
        fdb.contains("02:42:00:00:00:02 dst 192.0.2.2 self permanent"),
        "{fdb}"
    );
    let neigh = h1.ns.run_ok("ip", &["neigh", "show", "dev", VXLAN]);
    assert!(
        neigh.contains("10.100.2.0 lladdr 02:42:00:00:00:02 PERMANENT"),
        "{neigh}"
    );
    let route = h1.ns.run_ok("ip", &["route", "show", "dev", VXLAN]);
    assert!(
        route.contains("10.100.2.0/24 via 10.100.2.0 onlink"),
        "{route}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn fdb_and_neighbour_deletes_say_whether_they_removed_anything() {
    let (h1, h2) = two_hosts();
    wire(&h1, &h2);
    let nl = h1.ns.netlink();
    assert!(nl.fdb_del(h1.vx, &h2.fdb_entry()).unwrap());
    assert!(!nl.fdb_del(h1.vx, &h2.fdb_entry()).unwrap());
    assert!(nl.fdb_entries(h1.vx).unwrap().is_empty());
    assert!(nl.neigh_del(h1.vx, h2.overlay_ip()).unwrap());
    assert!(!nl.neigh_del(h1.vx, h2.overlay_ip()).unwrap());
    assert!(nl.neighbours(h1.vx).unwrap().is_empty());
    nl.del_route(&h2.route_from(&h1)).unwrap();
    assert!(vxlan_routes(&h1).is_empty());
    let addr = h2.overlay_ip().to_string();
    assert!(!cni::ping(&h1.ns, &addr), "an unwired peer is unreachable");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn fdb_replace_moves_a_mac_to_its_new_vtep() {
    let (h1, h2) = two_hosts();
    wire(&h1, &h2);
    let nl = h1.ns.netlink();
    let moved = FdbEntry {
        dst: ip("192.0.2.3"),
        ..h2.fdb_entry()
    };
    nl.fdb_replace(h1.vx, &moved).unwrap();
    assert_eq!(nl.fdb_entries(h1.vx).unwrap(), [moved]);
    assert!(!nl.fdb_del(h1.vx, &h2.fdb_entry()).unwrap());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn create_vxlan_is_exclusive_and_vxlan_info_is_none_for_other_links() {
    let (h1, _h2) = two_hosts();
    let nl = h1.ns.netlink();
    let ul0 = index(&h1.ns, "ul0");
    let err = nl.create_vxlan(&spec(1, ul0)).unwrap_err();
    assert!(err.is_exists(), "{err}");
    assert!(
        err.to_string().starts_with("create vxlan vxlan42: "),
        "{err}"
    );
    assert_eq!(nl.vxlan_info(ul0).unwrap(), None);
    assert_eq!(nl.vxlan_info(9999).unwrap(), None);
    // A missing link has no entries, and deleting from it is "not found".
    assert!(nl.fdb_entries(9999).unwrap().is_empty());
    assert!(nl.neighbours(9999).unwrap().is_empty());
    let entry = FdbEntry {
        mac: MacAddr([0x02, 0x42, 0, 0, 0, 2]),
        dst: ip("192.0.2.2"),
    };
    assert!(nl.fdb_del(9999, &entry).unwrap_err().is_not_found());
    assert!(
        nl.neigh_del(9999, ip("10.100.2.0"))
            .unwrap_err()
            .is_not_found()
    );
    // Another VNI on the same port is a device of its own, with the kernel's default MTU.
    let other = VxlanSpec {
        name: "vxlan43",
        vni: 43,
        mtu: None,
        mac: None,
        ..spec(1, ul0)
    };
    let link = nl.create_vxlan(&other).unwrap();
    assert_eq!(link.mtu, 1450, "the veth's 1500 minus the VXLAN overhead");
    assert_eq!(nl.vxlan_info(link.index).unwrap().map(|i| i.vni), Some(43));
    assert!(nl.delete_link("vxlan43").unwrap());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ipv6_neighbours_and_onlink_routes_read_back() {
    let (h1, _h2) = two_hosts();
    let nl = h1.ns.netlink();
    let peer_mac = MacAddr([0x02, 0x42, 0, 0, 0, 2]);
    let v4 = Neighbour {
        ip: ip("10.100.2.0"),
        mac: peer_mac,
    };
    let v6 = Neighbour {
        ip: ip("fd00:100:2::"),
        mac: peer_mac,
    };
    nl.neigh_replace(h1.vx, &v4).unwrap();
    nl.neigh_replace(h1.vx, &v6).unwrap();
    let mut found = nl.neighbours(h1.vx).unwrap();
    found.sort_by_key(|n| n.ip);
    assert_eq!(found, [v4, v6]);

    let mut route = Route::new(net("fd00:100:2::/64"));
    route.gw = Some(v6.ip);
    route.oif = Some(h1.vx);
    route.onlink = true;
    nl.add_route(&route).unwrap();
    let routes = nl.routes(IpFamily::V6).unwrap();
    let back = routes.iter().find(|r| r.dst == route.dst).expect("route");
    assert!(back.onlink, "{back:?}");
    assert_eq!((back.gw, back.oif), (route.gw, route.oif));
    nl.del_route(&route).unwrap();
    assert!(nl.neigh_del(h1.vx, v6.ip).unwrap());
    assert_eq!(nl.neighbours(h1.vx).unwrap(), [v4]);
}
