//! The image endpoints this increment needs: `POST /images/load` (a `docker save` or OCI
//! archive streamed in the body, answered with `{"stream":"Loaded image: …"}` lines),
//! `GET /images/json`, `GET /images/{name}/json`, and a clear refusal of pulls. References
//! are normalised so `docker.io/library/bb:latest`, `library/bb` and `bb` name one image.

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::StatusCode;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::backend::Env;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// `docker.io/library/NAME:TAG` and `library/NAME:TAG` as `NAME:TAG`; `docker.io/U/N` as `U/N`.
pub fn normalize_ref(r: &str) -> String {
    let r = r.strip_prefix("docker.io/").unwrap_or(r);
    let r = r.strip_prefix("index.docker.io/").unwrap_or(r);
    r.strip_prefix("library/").unwrap_or(r).to_owned()
}

/// `POST /images/load`.
pub async fn load(app: &Arc<App>, req: hyper::Request<Incoming>, _q: &Query) -> ApiResult<Reply> {
    let reader = crate::body_io::body_reader(req);
    let loaded = app
        .backend
        .run(move |env| Ok(env.store.load(reader).map_err(anyhow::Error::from)?))
        .await?;
    let mut out = String::new();
    for l in loaded {
        let lines: Vec<String> = match l.tags.is_empty() {
            true => vec![format!("Loaded image ID: {}\n", l.id)],
            false => l
                .tags
                .iter()
                .map(|t| format!("Loaded image: {t}\n"))
                .collect(),
        };
        for s in lines {
            out.push_str(&json!({"stream": s}).to_string());
            out.push('\n');
        }
    }
    Ok(reply::with_type(
        StatusCode::OK,
        "application/json",
        reply::Body::Full(Some(out.into())),
    ))
}

/// One summary per image with all its tags, newest first (`GET /images/json`, and the
/// `Images` of `GET /system/df`).
pub fn summaries(env: &Env<'_>) -> ApiResult<Vec<Value>> {
    let images = env.store.images();
    let rows = images.list().map_err(anyhow::Error::from)?;
    let mut by_id: BTreeMap<String, (Vec<String>, Option<String>, u64)> = BTreeMap::new();
    for r in rows {
        let e = by_id
            .entry(r.id.to_string())
            .or_insert_with(|| (Vec::new(), r.created.clone(), r.size));
        if r.repository != "<none>" {
            e.0.push(format!("{}:{}", r.repository, r.tag));
        }
    }
    let mut out: Vec<Value> = by_id
        .into_iter()
        .map(|(id, (tags, created, size))| {
            let created = created
                .as_deref()
                .and_then(berth_engine::clock::parse_rfc3339)
                .unwrap_or(0);
            json!({
                "Id": id, "ParentId": "", "RepoTags": tags, "RepoDigests": [],
                "Created": created, "Size": size, "VirtualSize": size, "SharedSize": -1,
                "Labels": {}, "Containers": -1,
            })
        })
        .collect();
    out.sort_by(|a, b| b["Created"].as_i64().cmp(&a["Created"].as_i64()));
    Ok(out)
}

/// `GET /images/json`.
pub async fn list(app: &Arc<App>, _q: &Query) -> ApiResult<Reply> {
    let out = app.backend.run(summaries).await?;
    Ok(reply::json(StatusCode::OK, &out))
}

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
            Ok(json!({
                "Id": i.id.to_string(), "RepoTags": i.repo_tags, "RepoDigests": [],
                "Parent": "", "Comment": "", "Created": i.created.unwrap_or_default(),
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

/// `POST /images/create`: pulls and imports are not served by berthd yet.
pub async fn create(q: &Query) -> ApiResult<Reply> {
    let what = q.get("fromImage").or(q.get("fromSrc")).unwrap_or("");
    Err(ApiError::not_found(format!(
        "berthd cannot pull or import images yet ({what}): load them with docker load or berth import"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_names_normalise() {
        assert_eq!(normalize_ref("docker.io/library/bb:latest"), "bb:latest");
        assert_eq!(normalize_ref("library/bb"), "bb");
        assert_eq!(normalize_ref("docker.io/u/app:1"), "u/app:1");
        assert_eq!(
            normalize_ref("127.0.0.1:5000/dk/bb:v1"),
            "127.0.0.1:5000/dk/bb:v1"
        );
    }
}
