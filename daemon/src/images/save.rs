//! `GET /images/{name}/get` and `GET /images/get?names=a&names=b`: a `docker save` archive
//! (also an OCI layout, see the engine's `save`) as the body, `Content-Type:
//! application/x-tar`. Every name is resolved first, so an unknown one is a plain 404; then
//! the engine writes the tar on the blocking pool into the response as it goes, in chunks
//! (never the whole archive in memory), and stops when the client hangs up.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use super::{normalize_ref, query_all};
use crate::error::ApiResult;
use crate::reply::{self, Reply};
use crate::router::App;

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 256 << 10;

/// A blocking writer that sends what it is given to the response in [`CHUNK`]s.
struct ChunkWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client hung up"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

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
                let mut w = ChunkWriter {
                    tx,
                    buf: Vec::with_capacity(CHUNK),
                };
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
