//! `POST /images/{name}/push?tag=TAG` (`docker push`): the local image `name:tag` sent to
//! the registry its name points at, with the credentials of the `X-Registry-Auth` header,
//! answered with dockerd's JSON progress, the `TAG: digest: … size: …` line and the `aux`
//! object the docker CLI reads the digest from.

use std::sync::Arc;

use berth_engine::registry::{self, RemoteRef};
use hyper::body::Incoming;
use serde_json::json;

use super::progress::run_streamed;
use super::registry_auth;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::Reply;
use crate::router::App;
use berth_engine::registry::Verb;

/// `POST /images/{name}/push`.
pub async fn push(
    app: &Arc<App>,
    req: &hyper::Request<Incoming>,
    name: &str,
    q: &Query,
) -> ApiResult<Reply> {
    let target = RemoteRef::with_tag(name, q.get("tag"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if target.digest().is_some() {
        return Err(ApiError::bad_request("cannot push a digest reference"));
    }
    let local = target
        .local_tag()
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .map_or_else(|| name.to_owned(), |t| t.to_string());
    let header = req
        .headers()
        .get("X-Registry-Auth")
        .and_then(|v| v.to_str().ok());
    let mut opts = app.registry.clone();
    opts.credentials = registry_auth::from_header(header)?;
    // An unknown local image is a 404 before anything streams.
    let check = local.clone();
    app.backend
        .run(move |env| {
            Ok(env
                .store
                .images()
                .resolve(&check)
                .map_err(anyhow::Error::from)?)
        })
        .await?;
    run_streamed(app, Verb::Push, move |env, progress| {
        let report = registry::push(env.store, &local, &target, &opts, progress)
            .map_err(anyhow::Error::from)?;
        let tag = target.tag().unwrap_or("latest").to_owned();
        Ok(vec![
            json!({"status": format!("{tag}: digest: {} size: {}", report.digest, report.size)}),
            json!({"progressDetail": {}, "aux": {"Tag": tag, "Digest": report.digest, "Size": report.size}}),
        ])
    })
    .await
}
