//! The on-disk reservation store, in the reference host-local plugin's format so that its tools
//! (and a migration in either direction) keep working:
//!
//! ```text
//! <dataDir>/<network>/lock                  flock(LOCK_EX) held for every operation
//! <dataDir>/<network>/<ip>                  "<containerID>\r\n<ifname>" (old files: "<containerID>")
//! <dataDir>/<network>/last_reserved_ip.<n>  last address handed out from range set n
//! <dataDir>/<network>/by-id/<id>:<ifname>   berth only: the addresses of one attachment, one a line
//! ```
//!
//! The `<ip>` files are the source of truth. The `by-id` hints make re-ADD, CHECK and DEL O(1);
//! they are verified against the `<ip>` files before use, so a stale hint (for instance after the
//! reference plugin released the address) is harmless. Reservations are written to a temporary
//! file first and then hard-linked into place, so a crash never leaves a half-written `<ip>` file;
//! an empty `<ip>` file (left by a crashed reference plugin) is treated as free.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nix::fcntl::{Flock, FlockArg};

use super::error::IpamError;

const LOCK_FILE: &str = "lock";
const LAST_RESERVED_PREFIX: &str = "last_reserved_ip.";
const TMP_FILE: &str = ".reserving";
const HINT_DIR: &str = "by-id";

/// Who holds a reserved address, as read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The container id.
    pub id: String,
    /// The interface name; `None` for files written by old reference versions (id only).
    pub ifname: Option<String>,
}

impl Holder {
    /// Parses file contents; `None` for an empty (crashed, stale) file.
    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.trim().lines();
        let id = lines.next()?.trim().to_owned();
        let ifname = lines
            .next()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        Some(Self { id, ifname })
    }

    /// True when this is the reservation of (`id`, `ifname`); old id-only files never match.
    pub fn is(&self, id: &str, ifname: &str) -> bool {
        self.id == id && self.ifname.as_deref() == Some(ifname)
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ifname {
            Some(ifname) => write!(f, "{}/{}", self.id, ifname),
            None => f.write_str(&self.id),
        }
    }
}

/// One network's directory, locked for as long as this value lives.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl Store {
    /// Creates `<data_dir>/<network>/` if needed and takes its lock (blocking).
    pub(crate) fn open(data_dir: &Path, network: &str) -> Result<Self, IpamError> {
        let dir = network_dir(data_dir, network)?;
        match Self::lock(dir.clone()) {
            Err(IpamError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                fs::create_dir_all(&dir).map_err(|e| IpamError::io("create data dir", &dir, e))?;
                Self::lock(dir)
            }
            other => other,
        }
    }

    /// Like [`Store::open`], but `Ok(None)` when the network directory does not exist.
    pub(crate) fn open_existing(data_dir: &Path, network: &str) -> Result<Option<Self>, IpamError> {
        let dir = network_dir(data_dir, network)?;
        if !dir.is_dir() {
            return Ok(None);
        }
        Self::lock(dir).map(Some)
    }

    fn lock(dir: PathBuf) -> Result<Self, IpamError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| IpamError::io("open lock file", &path, e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| IpamError::io("lock", &path, io::Error::from(errno)))?;
        Ok(Self { dir, _lock: lock })
    }

    /// Reserves `ip` for (`id`, `ifname`); `Ok(false)` when someone else holds it.
    pub(crate) fn reserve(&self, ip: IpAddr, id: &str, ifname: &str) -> Result<bool, IpamError> {
        Ok(self.reserve_first([ip], id, ifname)?.is_some())
    }

    /// Reserves the first free address of `candidates` for (`id`, `ifname`); `Ok(None)` when all
    /// are taken. The contents are written once to a temporary file that is then hard-linked to
    /// each candidate's name until one link succeeds, so a reservation file is never partial.
    pub(crate) fn reserve_first(
        &self,
        candidates: impl IntoIterator<Item = IpAddr>,
        id: &str,
        ifname: &str,
    ) -> Result<Option<IpAddr>, IpamError> {
        let tmp = self.dir.join(TMP_FILE);
        fs::write(&tmp, format!("{id}\r\n{ifname}"))
            .map_err(|e| IpamError::io("write reservation", &tmp, e))?;
        let result = self.link_first(&tmp, candidates);
        remove_if_present(&tmp, "remove temporary reservation")?;
        result
    }

    fn link_first(
        &self,
        tmp: &Path,
        candidates: impl IntoIterator<Item = IpAddr>,
    ) -> Result<Option<IpAddr>, IpamError> {
        for ip in candidates {
            let target = self.ip_path(ip);
            let mut linked = fs::hard_link(tmp, &target);
            if matches!(&linked, Err(e) if e.kind() == ErrorKind::AlreadyExists)
                && self.is_stale(&target)?
            {
                tracing::warn!(%ip, "replacing empty reservation file left by a crash");
                self.remove(ip)?;
                linked = fs::hard_link(tmp, &target);
            }
            match linked {
                Ok(()) => return Ok(Some(ip)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(IpamError::io("create reservation", &target, e)),
            }
        }
        Ok(None)
    }

    fn is_stale(&self, path: &Path) -> Result<bool, IpamError> {
        match fs::symlink_metadata(path) {
            Ok(meta) => Ok(meta.is_file() && meta.len() == 0),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(IpamError::io("stat reservation", path, e)),
        }
    }

    /// Who holds `ip`; `None` when it is free (no file, or an empty file).
    pub(crate) fn holder(&self, ip: IpAddr) -> Result<Option<Holder>, IpamError> {
        let path = self.ip_path(ip);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Holder::parse(&text)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IpamError::io("read reservation", &path, e)),
        }
    }

    /// Deletes the reservation of `ip`; done when it is already gone.
    pub(crate) fn remove(&self, ip: IpAddr) -> Result<(), IpamError> {
        remove_if_present(&self.ip_path(ip), "remove reservation")
    }

    /// Every reservation file: the address and its holder (`None` for empty files).
    pub(crate) fn scan(&self) -> Result<Vec<(IpAddr, Option<Holder>)>, IpamError> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| IpamError::io("read data dir", &self.dir, e))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| IpamError::io("read data dir", &self.dir, e))?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| IpAddr::from_str(n).ok())
            else {
                continue;
            };
            match fs::read_to_string(entry.path()) {
                Ok(text) => out.push((ip, Holder::parse(&text))),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(IpamError::io("read reservation", entry.path(), e)),
            }
        }
        out.sort_by_key(|(ip, _)| *ip);
        Ok(out)
    }

    /// The last address handed out from range set `set`, if recorded and readable.
    pub(crate) fn last_reserved(&self, set: usize) -> Option<IpAddr> {
        let path = self.dir.join(format!("{LAST_RESERVED_PREFIX}{set}"));
        fs::read_to_string(path).ok()?.trim().parse().ok()
    }

    /// Records `ip` as the last address handed out from range set `set`.
    pub(crate) fn set_last_reserved(&self, set: usize, ip: IpAddr) -> Result<(), IpamError> {
        let path = self.dir.join(format!("{LAST_RESERVED_PREFIX}{set}"));
        fs::write(&path, ip.to_string())
            .map_err(|e| IpamError::io("write last reserved ip", &path, e))
    }

    /// The addresses the hint of (`id`, `ifname`) lists; unverified, possibly stale.
    pub(crate) fn hint(&self, id: &str, ifname: &str) -> Result<Option<Vec<IpAddr>>, IpamError> {
        let path = self.hint_path(id, ifname)?;
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(
                text.lines().filter_map(|l| l.trim().parse().ok()).collect(),
            )),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IpamError::io("read attachment hint", &path, e)),
        }
    }

    /// Replaces the hint of (`id`, `ifname`) with `ips` (removes it when `ips` is empty).
    pub(crate) fn write_hint(
        &self,
        id: &str,
        ifname: &str,
        ips: &[IpAddr],
    ) -> Result<(), IpamError> {
        if ips.is_empty() {
            return self.remove_hint(id, ifname);
        }
        let path = self.hint_path(id, ifname)?;
        let text: String = ips.iter().map(|ip| format!("{ip}\n")).collect();
        match fs::write(&path, &text) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let dir = self.dir.join(HINT_DIR);
                fs::create_dir_all(&dir).map_err(|e| IpamError::io("create hint dir", &dir, e))?;
                fs::write(&path, &text)
            }
            other => other,
        }
        .map_err(|e| IpamError::io("write attachment hint", &path, e))
    }

    /// Deletes the hint of (`id`, `ifname`); done when it is already gone.
    pub(crate) fn remove_hint(&self, id: &str, ifname: &str) -> Result<(), IpamError> {
        remove_if_present(&self.hint_path(id, ifname)?, "remove attachment hint")
    }

    /// Every hint file as (`id`, `ifname`).
    pub(crate) fn hinted_attachments(&self) -> Result<Vec<(String, String)>, IpamError> {
        let dir = self.dir.join(HINT_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(IpamError::io("read hint dir", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| IpamError::io("read hint dir", &dir, e))?;
            if let Some((id, ifname)) = entry.file_name().to_str().and_then(|n| n.rsplit_once(':'))
            {
                out.push((id.to_owned(), ifname.to_owned()));
            }
        }
        Ok(out)
    }

    fn ip_path(&self, ip: IpAddr) -> PathBuf {
        self.dir.join(ip.to_string())
    }

    fn hint_path(&self, id: &str, ifname: &str) -> Result<PathBuf, IpamError> {
        check_component("container id", id)?;
        check_component("interface name", ifname)?;
        Ok(self.dir.join(HINT_DIR).join(format!("{id}:{ifname}")))
    }
}

/// `<data_dir>/<network>`, refusing network names that are not one path component.
fn network_dir(data_dir: &Path, network: &str) -> Result<PathBuf, IpamError> {
    check_component("network name", network)?;
    if network == "." || network == ".." {
        return Err(IpamError::InvalidName {
            what: "network name",
            name: network.to_owned(),
        });
    }
    Ok(data_dir.join(network))
}

/// Refuses names that cannot be (part of) a single file name.
pub(crate) fn check_component(what: &'static str, name: &str) -> Result<(), IpamError> {
    if name.is_empty() || name.contains(['/', '\0']) || name.len() > 200 {
        return Err(IpamError::InvalidName {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn remove_if_present(path: &Path, op: &'static str) -> Result<(), IpamError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IpamError::io(op, path, e)),
    }
}
