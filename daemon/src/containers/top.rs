//! `GET /containers/{id}/top?ps_args=`: the container's processes as the host's `ps` shows
//! them (default `-ef`), `{"Titles": [...], "Processes": [[...]]}`
//! ([`berth_engine::container::top`]); 409 when it does not run.

use std::sync::Arc;

use hyper::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// `GET /containers/{id}/top`.
pub async fn top(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let reference = id.to_owned();
    let ps_args = q.get("ps_args").unwrap_or("").to_owned();
    let top = app
        .backend
        .run(move |env| {
            let rec = env.resolve_running(&reference)?;
            berth_engine::container::top::top(env.eng, &rec, &ps_args)
                .map_err(|e| ApiError::internal(format!("{e:#}")))
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &top))
}
