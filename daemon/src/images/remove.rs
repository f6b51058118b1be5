//! `DELETE /images/{name}?force=&noprune=`: `rmi` as dockerd ([`Store::remove_image`]):
//! `[{"Untagged": "bb:latest"}, {"Deleted": "sha256:…"}]`, 409 with dockerd's conflict
//! messages while a container uses the image, 404 for an unknown one. Which containers use
//! which images comes from [`berth_engine::container::refs`]; berth keeps no parent images,
//! so `noprune` changes nothing.
//!
//! [`Store::remove_image`]: berth_engine::store::Store::remove_image

use std::sync::Arc;

use berth_engine::container::refs::{image_user, scan};
use berth_engine::image::RemoveEvent;
use hyper::StatusCode;
use serde_json::{Value, json};

use super::normalize_ref;
use crate::error::ApiResult;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// One removal record as dockerd sends it.
pub fn record(e: &RemoveEvent) -> Value {
    match e {
        RemoveEvent::Untagged(t) => json!({"Untagged": t}),
        RemoveEvent::Deleted(d) => json!({"Deleted": d.to_string()}),
    }
}

/// `DELETE /images/{name}`.
pub async fn remove(app: &Arc<App>, name: &str, q: &Query) -> ApiResult<Reply> {
    let name = normalize_ref(name);
    let force = q.flag("force");
    let events = app
        .backend
        .run(move |env| {
            let containers = scan(&env.ctx.root)?;
            let user = |d: &berth_engine::digest::Digest| image_user(&containers, d);
            Ok(env
                .store
                .remove_image(&name, force, &user)
                .map_err(super::store_err)?)
        })
        .await?;
    let out: Vec<Value> = events.iter().map(record).collect();
    Ok(reply::json(StatusCode::OK, &out))
}
