//! portmap against the fake firewall.

use serde_json::json;

use super::*;
use crate::cni::{CniArgs, Command, PluginConfig};
use crate::firewall::fake::FakeFirewall;
use crate::names::{ContainerId, IfName};
use crate::netlink::FakeNetlink;

fn host() -> FakeNetlink {
    let h = FakeNetlink::new();
    h.add_link("br0", None);
    h.add_link("veth1", None);
    h.preset_sysctl("net/ipv4/conf/br0/route_localnet", "0");
    h.preset_sysctl("net/ipv4/conf/veth1/route_localnet", "0");
    h
}

fn prev() -> serde_json::Value {
    json!({
        "cniVersion": "1.0.0",
        "interfaces": [
            {"name": "br0"}, {"name": "veth1"},
            {"name": "eth0", "sandbox": "/run/netns/c1"}
        ],
        "ips": [
            {"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 2},
            {"address": "fd00::5/64", "gateway": "fd00::1", "interface": 2}
        ]
    })
}

fn req(maps: serde_json::Value, with_prev: bool) -> CniRequest {
    let mut conf = json!({"cniVersion": "1.0.0", "name": "web", "type": "portmap"});
    if !maps.is_null() {
        conf["runtimeConfig"] = json!({ "portMappings": maps });
    }
    if with_prev {
        conf["prevResult"] = prev();
    }
    CniRequest {
        command: Command::Add,
        args: CniArgs::default(),
        cni_path: vec![],
        config: PluginConfig::parse(serde_json::to_vec(&conf).unwrap()).unwrap(),
    }
}

fn att(id: &str) -> Attachment {
    Attachment {
        container_id: ContainerId::new(id).unwrap(),
        ifname: IfName::new("eth0").unwrap(),
        netns: None,
    }
}

#[test]
fn one_forward_per_mapping_and_family() {
    let maps = json!([
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"}
    ]);
    let r = req(maps, true);
    let fwds = forwards(
        &port_mappings(&r).unwrap().unwrap(),
        &r.config.prev_result().unwrap().unwrap(),
    )
    .unwrap();
    let text: Vec<String> = fwds.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        vec![
            "8080/tcp -> 10.1.0.5:80",
            "8080/tcp -> [fd00::5]:80",
            "127.0.0.1:5353/udp -> 10.1.0.5:53"
        ]
    );
}

#[test]
fn add_publishes_and_passes_prev_result_through() {
    let fw = FakeFirewall::default();
    let r = req(json!([{"hostPort": 8080, "containerPort": 80}]), true);
    let h = host();
    let out = add(&fw, &h, &r, &att("c1")).unwrap();
    assert_eq!(out, r.config.prev_result().unwrap().unwrap());
    assert_eq!(
        h.sysctl("net/ipv4/conf/br0/route_localnet").as_deref(),
        Some("1")
    );
    assert_eq!(fw.ports.lock().unwrap().len(), 2);
}

#[test]
fn udp_flows_to_published_udp_ports_are_forgotten_once_tcp_never() {
    let fw = FakeFirewall::default();
    let maps = json!([
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 5353, "containerPort": 53, "protocol": "udp"},
        {"hostPort": 6000, "containerPort": 60, "protocol": "UDP"}
    ]);
    add(&fw, &host(), &req(maps, true), &att("c1")).unwrap();
    // 5353 and 6000, each once although each is published for IPv4 and IPv6.
    assert_eq!(*fw.forgotten.lock().unwrap(), vec![vec![5353, 6000]]);
    let fw = FakeFirewall::default();
    let tcp_only = json!([{"hostPort": 8080, "containerPort": 80}]);
    add(&fw, &host(), &req(tcp_only, true), &att("c1")).unwrap();
    assert!(fw.forgotten.lock().unwrap().is_empty());
}

#[test]
fn a_taken_port_is_refused_and_nothing_is_published() {
    let fw = FakeFirewall::default();
    let r = req(json!([{"hostPort": 8080, "containerPort": 80}]), true);
    add(&fw, &host(), &r, &att("c1")).unwrap();
    let r2 = req(
        json!([{"hostPort": 9090, "containerPort": 90}, {"hostPort": 8080, "containerPort": 80}]),
        true,
    );
    let err = add(&fw, &host(), &r2, &att("c2")).unwrap_err();
    assert_eq!(err.code(), 102);
    assert!(err.to_string().contains("c1"), "{err}");
    assert_eq!(
        fw.ports.lock().unwrap().len(),
        2,
        "c2 must not be half-published"
    );
    // The same port on 127.0.0.1 only would shadow c1's: refused too.
    let r3 = req(
        json!([{"hostPort": 8080, "containerPort": 80, "hostIP": "127.0.0.1"}]),
        true,
    );
    assert_eq!(add(&fw, &host(), &r3, &att("c3")).unwrap_err().code(), 102);
}

#[test]
fn del_removes_only_this_attachment_even_without_prev_result() {
    let fw = FakeFirewall::default();
    add(
        &fw,
        &host(),
        &req(json!([{"hostPort": 8080, "containerPort": 80}]), true),
        &att("c1"),
    )
    .unwrap();
    add(
        &fw,
        &host(),
        &req(json!([{"hostPort": 8081, "containerPort": 80}]), true),
        &att("c2"),
    )
    .unwrap();
    del(&fw, &req(serde_json::Value::Null, false), &att("c1")).unwrap();
    let left = fw.ports.lock().unwrap().clone();
    assert!(left.iter().all(|(_, o)| o.container_id == "c2"));
    assert_eq!(left.len(), 2);
    del(&fw, &req(serde_json::Value::Null, false), &att("c1")).unwrap();
}

#[test]
fn gc_removes_ports_of_attachments_not_valid() {
    let fw = FakeFirewall::default();
    add(
        &fw,
        &host(),
        &req(json!([{"hostPort": 8080, "containerPort": 80}]), true),
        &att("c1"),
    )
    .unwrap();
    add(
        &fw,
        &host(),
        &req(json!([{"hostPort": 8081, "containerPort": 80}]), true),
        &att("c2"),
    )
    .unwrap();
    let valid = vec![ValidAttachment {
        container_id: "c2".into(),
        ifname: "eth0".into(),
    }];
    gc(&fw, &req(serde_json::Value::Null, false), &valid).unwrap();
    assert!(
        fw.ports
            .lock()
            .unwrap()
            .iter()
            .all(|(_, o)| o.container_id == "c2")
    );
}

#[test]
fn bad_input_is_refused_clearly() {
    let fw = FakeFirewall::default();
    let no_prev = req(json!([{"hostPort": 8080, "containerPort": 80}]), false);
    assert_eq!(
        add(&fw, &host(), &no_prev, &att("c1")).unwrap_err().code(),
        7
    );
    let bad_proto = req(
        json!([{"hostPort": 8080, "containerPort": 80, "protocol": "icmp"}]),
        true,
    );
    assert_eq!(
        add(&fw, &host(), &bad_proto, &att("c1"))
            .unwrap_err()
            .code(),
        7
    );
    let zero = req(json!([{"hostPort": 0, "containerPort": 80}]), true);
    assert_eq!(add(&fw, &host(), &zero, &att("c1")).unwrap_err().code(), 7);
    assert!(fw.ports.lock().unwrap().is_empty());
}
