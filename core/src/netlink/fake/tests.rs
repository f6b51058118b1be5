use std::os::fd::AsFd;

use ipnetwork::IpNetwork;

use super::{FakeNetlink, NetlinkCall};
use crate::netlink::{IpFamily, LinkKind, MacAddr, Netlink, NetlinkError, Route, RouteScope};

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn index(nl: &FakeNetlink, name: &str) -> u32 {
    nl.link(name).unwrap().info.index
}

/// A host fake whose veth peers land in the returned container fake.
fn host_and_container() -> (FakeNetlink, FakeNetlink, std::fs::File) {
    let host = FakeNetlink::new();
    let ctr = FakeNetlink::new();
    host.link_peer_namespace(&ctr);
    // Any fd stands for the container netns when a default peer namespace is linked.
    let fd = std::fs::File::open("/dev/null").unwrap();
    (host, ctr, fd)
}

#[test]
fn new_fake_has_only_lo_down() {
    let nl = FakeNetlink::new();
    let links = nl.links().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].index, links[0].name.as_str()), (1, "lo"));
    assert!(!links[0].admin_up);
    assert_eq!(nl.calls(), [NetlinkCall::Links]);
}

#[test]
fn ensure_bridge_returns_existing_bridge_and_refuses_other_kinds() {
    let nl = FakeNetlink::new();
    let first = nl.ensure_bridge("cni0", Some(1400), None, true).unwrap();
    assert_eq!(
        (first.kind.clone(), first.mtu),
        (Some(LinkKind::Bridge), 1400)
    );
    assert!(nl.link("cni0").unwrap().vlan_filtering);
    let again = nl.ensure_bridge("cni0", None, None, false).unwrap();
    assert_eq!(again, first);
    nl.add_link("eth0", None);
    let err = nl.ensure_bridge("eth0", None, None, false).unwrap_err();
    assert!(matches!(err, NetlinkError::NotABridge { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "link eth0 exists but is not a bridge (kind none)"
    );
}

#[test]
fn create_veth_puts_the_peer_in_the_linked_container_fake() {
    let (host, ctr, fd) = host_and_container();
    let mac: MacAddr = "02:42:0a:58:00:05".parse().unwrap();
    host.create_veth("veth1", "eth0", fd.as_fd(), Some(1450), Some(mac))
        .unwrap();
    let host_end = host.link("veth1").unwrap().info;
    let peer = ctr.link("eth0").unwrap().info;
    assert!(host.link("eth0").is_none());
    assert_eq!(peer.mac, Some(mac));
    assert_eq!((host_end.mtu, peer.mtu), (1450, 1450));
    assert_eq!(host_end.link, Some(peer.index));
    assert_eq!(peer.link, Some(host_end.index));
    assert_eq!(host_end.link_netnsid, Some(0));
    assert_eq!(
        host.calls(),
        [NetlinkCall::CreateVeth {
            name: "veth1".into(),
            peer: "eth0".into(),
            mtu: Some(1450),
            peer_mac: Some(mac),
        }]
    );
    let dup = host
        .create_veth("veth2", "eth0", fd.as_fd(), None, None)
        .unwrap_err();
    assert!(dup.is_exists(), "{dup}");
}

#[test]
fn create_veth_picks_the_peer_namespace_by_fd_identity() {
    let host = FakeNetlink::new();
    let (a, b) = (FakeNetlink::new(), FakeNetlink::new());
    let (fa, fb) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
    host.add_peer_namespace(fa.as_fd(), &a);
    host.add_peer_namespace(fb.as_fd(), &b);
    host.create_veth("va", "eth0", fa.as_fd(), None, None)
        .unwrap();
    host.create_veth("vb", "eth0", fb.as_fd(), None, None)
        .unwrap();
    assert!(a.link("eth0").is_some() && b.link("eth0").is_some());
    let unknown = tempfile::tempfile().unwrap();
    let err = host
        .create_veth("vc", "eth0", unknown.as_fd(), None, None)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
}

#[test]
fn deleting_one_veth_end_deletes_both_and_missing_is_false() {
    let (host, ctr, fd) = host_and_container();
    host.create_veth("veth1", "eth0", fd.as_fd(), None, None)
        .unwrap();
    let peer = index(&ctr, "eth0");
    ctr.add_address(peer, net("10.88.0.5/16")).unwrap();
    assert!(host.delete_link("veth1").unwrap());
    assert!(ctr.link("eth0").is_none());
    assert!(ctr.addresses(None).unwrap().is_empty());
    assert!(!host.delete_link("veth1").unwrap());
}

#[test]
fn addresses_are_exclusive_and_bring_their_prefix_route() {
    let nl = FakeNetlink::new();
    let eth0 = nl.add_link("eth0", None);
    nl.add_address(eth0, net("10.88.0.5/16")).unwrap();
    let err = nl.add_address(eth0, net("10.88.0.5/16")).unwrap_err();
    assert!(err.is_exists());
    assert_eq!(
        err.to_string(),
        "add 10.88.0.5/16 to eth0: File exists (os error 17)"
    );
    let routes = nl.routes(IpFamily::V4).unwrap();
    assert_eq!(routes.len(), 1);
    assert_eq!(
        (routes[0].dst, routes[0].scope),
        (net("10.88.0.0/16"), RouteScope::Link)
    );
    assert!(nl.routes(IpFamily::V6).unwrap().is_empty());

    nl.del_address(eth0, net("10.88.0.5/16")).unwrap();
    assert!(nl.routes(IpFamily::V4).unwrap().is_empty());
    let err = nl.del_address(eth0, net("10.88.0.5/16")).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = nl.add_address(99, net("10.0.0.1/8")).unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[test]
fn default_route_needs_an_on_link_gateway() {
    let nl = FakeNetlink::new();
    let eth0 = nl.add_link("eth0", None);
    let mut default = Route::new(net("0.0.0.0/0"));
    default.gw = Some("10.88.0.1".parse().unwrap());
    let err = nl.add_route(&default).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH));
    nl.add_address(eth0, net("10.88.0.5/16")).unwrap();
    nl.add_route(&default).unwrap();
    let stored = nl.routes(IpFamily::V4).unwrap();
    assert!(
        stored
            .iter()
            .any(|r| r.dst.prefix() == 0 && r.oif == Some(eth0))
    );
    assert!(nl.add_route(&default).unwrap_err().is_exists());
    nl.del_route(&default).unwrap();
    assert!(nl.del_route(&default).unwrap_err().is_not_found());

    let mut v6 = Route::new(net("::/0"));
    v6.gw = Some("fe80::1".parse().unwrap());
    v6.oif = Some(eth0);
    nl.add_route(&v6).unwrap();
    assert_eq!(nl.routes(IpFamily::V6).unwrap(), [v6]);
}

#[test]
fn bridge_ports_masters_hairpin_and_vlans() {
    let (host, _ctr, fd) = host_and_container();
    let br = host.ensure_bridge("br0", None, None, true).unwrap().index;
    host.create_veth("veth1", "eth0", fd.as_fd(), None, None)
        .unwrap();
    let port = index(&host, "veth1");
    assert_eq!(
        host.set_hairpin(port, true).unwrap_err().raw_os_error(),
        Some(libc::EOPNOTSUPP)
    );
    let other = host.add_link("eth9", None);
    assert!(host.set_master(port, other).is_err());
    host.set_master(port, br).unwrap();
    host.set_hairpin(port, true).unwrap();
    host.set_port_isolated(port, true).unwrap();
    host.bridge_vlan_add(port, 10, true, true, false).unwrap();
    host.bridge_vlan_add(port, 20, true, false, false).unwrap();
    host.bridge_vlan_add(br, 10, false, false, true).unwrap();
    let link = host.link("veth1").unwrap();
    assert!(link.hairpin && link.isolated);
    assert_eq!(link.vlans.get(&10), Some(&(false, true)));
    assert_eq!(link.vlans.get(&20), Some(&(true, false)));
    host.bridge_vlan_del(port, 10, false).unwrap();
    assert!(
        host.bridge_vlan_del(port, 10, false)
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(host.link("br0").unwrap().vlans.len(), 1);
    assert!(host.delete_link("br0").unwrap());
    assert_eq!(host.link("veth1").unwrap().info.master, None);
}

#[test]
fn link_settings_validate_like_the_kernel() {
    let nl = FakeNetlink::new();
    let eth0 = nl.add_link("eth0", None);
    nl.set_up(eth0).unwrap();
    nl.set_mtu(eth0, 9000).unwrap();
    nl.set_promisc(eth0, true).unwrap();
    let mac: MacAddr = "02:00:00:00:00:01".parse().unwrap();
    nl.set_mac(eth0, mac).unwrap();
    let info = nl.link_by_index(eth0).unwrap().unwrap();
    assert!(info.admin_up && info.oper_up && info.promisc);
    assert_eq!((info.mtu, info.mac), (9000, Some(mac)));
    assert_eq!(
        nl.set_mtu(eth0, 10).unwrap_err().raw_os_error(),
        Some(libc::EINVAL)
    );
    let multicast: MacAddr = "01:00:5e:00:00:01".parse().unwrap();
    assert!(nl.set_mac(eth0, multicast).is_err());
    let err = nl.set_up(42).unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.to_string(), "set up #42: No such device (os error 19)");
}

#[test]
fn sysctls_round_trip_and_per_interface_keys_need_the_link() {
    let nl = FakeNetlink::new();
    nl.preset_sysctl("net/ipv4/ip_forward", "0");
    assert_eq!(nl.get_sysctl("net/ipv4/ip_forward").unwrap(), "0");
    nl.set_sysctl("net/ipv4/ip_forward", "1").unwrap();
    assert_eq!(nl.sysctl("net/ipv4/ip_forward").as_deref(), Some("1"));
    let err = nl
        .set_sysctl("net/ipv6/conf/eth0/accept_dad", "0")
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    nl.add_link("eth0", None);
    nl.set_sysctl("net/ipv6/conf/eth0/accept_dad", "0").unwrap();
    assert!(nl.get_sysctl("net/ipv4/nope").unwrap_err().is_not_found());
    assert!(nl.set_sysctl("../etc/passwd", "x").is_err());
}

#[test]
fn fail_next_injects_one_failure_without_changing_state() {
    let nl = FakeNetlink::new();
    let eth0 = nl.add_link("eth0", None);
    nl.fail_next(|c| matches!(c, NetlinkCall::AddAddress { .. }), libc::EPERM);
    let err = nl.add_address(eth0, net("10.0.0.2/24")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    assert!(nl.addresses(Some(eth0)).unwrap().is_empty());
    nl.add_address(eth0, net("10.0.0.2/24")).unwrap();
    assert_eq!(nl.calls().len(), 3);
    nl.clear_calls();
    assert!(nl.calls().is_empty());
}
