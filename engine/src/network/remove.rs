//! Removing networks: refused while attachments exist (unless `force` detaches them first),
//! then the conflist, the IPAM leftovers, the firewall chain and the bridge device go. Shared
//! by `berth net rm`/`prune` and berthd's `DELETE /networks/{id}` and `POST /networks/prune`.

use anyhow::Context;
use berth_core::cni::RawExec;
use berth_core::firewall::{Firewall, NetworkRules, NftFirewall};
use berth_core::invoke::Invoker;
use berth_core::netlink::{LinuxNetlink, Netlink};

use super::{Network, NetworkError, NetworkStore};

/// Refuses an overlay network this host is joined to (the node agent's lease file for it is
/// there): removing only its local definition would not last, as the agent defines it again.
/// `berth net rm` (without `--cluster`), `prune` and berthd's `DELETE /networks/{id}` check it;
/// leaving (`node leave`, or the network gone from the store) removes the definition itself.
pub fn check_not_joined(net: &Network) -> Result<(), NetworkError> {
    let lease = net
        .spec
        .as_ref()
        .and_then(|s| s.overlay_dir())
        .map(|dir| dir.join(format!("{}.json", net.name())));
    match lease {
        Some(l) if l.exists() => Err(NetworkError::JoinedOverlay {
            name: net.name().to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Removes one network: detaches its attachments when `force` (else refuses while there are
/// any), deletes the conflist and IPAM leftovers, then the firewall rules and the bridge.
pub fn remove(
    store: &NetworkStore,
    inv: &Invoker<RawExec>,
    name: &str,
    force: bool,
) -> anyhow::Result<()> {
    let net = store.get(name)?;
    if net.builtin {
        return Err(NetworkError::Builtin {
            name: name.into(),
            action: "removed",
        }
        .into());
    }
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
    store.emit(&net, "destroy", None);
    remove_firewall(&net);
    remove_bridge(&net);
    Ok(())
}

/// Removes every user network without attachments; returns the names removed. A network
/// attached meanwhile is skipped, and so is an overlay network this host is joined to
/// ([`check_not_joined`]).
pub fn prune(
    store: &NetworkStore,
    inv: &Invoker<RawExec>,
    keep: impl Fn(&Network) -> bool,
) -> anyhow::Result<Vec<String>> {
    let mut removed = Vec::new();
    for net in store.list()? {
        if net.builtin
            || keep(&net)
            || check_not_joined(&net).is_err()
            || !inv.cached_attachments(Some(net.name()))?.is_empty()
        {
            continue;
        }
        match remove(store, inv, net.name(), false) {
            Ok(()) => removed.push(net.name().to_owned()),
            Err(e) => tracing::info!(network = net.name(), error = %e, "not pruned"),
        }
    }
    Ok(removed)
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
        untracked: false,
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
