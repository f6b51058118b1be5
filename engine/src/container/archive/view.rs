//! Where archive work runs: a thread of its own whose filesystem view is the container's.
//! The thread first stops sharing its root and working directory with the process
//! (`unshare(CLONE_FS)`), then enters the running container's mount namespace (its root is
//! the container's root, with its volumes and binds) or, for a container that does not run,
//! chroots into its root, mounted for the call under the container's start lock and
//! unmounted after. The rest of the process is untouched; the thread ends with the call.

use std::fs::File;
use std::os::fd::AsFd as _;
use std::path::PathBuf;

use anyhow::Context as _;
use nix::sched::{CloneFlags, setns, unshare};

use crate::container::lifecycle::Engine;
use crate::container::record::{ContainerRecord, Status};
use crate::storage::RwLayerId;

/// How the thread gets into the container.
enum Enter {
    /// The running container's mount namespace.
    Namespace(File),
    /// The mounted root of a stopped container.
    Root(PathBuf),
}

/// Runs `f` with the container's root as `/`.
pub fn in_container<T: Send>(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    f: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    if let Some(ns) = running_namespace(rec) {
        return run_inside(Enter::Namespace(ns), f);
    }
    let _lock = eng.containers.lock_networks(&rec.id)?;
    let now = eng.containers.load(&rec.id)?;
    if let Some(ns) = running_namespace(&now) {
        return run_inside(Enter::Namespace(ns), f);
    }
    let rw = RwLayerId::new(&rec.id)?;
    let root = eng.store.mount_container_root(&rw)?;
    let out = run_inside(Enter::Root(root), f);
    if let Err(e) = eng.store.unmount_container_root(&rw) {
        tracing::warn!(container = %rec.id, error = %e, "unmount after archive");
    }
    out
}

/// The mount namespace of a running (or paused) container's init, if it has one.
fn running_namespace(rec: &ContainerRecord) -> Option<File> {
    if !matches!(rec.state.status, Status::Running | Status::Paused) || rec.state.pid <= 0 {
        return None;
    }
    File::open(format!("/proc/{}/ns/mnt", rec.state.pid)).ok()
}

/// Runs `f` on a new thread that has entered the container first.
fn run_inside<T: Send>(
    enter: Enter,
    f: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("archive".into())
            .spawn_scoped(s, move || {
                unshare(CloneFlags::CLONE_FS).context("unshare the filesystem view")?;
                match &enter {
                    Enter::Namespace(ns) => setns(ns.as_fd(), CloneFlags::CLONE_NEWNS)
                        .context("enter the container's mount namespace")?,
                    Enter::Root(root) => nix::unistd::chroot(root)
                        .with_context(|| format!("chroot into {}", root.display()))?,
                }
                nix::unistd::chdir("/").context("chdir to the container's root")?;
                f()
            })
            .context("start the archive thread")?;
        worker
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the archive thread panicked")))
    })
}
