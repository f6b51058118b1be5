//! The accept loops: one task per connection, HTTP/1.1 with keep-alive and upgrades (attach
//! and exec hijack the connection). At shutdown the listeners close, idle connections are
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
        let svc = service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(router::handle(app, req).await) }
        });
        let conn = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(s), svc)
            .with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection");
                }
                return;
            }
            _ = stop.wait_for(|s| *s) => {}
        }
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    });
}
