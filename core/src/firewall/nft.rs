//! [`NftFirewall`]: the real [`Firewall`], in the calling thread's network namespace.
//!
//! Per-network setup runs `nft -f -` (only when the network's chain is missing, so once per
//! network, and again if someone flushed the table). Published ports are map elements written
//! with one nf_tables netlink transaction from this process: no program start, and a cost that
//! does not depend on how many ports are already published.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::netset::{self, AttachmentProbe, Holder, NetElement};
use super::nfnl::{Element, Nfnl};
use super::ruleset::{self, TABLE};
use super::{Firewall, FirewallError, NetworkRules, Owner, PortForward, Protocol, Published};
use super::{conntrack, host_forward, lock};
use crate::invoke::lock::LockMode;

/// The maps published ports live in.
const PORT_MAPS: [&str; 4] = ["hostports4", "hostips4", "hostports6", "hostips6"];

/// The nftables firewall.
#[derive(Debug, Default)]
pub struct NftFirewall {
    nft: Option<PathBuf>,
}

impl NftFirewall {
    /// A firewall using the `nft` found in the usual places (or on `PATH`).
    pub fn new() -> Self {
        let nft = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        NftFirewall { nft }
    }

    fn nl(&self, op: &str) -> Result<Nfnl, FirewallError> {
        Nfnl::open().map_err(|source| FirewallError::Netlink {
            op: format!("{op}: open nf_tables netlink"),
            source,
        })
    }

    /// Runs `nft -f -` with `script`.
    fn run_nft(&self, op: &str, script: &str) -> Result<(), FirewallError> {
        let nft = self.nft.clone().unwrap_or_else(|| PathBuf::from("nft"));
        let fail = |reason: String| FirewallError::Nft {
            op: op.to_string(),
            reason,
        };
        tracing::debug!(op, "nft -f -");
        let mut child = Command::new(&nft)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "run {}: {e} (is nftables installed?)",
                    nft.display()
                ))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(|e| fail(format!("write to nft: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("wait for nft: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(fail(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    }

    fn owned_elements(
        &self,
        nl: &Nfnl,
        owner: &Owner,
        forwards: Option<&[PortForward]>,
    ) -> Result<Vec<(String, Vec<Element>)>, FirewallError> {
        let comment = ruleset::owner_comment(owner);
        let nl_err = |op: &str| {
            let op = op.to_string();
            move |source| FirewallError::Netlink { op, source }
        };
        let mut out: Vec<(String, Vec<Element>)> = Vec::new();
        match forwards {
            Some(list) => {
                for pf in list {
                    let (map, key) = ruleset::map_key(pf);
                    let found = nl
                        .get_element(TABLE, &map, &key)
                        .map_err(nl_err("look up a published port"))?;
                    if let Some(e) = found.filter(|e| e.comment.as_deref() == Some(&comment)) {
                        push(&mut out, map, e);
                    }
                }
            }
            None => {
                for map in PORT_MAPS {
                    let all = nl
                        .list_elements(TABLE, map)
                        .map_err(nl_err("list published ports"))?;
                    for e in all
                        .into_iter()
                        .filter(|e| e.comment.as_deref() == Some(&comment))
                    {
                        push(&mut out, map.to_string(), e);
                    }
                }
            }
        }
        Ok(out)
    }
}

fn push(out: &mut Vec<(String, Vec<Element>)>, map: String, e: Element) {
    match out.iter_mut().find(|(m, _)| *m == map) {
        Some((_, list)) => list.push(e),
        None => out.push((map, vec![e])),
    }
}

impl Firewall for NftFirewall {
    fn ensure_network(
        &self,
        net: &NetworkRules,
        probe: &dyn AttachmentProbe,
    ) -> Result<(), FirewallError> {
        let nl = self.nl("set up network firewall")?;
        {
            let _shared = lock::take(LockMode::Shared);
            if self.is_in_place(&nl, net)? {
                return Ok(());
            }
        }
        let _exclusive = lock::take(LockMode::Exclusive);
        // Someone may have set it up while this process waited.
        if self.is_in_place(&nl, net)? {
            return Ok(());
        }
        let elements = self.network_elements(&nl)?;
        let with_ports = self.networks_with_ports()?;
        let replace = netset::plan_setup(net, &elements, |name, dir| {
            with_ports.iter().any(|n| n == name) || probe.has_attachments(name, dir)
        })?;
        for old in &replace {
            tracing::info!(
                network = net.name,
                old = old.name,
                "replacing stale firewall of a network"
            );
            self.remove_holder(old, &old.rules())?;
        }
        let op = format!("set up firewall of network {}", net.name);
        self.run_nft(&op, &ruleset::network(net))?;
        if let Err(e) = self.run_nft(&op, &ruleset::network_jump(net)) {
            // Without its jump the chain would make the next ADD think all is in place.
            let own = self.network_elements(&nl).map(|all| netset::holders(&all));
            if let Some(h) = own
                .ok()
                .and_then(|hs| hs.into_iter().find(|h| h.name == net.name))
            {
                let _ = self.run_nft("roll back", &h.removal_script());
            }
            return Err(e);
        }
        // Containers still work among themselves without it: warn, do not fail the ADD.
        match host_forward::allow(net) {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, network = net.name, "accept rules added to FORWARD"),
            Err(e) => tracing::warn!("{e}: containers may not reach beyond the host"),
        }
        Ok(())
    }

    fn remove_network(&self, net: &NetworkRules) -> Result<(), FirewallError> {
        let nl = self.nl("remove network firewall")?;
        let _exclusive = lock::take(LockMode::Exclusive);
        let found = netset::holders(&self.network_elements(&nl)?)
            .into_iter()
            .find(|h| h.name == net.name);
        let holder = match found {
            Some(h) => h,
            None if self.chain_exists(&nl, &net.name)? => Holder {
                name: net.name.clone(),
                ipam_dir: None,
                elements: Vec::new(),
            },
            None => {
                if let Err(e) = host_forward::revoke(net) {
                    tracing::warn!("{e}");
                }
                return Ok(());
            }
        };
        // The FORWARD rules as the caller knows the network: its subnets are all there.
        self.remove_holder(&holder, net)
    }

    fn remove_unused_networks(
        &self,
        network: &str,
        ipam_dir: Option<&Path>,
        probe: &dyn AttachmentProbe,
    ) -> Result<Vec<String>, FirewallError> {
        let nl = self.nl("remove unused network firewalls")?;
        let _exclusive = lock::take(LockMode::Exclusive);
        let with_ports = self.networks_with_ports()?;
        let mut removed = Vec::new();
        for h in netset::holders(&self.network_elements(&nl)?) {
            let dir = match (&h.ipam_dir, h.name == network) {
                (Some(d), _) => Some(d.as_path()),
                (None, true) => ipam_dir,
                (None, false) => continue,
            };
            if with_ports.contains(&h.name) || probe.has_attachments(&h.name, dir) {
                continue;
            }
            self.remove_holder(&h, &h.rules())?;
            removed.push(h.name);
        }
        Ok(removed)
    }

    fn publish(&self, owner: &Owner, forwards: &[PortForward]) -> Result<(), FirewallError> {
        if forwards.is_empty() {
            return Ok(());
        }
        let nl = self.nl("publish ports")?;
        if !nl.chain_exists(TABLE, "hostports").unwrap_or(false) {
            self.run_nft("set up berth's nftables table", &ruleset::skeleton())?;
        }
        self.refuse_shadowing(&nl, owner, forwards)?;
        let comment = ruleset::owner_comment(owner);
        let mut per_map: Vec<(String, Vec<Element>)> = Vec::new();
        for pf in forwards {
            let (map, key) = ruleset::map_key(pf);
            let e = Element {
                key,
                data: ruleset::map_data(pf),
                comment: Some(comment.clone()),
            };
            push(&mut per_map, map, e);
        }
        match nl.add_elements(TABLE, &per_map, true) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                Err(self.taken(&nl, owner, forwards))
            }
            Err(source) => Err(FirewallError::Netlink {
                op: format!("publish {} port(s) for {owner}", forwards.len()),
                source,
            }),
        }
    }

    fn unpublish(
        &self,
        owner: &Owner,
        forwards: Option<&[PortForward]>,
    ) -> Result<usize, FirewallError> {
        if forwards.is_some_and(<[_]>::is_empty) {
            return Ok(0);
        }
        let nl = self.nl("unpublish ports")?;
        let owned = self.owned_elements(&nl, owner, forwards)?;
        let count = owned.iter().map(|(_, l)| l.len()).sum();
        match nl.delete_elements(TABLE, &owned) {
            Ok(()) => Ok(count),
            // Another DEL of the same attachment got there first.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(0),
            Err(source) => Err(FirewallError::Netlink {
                op: format!("unpublish ports of {owner}"),
                source,
            }),
        }
    }

    fn published(&self) -> Result<Vec<Published>, FirewallError> {
        let nl = self.nl("list published ports")?;
        let mut out = Vec::new();
        for map in PORT_MAPS {
            let elements =
                nl.list_elements(TABLE, map)
                    .map_err(|source| FirewallError::Netlink {
                        op: format!("list map {map}"),
                        source,
                    })?;
            out.extend(elements.iter().filter_map(|e| decode(map, e)));
        }
        Ok(out)
    }

    fn forget_udp_flows(&self, ports: &[u16]) -> Result<usize, FirewallError> {
        let nl = self.nl("forget stale UDP flows")?;
        conntrack::forget_udp_flows(&nl, ports).map_err(|source| FirewallError::Netlink {
            op: format!("delete the conntrack entries of UDP flows to ports {ports:?}"),
            source,
        })
    }
}

impl NftFirewall {
    fn chain_exists(&self, nl: &Nfnl, network: &str) -> Result<bool, FirewallError> {
        let chain = ruleset::network_chain(network);
        nl.chain_exists(TABLE, &chain)
            .map_err(|source| FirewallError::Netlink {
                op: format!("look up chain {chain}"),
                source,
            })
    }

    /// The network's chain exists and its `nets` elements are exactly its subnets.
    fn is_in_place(&self, nl: &Nfnl, net: &NetworkRules) -> Result<bool, FirewallError> {
        if !self.chain_exists(nl, &net.name)? {
            return Ok(false);
        }
        let mut elements = Vec::new();
        for set in ["nets4", "nets6"] {
            let v6 = set.ends_with('6');
            if net.subnets.iter().any(|s| s.is_ipv6() == v6) {
                elements.extend(self.set_elements(nl, set)?);
            }
        }
        Ok(netset::is_in_place(net, &elements))
    }

    fn set_elements(&self, nl: &Nfnl, set: &str) -> Result<Vec<NetElement>, FirewallError> {
        let intervals = nl
            .list_intervals(TABLE, set)
            .map_err(|source| FirewallError::Netlink {
                op: format!("list set {set}"),
                source,
            })?;
        Ok(intervals
            .iter()
            .filter_map(|iv| NetElement::from_interval(set, iv))
            .collect())
    }

    /// Every network element in the table.
    fn network_elements(&self, nl: &Nfnl) -> Result<Vec<NetElement>, FirewallError> {
        let mut out = Vec::new();
        for set in netset::NETWORK_SETS {
            out.extend(self.set_elements(nl, set)?);
        }
        Ok(out)
    }

    /// The networks that have a published port.
    fn networks_with_ports(&self) -> Result<Vec<String>, FirewallError> {
        let mut names: Vec<String> = self
            .published()?
            .into_iter()
            .filter_map(|p| p.owner.map(|o| o.network))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Removes a network's elements and chain, and the `FORWARD` rules of `forward`.
    fn remove_holder(&self, h: &Holder, forward: &NetworkRules) -> Result<(), FirewallError> {
        if let Err(e) = host_forward::revoke(forward) {
            tracing::warn!("{e}");
        }
        self.run_nft(
            &format!("remove firewall of network {}", h.name),
            &h.removal_script(),
        )
    }

    /// A port published on one address and the same port published on every address by
    /// another attachment would shadow each other: refuse that too.
    fn refuse_shadowing(
        &self,
        nl: &Nfnl,
        owner: &Owner,
        forwards: &[PortForward],
    ) -> Result<(), FirewallError> {
        let mine = ruleset::owner_comment(owner);
        let nl_err = |source| FirewallError::Netlink {
            op: "look up published ports".into(),
            source,
        };
        for pf in forwards {
            let fam = if pf.target.is_ipv4() { 4 } else { 6 };
            let others: Vec<Published> = match pf.host_ip {
                Some(_) => {
                    let wildcard = PortForward {
                        host_ip: None,
                        ..*pf
                    };
                    let (map, key) = ruleset::map_key(&wildcard);
                    let found = nl.get_element(TABLE, &map, &key).map_err(nl_err)?;
                    found.iter().filter_map(|e| decode(&map, e)).collect()
                }
                None => {
                    let map = format!("hostips{fam}");
                    let all = nl.list_elements(TABLE, &map).map_err(nl_err)?;
                    all.iter().filter_map(|e| decode(&map, e)).collect()
                }
            };
            let clash = others.into_iter().find(|p| {
                p.forward.proto == pf.proto
                    && p.forward.host_port == pf.host_port
                    && p.owner.as_ref().map(ruleset::owner_comment) != Some(mine.clone())
            });
            if let Some(p) = clash {
                let holder = p.owner.map(|o| o.to_string());
                return Err(FirewallError::PortTaken {
                    forward: *pf,
                    holder: holder.unwrap_or_else(|| "a rule berth did not make".into()),
                });
            }
        }
        Ok(())
    }

    /// The error for a publish that hit a taken port: names the first port held by someone.
    fn taken(&self, nl: &Nfnl, owner: &Owner, forwards: &[PortForward]) -> FirewallError {
        for pf in forwards {
            let (map, key) = ruleset::map_key(pf);
            if let Ok(Some(e)) = nl.get_element(TABLE, &map, &key) {
                let holder = e
                    .comment
                    .as_deref()
                    .and_then(ruleset::parse_owner)
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "a rule berth did not make".into());
                return FirewallError::PortTaken {
                    forward: *pf,
                    holder,
                };
            }
        }
        FirewallError::PortTaken {
            forward: forwards[0],
            holder: format!("someone else (while publishing for {owner})"),
        }
    }
}

/// A map element back into a [`Published`].
fn decode(map: &str, e: &Element) -> Option<Published> {
    let v6 = map.ends_with('6');
    let ip_len = if v6 { 16 } else { 4 };
    let (host_ip, rest) = if map.starts_with("hostips") {
        (Some(ip_from(e.key.get(..ip_len)?)?), e.key.get(ip_len..)?)
    } else {
        (None, &e.key[..])
    };
    let proto = Protocol::from_number(*rest.first()?)?;
    let host_port = u16::from_be_bytes([*rest.get(4)?, *rest.get(5)?]);
    let ip = ip_from(e.data.get(..ip_len)?)?;
    let port = u16::from_be_bytes([*e.data.get(ip_len)?, *e.data.get(ip_len + 1)?]);
    Some(Published {
        forward: PortForward {
            proto,
            host_ip,
            host_port,
            target: SocketAddr::new(ip, port),
        },
        owner: e.comment.as_deref().and_then(ruleset::parse_owner),
    })
}

fn ip_from(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let arr: [u8; 16] = b.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(arr)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reverses_the_key_layout() {
        for (host_ip, target) in [
            (None, "10.1.0.5:80"),
            (Some("127.0.0.1"), "10.1.0.5:80"),
            (Some("fd00::1"), "[fd00::5]:8080"),
        ] {
            let pf = PortForward {
                proto: Protocol::Udp,
                host_ip: host_ip.map(|h| h.parse().unwrap()),
                host_port: 5353,
                target: target.parse().unwrap(),
            };
            let (map, key) = ruleset::map_key(&pf);
            let e = Element {
                key,
                data: ruleset::map_data(&pf),
                comment: Some("net=n id=c if=eth0".into()),
            };
            let p = decode(&map, &e).unwrap();
            assert_eq!(p.forward, pf);
            assert_eq!(p.owner.unwrap().container_id, "c");
        }
    }
}
