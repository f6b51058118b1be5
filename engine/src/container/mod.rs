//! Containers: their records under `<root>/containers/<id>/` ([`record`], [`store`]), the
//! names they get ([`names`]), the OCI bundle built for the runtime ([`spec`]), the files
//! bind-mounted into them ([`files`]), the `--init` binary ([`init`]) and the check of the
//! command behind it ([`command_path`]), their network
//! namespaces and attachments ([`net`], and [`connect`] for `net connect|disconnect`), the
//! DNS aliases they have on user networks ([`aliases`]), and the
//! lifecycle steps the CLI and the shim share ([`lifecycle`]), and the process of an exec
//! ([`exec_process`]), and which images and volumes they use ([`refs`]). Running the process
//! is left to berth-runtime (driven by the shim, [`crate::shim`]).

pub mod aliases;
pub mod archive;
pub mod changes;
pub mod command_path;
pub mod commit;
pub mod connect;
pub mod create;
pub mod dns;
pub mod events;
pub mod exec_process;
pub mod files;
pub mod init;
pub mod lifecycle;
pub mod lookup;
pub mod names;
pub mod net;
pub mod pause;
pub mod prune;
pub mod record;
pub mod refs;
pub mod rename;
pub mod spec;
pub mod start;
pub mod stats;
pub mod stop;
pub mod store;
pub mod tmpfs;
pub mod top;

use std::path::PathBuf;

pub use record::{ContainerRecord, ContainerState, Status};
pub use store::ContainerStore;

/// What went wrong with a container operation.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// No container has this id, id prefix or name.
    #[error("no such container: {0}")]
    NotFound(String),
    /// An id prefix matches more than one container.
    #[error("container id prefix {0:?} is ambiguous")]
    Ambiguous(String),
    /// `--name` is taken.
    #[error("the container name {name:?} is already in use by container {id}")]
    NameTaken {
        /// The name.
        name: String,
        /// Who has it.
        id: String,
    },
    /// `--name` has characters Docker does not allow.
    #[error("invalid container name {0:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed")]
    BadName(String),
    /// A flag value is malformed.
    #[error("invalid {flag} {value:?}: {reason}")]
    BadArg {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// `--network-alias`/`--alias` on `host`, `none` or the default `bridge`.
    #[error("network-scoped aliases are only supported for user-defined networks (not {network})")]
    AliasNotSupported {
        /// The network.
        network: String,
    },
    /// The operation needs another state.
    #[error("container {id} is {status}: cannot {op}")]
    BadState {
        /// Operation.
        op: &'static str,
        /// Container id.
        id: String,
        /// Its status.
        status: String,
    },
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be (de)serialised.
    #[error("container record {}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// `--init` was asked for and no init binary was found.
    #[error(
        "--init: no init binary found (searched {searched}); install catatonit, or name one with --init-path or BERTH_INIT_PATH"
    )]
    NoInit {
        /// The places looked at.
        searched: String,
    },
    /// A lock could not be taken.
    #[error("lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
}

impl ContainerError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }
}
