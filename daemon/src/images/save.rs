//! `GET /images/{name}/get` and `GET /images/get?names=a&names=b`: a `docker save` archive
//! (also an OCI layout, see the engine's `save`) as the body, `Content-Type:
//! application/x-tar`. Every name is resolved first, so an unknown one is a plain 404; then
//! the engine writes the tar on the blocking pool into the response as it goes, in chunks
//! (never the whole archive in memory), and stops when the client hangs up.

use std::sync::Arc;

use hyper::body::Incoming;
use std::io::Write as _;

use super::{normalize_ref, query_all};
use crate::body_io::ChannelWriter;
use crate::error::ApiResult;
use crate::reply::{self, Reply};
use crate::router::App;

/// `GET /images/{name}/get`.
pub async fn save_one(app: &Arc<App>, name: &str) -> ApiResult<Reply> {
    save(app, vec![normalize_ref(name)]).await
}

/// `GET /images/get?names=…`.
pub async fn save_many(app: &Arc<App>, req: &hyper::Request<Incoming>) -> ApiResult<Reply> {
    let names = query_all(req.uri().query(), "names")
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| normalize_ref(n))
        .collect();
    save(app, names).await
}

async fn save(app: &Arc<App>, names: Vec<String>) -> ApiResult<Reply> {
    let checked = names.clone();
    app.backend
        .run(move |env| {
            for n in &checked {
                env.store.images().resolve(n).map_err(anyhow::Error::from)?;
            }
            Ok(())
        })
        .await?;
    let (tx, reply) = reply::stream(Some("application/x-tar"));
    let backend = app.backend.clone();
    tokio::spawn(async move {
        let done = backend
            .run(move |env| {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut w = ChannelWriter::new(tx);
                env.store
                    .images()
                    .save(&refs, &mut w)
                    .map_err(anyhow::Error::from)?;
                w.flush()
                    .map_err(|e| anyhow::Error::from(e).context("send the archive"))?;
                Ok(())
            })
            .await;
        if let Err(e) = done {
            tracing::warn!(error = %e.message, "image save ended early");
        }
    });
    Ok(reply)
}
