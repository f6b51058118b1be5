//! The CNI error type and the one place where error codes are chosen.
//!
//! Codes 1-99 are the spec's (see the CNI SPEC's "Error" section); 100 and up are berth's own
//! and are never renumbered. On failure a plugin prints [`CniError::to_json`] on stdout and exits
//! non-zero.

use serde_json::{Value, json};

use super::version::Version;

/// Everything that can make a CNI operation fail, at the protocol level.
#[derive(Debug, thiserror::Error)]
pub enum CniError {
    /// The config asks for a CNI version berth does not speak (code 1).
    #[error(
        "incompatible CNI version {version:?}: berth speaks 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0"
    )]
    IncompatibleVersion {
        /// The version that was asked for.
        version: String,
    },
    /// An operation the config's version does not have (CHECK before 0.4.0, GC/STATUS before
    /// 1.1.0) (code 1).
    #[error("{command} is not supported by CNI version {version}")]
    CommandNotInVersion {
        /// The command, e.g. `CHECK`.
        command: &'static str,
        /// The config's version.
        version: Version,
    },
    /// A config field has a value berth refuses (code 2).
    #[error("unsupported value for {field}: {value}: {reason}")]
    UnsupportedField {
        /// The JSON key.
        field: String,
        /// The offending value, as JSON text.
        value: String,
        /// What to do instead.
        reason: String,
    },
    /// The container's network namespace does not exist (code 3).
    #[error("network namespace {path} does not exist")]
    NetnsGone {
        /// The `CNI_NETNS` path.
        path: String,
    },
    /// A required `CNI_*` variable is missing or invalid (code 4).
    #[error("invalid environment variable {var}: {reason}")]
    InvalidEnv {
        /// The variable's name.
        var: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading stdin or writing state failed (code 5).
    #[error("{op}: {source}")]
    Io {
        /// What was being attempted.
        op: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// JSON on stdin (or a plugin's output) could not be decoded (code 6).
    #[error("decode {what}: {source}")]
    Decode {
        /// What was being decoded, e.g. `network config`.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The network config is well-formed JSON but wrong (code 7).
    #[error("invalid network config: {field}: {reason}")]
    InvalidConfig {
        /// The JSON key at fault.
        field: String,
        /// What to fix.
        reason: String,
    },
    /// A shared resource is busy; the runtime should retry (code 11).
    #[error("try again later: {reason}")]
    TryAgain {
        /// What is busy.
        reason: String,
    },
    /// STATUS: the plugin cannot ADD right now (code 50).
    #[error("plugin not available: {reason}")]
    Unavailable {
        /// Why not.
        reason: String,
    },
    /// CHECK found the attachment different from its result (code 104).
    #[error("check failed: {reason}")]
    CheckFailed {
        /// What is missing or different.
        reason: String,
    },
    /// ADD found the interface already in the container's netns; DEL it first (code 105).
    #[error("interface {ifname} already exists in netns {netns}; run DEL before adding it again")]
    InterfaceExists {
        /// `CNI_IFNAME`.
        ifname: String,
        /// `CNI_NETNS`.
        netns: String,
    },
    /// A delegated or chained plugin failed; its own code is kept.
    #[error("plugin {plugin} failed: {msg}{}", details_suffix(.details))]
    Plugin {
        /// The plugin's `type` name.
        plugin: String,
        /// The code the plugin reported.
        code: u32,
        /// The plugin's message.
        msg: String,
        /// The plugin's details, if any.
        details: String,
    },
    /// An error from berth's own layers, with a berth code (100 and up) or a spec code.
    #[error(transparent)]
    Layer(#[from] LayerError),
}

fn details_suffix(details: &str) -> String {
    if details.is_empty() {
        String::new()
    } else {
        format!(" ({details})")
    }
}

/// Errors from berth's layers below the protocol (network namespaces, netlink, IPAM, firewall),
/// each carried whole so that callers can still match on the cause.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A network namespace operation failed.
    #[error(transparent)]
    Netns(#[from] crate::netns::NetnsError),
    /// A netlink operation failed.
    #[error(transparent)]
    Netlink(#[from] crate::netlink::NetlinkError),
    /// IP address management failed.
    #[error(transparent)]
    Ipam(#[from] crate::ipam::IpamError),
    /// The firewall layer failed (code 102).
    #[error(transparent)]
    Firewall(#[from] crate::firewall::FirewallError),
}

impl CniError {
    /// The CNI error code for this error. Codes are chosen here and nowhere else.
    pub fn code(&self) -> u32 {
        match self {
            Self::IncompatibleVersion { .. } | Self::CommandNotInVersion { .. } => 1,
            Self::UnsupportedField { .. } => 2,
            Self::NetnsGone { .. } => 3,
            Self::InvalidEnv { .. } => 4,
            Self::Io { .. } => 5,
            Self::Decode { .. } => 6,
            Self::InvalidConfig { .. } => 7,
            Self::TryAgain { .. } => 11,
            Self::Unavailable { .. } => 50,
            Self::CheckFailed { .. } => 104,
            Self::InterfaceExists { .. } => 105,
            Self::Plugin { code, .. } => *code,
            Self::Layer(layer) => layer.code(),
        }
    }

    /// The spec's error object: `{cniVersion, code, msg, details}`.
    pub fn to_json(&self, version: Version) -> Value {
        let (msg, details) = match self {
            Self::Plugin {
                plugin,
                msg,
                details,
                ..
            } => (format!("plugin {plugin}: {msg}"), details.clone()),
            other => (other.to_string(), error_chain(other)),
        };
        json!({
            "cniVersion": version.as_str(),
            "code": self.code(),
            "msg": msg,
            "details": details,
        })
    }

    /// Shorthand for [`CniError::InvalidConfig`].
    pub fn invalid_config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl LayerError {
    /// 3 and 4 for a gone or wrong netns, 5 for I/O, 7 for bad IPAM config, 50 when no range
    /// has room (STATUS), 100 exhausted range, 101 netlink, 103 other IPAM refusals, 104 CHECK
    /// found no reservation, 102 firewall.
    fn code(&self) -> u32 {
        use crate::ipam::IpamError;
        use crate::netns::NetnsError;
        match self {
            Self::Netns(NetnsError::NotFound { .. }) => 3,
            Self::Netns(NetnsError::NotNetns { .. }) => 4,
            Self::Netns(_) => 5,
            Self::Netlink(_) => 101,
            Self::Firewall(_) => 102,
            Self::Ipam(e) => match e {
                IpamError::Exhausted { .. } => 100,
                IpamError::AllRangesExhausted { .. } => 50,
                IpamError::InvalidConfig { .. } | IpamError::ParseConfig { .. } => 7,
                IpamError::InvalidName { .. } => 4,
                IpamError::Io { .. } => 5,
                IpamError::NotFound { .. } => 104,
                _ => 103,
            },
        }
    }
}

/// The `source()` chain below `err`, joined with ": " (empty when there is none).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        parts.push(e.to_string());
        cur = e.source();
    }
    parts.join(": ")
}

macro_rules! layer_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CniError {
            fn from(e: $t) -> Self {
                CniError::Layer(LayerError::from(e))
            }
        }
    )*};
}
layer_from!(
    crate::netns::NetnsError,
    crate::netlink::NetlinkError,
    crate::ipam::IpamError,
    crate::firewall::FirewallError
);
