//! `POST /containers/{id}/exec`, `POST /exec/{id}/start` (hijacked) and `GET /exec/{id}/json`.
//! An exec is a record on disk, `<run-root>/containers/<cid>/exec/<id>.json` (volatile, gone
//! with the container), so a restarted daemon still answers for it. Start runs
//! `berthd exec-helper` ([`crate::exec_helper`]) with pipes as its stdio: a fresh
//! single-threaded process that starts the exec through the runtime, waits for it and records
//! its exit code; the stream closes after that, so the code is there when the CLI asks.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::shim::attach::Input;
use hyper::StatusCode;
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use crate::backend::container_paths;
use crate::error::{ApiError, ApiResult};
use crate::hijack::{self, Streams};
use crate::hub::QUEUE;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;
use crate::shim_link::Output;

/// How long output may still arrive after the exec's process has ended (a background child
/// may hold its pipes open).
const DRAIN: Duration = Duration::from_secs(1);

/// One exec, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecRecord {
    /// 64 hex digits.
    #[serde(rename = "ID")]
    pub id: String,
    /// The container's full id.
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// `KEY=VALUE` on top of the container's.
    pub env: Vec<String>,
    /// Working directory (empty: the container's).
    pub working_dir: String,
    /// User (empty: the container's).
    pub user: String,
    /// Run on a pty.
    pub tty: bool,
    /// Stdin is attached.
    pub attach_stdin: bool,
    /// Stdout is attached.
    pub attach_stdout: bool,
    /// Stderr is attached.
    pub attach_stderr: bool,
    /// It was started.
    pub started: bool,
    /// It runs now.
    pub running: bool,
    /// The process's pid while it runs.
    pub pid: i32,
    /// Its exit code once it ended.
    pub exit_code: Option<i32>,
}

impl ExecRecord {
    /// `<run-root>/containers/<cid>/exec/<id>.json`.
    pub fn path(run_dir: &std::path::Path, id: &str) -> PathBuf {
        run_dir.join("exec").join(format!("{id}.json"))
    }

    /// Writes the record atomically.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a record.
    pub fn load(path: &std::path::Path) -> std::io::Result<Self> {
        let b = std::fs::read(path)?;
        serde_json::from_slice(&b).map_err(std::io::Error::other)
    }
}

/// `POST /exec/{id}/resize?h=&w=`: the window of a running `-t` exec (409 before it runs,
/// the docker CLI tries again).
pub async fn resize(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let (_, rec) = find(app, id)?;
    let rows = q.number::<u16>("h")?.unwrap_or(0);
    let cols = q.number::<u16>("w")?.unwrap_or(0);
    if !rec.tty {
        return Ok(reply::empty(StatusCode::OK));
    }
    if !rec.running || rec.pid <= 0 {
        return Err(ApiError::conflict(format!("Exec {id} is not running")));
    }
    crate::exec_tty::resize(rec.pid, rows, cols)
        .map_err(|e| ApiError::internal(format!("resize the exec's tty: {e}")))?;
    Ok(reply::empty(StatusCode::OK))
}

/// Finds the record of exec `id` under any container's run dir.
fn find(app: &App, id: &str) -> ApiResult<(PathBuf, ExecRecord)> {
    let bad = || ApiError::not_found(format!("No such exec instance: {id}"));
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let dir = app.backend.run_root().join("containers");
    let rd = std::fs::read_dir(&dir).map_err(|_| bad())?;
    for e in rd.filter_map(Result::ok) {
        let p = ExecRecord::path(&e.path(), id);
        if let Ok(r) = ExecRecord::load(&p) {
            return Ok((p, r));
        }
    }
    Err(bad())
}

/// The exec create body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    cmd: Option<Vec<String>>,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
    user: Option<String>,
    tty: bool,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
}

/// `POST /containers/{id}/exec`: 201 `{"Id"}`; 409 when the container does not run.
pub async fn create(app: &Arc<App>, req: hyper::Request<Incoming>, id: &str) -> ApiResult<Reply> {
    let body: CreateBody = reply::read_json(req).await?;
    let cmd = body.cmd.unwrap_or_default();
    if cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let reference = id.to_owned();
    let rec = app
        .backend
        .run(move |env| env.resolve_running(&reference))
        .await?;
    let exec_id = berth_engine::ids::random_hex64()
        .map_err(|e| ApiError::internal(format!("make an exec id: {e}")))?;
    let run_dir = container_paths(&app.backend).run_dir(&rec.id);
    let r = ExecRecord {
        id: exec_id.clone(),
        container_id: rec.id,
        cmd,
        env: body.env.unwrap_or_default(),
        working_dir: body.working_dir.unwrap_or_default(),
        user: body.user.unwrap_or_default(),
        tty: body.tty,
        attach_stdin: body.attach_stdin,
        attach_stdout: body.attach_stdout,
        attach_stderr: body.attach_stderr,
        ..Default::default()
    };
    r.save(&ExecRecord::path(&run_dir, &exec_id))
        .map_err(|e| ApiError::internal(format!("write the exec record: {e}")))?;
    Ok(reply::json(StatusCode::CREATED, &json!({"Id": exec_id})))
}

/// The exec start body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
}

/// `POST /exec/{id}/start`: hijacked unless `Detach`.
pub async fn start(
    app: &Arc<App>,
    mut req: hyper::Request<Incoming>,
    id: &str,
) -> ApiResult<Reply> {
    let (path, rec) = find(app, id)?;
    let body_bytes = {
        use http_body_util::BodyExt as _;
        let limited = http_body_util::Limited::new(req.body_mut(), reply::JSON_BODY_LIMIT);
        limited
            .collect()
            .await
            .map_err(|e| ApiError::bad_request(format!("read the request body: {e}")))?
            .to_bytes()
    };
    let body: StartBody = reply::parse_json(&body_bytes)?;
    if rec.started {
        return Err(ApiError::conflict(format!(
            "Exec {id} has already been started"
        )));
    }
    let mut child = spawn_helper(app, &rec, !body.detach)?;
    if body.detach {
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        return Ok(reply::empty(StatusCode::OK));
    }
    let (on, r) = hijack::accept(&mut req)?;
    let (out_tx, out_rx) = mpsc::channel(QUEUE);
    let (in_tx, in_rx) = mpsc::channel(QUEUE);
    let how = Streams {
        stdout: rec.attach_stdout,
        stderr: rec.attach_stderr,
        tty: rec.tty,
    };
    tokio::spawn(hijack::pump(
        on,
        out_rx,
        rec.attach_stdin.then_some(in_tx),
        how,
    ));
    tokio::spawn(async move {
        let stdin = child.stdin.take();
        let feeder = tokio::spawn(feed_stdin(stdin, in_rx));
        let readers = [
            child
                .stdout
                .take()
                .map(|o| tokio::spawn(read_into(o, out_tx.clone(), Output::Stdout))),
            child
                .stderr
                .take()
                .map(|e| tokio::spawn(read_into(e, out_tx.clone(), Output::Stderr))),
        ];
        drop(out_tx);
        let status = child.wait().await;
        for r in readers.into_iter().flatten() {
            let abort = r.abort_handle();
            if tokio::time::timeout(DRAIN, r).await.is_err() {
                abort.abort();
            }
        }
        feeder.abort();
        record_if_lost(&path, status.ok().and_then(|s| s.code()));
    });
    Ok(r)
}

/// Starts `berthd exec-helper CONTAINER EXEC` with piped stdio (null when detached).
fn spawn_helper(app: &App, rec: &ExecRecord, attached: bool) -> ApiResult<tokio::process::Child> {
    let pipe = |on: bool| {
        if on && attached {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    tokio::process::Command::new(&app.exe)
        .arg("--root")
        .arg(app.backend.root())
        .arg("--run-root")
        .arg(app.backend.run_root())
        .arg("exec-helper")
        .arg(&rec.container_id)
        .arg(&rec.id)
        .stdin(pipe(rec.attach_stdin))
        .stdout(pipe(true))
        .stderr(pipe(true))
        .spawn()
        .map_err(|e| ApiError::internal(format!("start the exec helper: {e}")))
}

async fn read_into(
    mut r: impl AsyncRead + Unpin,
    tx: mpsc::Sender<Output>,
    wrap: fn(Vec<u8>) -> Output,
) {
    let mut buf = vec![0u8; 32 << 10];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send(wrap(buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn feed_stdin(mut stdin: Option<tokio::process::ChildStdin>, mut rx: mpsc::Receiver<Input>) {
    while let Some(i) = rx.recv().await {
        let ok = match (i, &mut stdin) {
            (Input::Stdin(d), Some(w)) => w.write_all(&d).await.is_ok(),
            (Input::CloseStdin, _) => false,
            _ => true,
        };
        if !ok {
            stdin = None;
        }
    }
}

/// The helper records the exit code; if it died first, record what its own exit says.
fn record_if_lost(path: &std::path::Path, code: Option<i32>) {
    let Ok(mut r) = ExecRecord::load(path) else {
        return;
    };
    if r.exit_code.is_none() {
        r.exit_code = Some(code.unwrap_or(126));
        r.running = false;
        r.started = true;
        let _ = r.save(path);
    }
}

/// `GET /exec/{id}/json`.
pub async fn inspect(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    let (_, r) = find(app, id)?;
    Ok(reply::json(
        StatusCode::OK,
        &json!({
            "ID": r.id, "ContainerID": r.container_id, "Running": r.running,
            "ExitCode": r.exit_code, "Pid": r.pid, "CanRemove": false, "DetachKeys": "",
            "OpenStdin": r.attach_stdin, "OpenStdout": r.attach_stdout,
            "OpenStderr": r.attach_stderr,
            "ProcessConfig": {
                "tty": r.tty, "entrypoint": r.cmd.first(), "arguments": r.cmd.get(1..),
                "privileged": false, "user": r.user,
            },
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_in_the_run_dir() {
        let t = tempfile::tempdir().unwrap();
        let p = ExecRecord::path(t.path(), "ab");
        let r = ExecRecord {
            id: "ab".into(),
            cmd: vec!["ls".into()],
            exit_code: Some(3),
            ..Default::default()
        };
        r.save(&p).unwrap();
        assert_eq!(ExecRecord::load(&p).unwrap(), r);
        record_if_lost(&p, Some(9));
        assert_eq!(ExecRecord::load(&p).unwrap().exit_code, Some(3));
    }
}
