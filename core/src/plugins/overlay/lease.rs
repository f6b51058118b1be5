//! The host's part of an overlay network, as the node agent (`berth node join`) leaves it for
//! the `overlay` plugin: one JSON file per network, `<stateDir>/<network>.json`, written
//! atomically, like flannel's `subnet.env`. The plugin only reads it; etcd is the agent's
//! business.

use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

/// Where the agent writes lease files unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/run/berth/overlay";

/// This host's slice of one overlay network and the devices that carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostLease {
    /// The network's name.
    pub network: String,
    /// The whole subnet, across hosts.
    pub subnet: Ipv4Network,
    /// This host's slice: its containers get addresses from it.
    pub slice: Ipv4Network,
    /// The VXLAN network identifier.
    pub vni: u32,
    /// The bridge this host's containers are attached to.
    pub bridge: String,
    /// The MTU containers get: the underlay's minus the VXLAN overhead.
    pub mtu: u32,
}

impl HostLease {
    /// The slice's gateway (its first host address), on the bridge.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.slice.network()) + 1)
    }

    /// The file of `network` under `dir`.
    pub fn path(dir: &Path, network: &str) -> PathBuf {
        dir.join(format!("{network}.json"))
    }

    /// Reads the lease of `network`; `Ok(None)` when the host has not joined it.
    pub fn read(dir: &Path, network: &str) -> io::Result<Option<HostLease>> {
        let path = Self::path(dir, network);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let lease: HostLease = serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        if lease.network != network || !lease.subnet.contains(lease.slice.network()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a lease of a slice of {network}", path.display()),
            ));
        }
        Ok(Some(lease))
    }

    /// Writes the lease atomically (temp file + rename), creating `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        write_atomically(&Self::path(dir, &self.network), &bytes)
    }

    /// Removes the lease of `network`; Ok when there was none.
    pub fn remove(dir: &Path, network: &str) -> io::Result<()> {
        remove_if_there(&Self::path(dir, network))
    }
}

/// Writes `bytes` to `path` atomically (a temp file beside it, then a rename), creating its
/// directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Removes `path`; Ok when it was not there.
pub(crate) fn remove_if_there(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A lease for tests: slice 10.100.3.0/24 of 10.100.0.0/16, VNI 42.
#[cfg(test)]
pub(crate) fn sample() -> HostLease {
    HostLease {
        network: "ov".into(),
        subnet: "10.100.0.0/16".parse().unwrap(),
        slice: "10.100.3.0/24".parse().unwrap(),
        vni: 42,
        bridge: "bov-42".into(),
        mtu: 1450,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> HostLease {
        sample()
    }

    #[test]
    fn a_lease_written_reads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(HostLease::read(dir.path(), "ov").unwrap(), None);
        lease().write(dir.path()).unwrap();
        let back = HostLease::read(dir.path(), "ov").unwrap().unwrap();
        assert_eq!(back, lease());
        assert_eq!(back.gateway(), Ipv4Addr::new(10, 100, 3, 1));
        HostLease::remove(dir.path(), "ov").unwrap();
        HostLease::remove(dir.path(), "ov").unwrap();
        assert_eq!(HostLease::read(dir.path(), "ov").unwrap(), None);
    }

    #[test]
    fn a_lease_of_another_network_or_outside_the_subnet_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = lease();
        l.slice = "10.200.3.0/24".parse().unwrap();
        l.write(dir.path()).unwrap();
        assert!(HostLease::read(dir.path(), "ov").is_err());
        std::fs::write(HostLease::path(dir.path(), "ov"), b"{not json").unwrap();
        let e = HostLease::read(dir.path(), "ov").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
