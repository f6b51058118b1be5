//! The serving process: one single-threaded tokio runtime holding the table, a UDP socket
//! and a TCP listener per served gateway, and the control socket. `reload` rebuilds the table
//! from berth's state, binds the gateways that appeared and closes those that went; when no
//! container is left it stops (under the spawn lock, after a last look). Bounds keep floods
//! harmless: at most [`MAX_FORWARDS`] forwarded queries in flight (beyond that SERVFAIL at
//! once), [`MAX_TCP`] TCP clients, each idle for at most [`TCP_IDLE`], datagrams read into a
//! fixed buffer.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd as _;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use berth_engine::container::ContainerStore;
use berth_engine::dns::DnsControl;
use berth_engine::dns::table::Table;
use berth_engine::network::NetworkStore;
use nix::fcntl::FlockArg;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::answer::{self, Reply};
use crate::batch;
use crate::forward;
use crate::listen;

/// Forwarded queries in flight at most.
pub const MAX_FORWARDS: usize = 512;

/// TCP clients at most.
pub const MAX_TCP: usize = 64;

/// How long a TCP client may stay silent.
pub const TCP_IDLE: Duration = Duration::from_secs(10);

/// The largest datagram read; longer ones are cut and then refused as malformed.
const MAX_DATAGRAM: usize = 4096;

/// A listener's identity: network, bridge and gateway.
type ListenKey = (String, String, IpAddr);

struct Shared {
    ctl: DnsControl,
    resolv: PathBuf,
    table: RwLock<Arc<Table>>,
    forwards: Arc<Semaphore>,
    tcp_clients: Arc<Semaphore>,
    listeners: Mutex<HashMap<ListenKey, Vec<JoinHandle<()>>>>,
    upstreams: forward::Upstreams,
}

impl Shared {
    fn table(&self) -> Arc<Table> {
        match self.table.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_table(&self, t: Table) {
        match self.table.write() {
            Ok(mut g) => *g = Arc::new(t),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(t),
        }
    }

    /// The table from the records, the network definitions and the host's resolv.conf.
    /// Records are replaced atomically (written aside, then renamed), so reading them
    /// without the store lock sees each one whole.
    fn load(&self) -> anyhow::Result<Table> {
        let records = ContainerStore::new(&self.ctl.root, &self.ctl.run_root).list()?;
        let networks = NetworkStore::new(&self.ctl.root, Vec::new()).list()?;
        let resolv = std::fs::read_to_string(&self.resolv).unwrap_or_default();
        Ok(Table::build(&records, &networks, &resolv))
    }
}

/// Runs the server until no container needs it (exit code 0) or it is told to stop.
pub fn run(ctl: DnsControl, resolv: PathBuf) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    rt.block_on(serve(ctl, resolv))
}

async fn serve(ctl: DnsControl, resolv: PathBuf) -> anyhow::Result<()> {
    let shared = Arc::new(Shared {
        ctl,
        resolv,
        table: RwLock::new(Arc::new(Table::default())),
        forwards: Arc::new(Semaphore::new(MAX_FORWARDS)),
        tcp_clients: Arc::new(Semaphore::new(MAX_TCP)),
        listeners: Mutex::new(HashMap::new()),
        upstreams: forward::Upstreams::default(),
    });
    let table = shared.load()?;
    shared.set_table(table);
    std::fs::write(shared.ctl.pid_path(), std::process::id().to_string())?;
    let sock_path = shared.ctl.socket_path();
    let _ = std::fs::remove_file(&sock_path);
    let control = UnixListener::bind(&sock_path)
        .with_context(|| format!("listen on {}", sock_path.display()))?;
    apply_listeners(&shared).await;
    let mut out = std::io::stdout();
    let _ = out.write_all(b"ready\n").and_then(|()| out.flush());
    if shared.table().is_empty() && stop_if_unused(&shared).await? {
        return Ok(());
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let reloading = Arc::new(Mutex::new(()));
    loop {
        tokio::select! {
            conn = control.accept() => {
                let Ok((conn, _)) = conn else { continue };
                let (shared, reloading) = (shared.clone(), reloading.clone());
                tokio::spawn(async move { control_conn(conn, shared, reloading).await });
            }
            _ = term.recv() => {
                cleanup(&shared.ctl);
                return Ok(());
            }
        }
    }
}

/// One control connection: each `reload` line is answered `ok` once the new table serves.
async fn control_conn(conn: UnixStream, shared: Arc<Shared>, reloading: Arc<Mutex<()>>) {
    let (rd, mut wr) = conn.into_split();
    let mut lines = BufReader::new(rd).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim() != "reload" {
            let _ = wr.write_all(b"unknown command\n").await;
            continue;
        }
        let _one = reloading.lock().await;
        match shared.load() {
            Ok(t) => shared.set_table(t),
            Err(e) => {
                eprintln!("berth-dns: reload: {e:#}");
                let _ = wr.write_all(b"error\n").await;
                continue;
            }
        }
        apply_listeners(&shared).await;
        let stopping = shared.table().is_empty()
            && stop_if_unused(&shared).await.unwrap_or_else(|e| {
                eprintln!("berth-dns: stop: {e:#}");
                false
            });
        let _ = wr.write_all(b"ok\n").await;
        if stopping {
            let _ = wr.shutdown().await;
            std::process::exit(0);
        }
    }
}

/// With no container left: under the spawn lock (no start can come between), one last
/// look. Still nothing: the control socket goes, the lock stays held and `true` says the
/// process is to end now. Else the table that made it stay is put in place.
async fn stop_if_unused(shared: &Arc<Shared>) -> anyhow::Result<bool> {
    let s = shared.clone();
    let last = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Table>> {
        let lock = berth_engine::dns::lock(&s.ctl.spawn_lock_path(), FlockArg::LockExclusive)?;
        let t = s.load()?;
        if t.is_empty() {
            cleanup(&s.ctl);
            // Held until the process ends.
            std::mem::forget(lock);
            return Ok(None);
        }
        Ok(Some(t))
    })
    .await??;
    match last {
        None => Ok(true),
        Some(t) => {
            shared.set_table(t);
            apply_listeners(shared).await;
            Ok(false)
        }
    }
}

fn cleanup(ctl: &DnsControl) {
    let _ = std::fs::remove_file(ctl.socket_path());
    let _ = std::fs::remove_file(ctl.pid_path());
}

/// Binds the gateways of the table's networks that have no sockets yet and closes the
/// sockets of gateways no longer served. A gateway that cannot be bound is logged and
/// tried again at the next reload.
async fn apply_listeners(shared: &Arc<Shared>) {
    let table = shared.table();
    let wanted: Vec<ListenKey> = table
        .networks
        .iter()
        .flat_map(|n| {
            n.gateways
                .iter()
                .map(|g| (n.name.clone(), n.bridge.clone(), *g))
        })
        .collect();
    let mut listeners = shared.listeners.lock().await;
    listeners.retain(|k, tasks| {
        let keep = wanted.contains(k);
        if !keep {
            tasks.iter().for_each(JoinHandle::abort);
        }
        keep
    });
    for key in wanted {
        if listeners.contains_key(&key) {
            continue;
        }
        let (net, bridge, gw) = &key;
        let bound = listen::udp(*gw, bridge).and_then(|u| Ok((u, listen::tcp(*gw, bridge)?)));
        match bound {
            Ok((udp, tcp)) => {
                let tasks = vec![
                    tokio::spawn(serve_udp(Arc::new(udp), net.clone(), shared.clone())),
                    tokio::spawn(serve_tcp(tcp, net.clone(), shared.clone())),
                ];
                listeners.insert(key, tasks);
            }
            Err(e) => eprintln!("berth-dns: listen on {gw}:53 of {bridge} ({net}): {e}"),
        }
    }
}

async fn serve_udp(sock: Arc<UdpSocket>, net: String, shared: Arc<Shared>) {
    let fd = sock.as_raw_fd();
    let mut bufs = vec![vec![0u8; MAX_DATAGRAM]; batch::BATCH];
    let mut got = Vec::with_capacity(batch::BATCH);
    let mut replies: Vec<(Vec<u8>, SocketAddr)> = Vec::with_capacity(batch::BATCH);
    loop {
        let r = sock
            .async_io(Interest::READABLE, || batch::recv(fd, &mut bufs, &mut got))
            .await;
        if r.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let table = shared.table();
        let Some(idx) = table.network(&net) else {
            continue;
        };
        replies.clear();
        for &(i, n, from) in &got {
            let packet = &bufs[i][..n];
            match answer::answer(&table, idx, from.ip(), packet, true) {
                Reply::Answer(bytes) => replies.push((bytes, from)),
                Reply::Drop => {}
                Reply::Forward => forward_udp(&sock, &shared, &table, idx, packet, from).await,
            }
        }
        // All answers in one call; what the socket did not take goes one by one.
        let sent = batch::send(fd, &replies).unwrap_or(0);
        for (bytes, to) in &replies[sent..] {
            send(&sock, bytes, *to).await;
        }
    }
}

/// Sends a reply: at once when the socket takes it, else once it is writable.
async fn send(sock: &UdpSocket, bytes: &[u8], to: SocketAddr) {
    if let Err(e) = sock.try_send_to(bytes, to) {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            let _ = sock.send_to(bytes, to).await;
        }
    }
}

/// Passes a query on to the client's upstreams in a task of its own (SERVFAIL at once past
/// [`MAX_FORWARDS`] or with no upstream).
async fn forward_udp(
    sock: &Arc<UdpSocket>,
    shared: &Arc<Shared>,
    table: &Table,
    idx: usize,
    packet: &[u8],
    from: SocketAddr,
) {
    let ups = table.upstreams(idx, from.ip()).to_vec();
    let permit = shared.forwards.clone().try_acquire_owned();
    let (Ok(permit), false) = (permit, ups.is_empty()) else {
        if let Some(b) = answer::servfail(packet) {
            send(sock, &b, from).await;
        }
        return;
    };
    let (sock, query, shared) = (sock.clone(), packet.to_vec(), shared.clone());
    tokio::spawn(async move {
        let _permit = permit;
        let reply = match shared.upstreams.forward(&query, &ups).await {
            Some(r) => Some(r),
            None => answer::servfail(&query),
        };
        if let Some(r) = reply {
            send(&sock, &r, from).await;
        }
    });
}

async fn serve_tcp(listener: TcpListener, net: String, shared: Arc<Shared>) {
    loop {
        let Ok((conn, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = shared.tcp_clients.clone().try_acquire_owned() else {
            continue;
        };
        let (net, shared) = (net.clone(), shared.clone());
        tokio::spawn(async move {
            let _permit = permit;
            tcp_client(conn, from, &net, &shared).await;
        });
    }
}

/// Queries from one TCP client, answered in order, until it is silent for [`TCP_IDLE`].
async fn tcp_client(mut conn: TcpStream, from: SocketAddr, net: &str, shared: &Shared) {
    while let Ok(Some(query)) = timeout(TCP_IDLE, forward::read_framed(&mut conn)).await {
        let table = shared.table();
        let Some(idx) = table.network(net) else {
            return;
        };
        let reply = match answer::answer(&table, idx, from.ip(), &query, false) {
            Reply::Answer(b) => Some(b),
            Reply::Drop => return,
            Reply::Forward => {
                let ups = table.upstreams(idx, from.ip()).to_vec();
                match forward::forward_tcp(&query, &ups).await {
                    Some(r) => Some(r),
                    None => answer::servfail(&query),
                }
            }
        };
        let Some(reply) = reply.filter(|r| r.len() <= usize::from(u16::MAX)) else {
            return;
        };
        let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if conn.write_all(&framed).await.is_err() {
            return;
        }
    }
}
