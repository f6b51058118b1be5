//! `POST /containers/{id}/rename?name=`: a new, unused name (409 when another container has
//! it, 404 for an unknown container), through [`berth_engine::container::rename`], which logs
//! the `rename` event.

use std::sync::Arc;

use hyper::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// `POST /containers/{id}/rename?name=`.
pub async fn rename(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let new = q
        .get("name")
        .unwrap_or("")
        .trim_start_matches('/')
        .to_owned();
    if new.is_empty() {
        return Err(ApiError::bad_request(
            "Neither old nor new names may be empty",
        ));
    }
    let reference = id.to_owned();
    app.backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            if rec.name == new {
                return Err(ApiError::bad_request(
                    "Renaming a container with the same name as its current name",
                ));
            }
            berth_engine::container::rename::rename(env.eng, &rec, &new)?;
            Ok(())
        })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}
