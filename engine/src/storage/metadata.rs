//! File metadata without following symlinks: ownership, modes, times, xattrs and device
//! numbers, applied to a path (`lchown`, `chmod`, `utimensat(AT_SYMLINK_NOFOLLOW)`,
//! `lsetxattr`). Shared by layer extraction, the vfs copier and volume copy-up.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use nix::fcntl::{AT_FDCWD, AtFlags};
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat};

use super::StorageError;

/// Owner, mode and times to give a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attrs {
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Permission bits including setuid/setgid/sticky (ignored for symlinks).
    pub mode: u32,
    /// Modification time: seconds and nanoseconds since the epoch.
    pub mtime: (i64, i64),
    /// Access time: seconds and nanoseconds since the epoch.
    pub atime: (i64, i64),
}

impl Attrs {
    /// The attributes of an existing file's `lstat`.
    pub fn of(m: &fs::Metadata) -> Self {
        Self {
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode() & 0o7777,
            mtime: (m.mtime(), m.mtime_nsec()),
            atime: (m.atime(), m.atime_nsec()),
        }
    }
}

/// Whether ownership can be set (as root). Unprivileged extraction keeps the caller's
/// ownership, as GNU tar does.
pub fn can_chown() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Applies owner (when `chown`), mode (not for symlinks) and times to `path`. Times go last so
/// nothing after them changes the mtime.
pub fn apply(path: &Path, a: &Attrs, is_symlink: bool, chown: bool) -> Result<(), StorageError> {
    if chown {
        fchownat(
            AT_FDCWD,
            path,
            Some(Uid::from_raw(a.uid)),
            Some(Gid::from_raw(a.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(StorageError::nix("chown", path))?;
    }
    if !is_symlink {
        fs::set_permissions(path, fs::Permissions::from_mode(a.mode))
            .map_err(StorageError::io("chmod", path))?;
    }
    set_times(path, a)
}

/// Sets access and modification times without following a symlink.
pub fn set_times(path: &Path, a: &Attrs) -> Result<(), StorageError> {
    let ts = |(s, n): (i64, i64)| TimeSpec::new(s, n);
    utimensat(
        AT_FDCWD,
        path,
        &ts(a.atime),
        &ts(a.mtime),
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(StorageError::nix("set times of", path))
}

/// Copies every extended attribute of `src` to `dst` (neither followed), skipping the
/// overlayfs-private `trusted.overlay.*` ones unless `keep_overlay`.
pub fn copy_xattrs(src: &Path, dst: &Path, keep_overlay: bool) -> Result<(), StorageError> {
    let names = match xattr::list(src) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(()),
        Err(e) => {
            return Err(StorageError::Io {
                op: "list xattrs of",
                path: src.into(),
                source: e,
            });
        }
    };
    for name in names {
        if !keep_overlay && name.to_string_lossy().starts_with("trusted.overlay.") {
            continue;
        }
        if let Some(v) = xattr::get(src, &name).map_err(StorageError::io("read xattr of", src))? {
            xattr::set(dst, &name, &v).map_err(StorageError::io("set xattr on", dst))?;
        }
    }
    Ok(())
}
