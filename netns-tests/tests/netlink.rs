//! Root tests for `berth_core::netns` and `berth_core::netlink::LinuxNetlink`, each in
//! throwaway network namespaces.

use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use berth_core::netlink::{
    IpFamily, LinkKind, LinuxNetlink, MacAddr, Netlink, NetlinkError, Route, RouteScope,
};
use berth_core::netns::{Netns, NetnsError};
use berth_netns_tests::{TEST_NETNS_DIR, TestNetns, veth_between};
use ipnetwork::IpNetwork;

fn net(s: &str) -> IpNetwork {
    s.parse().expect("valid network")
}

fn index(ns: &TestNetns, name: &str) -> u32 {
    let link = ns.netlink().link_by_name(name).expect("get link");
    link.expect("link exists").index
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn netns_create_open_remove_is_idempotent() {
    let dir = Path::new(TEST_NETNS_DIR);
    let name = format!("idem-{}", std::process::id());
    let created = Netns::create_named(dir, &name).unwrap();
    let opened = Netns::open(&dir.join(&name)).unwrap();
    assert!(created.same_as(&opened));
    assert!(!created.same_as(&Netns::current().unwrap()));
    let again = Netns::create_named(dir, &name).unwrap_err();
    assert!(
        matches!(again, NetnsError::AlreadyExists { .. }),
        "{again:?}"
    );

    Netns::remove_named(dir, &name).unwrap();
    Netns::remove_named(dir, &name).unwrap();
    let gone = Netns::open(&dir.join(&name)).unwrap_err();
    assert!(matches!(gone, NetnsError::NotFound { .. }), "{gone:?}");
    // The open handle keeps the namespace usable after its mount is gone.
    let nl = LinuxNetlink::open_in(&created).unwrap();
    assert!(nl.link_by_name("lo").unwrap().is_some());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_netns_dir_of_its_own_is_released_and_can_go() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("netns");
    let mounted = |d: &Path| {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        info.lines()
            .any(|l| l.split(' ').nth(4) == Some(d.to_str().unwrap()))
    };
    Netns::create_named(&dir, "rel").unwrap();
    assert!(mounted(&dir), "create_named makes the dir a mount point");
    Netns::remove_named(&dir, "rel").unwrap();
    Netns::release_dir(&dir).unwrap();
    assert!(!mounted(&dir));
    std::fs::remove_dir(&dir).unwrap();
    // Releasing what is not (or no longer) a mount point is fine.
    Netns::release_dir(&dir).unwrap();
    Netns::release_dir(parent.path()).unwrap();
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn netns_open_regular_file_is_not_netns() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = Netns::open(file.path()).unwrap_err();
    assert!(matches!(err, NetnsError::NotNetns { .. }), "{err:?}");
    let proc_ns = Netns::open(Path::new("/proc/self/ns/net")).unwrap();
    assert!(proc_ns.same_as(&Netns::current().unwrap()));
    let wrong_type = Netns::open(Path::new("/proc/self/ns/uts")).unwrap_err();
    assert!(
        matches!(wrong_type, NetnsError::NotNetns { .. }),
        "{wrong_type:?}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn netns_run_in_enters_the_namespace_only_on_its_thread() {
    let ns = TestNetns::new("runin");
    let me = Netns::current().unwrap();
    let inside = ns.netns().run_in(|| Netns::current().unwrap()).unwrap();
    assert!(inside.same_as(ns.netns()));
    assert!(Netns::current().unwrap().same_as(&me));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn netns_run_here_returns_home_and_its_socket_stays_inside() {
    let ns = TestNetns::new("runhere");
    let me = Netns::current().unwrap();
    let inside = ns
        .netns()
        .run_here(&me, || Netns::current().unwrap())
        .unwrap();
    assert!(inside.same_as(ns.netns()));
    assert!(Netns::current().unwrap().same_as(&me));
    // A handle opened this way acts on the namespace it was opened in, from the home one.
    let nl = LinuxNetlink::open_in_here(ns.netns(), &me).unwrap();
    assert!(Netns::current().unwrap().same_as(&me));
    nl.create_veth_with(&berth_core::netlink::VethSpec {
        name: "here0",
        peer: "here1",
        peer_ns: ns.netns().as_fd(),
        mtu: None,
        peer_mac: None,
        master: None,
        up: false,
    })
    .unwrap();
    assert!(ns.netlink().link_by_name("here0").unwrap().is_some());
    assert!(
        LinuxNetlink::new()
            .unwrap()
            .link_by_name("here0")
            .unwrap()
            .is_none()
    );
    // Both ends have one queue each way (not one per CPU, cut back to one).
    for end in ["here0", "here1"] {
        let out = ns.run("ip", &["-d", "link", "show", end]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("numtxqueues 1 numrxqueues 1"),
            "{end}: {text}"
        );
    }
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn test_netns_has_lo_up_and_runs_commands_inside() {
    let ns = TestNetns::new("lo");
    let lo = ns.netlink().link_by_name("lo").unwrap().unwrap();
    assert!(lo.admin_up && lo.oper_up);
    assert_eq!(lo.index, 1);
    let out = ns.run_ok("ip", &["-o", "link", "show"]);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ensure_bridge_twice_returns_the_same_bridge() {
    let ns = TestNetns::new("br");
    let nl = ns.netlink();
    let mac: MacAddr = "02:00:00:00:be:01".parse().unwrap();
    let first = nl
        .ensure_bridge("br0", Some(1400), Some(mac), false)
        .unwrap();
    assert_eq!(first.kind, Some(LinkKind::Bridge));
    assert_eq!(first.mtu, 1400);
    assert_eq!(first.mac, Some(mac));
    let second = nl.ensure_bridge("br0", None, None, false).unwrap();
    assert_eq!(second.index, first.index);

    nl.create_veth("notbr", "notbr-p", ns.netns().as_fd(), None, None)
        .unwrap();
    let err = nl.ensure_bridge("notbr", None, None, false).unwrap_err();
    assert!(matches!(err, NetlinkError::NotABridge { .. }), "{err}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn create_veth_puts_the_peer_in_the_other_netns_with_its_final_name() {
    let host = TestNetns::new("vh");
    let ctr = TestNetns::new("vc");
    let mac: MacAddr = "02:42:0a:58:00:05".parse().unwrap();
    host.netlink()
        .create_veth(
            "veth1234",
            "eth0",
            ctr.netns().as_fd(),
            Some(1450),
            Some(mac),
        )
        .unwrap();
    let host_end = host.netlink().link_by_name("veth1234").unwrap().unwrap();
    assert_eq!(host_end.kind, Some(LinkKind::Veth));
    assert_eq!(host_end.mtu, 1450);
    assert!(host_end.link_netnsid.is_some());
    assert!(host.netlink().link_by_name("eth0").unwrap().is_none());

    let peer = ctr.netlink().link_by_name("eth0").unwrap().unwrap();
    assert_eq!(peer.kind, Some(LinkKind::Veth));
    assert_eq!(peer.mac, Some(mac));
    assert_eq!(peer.mtu, 1450);
    assert_eq!(host_end.link, Some(peer.index));
    assert_eq!(peer.link, Some(host_end.index));
    assert!(!peer.admin_up);

    let again = host
        .netlink()
        .create_veth("veth1234", "eth1", ctr.netns().as_fd(), None, None)
        .unwrap_err();
    assert!(again.is_exists(), "{again}");

    assert!(host.netlink().delete_link("veth1234").unwrap());
    assert!(ctr.netlink().link_by_name("eth0").unwrap().is_none());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn delete_link_on_a_missing_link_returns_false() {
    let ns = TestNetns::new("del");
    assert!(!ns.netlink().delete_link("nosuchlink").unwrap());
    assert!(ns.netlink().link_by_index(4242).unwrap().is_none());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn addresses_add_list_delete_and_eexist() {
    let ns = TestNetns::new("addr");
    let nl = ns.netlink();
    let br = nl.ensure_bridge("br0", None, None, false).unwrap();
    let v4 = net("10.88.0.1/16");
    let v6 = net("fd00:88::1/64");
    nl.add_address(br.index, v4).unwrap();
    nl.add_address(br.index, v6).unwrap();
    let err = nl.add_address(br.index, v4).unwrap_err();
    assert!(err.is_exists(), "{err}");
    assert_eq!(
        err.to_string(),
        "add 10.88.0.1/16 to br0: File exists (os error 17)"
    );

    let mine: Vec<IpNetwork> = nl
        .addresses(Some(br.index))
        .unwrap()
        .into_iter()
        .map(|a| a.addr)
        .collect();
    assert!(mine.contains(&v4) && mine.contains(&v6), "{mine:?}");
    let all = nl.addresses(None).unwrap();
    assert!(
        all.iter()
            .any(|a| a.index == 1 && a.addr == net("127.0.0.1/8"))
    );
    let brd = ns.run_ok("ip", &["-4", "addr", "show", "dev", "br0"]);
    assert!(brd.contains("brd 10.88.255.255"), "{brd}");

    nl.del_address(br.index, v4).unwrap();
    let err = nl.del_address(br.index, v4).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        !nl.addresses(Some(br.index))
            .unwrap()
            .iter()
            .any(|a| a.addr == v4)
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn routes_add_list_delete_including_default_via_gateway() {
    let ns = TestNetns::new("route");
    let nl = ns.netlink();
    let br = nl.ensure_bridge("br0", None, None, false).unwrap();
    nl.add_address(br.index, net("10.89.0.2/24")).unwrap();
    nl.set_up(br.index).unwrap();

    let mut default = Route::new(net("0.0.0.0/0"));
    default.gw = Some("10.89.0.1".parse().unwrap());
    default.oif = Some(br.index);
    nl.add_route(&default).unwrap();
    let mut extra = Route::new(net("192.168.50.0/24"));
    extra.oif = Some(br.index);
    extra.scope = RouteScope::Link;
    extra.priority = Some(50);
    extra.mtu = Some(1300);
    extra.advmss = Some(1200);
    nl.add_route(&extra).unwrap();
    let mut other_table = Route::new(net("192.168.60.0/24"));
    other_table.gw = default.gw;
    other_table.table = Some(1000);
    nl.add_route(&other_table).unwrap();

    let routes = nl.routes(IpFamily::V4).unwrap();
    assert!(routes.contains(&default), "{routes:#?}");
    assert!(routes.contains(&extra), "{routes:#?}");
    let found = routes.iter().find(|r| r.dst == other_table.dst).unwrap();
    assert_eq!(found.table, Some(1000));
    assert!(
        routes
            .iter()
            .any(|r| r.dst == net("10.89.0.0/24") && r.scope == RouteScope::Link)
    );
    assert!(
        !routes.iter().any(|r| r.dst.ip().is_loopback()),
        "local table leaked"
    );

    let err = nl.add_route(&default).unwrap_err();
    assert!(err.is_exists(), "{err}");
    let shown = ns.run_ok("ip", &["route", "show", "default"]);
    assert!(shown.contains("via 10.89.0.1 dev br0"), "{shown}");

    nl.del_route(&default).unwrap();
    nl.del_route(&extra).unwrap();
    nl.del_route(&other_table).unwrap();
    let err = nl.del_route(&default).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let routes = nl.routes(IpFamily::V4).unwrap();
    assert!(
        !routes
            .iter()
            .any(|r| r.dst.prefix() == 0 || r.dst == extra.dst)
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ipv6_default_route_via_link_local_gateway() {
    let ns = TestNetns::new("route6");
    let nl = ns.netlink();
    let br = nl.ensure_bridge("br6", None, None, false).unwrap();
    nl.set_up(br.index).unwrap();
    let mut default = Route::new(net("::/0"));
    default.gw = Some("fe80::1".parse().unwrap());
    default.oif = Some(br.index);
    nl.add_route(&default).unwrap();
    let routes = nl.routes(IpFamily::V6).unwrap();
    let found = routes.iter().find(|r| r.dst.prefix() == 0).unwrap();
    assert_eq!(found.gw, default.gw);
    assert_eq!(found.oif, Some(br.index));
    nl.del_route(&default).unwrap();
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn link_settings_mtu_mac_promisc_up_down() {
    let ns = TestNetns::new("set");
    let nl = ns.netlink();
    let br = nl.ensure_bridge("br0", None, None, false).unwrap();
    let mac: MacAddr = "02:11:22:33:44:55".parse().unwrap();
    nl.set_mtu(br.index, 1280).unwrap();
    nl.set_mac(br.index, mac).unwrap();
    nl.set_promisc(br.index, true).unwrap();
    nl.set_up(br.index).unwrap();
    let got = nl.link_by_index(br.index).unwrap().unwrap();
    assert_eq!(
        (got.mtu, got.mac, got.promisc, got.admin_up),
        (1280, Some(mac), true, true)
    );
    nl.set_promisc(br.index, false).unwrap();
    nl.set_down(br.index).unwrap();
    let got = nl.link_by_index(br.index).unwrap().unwrap();
    assert!(!got.promisc && !got.admin_up);
    let err = nl.set_up(9999).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().starts_with("set up #9999: "), "{err}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn bridge_ports_hairpin_and_isolated() {
    let ns = TestNetns::new("port");
    let nl = ns.netlink();
    let br = nl.ensure_bridge("br0", None, None, false).unwrap();
    nl.create_veth("port0", "peer0", ns.netns().as_fd(), None, None)
        .unwrap();
    let port = index(&ns, "port0");
    nl.set_master(port, br.index).unwrap();
    assert_eq!(
        nl.link_by_index(port).unwrap().unwrap().master,
        Some(br.index)
    );

    nl.set_hairpin(port, true).unwrap();
    nl.set_port_isolated(port, true).unwrap();
    let shown = ns.run_ok("bridge", &["-d", "link", "show", "dev", "port0"]);
    assert!(shown.contains("hairpin on"), "{shown}");
    assert!(shown.contains("isolated on"), "{shown}");
    nl.set_hairpin(port, false).unwrap();
    let shown = ns.run_ok("bridge", &["-d", "link", "show", "dev", "port0"]);
    assert!(shown.contains("hairpin off"), "{shown}");

    let not_port = nl.ensure_bridge("br1", None, None, false).unwrap();
    assert!(nl.set_hairpin(not_port.index, true).is_err());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn set_sysctl_in_a_netns_leaves_the_test_process_netns_alone() {
    let ns = TestNetns::new("sysctl");
    let own = berth_core::sysctl::read("net/ipv4/ip_forward").unwrap();
    let flipped = if own == "1" { "0" } else { "1" };
    ns.netlink()
        .set_sysctl("net/ipv4/ip_forward", flipped)
        .unwrap();
    assert_eq!(
        ns.netlink().get_sysctl("net/ipv4/ip_forward").unwrap(),
        flipped
    );
    assert_eq!(
        berth_core::sysctl::read("net/ipv4/ip_forward").unwrap(),
        own
    );
    let inside = ns.run_ok("cat", &["/proc/sys/net/ipv4/ip_forward"]);
    assert_eq!(inside.trim(), flipped);
    // The same handle, used from a thread already inside the namespace.
    let value = ns
        .netns()
        .run_in(|| ns.netlink().get_sysctl("net/ipv4/ip_forward").unwrap())
        .unwrap();
    assert_eq!(value, flipped);
    let err = ns.netlink().get_sysctl("net/ipv4/no_such_key").unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn veth_between_connects_two_namespaces() {
    let a = TestNetns::new("pa");
    let b = TestNetns::new("pb");
    veth_between(
        &a,
        "va",
        net("10.200.0.1/30"),
        &b,
        "vb",
        net("10.200.0.2/30"),
    );
    let bind = |ns: &TestNetns, addr: &'static str| {
        ns.netns()
            .run_in(|| UdpSocket::bind(addr))
            .unwrap()
            .unwrap()
    };
    let rx = bind(&b, "10.200.0.2:0");
    let tx = bind(&a, "10.200.0.1:0");
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 16];
    let (len, from) = rx.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"hello");
    assert_eq!(from, tx.local_addr().unwrap());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn links_lists_everything_in_the_namespace() {
    let ns = TestNetns::new("links");
    let nl = ns.netlink();
    nl.ensure_bridge("br0", None, None, false).unwrap();
    nl.create_veth("a0", "b0", ns.netns().as_fd(), None, None)
        .unwrap();
    let mut names: Vec<String> = nl.links().unwrap().into_iter().map(|l| l.name).collect();
    names.sort();
    assert_eq!(names, ["a0", "b0", "br0", "lo"]);
}

/// Kernels built without CONFIG_BRIDGE_VLAN_FILTERING answer EOPNOTSUPP to vlan_filtering; then
/// this test checks that the error says what was attempted and keeps the errno. Otherwise it
/// checks vlan_filtering and `bridge vlan add/del` end to end.
#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn bridge_vlan_filtering_and_vlans() {
    let ns = TestNetns::new("vlan");
    let nl = ns.netlink();
    let br = match nl.ensure_bridge("br0", None, None, true) {
        Ok(br) => br,
        Err(err) => {
            assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP), "{err}");
            assert!(err.to_string().starts_with("create bridge br0: "), "{err}");
            eprintln!("kernel lacks CONFIG_BRIDGE_VLAN_FILTERING: checked the error only");
            return;
        }
    };
    nl.create_veth("port0", "peer0", ns.netns().as_fd(), None, None)
        .unwrap();
    let port = index(&ns, "port0");
    nl.set_master(port, br.index).unwrap();
    let details = ns.run_ok("ip", &["-d", "link", "show", "dev", "br0"]);
    assert!(details.contains("vlan_filtering 1"), "{details}");
    nl.bridge_vlan_add(port, 100, true, true, false).unwrap();
    nl.bridge_vlan_add(br.index, 100, false, false, true)
        .unwrap();
    let vlans = ns.run_ok("bridge", &["vlan", "show", "dev", "port0"]);
    assert!(vlans.contains("100 PVID Egress Untagged"), "{vlans}");
    let vlans = ns.run_ok("bridge", &["vlan", "show", "dev", "br0"]);
    assert!(vlans.contains("100"), "{vlans}");
    nl.bridge_vlan_del(port, 100, false).unwrap();
    let vlans = ns.run_ok("bridge", &["vlan", "show", "dev", "port0"]);
    assert!(!vlans.contains("100"), "{vlans}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ensure_bridge_from_concurrent_creators_all_succeed() {
    let ns = TestNetns::new("brrace");
    let indexes: Vec<u32> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let nl = LinuxNetlink::open_in(ns.netns()).unwrap();
                    nl.ensure_bridge("race0", None, None, false).unwrap().index
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert!(indexes.windows(2).all(|w| w[0] == w[1]), "{indexes:?}");
}
