//! Renaming a container (`berth rename`, `POST /containers/{id}/rename`): the new name must be
//! valid and free (checked and written under the store lock); the event log gets `rename`
//! with the old name (with its leading `/`, as dockerd writes it) in `oldName`; the
//! container's own `/etc/hosts` lines and the DNS records take the new name at once.

use super::events;
use super::lifecycle::Engine;
use super::record::ContainerRecord;

/// Gives `rec` the name `new`; returns the updated record. A taken name is
/// [`super::ContainerError::NameTaken`], a malformed one [`super::ContainerError::BadName`].
pub fn rename(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    new: &str,
) -> anyhow::Result<ContainerRecord> {
    eng.containers.rename(&rec.id, new)?;
    let updated = eng.containers.load(&rec.id)?;
    let dir = eng.containers.dir(&rec.id);
    super::files::rename_in_hosts(&dir, updated.hostname(), &rec.name, new)?;
    let old = format!("/{}", rec.name);
    events::emit(eng, &updated, "rename", &[("oldName", &old)]);
    super::lifecycle::sync_dns(
        eng,
        false,
        updated.network_settings.networks.keys().map(String::as_str),
    );
    Ok(updated)
}
