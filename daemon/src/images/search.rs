//! `GET /images/search`: berthd has no registry client yet, so searches are answered 501 with
//! a message saying so (the docker CLI prints it and exits 1).

use hyper::StatusCode;

use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::Reply;

/// `GET /images/search?term=…`.
pub async fn search(q: &Query) -> ApiResult<Reply> {
    let term = q.get("term").unwrap_or("");
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("berthd cannot search registries (term {term:?}): it has no registry client yet"),
    ))
}
