//! `GET /images/json?all=&digests=&filters=`: one summary per image in dockerd's API 1.41
//! shape, newest first. An untagged image shows as `<none>:<none>` / `<none>@<none>`, as
//! dockerd 20.10 sends it; berth keeps no intermediate images and no registry digests, so
//! `all` and `digests` change nothing.

use std::sync::Arc;

use berth_engine::image::filter::{ListFilter, ListedImage};
use hyper::StatusCode;
use serde_json::{Value, json};

use super::filters::list_filter;
use crate::backend::Env;
use crate::error::ApiResult;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// The summary of one image.
pub fn summary(i: &ListedImage) -> Value {
    let created = i
        .created
        .as_deref()
        .and_then(berth_engine::clock::parse_rfc3339)
        .unwrap_or(0);
    let (tags, mut digests) = match i.tags.is_empty() {
        true => (json!(["<none>:<none>"]), json!(["<none>@<none>"])),
        false => (json!(i.tags), Value::Null),
    };
    if !i.repo_digests.is_empty() {
        digests = json!(i.repo_digests);
    }
    let labels = match i.labels.is_empty() {
        true => Value::Null,
        false => json!(i.labels),
    };
    json!({
        "Containers": -1, "Created": created, "Id": i.id.to_string(), "Labels": labels,
        "ParentId": "", "RepoDigests": digests, "RepoTags": tags, "SharedSize": -1,
        "Size": i.size, "VirtualSize": i.size,
    })
}

/// The summaries of the images `f` selects, newest first.
pub fn filtered(env: &Env<'_>, f: &ListFilter) -> ApiResult<Vec<Value>> {
    let images = env
        .store
        .images()
        .list_filtered(f)
        .map_err(anyhow::Error::from)?;
    Ok(images.iter().map(summary).collect())
}

/// Every image's summary (`GET /images/json`, and the `Images` of `GET /system/df`).
pub fn summaries(env: &Env<'_>) -> ApiResult<Vec<Value>> {
    filtered(env, &ListFilter::default())
}

/// `GET /images/json`.
pub async fn list(app: &Arc<App>, q: &Query) -> ApiResult<Reply> {
    let f = list_filter(&q.filters()?, q.get("filter"))?;
    let out = app.backend.run(move |env| filtered(env, &f)).await?;
    Ok(reply::json(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::digest::Digest;

    #[test]
    fn summaries_have_dockerd_1_41_shapes() {
        let mut i = ListedImage {
            id: Digest::of_bytes(b"x"),
            tags: vec![],
            created: Some("1970-01-01T00:01:00Z".into()),
            size: 7,
            labels: Default::default(),
            repo_digests: vec![],
        };
        let s = summary(&i);
        assert_eq!(s["RepoTags"], json!(["<none>:<none>"]));
        assert_eq!(s["RepoDigests"], json!(["<none>@<none>"]));
        assert_eq!(
            (s["Created"].as_i64(), s["Size"].as_u64()),
            (Some(60), Some(7))
        );
        assert!(s["Labels"].is_null());
        i.tags = vec!["bb:latest".into()];
        i.labels.insert("a".into(), "b".into());
        let s = summary(&i);
        assert_eq!(s["RepoTags"], json!(["bb:latest"]));
        assert!(s["RepoDigests"].is_null());
        assert_eq!(s["Labels"]["a"], "b");
        assert_eq!(s["Containers"], -1);
        i.repo_digests = vec!["localhost:5000/bb@sha256:00".into()];
        assert_eq!(
            summary(&i)["RepoDigests"],
            json!(["localhost:5000/bb@sha256:00"])
        );
    }
}
