//! `start`, `stop`, `restart`, `kill` and `DELETE` of a container. Start goes through a new
//! shim, whose starter connection the [`crate::hub::Hub`] relays to attaches made before it;
//! stop, kill (SIGKILL) and a forced remove return only once the shim has cleaned up, so the
//! state read right after is final.

use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use nix::sys::signal::Signal;

use crate::backend::{Env, is_running, start_failure_code};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// The grace period of `stop` without `t`.
const DEFAULT_STOP_SECS: u64 = 10;

/// How long a SIGKILLed container may take to be cleaned up.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// Starts the container `reference` unless it runs (304); hands the shim connection to the hub.
async fn start_one(app: &Arc<App>, reference: String, before: Option<StopHow>) -> ApiResult<()> {
    let (id, started) = app
        .backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            if let Some(how) = before {
                stop_running(env, &rec, how)?;
            }
            let mut rec = env.resolve(&rec.id)?;
            if is_running(&rec) {
                return Err(ApiError::not_modified());
            }
            let started = env.start(&mut rec);
            Ok((rec.id, started))
        })
        .await?;
    match started {
        Ok(conn) => {
            app.hub.started(&id, conn);
            Ok(())
        }
        Err(e) => {
            app.hub.start_failed(&id, start_failure_code(&e));
            Err(e)
        }
    }
}

/// How to stop: the signal and the grace period before SIGKILL.
#[derive(Debug, Clone, Copy)]
struct StopHow {
    signal: Signal,
    grace: Duration,
}

fn stop_how(q: &Query) -> ApiResult<StopHow> {
    let secs: i64 = q.number("t")?.unwrap_or(DEFAULT_STOP_SECS as i64);
    let signal = match q.get("signal").filter(|s| !s.is_empty()) {
        Some(s) => parse_signal(s)?,
        None => Signal::SIGTERM,
    };
    Ok(StopHow {
        signal,
        // A negative timeout waits "forever": a day will do.
        grace: Duration::from_secs(u64::try_from(secs).unwrap_or(86_400)),
    })
}

fn parse_signal(s: &str) -> ApiResult<Signal> {
    berth_runtime::container::kill::parse_signal(s)
        .map_err(|_| ApiError::bad_request(format!("Invalid signal: {s}")))
}

fn stop_running(
    env: &Env<'_>,
    rec: &berth_engine::container::ContainerRecord,
    how: StopHow,
) -> ApiResult<()> {
    if is_running(rec) {
        env.stop(rec, how.signal, how.grace)?;
    }
    Ok(())
}

/// `POST /containers/{id}/start`.
pub async fn start(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    start_one(app, id.to_owned(), None).await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/stop?t=`: 304 when it does not run.
pub async fn stop(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let how = stop_how(q)?;
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            if !is_running(&rec) {
                return Err(ApiError::not_modified());
            }
            env.stop(&rec, how.signal, how.grace)
        })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/restart?t=`: stop (when running), then start.
pub async fn restart(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let how = stop_how(q)?;
    start_one(app, id.to_owned(), Some(how)).await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/kill?signal=` (default SIGKILL; 409 when it does not run).
pub async fn kill(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let sig = match q.get("signal").filter(|s| !s.is_empty()) {
        Some(s) => parse_signal(s)?,
        None => Signal::SIGKILL,
    };
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            if !is_running(&rec) {
                return Err(ApiError::conflict(format!(
                    "Cannot kill container: {reference}: Container {} is not running",
                    rec.id
                )));
            }
            env.kill(&rec, sig)?;
            if sig == Signal::SIGKILL && !env.eng.containers.wait_shim(&rec.id, Some(KILL_WAIT)) {
                return Err(ApiError::internal(format!(
                    "container {} did not stop after SIGKILL",
                    rec.id
                )));
            }
            Ok(())
        })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

/// `DELETE /containers/{id}?force=&v=`: 409 for a running one without `force`.
pub async fn remove(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let (force, volumes) = (q.flag("force"), q.flag("v"));
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            if is_running(&rec) {
                if !force {
                    return Err(ApiError::conflict(format!(
                        "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                        rec.id
                    )));
                }
                env.stop(&rec, Signal::SIGKILL, Duration::from_secs(10))?;
            }
            // An AutoRemove container removes itself once stopped.
            match env.load(&rec.id)? {
                Some(rec) => env.remove(&rec, volumes),
                None => Ok(()),
            }
        })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}
