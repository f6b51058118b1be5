//! Removing stopped containers in bulk (`berth container prune`, `POST /containers/prune`):
//! every created or exited container the caller's filter picks is removed with its writable
//! layer; the report lists them and the bytes their layers held, and the event log gets one
//! `prune` event with the bytes reclaimed, as dockerd logs it.

use std::collections::BTreeMap;

use super::lifecycle::{self, Engine};
use super::record::{ContainerRecord, Status};
use crate::events::Kind;
use crate::storage::RwLayerId;

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// The ids of the removed containers.
    pub deleted: Vec<String>,
    /// Bytes their writable layers held.
    pub space_reclaimed: u64,
}

/// Removes every stopped (created or exited) container for which `pick` says yes. A container
/// that cannot be removed is logged and left; the others still go.
pub fn prune(
    eng: &Engine<'_>,
    pick: impl Fn(&ContainerRecord) -> bool,
) -> anyhow::Result<PruneReport> {
    let mut report = PruneReport::default();
    for rec in eng.containers.list()? {
        let rec = lifecycle::reconcile(eng, rec);
        if !matches!(rec.state.status, Status::Created | Status::Exited) || !pick(&rec) {
            continue;
        }
        let size = RwLayerId::new(&rec.id)
            .ok()
            .and_then(|rw| eng.store.layers().driver().rw_size(&rw).ok())
            .unwrap_or(0);
        match lifecycle::remove(eng, &rec, false) {
            Ok(()) => {
                report.space_reclaimed += size;
                report.deleted.push(rec.id);
            }
            Err(e) => tracing::warn!(id = %rec.id, error = %format!("{e:#}"), "not pruned"),
        }
    }
    let mut attrs = BTreeMap::new();
    attrs.insert("reclaimed".to_owned(), report.space_reclaimed.to_string());
    eng.containers
        .events()
        .record(Kind::Container, "prune", "", attrs);
    Ok(report)
}
