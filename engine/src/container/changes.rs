//! A container's changes to its root filesystem (`berth diff`, `GET /containers/{id}/changes`):
//! the storage driver compares its writable layer with the image below
//! ([`crate::storage::changes`]); the mount points berth itself made are left out, as Docker
//! keeps them in a separate init layer.

use super::files::made_mount_points;
use super::lifecycle::Engine;
use super::record::ContainerRecord;
use crate::storage::RwLayerId;
use crate::storage::changes::Change;

/// The paths `rec` added, modified or deleted, parents first.
pub fn changes(eng: &Engine<'_>, rec: &ContainerRecord) -> anyhow::Result<Vec<Change>> {
    let rw = RwLayerId::new(&rec.id)?;
    Ok(eng
        .store
        .layers()
        .driver()
        .changes(&rw, &made_mount_points())?)
}
