//! The `portmap` plugin: publishes host ports to a container (chained after bridge or veth, with
//! the `portMappings` capability), compatible with the reference plugin's config.
//!
//! Each mapping becomes one element of a map in berth's nftables table, tagged with the
//! network, container id and interface, so DEL removes exactly this attachment's ports even
//! without a `prevResult`, CHECK finds them, and GC removes those of attachments that are gone.
//! A host port another attachment holds is refused, never shadowed.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

use crate::cni::{Attachment, CniError, CniRequest, CniResult, Plugin, ValidAttachment};
use crate::firewall::{Firewall, NftFirewall, Owner, PortForward, Protocol};
use crate::netlink::{LinuxNetlink, Netlink};

/// One entry of `runtimeConfig.portMappings`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// The host port.
    pub host_port: u16,
    /// The container port.
    pub container_port: u16,
    /// `tcp` (default), `udp` or `sctp`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// The host address; empty or absent means every address.
    #[serde(default, rename = "hostIP")]
    pub host_ip: Option<String>,
}

/// The reference portmap's keys berth understands.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PortmapConfig {
    /// Masquerade hairpin and localhost traffic (always done by berth's table).
    #[serde(default)]
    pub snat: Option<bool>,
    /// The reference's masquerade mark bit; berth needs no mark, the value is only validated.
    #[serde(default)]
    pub mark_masq_bit: Option<u32>,
    /// Extra iptables match conditions (not supported).
    #[serde(default)]
    pub conditions_v4: Option<Vec<String>>,
    /// Extra ip6tables match conditions (not supported).
    #[serde(default)]
    pub conditions_v6: Option<Vec<String>>,
    /// An external chain that sets the masquerade mark (not supported).
    #[serde(default)]
    pub external_set_mark_chain: Option<String>,
}

impl PortmapConfig {
    /// Parses and validates the keys.
    pub fn parse(req: &CniRequest) -> Result<Self, CniError> {
        let c: PortmapConfig = req.config.plugin_keys()?;
        let unsupported = |field: &str, value: String| CniError::UnsupportedField {
            field: field.into(),
            value,
            reason: "berth's portmap uses its own nftables maps; remove this key".into(),
        };
        for (field, v) in [
            ("conditionsV4", &c.conditions_v4),
            ("conditionsV6", &c.conditions_v6),
        ] {
            if let Some(list) = v.as_ref().filter(|l| !l.is_empty()) {
                return Err(unsupported(field, format!("{list:?}")));
            }
        }
        if let Some(chain) = &c.external_set_mark_chain {
            return Err(unsupported("externalSetMarkChain", chain.clone()));
        }
        if c.mark_masq_bit.is_some_and(|b| b > 31) {
            return Err(CniError::invalid_config("markMasqBit", "must be 0..=31"));
        }
        Ok(c)
    }
}

/// `runtimeConfig.portMappings`: `None` when absent, `Some(empty)` when the runtime said none.
pub fn port_mappings(req: &CniRequest) -> Result<Option<Vec<PortMapping>>, CniError> {
    let Some(v) = req.config.runtime_config("portMappings") else {
        return Ok(None);
    };
    let maps: Vec<PortMapping> =
        serde_json::from_value(v.clone()).map_err(|source| CniError::Decode {
            what: "runtimeConfig.portMappings",
            source,
        })?;
    for m in &maps {
        if m.host_port == 0 || m.container_port == 0 {
            return Err(CniError::invalid_config(
                "runtimeConfig.portMappings",
                format!("port 0 in {m:?}: ports must be 1..=65535"),
            ));
        }
    }
    Ok(Some(maps))
}

/// The forwards for `maps` to the container addresses of `result`: one per mapping and
/// container address of the mapping's family (a `hostIP` picks the family; without one, both).
pub fn forwards(maps: &[PortMapping], result: &CniResult) -> Result<Vec<PortForward>, CniError> {
    let targets: Vec<IpAddr> = result
        .ips
        .iter()
        .filter(|ip| {
            ip.interface
                .and_then(|i| result.interfaces.get(i))
                .is_none_or(|i| i.sandbox.is_some())
        })
        .map(|ip| ip.address.ip())
        .collect();
    let mut out = Vec::new();
    for m in maps {
        let proto_text = m.protocol.as_deref().unwrap_or("tcp");
        let proto = Protocol::parse(proto_text).ok_or_else(|| {
            CniError::invalid_config(
                "runtimeConfig.portMappings",
                format!("unknown protocol {proto_text:?}: use tcp, udp or sctp"),
            )
        })?;
        let host_ip = match m.host_ip.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<IpAddr>().map_err(|_| {
                CniError::invalid_config(
                    "runtimeConfig.portMappings",
                    format!("hostIP {s:?} is not an IP address"),
                )
            })?),
        };
        for t in &targets {
            if host_ip.is_some_and(|h| h.is_ipv4() != t.is_ipv4()) {
                continue;
            }
            out.push(PortForward {
                proto,
                host_ip: host_ip.filter(|h| !h.is_unspecified()),
                host_port: m.host_port,
                target: SocketAddr::new(*t, m.container_port),
            });
        }
    }
    Ok(out)
}

fn owner(req: &CniRequest, att: &Attachment) -> Owner {
    Owner {
        network: req.config.net.name.clone(),
        container_id: att.container_id.to_string(),
        ifname: att.ifname.to_string(),
    }
}

/// portmap ADD: publish every mapping, then pass `prevResult` on.
pub fn add<F: Firewall, N: Netlink>(
    fw: &F,
    host: &N,
    req: &CniRequest,
    att: &Attachment,
) -> Result<CniResult, CniError> {
    PortmapConfig::parse(req)?;
    let prev = req.config.prev_result()?.ok_or_else(|| {
        CniError::invalid_config(
            "prevResult",
            "portmap is a chained plugin: put it after bridge or veth",
        )
    })?;
    let maps = port_mappings(req)?.unwrap_or_default();
    let fwds = forwards(&maps, &prev)?;
    if !fwds.is_empty() {
        fw.publish(&owner(req, att), &fwds)?;
    }
    if fwds.iter().any(|f| f.target.is_ipv4()) {
        if let Err(e) = allow_localhost_dnat(host, &prev) {
            let _ = fw.unpublish(&owner(req, att), Some(&fwds));
            return Err(e);
        }
    }
    forget_stale_udp_flows(fw, &fwds);
    Ok(prev)
}

/// Once the ports are published, drops the conntrack entries of UDP flows already going to
/// them (see `firewall::conntrack`). As in the reference plugin a failure only warns: the
/// ports work for every new flow either way.
fn forget_stale_udp_flows<F: Firewall>(fw: &F, fwds: &[PortForward]) {
    let mut ports: Vec<u16> = fwds
        .iter()
        .filter(|f| f.proto == Protocol::Udp)
        .map(|f| f.host_port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return;
    }
    match fw.forget_udp_flows(&ports) {
        Ok(n) => tracing::debug!(n, ?ports, "stale UDP conntrack entries deleted"),
        Err(e) => tracing::warn!("published UDP ports {ports:?}, but: {e}"),
    }
}

/// `route_localnet=1` on the host-side interfaces that lead to the container, so a port
/// published on 127.0.0.1 (or reached through it) can be forwarded there.
fn allow_localhost_dnat<N: Netlink>(host: &N, prev: &CniResult) -> Result<(), CniError> {
    for iface in prev.interfaces.iter().filter(|i| i.sandbox.is_none()) {
        let key = format!("net/ipv4/conf/{}/route_localnet", iface.name);
        if host.get_sysctl(&key)? != "1" {
            host.set_sysctl(&key, "1")?;
        }
    }
    Ok(())
}

/// portmap DEL: remove this attachment's ports. With the mappings and `prevResult` at hand only
/// those keys are looked up; otherwise every published port is searched for this owner. A
/// runtime that says there were no mappings gets no firewall work at all.
pub fn del<F: Firewall>(fw: &F, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
    let maps = port_mappings(req)?;
    if maps.as_ref().is_some_and(Vec::is_empty) {
        return Ok(());
    }
    let prev = req.config.prev_result().ok().flatten();
    let listed = match (&maps, &prev) {
        (Some(maps), Some(prev)) => Some(forwards(maps, prev)?),
        _ => None,
    };
    let removed = fw.unpublish(&owner(req, att), listed.as_deref())?;
    tracing::debug!(removed, "ports unpublished");
    Ok(())
}

/// portmap CHECK: every mapping of this attachment is published.
pub fn check<F: Firewall>(fw: &F, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
    let prev = req
        .config
        .prev_result()?
        .ok_or_else(|| CniError::invalid_config("prevResult", "CHECK needs the result of ADD"))?;
    let want = forwards(&port_mappings(req)?.unwrap_or_default(), &prev)?;
    let me = owner(req, att);
    let have = fw.published()?;
    for pf in want {
        let found = have
            .iter()
            .any(|p| p.forward == pf && p.owner.as_ref() == Some(&me));
        if !found {
            return Err(CniError::CheckFailed {
                reason: format!("published port {pf} is missing"),
            });
        }
    }
    Ok(())
}

/// portmap GC: remove the ports of this network's attachments that are not in `valid`.
pub fn gc<F: Firewall>(
    fw: &F,
    req: &CniRequest,
    valid: &[ValidAttachment],
) -> Result<(), CniError> {
    let network = &req.config.net.name;
    let mut stale: Vec<Owner> = Vec::new();
    for p in fw.published()? {
        let Some(o) = p.owner.filter(|o| &o.network == network) else {
            continue;
        };
        let kept = valid
            .iter()
            .any(|v| v.container_id == o.container_id && v.ifname == o.ifname);
        if !kept && !stale.contains(&o) {
            stale.push(o);
        }
    }
    for o in &stale {
        fw.unpublish(o, None)?;
    }
    tracing::info!(attachments = stale.len(), "portmap GC");
    Ok(())
}

/// portmap wired to nftables.
pub struct PortmapPlugin;

impl Plugin for PortmapPlugin {
    fn add(&self, req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        add(&NftFirewall::new(), &LinuxNetlink::new()?, req, att)
    }

    fn del(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        del(&NftFirewall::new(), req, att)
    }

    fn check(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        check(&NftFirewall::new(), req, att)
    }

    fn gc(&self, req: &CniRequest, valid: &[ValidAttachment]) -> Result<(), CniError> {
        gc(&NftFirewall::new(), req, valid)
    }

    fn status(&self, req: &CniRequest) -> Result<(), CniError> {
        PortmapConfig::parse(req).map(drop)
    }
}

#[cfg(test)]
mod tests;
