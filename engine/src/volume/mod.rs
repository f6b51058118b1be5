//! Volumes (`berth volume create|ls|inspect|rm|prune`, `-v` specs): named and anonymous
//! volumes under `<root>/volumes/NAME/_data`, their copy-up from an image directory on first
//! mount, the `local` driver's options ([`options`]: a device mounted on `_data`), and parsing
//! of `-v HOST:CTR[:ro]` / `NAME:CTR` / `CTR`. Mounting them into a container is the runtime's
//! job; who uses a volume is the caller's knowledge.

pub mod options;
mod spec;
mod store;

pub use spec::{MountSpec, VolumeName};
pub use store::{Volume, VolumePrune, VolumeStore};

use std::path::PathBuf;

use crate::storage::StorageError;

/// What can go wrong with volumes.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A filesystem operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being attempted.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A volume name that Docker would refuse too.
    #[error("invalid volume name {name:?}: must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// A `-v` argument that cannot be parsed.
    #[error("invalid volume spec {spec:?}: {reason}")]
    InvalidSpec {
        /// The argument.
        spec: String,
        /// Why.
        reason: &'static str,
    },
    /// A volume driver other than `local`, the only one berth has.
    #[error("volume driver {0:?} is not supported (only local)")]
    UnsupportedDriver(String),
    /// No such volume.
    #[error("no such volume: {0}")]
    NotFound(String),
    /// The volume is mounted by a container and `force` was not given.
    #[error("volume {0} is in use")]
    InUse(String),
    /// Volume metadata could not be read or written.
    #[error("decode {path}: {source}")]
    Json {
        /// The metadata file.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A `local` driver option that is unknown or incomplete.
    #[error("{0}")]
    BadOption(String),
    /// The volume's device could not be mounted.
    #[error("mount {device} for volume {name}: {source}")]
    Mount {
        /// The volume.
        name: String,
        /// Its `device` option.
        device: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The volume's device could not be unmounted, so the volume stays.
    #[error("unmount volume {name} (it stays): {source}")]
    Unmount {
        /// The volume.
        name: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Measuring the volume's size failed.
    #[error("measure volume {name}: {source}")]
    Measure {
        /// The volume.
        name: String,
        /// The walk error.
        #[source]
        source: StorageError,
    },
    /// Copying image content into the volume failed.
    #[error("copy image content into volume {name}: {source}")]
    CopyUp {
        /// The volume.
        name: String,
        /// The copy error.
        #[source]
        source: StorageError,
    },
}

/// Refuses (with [`VolumeError::UnsupportedDriver`]) every volume driver but `local`.
pub fn check_driver(driver: &str) -> Result<(), VolumeError> {
    match driver {
        "local" => Ok(()),
        other => Err(VolumeError::UnsupportedDriver(other.to_owned())),
    }
}

impl VolumeError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_local_driver_is_accepted() {
        assert!(check_driver("local").is_ok());
        let e = check_driver("nfs").unwrap_err();
        assert_eq!(
            e.to_string(),
            "volume driver \"nfs\" is not supported (only local)"
        );
    }
}
