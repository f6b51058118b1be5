//! Who waits for what on containers this daemon starts, for as long as those requests are in
//! flight (nothing here outlives a connection, so a restart loses no state): attach requests
//! made before the start (their output must begin with the process's first byte, so they
//! receive the starter's shim connection), and waits for the next exit. After a start the
//! shim connection is relayed ([`crate::shim_link::relay`]) until the exit, which every
//! waiter then gets. Containers started elsewhere (the `berth` CLI, an earlier berthd) are
//! reached through their `attach.sock` instead.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use berth_engine::shim::attach::Input;
use tokio::sync::{mpsc, oneshot};

use crate::shim_link::{self, Output};

/// How many output messages or input chunks may queue per attached client.
pub const QUEUE: usize = 64;

/// Waiters by container id.
#[derive(Default)]
pub struct Hub {
    inner: Mutex<Inner>,
}

/// How often a relay looks whether anyone still listens.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Default)]
struct Inner {
    /// Attach requests waiting for a start.
    pending: HashMap<String, Pending>,
    /// Waits for the next exit.
    exits: HashMap<String, Vec<oneshot::Sender<i32>>>,
    /// Containers whose starter connection is being relayed now.
    relayed: HashSet<String>,
}

impl Inner {
    /// Whether a wait for `id`'s exit is still open.
    fn waited(&self, id: &str) -> bool {
        self.exits
            .get(id)
            .is_some_and(|l| l.iter().any(|t| !t.is_closed()))
    }
}

#[derive(Default)]
struct Pending {
    outputs: Vec<mpsc::Sender<Output>>,
    input: Option<(mpsc::Sender<Input>, mpsc::Receiver<Input>)>,
}

/// An attach waiting for the container's start.
pub struct PendingAttach {
    /// The container's output once it starts; closes at its exit.
    pub output: mpsc::Receiver<Output>,
    /// Input for its stdin, buffered until the start.
    pub input: mpsc::Sender<Input>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this daemon relays the container's starter connection (so it runs).
    pub fn is_relayed(&self, id: &str) -> bool {
        self.lock().relayed.contains(id)
    }

    /// Registers an attach for the container's next start; `None` when it already runs
    /// under this daemon (attach through its socket instead).
    pub fn attach_on_start(&self, id: &str) -> Option<PendingAttach> {
        let mut g = self.lock();
        if g.relayed.contains(id) {
            return None;
        }
        let p = g.pending.entry(id.to_owned()).or_default();
        p.outputs.retain(|o| !o.is_closed());
        let (out_tx, out_rx) = mpsc::channel(QUEUE);
        p.outputs.push(out_tx);
        let input = p
            .input
            .get_or_insert_with(|| mpsc::channel(QUEUE))
            .0
            .clone();
        Some(PendingAttach {
            output: out_rx,
            input,
        })
    }

    /// Registers a wait for the container's next exit.
    pub fn on_exit(&self, id: &str) -> oneshot::Receiver<i32> {
        let (tx, rx) = oneshot::channel();
        let mut g = self.lock();
        let list = g.exits.entry(id.to_owned()).or_default();
        list.retain(|t| !t.is_closed());
        list.push(tx);
        rx
    }

    /// Tells every wait for `id` that it exited with `code`.
    pub fn exited(&self, id: &str, code: i32) {
        let waiters = self.lock().exits.remove(id).unwrap_or_default();
        for w in waiters {
            let _ = w.send(code);
        }
    }

    /// After a start: relays the starter connection to the attaches waiting for it until the
    /// exit, then tells the waits. Once nobody attached or waiting is left (`docker run -d`
    /// opens a wait before the start and hangs up right after it), the connection is let go,
    /// so a detached container costs berthd nothing while it runs: the shim drops a client
    /// that has gone, and a later wait or attach reaches it through its `attach.sock`.
    pub fn started(self: &Arc<Self>, id: &str, conn: std::os::unix::net::UnixStream) {
        let pending = {
            let mut g = self.lock();
            let mut pending = g.pending.remove(id).unwrap_or_default();
            pending.outputs.retain(|o| !o.is_closed());
            if pending.outputs.is_empty() && pending.input.is_none() && !g.waited(id) {
                return;
            }
            g.relayed.insert(id.to_owned());
            pending
        };
        let conn = match shim_link::from_std(conn) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(id, error = %e, "cannot relay the shim connection");
                self.lock().relayed.remove(id);
                return;
            }
        };
        let hub = self.clone();
        let id = id.to_owned();
        let watched = pending.outputs.clone();
        tokio::spawn(async move {
            let input = pending.input.map(|(_, rx)| rx);
            let relay = shim_link::relay(conn, pending.outputs, input);
            tokio::pin!(relay);
            let code = loop {
                tokio::select! {
                    code = &mut relay => break code,
                    _ = tokio::time::sleep(IDLE_CHECK) => {
                        if watched.iter().all(mpsc::Sender::is_closed) && hub.release_if_unwaited(&id) {
                            return;
                        }
                    }
                }
            };
            hub.lock().relayed.remove(&id);
            if let Some(code) = code {
                hub.exited(&id, code);
            }
        });
    }

    /// Stops counting `id` as relayed unless a wait is still open (under the lock, so a wait
    /// registered at the same time either is seen here or sees the container unrelayed and
    /// watches its socket).
    fn release_if_unwaited(&self, id: &str) -> bool {
        let mut g = self.lock();
        if g.waited(id) {
            return false;
        }
        g.relayed.remove(id);
        g.exits.remove(id);
        true
    }

    /// A start failed: attaches waiting for it end, waits hear `code`.
    pub fn start_failed(&self, id: &str, code: i32) {
        self.lock().pending.remove(id);
        self.exited(id, code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn waits_hear_the_exit_and_closed_ones_are_dropped() {
        let hub = Hub::default();
        let a = hub.on_exit("c");
        drop(hub.on_exit("c"));
        let b = hub.on_exit("c");
        assert_eq!(hub.lock().exits["c"].len(), 2);
        hub.exited("c", 7);
        assert_eq!(a.await.unwrap(), 7);
        assert_eq!(b.await.unwrap(), 7);
        assert!(hub.lock().exits.is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_start_feeds_the_waiting_attach_from_the_first_byte() {
        use berth_engine::shim::attach::{Frame, Message};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let hub = Arc::new(Hub::default());
        let mut att = hub.attach_on_start("c").unwrap();
        att.input
            .send(Input::Stdin(b"early".to_vec()))
            .await
            .unwrap();
        let exit = hub.on_exit("c");
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        hub.started("c", ours);
        assert!(hub.is_relayed("c") && hub.attach_on_start("c").is_none());
        let mut shim = shim_link::from_std(theirs).unwrap();
        let mut got = [0u8; 10];
        shim.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"i\0\0\0\x05early");
        let mut frames = Vec::new();
        Frame::Stdout(b"1".to_vec()).write_to(&mut frames).unwrap();
        Frame::Exited(0).write_to(&mut frames).unwrap();
        shim.write_all(&frames).await.unwrap();
        assert_eq!(att.output.recv().await, Some(Output::Stdout(b"1".to_vec())));
        assert_eq!(att.output.recv().await, None);
        assert_eq!(exit.await.unwrap(), 0);
        assert!(!hub.is_relayed("c"));
    }
}
