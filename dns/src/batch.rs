//! Datagrams in batches: one recvmmsg(2) takes up to [`BATCH`] queries waiting on a socket
//! and one sendmmsg(2) sends their answers, so a busy server makes two system calls (and one
//! trip through the reactor) per batch, not two per query. nix's safe wrapper fills the headers; buffers are reused from call to call.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::RawFd;

use nix::sys::socket::{
    ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg,
};

/// Datagrams taken per call.
pub const BATCH: usize = 32;

/// Receives what is waiting on `fd` (non-blocking) into `bufs`; `got` becomes (buffer index,
/// length, sender) per datagram. `WouldBlock` when nothing waits.
pub fn recv(
    fd: RawFd,
    bufs: &mut [Vec<u8>],
    got: &mut Vec<(usize, usize, SocketAddr)>,
) -> io::Result<()> {
    got.clear();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(bufs.len(), None);
    let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
        bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
    let received = recvmmsg(
        fd,
        &mut headers,
        iovs.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )
    .map_err(io::Error::from)?;
    for (i, r) in received.enumerate() {
        if let Some(from) = r.address.as_ref().and_then(socket_addr) {
            got.push((i, r.bytes, from));
        }
    }
    Ok(())
}

/// Sends `replies` (non-blocking) in one sendmmsg(2); returns how many went (fewer when the
/// socket's buffer filled, `WouldBlock` when none did).
pub fn send(fd: RawFd, replies: &[(Vec<u8>, SocketAddr)]) -> io::Result<usize> {
    if replies.is_empty() {
        return Ok(0);
    }
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(replies.len(), None);
    let iovs: Vec<[IoSlice<'_>; 1]> = replies.iter().map(|(b, _)| [IoSlice::new(b)]).collect();
    let addrs: Vec<Option<SockaddrStorage>> = replies
        .iter()
        .map(|(_, a)| Some(SockaddrStorage::from(*a)))
        .collect();
    let cmsgs: [ControlMessage<'_>; 0] = [];
    let sent = sendmmsg(
        fd,
        &mut headers,
        iovs.iter(),
        addrs,
        cmsgs,
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    Ok(sent.count())
}

fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd as _;

    #[test]
    fn a_batch_takes_every_waiting_datagram_with_its_sender() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap();
        a.send_to(b"one", to).unwrap();
        b.send_to(b"second", to).unwrap();
        a.send_to(b"3", to).unwrap();
        let mut bufs = vec![vec![0u8; 64]; BATCH];
        let mut got = Vec::new();
        recv(server.as_raw_fd(), &mut bufs, &mut got).unwrap();
        let seen: Vec<(&[u8], SocketAddr)> =
            got.iter().map(|&(i, n, f)| (&bufs[i][..n], f)).collect();
        let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(
            seen,
            vec![(&b"one"[..], pa), (&b"second"[..], pb), (&b"3"[..], pa)]
        );
        let e = recv(server.as_raw_fd(), &mut bufs, &mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        // Answers go back in one call, each to its sender.
        let replies = vec![(b"to-a".to_vec(), pa), (b"to-b".to_vec(), pb)];
        assert_eq!(send(server.as_raw_fd(), &replies).unwrap(), 2);
        let mut buf = [0u8; 16];
        let (n, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"to-a"[..], to));
        let (n, _) = b.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to-b");
    }
}
