//! The invoker's error type: what can go wrong loading a config list, running its plugins,
//! locking and caching.

use std::path::PathBuf;

use crate::cni::{CniError, Version};
use crate::names::NameError;

/// Everything that can make a runtime-side CNI operation fail.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// A config list or cache file could not be read or written.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being attempted.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// JSON could not be decoded.
    #[error("decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The config list is well-formed JSON but wrong.
    #[error("invalid network config list: {field}: {reason}")]
    InvalidList {
        /// The key at fault.
        field: String,
        /// What to fix.
        reason: String,
    },
    /// None of the list's `cniVersion`/`cniVersions` is one berth speaks.
    #[error("none of the CNI versions {offered:?} is supported (berth speaks 0.3.0 to 1.1.0)")]
    NoSupportedVersion {
        /// The versions the list offers.
        offered: Vec<String>,
    },
    /// The operation does not exist in the list's version (CHECK before 0.4.0, GC and STATUS
    /// before 1.1.0).
    #[error("{command} is not supported by network {network}'s CNI version {version}")]
    NotInVersion {
        /// The operation.
        command: &'static str,
        /// The network.
        network: String,
        /// The list's version.
        version: Version,
    },
    /// A container id or interface name is invalid.
    #[error(transparent)]
    Name(#[from] NameError),
    /// ADD for an attachment that already has a cached result: DEL it first.
    #[error("container {container} already has {ifname} on network {network}; detach it first")]
    AlreadyAttached {
        /// The network.
        network: String,
        /// The container id.
        container: String,
        /// The interface.
        ifname: String,
    },
    /// CHECK for an attachment without a cached result.
    #[error("container {container} has no {ifname} on network {network} (no cached result)")]
    NotAttached {
        /// The network.
        network: String,
        /// The container id.
        container: String,
        /// The interface.
        ifname: String,
    },
    /// A plugin failed (or could not be run, or timed out).
    #[error("{command} {plugin} on network {network}: {source}")]
    Plugin {
        /// `CNI_COMMAND`.
        command: &'static str,
        /// The plugin's `type`.
        plugin: String,
        /// The network.
        network: String,
        /// The plugin's error, with its code and message.
        #[source]
        source: Box<CniError>,
    },
    /// A plugin succeeded but printed something that is not a result.
    #[error("ADD {plugin} on network {network}: bad result: {source}")]
    BadResult {
        /// The plugin's `type`.
        plugin: String,
        /// The network.
        network: String,
        /// Why the result was refused.
        #[source]
        source: Box<CniError>,
    },
    /// Taking a lock failed.
    #[error("lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// GC went on after failures; these are all of them.
    #[error("{} errors during GC: {}", errors.len(), join(errors))]
    Gc {
        /// Every failure, in order.
        errors: Vec<InvokeError>,
    },
}

impl InvokeError {
    /// The CNI code of the plugin error underneath, if a plugin failed.
    pub fn plugin_code(&self) -> Option<u32> {
        match self {
            Self::Plugin { source, .. } => Some(source.code()),
            _ => None,
        }
    }
}

fn join(errors: &[InvokeError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
