//! The one error type of the IPAM layer.
//!
//! Which CNI error code each variant becomes is decided in `core::cni::error`, not here:
//! [`IpamError::InvalidConfig`] and [`IpamError::ParseConfig`] are code 7, [`IpamError::Exhausted`]
//! is code 100.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;

/// Everything that can go wrong while loading a host-local config or touching its store.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// The `ipam` object (or a capability) is not valid JSON of the expected shape.
    #[error("parse host-local ipam config: {source}")]
    ParseConfig {
        /// What serde could not decode.
        #[source]
        source: serde_json::Error,
    },
    /// The config decoded but breaks a rule; `location` names the field to fix.
    #[error("invalid host-local ipam config at {location}: {problem}")]
    InvalidConfig {
        /// Where the problem is, e.g. `ranges[0][1].rangeStart`.
        location: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A network name, container id or interface name cannot be used as a file name.
    #[error("invalid {what} {name:?}: must be 1 to 200 bytes with no '/' or NUL")]
    InvalidName {
        /// Which kind of name (`network name`, `container id`, `interface name`).
        what: &'static str,
        /// The refused name.
        name: String,
    },
    /// Every address of a range set is taken.
    #[error(
        "no free address in range set {range} of network {network}: release some or widen the range"
    )]
    Exhausted {
        /// The network whose range set is full.
        network: String,
        /// The range set, written as its ranges.
        range: String,
    },
    /// STATUS: no range set of the network has a free address left.
    #[error("every range set of network {network} is exhausted: release addresses or add a range")]
    AllRangesExhausted {
        /// The network that cannot serve another ADD.
        network: String,
    },
    /// A requested address is already reserved by someone else.
    #[error("requested address {ip} is already allocated to {holder}")]
    RequestedUnavailable {
        /// The requested address.
        ip: IpAddr,
        /// Who holds it: `<container id>/<ifname>` or the container id alone (old files).
        holder: String,
    },
    /// A requested address lies in no range of any range set.
    #[error("requested address {ip} is not inside any configured range")]
    RequestedOutOfRange {
        /// The requested address.
        ip: IpAddr,
    },
    /// A requested address is the gateway of its range.
    #[error("requested address {ip} is the gateway of its subnet: request another address")]
    RequestedGateway {
        /// The requested address.
        ip: IpAddr,
    },
    /// Two requested addresses fall into the same range set (one address per set is allocated).
    #[error(
        "requested addresses {first} and {second} both fall in range set {set}: request at most one per set"
    )]
    RequestedTwiceInSet {
        /// The first requested address of the set.
        first: IpAddr,
        /// The second requested address of the set.
        second: IpAddr,
        /// Index of the range set.
        set: usize,
    },
    /// The attachment already holds a different address than the one it requests now.
    #[error("{id}/{ifname} already holds {held}, not the requested {requested}: DEL it first")]
    AlreadyHolds {
        /// Container id of the attachment.
        id: String,
        /// Interface name of the attachment.
        ifname: String,
        /// The address it holds.
        held: IpAddr,
        /// The address it asked for.
        requested: IpAddr,
    },
    /// CHECK: the attachment has no reservation.
    #[error("no address reserved for {id}/{ifname} in network {network}")]
    NotFound {
        /// The network that was searched.
        network: String,
        /// Container id of the attachment.
        id: String,
        /// Interface name of the attachment.
        ifname: String,
    },
    /// A file-system operation on the store failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being attempted, e.g. `create reservation`.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error (errno preserved).
        #[source]
        source: io::Error,
    },
}

impl IpamError {
    /// Shorthand for [`IpamError::InvalidConfig`].
    pub(crate) fn invalid(location: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::InvalidConfig {
            location: location.into(),
            problem: problem.into(),
        }
    }

    /// Shorthand for [`IpamError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
