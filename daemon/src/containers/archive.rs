//! `docker cp`: `HEAD /containers/{id}/archive?path=` (the path's stat in the
//! `X-Docker-Container-Path-Stat` header, base64 JSON), `GET` (that header and the path as a
//! tar stream, stopped as soon as the client hangs up) and `PUT` (a tar unpacked into the
//! directory `path`, with `noOverwriteDirNonDir` and `copyUIDGID`). Paths are resolved
//! inside the container by [`berth_engine::container::archive`].

use std::sync::Arc;

use base64::Engine as _;
use berth_engine::container::archive::{self, PathStat, WriteOptions};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, StatusCode};

use crate::body_io::{ChannelWriter, body_reader};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// The header carrying a path's stat.
const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// `HEAD /containers/{id}/archive`.
pub async fn head(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let (reference, path) = (id.to_owned(), path_of(q)?);
    let st = app
        .backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            Ok(archive::stat(env.eng, &rec, &path)?)
        })
        .await?;
    let mut r = reply::empty(StatusCode::OK);
    add_stat(&mut r, &st)?;
    Ok(r)
}

/// `GET /containers/{id}/archive`.
pub async fn get(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let (reference, path) = (id.to_owned(), path_of(q)?);
    let (rec, st) = {
        let path = path.clone();
        app.backend
            .run(move |env| {
                let rec = env.resolve(&reference)?;
                let st = archive::stat(env.eng, &rec, &path)?;
                Ok((rec, st))
            })
            .await?
    };
    let (tx, mut r) = reply::stream(Some("application/x-tar"));
    add_stat(&mut r, &st)?;
    let backend = app.backend.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter::new(tx);
        let sent = backend.with_env(|env| Ok(archive::read(env.eng, &rec, &path, None, &mut out)?));
        if let Err(e) = sent {
            tracing::warn!(container = %rec.id, %path, error = %e.message, "archive cut short");
        }
    });
    Ok(r)
}

/// `PUT /containers/{id}/archive`.
pub async fn put(app: &Arc<App>, req: Request<Incoming>, id: &str, q: &Query) -> ApiResult<Reply> {
    let (reference, path) = (id.to_owned(), path_of(q)?);
    let opts = WriteOptions {
        no_overwrite_dir_non_dir: q.flag("noOverwriteDirNonDir"),
        copy_uid_gid: q.flag("copyUIDGID"),
    };
    let mut input = body_reader(req);
    app.backend
        .run(move |env| {
            let rec = env.resolve(&reference)?;
            Ok(archive::write(env.eng, &rec, &path, &mut input, &opts)?)
        })
        .await?;
    Ok(reply::empty(StatusCode::OK))
}

/// The `path` parameter (required).
fn path_of(q: &Query) -> ApiResult<String> {
    match q.get("path") {
        Some(p) if !p.is_empty() => Ok(p.to_owned()),
        _ => Err(ApiError::bad_request("path is required")),
    }
}

/// Sets the stat header on `r`.
fn add_stat(r: &mut Reply, st: &PathStat) -> ApiResult<()> {
    let json = serde_json::to_vec(st).map_err(|e| ApiError::internal(e.to_string()))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(json);
    let v = HeaderValue::from_str(&b64).map_err(|e| ApiError::internal(e.to_string()))?;
    r.headers_mut().insert(STAT_HEADER, v);
    Ok(())
}
