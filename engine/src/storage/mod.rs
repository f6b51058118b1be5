//! Layers and container roots: safe extraction of layer tars, the [`StorageDriver`] seam with
//! the `overlay` and `vfs` drivers, the [`LayerStore`] that unpacks each layer once (keyed by
//! chain id), and diffs of writable layers for commit. Everything lives under
//! `<root>/storage/<driver>/`. Image content and names are [`crate::image`]'s business.

pub mod changes;
pub mod copy;
pub mod diff;
mod driver;
mod error;
pub mod extract;
mod layers;
pub mod metadata;
mod mounter;
mod overlay;
mod verify;
mod vfs;

pub use driver::{DriverKind, RwLayerId, StorageDriver};
pub use error::StorageError;
pub use extract::{ExtractSummary, WhiteoutMode, extract_layer};
pub use layers::{LayerCheck, LayerMeta, LayerStore, OpenLayer};
#[cfg(any(test, feature = "testing"))]
pub use mounter::{FakeMounter, MountCall};
pub use mounter::{LinuxMounter, Mounter};
pub use overlay::OverlayDriver;
pub use vfs::VfsDriver;

#[cfg(test)]
mod tests;
