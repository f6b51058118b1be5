//! `rmi` in both front ends: untagging and deleting images as dockerd does, and the blobs
//! only they used. By tag, the tag goes, and the image with its last tag; by id, every tag goes
//! with the image. Whether a container uses an image is the caller's knowledge, passed in as
//! a lookup ([`ImageUser`]); an image a container uses is never deleted, only untagged.

use std::collections::HashSet;

use serde::Serialize;

use super::index::IndexState;
use super::{ImageError, ImageRecord, ImageRef, ImageStore};
use crate::digest::Digest;

/// What one removal did, in the order `docker rmi` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RemoveEvent {
    /// A tag was removed.
    Untagged(String),
    /// An image (and blobs no other image uses) was deleted.
    Deleted(Digest),
}

/// A container that uses an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUser {
    /// The container's id.
    pub container: String,
    /// Whether it runs.
    pub running: bool,
}

/// Which container (running ones first) uses an image, if any.
pub type UserLookup<'a> = &'a dyn Fn(&Digest) -> Option<ImageUser>;

/// What a removal did and how many bytes of blobs it freed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// Untagged and deleted, in order.
    pub events: Vec<RemoveEvent>,
    /// Bytes of blobs removed from disk.
    pub freed: u64,
}

/// Whether `name` is the image id `id` or a prefix of it (with or without `sha256:`), as
/// dockerd tells an id from a reference.
pub fn is_id_prefix(id: &Digest, name: &str) -> bool {
    !name.is_empty() && (id.as_str().starts_with(name) || id.hex().starts_with(name))
}

impl ImageStore {
    /// `rmi [--force] NAME`, as dockerd: see [`Self::remove_with`]. Emits `untag` and
    /// `delete` events.
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        user: UserLookup<'_>,
    ) -> Result<Vec<RemoveEvent>, ImageError> {
        Ok(self.remove_with(name, force, user)?.events)
    }

    /// By tag: refused (unless `force`) when it is the image's only tag and a container uses
    /// the image; the tag goes, and the image with it when it was the last one and no
    /// container uses it. By id: refused while a container runs it (even with `force`), while
    /// other tags name it or a stopped container uses it (unless `force`); then every tag goes,
    /// and the image unless a container uses it.
    pub fn remove_with(
        &self,
        name: &str,
        force: bool,
        user: UserLookup<'_>,
    ) -> Result<Removal, ImageError> {
        let (id, events, deleted) = self.index.update(|s| {
            let id = s.resolve(name)?;
            let user = user(&id);
            // A name that is a tag is one, even when the id happens to start with it.
            let is_tag =
                ImageRef::parse(name).is_ok_and(|r| s.tags.get(&r.to_string()) == Some(&id));
            let events = match is_tag || !is_id_prefix(&id, name) {
                true => untag_by_ref(s, &id, name, force, user.as_ref())?,
                false => untag_by_id(s, &id, force, user.as_ref())?,
            };
            let mut events = events;
            let mut deleted = None;
            if user.is_none() && s.tags_of(&id).is_empty() {
                deleted = s.images.remove(&id);
                events.push(RemoveEvent::Deleted(id.clone()));
            }
            Ok((id, events, deleted))
        })?;
        for e in &events {
            match e {
                RemoveEvent::Untagged(_) => self.emit("untag", &id, None),
                RemoveEvent::Deleted(_) => {
                    let attrs = [("name".to_owned(), id.to_string())].into();
                    self.events()
                        .record(crate::events::Kind::Image, "delete", id.as_str(), attrs);
                }
            }
        }
        let freed = match deleted {
            Some(rec) => self.remove_unreferenced_blobs(&[rec])?,
            None => 0,
        };
        Ok(Removal { events, freed })
    }

    /// Deletes the blobs of `gone` images that no remaining image references; returns bytes freed.
    pub(super) fn remove_unreferenced_blobs(
        &self,
        gone: &[ImageRecord],
    ) -> Result<u64, ImageError> {
        let state = self.index.read()?;
        let live = referenced_blobs(&state);
        let mut freed = 0;
        for rec in gone {
            let blobs = [rec.id.clone(), rec.manifest.clone()]
                .into_iter()
                .chain(rec.layers.iter().cloned());
            for d in blobs {
                if !live.contains(&d) && self.blobs.contains(&d) {
                    freed += self.blobs.size(&d)?;
                    self.blobs.remove(&d)?;
                }
            }
        }
        Ok(freed)
    }
}

impl ImageStore {
    /// Deletes those of `blobs` that no image references (what a failed pull stored).
    pub fn remove_blobs_unless_referenced(&self, blobs: &[Digest]) -> Result<(), ImageError> {
        let live = referenced_blobs(&self.index.read()?);
        for d in blobs.iter().filter(|d| !live.contains(*d)) {
            self.blobs.remove(d)?;
        }
        Ok(())
    }
}

/// Removes the tag `name` of `id`; see [`ImageStore::remove_with`].
fn untag_by_ref(
    s: &mut IndexState,
    id: &Digest,
    name: &str,
    force: bool,
    user: Option<&ImageUser>,
) -> Result<Vec<RemoveEvent>, ImageError> {
    let tag = ImageRef::parse(name)?.to_string();
    if let Some(u) = user.filter(|_| !force && s.tags_of(id).len() == 1) {
        return Err(ImageError::InUse {
            image: id.clone(),
            reference: Some(name.to_owned()),
            container: u.container.clone(),
            running: u.running,
        });
    }
    s.tags.remove(&tag);
    Ok(vec![RemoveEvent::Untagged(tag)])
}

/// Removes every tag of `id`, given by id; see [`ImageStore::remove_with`].
fn untag_by_id(
    s: &mut IndexState,
    id: &Digest,
    force: bool,
    user: Option<&ImageUser>,
) -> Result<Vec<RemoveEvent>, ImageError> {
    let in_use = |u: &ImageUser| ImageError::InUse {
        image: id.clone(),
        reference: None,
        container: u.container.clone(),
        running: u.running,
    };
    if let Some(u) = user.filter(|u| u.running) {
        return Err(in_use(u));
    }
    let tags: Vec<String> = s.tags_of(id).iter().map(ToString::to_string).collect();
    if !force && tags.len() > 1 {
        return Err(ImageError::MultipleTags { id: id.clone() });
    }
    if let Some(u) = user.filter(|_| !force) {
        return Err(in_use(u));
    }
    for t in &tags {
        s.tags.remove(t);
    }
    Ok(tags.into_iter().map(RemoveEvent::Untagged).collect())
}

pub(super) fn referenced_blobs(state: &IndexState) -> HashSet<Digest> {
    let mut live = HashSet::new();
    for rec in state.images.values() {
        live.insert(rec.id.clone());
        live.insert(rec.manifest.clone());
        live.extend(rec.layers.iter().cloned());
    }
    live
}
