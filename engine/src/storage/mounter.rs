//! The [`Mounter`] seam: the two mount operations the overlay driver needs. Real impl:
//! [`LinuxMounter`]; fake: [`FakeMounter`] (records calls, mounts nothing).

use std::io;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

/// Mounting and unmounting container roots.
pub trait Mounter: Send + Sync {
    /// `mount -t overlay overlay -o OPTIONS TARGET`, with relative paths in `options`
    /// resolved against `cwd` (so the options stay short).
    fn mount_overlay(&self, cwd: &Path, options: &str, target: &Path) -> io::Result<()>;

    /// `umount TARGET` (lazily detached); `Ok` when nothing is mounted there.
    fn unmount(&self, target: &Path) -> io::Result<()>;
}

/// The kernel's mount(2) and umount2(2).
#[derive(Debug, Default, Clone, Copy)]
pub struct LinuxMounter;

impl Mounter for LinuxMounter {
    fn mount_overlay(&self, cwd: &Path, options: &str, target: &Path) -> io::Result<()> {
        let (cwd, options, target) = (cwd.to_path_buf(), options.to_owned(), target.to_path_buf());
        // chdir is per process; a thread that unshares CLONE_FS gets its own cwd, so the
        // relative lowerdir paths resolve without disturbing the rest of the program.
        std::thread::spawn(move || -> io::Result<()> {
            unshare(CloneFlags::CLONE_FS)?;
            std::env::set_current_dir(&cwd)?;
            mount(
                Some("overlay"),
                &target,
                Some("overlay"),
                MsFlags::empty(),
                Some(options.as_str()),
            )?;
            Ok(())
        })
        .join()
        .map_err(|_| io::Error::other("mount thread panicked"))?
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        match umount2(target, MntFlags::MNT_DETACH) {
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => Ok(()),
            other => other.map_err(io::Error::from),
        }
    }
}

/// One recorded call.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountCall {
    /// `mount_overlay(cwd, options, target)`.
    Overlay {
        /// Directory the options are relative to.
        cwd: std::path::PathBuf,
        /// The mount options.
        options: String,
        /// The mount point.
        target: std::path::PathBuf,
    },
    /// `unmount(target)`.
    Unmount(std::path::PathBuf),
}

/// Records calls instead of mounting.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct FakeMounter {
    /// Calls so far.
    pub calls: std::sync::Mutex<Vec<MountCall>>,
}

#[cfg(any(test, feature = "testing"))]
impl Mounter for FakeMounter {
    fn mount_overlay(&self, cwd: &Path, options: &str, target: &Path) -> io::Result<()> {
        let call = MountCall::Overlay {
            cwd: cwd.into(),
            options: options.into(),
            target: target.into(),
        };
        self.calls
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .push(call);
        Ok(())
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        self.calls
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .push(MountCall::Unmount(target.into()));
        Ok(())
    }
}
