//! `berth image inspect` and `berth history`: read-only reports built from the index, the
//! manifest and the config.

use oci_spec::image::ImageConfiguration;
use serde::Serialize;

use super::{ImageError, ImageStore};
use crate::digest::Digest;

/// `berth image inspect` output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    /// Image id (config digest).
    pub id: Digest,
    /// Manifest digest.
    pub manifest_digest: Digest,
    /// `repo:tag` names.
    pub repo_tags: Vec<String>,
    /// `repo@sha256:...` of the registry copies it was pulled as or pushed to.
    pub repo_digests: Vec<String>,
    /// Creation time, RFC 3339.
    pub created: Option<String>,
    /// Bytes of regular-file content in all layers.
    pub size: u64,
    /// Layer diff ids, base first.
    pub layers: Vec<Digest>,
    /// The full OCI image config.
    pub config: ImageConfiguration,
}

/// One line of `berth history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The layer this step made, `None` for steps that made no layer (`<missing>`).
    pub layer: Option<Digest>,
    /// When, RFC 3339.
    pub created: Option<String>,
    /// What made it.
    pub created_by: String,
    /// Bytes of content in the layer (0 for empty steps).
    pub size: u64,
    /// Commit message / comment.
    pub comment: String,
}

impl ImageStore {
    /// `berth image inspect NAME`.
    pub fn inspect(&self, name: &str) -> Result<ImageInspect, ImageError> {
        let state = self.read_state()?;
        let id = state.resolve(name)?;
        let rec = state
            .images
            .get(&id)
            .ok_or_else(|| ImageError::NotFound(name.to_owned()))?;
        Ok(ImageInspect {
            id: id.clone(),
            manifest_digest: rec.manifest.clone(),
            repo_tags: state.tags_of(&id).iter().map(ToString::to_string).collect(),
            repo_digests: rec.repo_digests.clone(),
            created: rec.created.clone(),
            size: rec.size,
            layers: rec.layers.clone(),
            config: self.config(&id)?,
        })
    }

    /// `berth history NAME`: the config's history matched to layers, newest first. Layers
    /// without a history entry get a synthetic one.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>, ImageError> {
        let rec = self.record(name)?;
        let config = self.config(&rec.id)?;
        let mut layers = rec.layers.iter().zip(&rec.layer_sizes);
        let mut out = Vec::new();
        for h in config.history().iter().flatten() {
            let empty = h.empty_layer().unwrap_or(false);
            let layer = if empty { None } else { layers.next() };
            out.push(HistoryEntry {
                layer: layer.map(|(d, _)| d.clone()),
                created: h.created().clone(),
                created_by: h.created_by().clone().unwrap_or_default(),
                size: layer.map_or(0, |(_, s)| *s),
                comment: h.comment().clone().unwrap_or_default(),
            });
        }
        for (d, s) in layers {
            out.push(HistoryEntry {
                layer: Some(d.clone()),
                created: None,
                created_by: String::new(),
                size: *s,
                comment: String::new(),
            });
        }
        out.reverse();
        Ok(out)
    }
}
