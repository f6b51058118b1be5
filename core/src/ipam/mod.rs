//! host-local IPAM: hands out addresses from configured ranges and remembers them on disk, in the
//! reference plugin's format and under its file lock, so several plugin processes (and the
//! reference tools) can share one data directory.
//!
//! This module owns the config ([`HostLocalConfig`]), the allocation logic and the store. Reading
//! `CNI_*` env and stdin, printing results and choosing CNI error codes belong to `core::cni` and
//! the `host-local` binary.

mod allocator;
mod config;
mod dns;
mod error;
mod range;
mod reclaim;
mod store;

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use tracing::instrument;

pub use config::{
    DEFAULT_DATA_DIR, HostLocalConfig, IpamConfigJson, RangeConfig, RouteConfig,
    parse_requested_ip, requested_ips,
};
pub use dns::{Dns, parse_resolv_conf, read_resolv_conf};
pub use error::IpamError;
pub use range::{Candidates, Range, RangeSet};
pub use store::Holder;

use allocator::Attachment;
use store::{Store, check_component};

/// What ADD hands back: one address per range set, the configured routes and the DNS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// One address per range set, in range-set order.
    pub ips: Vec<AllocatedIp>,
    /// The configured routes.
    pub routes: Vec<RouteConfig>,
    /// Parsed from `resolvConf`, when set.
    pub dns: Option<Dns>,
}

/// One allocated address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocatedIp {
    /// The address with its subnet's prefix length, e.g. `10.88.0.5/16`.
    pub address: IpNetwork,
    /// The gateway of the range it came from.
    pub gateway: Option<IpAddr>,
}

/// One reservation on disk, as `berth net inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The reserved address.
    pub ip: IpAddr,
    /// The container id that holds it.
    pub id: String,
    /// The interface name; `None` for files written by old reference versions.
    pub ifname: Option<String>,
}

/// ADD: reserves one address per range set for (`id`, `ifname`) on `network`. Requested addresses
/// must lie in a range and be free; an attachment that already holds addresses gets them back.
/// On failure nothing reserved by this call remains.
#[instrument(skip_all, fields(network = %network, container_id = %id, ifname = %ifname))]
pub fn allocate(
    network: &str,
    cfg: &HostLocalConfig,
    id: &str,
    ifname: &str,
    requested: &[IpAddr],
) -> Result<Allocation, IpamError> {
    check_component("container id", id)?;
    check_component("interface name", ifname)?;
    let dns = cfg
        .resolv_conf
        .as_deref()
        .map(read_resolv_conf)
        .transpose()?;
    let store = Store::open(&cfg.data_dir, network)?;
    let att = Attachment {
        network,
        id,
        ifname,
    };
    let ips = allocator::allocate_in(&store, cfg, att, requested)?;
    Ok(Allocation {
        ips,
        routes: cfg.routes.clone(),
        dns,
    })
}

/// DEL: releases every address of (`id`, `ifname`), falling back to id-only matches for old
/// files. Succeeds when nothing is reserved or the data directory does not exist.
#[instrument(skip_all, fields(network = %network, container_id = %id, ifname = %ifname))]
pub fn release(
    network: &str,
    cfg: &HostLocalConfig,
    id: &str,
    ifname: &str,
) -> Result<(), IpamError> {
    check_component("container id", id)?;
    check_component("interface name", ifname)?;
    let Some(store) = Store::open_existing(&cfg.data_dir, network)? else {
        return Ok(());
    };
    reclaim::release_in(&store, id, ifname).map(drop)
}

/// CHECK: the addresses reserved for (`id`, `ifname`); an error when there are none.
#[instrument(skip_all, fields(network = %network, container_id = %id, ifname = %ifname))]
pub fn check(
    network: &str,
    cfg: &HostLocalConfig,
    id: &str,
    ifname: &str,
) -> Result<Vec<IpAddr>, IpamError> {
    check_component("container id", id)?;
    check_component("interface name", ifname)?;
    let not_found = || IpamError::NotFound {
        network: network.to_owned(),
        id: id.to_owned(),
        ifname: ifname.to_owned(),
    };
    let Some(store) = Store::open_existing(&cfg.data_dir, network)? else {
        return Err(not_found());
    };
    let mut ips = allocator::verified_hint(&store, id, ifname)?;
    if ips.is_empty() {
        ips = reclaim::find_by_attachment(&store, id, ifname)?;
    }
    if ips.is_empty() {
        return Err(not_found());
    }
    Ok(ips)
}

/// GC: releases every reservation whose (id, ifname) is not in `valid` (old id-only files are
/// kept when their id is valid); returns the released addresses.
#[instrument(skip_all, fields(network = %network, valid = valid.len()))]
pub fn gc(
    network: &str,
    cfg: &HostLocalConfig,
    valid: &[(String, String)],
) -> Result<Vec<IpAddr>, IpamError> {
    let Some(store) = Store::open_existing(&cfg.data_dir, network)? else {
        return Ok(Vec::new());
    };
    reclaim::gc_in(&store, valid)
}

/// STATUS: fails when the data directory cannot be used or every range set is full.
#[instrument(skip_all, fields(network = %network))]
pub fn status(network: &str, cfg: &HostLocalConfig) -> Result<(), IpamError> {
    let store = Store::open(&cfg.data_dir, network)?;
    let taken = store.scan()?;
    let has_room = cfg.range_sets.iter().any(|set| {
        let used = taken
            .iter()
            .filter(|(ip, h)| h.is_some() && set.range_for(*ip).is_some_and(|r| r.gateway != *ip))
            .count();
        (used as u128) < set.capacity()
    });
    if has_room {
        Ok(())
    } else {
        Err(IpamError::AllRangesExhausted {
            network: network.to_owned(),
        })
    }
}

/// True when `network` holds any reservation under `data_dir` (false when it has no directory
/// there): whether a network still has attachments, for the firewall.
pub fn has_reservations(data_dir: &std::path::Path, network: &str) -> Result<bool, IpamError> {
    let Some(store) = Store::open_existing(data_dir, network)? else {
        return Ok(false);
    };
    Ok(store.scan()?.iter().any(|(_, holder)| holder.is_some()))
}

/// Every reservation of `network`, sorted by address (empty when the data directory is missing).
#[instrument(skip_all, fields(network = %network))]
pub fn reservations(network: &str, cfg: &HostLocalConfig) -> Result<Vec<Reservation>, IpamError> {
    let Some(store) = Store::open_existing(&cfg.data_dir, network)? else {
        return Ok(Vec::new());
    };
    Ok(store
        .scan()?
        .into_iter()
        .filter_map(|(ip, holder)| {
            holder.map(|h| Reservation {
                ip,
                id: h.id,
                ifname: h.ifname,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests;
