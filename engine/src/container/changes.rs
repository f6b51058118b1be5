//! A container's changes to its root filesystem (`berth diff`, `GET /containers/{id}/changes`):
//! the storage driver compares its writable layer with the image below
//! ([`crate::storage::changes`]); the mount points berth itself made (the /etc files, and the
//! `/dev`, `/proc` and `/sys` directories the runtime mounts over) are left out while empty, as
//! Docker keeps them in a separate init layer.

use super::files::made_mount_points;
use super::lifecycle::Engine;
use super::record::ContainerRecord;
use crate::storage::RwLayerId;
use crate::storage::changes::Change;

/// The directories the runtime mounts its filesystems on, made in the root when missing.
const RUNTIME_MOUNT_POINTS: [&str; 3] = ["dev", "proc", "sys"];

/// The paths `rec` added, modified or deleted, parents first.
pub fn changes(eng: &Engine<'_>, rec: &ContainerRecord) -> anyhow::Result<Vec<Change>> {
    let rw = RwLayerId::new(&rec.id)?;
    let mut skip = made_mount_points();
    skip.extend(RUNTIME_MOUNT_POINTS.iter().map(std::path::PathBuf::from));
    Ok(eng.store.layers().driver().changes(&rw, &skip)?)
}
