//! The request/reply transport: one synchronous `NETLINK_ROUTE` socket, sequence numbers,
//! ACKs, multipart dumps and `NLM_F_DUMP_INTR` retries.

use std::io;
use std::sync::Mutex;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::netlink::NetlinkError;

/// Receive buffer size. Kernel dump batches are at most 32 KiB; single messages (a link with
/// many VFs) can be bigger, so leave headroom.
const RECV_BUF_LEN: usize = 128 * 1024;
/// How many times a dump is retried when concurrent changes interrupt it.
const DUMP_ATTEMPTS: u32 = 5;

/// A failed exchange, before the caller names the operation.
#[derive(Debug)]
pub(super) enum TxError {
    /// The kernel answered with an errno.
    Kernel(io::Error),
    /// send/recv failed.
    Socket(io::Error),
    /// A reply could not be decoded.
    Decode(String),
    /// Every dump attempt was interrupted.
    Interrupted,
}

impl TxError {
    /// Names the operation that failed.
    pub(super) fn with_op(self, op: String) -> NetlinkError {
        match self {
            TxError::Kernel(source) => NetlinkError::Kernel { op, source },
            TxError::Socket(source) => NetlinkError::Socket { op, source },
            TxError::Decode(reason) => NetlinkError::Decode { op, reason },
            TxError::Interrupted => NetlinkError::DumpInterrupted {
                op,
                attempts: DUMP_ATTEMPTS,
            },
        }
    }

    /// The errno the kernel answered with, if that is what happened.
    pub(super) fn errno(&self) -> Option<i32> {
        match self {
            TxError::Kernel(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

struct State {
    seq: u32,
    buf: Vec<u8>,
}

/// A netlink route socket, bound to the netns it was created in.
pub(super) struct Transport {
    socket: Socket,
    state: Mutex<State>,
}

fn op(what: &'static str) -> impl FnOnce(io::Error) -> NetlinkError {
    move |source| NetlinkError::Socket {
        op: what.to_owned(),
        source,
    }
}

impl Transport {
    /// Opens a socket in the calling thread's network namespace.
    pub(super) fn open() -> Result<Transport, NetlinkError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(op("open"))?;
        socket.bind_auto().map_err(op("bind"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(op("connect"))?;
        // Errors then carry only the request header, not the whole request.
        socket
            .set_cap_ack(true)
            .map_err(op("set NETLINK_CAP_ACK"))?;
        // Lets the kernel filter dumps (addresses by ifindex).
        socket
            .set_netlink_get_strict_chk(true)
            .map_err(op("set NETLINK_GET_STRICT_CHK"))?;
        Ok(Transport {
            socket,
            state: Mutex::new(State {
                seq: 0,
                buf: Vec::with_capacity(RECV_BUF_LEN),
            }),
        })
    }

    /// Sends a request with NLM_F_ACK and waits for the ACK; returns any replies received
    /// before it (for a plain GET, the object asked for).
    pub(super) fn request(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, TxError> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_ACK | flags)
            .map(|(replies, _)| replies)
    }

    /// Dumps every object of a kind, retrying when the dump is interrupted by concurrent
    /// changes.
    pub(super) fn dump(
        &self,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, TxError> {
        for _ in 0..DUMP_ATTEMPTS {
            let (replies, interrupted) = self.exchange(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP)?;
            if !interrupted {
                return Ok(replies);
            }
            tracing::debug!("netlink dump interrupted, retrying");
        }
        Err(TxError::Interrupted)
    }

    /// Sends one request and collects replies until its ACK/error or NLMSG_DONE. Returns the
    /// replies and whether any carried NLM_F_DUMP_INTR.
    fn exchange(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool), TxError> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.seq = state.seq.wrapping_add(1);
        let seq = state.seq;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        self.send(&out)?;

        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            let len = self.recv(&mut state.buf)?;
            let mut offset = 0;
            while offset < len {
                let bytes = &state.buf[offset..len];
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| TxError::Decode(e.to_string()))?;
                let msg_len = reply.header.length as usize;
                if msg_len == 0 {
                    break;
                }
                offset += (msg_len + 3) & !3;
                if reply.header.sequence_number != seq {
                    continue; // a stale reply to an earlier, abandoned request
                }
                interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok((replies, interrupted)),
                    NetlinkPayload::Error(err) => {
                        return match err.code {
                            None => Ok((replies, interrupted)),
                            Some(_) => Err(TxError::Kernel(err.to_io())),
                        };
                    }
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    _ => {}
                }
            }
        }
    }

    fn send(&self, bytes: &[u8]) -> Result<(), TxError> {
        loop {
            match self.socket.send(bytes, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TxError::Socket(e)),
            }
        }
    }

    /// Receives one datagram into `buf` (replacing its contents); returns its length.
    fn recv(&self, buf: &mut Vec<u8>) -> Result<usize, TxError> {
        loop {
            buf.clear();
            match self.socket.recv(buf, libc::MSG_TRUNC) {
                Ok(len) if len > buf.len() => {
                    return Err(TxError::Decode(format!(
                        "reply of {len} bytes exceeds the {RECV_BUF_LEN}-byte receive buffer"
                    )));
                }
                Ok(len) => return Ok(len),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TxError::Socket(e)),
            }
        }
    }
}
