//! `POST /images/prune?filters=`: `docker image prune [-a]` as dockerd
//! ([`Store::prune_images`]): dangling images unless `dangling=false`, narrowed by `label`,
//! `label!` and `until`; an image a container uses stays. Answered with
//! `{"ImagesDeleted": [{"Untagged"}|{"Deleted"}…] or null, "SpaceReclaimed": bytes}`.
//!
//! [`Store::prune_images`]: berth_engine::store::Store::prune_images

use std::sync::Arc;

use berth_engine::container::refs::{image_user, scan};
use hyper::StatusCode;
use serde_json::{Value, json};

use super::filters::prune_filter;
use super::remove::record;
use crate::error::ApiResult;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

fn now_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// `POST /images/prune`.
pub async fn prune(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let filter = prune_filter(&q.filters()?, now_nanos())?;
    let report = app
        .backend
        .run(move |env| {
            let containers = scan(&env.ctx.root)?;
            let user = |d: &berth_engine::digest::Digest| image_user(&containers, d);
            Ok(env
                .store
                .prune_images(&filter, &user)
                .map_err(super::store_err)?)
        })
        .await?;
    let deleted: Vec<Value> = report.removed.iter().map(record).collect();
    let deleted = match deleted.is_empty() {
        true => Value::Null,
        false => json!(deleted),
    };
    Ok(reply::json(
        StatusCode::OK,
        &json!({"ImagesDeleted": deleted, "SpaceReclaimed": report.reclaimed}),
    ))
}
