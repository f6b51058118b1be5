//! The CNI protocol: versions, configs, results, errors, `CNI_ARGS`, the plugin skeleton and
//! plugin execution (for IPAM delegation and for the runtime side).

pub mod args;
pub mod config;
pub mod delegate;
pub mod error;
pub mod exec;
pub mod result;
pub mod skel;
pub mod version;

pub use args::CniArgs;
pub use config::{NetConf, PluginConfig};
pub use error::{CniError, LayerError};
pub use exec::{PluginExec, RawExec};
pub use result::{CniResult, Dns, Interface, IpConfig, Route};
pub use skel::{Attachment, CniRequest, Command, Plugin, ValidAttachment};
pub use version::Version;
