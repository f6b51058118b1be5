//! `POST /images/load`: a `docker save` or OCI archive streamed in the body, answered with
//! `{"stream":"Loaded image: …"}` lines (`Loaded image ID: …` for an untagged image).

use std::sync::Arc;

use hyper::StatusCode;
use hyper::body::Incoming;
use serde_json::json;

use crate::body_io::body_reader;
use crate::error::ApiResult;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// `POST /images/load`.
pub async fn load(app: &Arc<App>, req: hyper::Request<Incoming>, _q: &Query) -> ApiResult<Reply> {
    let reader = body_reader(req);
    let loaded = app
        .backend
        .run(move |env| Ok(env.store.load(reader).map_err(super::store_err)?))
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
