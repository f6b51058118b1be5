//! Finding a container by reference (name, id or id prefix) with its record brought up to
//! date: a record that says running while its shim is gone reads as exited.

use crate::container::ContainerError;
use crate::container::lifecycle::{Engine, reconcile};
use crate::container::record::{ContainerRecord, Status};

/// Resolves a reference and brings the record up to date (a dead shim means exited).
pub fn resolve(eng: &Engine<'_>, reference: &str) -> anyhow::Result<ContainerRecord> {
    let rec = eng.containers.resolve(reference)?;
    Ok(reconcile(eng, rec))
}

/// Resolves a reference to a running container; `op` names what refuses any other state.
pub fn resolve_running(
    eng: &Engine<'_>,
    reference: &str,
    op: &'static str,
) -> anyhow::Result<ContainerRecord> {
    let rec = resolve(eng, reference)?;
    if rec.state.status != Status::Running {
        return Err(ContainerError::BadState {
            op,
            id: rec.short_id().to_owned(),
            status: rec.state.status.to_string(),
        }
        .into());
    }
    Ok(rec)
}
