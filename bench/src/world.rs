//! The bench world: a temp dir that holds the bench's network namespace files and the plugins'
//! IPAM data, and hands out containers (a fresh named netns each).
//!
//! By default the temp dir is a private tmpfs, mounted in a mount namespace of the bench's own
//! (so nothing outside the bench sees it, and it goes when the bench exits). The reason is the
//! disk's memory: ext4 without a journal (this VM's root file system) does not reuse an inode
//! deleted in the last minute (five while its inode table block is dirty), and finding a free
//! one walks past every such inode in the block group, a buffer-cache lookup each. The teardown
//! of one scale phase deletes a thousand reservation and netns files, so the next phase (the
//! other implementation) would pay for them on every ADD, and the same plugin's figures would
//! depend on what ran before it. [`World::on_disk`] keeps the old
//! behaviour for measuring a given file system.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use berth_core::netns::Netns;
use nix::mount::{MntFlags, MsFlags};

/// A bench world: a temp dir (maybe a private tmpfs) and a counter for unique names.
pub struct World {
    dir: tempfile::TempDir,
    tmpfs: bool,
    next: AtomicUsize,
}

impl World {
    /// A world on a fresh tmpfs, visible only to this process and its children. Call it before
    /// the process starts any thread: it moves the process into a new mount namespace.
    pub fn on_tmpfs() -> anyhow::Result<World> {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .context("unshare a mount namespace for the bench world")?;
        // Nothing mounted from here on propagates back to the machine's mount namespace.
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .context("make the bench's mounts private")?;
        let dir = tempdir()?;
        nix::mount::mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0700"),
        )
        .with_context(|| format!("mount a tmpfs on {}", dir.path().display()))?;
        Ok(World {
            dir,
            tmpfs: true,
            next: AtomicUsize::new(0),
        })
    }

    /// A world in a temp dir on the disk (`$TMPDIR`).
    pub fn on_disk() -> anyhow::Result<World> {
        Ok(World {
            dir: tempdir()?,
            tmpfs: false,
            next: AtomicUsize::new(0),
        })
    }

    /// Where the world lives, for the report.
    pub fn describe(&self) -> String {
        let fs = if self.tmpfs {
            "a private tmpfs"
        } else {
            "disk"
        };
        format!("{} ({fs})", self.dir.path().display())
    }

    /// The directory of the bench's named network namespaces.
    pub fn netns_dir(&self) -> PathBuf {
        self.dir.path().join("netns")
    }

    /// A fresh container: a unique id and a new named netns.
    pub fn new_container(&self) -> anyhow::Result<(String, Netns)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("bench{n}");
        let ns = Netns::create_named(&self.netns_dir(), &id)?;
        Ok((id, ns))
    }

    /// Removes a container's netns file (idempotent).
    pub fn remove_container(&self, id: &str) -> anyhow::Result<()> {
        Ok(Netns::remove_named(&self.netns_dir(), id)?)
    }

    /// host-local's `dataDir` for the network `name`.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join("ipam").join(name)
    }

    /// Unmounts what the world mounted, so the temp dir can go.
    pub fn close(self) {
        let _ = Netns::release_dir(&self.netns_dir());
        if self.tmpfs {
            let _ = nix::mount::umount2(self.dir.path(), MntFlags::MNT_DETACH);
        }
    }
}

fn tempdir() -> anyhow::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("berth-bench")
        .tempdir()
        .context("make the bench's temp dir")
}
