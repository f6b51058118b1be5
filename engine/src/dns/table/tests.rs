use super::*;
use crate::container::record::Attachment;
use crate::network::{CreateRequest, NetworkStore};

struct World {
    _d: tempfile::TempDir,
    networks: Vec<Network>,
}

fn world() -> World {
    let d = tempfile::tempdir().unwrap();
    let store = NetworkStore::new(d.path(), Vec::new());
    let empty = d.path().join("proc");
    std::fs::create_dir_all(&empty).unwrap();
    for (name, subnet, internal) in [
        ("web", "10.89.0.0/24", false),
        ("db", "10.89.1.0/24", false),
        ("priv", "10.89.2.0/24", true),
    ] {
        let mut req = CreateRequest::bridge(name, &[subnet]);
        req.internal = internal;
        store.create(req, d.path(), &empty).unwrap();
    }
    let networks = store.list().unwrap();
    World { _d: d, networks }
}

fn rec(name: &str, nets: &[(&str, &str)]) -> ContainerRecord {
    let mut r = ContainerRecord {
        id: format!(
            "{:0<64}",
            name.replace(|c: char| !c.is_ascii_hexdigit(), "a")
        ),
        name: name.into(),
        ..Default::default()
    };
    for (net, addr) in nets {
        r.network_settings.networks.insert(
            (*net).into(),
            Attachment {
                if_name: "eth0".into(),
                ip_addresses: vec![format!("{addr}/24")],
                result: serde_json::Value::Null,
            },
        );
        r.host_config.networks.push((*net).into());
    }
    r
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn idx(t: &Table, name: &str) -> usize {
    t.networks.iter().position(|n| n.name == name).unwrap()
}

#[test]
fn only_user_bridge_networks_are_served() {
    let w = world();
    let served: Vec<String> = w
        .networks
        .iter()
        .filter_map(serves)
        .map(|n| n.name)
        .collect();
    assert_eq!(served, ["db", "priv", "web"]);
    let web = w
        .networks
        .iter()
        .find_map(|n| serves(n).filter(|s| s.name == "web"));
    let web = web.unwrap();
    assert_eq!(web.gateways, [ip("10.89.0.1")]);
    assert_eq!(web.bridge, "berth-web");
}

#[test]
fn names_resolve_within_the_clients_networks_only() {
    let w = world();
    let mut a = rec("a", &[("web", "10.89.0.2")]);
    a.host_config
        .network_aliases
        .insert("web".into(), vec!["Front".into()]);
    let b = rec("b", &[("web", "10.89.0.3"), ("db", "10.89.1.3")]);
    let c = rec("c", &[("db", "10.89.1.4")]);
    let gone = rec("gone", &[]);
    let on_default = rec("dflt", &[("bridge", "10.88.0.9")]);
    let t = Table::build(&[a, b, c, gone, on_default], &w.networks, "");
    let (web, db) = (idx(&t, "web"), idx(&t, "db"));
    let from_a = ip("10.89.0.2");
    // b is also on db, which a is not on: only its web address is of use to a.
    assert_eq!(
        t.lookup(web, from_a, "b"),
        Lookup::Found(vec![ip("10.89.0.3")])
    );
    assert_eq!(t.lookup(web, from_a, "B."), t.lookup(web, from_a, "b"));
    assert_eq!(t.lookup(web, from_a, "front"), Lookup::Found(vec![from_a]));
    assert_eq!(t.lookup(web, from_a, "a.web"), Lookup::Found(vec![from_a]));
    assert_eq!(
        t.lookup(web, from_a, &format!("{:0<12}", "a")),
        Lookup::Found(vec![from_a])
    );
    // c is on db only, which a is not on; gone and dflt are not served at all.
    assert_eq!(t.lookup(web, from_a, "c"), Lookup::Unknown);
    assert_eq!(t.lookup(web, from_a, "gone"), Lookup::Unknown);
    assert_eq!(t.lookup(web, from_a, "dflt"), Lookup::Unknown);
    // b is on both: it sees c through db, asking on web; its own web address comes first.
    let from_b = ip("10.89.0.3");
    assert_eq!(
        t.lookup(web, from_b, "c"),
        Lookup::Found(vec![ip("10.89.1.4")])
    );
    assert_eq!(
        t.lookup(db, ip("10.89.1.3"), "b"),
        Lookup::Found(vec![ip("10.89.1.3"), ip("10.89.0.3")])
    );
    // A client berth does not know sees the network it asked on.
    assert_eq!(t.lookup(db, ip("10.89.1.200"), "a"), Lookup::Unknown);
    assert_eq!(
        t.lookup(db, ip("10.89.1.200"), "c"),
        Lookup::Found(vec![ip("10.89.1.4")])
    );
    assert_eq!(
        t.reverse(web, from_a, ip("10.89.0.3")).as_deref(),
        Some("b.web")
    );
    assert_eq!(t.reverse(web, from_a, ip("10.89.1.4")), None);
    assert!(!t.is_empty());
    assert!(Table::build(&[rec("x", &[])], &w.networks, "").is_empty());
}

#[test]
fn forwarding_goes_to_the_containers_dns_else_the_hosts_and_never_from_internal() {
    let w = world();
    let mut a = rec("a", &[("web", "10.89.0.2")]);
    a.host_config.dns = vec!["192.0.2.53".into()];
    let b = rec("b", &[("web", "10.89.0.3")]);
    let p = rec("p", &[("priv", "10.89.2.2")]);
    let host = "search x\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nnameserver bogus\n";
    let t = Table::build(&[a, b, p], &w.networks, host);
    let web = idx(&t, "web");
    assert_eq!(
        t.upstreams(web, ip("10.89.0.2")),
        [SocketAddr::new(ip("192.0.2.53"), 53)]
    );
    assert_eq!(
        t.upstreams(web, ip("10.89.0.3")),
        [
            SocketAddr::new(ip("127.0.0.53"), 53),
            SocketAddr::new(ip("fe80::1"), 53)
        ]
    );
    assert!(t.upstreams(idx(&t, "priv"), ip("10.89.2.2")).is_empty());
}

#[test]
fn a_name_with_the_clients_search_domain_is_found_without_it() {
    let w = world();
    let mut a = rec("a", &[("web", "10.89.0.2")]);
    a.host_config.dns_search = vec!["Corp.Example".into()];
    let b = rec("b", &[("web", "10.89.0.3")]);
    let t = Table::build(&[a, b], &w.networks, "search lan\n");
    let web = idx(&t, "web");
    let found = Lookup::Found(vec![ip("10.89.0.3")]);
    assert_eq!(t.lookup(web, ip("10.89.0.2"), "b.corp.example."), found);
    assert_eq!(t.lookup(web, ip("10.89.0.2"), "b.lan."), Lookup::Unknown);
    assert_eq!(t.lookup(web, ip("10.89.0.3"), "b.lan."), found);
    assert_eq!(t.lookup(web, ip("10.89.0.3"), "lan."), Lookup::Unknown);
}
