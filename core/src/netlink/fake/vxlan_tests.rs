//! Unit tests of the fake's VXLAN devices, FDB and neighbour tables, and onlink routes.

use std::net::IpAddr;

use super::{FakeNetlink, NetlinkCall};
use crate::netlink::{
    FdbEntry, IpFamily, LinkKind, MacAddr, Neighbour, Netlink, Route, VxlanInfo, VxlanSpec,
};

const PEER_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn spec(underlay: Option<u32>) -> VxlanSpec<'static> {
    VxlanSpec {
        name: "vx0",
        vni: 42,
        local: "192.0.2.1".parse().unwrap(),
        port: 4789,
        underlay,
        mtu: None,
        mac: Some(MacAddr([0x02, 0, 0, 0, 0, 1])),
    }
}

/// A fake with `eth0` (the underlay) and `vx0` on it; returns the vxlan's index.
fn with_vxlan() -> (FakeNetlink, u32) {
    let nl = FakeNetlink::new();
    let eth0 = nl.add_link("eth0", None);
    let vx = nl.create_vxlan(&spec(Some(eth0))).unwrap();
    (nl, vx.index)
}

#[test]
fn create_vxlan_reports_its_settings_and_is_exclusive() {
    let nl = FakeNetlink::new();
    let eth0 = nl.add_link("eth0", None);
    let vx = nl.create_vxlan(&spec(Some(eth0))).unwrap();
    assert_eq!(vx.kind, Some(LinkKind::Other("vxlan".into())));
    assert_eq!((vx.mtu, vx.mac, vx.admin_up), (1450, spec(None).mac, false));
    let info = nl.vxlan_info(vx.index).unwrap();
    let expected = VxlanInfo {
        vni: 42,
        local: Some(ip("192.0.2.1")),
        port: 4789,
        learning: false,
        underlay: Some(eth0),
    };
    assert_eq!(info, Some(expected));
    assert_eq!(nl.vxlan_info(eth0).unwrap(), None);
    assert_eq!(nl.vxlan_info(99).unwrap(), None);

    assert!(nl.create_vxlan(&spec(None)).unwrap_err().is_exists());
    let same_vni = VxlanSpec {
        name: "vx1",
        ..spec(None)
    };
    assert!(nl.create_vxlan(&same_vni).unwrap_err().is_exists());
    let other_port = VxlanSpec {
        port: 8472,
        mtu: Some(9000),
        ..same_vni
    };
    assert_eq!(nl.create_vxlan(&other_port).unwrap().mtu, 9000);
    assert!(matches!(
        nl.calls().first(),
        Some(NetlinkCall::CreateVxlan { name, vni: 42, underlay: Some(_), .. }) if name == "vx0"
    ));
}

#[test]
fn create_vxlan_refuses_a_missing_underlay_and_an_mtu_it_cannot_carry() {
    let nl = FakeNetlink::new();
    let eth0 = nl.add_link("eth0", None);
    let missing = nl.create_vxlan(&spec(Some(99))).unwrap_err();
    assert_eq!(missing.raw_os_error(), Some(libc::ENODEV));
    let too_big = VxlanSpec {
        mtu: Some(1500),
        ..spec(Some(eth0))
    };
    let err = nl.create_vxlan(&too_big).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(nl.link("vx0").is_none());
}

#[test]
fn fdb_replace_keeps_one_entry_per_mac_and_del_reports_whether_it_removed() {
    let (nl, vx) = with_vxlan();
    let entry = FdbEntry {
        mac: PEER_MAC,
        dst: ip("192.0.2.2"),
    };
    nl.fdb_replace(vx, &entry).unwrap();
    nl.fdb_replace(vx, &entry).unwrap();
    assert_eq!(nl.fdb_entries(vx).unwrap(), [entry]);
    let moved = FdbEntry {
        dst: ip("192.0.2.3"),
        ..entry
    };
    nl.fdb_replace(vx, &moved).unwrap();
    assert_eq!(nl.fdb_entries(vx).unwrap(), [moved]);
    assert!(
        !nl.fdb_del(vx, &entry).unwrap(),
        "the old destination is gone"
    );
    assert!(nl.fdb_del(vx, &moved).unwrap());
    assert!(!nl.fdb_del(vx, &moved).unwrap());
    assert!(nl.fdb_entries(vx).unwrap().is_empty());
}

#[test]
fn fdb_on_other_links_lists_nothing_and_missing_links_are_not_found() {
    let (nl, _) = with_vxlan();
    let entry = FdbEntry {
        mac: PEER_MAC,
        dst: ip("192.0.2.2"),
    };
    let eth0 = nl.link("eth0").unwrap().info.index;
    nl.fdb_replace(eth0, &entry).unwrap();
    assert!(nl.fdb_entries(eth0).unwrap().is_empty());
    assert!(!nl.fdb_del(eth0, &entry).unwrap());
    assert!(nl.fdb_replace(99, &entry).unwrap_err().is_not_found());
    assert!(nl.fdb_del(99, &entry).unwrap_err().is_not_found());
    assert!(nl.fdb_entries(99).unwrap().is_empty());
}

#[test]
fn neigh_replace_keeps_one_entry_per_ip_and_del_reports_whether_it_removed() {
    let (nl, vx) = with_vxlan();
    let v4 = Neighbour {
        ip: ip("10.100.2.0"),
        mac: PEER_MAC,
    };
    let v6 = Neighbour {
        ip: ip("fd00:2::"),
        mac: PEER_MAC,
    };
    nl.neigh_replace(vx, &v4).unwrap();
    nl.neigh_replace(vx, &v4).unwrap();
    nl.neigh_replace(vx, &v6).unwrap();
    assert_eq!(nl.neighbours(vx).unwrap(), [v4, v6]);
    let remac = Neighbour {
        mac: MacAddr([0x02, 0, 0, 0, 0, 3]),
        ..v4
    };
    nl.neigh_replace(vx, &remac).unwrap();
    assert_eq!(nl.neighbours(vx).unwrap(), [remac, v6]);
    assert!(nl.neigh_del(vx, v4.ip).unwrap());
    assert!(!nl.neigh_del(vx, v4.ip).unwrap());
    assert_eq!(nl.neighbours(vx).unwrap(), [v6]);
    assert!(nl.neigh_del(99, v4.ip).unwrap_err().is_not_found());
    assert!(nl.calls().contains(&NetlinkCall::NeighDel {
        index: vx,
        ip: v4.ip
    }));
}

#[test]
fn deleting_the_underlay_deletes_the_vxlan_and_its_tables() {
    let (nl, vx) = with_vxlan();
    let entry = FdbEntry {
        mac: PEER_MAC,
        dst: ip("192.0.2.2"),
    };
    nl.fdb_replace(vx, &entry).unwrap();
    assert!(nl.delete_link("eth0").unwrap());
    assert!(nl.link("vx0").is_none());
    assert_eq!(nl.vxlan_info(vx).unwrap(), None);
    assert!(nl.fdb_entries(vx).unwrap().is_empty());
    // The VNI is free again.
    nl.create_vxlan(&spec(None)).unwrap();
}

#[test]
fn onlink_routes_need_their_device_up_and_keep_the_flag() {
    let (nl, vx) = with_vxlan();
    let mut route = Route::new("10.100.2.0/24".parse().unwrap());
    route.gw = Some(ip("10.100.2.0"));
    route.oif = Some(vx);
    let unreachable = nl.add_route(&route).unwrap_err();
    assert_eq!(unreachable.raw_os_error(), Some(libc::ENETUNREACH));
    route.onlink = true;
    assert_eq!(
        route.to_string(),
        format!("10.100.2.0/24 via 10.100.2.0 dev #{vx} onlink")
    );
    let down = nl.add_route(&route).unwrap_err();
    assert_eq!(down.raw_os_error(), Some(libc::ENETDOWN));
    let no_dev = Route {
        oif: None,
        ..route.clone()
    };
    assert!(nl.add_route(&no_dev).unwrap_err().is_not_found());
    nl.set_up(vx).unwrap();
    nl.add_route(&route).unwrap();
    assert_eq!(nl.routes(IpFamily::V4).unwrap(), [route.clone()]);
    assert!(nl.add_route(&route).unwrap_err().is_exists());
    nl.del_route(&route).unwrap();
    assert!(nl.routes(IpFamily::V4).unwrap().is_empty());
}
