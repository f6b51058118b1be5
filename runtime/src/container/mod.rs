//! The container lifecycle, one file per verb: [`create`], [`start`], [`kill`], [`delete`],
//! [`exec`], and the smaller ones (state, pause/resume, ps, update, stats) here and in
//! [`control`]. A [`Runtime`] is a state root plus the procfs root; every verb loads the
//! container's record, checks its status and acts through [`crate::process`] and
//! [`crate::cgroups`].

pub mod control;
pub mod create;
pub mod delete;
pub mod exec;
pub mod kill;
pub mod start;

use std::path::{Path, PathBuf};

use crate::cgroups::{Cgroup, CgroupError, Layout};
use crate::config::{ConfigError, ContainerId};
use crate::hooks::HookError;
use crate::namespaces::NamespaceError;
use crate::process::ProcessError;
use crate::state::{OciState, Record, StateError, StateRoot, Status, status_of};
use crate::terminal::TerminalError;

pub use create::CreateOptions;
pub use exec::ExecOptions;

/// Errors from lifecycle operations.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// Bad config or id.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// State directory trouble.
    #[error(transparent)]
    State(#[from] StateError),
    /// Cgroup trouble.
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    /// A namespace could not be opened or joined.
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    /// Starting the container's process failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// Terminal setup failed.
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    /// Mounts left in the runtime's own mount namespace could not be read or detached.
    #[error(transparent)]
    Mount(#[from] crate::mounts::MountError),
    /// The operation needs another status.
    #[error("cannot {op} container {id}: it is {status:?}")]
    BadStatus {
        /// Operation.
        op: &'static str,
        /// Container id.
        id: String,
        /// Current status.
        status: Status,
    },
    /// A syscall failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A signal name or number that is not a signal.
    #[error("invalid signal {0:?}")]
    BadSignal(String),
}

/// Entry point of the library: where state lives and where procfs is.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Per-container state directories (`--root`).
    pub state: StateRoot,
    /// procfs mount (normally /proc).
    pub proc_root: PathBuf,
}

/// A container loaded from its state, with its status.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Validated id.
    pub id: ContainerId,
    /// What create recorded.
    pub record: Record,
    /// Current status.
    pub status: Status,
    /// Its cgroup.
    pub cgroup: Cgroup,
}

impl Runtime {
    /// A runtime keeping state under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            state: StateRoot::new(root),
            proc_root: PathBuf::from("/proc"),
        }
    }

    fn fifo_path(&self, id: &ContainerId) -> PathBuf {
        self.state.dir(id).join("exec.fifo")
    }

    /// Load a container and compute its status.
    pub fn load(&self, id: &str) -> Result<Loaded, ContainerError> {
        let id = ContainerId::new(id)?;
        let record = self.state.load(&id)?;
        let layout = match &record.cgroup_layout {
            Some(l) => l.clone(),
            None => Layout::detect()?,
        };
        let cgroup = Cgroup::new(&layout, &record.cgroup_path);
        let fifo = self.fifo_path(&id).exists();
        let status = status_of(&self.proc_root, &record, fifo, cgroup.is_frozen());
        Ok(Loaded {
            id,
            record,
            status,
            cgroup,
        })
    }

    /// The OCI state of a container.
    pub fn state(&self, id: &str) -> Result<OciState, ContainerError> {
        Ok(oci_state(&self.load(id)?))
    }

    /// States of every container.
    pub fn list(&self) -> Result<Vec<OciState>, ContainerError> {
        let mut out = Vec::new();
        for id in self.state.list()? {
            match self.load(id.as_str()) {
                Ok(c) => out.push(oci_state(&c)),
                Err(e) => tracing::warn!(id = %id, error = %e, "skipping unreadable container"),
            }
        }
        Ok(out)
    }
}

/// The spec's state document for a loaded container.
pub fn oci_state(c: &Loaded) -> OciState {
    OciState {
        oci_version: c.record.spec.version().clone(),
        id: c.record.id.clone(),
        status: c.status,
        pid: if c.status == Status::Stopped {
            0
        } else {
            c.record.pid
        },
        bundle: c.record.bundle.clone(),
        rootfs: c.record.rootfs.clone(),
        created: c.record.created.clone(),
        annotations: c.record.spec.annotations().clone().unwrap_or_default(),
    }
}

/// Serialize a state for hooks' stdin.
pub(crate) fn state_json(s: &OciState) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

/// Write a pid file atomically.
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<(), ContainerError> {
    let tmp = path.with_extension("berth-tmp");
    let io = |op| {
        move |source| ContainerError::Io {
            op,
            path: path.to_owned(),
            source,
        }
    };
    std::fs::write(&tmp, pid.to_string()).map_err(io("write pid file"))?;
    std::fs::rename(&tmp, path).map_err(io("rename pid file"))
}
