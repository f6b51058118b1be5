//! Root tests of the veth, host and none plugins, and of bad input through the real binaries.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use berth_core::netlink::Netlink;
use berth_netns_tests::TestNetns;
use berth_netns_tests::cni::{Call, ping};
use serde_json::{Value, json};

fn veth_conf(data: &std::path::Path) -> Value {
    json!({
        "cniVersion": "1.1.0",
        "name": "ptpnet",
        "type": "veth",
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": "10.20.0.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": data,
        }
    })
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn veth_container_reaches_the_host_side_and_back() {
    let host = TestNetns::new("vh");
    let ctr = TestNetns::new("vc");
    let ctr2 = TestNetns::new("vc2");
    let data = tempfile::tempdir().unwrap();
    let conf = veth_conf(data.path());
    let result = Call::new("veth", "ADD", "v1", Some(ctr.path()))
        .run(&host, &conf)
        .ok();
    let r2 = Call::new("veth", "ADD", "v2", Some(ctr2.path()))
        .run(&host, &conf)
        .ok();
    assert_eq!(result["interfaces"].as_array().unwrap().len(), 2);
    assert_eq!(result["ips"][0]["interface"], 1);
    let ip = result["ips"][0]["address"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let ip2 = r2["ips"][0]["address"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let routes = ctr.run_ok("ip", &["route"]);
    assert!(
        routes.contains("default via 10.20.0.1 dev eth0"),
        "{routes}"
    );
    assert!(
        ping(&ctr, "10.20.0.1"),
        "container cannot reach the host side"
    );
    assert!(ping(&host, &ip), "host cannot reach the container");
    assert!(
        ping(&ctr, &ip2),
        "routed containers cannot reach each other"
    );
    let mut chk = conf.clone();
    chk["prevResult"] = result;
    Call::new("veth", "CHECK", "v1", Some(ctr.path()))
        .run(&host, &chk)
        .ok();
    Call::new("veth", "DEL", "v1", Some(ctr.path()))
        .run(&host, &chk)
        .ok();
    Call::new("veth", "DEL", "v1", Some(ctr.path()))
        .run(&host, &chk)
        .ok();
    assert!(ctr.netlink().link_by_name("eth0").unwrap().is_none());
    let host_routes = host.run_ok("ip", &["route"]);
    assert!(!host_routes.contains(&ip), "host route left: {host_routes}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn host_plugin_reports_the_host_and_refuses_another_netns() {
    let host = TestNetns::new("hp");
    let other = TestNetns::new("hp-other");
    host.run_ok(
        "ip",
        &["link", "add", "hv0", "type", "veth", "peer", "name", "hv1"],
    );
    host.run_ok("ip", &["addr", "add", "192.0.2.10/24", "dev", "hv0"]);
    let conf = json!({"cniVersion": "1.0.0", "name": "host", "type": "host"});
    let result = Call::new("host", "ADD", "h1", Some(host.path()))
        .run(&host, &conf)
        .ok();
    let names: Vec<&str> = result["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"lo") && names.contains(&"hv0"), "{names:?}");
    assert!(result.to_string().contains("192.0.2.10/24"));
    let msg = Call::new("host", "ADD", "h1", Some(other.path()))
        .run(&host, &conf)
        .err(4);
    assert!(msg.contains("host's network namespace"), "{msg}");
    Call::new("host", "DEL", "h1", Some(host.path()))
        .run(&host, &conf)
        .ok();
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn none_plugin_brings_up_loopback_only() {
    let host = TestNetns::new("np");
    let ctr = TestNetns::new("np-ctr");
    let lo = ctr.netlink().link_by_name("lo").unwrap().unwrap();
    ctr.netlink().set_down(lo.index).unwrap();
    let conf = json!({"cniVersion": "1.0.0", "name": "none", "type": "none"});
    let result = Call::new("none", "ADD", "n1", Some(ctr.path()))
        .run(&host, &conf)
        .ok();
    assert_eq!(result["interfaces"][0]["name"], "lo");
    assert!(result.to_string().contains("127.0.0.1/8"));
    assert!(ping(&ctr, "127.0.0.1"));
    let links = ctr.netlink().links().unwrap();
    assert_eq!(links.len(), 1, "only lo expected: {links:?}");
    let path = ctr.path().to_path_buf();
    Call::new("none", "DEL", "n1", Some(&path))
        .run(&host, &conf)
        .ok();
    drop(ctr);
    Call::new("none", "DEL", "n1", Some(&path))
        .run(&host, &conf)
        .ok();
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn bad_input_gets_the_spec_codes() {
    let host = TestNetns::new("bad");
    let ctr = TestNetns::new("bad-ctr");
    let data = tempfile::tempdir().unwrap();
    let conf = veth_conf(data.path());
    let add = Call::new("bridge", "ADD", "b1", Some(ctr.path()));
    // Malformed JSON.
    assert_eq!(add.run_raw(&host, b"{\"cniVersion\":", &[]).json["code"], 6);
    // Missing required variables.
    for var in ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS", "CNI_PATH"] {
        let msg = add.run_env(&host, &conf, &[(var, None)]).err(4);
        assert!(msg.contains(var), "{msg}");
    }
    // Invalid interface names.
    for name in ["a-very-long-name0", "a/b", "a:b", "a b"] {
        let msg = Call {
            ifname: name,
            ..add.clone()
        }
        .run(&host, &conf)
        .err(4);
        assert!(msg.contains("CNI_IFNAME"), "{msg}");
    }
    // An unknown version.
    let mut v = conf.clone();
    v["cniVersion"] = json!("0.9.9");
    add.run(&host, &v).err(1);
    // A netns path that does not exist, and one that is not a netns.
    let gone = data.path().join("nope");
    Call::new("bridge", "ADD", "b1", Some(&gone))
        .run(&host, &conf)
        .err(3);
    let file = data.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    Call::new("bridge", "ADD", "b1", Some(&file))
        .run(&host, &conf)
        .err(4);
    // None of it left an address reserved.
    let left = std::fs::read_dir(data.path().join("ptpnet"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("10."))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn version_command_lists_every_spec_version() {
    let host = TestNetns::new("ver");
    for plugin in ["bridge", "veth", "host", "none", "host-local"] {
        let out = Call::new(plugin, "VERSION", "", None)
            .run_raw(&host, br#"{"cniVersion":"1.0.0"}"#, &[])
            .ok();
        let versions = out["supportedVersions"].as_array().unwrap();
        for v in ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] {
            assert!(versions.iter().any(|x| x == v), "{plugin} lacks {v}");
        }
    }
}
