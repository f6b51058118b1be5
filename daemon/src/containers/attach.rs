//! `POST /containers/{id}/attach` (hijacked) and `POST /containers/{id}/resize`. An attach to
//! a container that does not run yet waits in the hub for its start and then gets its output
//! from the first byte (stdin sent meanwhile is kept for it); one to a running container
//! connects to its shim's `attach.sock`. The stream closes once the container has exited
//! (and, with AutoRemove, been removed).

use std::sync::Arc;

use berth_engine::shim::attach::Input;
use hyper::StatusCode;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use crate::backend::{container_paths, is_running};
use crate::error::{ApiError, ApiResult};
use crate::hijack::{self, Streams};
use crate::hub::QUEUE;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;
use crate::shim_link::{self, Output};

/// `POST /containers/{id}/attach?stream=1&stdin=&stdout=&stderr=`.
pub async fn attach(
    app: &Arc<App>,
    mut req: hyper::Request<Incoming>,
    id: &str,
    q: &Query,
) -> ApiResult<Reply> {
    let reference = id.to_owned();
    let rec = app.backend.run(move |env| env.resolve(&reference)).await?;
    let how = Streams {
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        tty: rec.config.stdio.tty,
    };
    let want_stdin = q.flag("stdin") && rec.config.stdio.open_stdin;
    let pending = match is_running(&rec) {
        true => None,
        false => app.hub.attach_on_start(&rec.id),
    };
    let (output, input) = match pending {
        Some(p) => (p.output, p.input),
        None => connect_running(app, &rec.id).await?,
    };
    let (on, r) = hijack::accept(&mut req)?;
    tokio::spawn(hijack::pump(on, output, want_stdin.then_some(input), how));
    Ok(r)
}

/// Output and input channels over a new connection to a running container's shim.
async fn connect_running(
    app: &Arc<App>,
    id: &str,
) -> ApiResult<(mpsc::Receiver<Output>, mpsc::Sender<Input>)> {
    let sock = container_paths(&app.backend).attach_socket_path(id);
    let conn = shim_link::connect(&sock)
        .await
        .map_err(|e| ApiError::conflict(format!("container {id} is not running ({e})")))?;
    let (out_tx, out_rx) = mpsc::channel(QUEUE);
    let (in_tx, in_rx) = mpsc::channel(QUEUE);
    let hub = app.hub.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        if let Some(code) = shim_link::relay(conn, vec![out_tx], Some(in_rx)).await {
            hub.exited(&id, code);
        }
    });
    Ok((out_rx, in_tx))
}

/// `POST /containers/{id}/resize?h=&w=`: the pty's size (ignored without a tty).
pub async fn resize(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let rows: u16 = q.number("h")?.unwrap_or(0);
    let cols: u16 = q.number("w")?.unwrap_or(0);
    let reference = id.to_owned();
    let rec = app
        .backend
        .run(move |env| env.resolve_running(&reference))
        .await?;
    if rec.config.stdio.tty && rows > 0 && cols > 0 {
        let sock = container_paths(&app.backend).attach_socket_path(&rec.id);
        if let Err(e) = shim_link::send_once(&sock, &Input::Resize { rows, cols }).await {
            tracing::warn!(id = %rec.id, error = %e, "resize");
        }
    }
    Ok(reply::empty(StatusCode::OK))
}
