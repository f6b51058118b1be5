//! `POST /images/create`: with `fromSrc=-`, `docker import`: the body is a root filesystem
//! tarball (plain, gzip or zstd) that becomes a one-layer image, named by `repo` (a tag may
//! be folded into it) and `tag`, with `message` as its comment (`Imported from -` by
//! default) and each `changes` instruction applied to its config. Answered, as dockerd, with
//! JSON progress ending in `{"status":"sha256:…"}`. Pulls (`fromImage=`) go to [`super::pull`];
//! imports from a URL are refused clearly.

use std::sync::Arc;

use berth_engine::image::config_changes::ConfigChanges;
use berth_engine::image::{ImageOptions, ImageRef};
use http_body_util::BodyExt as _;
use hyper::StatusCode;
use hyper::body::Incoming;
use serde_json::json;

use super::query_all;
use super::tag::target;
use crate::body_io::body_reader;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// What an import request asks for, checked before the body is read.
#[derive(Debug)]
pub struct ImportRequest {
    /// The new image's name.
    pub reference: Option<ImageRef>,
    /// Its comment.
    pub message: String,
    /// `--change` instructions.
    pub changes: Vec<String>,
}

/// Reads and checks an import's parameters; bad names and changes are 400s.
pub fn import_request(q: &Query, raw_query: Option<&str>) -> ApiResult<ImportRequest> {
    let src = q.get("fromSrc").unwrap_or("");
    if src != "-" {
        return Err(ApiError::bad_request(format!(
            "berthd imports only a tarball sent in the request body (fromSrc=-), not {src:?}"
        )));
    }
    let repo = q.get("repo").unwrap_or("");
    let reference = match repo.is_empty() {
        true => None,
        false => Some(target(repo, q.get("tag").unwrap_or(""))?),
    };
    let changes = query_all(raw_query, "changes");
    ConfigChanges {
        instructions: changes.clone(),
        ..Default::default()
    }
    .validate()
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let message = q
        .get("message")
        .filter(|m| !m.is_empty())
        .map_or_else(|| format!("Imported from {src}"), str::to_owned);
    Ok(ImportRequest {
        reference,
        message,
        changes,
    })
}

/// The most of a refused request's body read (and dropped) before answering.
const DRAIN_LIMIT: usize = 1 << 30;

/// Reads and drops up to [`DRAIN_LIMIT`] bytes of `body`.
async fn drain(mut body: Incoming) {
    let mut seen = 0;
    while seen < DRAIN_LIMIT {
        match body.frame().await {
            Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
            _ => return,
        }
    }
}

/// `POST /images/create`.
pub async fn create(app: &Arc<App>, req: hyper::Request<Incoming>, q: &Query) -> ApiResult<Reply> {
    if q.get("fromImage").is_some_and(|i| !i.is_empty()) {
        return super::pull::pull(app, &req, q).await;
    }
    let r = match import_request(q, req.uri().query()) {
        Ok(r) => r,
        Err(e) => {
            // Read the tarball the client is still sending, so it hears the refusal instead
            // of a broken pipe.
            drain(req.into_body()).await;
            return Err(e);
        }
    };
    let reader = body_reader(req);
    let id = app
        .backend
        .run(move |env| {
            let opts = ImageOptions {
                reference: r.reference,
                comment: Some(r.message),
                config: (!r.changes.is_empty()).then(|| ConfigChanges {
                    instructions: r.changes,
                    ..Default::default()
                }),
                ..Default::default()
            };
            Ok(env.store.import(reader, &opts).map_err(super::store_err)?)
        })
        .await?;
    let line = format!("{}\n", json!({"status": id.to_string()}));
    Ok(reply::with_type(
        StatusCode::OK,
        "application/json",
        reply::Body::Full(Some(line.into())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(raw: &str) -> ApiResult<ImportRequest> {
        import_request(&Query::parse(Some(raw)), Some(raw))
    }

    #[test]
    fn import_parameters_read_as_the_cli_sends_them() {
        let r = req("fromSrc=-&repo=dk%2Fapp%3Av2&changes=LABEL+a%3Db&changes=CMD+%5B%22sh%22%5D")
            .unwrap();
        assert_eq!(r.reference.unwrap().to_string(), "dk/app:v2");
        assert_eq!(r.message, "Imported from -");
        assert_eq!(r.changes, ["LABEL a=b", "CMD [\"sh\"]"]);
        let r = req("fromSrc=-&message=hello").unwrap();
        assert!(r.reference.is_none());
        assert_eq!(r.message, "hello");
    }

    #[test]
    fn bad_imports_are_refused_before_the_body_is_read() {
        let status = |raw: &str| req(raw).unwrap_err();
        assert!(
            status("fromSrc=http%3A%2F%2Fx%2Fr.tar")
                .message
                .contains("fromSrc=-")
        );
        assert_eq!(status("fromSrc=-&repo=BAD").status, StatusCode::BAD_REQUEST);
        let e = status("fromSrc=-&changes=RUN+rm+-rf");
        assert_eq!(
            (e.status, e.message.as_str()),
            (StatusCode::BAD_REQUEST, "RUN is not a valid change command")
        );
    }
}
