//! The image store (`berth import/load/save/images/tag/rmi/image inspect/history/image prune`):
//! blobs by sha256 under `<root>/images/blobs/sha256`, OCI manifests and configs, and an index
//! of names and tags. Layers are kept as verified, uncompressed tars; unpacking them into
//! directories is the job of [`crate::storage`].

mod archive_load;
mod archive_save;
pub mod blob;
pub mod compress;
pub mod config_changes;
mod error;
mod events;
pub mod filter;
mod index;
mod inspect;
pub mod orphans;
pub mod prune;
mod reference;
mod remove;
mod store;

pub use archive_load::LoadedImage;
pub use error::ImageError;
pub use index::{ImageRecord, LayerSource};
pub use inspect::{HistoryEntry, ImageInspect};
pub use prune::{PruneFilter, PruneReport};
pub use reference::{DEFAULT_TAG, ImageRef};
pub use remove::{ImageUser, Removal, RemoveEvent, UserLookup, is_id_prefix};
pub(crate) use store::parse_diff_ids as parse_diff_ids_of;
pub use store::{ImageOptions, ImageStore, ImageSummary, StoredLayer};

#[cfg(test)]
mod tests;
