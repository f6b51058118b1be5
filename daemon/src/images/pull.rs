//! `POST /images/create?fromImage=NAME&tag=TAG[&platform=OS/ARCH]` (`docker pull`): a pull
//! through berth's registry client with the credentials of the `X-Registry-Auth` header,
//! answered with dockerd's JSON progress and its closing `Digest:` and `Status:` lines.

use std::sync::Arc;

use berth_engine::registry::{self, Platform, PullOptions, RemoteRef};
use hyper::body::Incoming;
use serde_json::json;

use super::progress::run_streamed;
use super::registry_auth;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::Reply;
use crate::router::App;
use berth_engine::registry::Verb;

/// `POST /images/create` with `fromImage`.
pub async fn pull(app: &Arc<App>, req: &hyper::Request<Incoming>, q: &Query) -> ApiResult<Reply> {
    let image = q.get("fromImage").unwrap_or_default();
    let r = RemoteRef::with_tag(image, q.get("tag"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let platform = match q.get("platform").filter(|p| !p.is_empty()) {
        Some(p) => Platform::parse(p).map_err(ApiError::bad_request)?,
        None => Platform::default(),
    };
    let header = req
        .headers()
        .get("X-Registry-Auth")
        .and_then(|v| v.to_str().ok());
    let mut opts = PullOptions {
        platform,
        registry: app.registry.clone(),
    };
    opts.registry.credentials = registry_auth::from_header(header)?;
    run_streamed(app, Verb::Pull, move |env, progress| {
        let report = registry::pull(env.store, &r, &opts, progress).map_err(anyhow::Error::from)?;
        let name = report
            .tag
            .as_ref()
            .map_or_else(|| r.to_string(), ToString::to_string);
        let status = match report.changed {
            true => format!("Status: Downloaded newer image for {name}"),
            false => format!("Status: Image is up to date for {name}"),
        };
        Ok(vec![
            json!({"status": format!("Digest: {}", report.digest)}),
            json!({"status": status}),
        ])
    })
    .await
}
