//! `GET /images/{name}/json`: one image in dockerd's inspect shape.

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::normalize_ref;
use crate::error::ApiResult;
use crate::reply::{self, Reply};
use crate::router::App;

/// `GET /images/{name}/json`.
pub async fn inspect(app: &Arc<App>, name: &str) -> ApiResult<Reply> {
    let name = normalize_ref(name);
    let doc = app
        .backend
        .run(move |env| {
            let i = env
                .store
                .images()
                .inspect(&name)
                .map_err(anyhow::Error::from)?;
            let c = &i.config;
            let comment = c
                .history()
                .as_ref()
                .and_then(|h| h.last())
                .and_then(|h| h.comment().clone())
                .unwrap_or_default();
            Ok(json!({
                "Id": i.id.to_string(), "RepoTags": i.repo_tags, "RepoDigests": i.repo_digests,
                "Parent": "", "Comment": comment, "Created": i.created.unwrap_or_default(),
                "DockerVersion": "", "Author": c.author().clone().unwrap_or_default(),
                "Config": serde_json::to_value(c.config()).unwrap_or(Value::Null),
                "Architecture": c.architecture().to_string(), "Os": c.os().to_string(),
                "Size": i.size, "VirtualSize": i.size,
                "GraphDriver": {"Name": env.store.layers().driver().name(), "Data": null},
                "RootFS": {"Type": "layers", "Layers": i.layers.iter().map(ToString::to_string).collect::<Vec<_>>()},
                "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
            }))
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &doc))
}
