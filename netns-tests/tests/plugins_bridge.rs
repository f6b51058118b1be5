//! Root tests of the bridge and host-local plugins, each in throwaway namespaces: a "host"
//! namespace holding the bridge, and one namespace per container.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use berth_core::netlink::Netlink;
use berth_netns_tests::TestNetns;
use berth_netns_tests::cni::{Call, ping};
use serde_json::{Value, json};

const ROOT: &str = "needs root: cargo test -p berth-netns-tests -- --ignored";

fn bridge_conf(data: &std::path::Path, subnet: &str) -> Value {
    json!({
        "cniVersion": "1.0.0",
        "name": "testnet",
        "type": "bridge",
        "bridge": "br-test",
        "isGateway": true,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": subnet}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": data,
        }
    })
}

fn reservations(data: &std::path::Path) -> Vec<String> {
    let dir = data.join("testnet");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
        .collect()
}

fn ip_of(result: &Value) -> String {
    let addr = result["ips"][0]["address"].as_str().expect("address");
    addr.split('/').next().unwrap().to_string()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn bridge_add_check_del_roundtrip() {
    let _ = ROOT;
    let host = TestNetns::new("br-host");
    let ctr = TestNetns::new("br-ctr");
    let data = tempfile::tempdir().unwrap();
    let conf = bridge_conf(data.path(), "10.10.0.0/24");
    let add = Call::new("bridge", "ADD", "c1", Some(ctr.path()));
    let result = add.run(&host, &conf).ok();

    assert_eq!(result["cniVersion"], "1.0.0");
    let ifs = result["interfaces"].as_array().unwrap();
    assert_eq!(ifs.len(), 3);
    assert_eq!(ifs[0]["name"], "br-test");
    assert_eq!(ifs[2]["name"], "eth0");
    assert_eq!(ifs[2]["sandbox"], ctr.path().to_str().unwrap());
    assert_eq!(result["ips"][0]["interface"], 2);
    assert_eq!(result["ips"][0]["gateway"], "10.10.0.1");
    let ip = ip_of(&result);

    // The container has eth0 with the address and a default route via the gateway.
    let addrs = ctr.run_ok("ip", &["-o", "addr", "show", "dev", "eth0"]);
    assert!(addrs.contains(&format!("{ip}/24")), "{addrs}");
    let routes = ctr.run_ok("ip", &["route"]);
    assert!(
        routes.contains("default via 10.10.0.1 dev eth0"),
        "{routes}"
    );
    // The host has the bridge with the gateway address and forwarding on.
    let br = host.run_ok("ip", &["-o", "addr", "show", "dev", "br-test"]);
    assert!(br.contains("10.10.0.1/24"), "{br}");
    assert_eq!(
        host.netlink().get_sysctl("net/ipv4/ip_forward").unwrap(),
        "1"
    );
    assert!(
        ping(&ctr, "10.10.0.1"),
        "container cannot reach the gateway"
    );
    assert_eq!(reservations(data.path()), vec![ip.clone()]);

    let mut check_conf = conf.clone();
    check_conf["prevResult"] = result.clone();
    Call::new("bridge", "CHECK", "c1", Some(ctr.path()))
        .run(&host, &check_conf)
        .ok();

    let del = Call::new("bridge", "DEL", "c1", Some(ctr.path()));
    del.run(&host, &check_conf).ok();
    assert!(ctr.netlink().link_by_name("eth0").unwrap().is_none());
    assert!(reservations(data.path()).is_empty());
    let host_links = host.run_ok("ip", &["-o", "link"]);
    assert!(!host_links.contains("veth"), "host veth left: {host_links}");
    // DEL again, and DEL without a netns, both succeed.
    del.run(&host, &check_conf).ok();
    Call::new("bridge", "DEL", "c1", None)
        .run(&host, &conf)
        .ok();
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn check_fails_when_the_address_was_removed() {
    let host = TestNetns::new("chk-host");
    let ctr = TestNetns::new("chk-ctr");
    let data = tempfile::tempdir().unwrap();
    let conf = bridge_conf(data.path(), "10.11.0.0/24");
    let result = Call::new("bridge", "ADD", "c1", Some(ctr.path()))
        .run(&host, &conf)
        .ok();
    let addr = result["ips"][0]["address"].as_str().unwrap().to_string();
    ctr.run_ok("ip", &["addr", "del", &addr, "dev", "eth0"]);
    let mut check_conf = conf.clone();
    check_conf["prevResult"] = result;
    let msg = Call::new("bridge", "CHECK", "c1", Some(ctr.path()))
        .run(&host, &check_conf)
        .err(104);
    assert!(msg.contains(&addr), "{msg}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn two_containers_ping_each_other_and_the_gateway() {
    let host = TestNetns::new("pp-host");
    let a = TestNetns::new("pp-a");
    let b = TestNetns::new("pp-b");
    let data = tempfile::tempdir().unwrap();
    let conf = bridge_conf(data.path(), "10.12.0.0/24");
    let ra = Call::new("bridge", "ADD", "ca", Some(a.path()))
        .run(&host, &conf)
        .ok();
    let rb = Call::new("bridge", "ADD", "cb", Some(b.path()))
        .run(&host, &conf)
        .ok();
    let (ip_a, ip_b) = (ip_of(&ra), ip_of(&rb));
    assert_ne!(ip_a, ip_b);
    assert!(ping(&a, &ip_b), "a cannot reach b");
    assert!(ping(&b, &ip_a), "b cannot reach a");
    assert!(ping(&a, "10.12.0.1") && ping(&b, "10.12.0.1"));
    assert!(ping(&host, &ip_a), "host cannot reach a");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn del_with_the_netns_gone_releases_the_address() {
    let host = TestNetns::new("gone-host");
    let data = tempfile::tempdir().unwrap();
    let conf = bridge_conf(data.path(), "10.13.0.0/24");
    let ctr = TestNetns::new("gone-ctr");
    let path = ctr.path().to_path_buf();
    Call::new("bridge", "ADD", "c1", Some(&path))
        .run(&host, &conf)
        .ok();
    drop(ctr);
    assert_eq!(reservations(data.path()).len(), 1);
    Call::new("bridge", "DEL", "c1", Some(&path))
        .run(&host, &conf)
        .ok();
    assert!(reservations(data.path()).is_empty());
    let links = host.run_ok("ip", &["-o", "link"]);
    assert!(!links.contains("veth"), "{links}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn fifty_parallel_adds_get_distinct_reachable_addresses() {
    let host = TestNetns::new("par-host");
    let data = tempfile::tempdir().unwrap();
    let conf = bridge_conf(data.path(), "10.14.0.0/24");
    let ctrs: Vec<TestNetns> = (0..50).map(|_| TestNetns::new("par-ctr")).collect();
    let ips: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ctrs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (host, conf) = (&host, &conf);
                s.spawn(move || {
                    let id = format!("par{i}");
                    ip_of(
                        &Call::new("bridge", "ADD", &id, Some(c.path()))
                            .run(host, conf)
                            .ok(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = ips.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 50, "duplicate addresses: {ips:?}");
    for ip in &ips {
        assert!(ping(&host, ip), "{ip} unreachable");
    }
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_full_slash_29_gives_the_exhaustion_error_and_leaves_nothing() {
    let host = TestNetns::new("full-host");
    let data = tempfile::tempdir().unwrap();
    let conf = bridge_conf(data.path(), "10.15.0.0/29");
    let ctrs: Vec<TestNetns> = (0..6).map(|_| TestNetns::new("full-ctr")).collect();
    for (i, c) in ctrs.iter().take(5).enumerate() {
        Call::new("bridge", "ADD", &format!("f{i}"), Some(c.path()))
            .run(&host, &conf)
            .ok();
    }
    let msg = Call::new("bridge", "ADD", "f5", Some(ctrs[5].path()))
        .run(&host, &conf)
        .err(100);
    assert!(msg.contains("no free address"), "{msg}");
    assert!(ctrs[5].netlink().link_by_name("eth0").unwrap().is_none());
    assert_eq!(reservations(data.path()).len(), 5);
    let veths = host.run_ok("ip", &["-o", "link", "show", "type", "veth"]);
    assert_eq!(veths.lines().count(), 5, "{veths}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn add_twice_is_refused_and_keeps_the_first_attachment() {
    let host = TestNetns::new("twice-host");
    let ctr = TestNetns::new("twice-ctr");
    let data = tempfile::tempdir().unwrap();
    let conf = bridge_conf(data.path(), "10.16.0.0/24");
    let add = Call::new("bridge", "ADD", "c1", Some(ctr.path()));
    let first = add.run(&host, &conf).ok();
    add.run(&host, &conf).err(105);
    assert_eq!(reservations(data.path()), vec![ip_of(&first)]);
    assert!(ping(&host, &ip_of(&first)));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn bridge_options_hairpin_and_mtu_are_applied() {
    let host = TestNetns::new("opt-host");
    let ctr = TestNetns::new("opt-ctr");
    let data = tempfile::tempdir().unwrap();
    let mut conf = bridge_conf(data.path(), "10.17.0.0/24");
    conf["hairpinMode"] = json!(true);
    conf["mtu"] = json!(1400);
    let result = Call::new("bridge", "ADD", "c1", Some(ctr.path()))
        .run(&host, &conf)
        .ok();
    let host_veth = result["interfaces"][1]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let eth0 = ctr.netlink().link_by_name("eth0").unwrap().unwrap();
    assert_eq!(eth0.mtu, 1400);
    assert_eq!(
        host.netlink().link_by_name("br-test").unwrap().unwrap().mtu,
        1400
    );
    let detail = host.run_ok("bridge", &["-d", "link", "show", "dev", &host_veth]);
    assert!(detail.contains("hairpin on"), "{detail}");
    // The bridge berth made has multicast snooping off (see new_bridge in core's netlink).
    let br = host.run_ok("ip", &["-d", "link", "show", "dev", "br-test"]);
    assert!(br.contains("mcast_snooping 0"), "{br}");
}

/// This machine's kernel is built without bridge VLAN filtering; a `vlan` config must then fail
/// with a message that says so, and leave nothing behind.
#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn bridge_vlan_works_or_fails_clearly() {
    let host = TestNetns::new("vlan-host");
    let ctr = TestNetns::new("vlan-ctr");
    let data = tempfile::tempdir().unwrap();
    let mut conf = bridge_conf(data.path(), "10.18.0.0/24");
    conf["vlan"] = json!(100);
    let supported = host
        .run(
            "ip",
            &[
                "link",
                "add",
                "probe",
                "type",
                "bridge",
                "vlan_filtering",
                "1",
            ],
        )
        .status
        .success();
    let out = Call::new("bridge", "ADD", "c1", Some(ctr.path())).run(&host, &conf);
    if supported {
        let result = out.ok();
        let host_veth = result["interfaces"][1]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let vlans = host.run_ok("bridge", &["vlan", "show", "dev", &host_veth]);
        assert!(vlans.contains("100 PVID Egress Untagged"), "{vlans}");
    } else {
        let msg = out.err(101);
        assert!(msg.contains("VLAN filtering"), "{msg}");
        assert!(reservations(data.path()).is_empty());
        assert!(ctr.netlink().link_by_name("eth0").unwrap().is_none());
    }
}

/// berth runs its own host-local in-process; any other `host-local` found first in `CNI_PATH`
/// must still be exec'd, and its error passed on with its own code.
#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn another_host_local_first_in_cni_path_is_executed() {
    use std::os::unix::fs::PermissionsExt;
    let host = TestNetns::new("foreign-host");
    let ctr = TestNetns::new("foreign-ctr");
    let data = tempfile::tempdir().unwrap();
    let fake_dir = tempfile::tempdir().unwrap();
    let script = fake_dir.path().join("host-local");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"cniVersion\":\"1.0.0\",\"code\":117,\"msg\":\"foreign ipam\"}'\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        fake_dir.path().display(),
        berth_netns_tests::cni::plugin_dir().display()
    );
    let conf = bridge_conf(data.path(), "10.19.0.0/24");
    let msg = Call::new("bridge", "ADD", "c1", Some(ctr.path()))
        .run_env(&host, &conf, &[("CNI_PATH", Some(&path))])
        .err(117);
    assert!(msg.contains("foreign ipam"), "{msg}");
    assert!(ctr.netlink().link_by_name("eth0").unwrap().is_none());
}

/// Dual stack: one IPv4 and one IPv6 address, default routes for both, and the container
/// reachable over IPv6 from the host (the link-local address is kept when IPv6 is in use).
#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn dual_stack_bridge_reaches_the_container_over_ipv6() {
    use berth_netns_tests::tcp::{fetch, serve};
    let host = TestNetns::new("v6-host");
    let ctr = TestNetns::new("v6-ctr");
    let data = tempfile::tempdir().unwrap();
    let mut conf = bridge_conf(data.path(), "10.21.0.0/24");
    conf["ipam"]["ranges"] = json!([[{"subnet": "10.21.0.0/24"}], [{"subnet": "fd21::/64"}]]);
    conf["ipam"]["routes"] = json!([{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]);
    let result = Call::new("bridge", "ADD", "d1", Some(ctr.path()))
        .run(&host, &conf)
        .ok();
    let v6 = result["ips"][1]["address"].as_str().unwrap().to_string();
    assert!(v6.starts_with("fd21::"), "{result}");
    let routes = ctr.run_ok("ip", &["-6", "route"]);
    assert!(routes.contains("default via fd21::1"), "{routes}");
    serve(ctr.netns(), "[::]:80".parse().unwrap());
    let ip = v6.split('/').next().unwrap();
    let seen = fetch(host.netns(), format!("[{ip}]:80").parse().unwrap()).unwrap();
    assert_eq!(
        seen, "fd21::1",
        "the host reaches the container from its gateway address"
    );
}
