//! ADD: one address per range set, round-robin from `last_reserved_ip.<n>` + 1 with
//! wraparound, skipping gateways and taken addresses.
//!
//! Better than the reference: an attachment (container id, ifname) that already holds an address
//! in a set gets that address back, and a failure in a later set releases what earlier sets
//! reserved. The store's lock is held by the caller for the whole call.

use std::net::IpAddr;

use super::AllocatedIp;
use super::config::HostLocalConfig;
use super::error::IpamError;
use super::range::RangeSet;
use super::store::Store;

/// The attachment an allocation is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attachment<'a> {
    pub(crate) network: &'a str,
    pub(crate) id: &'a str,
    pub(crate) ifname: &'a str,
}

/// Allocates one address per range set of `cfg` for `att`, honouring `requested`.
pub(crate) fn allocate_in(
    store: &Store,
    cfg: &HostLocalConfig,
    att: Attachment<'_>,
    requested: &[IpAddr],
) -> Result<Vec<AllocatedIp>, IpamError> {
    let wanted = assign_requested(cfg, requested)?;
    let held = verified_hint(store, att.id, att.ifname)?;
    let mut fresh: Vec<IpAddr> = Vec::new();
    let mut out: Vec<AllocatedIp> = Vec::with_capacity(cfg.range_sets.len());
    for (idx, set) in cfg.range_sets.iter().enumerate() {
        let held_here = held.iter().copied().find(|ip| set.range_for(*ip).is_some());
        match allocate_set(store, att, idx, set, held_here, wanted[idx]) {
            Ok((ip, is_new)) => {
                if is_new {
                    fresh.push(ip);
                }
                out.push(allocated(set, ip));
            }
            Err(e) => return Err(rollback(store, &fresh, e)),
        }
    }
    // Keep addresses held in sets that are no longer configured in the hint, so DEL finds them.
    let mut hinted: Vec<IpAddr> = out.iter().map(|a| a.address.ip()).collect();
    for &ip in &held {
        if !hinted.contains(&ip) {
            hinted.push(ip);
        }
    }
    if let Err(e) = store.write_hint(att.id, att.ifname, &hinted) {
        return Err(rollback(store, &fresh, e));
    }
    Ok(out)
}

fn allocated(set: &RangeSet, ip: IpAddr) -> AllocatedIp {
    // `ip` always comes from the set (a candidate, a checked request or a matched hint).
    match set.range_for(ip) {
        Some(range) => AllocatedIp {
            address: range.address(ip),
            gateway: Some(range.gateway),
        },
        None => AllocatedIp {
            address: ip.into(),
            gateway: None,
        },
    }
}

/// Maps each requested address to its range set; refuses addresses in no range, gateways and two
/// requests for one set.
fn assign_requested(
    cfg: &HostLocalConfig,
    requested: &[IpAddr],
) -> Result<Vec<Option<IpAddr>>, IpamError> {
    let mut wanted: Vec<Option<IpAddr>> = vec![None; cfg.range_sets.len()];
    for &ip in requested {
        let (idx, range) = cfg
            .range_sets
            .iter()
            .enumerate()
            .find_map(|(i, set)| set.range_for(ip).map(|r| (i, r)))
            .ok_or(IpamError::RequestedOutOfRange { ip })?;
        if ip == range.gateway {
            return Err(IpamError::RequestedGateway { ip });
        }
        if let Some(first) = wanted[idx] {
            return Err(IpamError::RequestedTwiceInSet {
                first,
                second: ip,
                set: idx,
            });
        }
        wanted[idx] = Some(ip);
    }
    Ok(wanted)
}

/// The hinted addresses of (`id`, `ifname`) whose reservation files really name them.
pub(crate) fn verified_hint(
    store: &Store,
    id: &str,
    ifname: &str,
) -> Result<Vec<IpAddr>, IpamError> {
    let mut out = Vec::new();
    for ip in store.hint(id, ifname)?.unwrap_or_default() {
        if store.holder(ip)?.is_some_and(|h| h.is(id, ifname)) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// One set: returns the address and whether it was newly reserved by this call.
fn allocate_set(
    store: &Store,
    att: Attachment<'_>,
    idx: usize,
    set: &RangeSet,
    held: Option<IpAddr>,
    wanted: Option<IpAddr>,
) -> Result<(IpAddr, bool), IpamError> {
    if let Some(held) = held {
        return match wanted {
            Some(requested) if requested != held => Err(IpamError::AlreadyHolds {
                id: att.id.to_owned(),
                ifname: att.ifname.to_owned(),
                held,
                requested,
            }),
            _ => Ok((held, false)),
        };
    }
    if let Some(ip) = wanted {
        return reserve_requested(store, att, idx, ip);
    }
    let candidates = set.candidates(store.last_reserved(idx)).map(|(_, ip)| ip);
    if let Some(ip) = store.reserve_first(candidates, att.id, att.ifname)? {
        store.set_last_reserved(idx, ip)?;
        tracing::debug!(%ip, set = idx, "address reserved");
        return Ok((ip, true));
    }
    Err(IpamError::Exhausted {
        network: att.network.to_owned(),
        range: set.to_string(),
    })
}

fn reserve_requested(
    store: &Store,
    att: Attachment<'_>,
    idx: usize,
    ip: IpAddr,
) -> Result<(IpAddr, bool), IpamError> {
    if store.reserve(ip, att.id, att.ifname)? {
        store.set_last_reserved(idx, ip)?;
        tracing::debug!(%ip, set = idx, "requested address reserved");
        return Ok((ip, true));
    }
    match store.holder(ip)? {
        Some(h) if h.is(att.id, att.ifname) => Ok((ip, false)),
        holder => Err(IpamError::RequestedUnavailable {
            ip,
            holder: holder.map_or_else(|| "an unknown holder".to_owned(), |h| h.to_string()),
        }),
    }
}

/// Releases the addresses this call reserved, then hands back `err`.
fn rollback(store: &Store, fresh: &[IpAddr], err: IpamError) -> IpamError {
    for &ip in fresh {
        if let Err(e) = store.remove(ip) {
            tracing::warn!(%ip, error = %e, "could not roll back reservation");
        }
    }
    err
}
