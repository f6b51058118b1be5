//! The image layer's error type.

use std::io;
use std::path::PathBuf;

use crate::digest::{Digest, DigestError};

/// What can go wrong in the image store (`berth import/load/save/images/tag/rmi/...`).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A filesystem operation on the store failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being attempted, e.g. "write blob".
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading the input stream (a tarball or archive) failed.
    #[error("read {what}: {source}")]
    Read {
        /// What was being read.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing the output stream (a saved archive) failed.
    #[error("write {what}: {source}")]
    Write {
        /// What was being written.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Content did not hash to the digest it was announced with.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was being verified.
        what: String,
        /// The announced digest.
        expected: Digest,
        /// The digest of the bytes actually received.
        actual: Digest,
    },
    /// A malformed digest string.
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// A malformed `NAME[:TAG]` reference.
    #[error("invalid reference format {reference:?}: {reason}")]
    InvalidReference {
        /// The string given.
        reference: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// No image matches the reference or id.
    #[error("no such image: {0}")]
    NotFound(String),
    /// A short id prefix matches several images.
    #[error("image id prefix {0} is ambiguous")]
    Ambiguous(String),
    /// A container uses the image: removing its only tag needs `force`; deleting it by id
    /// needs `force` while the container is stopped and is refused while it runs (dockerd's
    /// messages).
    #[error("{}", in_use_message(image, reference.as_deref(), container, *running))]
    InUse {
        /// The image id.
        image: Digest,
        /// The tag the removal named, `None` when it named the id.
        reference: Option<String>,
        /// The container using it.
        container: String,
        /// Whether that container runs.
        running: bool,
    },
    /// Removing by id an image that has several tags needs `force` (as `docker rmi`).
    #[error(
        "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
        short(id)
    )]
    MultipleTags {
        /// The image id.
        id: Digest,
    },
    /// A JSON document (manifest, config, index) could not be decoded or encoded.
    #[error("decode {what}: {source}")]
    Json {
        /// Which document.
        what: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// An OCI document could not be built or parsed.
    #[error("{what}: {source}")]
    Oci {
        /// Which document.
        what: &'static str,
        /// The oci-spec error.
        #[source]
        source: oci_spec::OciSpecError,
    },
    /// A `docker save` or OCI layout archive is missing a piece or is malformed.
    #[error("invalid image archive: {reason}")]
    InvalidArchive {
        /// What is wrong with it.
        reason: String,
    },
    /// A layer or manifest has a media type the engine cannot handle.
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),
    /// A `--change` instruction cannot be applied to the new image's config.
    #[error(transparent)]
    ConfigChange(#[from] super::config_changes::ConfigChangeError),
}

/// The first 12 hex digits of an id, as dockerd's `TruncateID`.
fn short(s: &dyn std::fmt::Display) -> String {
    let s = s.to_string();
    let hex = s.split_once(':').map_or(s.as_str(), |(_, h)| h);
    hex.chars().take(12).collect()
}

fn in_use_message(
    image: &Digest,
    reference: Option<&str>,
    container: &str,
    running: bool,
) -> String {
    let (image, container) = (short(image), short(&container));
    match (reference, running) {
        (Some(r), _) => format!(
            "conflict: unable to remove repository reference {r:?} (must force) - container {container} is using its referenced image {image}"
        ),
        (None, true) => format!(
            "conflict: unable to delete {image} (cannot be forced) - image is being used by running container {container}"
        ),
        (None, false) => format!(
            "conflict: unable to delete {image} (must be forced) - image is being used by stopped container {container}"
        ),
    }
}

impl ImageError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    pub(crate) fn archive(reason: impl Into<String>) -> Self {
        Self::InvalidArchive {
            reason: reason.into(),
        }
    }
}
