//! Forwarding a query the table cannot answer to the client's upstream servers, tried in
//! order with a timeout each: over UDP for a UDP client (a truncated answer is passed on as
//! it is, so the client retries over TCP) and over TCP for a TCP client.
//!
//! UDP goes through a few long-lived sockets per upstream ([`Upstreams`]), each with one
//! reader task that hands answers to the waiting query by id: a forwarded query costs one
//! send and one receive, not a socket's setup and teardown. Each query gets a random id not
//! in flight on its socket (the answer must carry it; the client's id is put back), and the
//! socket is picked at random among [`SOCKETS_PER_UPSTREAM`], so ids and source ports both
//! vary.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::time::timeout;

/// How long one upstream server is given.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// At most this many upstream servers are tried (the resolver's own limit).
const MAX_TRIES: usize = 3;

/// Sockets kept per upstream server.
pub const SOCKETS_PER_UPSTREAM: usize = 4;

/// Queries waiting for an answer on one socket, by the id they were sent with.
type Pending = Arc<Mutex<HashMap<u16, oneshot::Sender<Vec<u8>>>>>;

/// One socket to one upstream and the queries in flight on it.
struct Link {
    sock: Arc<UdpSocket>,
    pending: Pending,
}

/// The UDP sockets to every upstream asked so far.
#[derive(Default)]
pub struct Upstreams {
    links: Mutex<HashMap<SocketAddr, Vec<Arc<Link>>>>,
}

impl Upstreams {
    /// The answer of the first upstream that gives one, with the client's id; `None` when
    /// none did.
    pub async fn forward(&self, query: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
        if query.len() < 12 {
            return None;
        }
        for up in upstreams.iter().take(MAX_TRIES) {
            let Some(link) = self.link(*up) else {
                continue;
            };
            if let Some(answer) = link.ask(query).await {
                return Some(answer);
            }
        }
        None
    }

    /// A socket to `up`: one of those there, or a new one (with its reader) while there
    /// are fewer than [`SOCKETS_PER_UPSTREAM`].
    fn link(&self, up: SocketAddr) -> Option<Arc<Link>> {
        let mut links = self.lock();
        let v = links.entry(up).or_default();
        if v.len() >= SOCKETS_PER_UPSTREAM {
            return Some(v[fastrand::usize(..v.len())].clone());
        }
        let any: IpAddr = match up {
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let std_sock = std::net::UdpSocket::bind(SocketAddr::new(any, 0)).ok()?;
        std_sock.connect(up).ok()?;
        std_sock.set_nonblocking(true).ok()?;
        let link = Arc::new(Link {
            sock: Arc::new(UdpSocket::from_std(std_sock).ok()?),
            pending: Arc::default(),
        });
        tokio::spawn(read_answers(link.sock.clone(), link.pending.clone()));
        v.push(link.clone());
        Some(link)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Vec<Arc<Link>>>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Link {
    /// Sends `query` with a fresh id and waits for the answer that carries it.
    async fn ask(&self, query: &[u8]) -> Option<Vec<u8>> {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let id = (0..8)
                .map(|_| fastrand::u16(..))
                .find(|id| !pending.contains_key(id))?;
            pending.insert(id, tx);
            id
        };
        let mut q = query.to_vec();
        q[..2].copy_from_slice(&id.to_be_bytes());
        let answer = match self.sock.send(&q).await {
            Ok(_) => timeout(UPSTREAM_TIMEOUT, rx)
                .await
                .ok()
                .and_then(Result::ok),
            Err(_) => None,
        };
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        let mut answer = answer?;
        answer[..2].copy_from_slice(&query[..2]);
        Some(answer)
    }
}

/// Hands each answer on `sock` to the query waiting with its id; others are dropped.
async fn read_answers(sock: Arc<UdpSocket>, pending: Pending) {
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok(n) = sock.recv(&mut buf).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if n < 12 || buf[2] & 0x80 == 0 {
            continue;
        }
        let id = u16::from_be_bytes([buf[0], buf[1]]);
        let waiting = pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some(tx) = waiting {
            let _ = tx.send(buf[..n].to_vec());
        }
    }
}

/// Over TCP: one connection per attempt, the answer with the client's id.
pub async fn forward_tcp(query: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    for up in upstreams.iter().take(MAX_TRIES) {
        let id = fastrand::u16(..).to_be_bytes();
        let mut q = query.to_vec();
        q[..2].copy_from_slice(&id);
        if let Some(mut answer) = over_tcp(&q, *up)
            .await
            .filter(|a| a.len() >= 12 && a[..2] == id)
        {
            answer[..2].copy_from_slice(&query[..2]);
            return Some(answer);
        }
    }
    None
}

async fn over_tcp(query: &[u8], up: SocketAddr) -> Option<Vec<u8>> {
    let exchange = async {
        let mut s = TcpStream::connect(up).await.ok()?;
        let len = u16::try_from(query.len()).ok()?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        s.write_all(&framed).await.ok()?;
        read_framed(&mut s).await
    };
    timeout(UPSTREAM_TIMEOUT, exchange).await.ok()?
}

/// One length-prefixed DNS message from a TCP stream; `None` at the end of the stream.
pub async fn read_framed<R: AsyncReadExt + Unpin>(r: &mut R) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    r.read_exact(&mut len).await.ok()?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    r.read_exact(&mut msg).await.ok()?;
    Some(msg)
}
