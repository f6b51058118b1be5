//! The on-disk reservation store, in the reference host-local plugin's format so that its tools
//! (and a migration in either direction) keep working:
//!
//! ```text
//! <dataDir>/<network>/lock                  flock(LOCK_EX) held for every operation
//! <dataDir>/<network>/<ip>                  "<containerID>\r\n<ifname>" (old files: "<containerID>")
//! <dataDir>/<network>/last_reserved_ip.<n>  last address handed out from range set n
//! <dataDir>/<network>/by-id/<id>:<ifname>   berth only: a hard link to the attachment's first
//!                                           <ip> file, whose `user.berth.ips` xattr lists its
//!                                           addresses, one a line
//! <dataDir>/<network>/.reserving            berth only: scratch file for the next reservation
//! ```
//!
//! The `<ip>` files are the source of truth. The `by-id` hints make re-ADD, CHECK and DEL O(1);
//! they are verified against the `<ip>` files before use, so a stale hint (for instance after the
//! reference plugin released the address) is harmless. Older berth versions wrote hints as plain
//! files listing the addresses, and berth still does on file systems without user xattrs; both
//! forms are read. Reservations are written to the scratch file first and then hard-linked into
//! place, so a crash never leaves a half-written `<ip>` file; an empty `<ip>` file (left by a
//! crashed reference plugin) is treated as free.
//!
//! Creating an inode is the slowest step of an ADD on ext4 (hundreds of microseconds on a busy
//! file system without a journal, where the allocator skips recently freed inodes), so an ADD
//! creates at most one: a hint is a link, not a file, and a released `<ip>` file becomes the
//! next scratch file instead of being deleted. Small files are rewritten in place rather than
//! truncated, since ext4 flushes a file truncated to zero when it is closed.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::net::IpAddr;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, Flock, FlockArg, RenameFlags, renameat2};

use super::error::IpamError;

const LOCK_FILE: &str = "lock";
const LAST_RESERVED_PREFIX: &str = "last_reserved_ip.";
const TMP_FILE: &str = ".reserving";
const HINT_DIR: &str = "by-id";
/// The xattr on a hint's inode that lists the attachment's addresses.
const HINT_XATTR: &str = "user.berth.ips";

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
    /// are taken. The contents are written once to the scratch file, which is then hard-linked to
    /// each candidate's name until one link succeeds, so a reservation file is never partial.
    pub(crate) fn reserve_first(
        &self,
        candidates: impl IntoIterator<Item = IpAddr>,
        id: &str,
        ifname: &str,
    ) -> Result<Option<IpAddr>, IpamError> {
        let tmp = self.dir.join(TMP_FILE);
        self.write_scratch(&tmp, format!("{id}\r\n{ifname}").as_bytes())
            .map_err(|e| IpamError::io("write reservation", &tmp, e))?;
        let result = self.link_first(&tmp, candidates);
        // Once linked, the scratch file is the reservation; unlinked, it stays for the next one.
        if !matches!(result, Ok(None)) {
            remove_if_present(&tmp, "remove temporary reservation")?;
        }
        result
    }

    /// Writes `contents` to the scratch file, reusing the inode a released reservation left
    /// there. A scratch file still linked elsewhere (a crash between linking and unlinking it, or
    /// between releasing an address and removing its hint) is replaced, never written through.
    fn write_scratch(&self, tmp: &Path, contents: &[u8]) -> io::Result<()> {
        let open = || {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(tmp)
        };
        let mut file = open()?;
        if file.metadata()?.nlink() > 1 {
            fs::remove_file(tmp)?;
            file = open()?;
        }
        replace_contents(&file, contents)
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

    /// Deletes the reservation of `ip`; done when it is already gone. The file becomes the
    /// scratch file for the next reservation when there is none yet (an inode saved).
    pub(crate) fn remove(&self, ip: IpAddr) -> Result<(), IpamError> {
        let path = self.ip_path(ip);
        let tmp = self.dir.join(TMP_FILE);
        match renameat2(
            AT_FDCWD,
            &path,
            AT_FDCWD,
            &tmp,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            // EEXIST: a scratch file is there already; EINVAL: no RENAME_NOREPLACE here.
            Err(_) => remove_if_present(&path, "remove reservation"),
        }
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
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .and_then(|file| replace_contents(&file, ip.to_string().as_bytes()))
            .map_err(|e| IpamError::io("write last reserved ip", &path, e))
    }

    /// The addresses the hint of (`id`, `ifname`) lists; unverified, possibly stale.
    pub(crate) fn hint(&self, id: &str, ifname: &str) -> Result<Option<Vec<IpAddr>>, IpamError> {
        let path = self.hint_path(id, ifname)?;
        let text = match xattr::get(&path, HINT_XATTR) {
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            // A hint file of an older berth, or one written without xattrs, lists the addresses
            // as its contents (a link without its xattr yields none).
            Ok(None) | Err(_) => match fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(IpamError::io("read attachment hint", &path, e)),
            },
        };
        Ok(Some(
            text.lines().filter_map(|l| l.trim().parse().ok()).collect(),
        ))
    }

    /// Replaces the hint of (`id`, `ifname`) with `ips` (removes it when `ips` is empty): tags
    /// the first address's reservation file with the list, then links the hint to it. Where the
    /// file system has no user xattrs, the hint is a file listing the addresses instead.
    pub(crate) fn write_hint(
        &self,
        id: &str,
        ifname: &str,
        ips: &[IpAddr],
    ) -> Result<(), IpamError> {
        let Some(&first) = ips.first() else {
            return self.remove_hint(id, ifname);
        };
        let path = self.hint_path(id, ifname)?;
        let text: String = ips.iter().map(|ip| format!("{ip}\n")).collect();
        let target = self.ip_path(first);
        match xattr::set(&target, HINT_XATTR, text.as_bytes()) {
            Ok(()) => self.in_hint_dir(&path, || match fs::hard_link(&target, &path) {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    fs::remove_file(&path)?;
                    fs::hard_link(&target, &path)
                }
                other => other,
            }),
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                self.in_hint_dir(&path, || fs::write(&path, &text))
            }
            Err(e) => Err(IpamError::io("tag reservation", &target, e)),
        }
    }

    /// Runs `write`, creating the hint directory and retrying once when it is missing.
    fn in_hint_dir(
        &self,
        path: &Path,
        write: impl Fn() -> io::Result<()>,
    ) -> Result<(), IpamError> {
        match write() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let dir = self.dir.join(HINT_DIR);
                fs::create_dir_all(&dir).map_err(|e| IpamError::io("create hint dir", &dir, e))?;
                write()
            }
            other => other,
        }
        .map_err(|e| IpamError::io("write attachment hint", path, e))
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

/// Makes `contents` the whole of `file`, writing in place instead of truncating first.
fn replace_contents(file: &File, contents: &[u8]) -> io::Result<()> {
    file.write_all_at(contents, 0)?;
    file.set_len(contents.len() as u64)
}

fn remove_if_present(path: &Path, op: &'static str) -> Result<(), IpamError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IpamError::io(op, path, e)),
    }
}
