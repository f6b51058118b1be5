//! `POST /containers/{id}/wait?condition=not-running|next-exit|removed`: the 200 headers go
//! out at once (the CLI sends start only after them), then `{"StatusCode":N,"Error":null}`
//! when the condition holds. The exit comes from the hub (containers this daemon started:
//! their starter connection reports it within the shim's exit) or from the shim's
//! `attach.sock` (containers started elsewhere); a slow poll of the record is the fallback.
//! A client that hangs up ends the wait.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::json;
use tokio::sync::oneshot;

use crate::backend::{container_paths, is_running};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;
use crate::shim_link;

/// How often the record is looked at while waiting.
const POLL: Duration = Duration::from_millis(500);
/// How often, once it exited, the record is looked at for its removal.
const REMOVAL_POLL: Duration = Duration::from_millis(50);
/// How long a wait for removal waits for the exited container's shim to end before it polls.
const SHIM_EXIT: Duration = Duration::from_secs(5);

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Returns at once for a container that does not run.
    NotRunning,
    /// The next exit, even of a start that comes later.
    NextExit,
    /// The record is gone.
    Removed,
}

impl Condition {
    fn parse(s: Option<&str>) -> ApiResult<Self> {
        match s.unwrap_or("") {
            "" | "not-running" => Ok(Self::NotRunning),
            "next-exit" => Ok(Self::NextExit),
            "removed" => Ok(Self::Removed),
            other => Err(ApiError::bad_request(format!(
                "invalid condition: {other:?}"
            ))),
        }
    }
}

/// What the record said when the wait began.
struct Start {
    id: String,
    exit_code: i32,
    finished_at: String,
    exists: bool,
    running: bool,
}

/// `POST /containers/{id}/wait`.
pub async fn wait(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let cond = Condition::parse(q.get("condition"))?;
    let reference = id.to_owned();
    let rec = app.backend.run(move |env| env.resolve(&reference)).await?;
    // Register before looking again, so an exit in between is not missed.
    let exit = app.hub.on_exit(&rec.id);
    let rid = rec.id.clone();
    let now = app.backend.run(move |env| env.load(&rid)).await?;
    let start = Start {
        id: rec.id.clone(),
        exit_code: now
            .as_ref()
            .map_or(rec.state.exit_code, |r| r.state.exit_code),
        finished_at: now
            .as_ref()
            .map(|r| r.state.finished_at.clone())
            .unwrap_or_default(),
        exists: now.is_some(),
        running: now.as_ref().is_some_and(is_running),
    };
    let done_now = match cond {
        Condition::NotRunning => !start.running,
        Condition::Removed => !start.exists,
        Condition::NextExit => !start.exists,
    };
    if done_now {
        return Ok(reply::json(StatusCode::OK, &answer(start.exit_code)));
    }
    if start.running && !app.hub.is_relayed(&start.id) {
        watch_socket(app, &start.id);
    }
    let (tx, r) = reply::stream(Some("application/json"));
    let app = app.clone();
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = tx.closed() => return,
            code = wait_for(&app, cond, start, exit) => code,
        };
        let mut body = answer(code).to_string().into_bytes();
        body.push(b'\n');
        let _ = tx.send(Bytes::from(body)).await;
    });
    Ok(r)
}

fn answer(code: i32) -> serde_json::Value {
    json!({"StatusCode": code, "Error": null})
}

/// Learns the exit of a container started elsewhere from its shim's socket.
fn watch_socket(app: &Arc<App>, id: &str) {
    let sock = container_paths(&app.backend).attach_socket_path(id);
    let hub = app.hub.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        let Ok(conn) = shim_link::connect(&sock).await else {
            return;
        };
        if let Some(code) = shim_link::relay(conn, Vec::new(), None).await {
            hub.exited(&id, code);
        }
    });
}

/// The hub's report of the exit; pending forever once it came.
async fn next_exit(
    exit: &mut Option<oneshot::Receiver<i32>>,
) -> Result<i32, oneshot::error::RecvError> {
    match exit {
        Some(rx) => rx.await,
        None => std::future::pending().await,
    }
}

/// Resolves with the exit code once `cond` holds.
async fn wait_for(
    app: &Arc<App>,
    cond: Condition,
    start: Start,
    exit: oneshot::Receiver<i32>,
) -> i32 {
    let mut exit = Some(exit);
    let mut code = start.exit_code;
    let mut exited = false;
    let mut watched = start.running;
    let mut shim_waited = false;
    loop {
        if exited && cond == Condition::Removed && !shim_waited {
            // A `--rm` container is removed by its shim just before it exits: wait for the
            // shim's lock to be released rather than polling for the record to go.
            shim_waited = true;
            let id = start.id.clone();
            let _ = app
                .backend
                .run(move |env| Ok(env.eng.containers.wait_shim(&id, Some(SHIM_EXIT))))
                .await;
        } else {
            let pause = if exited { REMOVAL_POLL } else { POLL };
            tokio::select! {
                r = next_exit(&mut exit) => {
                    exit = None;
                    if let Ok(c) = r {
                        code = c;
                        exited = true;
                    }
                }
                _ = tokio::time::sleep(pause) => {}
            }
        }
        if exited && cond != Condition::Removed {
            return code;
        }
        let id = start.id.clone();
        let Ok(now) = app.backend.run(move |env| env.load(&id)).await else {
            continue;
        };
        let Some(rec) = now else {
            return code;
        };
        if !is_running(&rec) && rec.state.finished_at != start.finished_at {
            code = rec.state.exit_code;
            exited = true;
            if cond != Condition::Removed {
                return code;
            }
        }
        if is_running(&rec) && !watched && !app.hub.is_relayed(&start.id) {
            watched = true;
            watch_socket(app, &start.id);
        }
    }
}
