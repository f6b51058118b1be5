//! `GET /containers/{id}/json`: the record in Docker's inspect shape ([`super::shape`]).

use std::sync::Arc;

use hyper::StatusCode;

use super::extra::Extra;
use super::shape;
use crate::error::ApiResult;
use crate::reply::{self, Reply};
use crate::router::App;

/// `GET /containers/{id}/json`.
pub async fn inspect(app: &Arc<App>, id: &str) -> ApiResult<Reply> {
    let reference = id.to_owned();
    let doc = app
        .backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            let extra = Extra::read(&env.eng.containers.dir(&rec.id));
            Ok(shape::inspect(&rec, &extra))
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &doc))
}
