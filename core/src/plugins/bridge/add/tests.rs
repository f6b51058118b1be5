//! bridge ADD against the fakes: the plan it makes, and what a failure undoes.

use std::os::fd::AsFd;
use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::cni::exec::fake::FakeExec;
use crate::cni::{Attachment, CniArgs, CniError, Command, PluginConfig};
use crate::firewall::fake::FakeFirewall;
use crate::names::{ContainerId, IfName};
use crate::netlink::{FakeNetlink, NetlinkCall};
use crate::plugins::veth_pair::Context;

fn request(extra: serde_json::Value) -> CniRequest {
    let mut conf = json!({
        "cniVersion": "1.1.0", "name": "n1", "type": "bridge", "bridge": "br0",
        "isGateway": true, "ipam": {"type": "host-local"}
    });
    for (k, v) in extra.as_object().unwrap() {
        conf[k] = v.clone();
    }
    CniRequest {
        command: Command::Add,
        args: CniArgs::default(),
        cni_path: vec![],
        config: PluginConfig::parse(serde_json::to_vec(&conf).unwrap()).unwrap(),
    }
}

fn attachment() -> Attachment {
    Attachment {
        container_id: ContainerId::new("c1").unwrap(),
        ifname: IfName::new("eth0").unwrap(),
        netns: Some(PathBuf::from("/run/netns/c1")),
    }
}

fn ipam_ok() -> FakeExec {
    FakeExec::new(|call| {
        match call.command.as_deref() {
        Some("ADD") => Ok(br#"{"cniVersion":"1.1.0","ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1"}],"routes":[{"dst":"0.0.0.0/0"}]}"#.to_vec()),
        _ => Ok(Vec::new()),
    }
    })
}

struct World {
    fw: FakeFirewall,
    host: FakeNetlink,
    ctr: FakeNetlink,
    fd: std::fs::File,
}

fn world() -> World {
    let (host, ctr) = (FakeNetlink::new(), FakeNetlink::new());
    host.link_peer_namespace(&ctr);
    host.preset_sysctl("net/ipv4/ip_forward", "0");
    World {
        fw: FakeFirewall::default(),
        host,
        ctr,
        fd: std::fs::File::open("/dev/null").unwrap(),
    }
}

fn run(w: &World, exec: &FakeExec, req: &CniRequest) -> Result<CniResult, CniError> {
    let ctx = Context {
        host: &w.host,
        ctr: &w.ctr,
        ctr_ns: w.fd.as_fd(),
        netns: std::path::Path::new("/run/netns/c1"),
        exec,
        fw: &w.fw,
    };
    let cfg = BridgeConfig::parse(&req.config)?;
    add(&ctx, req, &attachment(), &cfg)
}

#[test]
fn add_wires_bridge_port_container_and_gateway() {
    let w = world();
    let exec = ipam_ok();
    let res = run(&w, &exec, &request(json!({"hairpinMode": true}))).unwrap();
    assert_eq!(res.interfaces.len(), 3);
    assert_eq!(res.interfaces[2].sandbox.as_deref(), Some("/run/netns/c1"));
    assert_eq!(res.ips[0].interface, Some(2));

    let br = w.host.link("br0").expect("bridge created");
    assert!(br.info.admin_up);
    let host_veth = &res.interfaces[1].name;
    let port = w.host.link(host_veth).expect("host end");
    assert_eq!(port.info.master, Some(br.info.index));
    assert!(port.hairpin && port.info.admin_up);
    let eth0 = w.ctr.link("eth0").expect("container end");
    assert!(eth0.info.admin_up);
    let addrs = w.ctr.addresses(Some(eth0.info.index)).unwrap();
    assert_eq!(addrs[0].addr.to_string(), "10.1.0.5/24");
    let gw = w.host.addresses(Some(br.info.index)).unwrap();
    assert_eq!(gw[0].addr.to_string(), "10.1.0.1/24");
    assert_eq!(w.host.sysctl("net/ipv4/ip_forward").as_deref(), Some("1"));
    assert_eq!(
        w.ctr.sysctl("net/ipv4/conf/eth0/arp_notify").as_deref(),
        Some("1")
    );
    let default = w.ctr.calls().into_iter().any(|c| {
        matches!(c, NetlinkCall::AddRoute(r) if r.dst.prefix() == 0
            && r.gw == Some("10.1.0.1".parse().unwrap()))
    });
    assert!(default, "no default route via the gateway");
}

#[test]
fn a_failure_after_ipam_removes_the_veth_and_releases_the_address() {
    let w = world();
    let exec = ipam_ok();
    w.ctr
        .fail_next(|c| matches!(c, NetlinkCall::AddAddress { .. }), libc::EPERM);
    let err = run(&w, &exec, &request(json!({}))).unwrap_err();
    assert_eq!(err.code(), 101);
    assert_eq!(exec.commands(), vec!["ADD", "DEL"]);
    assert!(w.ctr.link("eth0").is_none());
    let veths = w
        .host
        .links()
        .unwrap()
        .into_iter()
        .filter(|l| l.name.starts_with("veth"))
        .count();
    assert_eq!(veths, 0);
}

#[test]
fn an_existing_interface_is_refused_before_ipam_runs() {
    let w = world();
    w.ctr.add_link("eth0", None);
    let exec = ipam_ok();
    let err = run(&w, &exec, &request(json!({}))).unwrap_err();
    assert_eq!(err.code(), 105);
    assert!(exec.commands().is_empty(), "IPAM must not run");
}

#[test]
fn a_different_address_on_the_bridge_needs_force_address() {
    let w = world();
    let exec = ipam_ok();
    let br = w.host.ensure_bridge("br0", None, None, false).unwrap();
    w.host
        .add_address(br.index, "10.9.9.1/24".parse().unwrap())
        .unwrap();
    let err = run(&w, &exec, &request(json!({}))).unwrap_err();
    assert!(err.to_string().contains("forceAddress"), "{err}");
    assert_eq!(exec.commands(), vec!["ADD", "DEL"]);

    let w = world();
    let br = w.host.ensure_bridge("br0", None, None, false).unwrap();
    w.host
        .add_address(br.index, "10.9.9.1/24".parse().unwrap())
        .unwrap();
    run(&w, &exec, &request(json!({"forceAddress": true}))).unwrap();
    let addrs: Vec<String> = w
        .host
        .addresses(Some(br.index))
        .unwrap()
        .iter()
        .map(|a| a.addr.to_string())
        .collect();
    assert_eq!(addrs, vec!["10.1.0.1/24"]);
}

#[test]
fn config_dns_overrides_ipam_dns_and_mac_is_requested() {
    let w = world();
    let exec = ipam_ok();
    let mut req = request(json!({
        "dns": {"nameservers": ["10.1.0.53"]},
        "runtimeConfig": {"mac": "02:00:00:00:00:05"}
    }));
    req.args = CniArgs::parse("MAC=02:00:00:00:00:09").unwrap();
    let res = run(&w, &exec, &req).unwrap();
    assert_eq!(res.dns.nameservers, vec!["10.1.0.53"]);
    assert_eq!(
        w.ctr.link("eth0").unwrap().info.mac.unwrap().to_string(),
        "02:00:00:00:00:05"
    );
}

#[test]
fn without_ipam_the_container_gets_a_bare_interface() {
    let w = world();
    let exec = FakeExec::new(|_| panic!("IPAM must not run"));
    let res = run(&w, &exec, &request(json!({"ipam": {}}))).unwrap();
    assert!(res.ips.is_empty());
    assert!(w.ctr.link("eth0").unwrap().info.admin_up);
}

#[test]
fn ip_masq_sets_up_the_network_firewall_once_per_network() {
    let w = world();
    let exec = ipam_ok();
    run(&w, &exec, &request(json!({"ipMasq": true}))).unwrap();
    let nets = w.fw.networks.lock().unwrap().clone();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0].name, "n1");
    assert_eq!(nets[0].subnets[0].to_string(), "10.1.0.0/24");
    assert!(nets[0].masquerade && !nets[0].internal);
}

#[test]
fn without_ip_masq_or_internal_no_firewall_is_touched() {
    let w = world();
    run(&w, &ipam_ok(), &request(json!({}))).unwrap();
    assert!(w.fw.networks.lock().unwrap().is_empty());
}
