//! `GET /images/{name}/history`: one entry per step, newest first, in dockerd's shape
//! (`Id`, `Created` in Unix seconds, `CreatedBy`, `Tags`, `Size`, `Comment`). As dockerd,
//! the top entry carries the image's id and tags; berth keeps no parent images, so every
//! entry below it is `<missing>` with `Tags: null`.

use std::sync::Arc;

use berth_engine::image::HistoryEntry;
use hyper::StatusCode;
use serde_json::{Value, json};

use super::normalize_ref;
use crate::error::ApiResult;
use crate::reply::{self, Reply};
use crate::router::App;

/// The entries as dockerd sends them, given the image's id and tags.
pub fn entries(id: &str, tags: &[String], history: &[HistoryEntry]) -> Vec<Value> {
    history
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let created = h
                .created
                .as_deref()
                .and_then(berth_engine::clock::parse_rfc3339)
                .unwrap_or(0);
            let (id, tags) = match i {
                0 => (id, (!tags.is_empty()).then_some(tags)),
                _ => ("<missing>", None),
            };
            json!({
                "Id": id, "Created": created, "CreatedBy": h.created_by, "Tags": tags,
                "Size": h.size, "Comment": h.comment,
            })
        })
        .collect()
}

/// `GET /images/{name}/history`.
pub async fn history(app: &Arc<App>, name: &str) -> ApiResult<Reply> {
    let name = normalize_ref(name);
    let out = app
        .backend
        .run(move |env| {
            let images = env.store.images();
            let i = images.inspect(&name).map_err(anyhow::Error::from)?;
            let h = images.history(i.id.as_str()).map_err(anyhow::Error::from)?;
            Ok(entries(i.id.as_str(), &i.repo_tags, &h))
        })
        .await?;
    Ok(reply::json(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_top_entry_names_the_image() {
        let h = |by: &str| HistoryEntry {
            layer: None,
            created: Some("1970-01-01T00:00:10Z".into()),
            created_by: by.into(),
            size: 3,
            comment: "c".into(),
        };
        let e = entries("sha256:ab", &["bb:latest".into()], &[h("top"), h("base")]);
        assert_eq!(e[0]["Id"], "sha256:ab");
        assert_eq!(e[0]["Tags"], json!(["bb:latest"]));
        assert_eq!(e[0]["Created"], 10);
        assert_eq!(e[1]["Id"], "<missing>");
        assert!(e[1]["Tags"].is_null());
        assert_eq!(e[1]["CreatedBy"], "base");
        assert!(entries("sha256:ab", &[], &[h("x")])[0]["Tags"].is_null());
    }
}
