//! berth's nftables ruleset as `nft` text, and the map keys of published ports. Pure: these
//! functions only build strings and bytes, so every rule is unit-tested without root.
//!
//! One table, `inet berth`, holds everything berth adds; no other table or chain is touched, so
//! Docker's, podman's or a user's rules stay as they are. Per-network state is a chain
//! `net-<name>` plus elements (each carrying `net=<name>` in its comment) in the interval
//! sets/maps below; per-container state is one map element per published port whose comment
//! names the network, container id and interface. Nothing grows a rule list as containers come
//! and go: lookups are set/map lookups.

use std::fmt::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnetwork::IpNetwork;

use super::{NetworkRules, Owner, PortForward};

/// The table's name (family `inet`).
pub const TABLE: &str = "berth";

/// The chain holding one network's forwarding rules.
pub fn network_chain(name: &str) -> String {
    format!("net-{name}")
}

/// The base ruleset. Every statement is idempotent (`add` of what exists is a no-op, base
/// chains are flushed and refilled), so running it again repairs a ruleset someone flushed.
pub fn skeleton() -> String {
    let mut s = String::new();
    let t = format!("inet {TABLE}");
    let _ = writeln!(s, "add table {t}");
    for (name, spec) in [
        (
            "hostports4",
            "type inet_proto . inet_service : ipv4_addr . inet_service;",
        ),
        (
            "hostips4",
            "type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;",
        ),
        (
            "hostports6",
            "type inet_proto . inet_service : ipv6_addr . inet_service;",
        ),
        (
            "hostips6",
            "type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;",
        ),
        ("fwd4", "type ipv4_addr : verdict; flags interval;"),
        ("fwd6", "type ipv6_addr : verdict; flags interval;"),
    ] {
        let _ = writeln!(s, "add map {t} {name} {{ {spec} }}");
    }
    for (name, fam) in [
        ("masq4", 4),
        ("masq6", 6),
        ("nets4", 4),
        ("nets6", 6),
        ("untracked4", 4),
        ("untracked6", 6),
    ] {
        let _ = writeln!(
            s,
            "add set {t} {name} {{ type ipv{fam}_addr; flags interval; }}"
        );
    }
    for (chain, spec) in [
        (
            "prerouting",
            "type nat hook prerouting priority dstnat; policy accept;",
        ),
        (
            "output",
            "type nat hook output priority -100; policy accept;",
        ),
        (
            "postrouting",
            "type nat hook postrouting priority srcnat; policy accept;",
        ),
        (
            "forward",
            "type filter hook forward priority filter; policy accept;",
        ),
        (
            "raw",
            "type filter hook prerouting priority raw; policy accept;",
        ),
        ("hostports", ""),
    ] {
        let body = if spec.is_empty() {
            String::new()
        } else {
            format!(" {{ {spec} }}")
        };
        let _ = writeln!(s, "add chain {t} {chain}{body}");
        let _ = writeln!(s, "flush chain {t} {chain}");
    }
    for rule in BASE_RULES {
        let _ = writeln!(s, "add rule {t} {rule}");
    }
    s
}

/// The rules of the base chains (chain name first).
const BASE_RULES: &[&str] = &[
    // Published ports: only for packets addressed to this host.
    "prerouting fib daddr type local jump hostports",
    "output fib daddr type local jump hostports",
    "hostports meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @hostips4",
    "hostports meta nfproto ipv4 dnat ip to meta l4proto . th dport map @hostports4",
    "hostports meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @hostips6",
    "hostports meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @hostports6",
    // A published port reached from a container (its own, hairpin, or another's) or from the
    // host's loopback: answer through the host.
    "postrouting ct status dnat ip saddr @nets4 masquerade",
    "postrouting ct status dnat ip saddr 127.0.0.0/8 masquerade",
    "postrouting ct status dnat ip6 saddr @nets6 masquerade",
    // Outbound traffic of masqueraded networks.
    "postrouting ip saddr @masq4 ip daddr != @nets4 ip daddr != 224.0.0.0/4 masquerade",
    "postrouting ip6 saddr @masq6 ip6 daddr != @nets6 ip6 daddr != ff00::/8 masquerade",
    // Forwarding: published ports are open to all; everything else follows its network.
    "forward ct status dnat accept",
    "forward ip saddr vmap @fwd4",
    "forward ip6 saddr vmap @fwd6",
    // Between two addresses of an untracked network, unless to this host (its gateway keeps
    // published ports and the DNS server).
    "raw ip saddr @untracked4 ip daddr @untracked4 fib daddr type != local notrack",
    "raw ip6 saddr @untracked6 ip6 daddr @untracked6 fib daddr type != local notrack",
];

fn fam(n: &IpNetwork) -> u8 {
    if n.is_ipv4() { 4 } else { 6 }
}

fn ip_kw(n: &IpNetwork) -> &'static str {
    if n.is_ipv4() { "ip" } else { "ip6" }
}

/// First transaction for a network: its chain (flushed and refilled) and its set elements.
/// The verdict-map element that jumps to the chain goes in a second transaction
/// ([`network_jump`]): nft 1.0 cannot resolve a chain created in the same batch from a map.
pub fn network(net: &NetworkRules) -> String {
    let t = format!("inet {TABLE}");
    let chain = network_chain(&net.name);
    let mut s = skeleton();
    let _ = writeln!(s, "add chain {t} {chain}");
    let _ = writeln!(s, "flush chain {t} {chain}");
    for n in &net.subnets {
        let _ = writeln!(s, "add rule {t} {chain} {} daddr {n} accept", ip_kw(n));
    }
    for n in &net.subnets {
        let f = fam(n);
        let _ = writeln!(s, "add rule {t} {chain} {} daddr @nets{f} drop", ip_kw(n));
    }
    if net.internal {
        let _ = writeln!(s, "add rule {t} {chain} drop");
    } else {
        let _ = writeln!(s, "add rule {t} {chain} accept");
    }
    let comment = format!("comment \"{}\"", network_comment(net));
    for n in &net.subnets {
        let f = fam(n);
        let _ = writeln!(s, "add element {t} nets{f} {{ {n} {comment} }}");
        if net.masquerade && !net.internal {
            let _ = writeln!(s, "add element {t} masq{f} {{ {n} {comment} }}");
        }
        if net.untracked {
            let _ = writeln!(s, "add element {t} untracked{f} {{ {n} {comment} }}");
        }
    }
    s
}

/// Second transaction for a network: `subnet : jump net-<name>` in the forward verdict maps.
pub fn network_jump(net: &NetworkRules) -> String {
    let mut s = String::new();
    for n in &net.subnets {
        let _ = writeln!(
            s,
            "add element inet {TABLE} fwd{} {{ {n} comment \"{}\" : jump {} }}",
            fam(n),
            network_comment(net),
            network_chain(&net.name)
        );
    }
    s
}

/// The longest comment nf_tables keeps on an element (`NFT_USERDATA_MAXLEN` is 256 bytes of
/// userdata; `nft` refuses comments longer than 128 characters).
const COMMENT_MAX: usize = 128;

/// The comment on a network's elements: `net=<name>`, and `ipam=<dir>` where host-local keeps
/// its addresses (so a later network can tell whether this one still has attachments), when
/// the directory fits in the comment and needs no quoting.
pub fn network_comment(net: &NetworkRules) -> String {
    let base = format!("net={}", net.name);
    let dir = net.ipam_dir.as_ref().and_then(|d| d.to_str());
    match dir {
        Some(d)
            if !d.is_empty()
                && !d.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\')
                && base.len() + 6 + d.len() <= COMMENT_MAX =>
        {
            format!("{base} ipam={d}")
        }
        _ => base,
    }
}

/// Parses [`network_comment`]'s format: (network, host-local data directory).
pub fn parse_network_comment(comment: &str) -> (Option<String>, Option<PathBuf>) {
    let mut net = None;
    let mut dir = None;
    for part in comment.split_whitespace() {
        match part.split_once('=') {
            Some(("net", v)) if !v.is_empty() => net = Some(v.to_string()),
            Some(("ipam", v)) if !v.is_empty() => dir = Some(PathBuf::from(v)),
            _ => {}
        }
    }
    (net, dir)
}

/// The comment that marks a published port's owner.
pub fn owner_comment(owner: &Owner) -> String {
    format!(
        "net={} id={} if={}",
        owner.network, owner.container_id, owner.ifname
    )
}

/// Parses [`owner_comment`]'s format.
pub fn parse_owner(comment: &str) -> Option<Owner> {
    let mut net = None;
    let mut id = None;
    let mut ifname = None;
    for part in comment.split_whitespace() {
        match part.split_once('=') {
            Some(("net", v)) => net = Some(v),
            Some(("id", v)) => id = Some(v),
            Some(("if", v)) => ifname = Some(v),
            _ => {}
        }
    }
    Some(Owner {
        network: net?.to_string(),
        container_id: id?.to_string(),
        ifname: ifname?.to_string(),
    })
}

/// The map a forward lives in and its key bytes: `hostports{4,6}` keyed by proto . port, or
/// `hostips{4,6}` keyed by host address . proto . port. Each part is padded to 4 bytes, as nft
/// lays out concatenations in registers.
pub fn map_key(pf: &PortForward) -> (String, Vec<u8>) {
    let fam = if pf.target.is_ipv4() { 4 } else { 6 };
    let mut key = Vec::new();
    let map = match pf.host_ip {
        Some(ip) => {
            push_ip(&mut key, ip);
            format!("hostips{fam}")
        }
        None => format!("hostports{fam}"),
    };
    key.extend_from_slice(&[pf.proto.number(), 0, 0, 0]);
    push_port(&mut key, pf.host_port);
    (map, key)
}

/// The value bytes: container address . container port.
pub fn map_data(pf: &PortForward) -> Vec<u8> {
    let mut data = Vec::new();
    push_ip(&mut data, pf.target.ip());
    push_port(&mut data, pf.target.port());
    data
}

fn push_ip(buf: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => buf.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => buf.extend_from_slice(&a.octets()),
    }
}

fn push_port(buf: &mut Vec<u8>, port: u16) {
    buf.extend_from_slice(&port.to_be_bytes());
    buf.extend_from_slice(&[0, 0]);
}

#[cfg(test)]
mod tests {
    use super::super::Protocol;
    use super::*;

    fn net(internal: bool) -> NetworkRules {
        NetworkRules {
            name: "web".into(),
            subnets: vec!["10.1.0.0/24".parse().unwrap()],
            masquerade: true,
            internal,
            untracked: false,
            ipam_dir: None,
        }
    }

    #[test]
    fn skeleton_is_idempotent_text() {
        let s = skeleton();
        assert!(s.contains("add table inet berth"));
        assert!(s.contains("flush chain inet berth forward"));
        assert!(
            !s.contains("insert"),
            "never inserts into chains it does not own"
        );
        assert_eq!(s.matches("add rule").count(), BASE_RULES.len());
    }

    #[test]
    fn network_chain_accepts_own_subnet_drops_other_networks() {
        let s = network(&net(false));
        let own = s.find("net-web ip daddr 10.1.0.0/24 accept").unwrap();
        let others = s.find("net-web ip daddr @nets4 drop").unwrap();
        assert!(own < others);
        assert!(s.contains("add rule inet berth net-web accept"));
        assert!(s.contains("add element inet berth masq4 { 10.1.0.0/24 comment \"net=web\" }"));
        assert!(
            network_jump(&net(false))
                .contains("fwd4 { 10.1.0.0/24 comment \"net=web\" : jump net-web }")
        );
    }

    #[test]
    fn only_untracked_networks_skip_conntrack() {
        assert!(!network(&net(false)).contains("add element inet berth untracked4"));
        let mut n = net(false);
        n.untracked = true;
        let s = network(&n);
        assert!(
            s.contains("add element inet berth untracked4 { 10.1.0.0/24 comment \"net=web\" }")
        );
        // At raw priority, before conntrack, and never for this host's own addresses.
        assert!(s.contains("add chain inet berth raw { type filter hook prerouting priority raw;"));
        assert!(s.contains(
            "raw ip saddr @untracked4 ip daddr @untracked4 fib daddr type != local notrack"
        ));
    }

    #[test]
    fn network_comment_names_the_data_dir_when_it_fits() {
        let mut n = net(false);
        n.ipam_dir = Some("/var/lib/berth/ipam".into());
        let c = network_comment(&n);
        assert_eq!(c, "net=web ipam=/var/lib/berth/ipam");
        assert_eq!(
            parse_network_comment(&c),
            (Some("web".into()), Some("/var/lib/berth/ipam".into()))
        );
        assert!(
            network(&n)
                .contains("masq4 { 10.1.0.0/24 comment \"net=web ipam=/var/lib/berth/ipam\" }")
        );
        n.ipam_dir = Some(format!("/{}", "d".repeat(130)).into());
        assert_eq!(network_comment(&n), "net=web");
        n.ipam_dir = Some("/with space".into());
        assert_eq!(network_comment(&n), "net=web");
        assert_eq!(parse_network_comment("net=web"), (Some("web".into()), None));
    }

    #[test]
    fn internal_network_gets_no_masquerade_and_no_way_out() {
        let s = network(&net(true));
        assert!(!s.contains("add element inet berth masq4"));
        assert!(s.contains("add rule inet berth net-web drop"));
    }

    #[test]
    fn keys_follow_nft_register_layout() {
        let pf = PortForward {
            proto: Protocol::Tcp,
            host_ip: None,
            host_port: 8080,
            target: "10.1.0.5:80".parse().unwrap(),
        };
        assert_eq!(
            map_key(&pf),
            ("hostports4".into(), vec![6, 0, 0, 0, 0x1f, 0x90, 0, 0])
        );
        assert_eq!(map_data(&pf), vec![10, 1, 0, 5, 0, 80, 0, 0]);
        let local = PortForward {
            host_ip: Some("127.0.0.1".parse().unwrap()),
            proto: Protocol::Udp,
            ..pf
        };
        let (map, key) = map_key(&local);
        assert_eq!(map, "hostips4");
        assert_eq!(key, vec![127, 0, 0, 1, 17, 0, 0, 0, 0x1f, 0x90, 0, 0]);
    }

    #[test]
    fn owner_comment_roundtrips() {
        let o = Owner {
            network: "web".into(),
            container_id: "abc".into(),
            ifname: "eth0".into(),
        };
        assert_eq!(parse_owner(&owner_comment(&o)), Some(o));
        assert_eq!(parse_owner("net=web"), None);
    }
}
