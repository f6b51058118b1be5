//! The names of containers on an overlay network, shared between hosts so containers reach
//! each other by name across hosts. Each host's node agent publishes its own containers (one
//! [`PeerContainer`] each, in etcd) and writes the other hosts' for berth's DNS server into one
//! JSON file per network, `<stateDir>/<network>.names.json` ([`PeerNames`]), written atomically
//! beside the lease file. [`PeerContainer::check`] is what every entry passes before it is
//! used: etcd may hold what a buggy or hostile writer put there.

use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

/// At most this many names per container (its name, short id and aliases).
pub const MAX_NAMES: usize = 32;
/// At most this many addresses per container on one network.
pub const MAX_ADDRS: usize = 4;

/// One container of one host on an overlay network: the names it answers to and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerContainer {
    /// The host that runs it.
    pub host: String,
    /// The container's id.
    pub id: String,
    /// Its names, lower case: the container's name, short id and `--network-alias`es.
    pub names: Vec<String>,
    /// Its addresses on the network, all in its host's slice.
    pub addrs: Vec<Ipv4Addr>,
}

impl PeerContainer {
    /// Why this entry must not be used, if it must not: a host or id that is not one, no
    /// names or too many, a name that is not a lower-case DNS name, no address or too many,
    /// or an address outside `slice` (its host's slice, when known).
    pub fn check(&self, slice: Option<Ipv4Network>) -> Result<(), String> {
        if !is_id(&self.host, 253) {
            return Err(format!("host {:?} is not a host id", self.host));
        }
        if !is_id(&self.id, 128) {
            return Err(format!("id {:?} is not a container id", self.id));
        }
        if self.names.is_empty() || self.names.len() > MAX_NAMES {
            return Err(format!(
                "{} names (1 to {MAX_NAMES} expected)",
                self.names.len()
            ));
        }
        if let Some(bad) = self.names.iter().find(|n| !is_dns_name(n)) {
            return Err(format!("{bad:?} is not a lower-case DNS name"));
        }
        if self.addrs.is_empty() || self.addrs.len() > MAX_ADDRS {
            return Err(format!(
                "{} addresses (1 to {MAX_ADDRS} expected)",
                self.addrs.len()
            ));
        }
        if let Some(slice) = slice {
            if let Some(a) = self.addrs.iter().find(|a| !slice.contains(**a)) {
                return Err(format!(
                    "address {a} is outside host {}'s slice {slice}",
                    self.host
                ));
            }
        }
        Ok(())
    }
}

/// A host or container id: `[A-Za-z0-9_.-]`, 1 to `max` characters.
fn is_id(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// A lower-case DNS name without the trailing dot: labels of `[a-z0-9_-]`, 1 to 63 long,
/// 253 in all.
pub fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
        })
}

/// The agent's socket under `dir` (its `stateDir`): a connection asks it to publish this
/// host's containers again.
pub fn notify_socket(dir: &Path) -> PathBuf {
    dir.join("names.sock")
}

/// Pokes the agent whose `stateDir` is `dir` after containers changed (best effort: without
/// an agent there is nobody to tell, and a running one also publishes at each renewal).
pub fn notify(dir: &Path) {
    let _ = std::os::unix::net::UnixStream::connect(notify_socket(dir));
}

/// The other hosts' containers on one network, as this host's agent last saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerNames {
    /// The network's name.
    pub network: String,
    /// The containers, each checked against its host's slice.
    pub containers: Vec<PeerContainer>,
}

impl PeerNames {
    /// The file of `network` under `dir`.
    pub fn path(dir: &Path, network: &str) -> PathBuf {
        dir.join(format!("{network}.names.json"))
    }

    /// Reads the names of `network`; empty when there is no file. Entries that do not check
    /// are left out.
    pub fn read(dir: &Path, network: &str) -> io::Result<PeerNames> {
        let path = Self::path(dir, network);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(PeerNames {
                    network: network.to_owned(),
                    containers: Vec::new(),
                });
            }
            Err(e) => return Err(e),
        };
        let mut names: PeerNames = serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        if names.network != network {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not the names of {network}", path.display()),
            ));
        }
        names.containers.retain(|c| c.check(None).is_ok());
        Ok(names)
    }

    /// Writes the file atomically (temp file + rename), creating `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
        super::lease::write_atomically(&Self::path(dir, &self.network), &bytes)
    }

    /// Removes the file of `network`; Ok when there was none.
    pub fn remove(dir: &Path, network: &str) -> io::Result<()> {
        super::lease::remove_if_there(&Self::path(dir, network))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> PeerContainer {
        PeerContainer {
            host: "h3".into(),
            id: "0123456789abcdef".into(),
            names: vec!["web".into(), "0123456789ab".into(), "www.example".into()],
            addrs: vec![Ipv4Addr::new(10, 100, 3, 2)],
        }
    }

    #[test]
    fn honest_entries_check_and_hostile_ones_say_why_not() {
        let slice: Ipv4Network = "10.100.3.0/24".parse().unwrap();
        assert_eq!(web().check(Some(slice)), Ok(()));
        let other: Ipv4Network = "10.100.4.0/24".parse().unwrap();
        let e = web().check(Some(other)).unwrap_err();
        assert!(e.contains("outside host h3's slice"), "{e}");
        let cases: Vec<(PeerContainer, &str)> = vec![
            (
                PeerContainer {
                    names: vec![],
                    ..web()
                },
                "0 names",
            ),
            (
                PeerContainer {
                    names: vec!["Web".into()],
                    ..web()
                },
                "lower-case",
            ),
            (
                PeerContainer {
                    names: vec!["a..b".into()],
                    ..web()
                },
                "lower-case",
            ),
            (
                PeerContainer {
                    names: vec!["x".repeat(64)],
                    ..web()
                },
                "lower-case",
            ),
            (
                PeerContainer {
                    names: vec!["a b".into()],
                    ..web()
                },
                "lower-case",
            ),
            (
                PeerContainer {
                    addrs: vec![],
                    ..web()
                },
                "0 addresses",
            ),
            (
                PeerContainer {
                    host: "h/3".into(),
                    ..web()
                },
                "host id",
            ),
            (
                PeerContainer {
                    id: String::new(),
                    ..web()
                },
                "container id",
            ),
            (
                PeerContainer {
                    names: vec!["a".into(); MAX_NAMES + 1],
                    ..web()
                },
                "names (1 to",
            ),
        ];
        for (c, why) in cases {
            let e = c.check(None).unwrap_err();
            assert!(e.contains(why), "{c:?}: {e}");
        }
    }

    #[test]
    fn the_file_round_trips_drops_bad_entries_and_reads_empty_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            PeerNames::read(dir.path(), "ov")
                .unwrap()
                .containers
                .is_empty()
        );
        let mut names = PeerNames {
            network: "ov".into(),
            containers: vec![web()],
        };
        names.write(dir.path()).unwrap();
        assert_eq!(PeerNames::read(dir.path(), "ov").unwrap(), names);
        // Written by hand with a bad entry: that one is left out.
        names.containers.push(PeerContainer {
            names: vec!["BAD".into()],
            ..web()
        });
        names.write(dir.path()).unwrap();
        assert_eq!(
            PeerNames::read(dir.path(), "ov").unwrap().containers,
            vec![web()]
        );
        // Another network's file under this name is refused.
        std::fs::copy(
            PeerNames::path(dir.path(), "ov"),
            PeerNames::path(dir.path(), "x"),
        )
        .unwrap();
        assert!(PeerNames::read(dir.path(), "x").is_err());
        PeerNames::remove(dir.path(), "ov").unwrap();
        PeerNames::remove(dir.path(), "ov").unwrap();
        assert!(
            PeerNames::read(dir.path(), "ov")
                .unwrap()
                .containers
                .is_empty()
        );
    }
}
