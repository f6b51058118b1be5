//! A container's changes become a new image (`berth commit`, `POST /commit`): its writable
//! layer (less the mount points berth made) is one more layer over its image, the config is the
//! image's with [`ImageOptions::config`] applied, and a running container is frozen meanwhile
//! when asked (dockerd's default), so the layer is consistent. The event log gets `commit`
//! with the comment, the new image id and its name, as dockerd logs it.

use super::lifecycle::Engine;
use super::record::{ContainerRecord, Status};
use super::{events, files};
use crate::digest::Digest;
use crate::image::ImageOptions;
use crate::storage::RwLayerId;

/// Commits `rec` as a new image described by `opts`; with `pause`, a running container is
/// frozen while its layer is read. Returns the new image's id.
pub fn commit(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    opts: &ImageOptions,
    pause: bool,
) -> anyhow::Result<Digest> {
    let image = Digest::parse(&rec.image)?;
    let rw = RwLayerId::new(&rec.id)?;
    let freeze = pause && rec.state.status == Status::Running;
    let rt = eng.runtime();
    if freeze {
        rt.pause(&rec.id)?;
    }
    let made = eng
        .store
        .commit(&rw, &image, opts, &files::made_mount_points());
    if freeze {
        if let Err(e) = rt.resume(&rec.id) {
            tracing::warn!(id = %rec.id, error = %e, "thaw after commit");
        }
    }
    let id = made?;
    let reference = opts
        .reference
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let comment = opts.comment.clone().unwrap_or_default();
    let id_text = id.to_string();
    events::emit(
        eng,
        rec,
        "commit",
        &[
            ("comment", &comment),
            ("imageID", &id_text),
            ("imageRef", &reference),
        ],
    );
    Ok(id)
}
