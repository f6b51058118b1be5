//! Mounts: turning the config's mount options into flags (pure, tested here), resolving a
//! destination inside the root without following symlinks out of it, and (in [`rootfs`] and
//! [`devices`]) building the container's root filesystem inside its mount namespace.

pub mod devices;
pub mod mountinfo;
pub mod rootfs;

use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;

/// Errors while building the root filesystem; each names the path it was working on.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// mount(2), umount(2) or pivot_root(2) failed.
    #[error("{op} {target}: {source}")]
    Sys {
        /// What was being done (e.g. `mount proc`, `remount ro`, `pivot_root`).
        op: String,
        /// The path in question.
        target: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// Creating a mount point, device node or symlink failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A symlink chain inside the root is too long or loops.
    #[error("resolve {0} inside the container root: too many symlinks")]
    SymlinkLoop(PathBuf),
    /// The config's `rootfsPropagation` is not a known mode.
    #[error(
        "invalid config field `linux.rootfsPropagation`: {0:?} is not one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable"
    )]
    BadPropagation(String),
}

/// Mount options split into what mount(2) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount call itself.
    pub flags: MsFlags,
    /// Propagation flags, applied by a second call.
    pub propagation: MsFlags,
    /// Filesystem-specific options (`mode=755,size=65536k`).
    pub data: String,
    /// `bind` or `rbind` was given.
    pub bind: bool,
}

/// Parse an option list the way mount(8) does: known flags become bits, the rest is data.
pub fn parse_options(options: &[String]) -> MountOptions {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: String::new(),
        bind: false,
    };
    let mut data = Vec::new();
    for opt in options {
        let (set, clear, prop) = match opt.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty(), MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY, MsFlags::empty()),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty(), MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID, MsFlags::empty()),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty(), MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV, MsFlags::empty()),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty(), MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC, MsFlags::empty()),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty(), MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty(), MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty(), MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty(), MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME, MsFlags::empty()),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty(), MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty(), MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty(), MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME, MsFlags::empty()),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty(), MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty(), MsFlags::empty()),
            "rbind" => (
                MsFlags::MS_BIND | MsFlags::MS_REC,
                MsFlags::empty(),
                MsFlags::empty(),
            ),
            other => match propagation_flags(other) {
                Some(p) => (MsFlags::empty(), MsFlags::empty(), p),
                None => {
                    if !other.is_empty() && !other.starts_with("tmpcopyup") {
                        data.push(other.to_owned());
                    }
                    continue;
                }
            },
        };
        out.flags = (out.flags | set) & !clear;
        out.propagation |= prop;
    }
    out.bind = out.flags.contains(MsFlags::MS_BIND);
    out.data = data.join(",");
    out
}

/// Propagation option name to flags (`rslave` = MS_SLAVE|MS_REC).
pub fn propagation_flags(name: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

/// Join `unsafe_path` to `root`, resolving symlinks as if `root` were `/`: no component,
/// `..` or symlink target can lead outside `root`. Missing components are kept as they are.
pub fn secure_join(root: &Path, unsafe_path: &Path) -> Result<PathBuf, MountError> {
    let mut resolved = PathBuf::new();
    let mut pending: Vec<PathBuf> = unsafe_path
        .components()
        .rev()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.components().next() {
            Some(Component::RootDir | Component::CurDir) | None => continue,
            Some(Component::ParentDir) => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match std::fs::symlink_metadata(&full) {
            Ok(md) if md.file_type().is_symlink() => {
                links += 1;
                if links > 255 {
                    return Err(MountError::SymlinkLoop(unsafe_path.to_owned()));
                }
                let target = std::fs::read_link(&full).map_err(|source| MountError::Io {
                    op: "readlink",
                    path: full.clone(),
                    source,
                })?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                pending.extend(
                    target
                        .components()
                        .rev()
                        .map(|c| PathBuf::from(c.as_os_str())),
                );
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> MountOptions {
        parse_options(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_flags_propagation_and_data() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k", "rslave"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert!(!o.bind);
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let o = opts(&["rbind", "ro", "rw", "nodev"]);
        assert!(o.bind);
        assert_eq!(
            o.flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_NODEV
        );
    }

    #[test]
    fn secure_join_keeps_symlinks_inside_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("real/dir")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("real/up")).unwrap();
        assert_eq!(
            secure_join(root, Path::new("/abs/dir")).unwrap(),
            root.join("real/dir")
        );
        assert_eq!(
            secure_join(root, Path::new("/real/up/passwd")).unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(
            secure_join(root, Path::new("/../../x")).unwrap(),
            root.join("x")
        );
    }

    #[test]
    fn secure_join_detects_loops() {
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/loop", tmp.path().join("loop")).unwrap();
        assert!(matches!(
            secure_join(tmp.path(), Path::new("/loop/x")),
            Err(MountError::SymlinkLoop(_))
        ));
    }
}
