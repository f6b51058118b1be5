//! `berth net rm`: refused while attachments exist, unless `--force` detaches them first.

use anyhow::Context;
use berth_core::firewall::{Firewall, NetworkRules, NftFirewall};
use berth_core::netlink::{LinuxNetlink, Netlink};

use crate::cli::Ctx;
use crate::network::{Network, NetworkError};

/// `berth net rm` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The networks
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Detach every attachment first
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// Removes each network, stopping at the first failure.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    for name in &args.names {
        remove(ctx, name, args.force).with_context(|| format!("remove network {name}"))?;
        ctx.print(name)?;
    }
    Ok(())
}

/// Removes one network: detaches its attachments when `force` (else refuses while there are
/// any), deletes the conflist and IPAM leftovers, then the bridge device.
pub fn remove(ctx: &Ctx, name: &str, force: bool) -> anyhow::Result<()> {
    let store = ctx.networks();
    let net = store.get(name)?;
    if net.builtin {
        return Err(NetworkError::Builtin {
            name: name.into(),
            action: "removed",
        }
        .into());
    }
    let inv = ctx.invoker();
    if force {
        for att in inv.cached_attachments(Some(name))? {
            inv.del_cached(&att)
                .with_context(|| format!("detach {} ({})", att.container_id, att.if_name))?;
        }
    }
    let _lock = inv.lock_network_exclusive(name)?;
    let count = inv.cached_attachments(Some(name))?.len();
    if count > 0 {
        return Err(NetworkError::InUse {
            name: name.into(),
            count,
        }
        .into());
    }
    store.remove(name)?;
    remove_firewall(&net);
    remove_bridge(&net);
    Ok(())
}

/// Removes the network's chain and set elements from berth's nftables table, if it has any.
/// A failure is only logged: the network is already removed.
fn remove_firewall(net: &Network) {
    let Some(spec) = net.spec.as_ref() else {
        return;
    };
    let rules = NetworkRules {
        name: spec.name.clone(),
        subnets: spec.subnets.iter().map(|s| s.subnet).collect(),
        masquerade: !spec.internal,
        internal: spec.internal,
        // Removal goes by the network's name; no data directory needed.
        ipam_dir: None,
    };
    if let Err(e) = NftFirewall::new().remove_network(&rules) {
        tracing::warn!(network = %spec.name, error = %e, "leaving firewall rules behind");
    }
}

/// Deletes the network's bridge device from the current netns, if it has one (its ports are
/// gone with the attachments). A failure is only logged: the network is already removed.
fn remove_bridge(net: &Network) {
    let Some(bridge) = net.spec.as_ref().and_then(|s| s.bridge.clone()) else {
        return;
    };
    match LinuxNetlink::new().and_then(|nl| nl.delete_link(&bridge)) {
        Ok(_) => {}
        Err(e) => tracing::warn!(%bridge, error = %e, "leaving bridge behind"),
    }
}
