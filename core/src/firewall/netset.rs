//! Which network holds which subnet in berth's table, read back from the kernel, and what to
//! do when a network is set up over what is already there.
//!
//! A network's elements (in `fwd4/6`, `nets4/6`, `masq4/6` and
//! `untracked4/6`) carry `net=<name>` in their
//! comment and, where host-local keeps the network's addresses, `ipam=<dir>` too
//! ([`super::ruleset::network_comment`]). Nothing tells a plugin that a CNI network was removed
//! (`podman network rm`, an edited conflist), so its elements stay behind; a new network with
//! the same subnet would then collide with them. [`plan_setup`] decides from the old network's
//! attachments: none left, and its elements, chain and `FORWARD` rules are replaced; some left,
//! and the new network is refused, naming both. Pure: the kernel is read and written by
//! [`super::nft`].

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ipnetwork::IpNetwork;

use super::nfnl::Interval;
use super::ruleset::{self, TABLE};
use super::{FirewallError, NetworkRules};

/// The sets and maps that hold per-network elements.
pub const NETWORK_SETS: [&str; 8] = [
    "fwd4",
    "fwd6",
    "nets4",
    "nets6",
    "masq4",
    "masq6",
    "untracked4",
    "untracked6",
];

/// Tells whether a network still has attachments. The firewall asks before it replaces or
/// removes the elements of a network other than the one it is setting up.
pub trait AttachmentProbe {
    /// True when `network` has attachments: reservations in its host-local store under
    /// `ipam_dir` (when known) or cached results of a CNI runtime. When in doubt (a store that
    /// cannot be read), true.
    fn has_attachments(&self, network: &str, ipam_dir: Option<&Path>) -> bool;
}

/// One network element found in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetElement {
    /// The set or map it is in.
    pub set: String,
    /// The first address it covers.
    pub first: IpAddr,
    /// The last address it covers.
    pub last: IpAddr,
    /// The network named in its comment (`None`: not tagged by berth).
    pub network: Option<String>,
    /// The host-local data directory named in its comment.
    pub ipam_dir: Option<PathBuf>,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(v: u128, v6: bool) -> Option<IpAddr> {
    if v6 {
        Some(IpAddr::V6(Ipv6Addr::from(v)))
    } else {
        u32::try_from(v).ok().map(|a| IpAddr::V4(Ipv4Addr::from(a)))
    }
}

fn key_value(key: &[u8]) -> Option<u128> {
    match key.len() {
        4 | 16 => Some(key.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b))),
        _ => None,
    }
}

/// The first and last address of a subnet, as numbers.
fn bounds(subnet: &IpNetwork) -> (u128, u128) {
    (
        to_u128(subnet.network()),
        to_u128(match subnet {
            IpNetwork::V4(n) => IpAddr::V4(n.broadcast()),
            IpNetwork::V6(n) => IpAddr::V6(n.broadcast()),
        }),
    )
}

impl NetElement {
    /// The element an interval of `set` stands for; `None` for keys that are not addresses.
    pub fn from_interval(set: &str, iv: &Interval) -> Option<NetElement> {
        let v6 = iv.start.len() == 16;
        let first = key_value(&iv.start)?;
        let last = match &iv.end {
            Some(end) => key_value(end)?.checked_sub(1)?,
            None if v6 => u128::MAX,
            None => u128::from(u32::MAX),
        };
        let (network, ipam_dir) = iv
            .comment
            .as_deref()
            .map(ruleset::parse_network_comment)
            .unwrap_or_default();
        Some(NetElement {
            set: set.to_string(),
            first: from_u128(first, v6)?,
            last: from_u128(last, v6)?,
            network,
            ipam_dir,
        })
    }

    fn same_family(&self, subnet: &IpNetwork) -> bool {
        self.first.is_ipv6() == subnet.is_ipv6()
    }

    /// True when it shares an address with `subnet`.
    pub fn overlaps(&self, subnet: &IpNetwork) -> bool {
        let (lo, hi) = bounds(subnet);
        self.same_family(subnet) && to_u128(self.first) <= hi && lo <= to_u128(self.last)
    }

    /// True when it covers exactly `subnet`.
    pub fn is_exactly(&self, subnet: &IpNetwork) -> bool {
        let (lo, hi) = bounds(subnet);
        self.same_family(subnet) && to_u128(self.first) == lo && to_u128(self.last) == hi
    }

    /// The subnet it covers, when it covers exactly one.
    pub fn subnet(&self) -> Option<IpNetwork> {
        let size = to_u128(self.last)
            .checked_sub(to_u128(self.first))?
            .checked_add(1);
        let bits = if self.first.is_ipv6() { 128 } else { 32 };
        let prefix = match size {
            Some(s) if s.is_power_of_two() => bits - s.trailing_zeros() as u8,
            None if self.first.is_ipv6() && to_u128(self.first) == 0 => 0,
            _ => return None,
        };
        IpNetwork::new(self.first, prefix)
            .ok()
            .filter(|n| n.network() == self.first)
    }

    /// The element's key in `nft` syntax: a prefix where it is one, else a range.
    pub fn nft_key(&self) -> String {
        match self.subnet() {
            Some(n) => n.to_string(),
            None => format!("{}-{}", self.first, self.last),
        }
    }
}

/// Every element of one network found in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The network's name.
    pub name: String,
    /// The host-local data directory its elements name, if any does.
    pub ipam_dir: Option<PathBuf>,
    /// Its elements, in every set.
    pub elements: Vec<NetElement>,
}

impl Holder {
    /// Its subnets (from the elements that are exact prefixes), each once.
    pub fn subnets(&self) -> Vec<IpNetwork> {
        let mut out: Vec<IpNetwork> = Vec::new();
        for n in self.elements.iter().filter_map(NetElement::subnet) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// What `host_forward::revoke` needs to find the network's `FORWARD` rules.
    pub fn rules(&self) -> NetworkRules {
        NetworkRules {
            name: self.name.clone(),
            subnets: self.subnets(),
            masquerade: self.elements.iter().any(|e| e.set.starts_with("masq")),
            internal: false,
            untracked: self.elements.iter().any(|e| e.set.starts_with("untracked")),
            ipam_dir: self.ipam_dir.clone(),
        }
    }

    /// The `nft` text that removes its elements and its chain (the verdict-map elements that
    /// jump to the chain go in the same transaction, first).
    pub fn removal_script(&self) -> String {
        let t = format!("inet {TABLE}");
        let mut s = String::new();
        for e in &self.elements {
            s.push_str(&format!(
                "delete element {t} {} {{ {} }}\n",
                e.set,
                e.nft_key()
            ));
        }
        let chain = ruleset::network_chain(&self.name);
        // `add` first, so the script also works when the chain is already gone.
        s.push_str(&format!(
            "add chain {t} {chain}\nflush chain {t} {chain}\ndelete chain {t} {chain}\n"
        ));
        s
    }
}

/// The tagged elements grouped by network, in name order.
pub fn holders(elements: &[NetElement]) -> Vec<Holder> {
    let mut by_name: BTreeMap<&str, Holder> = BTreeMap::new();
    for e in elements {
        let Some(name) = e.network.as_deref() else {
            continue;
        };
        let h = by_name.entry(name).or_insert_with(|| Holder {
            name: name.to_string(),
            ipam_dir: None,
            elements: Vec::new(),
        });
        if h.ipam_dir.is_none() {
            h.ipam_dir.clone_from(&e.ipam_dir);
        }
        h.elements.push(e.clone());
    }
    by_name.into_values().collect()
}

/// True when the table already holds exactly `net`'s elements in its `nets` sets: one per
/// subnet, tagged with its name, and no other of its own.
pub fn is_in_place(net: &NetworkRules, elements: &[NetElement]) -> bool {
    let own: Vec<&NetElement> = elements
        .iter()
        .filter(|e| e.set.starts_with("nets") && e.network.as_deref() == Some(&net.name))
        .collect();
    own.len() == net.subnets.len()
        && net
            .subnets
            .iter()
            .all(|s| own.iter().any(|e| e.is_exactly(s)))
}

/// What must go before `net` can be set up: the networks whose elements it replaces (other
/// networks with an overlapping subnet and no attachment left, and `net` itself when its own
/// elements are stale: a network re-created under its name with other subnets). Another
/// network that still has attachments (`has_attachments`, asked with its recorded data
/// directory, else `net`'s), or an element berth did not tag, refuses the setup.
pub fn plan_setup(
    net: &NetworkRules,
    elements: &[NetElement],
    has_attachments: impl Fn(&str, Option<&Path>) -> bool,
) -> Result<Vec<Holder>, FirewallError> {
    let mut replace = Vec::new();
    for h in holders(elements) {
        if h.name == net.name {
            let stale = h
                .elements
                .iter()
                .any(|e| !net.subnets.iter().any(|s| e.is_exactly(s)));
            if stale {
                replace.push(h);
            }
            continue;
        }
        let Some(subnet) = net
            .subnets
            .iter()
            .find(|s| h.elements.iter().any(|e| e.overlaps(s)))
        else {
            continue;
        };
        let dir = h.ipam_dir.as_deref().or(net.ipam_dir.as_deref());
        if has_attachments(&h.name, dir) {
            return Err(FirewallError::SubnetInUse {
                subnet: *subnet,
                network: net.name.clone(),
                holder: format!(
                    "network {}, which still has attachments (two live networks cannot share a subnet)",
                    h.name
                ),
            });
        }
        replace.push(h);
    }
    if let Some((subnet, _)) = net.subnets.iter().find_map(|s| {
        elements
            .iter()
            .find(|e| e.network.is_none() && e.overlaps(s))
            .map(|e| (s, e))
    }) {
        return Err(FirewallError::SubnetInUse {
            subnet: *subnet,
            network: net.name.clone(),
            holder: format!("an element of table inet {TABLE} that berth did not tag"),
        });
    }
    Ok(replace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(set: &str, subnet: &str, comment: Option<&str>) -> NetElement {
        let n: IpNetwork = subnet.parse().unwrap();
        let (lo, hi) = bounds(&n);
        let (network, ipam_dir) = comment
            .map(ruleset::parse_network_comment)
            .unwrap_or_default();
        NetElement {
            set: set.into(),
            first: from_u128(lo, n.is_ipv6()).unwrap(),
            last: from_u128(hi, n.is_ipv6()).unwrap(),
            network,
            ipam_dir,
        }
    }

    fn net(name: &str, subnet: &str) -> NetworkRules {
        NetworkRules {
            name: name.into(),
            subnets: vec![subnet.parse().unwrap()],
            masquerade: true,
            internal: false,
            untracked: false,
            ipam_dir: Some("/var/lib/berth/ipam".into()),
        }
    }

    fn table_of(name: &str, subnet: &str) -> Vec<NetElement> {
        let c = format!("net={name} ipam=/old/ipam");
        ["fwd4", "nets4", "masq4"]
            .iter()
            .map(|s| el(s, subnet, Some(&c)))
            .collect()
    }

    #[test]
    fn an_interval_becomes_an_element_with_its_tag() {
        let iv = Interval {
            start: vec![10, 233, 39, 0],
            end: Some(vec![10, 233, 40, 0]),
            comment: Some("net=old ipam=/var/lib/cni/networks".into()),
        };
        let e = NetElement::from_interval("fwd4", &iv).unwrap();
        assert_eq!(e.subnet(), Some("10.233.39.0/24".parse().unwrap()));
        assert_eq!(e.network.as_deref(), Some("old"));
        assert_eq!(e.ipam_dir, Some(PathBuf::from("/var/lib/cni/networks")));
        let v6 = Interval {
            start: "fd00::".parse::<Ipv6Addr>().unwrap().octets().to_vec(),
            end: Some(
                "fd00:0:0:1::"
                    .parse::<Ipv6Addr>()
                    .unwrap()
                    .octets()
                    .to_vec(),
            ),
            comment: Some("net=six".into()),
        };
        let e6 = NetElement::from_interval("nets6", &v6).unwrap();
        assert_eq!(e6.nft_key(), "fd00::/64");
        assert_eq!(e6.ipam_dir, None);
    }

    #[test]
    fn a_range_that_is_no_prefix_is_written_as_a_range() {
        let e = NetElement {
            set: "nets4".into(),
            first: "10.0.0.1".parse().unwrap(),
            last: "10.0.0.9".parse().unwrap(),
            network: None,
            ipam_dir: None,
        };
        assert_eq!(e.subnet(), None);
        assert_eq!(e.nft_key(), "10.0.0.1-10.0.0.9");
        assert!(e.overlaps(&"10.0.0.8/29".parse().unwrap()));
        assert!(!e.overlaps(&"10.0.0.16/28".parse().unwrap()));
        assert!(!e.overlaps(&"fd00::/64".parse().unwrap()));
    }

    #[test]
    fn an_untracked_network_is_read_back_and_removed_whole() {
        let mut elements = table_of("ov", "10.100.0.0/16");
        elements.push(el("untracked4", "10.100.0.0/16", Some("net=ov")));
        let h = holders(&elements).remove(0);
        assert!(h.rules().untracked);
        assert!(
            h.removal_script()
                .contains("delete element inet berth untracked4 { 10.100.0.0/16 }")
        );
    }

    #[test]
    fn a_dead_network_with_the_subnet_is_replaced() {
        let elements = table_of("old", "10.233.39.0/24");
        let asked = std::cell::RefCell::new(Vec::new());
        let plan = plan_setup(&net("new", "10.233.39.0/24"), &elements, |n, d| {
            asked
                .borrow_mut()
                .push((n.to_string(), d.map(Path::to_path_buf)));
            false
        })
        .unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].name, "old");
        assert_eq!(plan[0].elements.len(), 3);
        assert!(plan[0].rules().masquerade);
        // Asked with the old network's own data directory, not the new one's.
        assert_eq!(
            asked.into_inner(),
            vec![("old".to_string(), Some(PathBuf::from("/old/ipam")))]
        );
        assert!(!plan[0].rules().untracked);
        let script = plan[0].removal_script();
        assert!(script.contains("delete element inet berth fwd4 { 10.233.39.0/24 }"));
        assert!(script.ends_with("delete chain inet berth net-old\n"));
    }

    #[test]
    fn a_live_network_with_an_overlapping_subnet_refuses_naming_both() {
        let elements = table_of("old", "10.233.0.0/16");
        let err = plan_setup(&net("new", "10.233.39.0/24"), &elements, |_, _| true).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("network new") && msg.contains("network old"),
            "{msg}"
        );
        assert!(msg.contains("10.233.39.0/24"), "{msg}");
    }

    #[test]
    fn other_subnets_and_the_network_itself_are_left_alone() {
        let mut elements = table_of("other", "10.1.0.0/24");
        elements.extend(table_of("new", "10.233.39.0/24"));
        let plan = plan_setup(&net("new", "10.233.39.0/24"), &elements, |_, _| {
            panic!("no network shares the subnet")
        })
        .unwrap();
        assert!(plan.is_empty());
        assert!(is_in_place(&net("new", "10.233.39.0/24"), &elements));
        assert!(!is_in_place(&net("new", "10.233.40.0/24"), &elements));
    }

    #[test]
    fn a_network_recreated_with_another_subnet_replaces_its_own_elements() {
        let elements = table_of("new", "10.9.0.0/24");
        let plan = plan_setup(&net("new", "10.233.39.0/24"), &elements, |_, _| true).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].subnets(), vec!["10.9.0.0/24".parse().unwrap()]);
    }

    #[test]
    fn an_untagged_element_in_the_way_refuses() {
        let elements = vec![el("nets4", "10.233.39.0/24", None)];
        let err = plan_setup(&net("new", "10.233.39.0/24"), &elements, |_, _| false).unwrap_err();
        assert!(err.to_string().contains("did not tag"), "{err}");
    }
}
