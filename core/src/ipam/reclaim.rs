//! DEL and GC: giving reservations back.
//!
//! DEL uses the attachment's hint when it points at real reservations and otherwise walks every
//! file like the reference (matching id + ifname, then id alone for old files). GC always walks.

use std::net::IpAddr;

use super::allocator::verified_hint;
use super::error::IpamError;
use super::store::{Holder, Store};

/// Removes every reservation of (`id`, `ifname`); returns what was released.
pub(crate) fn release_in(store: &Store, id: &str, ifname: &str) -> Result<Vec<IpAddr>, IpamError> {
    let mut released = verified_hint(store, id, ifname)?;
    if released.is_empty() {
        released = find_by_attachment(store, id, ifname)?;
    }
    for &ip in &released {
        store.remove(ip)?;
        tracing::debug!(%ip, "address released");
    }
    store.remove_hint(id, ifname)?;
    Ok(released)
}

/// The reservations of (`id`, `ifname`) found by walking every file; when none match exactly,
/// the old id-only files of `id`.
pub(crate) fn find_by_attachment(
    store: &Store,
    id: &str,
    ifname: &str,
) -> Result<Vec<IpAddr>, IpamError> {
    let all = store.scan()?;
    let exact: Vec<IpAddr> = all
        .iter()
        .filter(|(_, h)| h.as_ref().is_some_and(|h| h.is(id, ifname)))
        .map(|(ip, _)| *ip)
        .collect();
    if !exact.is_empty() {
        return Ok(exact);
    }
    Ok(all
        .iter()
        .filter(|(_, h)| h.as_ref().is_some_and(|h| h.ifname.is_none() && h.id == id))
        .map(|(ip, _)| *ip)
        .collect())
}

/// Removes every reservation (and hint) whose attachment is not in `valid`, and every empty
/// (crashed) reservation file; returns the released addresses.
pub(crate) fn gc_in(store: &Store, valid: &[(String, String)]) -> Result<Vec<IpAddr>, IpamError> {
    let keep = |holder: &Holder| {
        valid.iter().any(|(id, ifname)| match &holder.ifname {
            Some(own) => holder.id == *id && own == ifname,
            None => holder.id == *id,
        })
    };
    let mut released = Vec::new();
    for (ip, holder) in store.scan()? {
        if holder.as_ref().is_some_and(keep) {
            continue;
        }
        store.remove(ip)?;
        tracing::debug!(%ip, holder = ?holder, "stale reservation collected");
        released.push(ip);
    }
    for (id, ifname) in store.hinted_attachments()? {
        if !valid
            .iter()
            .any(|(v_id, v_if)| *v_id == id && *v_if == ifname)
        {
            store.remove_hint(&id, &ifname)?;
        }
    }
    Ok(released)
}
