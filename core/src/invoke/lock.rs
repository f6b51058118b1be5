//! File locks (flock) that let many runtime processes work on networks at once.
//!
//! ADD, DEL and CHECK take the network's lock shared and the attachment's lock exclusive, so
//! different containers attach in parallel while one container's operations are serialised (the
//! spec forbids parallel operations on one attachment). GC and network removal take the
//! network's lock exclusive (the spec: no ADD/DEL in flight during GC). Lock files live under
//! the run root and are never removed: removing a flock'd file lets two holders in at once.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::error::InvokeError;

/// Shared or exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Many holders at once.
    Shared,
    /// One holder.
    Exclusive,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct FileLock {
    _flock: Flock<File>,
}

/// Takes `mode` on `path` (created if missing), waiting as long as it takes.
pub fn lock_file(path: &Path, mode: LockMode) -> Result<FileLock, InvokeError> {
    let err = |source| InvokeError::Lock {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(err)?;
    let arg = match mode {
        LockMode::Shared => FlockArg::LockShared,
        LockMode::Exclusive => FlockArg::LockExclusive,
    };
    let flock = Flock::lock(file, arg).map_err(|(_, errno)| err(errno.into()))?;
    Ok(FileLock { _flock: flock })
}

/// The lock file of a network.
pub fn network_lock_path(lock_dir: &Path, network: &str) -> PathBuf {
    lock_dir.join(format!("{network}.lock"))
}

/// The lock file of one attachment.
pub fn attachment_lock_path(
    lock_dir: &Path,
    network: &str,
    container: &str,
    ifname: &str,
) -> PathBuf {
    lock_dir
        .join("attachments")
        .join(format!("{network}-{container}-{ifname}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_and_shared_shares() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("locks/n.lock");
        let a = lock_file(&p, LockMode::Shared).unwrap();
        let b = lock_file(&p, LockMode::Shared).unwrap();
        let f = File::open(&p).unwrap();
        assert!(Flock::lock(f, FlockArg::LockExclusiveNonblock).is_err());
        drop((a, b));
        let f = File::open(&p).unwrap();
        assert!(Flock::lock(f, FlockArg::LockExclusiveNonblock).is_ok());
    }
}
