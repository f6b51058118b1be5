//! Opening the real kernel handles a plugin works with: the host's netlink socket, the
//! container's namespace and a netlink socket bound to it.

use std::path::Path;

use crate::cni::CniError;
use crate::netlink::LinuxNetlink;
use crate::netns::{Netns, NetnsError};

/// The host handle, and the container's namespace with a handle bound to it.
pub(crate) struct Handles {
    /// Netlink in the namespace the plugin runs in.
    pub host: LinuxNetlink,
    /// The container's namespace.
    pub ns: Netns,
    /// Netlink inside the container's namespace.
    pub ctr: LinuxNetlink,
}

/// Opens the container's namespace (code 3 when it is gone, 4 when the path is not a netns) and
/// netlink handles on both sides. The plugin process is single-threaded, so the container's
/// socket is opened by stepping the main thread into the namespace and back (no thread).
pub(crate) fn open(netns: &Path) -> Result<Handles, CniError> {
    let ns = open_netns(netns)?;
    let host = LinuxNetlink::new()?;
    let ctr = LinuxNetlink::open_in_here(&ns, host.netns())?;
    tracing::trace!("netlink opened on both sides");
    Ok(Handles { host, ns, ctr })
}

/// Opens a netns path, mapping "gone" to the spec's code 3.
pub(crate) fn open_netns(netns: &Path) -> Result<Netns, CniError> {
    Netns::open(netns).map_err(|e| match e {
        NetnsError::NotFound { path } => CniError::NetnsGone {
            path: path.display().to_string(),
        },
        other => CniError::from(other),
    })
}

/// Opens a netns for DEL: `Ok(None)` when it is already gone (DEL then has nothing to do in it).
pub(crate) fn open_netns_for_del(netns: Option<&Path>) -> Result<Option<Netns>, CniError> {
    let Some(path) = netns else { return Ok(None) };
    match Netns::open(path) {
        Ok(ns) => Ok(Some(ns)),
        Err(NetnsError::NotFound { .. }) | Err(NetnsError::NotNetns { .. }) => {
            tracing::debug!(path = %path.display(), "netns already gone");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A netlink handle inside the container's netns for DEL, or `None` when the netns is gone.
pub(crate) fn open_ctr_for_del(netns: Option<&Path>) -> Result<Option<LinuxNetlink>, CniError> {
    match open_netns_for_del(netns)? {
        Some(ns) => Ok(Some(LinuxNetlink::open_in_here(&ns, &Netns::current()?)?)),
        None => Ok(None),
    }
}
