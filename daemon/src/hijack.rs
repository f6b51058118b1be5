//! Hijacked connections (attach, exec start): the 101 answer with Docker's raw-stream headers,
//! and [`pump`], which copies output messages to the client (multiplexed frames without a tty,
//! raw bytes with one) and, when asked, the client's bytes to an input channel; the client's
//! half-close becomes the end of input. The connection closes after the last output.

use berth_engine::shim::attach::Input;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};
use crate::reply::{self, Body, Reply};
use crate::shim_link::Output;
use crate::stream::{self, STDERR, STDOUT};

/// The upgrade future of a request that asks for `Upgrade: tcp`, and the 101 to answer with.
pub fn accept(req: &mut Request<Incoming>) -> ApiResult<(OnUpgrade, Reply)> {
    let wants = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"));
    if !wants {
        return Err(ApiError::bad_request(
            "this endpoint hijacks the connection: send Connection: Upgrade and Upgrade: tcp",
        ));
    }
    let on = hyper::upgrade::on(req);
    let mut r = reply::with_type(
        StatusCode::SWITCHING_PROTOCOLS,
        "application/vnd.docker.raw-stream",
        Body::Empty,
    );
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    Ok((on, r))
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
    on: OnUpgrade,
    mut output: mpsc::Receiver<Output>,
    input: Option<mpsc::Sender<Input>>,
    how: Streams,
) {
    let io: TokioIo<Upgraded> = match on.await {
        Ok(u) => TokioIo::new(u),
        Err(e) => {
            tracing::debug!(error = %e, "upgrade");
            return;
        }
    };
    let (mut rd, mut wr) = tokio::io::split(io);
    let reader = input.map(|tx| {
        tokio::spawn(async move {
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
