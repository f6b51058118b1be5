//! The `overlay` plugin: a container on a network that spans hosts. The node agent
//! (`berth node join`, in `berth-overlay`) holds this host's slice of the network's subnet in
//! etcd, keeps the VXLAN device, FDB, neighbour entries and routes to the other hosts'
//! slices in step, and leaves the slice in a lease file ([`lease::HostLease`]). This plugin
//! does what flannel's CNI plugin does with `subnet.env`: it reads that file and hands the
//! attachment to the `bridge` plugin (in-process) with addresses from the slice, the bridge and
//! MTU the agent chose, and no masquerade of its own: the agent keeps the network's firewall
//! (masquerade of traffic leaving the overlay, isolation from every other network) for the
//! whole subnet, whether or not this host runs any of its containers — otherwise a host
//! without one would not know the subnet, and would masquerade another overlay's containers
//! into it.
//!
//! ADD on a host that has not joined the network fails with "try again later" (code 11): the
//! agent may be starting. DEL works without the lease (the bridge's DEL needs no bridge), so a
//! host that left can still remove its containers.

pub mod config;
pub mod lease;
pub mod peer_names;

use serde_json::{Value, json};

use crate::cni::{Attachment, CniError, CniRequest, CniResult, Plugin, PluginConfig};
use crate::plugins::bridge::BridgePlugin;

pub use config::OverlayConfig;
pub use lease::{DEFAULT_STATE_DIR, HostLease};
pub use peer_names::{PeerContainer, PeerNames};

/// The overlay plugin wired to the real kernel (through the bridge plugin) and firewall.
pub struct OverlayPlugin;

fn lease_of(req: &CniRequest, cfg: &OverlayConfig) -> Result<Option<HostLease>, CniError> {
    let name = &req.config.net.name;
    let lease = HostLease::read(&cfg.state_dir, name).map_err(|source| CniError::Io {
        op: format!("read this host's lease of overlay network {name}"),
        source,
    })?;
    if let Some(l) = &lease {
        cfg.check_lease(l)?;
    }
    Ok(lease)
}

/// The same request, for the bridge plugin, with `config` as its stdin.
fn bridge_request(req: &CniRequest, config: &Value) -> Result<CniRequest, CniError> {
    let bytes = serde_json::to_vec(config).map_err(|source| CniError::Decode {
        what: "bridge config",
        source,
    })?;
    Ok(CniRequest {
        command: req.command,
        args: req.args.clone(),
        cni_path: req.cni_path.clone(),
        config: PluginConfig::parse(bytes)?,
    })
}

/// A lease for DEL when the host has none any more: only the parts the bridge's and
/// host-local's DEL read (the container's interface, the data directory) matter.
fn lease_for_del(req: &CniRequest, cfg: &OverlayConfig) -> HostLease {
    let link_local = std::net::Ipv4Addr::new(169, 254, 0, 0);
    let subnet = cfg.subnet.unwrap_or_else(|| {
        ipnetwork::Ipv4Network::new(link_local, 16).unwrap_or_else(|_| link_local.into())
    });
    HostLease {
        network: req.config.net.name.clone(),
        subnet,
        slice: subnet,
        vni: 1,
        // Any valid name: DEL never touches the bridge.
        bridge: "bov-gone".into(),
        mtu: 1500,
    }
}

impl Plugin for OverlayPlugin {
    fn add(&self, req: &CniRequest, att: &Attachment) -> Result<CniResult, CniError> {
        let cfg = OverlayConfig::parse(&req.config)?;
        let lease = lease_of(req, &cfg)?.ok_or_else(|| CniError::TryAgain {
            reason: format!(
                "this host has not joined overlay network {} (no lease in {}): run `berth node join`",
                req.config.net.name,
                cfg.state_dir.display()
            ),
        })?;
        let breq = bridge_request(req, &config::bridge_config(&req.config.raw, &lease))?;
        BridgePlugin.add(&breq, att)
    }

    fn del(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let cfg = OverlayConfig::parse(&req.config)?;
        // A lease that does not read (or belongs elsewhere) must not keep a DEL from
        // cleaning up.
        let lease = match lease_of(req, &cfg) {
            Ok(Some(l)) => l,
            Ok(None) => lease_for_del(req, &cfg),
            Err(e) => {
                tracing::warn!(error = %e, "overlay DEL without this host's lease");
                lease_for_del(req, &cfg)
            }
        };
        let breq = bridge_request(req, &config::bridge_config(&req.config.raw, &lease))?;
        BridgePlugin.del(&breq, att)
    }

    fn check(&self, req: &CniRequest, att: &Attachment) -> Result<(), CniError> {
        let cfg = OverlayConfig::parse(&req.config)?;
        let lease = lease_of(req, &cfg)?.ok_or_else(|| CniError::CheckFailed {
            reason: format!(
                "this host has no lease of overlay network {}",
                req.config.net.name
            ),
        })?;
        let breq = bridge_request(req, &config::bridge_config(&req.config.raw, &lease))?;
        BridgePlugin.check(&breq, att)
    }

    fn gc(&self, req: &CniRequest, valid: &[crate::cni::ValidAttachment]) -> Result<(), CniError> {
        let cfg = OverlayConfig::parse(&req.config)?;
        let lease = lease_of(req, &cfg)?.unwrap_or_else(|| lease_for_del(req, &cfg));
        let breq = bridge_request(req, &config::bridge_config(&req.config.raw, &lease))?;
        BridgePlugin.gc(&breq, valid)
    }

    fn status(&self, req: &CniRequest) -> Result<(), CniError> {
        let cfg = OverlayConfig::parse(&req.config)?;
        match lease_of(req, &cfg)? {
            Some(_) => Ok(()),
            None => Err(CniError::Unavailable {
                reason: format!(
                    "this host has not joined overlay network {}",
                    req.config.net.name
                ),
            }),
        }
    }
}

/// An `overlay` plugin config for `network` (what berth's engine writes into its conflists).
pub fn plugin_config(
    state_dir: &std::path::Path,
    subnet: ipnetwork::Ipv4Network,
    ipam_dir: &std::path::Path,
    internal: bool,
) -> Value {
    json!({
        "type": "overlay",
        "stateDir": state_dir,
        "subnet": subnet.to_string(),
        "internal": internal,
        "capabilities": {"ips": true, "mac": true},
        "ipam": {"type": "host-local", "dataDir": ipam_dir},
    })
}
