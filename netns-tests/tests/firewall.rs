//! Root tests of masquerade, published ports and isolation, in throwaway namespaces: a "host"
//! holding the bridges and berth's nftables table, an "outside" network joined to it by a veth,
//! and one namespace per container. Servers and clients are threads inside those namespaces.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::time::Duration;

use berth_core::firewall::{Firewall, NetworkRules, NftFirewall};
use berth_netns_tests::TestNetns;
use berth_netns_tests::cni::{Call, add_with_ports, del_with_ports};
use berth_netns_tests::fw_world::{HOST_OUT, OUTSIDE, conf, ip_of, ruleset, sa, world};
use berth_netns_tests::tcp::{fetch, serve};
use serde_json::{Value, json};

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn container_reaches_outside_and_is_masqueraded() {
    let w = world("masq");
    let ctr = TestNetns::new("masq-c");
    let c = conf(&w, "mnet", "br-m", "10.30.0.0/24", json!({}));
    add_with_ports(&w.host, ctr.path(), "m1", &c, &json!([])).unwrap();
    serve(w.outside.netns(), sa("0.0.0.0", 8000));
    let seen = fetch(ctr.netns(), sa(OUTSIDE, 8000)).unwrap();
    assert_eq!(
        seen, HOST_OUT,
        "the outside server must see the host's address"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn published_port_answers_from_everywhere_it_should() {
    let w = world("pub");
    let (a, b) = (TestNetns::new("pub-a"), TestNetns::new("pub-b"));
    let c = conf(&w, "pnet", "br-p", "10.31.0.0/24", json!({}));
    let maps = json!([
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 8081, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"}
    ]);
    let ra = add_with_ports(&w.host, a.path(), "pa", &c, &maps).unwrap();
    add_with_ports(&w.host, b.path(), "pb", &c, &json!([])).unwrap();
    serve(a.netns(), sa("0.0.0.0", 80));
    let a_ip = ip_of(&ra);
    // From outside the host: the container sees the real client.
    assert_eq!(
        fetch(w.outside.netns(), sa(HOST_OUT, 8080)).unwrap(),
        OUTSIDE
    );
    // From the host itself, on its outside address and on loopback.
    assert!(fetch(w.host.netns(), sa(HOST_OUT, 8080)).is_ok());
    assert!(fetch(w.host.netns(), sa("127.0.0.1", 8080)).is_ok());
    // From a second container, through the host.
    assert!(fetch(b.netns(), sa(HOST_OUT, 8080)).is_ok());
    assert!(fetch(b.netns(), sa("10.31.0.1", 8080)).is_ok());
    // From the container itself through the host's address (hairpin).
    let hairpin = fetch(a.netns(), sa(HOST_OUT, 8080)).unwrap();
    assert_ne!(
        hairpin, a_ip,
        "hairpin traffic must come back through the host"
    );
    // 127.0.0.1:8081 answers on the host's loopback and nowhere else.
    assert!(fetch(w.host.netns(), sa("127.0.0.1", 8081)).is_ok());
    assert!(fetch(w.host.netns(), sa(HOST_OUT, 8081)).is_err());
    assert!(fetch(w.outside.netns(), sa(HOST_OUT, 8081)).is_err());
    assert!(fetch(b.netns(), sa("10.31.0.1", 8081)).is_err());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn udp_flow_that_began_before_the_port_was_published_reaches_the_container() {
    let w = world("udp");
    let (c0, c1) = (TestNetns::new("udp-c0"), TestNetns::new("udp-c1"));
    let c = conf(&w, "unet", "br-u", "10.33.0.0/24", json!({}));
    // A first container makes the network, and with it berth's table: conntrack now runs in
    // the host namespace.
    add_with_ports(&w.host, c0.path(), "u0", &c, &json!([])).unwrap();
    // A client outside is already sending to host port 5353, which nobody serves yet: the
    // host answers "port unreachable" and conntrack keeps the flow (delivered locally).
    let client = w
        .outside
        .netns()
        .run_in(|| UdpSocket::bind(sa("0.0.0.0", 40053)))
        .unwrap()
        .unwrap();
    client.connect(sa(HOST_OUT, 5353)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.send(b"early").unwrap();
    let refused = client.recv(&mut [0u8; 8]).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused, "{refused}");
    // Now 5353/udp is published to a second container, which listens on 53.
    let maps = json!([{"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]);
    add_with_ports(&w.host, c1.path(), "u1", &c, &maps).unwrap();
    let server = c1
        .netns()
        .run_in(|| UdpSocket::bind(sa("0.0.0.0", 53)))
        .unwrap()
        .unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // The same flow (same source port) must now reach the container, not the stale entry's
    // old destination.
    client.send(b"late").unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = server
        .recv_from(&mut buf)
        .expect("the flow that began before the port was published never reached the container");
    assert_eq!(&buf[..n], b"late");
    assert_eq!(
        from,
        sa(OUTSIDE, 40053),
        "the container sees the real client"
    );
    // And the answer goes back to the client from the published address.
    server.send_to(b"answer", from).unwrap();
    let n = client.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"answer");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_host_forward_policy_of_drop_is_opened_for_networks_made_under_it() {
    let w = world("dfw");
    serve(w.outside.netns(), sa("0.0.0.0", 8000));
    let forward_rules = || w.host.run_ok("iptables", &["-w", "-S", "FORWARD"]);
    // A network set up while the host forwards freely gets no iptables rules.
    let a = TestNetns::new("dfw-a");
    let ca = conf(&w, "anet", "br-da", "10.34.0.0/24", json!({}));
    add_with_ports(&w.host, a.path(), "da", &ca, &json!([])).unwrap();
    assert!(fetch(a.netns(), sa(OUTSIDE, 8000)).is_ok());
    assert!(!forward_rules().contains("berth"), "{}", forward_rules());
    // Then the host's FORWARD policy becomes DROP, as Docker leaves it: that container is cut
    // off (what the rules below are for).
    w.host.run_ok("iptables", &["-w", "-P", "FORWARD", "DROP"]);
    assert!(fetch(a.netns(), sa(OUTSIDE, 8000)).is_err());
    // A network set up now lets its containers out and its published ports in.
    let b = TestNetns::new("dfw-b");
    let cb = conf(&w, "bnet", "br-db", "10.35.0.0/24", json!({}));
    let maps = json!([{"hostPort": 8090, "containerPort": 80, "protocol": "tcp"}]);
    add_with_ports(&w.host, b.path(), "db", &cb, &maps).unwrap();
    serve(b.netns(), sa("0.0.0.0", 80));
    assert_eq!(fetch(b.netns(), sa(OUTSIDE, 8000)).unwrap(), HOST_OUT);
    assert_eq!(
        fetch(w.outside.netns(), sa(HOST_OUT, 8090)).unwrap(),
        OUTSIDE
    );
    let listing = forward_rules();
    assert_eq!(listing.matches("berth net=bnet").count(), 2, "{listing}");
    // A second container on it adds nothing.
    let b2 = TestNetns::new("dfw-b2");
    add_with_ports(&w.host, b2.path(), "db2", &cb, &json!([])).unwrap();
    assert_eq!(forward_rules().matches("berth net=bnet").count(), 2);
    // Removing the network (what `berth net rm` does) removes its rules, and only its own.
    let rules = NetworkRules {
        name: "bnet".into(),
        subnets: vec!["10.35.0.0/24".parse().unwrap()],
        masquerade: true,
        internal: false,
        untracked: false,
        ipam_dir: None,
    };
    w.host
        .netns()
        .run_in(|| NftFirewall::new().remove_network(&rules))
        .unwrap()
        .unwrap();
    let listing = forward_rules();
    assert!(!listing.contains("berth"), "{listing}");
    assert!(listing.contains("-P FORWARD DROP"), "{listing}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn two_networks_cannot_reach_each_other_and_internal_has_no_way_out() {
    let w = world("iso");
    let (a, b, i) = (
        TestNetns::new("iso-a"),
        TestNetns::new("iso-b"),
        TestNetns::new("iso-i"),
    );
    let ca = conf(&w, "neta", "br-a", "10.32.0.0/24", json!({}));
    let cb = conf(&w, "netb", "br-b", "10.33.0.0/24", json!({}));
    let ci = conf(
        &w,
        "neti",
        "br-i",
        "10.34.0.0/24",
        json!({"ipMasq": false, "internal": true}),
    );
    let ra = add_with_ports(&w.host, a.path(), "ia", &ca, &json!([])).unwrap();
    let rb = add_with_ports(&w.host, b.path(), "ib", &cb, &json!([])).unwrap();
    add_with_ports(&w.host, i.path(), "ii", &ci, &json!([])).unwrap();
    serve(a.netns(), sa("0.0.0.0", 7000));
    serve(b.netns(), sa("0.0.0.0", 7000));
    serve(w.outside.netns(), sa("0.0.0.0", 7001));
    assert!(
        fetch(b.netns(), sa(&ip_of(&ra), 7000)).is_err(),
        "b reached a"
    );
    assert!(
        fetch(a.netns(), sa(&ip_of(&rb), 7000)).is_err(),
        "a reached b"
    );
    assert!(
        fetch(a.netns(), sa(OUTSIDE, 7001)).is_ok(),
        "a must still reach outside"
    );
    assert!(
        fetch(i.netns(), sa(OUTSIDE, 7001)).is_err(),
        "internal network reached outside"
    );
    assert!(
        fetch(w.host.netns(), sa(&ip_of(&ra), 7000)).is_ok(),
        "host reaches its containers"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn taken_port_is_refused_and_del_leaves_no_trace_of_the_container() {
    let w = world("own");
    let (a, b) = (TestNetns::new("own-a"), TestNetns::new("own-b"));
    let c = conf(&w, "onet", "br-o", "10.35.0.0/24", json!({}));
    let maps = json!([{"hostPort": 9090, "containerPort": 90}]);
    let ra = add_with_ports(&w.host, a.path(), "owner-a-0123", &c, &maps).unwrap();
    let err = add_with_ports(&w.host, b.path(), "owner-b-4567", &c, &maps).unwrap_err();
    assert_eq!(err.json["code"], 102, "{}", err.json);
    assert!(
        err.json["msg"].as_str().unwrap().contains("owner-a-0123"),
        "{}",
        err.json
    );
    let rules = ruleset(&w.host);
    assert!(
        rules.contains("owner-a-0123") && !rules.contains("owner-b-4567"),
        "{rules}"
    );
    // DEL without prevResult or mappings still finds the container's ports by their tag.
    let pm = json!({"cniVersion": "1.0.0", "name": "onet", "type": "portmap"});
    Call::new("portmap", "DEL", "owner-a-0123", Some(a.path()))
        .run(&w.host, &pm)
        .ok();
    assert!(!ruleset(&w.host).contains("owner-a-0123"));
    del_with_ports(&w.host, a.path(), "owner-a-0123", &c, &maps, &ra);
    let after = ruleset(&w.host);
    assert!(
        !after.contains("owner-a") && !after.contains("owner-b"),
        "{after}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn gc_removes_ports_of_a_container_whose_del_never_ran() {
    let w = world("gc");
    let a = TestNetns::new("gc-a");
    let mut c = conf(&w, "gnet", "br-g", "10.36.0.0/24", json!({}));
    c["cniVersion"] = json!("1.1.0");
    add_with_ports(
        &w.host,
        a.path(),
        "gc-lost",
        &c,
        &json!([{"hostPort": 7070, "containerPort": 70}]),
    )
    .unwrap();
    assert!(ruleset(&w.host).contains("gc-lost"));
    let gc = json!({"cniVersion": "1.1.0", "name": "gnet", "type": "portmap",
                    "cni.dev/valid-attachments": []});
    Call::new("portmap", "GC", "", None).run(&w.host, &gc).ok();
    assert!(!ruleset(&w.host).contains("gc-lost"));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn hundred_containers_with_ten_ports_leave_the_ruleset_as_it_was() {
    let w = world("many");
    let c = conf(&w, "bignet", "br-big", "10.37.0.0/22", json!({}));
    // The network's own rules are made by its first container and stay (one set per network);
    // take the "before" picture once they exist.
    let warm = TestNetns::new("many-w");
    let r = add_with_ports(&w.host, warm.path(), "warm", &c, &json!([])).unwrap();
    del_with_ports(&w.host, warm.path(), "warm", &c, &json!([]), &r);
    let before = w.host.run_ok("nft", &["list", "ruleset"]);
    let mut made = Vec::new();
    for i in 0..100u16 {
        let ns = TestNetns::new("many-c");
        let maps: Vec<Value> = (0..10)
            .map(|p| json!({"hostPort": 20000 + i * 10 + p, "containerPort": 80 + p}))
            .collect();
        let maps = Value::Array(maps);
        let id = format!("many{i}");
        let res = add_with_ports(&w.host, ns.path(), &id, &c, &maps).unwrap();
        made.push((ns, id, maps, res));
    }
    let full = w
        .host
        .run_ok("nft", &["list", "map", "inet", "berth", "hostports4"]);
    assert_eq!(full.matches("comment \"net=bignet").count(), 1000);
    for (ns, id, maps, res) in &made {
        del_with_ports(&w.host, ns.path(), id, &c, maps, res);
    }
    let after = w.host.run_ok("nft", &["list", "ruleset"]);
    assert_eq!(before, after);
}
