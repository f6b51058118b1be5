//! One host-wide lock around changes to the networks in berth's table.
//!
//! Setting a network up, taking over another's subnet and removing unused networks read the
//! table, decide, then write it: they hold the lock exclusively. The fast path of a network
//! that is already in place holds it shared, so a GC that found a network without attachments
//! cannot delete its chain between that network's next ADD reserving an address and finding
//! the chain present. A flock (the invoker's [`lock_file`]), so a crashed holder releases it.

use std::path::Path;

use crate::invoke::lock::{FileLock, LockMode, lock_file};

/// Where the lock lives: `/run/lock` where it exists, else `/run`.
fn path() -> &'static Path {
    if Path::new("/run/lock").is_dir() {
        Path::new("/run/lock/berth-firewall.lock")
    } else {
        Path::new("/run/berth-firewall.lock")
    }
}

/// Takes the lock. One that cannot be taken only warns: the firewall still works, without
/// protection from a concurrent GC.
pub(super) fn take(mode: LockMode) -> Option<FileLock> {
    lock_file(path(), mode)
        .inspect_err(|e| tracing::warn!(error = %e, "cannot take the firewall lock"))
        .ok()
}
