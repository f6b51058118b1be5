//! `GET /containers/{id}/changes`: what the container changed in its root,
//! `[{"Path": "/etc/x", "Kind": 0|1|2}]` (modified, added, deleted), or `null` when nothing,
//! as dockerd answers ([`berth_engine::container::changes`]).

use std::sync::Arc;

use hyper::StatusCode;

use crate::error::ApiResult;
use crate::reply::{self, Reply};
use crate::router::App;

/// `GET /containers/{id}/changes`.
pub async fn changes(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    let reference = id.to_owned();
    let list = app
        .backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            Ok(berth_engine::container::changes::changes(env.eng, &rec)?)
        })
        .await?;
    if list.is_empty() {
        return Ok(reply::json(StatusCode::OK, &serde_json::Value::Null));
    }
    Ok(reply::json(StatusCode::OK, &list))
}
