//! Deleting a link without waiting for the slow part of the kernel's teardown.
//!
//! `RTM_DELLINK` unlists the device at once (under the rtnl lock), then, still inside the
//! sender's system call but after releasing the lock, waits for an RCU barrier and for the last
//! references to drop: 10-40 ms for a veth, during which nobody else is blocked. A CNI DEL that
//! waits for that spends most of its time there. [`delete_detached`] sends the request from a
//! forked child that nobody waits for and returns as soon as the kernel announces the
//! `RTM_DELLINK` of the device: from then on the link is gone from every listing and its name
//! can be reused.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netlink_packet_core::{NLM_F_REQUEST, NetlinkHeader, NetlinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::netlink::NetlinkError;

/// `RTMGRP_LINK`: the multicast group of link notifications.
const RTMGRP_LINK: u32 = 1;
/// `RTM_DELLINK`.
const RTM_DELLINK: u16 = 17;
/// How long to wait for the announcement before checking by hand.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(2);

/// What happened to the link.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Detached {
    /// The kernel announced the deletion.
    Announced,
    /// No announcement came in time; the caller must check.
    Unconfirmed,
}

/// Deletes link `index` from a detached child process, in the calling thread's network
/// namespace, and waits only until the kernel announces it.
pub(super) fn delete_detached(index: u32) -> Result<Detached, NetlinkError> {
    let sock_err = |op: &str| {
        let op = op.to_owned();
        move |source| NetlinkError::Socket { op, source }
    };
    let mut monitor = Socket::new(NETLINK_ROUTE).map_err(sock_err("open link monitor"))?;
    monitor
        .bind(&SocketAddr::new(0, RTMGRP_LINK))
        .map_err(sock_err("subscribe to link notifications"))?;
    let request = delete_request(index);
    spawn_deleter(&request).map_err(sock_err("fork the link deleter"))?;
    wait_for_dellink(&monitor, index)
}

fn delete_request(index: u32) -> Vec<u8> {
    let mut link = LinkMessage::default();
    link.header.index = index;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(header, RouteNetlinkMessage::DelLink(link).into());
    msg.finalize();
    let mut buf = vec![0; msg.header.length as usize];
    msg.serialize(&mut buf);
    buf
}

/// Forks a child that sends `request` on a fresh netlink socket and exits. The child detaches
/// (new session, every inherited descriptor closed, so nobody reading our stdout waits for it)
/// and is reaped by whoever inherits it.
fn spawn_deleter(request: &[u8]) -> std::io::Result<()> {
    // SAFETY: the child only makes raw system calls (setsid, close_range, socket, sendto,
    // _exit), which are async-signal-safe, so forking a possibly multi-threaded process is
    // sound; it never returns into Rust code and touches no lock or allocator.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: see above; `request` stays valid in the child's copy of our memory.
            unsafe {
                libc::setsid();
                libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
                let fd = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, NETLINK_ROUTE as i32);
                if fd >= 0 {
                    let mut kernel: libc::sockaddr_nl = std::mem::zeroed();
                    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
                    libc::sendto(
                        fd,
                        request.as_ptr().cast(),
                        request.len(),
                        0,
                        (&raw const kernel).cast(),
                        std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                    );
                }
                libc::_exit(0)
            }
        }
        _ => Ok(()),
    }
}

fn wait_for_dellink(monitor: &Socket, index: u32) -> Result<Detached, NetlinkError> {
    let deadline = Instant::now() + ANNOUNCE_TIMEOUT;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Detached::Unconfirmed);
        }
        let mut pfd = libc::pollfd {
            fd: monitor.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1);
        // SAFETY: `pfd` is a valid pollfd for the duration of the call and nfds is 1.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready <= 0 {
            continue;
        }
        // SAFETY: `buf` is a valid writable buffer of the given length.
        let n = unsafe { libc::recv(monitor.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let Ok(n) = usize::try_from(n) else {
            // ENOBUFS: notifications were dropped; ours may be among them.
            return Ok(Detached::Unconfirmed);
        };
        if announces_deletion(&buf[..n], index) {
            return Ok(Detached::Announced);
        }
    }
}

/// True when `buf` holds an RTM_DELLINK for `index`.
fn announces_deletion(buf: &[u8], index: u32) -> bool {
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        if len < 16 || off + len > buf.len() {
            return false;
        }
        // struct ifinfomsg follows the header: family, pad, type (u16), index (i32).
        if kind == RTM_DELLINK && len >= 16 + 8 {
            let i = off + 16 + 4;
            let ifindex = u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
            if ifindex == index {
                return true;
            }
        }
        off += (len + 3) & !3;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u16, index: u32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&32u32.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&index.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m
    }

    #[test]
    fn finds_the_dellink_of_our_index_among_others() {
        let mut buf = msg(16, 7);
        buf.extend(msg(RTM_DELLINK, 8));
        buf.extend(msg(RTM_DELLINK, 7));
        assert!(announces_deletion(&buf, 7));
        assert!(!announces_deletion(&msg(16, 7), 7));
        assert!(!announces_deletion(&buf[..20], 7));
    }

    #[test]
    fn the_request_is_a_dellink_by_index() {
        let req = delete_request(42);
        assert_eq!(u16::from_ne_bytes([req[4], req[5]]), RTM_DELLINK);
        assert_eq!(u32::from_ne_bytes([req[20], req[21], req[22], req[23]]), 42);
    }
}
