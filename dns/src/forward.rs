//! Forwarding a query the table cannot answer to the client's upstream servers, tried in
//! order with a timeout each: over UDP for a UDP client (a truncated answer is passed on as
//! it is, so the client retries over TCP) and over TCP for a TCP client. Each attempt uses a
//! fresh socket (a random source port) and a random query id, which the answer must carry;
//! the client's id is put back before it is returned.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// How long one upstream server is given.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// At most this many upstream servers are tried (the resolver's own limit).
const MAX_TRIES: usize = 3;

/// The answer of the first upstream that gives one, with the client's id; `None` when none
/// did.
pub async fn forward(query: &[u8], upstreams: &[SocketAddr], tcp: bool) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let client_id = [query[0], query[1]];
    for up in upstreams.iter().take(MAX_TRIES) {
        let id = fastrand::u16(..).to_be_bytes();
        let mut q = query.to_vec();
        q[..2].copy_from_slice(&id);
        let attempt = if tcp {
            over_tcp(&q, *up).await
        } else {
            over_udp(&q, *up).await
        };
        if let Some(mut answer) = attempt.filter(|a| a.len() >= 12 && a[..2] == id) {
            answer[..2].copy_from_slice(&client_id);
            return Some(answer);
        }
    }
    None
}

async fn over_udp(query: &[u8], up: SocketAddr) -> Option<Vec<u8>> {
    let any: IpAddr = match up {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let sock = UdpSocket::bind(SocketAddr::new(any, 0)).await.ok()?;
    sock.connect(up).await.ok()?;
    sock.send(query).await.ok()?;
    let mut buf = vec![0u8; 65535];
    let n = timeout(UPSTREAM_TIMEOUT, sock.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    buf.truncate(n);
    Some(buf)
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
