//! The [`StorageDriver`] seam: how unpacked layers and containers' writable layers are laid
//! out and joined into one root. Real drivers: `overlay` (overlay.rs) and `vfs` (vfs.rs).
//! Which layers exist and who uses them is the layer store's business (layers.rs).

use std::io::{Read, Write};
use std::path::PathBuf;

use super::{ExtractSummary, StorageError};
use crate::digest::Digest;

/// The name of a container's writable layer (the container id, usually).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RwLayerId(String);

impl RwLayerId {
    /// 1 to 128 characters of `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
    pub fn new(id: &str) -> Result<Self, StorageError> {
        let bad = |reason| StorageError::InvalidId {
            id: id.to_owned(),
            reason,
        };
        if id.is_empty() || id.len() > 128 {
            return Err(bad("must be 1 to 128 characters"));
        }
        if id.starts_with(['.', '-'])
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(bad(
                "may hold only [A-Za-z0-9_.-] and not start with '.' or '-'",
            ));
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RwLayerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which driver to use (`--storage-driver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverKind {
    /// overlayfs: layers shared, one upper dir per container (the default).
    #[default]
    Overlay,
    /// Full copies: works on any filesystem, costs space and time.
    Vfs,
}

impl std::str::FromStr for DriverKind {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "overlay" | "overlay2" => Ok(Self::Overlay),
            "vfs" => Ok(Self::Vfs),
            other => Err(StorageError::UnknownDriver(other.to_owned())),
        }
    }
}

impl DriverKind {
    /// The driver's name, also its directory under `<root>/storage/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Overlay => "overlay",
            Self::Vfs => "vfs",
        }
    }
}

/// A union-filesystem implementation.
pub trait StorageDriver: Send + Sync {
    /// `overlay` or `vfs`.
    fn name(&self) -> &'static str;

    /// Unpacks the layer tar `diff` as layer `id` on top of `parent`. All or nothing: on
    /// error no layer `id` remains.
    fn create_layer(
        &self,
        id: &Digest,
        parent: Option<&Digest>,
        diff: &mut dyn Read,
    ) -> Result<ExtractSummary, StorageError>;

    /// Whether layer `id` is unpacked.
    fn has_layer(&self, id: &Digest) -> bool;

    /// Removes layer `id`; succeeds when it is already gone.
    fn remove_layer(&self, id: &Digest) -> Result<(), StorageError>;

    /// The directory holding layer `id`'s own files (overlay) or full tree (vfs).
    fn layer_dir(&self, id: &Digest) -> PathBuf;

    /// Creates the writable layer of a container over `parent` (the image's top layer).
    fn create_rw(&self, id: &RwLayerId, parent: Option<&Digest>) -> Result<(), StorageError>;

    /// Makes the container's root available and returns its path (overlay: mounts it).
    fn mount(&self, id: &RwLayerId) -> Result<PathBuf, StorageError>;

    /// Undoes `mount`; succeeds when not mounted.
    fn unmount(&self, id: &RwLayerId) -> Result<(), StorageError>;

    /// Unmounts and removes the writable layer; succeeds when it is already gone.
    fn remove_rw(&self, id: &RwLayerId) -> Result<(), StorageError>;

    /// Writes the container's changes against its parent as a layer tar (deletions as
    /// `.wh.` whiteouts, replaced directories with `.wh..wh..opq`).
    /// `skip_empty` (paths relative to the root) are left out when they are empty regular
    /// files: the mount points berth itself made for files it bind-mounts (`/etc/hosts`…).
    fn diff(
        &self,
        id: &RwLayerId,
        out: &mut dyn Write,
        skip_empty: &[PathBuf],
    ) -> Result<(), StorageError>;

    /// The paths the container added, modified or deleted (`docker diff`), parents first;
    /// `skip_empty` as for [`StorageDriver::diff`].
    fn changes(
        &self,
        id: &RwLayerId,
        skip_empty: &[PathBuf],
    ) -> Result<Vec<super::changes::Change>, StorageError>;

    /// Bytes of regular-file content the container added or changed.
    fn rw_size(&self, id: &RwLayerId) -> Result<u64, StorageError>;

    /// The parent layer a writable layer was created over.
    fn rw_parent(&self, id: &RwLayerId) -> Result<Option<Digest>, StorageError>;

    /// The ids of all writable layers.
    fn list_rw(&self) -> Result<Vec<RwLayerId>, StorageError>;
}
