//! `image prune` in both front ends, as dockerd: dangling (untagged) images by default, every
//! image with `dangling: false`, narrowed by labels and a creation time; each candidate is
//! removed as `rmi` without force removes it ([`ImageStore::remove_with`]), so an image a
//! container uses stays. Then the orphans of killed pulls and loads go
//! ([`super::orphans`]). Emits `untag`/`delete` per image and one `prune`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::remove::{RemoveEvent, UserLookup};
use super::{ImageError, ImageStore};
use crate::digest::Digest;

/// Which images a prune considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneFilter {
    /// Only untagged images (dockerd's default, `dangling=true`).
    pub dangling_only: bool,
    /// `label` filters: `KEY` or `KEY=VALUE`, all must match.
    pub labels: Vec<String>,
    /// `label!` filters: an image matching any of them is kept.
    pub not_labels: Vec<String>,
    /// `until`: only images created at or before this time (nanoseconds since the epoch).
    pub until_nanos: Option<i128>,
}

impl Default for PruneFilter {
    fn default() -> Self {
        Self {
            dangling_only: true,
            labels: Vec::new(),
            not_labels: Vec::new(),
            until_nanos: None,
        }
    }
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Untagged references and deleted image ids, in order.
    pub removed: Vec<RemoveEvent>,
    /// Ids of the images deleted.
    pub deleted: Vec<Digest>,
    /// Bytes of blobs removed from disk.
    pub reclaimed: u64,
}

/// Whether `labels` pass one label filter value: `KEY` (present) or `KEY=VALUE`.
pub fn label_matches(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(filter),
    }
}

impl PruneFilter {
    fn selects(&self, labels: &BTreeMap<String, String>, created: Option<&str>) -> bool {
        if let Some(until) = self.until_nanos {
            let c = created.and_then(crate::clock::parse_rfc3339_nanos);
            if c.is_none_or(|c| c > until) {
                return false;
            }
        }
        self.labels.iter().all(|l| label_matches(labels, l))
            && !self.not_labels.iter().any(|l| label_matches(labels, l))
    }
}

impl ImageStore {
    /// `image prune`: removes the images `filter` selects that no container uses.
    pub fn prune(
        &self,
        filter: &PruneFilter,
        user: UserLookup<'_>,
    ) -> Result<PruneReport, ImageError> {
        let state = self.read_state()?;
        let mut report = PruneReport::default();
        for rec in state.images.values() {
            let tags = state.tags_of(&rec.id);
            if filter.dangling_only && !tags.is_empty() {
                continue;
            }
            if !filter.selects(&self.labels(&rec.id), rec.created.as_deref()) {
                continue;
            }
            let names: Vec<String> = match tags.is_empty() {
                true => vec![rec.id.hex().to_owned()],
                false => tags.iter().map(ToString::to_string).collect(),
            };
            for name in names {
                match self.remove_with(&name, false, user) {
                    Ok(r) => {
                        report.freed_from(r.events, r.freed);
                    }
                    Err(ImageError::InUse { .. } | ImageError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        report.reclaimed += self.remove_orphans(super::orphans::ORPHAN_AGE)?;
        self.emit_prune(report.reclaimed);
        Ok(report)
    }
}

impl PruneReport {
    fn freed_from(&mut self, events: Vec<RemoveEvent>, freed: u64) {
        for e in &events {
            if let RemoveEvent::Deleted(d) = e {
                self.deleted.push(d.clone());
            }
        }
        self.removed.extend(events);
        self.reclaimed += freed;
    }
}
