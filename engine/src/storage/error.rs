//! The storage layer's error type.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;

/// What can go wrong unpacking layers and managing container roots.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A filesystem operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being attempted, e.g. "create file".
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error (errno kept).
        #[source]
        source: io::Error,
    },
    /// The layer tarball is malformed.
    #[error("read layer tar: {source}")]
    Tar {
        /// The tar reader's error.
        #[source]
        source: io::Error,
    },
    /// A tar entry would write outside the layer or is otherwise refused; nothing was written
    /// for it.
    #[error("refused tar entry {entry:?}: {reason}")]
    UnsafeEntry {
        /// The entry's path as written in the tar.
        entry: String,
        /// Why, e.g. "path through a symlink that leads out of the layer".
        reason: &'static str,
    },
    /// An unpacked layer's tar did not hash to its diff id.
    #[error("layer content does not match its diff id: expected {expected}, got {actual}")]
    LayerDigest {
        /// The diff id.
        expected: Digest,
        /// The digest of the bytes read.
        actual: Digest,
    },
    /// No unpacked layer with this chain id.
    #[error("layer {0} not found")]
    LayerNotFound(Digest),
    /// No writable layer for this container.
    #[error("no storage for container {0}")]
    ContainerNotFound(String),
    /// A writable layer for this container already exists.
    #[error("storage for container {0} already exists")]
    ContainerExists(String),
    /// A container id that cannot name a directory.
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId {
        /// The id given.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Mounting a container root failed.
    #[error("mount {what} on {target}: {source}")]
    Mount {
        /// What was mounted, e.g. "overlay with 3 layers".
        what: String,
        /// The mount point.
        target: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Unmounting a container root failed.
    #[error("unmount {target}: {source}")]
    Unmount {
        /// The mount point.
        target: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The overlay mount options do not fit in one page even with short link names.
    #[error("overlay mount options for {layers} layers exceed a page ({len} bytes)")]
    TooManyLayers {
        /// How many lower layers.
        layers: usize,
        /// The option string length.
        len: usize,
    },
    /// Unknown storage driver name.
    #[error("unknown storage driver {0:?} (want overlay or vfs)")]
    UnknownDriver(String),
    /// Layer or container metadata could not be decoded.
    #[error("decode {path}: {source}")]
    Json {
        /// The metadata file.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

impl StorageError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    pub(crate) fn nix(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(nix::Error) -> Self {
        let path = path.into();
        move |e| Self::Io {
            op,
            path,
            source: io::Error::from(e),
        }
    }
}
