//! The accept loops: one task per connection, HTTP/1.1 with keep-alive; attach and exec
//! hijack the connection, which hyper hands back after their answer ([`Takeover`]). At shutdown the listeners close, idle connections are
//! closed, requests in flight get [`DRAIN`] to finish, and unix socket files are removed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::hijack::{RawConn, Takeover};
use crate::listen::Listener;
use crate::router::{self, App};

/// How long requests in flight may take to finish after a shutdown signal.
pub const DRAIN: Duration = Duration::from_secs(10);

/// Serves until `shutdown` resolves, then drains and cleans up.
pub async fn serve(listeners: Vec<Listener>, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let active = Arc::new(AtomicUsize::new(0));
    let mut paths = Vec::new();
    let mut loops = Vec::new();
    for l in listeners {
        if let Listener::Unix(_, p) = &l {
            paths.push(p.clone());
        }
        loops.push(tokio::spawn(accept_loop(
            l,
            app.clone(),
            stop_rx.clone(),
            active.clone(),
        )));
    }
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for l in loops {
        l.abort();
    }
    for p in &paths {
        let _ = std::fs::remove_file(p);
    }
    let deadline = tokio::time::Instant::now() + DRAIN;
    while active.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn accept_loop(
    l: Listener,
    app: Arc<App>,
    stop: watch::Receiver<bool>,
    active: Arc<AtomicUsize>,
) {
    loop {
        let accepted = match &l {
            Listener::Unix(u, _) => u.accept().await.map(|(s, _)| Conn::Unix(s)),
            Listener::Tcp(t) => t.accept().await.map(|(s, _)| Conn::Tcp(s)),
        };
        match accepted {
            Ok(Conn::Unix(s)) => spawn_conn(s, &app, &stop, &active),
            Ok(Conn::Tcp(s)) => spawn_conn(s, &app, &stop, &active),
            Err(e) => {
                tracing::warn!(error = %e, "accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

/// Counts a connection while it lives.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn spawn_conn<S>(s: S, app: &Arc<App>, stop: &watch::Receiver<bool>, active: &Arc<AtomicUsize>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    active.fetch_add(1, Ordering::SeqCst);
    let guard = Active(active.clone());
    let app = app.clone();
    let mut stop = stop.clone();
    tokio::spawn(async move {
        let _guard = guard;
        let takeover = Takeover::default();
        let slot = takeover.clone();
        let svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            let app = app.clone();
            req.extensions_mut().insert(slot.clone());
            // Boxed: the connection is polled unpinned, so it can be taken apart after.
            Box::pin(
                async move { Ok::<_, std::convert::Infallible>(router::handle(app, req).await) },
            )
        });
        let mut conn = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(s), svc);
        // Served without hyper's own upgrades: a hijacking answer (101, or 200 for a plain
        // hijack) is the connection's last, after which the stream is handed back here.
        let mut stopping = false;
        loop {
            tokio::select! {
                r = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection");
                        return;
                    }
                    break;
                }
                _ = stop.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    std::pin::Pin::new(&mut conn).graceful_shutdown();
                }
            }
        }
        if takeover.claimed() {
            let parts = conn.into_parts();
            takeover.hand_over(RawConn {
                io: Box::new(parts.io.into_inner()),
                early: parts.read_buf,
            });
        }
    });
}
