//! Progress of a pull or push, reported as events in Docker's vocabulary ("Pulling fs layer",
//! "Downloading", "Pull complete", "Pushed", ...), so the CLI can draw bars and berthd can
//! send Docker's JSON progress stream. Layer ids are the first 12 hex digits of the blob
//! digest, as Docker shows them.

/// One step of a pull or push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The reference was resolved: "Pulling from REPO" / "The push refers to repository".
    Start {
        /// The repository (`library/busybox`, or the full name for a push).
        repository: String,
        /// The tag or digest being moved.
        tag: String,
    },
    /// A layer is queued ("Pulling fs layer", "Preparing").
    Waiting {
        /// Short layer id.
        id: String,
    },
    /// A layer need not move ("Already exists", "Layer already exists", "Mounted from").
    Exists {
        /// Short layer id.
        id: String,
        /// Where it was mounted from, for a cross-repository mount.
        mounted_from: Option<String>,
    },
    /// Bytes moved so far ("Downloading", "Pushing").
    Bytes {
        /// Short layer id.
        id: String,
        /// Bytes so far.
        current: u64,
        /// Bytes in all, when known.
        total: Option<u64>,
    },
    /// A layer was downloaded and verified ("Download complete").
    Downloaded {
        /// Short layer id.
        id: String,
    },
    /// A downloaded layer is being unpacked ("Extracting").
    Extracting {
        /// Short layer id.
        id: String,
    },
    /// A layer is done ("Pull complete", "Pushed").
    Done {
        /// Short layer id.
        id: String,
    },
    /// A transient failure will be retried ("Retrying in N seconds").
    Retrying {
        /// Short layer id, or empty for the manifest.
        id: String,
        /// Seconds until the retry.
        seconds: u64,
    },
    /// The whole operation finished.
    Finished {
        /// The manifest digest in the registry.
        digest: String,
        /// Whether anything new arrived (pull) or was sent (push).
        changed: bool,
        /// The size of the manifest (push: Docker prints it).
        size: u64,
    },
}

/// Receives progress events; called from several threads at once.
pub trait Progress: Send + Sync {
    /// One event.
    fn event(&self, e: ProgressEvent);
}

/// Discards every event.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: ProgressEvent) {}
}

/// The 12 hex digits Docker uses to name a layer in progress output.
pub(crate) fn short_id(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}
