//! Hijacked connections (attach, exec start), both of Docker's kinds: a client that asks for
//! `Upgrade: tcp` gets `101` with the raw-stream headers, one that does not (a plain hijack)
//! gets `200` with them and `Connection: close`; either way, once hyper has written the answer
//! it hands the connection back ([`Takeover`], see [`crate::serve`]) and [`pump`] copies output
//! messages to the client (multiplexed frames without a tty, raw bytes with one) and, when
//! asked, the client's bytes (those hyper had already read first) to an input channel; the
//! client's half-close becomes the end of input. The connection closes after the last output.

use std::sync::{Arc, Mutex};

use berth_engine::shim::attach::Input;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{mpsc, oneshot};

use crate::error::{ApiError, ApiResult};
use crate::reply::{self, Body, Reply};
use crate::shim_link::Output;
use crate::stream::{self, STDERR, STDOUT};

/// A connection's stream, whatever the listener.
pub trait RawIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> RawIo for T {}

/// A connection hyper is done with: its stream and the bytes it had read past the request.
pub struct RawConn {
    /// The stream.
    pub io: Box<dyn RawIo>,
    /// What the client sent after the request that hyper had buffered (early stdin).
    pub early: Bytes,
}

/// Where a connection goes once its hijacking answer is written: one per connection, put in
/// every request's extensions by [`crate::serve`], claimed by the handler that hijacks.
#[derive(Clone, Default)]
pub struct Takeover(Arc<Mutex<Option<oneshot::Sender<RawConn>>>>);

impl Takeover {
    /// Claims the connection; it arrives once the answer has been written.
    pub fn claim(&self) -> oneshot::Receiver<RawConn> {
        let (tx, rx) = oneshot::channel();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        rx
    }

    /// Whether a handler claimed the connection.
    pub fn claimed(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Hands the connection to whoever claimed it.
    pub fn hand_over(&self, raw: RawConn) {
        if let Some(tx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(raw);
        }
    }
}

/// The connection, once the answer is out.
pub type Handoff = oneshot::Receiver<RawConn>;

/// Claims the request's connection and builds the answer: `101` for `Upgrade: tcp`, `200`
/// with `Connection: close` for a plain hijack.
pub fn accept(req: &mut Request<Incoming>) -> ApiResult<(Handoff, Reply)> {
    let wants = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"));
    let takeover = req
        .extensions()
        .get::<Takeover>()
        .cloned()
        .ok_or_else(|| ApiError::internal("this connection cannot be hijacked"))?;
    let status = match wants {
        true => StatusCode::SWITCHING_PROTOCOLS,
        false => StatusCode::OK,
    };
    let mut r = reply::with_type(status, "application/vnd.docker.raw-stream", Body::Empty);
    let h = r.headers_mut();
    if wants {
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    } else {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok((takeover.claim(), r))
}

/// Which output streams the client wants, and how they are encoded.
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    /// Send stdout.
    pub stdout: bool,
    /// Send stderr.
    pub stderr: bool,
    /// Raw bytes (a tty) instead of frames.
    pub tty: bool,
}

/// Copies until `output` closes; `input` (when the client's stdin is attached) gets the
/// client's bytes and, at its half-close, [`Input::CloseStdin`].
pub async fn pump(
    handoff: Handoff,
    mut output: mpsc::Receiver<Output>,
    input: Option<mpsc::Sender<Input>>,
    how: Streams,
) {
    let Ok(raw) = handoff.await else {
        tracing::debug!("the hijacked connection ended before its answer was written");
        return;
    };
    let (mut rd, mut wr) = tokio::io::split(raw.io);
    let early = raw.early;
    let reader = input.map(|tx| {
        tokio::spawn(async move {
            if !early.is_empty() && tx.send(Input::Stdin(early.to_vec())).await.is_err() {
                return;
            }
            let mut buf = vec![0u8; 32 << 10];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Input::CloseStdin).await;
                        return;
                    }
                    Ok(n) => {
                        if tx.send(Input::Stdin(buf[..n].to_vec())).await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
    });
    while let Some(o) = output.recv().await {
        let bytes = match o {
            Output::Stdout(d) if how.stdout => stream::encode(how.tty, STDOUT, &d),
            Output::Stderr(d) if how.stderr => stream::encode(how.tty, STDERR, &d),
            _ => continue,
        };
        if wr.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = wr.flush().await;
    let _ = wr.shutdown().await;
    if let Some(r) = reader {
        r.abort();
    }
}
