//! A container's networking: its named netns `<run-root>/netns/<id>` and one CNI attachment
//! per network (`eth0`, `eth1`, …), the port mappings going to the first network with a
//! `portmap` plugin. [`connect`] undoes what it did when a later step fails; [`disconnect`]
//! keeps going after failures (DEL is safe to repeat, works without a cache or a netns) and
//! reports the first error.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use berth_core::cni::RawExec;
use berth_core::invoke::{Invoker, RuntimeConf};
use berth_core::names::{ContainerId, IfName};
use berth_core::netns::Netns;
use serde_json::json;

use super::record::Attachment;
use crate::network::{Network, NetworkError, NetworkStore};

/// What the network setup needs.
pub struct NetCtx<'a> {
    /// Network definitions.
    pub networks: &'a NetworkStore,
    /// The CNI invoker.
    pub invoker: &'a Invoker<RawExec>,
    /// `<run-root>/netns`.
    pub netns_dir: &'a Path,
}

/// Whether the container shares the host's netns.
pub fn is_host(networks: &[String]) -> bool {
    networks.iter().any(|n| n == "host")
}

/// Loads every network, refusing unknown ones, `host` mixed with others, and `-p` without a
/// portmap network, before anything is made.
pub fn validate(
    store: &NetworkStore,
    networks: &[String],
    ports: &[String],
) -> anyhow::Result<Vec<Network>> {
    if is_host(networks) && networks.len() > 1 {
        anyhow::bail!("--network host cannot be combined with other networks");
    }
    for p in ports {
        crate::network::attach::parse_port(p)?;
    }
    let nets: Vec<Network> = networks
        .iter()
        .map(|n| store.get(n))
        .collect::<Result<_, NetworkError>>()?;
    if !ports.is_empty()
        && !is_host(networks)
        && !nets
            .iter()
            .any(|n| n.list.plugin_types().contains(&"portmap"))
    {
        anyhow::bail!(
            "none of the container's networks has a portmap plugin, so -p cannot publish ports"
        );
    }
    Ok(nets)
}

/// Creates the netns and attaches it to every network, `ips[i]` being the static address on
/// `networks[i]` (if any). Returns the netns path and the attachments; on failure nothing is
/// left behind.
pub fn connect(
    nc: &NetCtx<'_>,
    id: &str,
    networks: &[String],
    ports: &[String],
    ips: &[Option<IpAddr>],
) -> anyhow::Result<(PathBuf, Vec<(String, Attachment)>)> {
    let nets = validate(nc.networks, networks, ports)?;
    crate::network::netns::create_with_loopback(nc.netns_dir, id)
        .context("create the container's netns")?;
    let path = nc.netns_dir.join(id);
    let mut done: Vec<(String, Attachment)> = Vec::new();
    let mut ports_left = ports;
    for (i, net) in nets.iter().enumerate() {
        let with_ports = if net.list.plugin_types().contains(&"portmap") {
            std::mem::take(&mut ports_left)
        } else {
            &[]
        };
        let ip = ips.get(i).copied().flatten();
        match add_one(nc, id, net, &format!("eth{i}"), &path, with_ports, ip) {
            Ok(a) => done.push((net.list.name.clone(), a)),
            Err(e) => {
                disconnect(nc, id, &done);
                return Err(e);
            }
        }
    }
    Ok((path, done))
}

/// ADD of the netns `netns` to one network as `ifname`, with the port mappings and the static
/// address; returns the attachment as the record keeps it. A failed ADD leaves nothing.
pub fn add_one(
    nc: &NetCtx<'_>,
    id: &str,
    net: &Network,
    ifname: &str,
    netns: &Path,
    ports: &[String],
    ip: Option<IpAddr>,
) -> anyhow::Result<Attachment> {
    let rt = runtime_conf(id, ifname, netns, ports, ip)?;
    let result = nc
        .invoker
        .add(&net.list, &rt)
        .with_context(|| format!("attach to network {}", net.list.name))?;
    Ok(Attachment {
        if_name: ifname.to_owned(),
        ip_addresses: result.ips.iter().map(|ip| ip.address.to_string()).collect(),
        result: result.to_json(net.list.version),
    })
}

fn runtime_conf(
    id: &str,
    ifname: &str,
    netns: &Path,
    ports: &[String],
    ip: Option<IpAddr>,
) -> anyhow::Result<RuntimeConf> {
    let mut rt = RuntimeConf::new(
        ContainerId::new(id)?,
        IfName::new(ifname)?,
        Some(netns.to_owned()),
    );
    rt.cni_args.push(("IgnoreUnknown".into(), "1".into()));
    if let Some(ip) = ip {
        rt.capability_args
            .insert("ips".into(), json!([ip.to_string()]));
    }
    let maps = ports
        .iter()
        .map(|p| crate::network::attach::parse_port(p))
        .collect::<Result<Vec<_>, _>>()?;
    if !maps.is_empty() {
        rt.capability_args
            .insert("portMappings".into(), json!(maps));
    }
    Ok(rt)
}

/// DEL for every attachment (reverse order), then removes the netns. Failures are logged and
/// the first one is returned after everything was tried.
pub fn disconnect(
    nc: &NetCtx<'_>,
    id: &str,
    attachments: &[(String, Attachment)],
) -> Option<anyhow::Error> {
    let mut first: Option<anyhow::Error> = None;
    let netns = nc.netns_dir.join(id);
    for (net, a) in attachments.iter().rev() {
        if let Err(e) = del_one(nc, id, net, &a.if_name, &netns) {
            tracing::warn!(network = %net, error = %format!("{e:#}"), "network teardown failed");
            first.get_or_insert(e);
        }
    }
    if let Err(e) = Netns::remove_named(nc.netns_dir, id) {
        tracing::warn!(error = %e, "netns removal failed");
        first.get_or_insert(e.into());
    }
    first
}

/// DEL of one attachment (by the network's config, or by the cached result when the network
/// was removed since). Safe to repeat; works without a netns.
pub fn del_one(
    nc: &NetCtx<'_>,
    id: &str,
    net: &str,
    ifname: &str,
    netns: &Path,
) -> anyhow::Result<()> {
    let cid = ContainerId::new(id)?;
    let ifname = IfName::new(ifname)?;
    let netns = netns.exists().then(|| netns.to_owned());
    match nc.networks.get(net) {
        Ok(n) => Ok(nc
            .invoker
            .del(&n.list, &RuntimeConf::new(cid, ifname, netns))?),
        Err(NetworkError::NotFound { .. }) => match nc.invoker.cached(net, &cid, &ifname)? {
            Some(c) => Ok(nc.invoker.del_cached(&c)?),
            None => Ok(()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Every cached attachment of the container `id` is deleted (after a reboot or a lost shim),
/// then the netns is removed.
pub fn collect_leftovers(nc: &NetCtx<'_>, id: &str) -> Option<anyhow::Error> {
    let mut first: Option<anyhow::Error> = None;
    match nc.invoker.cached_attachments(None) {
        Ok(all) => {
            for c in all.iter().filter(|c| c.container_id == id) {
                if let Err(e) = nc.invoker.del_cached(c) {
                    first.get_or_insert(e.into());
                }
            }
        }
        Err(e) => {
            first.get_or_insert(e.into());
        }
    }
    if let Err(e) = Netns::remove_named(nc.netns_dir, id) {
        first.get_or_insert(e.into());
    }
    first
}
