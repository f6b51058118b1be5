//! Root tests of a subnet reused by a new network name, driven through the CNI protocol as a
//! runtime would (what `podman network rm` + `podman network create`, or an edited conflist
//! under containerd, does): the old network's elements are taken over when it has no
//! attachment left, refused while it has, and removed by GC.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use berth_netns_tests::TestNetns;
use berth_netns_tests::cni::{Call, add_with_ports, del_with_ports, ping};
use berth_netns_tests::fw_world::{HOST_OUT, OUTSIDE, World, conf, ruleset, sa, world};
use berth_netns_tests::tcp::{fetch, serve};
use serde_json::{Value, json};

const SUBNET: &str = "10.233.39.0/24";

/// ADD then DEL of one container on network `name`, leaving the network's firewall behind as
/// a runtime does when it removes the network (the bridge goes, nothing tells the table).
fn use_and_forget(w: &World, name: &str, bridge: &str, ports: &Value) {
    let ctr = TestNetns::new(&format!("{name}-c"));
    let c = conf(w, name, bridge, SUBNET, json!({}));
    let r = add_with_ports(&w.host, ctr.path(), &format!("{name}-id"), &c, ports).unwrap();
    del_with_ports(&w.host, ctr.path(), &format!("{name}-id"), &c, ports, &r);
    w.host.run_ok("ip", &["link", "del", bridge]);
    let rules = ruleset(&w.host);
    assert!(rules.contains(&format!("chain net-{name}")), "{rules}");
}

fn assert_gone(w: &World, name: &str) {
    let rules = ruleset(&w.host);
    assert!(
        !rules.contains(&format!("net={name}")) && !rules.contains(&format!("net-{name}")),
        "{rules}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_new_network_takes_over_the_subnet_of_one_without_attachments() {
    let w = world("reuse");
    let maps = json!([{"hostPort": 8095, "containerPort": 80, "protocol": "tcp"}]);
    use_and_forget(&w, "reuse-old", "br-ro", &maps);

    let b = TestNetns::new("reuse-b");
    let cb = conf(&w, "reuse-new", "br-rn", SUBNET, json!({}));
    let rb = add_with_ports(&w.host, b.path(), "reuse-b-id", &cb, &maps).unwrap();
    assert_gone(&w, "reuse-old");
    // The new network works: the gateway answers, traffic out is masqueraded, and the
    // published port reaches the container from outside.
    assert!(ping(&b, "10.233.39.1"));
    let _out = serve(w.outside.netns(), sa("0.0.0.0", 8000));
    assert_eq!(fetch(b.netns(), sa(OUTSIDE, 8000)).unwrap(), HOST_OUT);
    let _web = serve(b.netns(), sa("0.0.0.0", 80));
    assert_eq!(
        fetch(w.outside.netns(), sa(HOST_OUT, 8095)).unwrap(),
        OUTSIDE
    );
    // A second container of the new network is no longer a setup at all.
    let b2 = TestNetns::new("reuse-b2");
    add_with_ports(&w.host, b2.path(), "reuse-b2-id", &cb, &json!([])).unwrap();
    del_with_ports(&w.host, b2.path(), "reuse-b2-id", &cb, &json!([]), &rb);
    del_with_ports(&w.host, b.path(), "reuse-b-id", &cb, &maps, &rb);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_live_network_keeps_its_subnet_and_the_new_one_is_refused_naming_both() {
    let w = world("live");
    let a = TestNetns::new("live-a");
    let ca = conf(&w, "live-old", "br-lo", SUBNET, json!({}));
    add_with_ports(&w.host, a.path(), "live-a-id", &ca, &json!([])).unwrap();
    let before = ruleset(&w.host);

    let b = TestNetns::new("live-b");
    let cb = conf(&w, "live-new", "br-ln", SUBNET, json!({}));
    let err = add_with_ports(&w.host, b.path(), "live-b-id", &cb, &json!([])).unwrap_err();
    let msg = err.err(102);
    assert!(
        msg.contains("network live-new") && msg.contains("network live-old"),
        "{msg}"
    );
    assert!(msg.contains(SUBNET), "{msg}");
    assert!(
        !msg.contains("File exists") && !msg.contains("nft"),
        "{msg}"
    );
    // Nothing of the refused network stays, the old one is untouched and still works.
    assert_eq!(ruleset(&w.host), before);
    let _out = serve(w.outside.netns(), sa("0.0.0.0", 8000));
    assert_eq!(fetch(a.netns(), sa(OUTSIDE, 8000)).unwrap(), HOST_OUT);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn gc_removes_the_firewall_of_networks_left_without_attachments() {
    let w = world("fwgc");
    use_and_forget(&w, "fwgc-old", "br-go", &json!([]));
    // A live network elsewhere, whose GC sweeps the table.
    let c = TestNetns::new("fwgc-c");
    let mut cc = conf(&w, "fwgc-live", "br-gl", "10.233.40.0/24", json!({}));
    cc["cniVersion"] = json!("1.1.0");
    add_with_ports(&w.host, c.path(), "fwgc-c-id", &cc, &json!([])).unwrap();
    let mut gc = cc.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "fwgc-c-id", "ifname": "eth0"}]);
    Call::new("bridge", "GC", "", None).run(&w.host, &gc).ok();
    assert_gone(&w, "fwgc-old");
    let rules = ruleset(&w.host);
    assert!(rules.contains("chain net-fwgc-live"), "{rules}");

    // Its last attachment no longer valid: GC releases it and the network's firewall goes.
    gc["cni.dev/valid-attachments"] = json!([]);
    Call::new("bridge", "GC", "", None).run(&w.host, &gc).ok();
    assert_gone(&w, "fwgc-live");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_takeover_under_a_drop_policy_replaces_the_old_networks_forward_rules() {
    let w = world("rfwd");
    let forward_rules = || w.host.run_ok("iptables", &["-w", "-S", "FORWARD"]);
    w.host.run_ok("iptables", &["-w", "-P", "FORWARD", "DROP"]);
    use_and_forget(&w, "rfwd-old", "br-fo", &json!([]));
    assert_eq!(forward_rules().matches("berth net=rfwd-old").count(), 2);

    let b = TestNetns::new("rfwd-b");
    let cb = conf(&w, "rfwd-new", "br-fn", SUBNET, json!({}));
    add_with_ports(&w.host, b.path(), "rfwd-b-id", &cb, &json!([])).unwrap();
    let listing = forward_rules();
    assert!(!listing.contains("net=rfwd-old"), "{listing}");
    assert_eq!(
        listing.matches("berth net=rfwd-new").count(),
        2,
        "{listing}"
    );
    let _out = serve(w.outside.netns(), sa("0.0.0.0", 8000));
    assert_eq!(fetch(b.netns(), sa(OUTSIDE, 8000)).unwrap(), HOST_OUT);
}
