//! Every call into berth-engine that container handlers make, in one place so it can be
//! re-pointed when the engine's API moves: the engine's settings, opening the store
//! and the engine for a request, and blocking container operations (resolve, create, start,
//! stop, kill, remove, list, sizes). Handlers run these on tokio's blocking pool through
//! [`Backend::run`]; nothing here keeps state between requests.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_engine::container::create::CreateRequest;
use berth_engine::container::lifecycle::{self, Engine};
use berth_engine::container::record::{ContainerRecord, Status};
use berth_engine::container::start::StartFailed;
use berth_engine::settings::Settings;
use berth_engine::store::Store;
use nix::sys::signal::Signal;

use crate::error::{ApiError, ApiResult};

/// The engine's settings, shared by every request.
#[derive(Clone)]
pub struct Backend {
    ctx: Arc<Settings>,
    reaper: Arc<crate::reaper::Reaper>,
}

/// What a blocking operation gets: the engine over an open store, and the settings.
pub struct Env<'a> {
    /// Containers, networks, the runtime.
    pub eng: &'a Engine<'a>,
    /// Where started shims go to be collected.
    pub reaper: &'a crate::reaper::Reaper,
    /// Images, layers, volumes.
    pub store: &'a Store,
    /// Roots and CNI path.
    pub ctx: &'a Settings,
}

impl Backend {
    /// Settings for these roots; an empty `cni_path` means berthd's directory, then
    /// `/opt/cni/bin` (as `berth`).
    pub fn new(root: PathBuf, run_root: PathBuf, cni_path: Vec<PathBuf>) -> anyhow::Result<Self> {
        Ok(Self {
            ctx: Arc::new(Settings::new(root, run_root, cni_path, None)),
            reaper: Arc::default(),
        })
    }

    /// Collects the shims this berthd started as they exit.
    pub fn reaper(&self) -> Arc<crate::reaper::Reaper> {
        self.reaper.clone()
    }

    /// `--root`.
    pub fn root(&self) -> &Path {
        &self.ctx.root
    }

    /// `--run-root`.
    pub fn run_root(&self) -> &Path {
        &self.ctx.run_root
    }

    /// Runs `f` with the engine on the blocking pool; engine errors become API errors.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Env<'_>) -> ApiResult<T> + Send + 'static,
    {
        let this = self.clone();
        let joined = tokio::task::spawn_blocking(move || this.with_env(f)).await;
        joined.unwrap_or_else(|e| Err(ApiError::internal(format!("engine task failed: {e}"))))
    }

    /// Runs `f` with the engine on this thread (it blocks).
    pub fn with_env<T>(&self, f: impl FnOnce(&Env<'_>) -> ApiResult<T>) -> ApiResult<T> {
        let store = self.ctx.open_store()?;
        let eng = self.ctx.engine(&store);
        f(&Env {
            eng: &eng,
            reaper: &self.reaper,
            store: &store,
            ctx: &self.ctx,
        })
    }
}

impl Env<'_> {
    /// A container by full id, unique id prefix or name (a leading `/` is dropped), brought up
    /// to date (a record saying running with no shim behind it becomes exited).
    pub fn resolve(&self, reference: &str) -> ApiResult<ContainerRecord> {
        let r = reference.strip_prefix('/').unwrap_or(reference);
        Ok(berth_engine::container::lookup::resolve(self.eng, r)?)
    }

    /// [`Env::resolve`], refusing (409) a container that does not run.
    pub fn resolve_running(&self, reference: &str) -> ApiResult<ContainerRecord> {
        let rec = self.resolve(reference)?;
        if !is_running(&rec) {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        Ok(rec)
    }

    /// Every container, newest first, brought up to date.
    pub fn list(&self) -> ApiResult<Vec<ContainerRecord>> {
        let recs = self.eng.containers.list().map_err(anyhow::Error::from)?;
        Ok(recs
            .into_iter()
            .map(|r| lifecycle::reconcile(self.eng, r))
            .collect())
    }

    /// Makes the container (record and writable layer).
    pub fn create(&self, req: &CreateRequest) -> ApiResult<ContainerRecord> {
        Ok(berth_engine::container::create::create(self.eng, req)?)
    }

    /// Starts the container through a new shim; returns the shim connection (its frames
    /// carry the output from the first byte, then the exit code). The shim is collected by
    /// the [`Reaper`](crate::reaper::Reaper) when it exits. A start the container's command made fail is a 400 whose message the
    /// docker CLI maps to 126/127.
    pub fn start(&self, rec: &mut ContainerRecord) -> ApiResult<UnixStream> {
        let (shim, _pid) =
            match berth_engine::container::start::start_container(self.eng, self.ctx, rec, None) {
                Ok(s) => s,
                Err(e) => return Err(start_error(&e)),
            };
        let (conn, child) = shim.into_parts();
        self.reaper.adopt(child);
        Ok(conn)
    }

    /// Sends `sig`, waits up to `grace`, then SIGKILL; returns once the shim has cleaned up.
    pub fn stop(&self, rec: &ContainerRecord, sig: Signal, grace: Duration) -> ApiResult<()> {
        Ok(berth_engine::container::stop::stop_container(
            self.eng, rec, sig, grace,
        )?)
    }

    /// Sends `sig` to the container's init.
    pub fn kill(&self, rec: &ContainerRecord, sig: Signal) -> ApiResult<()> {
        Ok(lifecycle::kill(self.eng, rec, sig)?)
    }

    /// Removes a stopped container (with `volumes`, its anonymous volumes too).
    pub fn remove(&self, rec: &ContainerRecord, volumes: bool) -> ApiResult<()> {
        Ok(lifecycle::remove(self.eng, rec, volumes)?)
    }

    /// The container's record as it is now; `None` once it is gone.
    pub fn load(&self, id: &str) -> ApiResult<Option<ContainerRecord>> {
        match self.eng.containers.load(id) {
            Ok(r) => Ok(Some(lifecycle::reconcile(self.eng, r))),
            Err(berth_engine::container::ContainerError::NotFound(_)) => Ok(None),
            Err(e) => Err(anyhow::Error::from(e).into()),
        }
    }

    /// Bytes written in the container's layer, and that plus its image's.
    pub fn size(&self, rec: &ContainerRecord) -> Option<(u64, u64)> {
        let rw = berth_engine::storage::RwLayerId::new(&rec.id).ok()?;
        let d = berth_engine::digest::Digest::parse(&rec.image).ok()?;
        let s = self.store.container_size(&rw, &d).ok()?;
        Some((s.size, s.virtual_size))
    }
}

/// Where container files are, from the roots alone (no engine needed).
pub fn container_paths(b: &Backend) -> berth_engine::container::ContainerStore {
    berth_engine::container::ContainerStore::new(b.root(), b.run_root())
}

/// Whether the container's record says it runs.
pub fn is_running(rec: &ContainerRecord) -> bool {
    matches!(rec.state.status, Status::Running | Status::Paused)
}

/// A failed start as dockerd reports it: a missing command says `executable file not found`
/// (the CLI exits 127), one that cannot be run `permission denied` (126); 400 for both.
fn start_error(e: &anyhow::Error) -> ApiError {
    let Some(f) = e.downcast_ref::<StartFailed>() else {
        return ApiError::from_engine(e);
    };
    let mut message = f.message.clone();
    match f.code {
        127 if !message.contains("executable file not found")
            && !message.contains("no such file or directory") =>
        {
            message.push_str(": executable file not found in $PATH");
        }
        126 if !message.contains("permission denied") => message.push_str(": permission denied"),
        _ => {}
    }
    match f.code {
        126 | 127 => ApiError::bad_request(message),
        _ => ApiError::internal(message),
    }
}

/// The exit code a failed start stands for (125 for anything else).
pub fn start_failure_code(e: &ApiError) -> i32 {
    if e.message.contains("executable file not found")
        || e.message.contains("no such file or directory")
    {
        127
    } else if e.message.contains("permission denied") {
        126
    } else {
        125
    }
}
