//! Network namespaces: opening, creating (`ip netns add`), removing (`ip netns del`) and running
//! code inside one.
//!
//! A [`Netns`] is an open file descriptor on a namespace file (a bind mount under a netns dir
//! such as `/run/berth/netns`, or `/proc/<pid>/ns/net`). `setns` and `unshare` change only the
//! calling thread, so everything here that switches namespaces does it on a dedicated, short-lived
//! thread and never on the caller's, except [`Netns::run_here`], which single-threaded plugin
//! processes use to skip the thread. Links, addresses and routes are left to [`crate::netlink`].

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::sys::statfs::{NSFS_MAGIC, PROC_SUPER_MAGIC};

/// The namespace file of the calling thread's network namespace.
const THREAD_SELF_NET: &str = "/proc/thread-self/ns/net";
/// `NS_GET_NSTYPE` from `<linux/nsfs.h>`: `_IO(0xb7, 0x3)`.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Serialises the "make the netns dir a shared mount point" step within this process, so two
/// threads creating their first namespace at once don't stack two bind mounts.
static SHARED_DIR_LOCK: Mutex<()> = Mutex::new(());

/// What went wrong with a network namespace. `NotFound` and `NotNetns` stay distinct because CNI
/// callers map them to different error codes.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// Nothing exists at the path.
    #[error("netns {path} does not exist")]
    NotFound {
        /// The path that was opened.
        path: PathBuf,
    },
    /// The path exists but is not a network namespace (a regular file, a directory, or a
    /// namespace file whose namespace is gone or of another type).
    #[error("{path} is not a network namespace")]
    NotNetns {
        /// The path that was opened.
        path: PathBuf,
    },
    /// `create_named` found a file already at the target path.
    #[error("netns {path} already exists")]
    AlreadyExists {
        /// The namespace file.
        path: PathBuf,
    },
    /// The namespace name is empty, `.`/`..`, or contains `/`.
    #[error("invalid netns name {name:?}")]
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// A system call on the namespace or its mount point failed.
    #[error("{op} {path}: {source}")]
    Sys {
        /// What was attempted, like `open`, `bind mount netns onto` or `make shared`.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// Creating the netns directory failed.
    #[error("create netns dir {dir}: {source}")]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The helper thread that enters the namespace could not be started.
    #[error("spawn thread to enter netns {path}: {source}")]
    Spawn {
        /// The namespace file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl NetnsError {
    fn sys<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> NetnsError + 'a {
        move |source| NetnsError::Sys {
            op,
            path: path.to_owned(),
            source,
        }
    }

    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Self::Sys { source, .. } => Some(*source),
            Self::CreateDir { source, .. } | Self::Spawn { source, .. } => {
                source.raw_os_error().map(Errno::from_raw)
            }
            Self::NotFound { .. } => Some(Errno::ENOENT),
            Self::AlreadyExists { .. } => Some(Errno::EEXIST),
            Self::NotNetns { .. } | Self::InvalidName { .. } => None,
        }
    }
}

/// An open network namespace. Holding it keeps the namespace alive even after its bind mount is
/// removed.
#[derive(Debug)]
pub struct Netns {
    fd: OwnedFd,
    path: PathBuf,
}

impl Netns {
    /// Opens the namespace at `path` and checks that it is a network namespace.
    pub fn open(path: &Path) -> Result<Netns, NetnsError> {
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let fd = match nix::fcntl::open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => {
                return Err(NetnsError::NotFound {
                    path: path.to_owned(),
                });
            }
            Err(e) => return Err(NetnsError::sys("open", path)(e)),
        };
        verify_netns(&fd, path)?;
        Ok(Netns {
            fd,
            path: path.to_owned(),
        })
    }

    /// Opens the calling thread's network namespace (`/proc/thread-self/ns/net`).
    pub fn current() -> Result<Netns, NetnsError> {
        Self::open(Path::new(THREAD_SELF_NET))
    }

    /// Creates a new, empty network namespace bind-mounted at `<dir>/<name>`, like
    /// `ip netns add` does under `/run/netns`. `lo` is left down.
    ///
    /// `dir` is created if needed and made a shared mount point (bind-mounting it onto itself
    /// first if it is not a mount point yet), so the namespace stays visible from other mount
    /// namespaces. On failure, nothing is left behind at `<dir>/<name>`.
    pub fn create_named(dir: &Path, name: &str) -> Result<Netns, NetnsError> {
        validate_name(name)?;
        fs::create_dir_all(dir).map_err(|source| NetnsError::CreateDir {
            dir: dir.to_owned(),
            source,
        })?;
        ensure_shared_mount(dir)?;
        let path = dir.join(name);
        let flags = OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
        match nix::fcntl::open(&path, flags, Mode::empty()) {
            Ok(fd) => drop(fd),
            Err(Errno::EEXIST) => return Err(NetnsError::AlreadyExists { path }),
            Err(e) => return Err(NetnsError::sys("create mount point", &path)(e)),
        }
        let created = bind_new_netns(&path).and_then(|()| Netns::open(&path));
        if created.is_err() {
            // Best effort: the bind mount may or may not exist; the file does.
            let _ = nix::mount::umount2(&path, MntFlags::MNT_DETACH);
            let _ = nix::unistd::unlink(&path);
        }
        created
    }

    /// Removes the namespace mounted at `<dir>/<name>` (`ip netns del`). Succeeds when it is
    /// already gone.
    pub fn remove_named(dir: &Path, name: &str) -> Result<(), NetnsError> {
        validate_name(name)?;
        Self::remove_path(&dir.join(name))
    }

    /// Undoes what [`Netns::create_named`] made of `dir` itself (a shared bind mount onto
    /// itself, as iproute2 does for `/run/netns`), for when the directory is going away. Its
    /// namespaces should be removed first. Succeeds when `dir` is not a mount point.
    pub fn release_dir(dir: &Path) -> Result<(), NetnsError> {
        match nix::mount::umount2(dir, MntFlags::MNT_DETACH) {
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(NetnsError::sys("unmount", dir)(e)),
        }
    }

    /// Lazily unmounts and unlinks a namespace file. Succeeds when it is already gone. The
    /// namespace itself lives on while processes or open [`Netns`] handles still use it.
    pub fn remove_path(path: &Path) -> Result<(), NetnsError> {
        match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
            // EINVAL: not a mount point (already unmounted, or never mounted).
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(NetnsError::sys("unmount", path)(e)),
        }
        match nix::unistd::unlink(path) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(NetnsError::sys("remove", path)(e)),
        }
    }

    /// Runs `f` on a dedicated thread that first enters this namespace, and returns its result.
    /// The caller's thread never changes namespace. A panic in `f` is propagated to the caller.
    pub fn run_in<T: Send, F: FnOnce() -> T + Send>(&self, f: F) -> Result<T, NetnsError> {
        let joined = std::thread::scope(|scope| {
            let handle = std::thread::Builder::new()
                .name("berth-netns".into())
                .spawn_scoped(scope, || {
                    nix::sched::setns(self.fd.as_fd(), CloneFlags::CLONE_NEWNET)
                        .map_err(NetnsError::sys("enter netns", &self.path))?;
                    Ok(f())
                })
                .map_err(|source| NetnsError::Spawn {
                    path: self.path.clone(),
                    source,
                })?;
            Ok(handle.join())
        })?;
        match joined {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Runs `f` on the calling thread inside this namespace, then moves the thread back to
    /// `home`, which must be the namespace it is in now. Costs two `setns` calls instead of a
    /// thread, for single-threaded, short-lived processes such as the CNI plugins (a socket
    /// opened by `f` stays bound to this namespace). Anything else should use
    /// [`Netns::run_in`], which never moves the caller. If the thread cannot go back home the
    /// process aborts: whatever it did next would happen in the wrong namespace.
    pub fn run_here<T>(&self, home: &Netns, f: impl FnOnce() -> T) -> Result<T, NetnsError> {
        nix::sched::setns(self.fd.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(NetnsError::sys("enter netns", &self.path))?;
        let out = f();
        if let Err(e) = nix::sched::setns(home.fd.as_fd(), CloneFlags::CLONE_NEWNET) {
            tracing::error!(%e, home = %home.path.display(), "cannot return to the home netns");
            std::process::abort();
        }
        Ok(out)
    }

    /// Whether both handles refer to the same namespace (same device and inode).
    pub fn same_as(&self, other: &Netns) -> bool {
        match (identity(self.fd.as_fd()), identity(other.fd.as_fd())) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// The path this namespace was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second handle on the same namespace (dup of the file descriptor).
    pub fn try_clone(&self) -> Result<Netns, NetnsError> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| NetnsError::sys("dup", &self.path)(io_errno(&e)))?;
        Ok(Netns {
            fd,
            path: self.path.clone(),
        })
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The (device, inode) pair that identifies a namespace file; `None` when fstat fails.
pub(crate) fn identity(fd: BorrowedFd<'_>) -> Option<(u64, u64)> {
    nix::sys::stat::fstat(fd)
        .ok()
        .map(|st| (st.st_dev, st.st_ino))
}

/// The (device, inode) of the calling thread's network namespace.
pub(crate) fn current_identity() -> Option<(u64, u64)> {
    nix::sys::stat::stat(THREAD_SELF_NET)
        .ok()
        .map(|st| (st.st_dev, st.st_ino))
}

fn io_errno(e: &io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

fn validate_name(name: &str) -> Result<(), NetnsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(NetnsError::InvalidName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks that `fd` is a namespace file (nsfs, or procfs on kernels before 3.19) of type
/// CLONE_NEWNET.
fn verify_netns(fd: &OwnedFd, path: &Path) -> Result<(), NetnsError> {
    let not_netns = || NetnsError::NotNetns {
        path: path.to_owned(),
    };
    let fs_type = nix::sys::statfs::fstatfs(fd)
        .map_err(NetnsError::sys("statfs", path))?
        .filesystem_type();
    let old_proc_ns = fs_type == PROC_SUPER_MAGIC && path.ends_with("ns/net");
    if fs_type != NSFS_MAGIC && !old_proc_ns {
        return Err(not_netns());
    }
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the namespace behind the fd,
    // which stays open for the duration of the call.
    let nstype = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(fd), NS_GET_NSTYPE) };
    if nstype < 0 {
        // ENOTTY/EINVAL: the kernel predates NS_GET_NSTYPE (4.11); trust the filesystem type.
        return match Errno::last() {
            Errno::ENOTTY | Errno::EINVAL => Ok(()),
            e => Err(NetnsError::sys("query namespace type of", path)(e)),
        };
    }
    if nstype == libc::CLONE_NEWNET {
        Ok(())
    } else {
        Err(not_netns())
    }
}

/// Makes `dir` a shared mount point, like iproute2 does for `/run/netns`: try `--make-shared`;
/// if `dir` is not a mount point (EINVAL), bind-mount it onto itself and try again.
fn ensure_shared_mount(dir: &Path) -> Result<(), NetnsError> {
    let _guard = SHARED_DIR_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let make_shared = || {
        nix::mount::mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match make_shared() {
        Ok(()) => return Ok(()),
        Err(Errno::EINVAL) => {}
        Err(e) => return Err(NetnsError::sys("make shared", dir)(e)),
    }
    nix::mount::mount(
        Some(dir),
        dir,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(NetnsError::sys("bind mount onto itself", dir))?;
    make_shared().map_err(NetnsError::sys("make shared", dir))
}

/// On a short-lived thread: unshare a new network namespace and bind-mount it onto `path`.
fn bind_new_netns(path: &Path) -> Result<(), NetnsError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("berth-netns-new".into())
            .spawn_scoped(scope, || {
                nix::sched::unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(NetnsError::sys("unshare netns for", path))?;
                nix::mount::mount(
                    Some(THREAD_SELF_NET),
                    path,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(NetnsError::sys("bind mount netns onto", path))
            })
            .map_err(|source| NetnsError::Spawn {
                path: path.to_owned(),
                source,
            })?;
        match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_missing_path_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = Netns::open(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(err, NetnsError::NotFound { .. }), "{err:?}");
    }

    #[test]
    fn open_regular_file_is_not_netns() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        fs::write(&file, b"").unwrap();
        let err = Netns::open(&file).unwrap_err();
        assert!(matches!(err, NetnsError::NotNetns { .. }), "{err:?}");
        let err = Netns::open(dir.path()).unwrap_err();
        assert!(matches!(err, NetnsError::NotNetns { .. }), "{err:?}");
    }

    #[test]
    fn current_is_same_as_itself_and_run_in_returns_value() {
        let a = Netns::current().unwrap();
        let b = Netns::current().unwrap();
        assert!(a.same_as(&b));
        assert!(a.same_as(&a.try_clone().unwrap()));
        let inside = a.run_in(current_identity).unwrap();
        assert_eq!(inside, identity(a.as_fd()));
    }

    #[test]
    fn remove_path_succeeds_when_already_gone() {
        let dir = tempfile::tempdir().unwrap();
        Netns::remove_path(&dir.path().join("gone")).unwrap();
        Netns::remove_named(dir.path(), "gone").unwrap();
    }

    #[test]
    fn names_with_slashes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "..", "a/b"] {
            let err = Netns::remove_named(dir.path(), bad).unwrap_err();
            assert!(matches!(err, NetnsError::InvalidName { .. }), "{bad}");
        }
    }
}
