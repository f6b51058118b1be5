//! `berth rmi` and `berth image prune`: untagging, deleting images and the blobs only they
//! used. Whether a container uses an image is the caller's knowledge, passed in as a predicate.

use std::collections::HashSet;

use serde::Serialize;

use super::index::IndexState;
use super::{ImageError, ImageRef, ImageStore};
use crate::digest::Digest;

/// What one removal did, in the order `docker rmi` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RemoveEvent {
    /// A tag was removed.
    Untagged(String),
    /// An image (and blobs no other image uses) was deleted.
    Deleted(Digest),
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Ids of the images deleted.
    pub deleted: Vec<Digest>,
    /// Bytes of blobs removed from disk.
    pub reclaimed: u64,
}

impl ImageStore {
    /// `berth rmi [--force] NAME`. By tag: removes the tag, and the image once no tag is left.
    /// By id: removes the image and all its tags (several tags need `force`). An image for
    /// which `in_use` is true is refused without `force`; with `force` only its tags go.
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        in_use: &dyn Fn(&Digest) -> bool,
    ) -> Result<Vec<RemoveEvent>, ImageError> {
        let by_tag = ImageRef::parse(name).ok().map(|r| r.to_string());
        let (events, deleted) = self.index.update(|s| {
            let id = s.resolve(name)?;
            let tag = by_tag.filter(|t| s.tags.get(t) == Some(&id));
            let used = in_use(&id);
            if used && !force {
                return Err(ImageError::InUse { id });
            }
            let tags: Vec<String> = match &tag {
                Some(t) => vec![t.clone()],
                None => s.tags_of(&id).iter().map(ToString::to_string).collect(),
            };
            if tag.is_none() && tags.len() > 1 && !force {
                return Err(ImageError::MultipleTags { id });
            }
            let mut events: Vec<RemoveEvent> = Vec::new();
            for t in tags {
                s.tags.remove(&t);
                events.push(RemoveEvent::Untagged(t));
            }
            let mut deleted = None;
            if !used && s.tags_of(&id).is_empty() {
                deleted = s.images.remove(&id);
                events.push(RemoveEvent::Deleted(id));
            }
            Ok((events, deleted))
        })?;
        if let Some(rec) = deleted {
            self.remove_unreferenced_blobs(&[rec])?;
        }
        Ok(events)
    }

    /// `berth image prune [--all]`: deletes dangling (untagged) images, or with `all` every
    /// image, that no container uses.
    pub fn prune(
        &self,
        all: bool,
        in_use: &dyn Fn(&Digest) -> bool,
    ) -> Result<PruneReport, ImageError> {
        let removed = self.index.update(|s| {
            let victims: Vec<Digest> = s
                .images
                .keys()
                .filter(|id| (all || s.tags_of(id).is_empty()) && !in_use(id))
                .cloned()
                .collect();
            s.tags.retain(|_, id| !victims.contains(id));
            Ok(victims
                .iter()
                .filter_map(|id| s.images.remove(id))
                .collect::<Vec<_>>())
        })?;
        let reclaimed = self.remove_unreferenced_blobs(&removed)?;
        Ok(PruneReport {
            deleted: removed.into_iter().map(|r| r.id).collect(),
            reclaimed,
        })
    }

    /// Deletes the blobs of `gone` images that no remaining image references; returns bytes freed.
    fn remove_unreferenced_blobs(&self, gone: &[super::ImageRecord]) -> Result<u64, ImageError> {
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

fn referenced_blobs(state: &IndexState) -> HashSet<Digest> {
    let mut live = HashSet::new();
    for rec in state.images.values() {
        live.insert(rec.id.clone());
        live.insert(rec.manifest.clone());
        live.extend(rec.layers.iter().cloned());
    }
    live
}
