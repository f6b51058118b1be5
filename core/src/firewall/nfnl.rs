//! The few nf_tables netlink messages berth sends itself: "does this chain exist", and adding,
//! getting, listing and deleting elements of a map (and listing an interval set's intervals),
//! all in one transaction per call.
//!
//! Everything else (tables, chains, rules) is written once by the `nft` program; the per-container
//! work (a published port is one map element) goes straight to the kernel from the plugin
//! process, so it costs one system call and no program start, however many containers exist.
//! Encoding follows `include/uapi/linux/netfilter/nf_tables.h`.

use std::io;
use std::os::fd::AsRawFd;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_GETSETELEM: u16 = 13;
const NFT_MSG_DELSETELEM: u16 = 14;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
pub(super) const NLA_F_NESTED: u16 = 0x8000;

const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
/// `NFT_SET_ELEM_INTERVAL_END`: the element closes an interval (its key is one past the end).
const NFT_SET_ELEM_INTERVAL_END: u32 = 1;
const NFTA_SET_ELEM_USERDATA: u16 = 6;
const NFTA_DATA_VALUE: u16 = 1;
/// `NFTNL_UDATA_SET_ELEM_COMMENT`: how `nft` stores an element's comment in its userdata.
const UDATA_SET_ELEM_COMMENT: u8 = 0;

/// `NFPROTO_INET`: the family of berth's table.
pub const FAMILY_INET: u8 = 1;

/// One map element: its key and value bytes (nft's register layout) and its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The key, each part padded to 4 bytes.
    pub key: Vec<u8>,
    /// The value (empty for a plain set).
    pub data: Vec<u8>,
    /// The comment `nft list` shows.
    pub comment: Option<String>,
}

/// One interval of an interval set, as the kernel keeps it: the start key with the comment,
/// and the key one past its last value (`None` when it runs to the top of the key space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    /// The first key in the interval.
    pub start: Vec<u8>,
    /// One past the last key.
    pub end: Option<Vec<u8>>,
    /// The comment of the start element.
    pub comment: Option<String>,
}

/// A netfilter netlink socket in the calling thread's network namespace.
///
/// Closing a netfilter socket while the kernel still has deferred destroy work from a
/// transaction that deleted something (an RCU grace period away, ~10 ms) makes `close` wait for
/// that work, and, as far as the timings tell, it waits holding nf_tables' commit mutex, which
/// unregistering a network device also needs: a bridge DEL right after portmap's DEL waited
/// 8-20 ms, 2 ms when 5 ms or more passed between them. After a deletion the socket is
/// therefore handed on drop to a detached child that closes it only once that work has long run
/// ([`HOLD`]), when the close costs nothing and blocks no one.
pub struct Nfnl {
    socket: Socket,
    seq: std::cell::Cell<u32>,
    deleted: std::cell::Cell<bool>,
}

/// How long the holder child keeps a socket after a deletion: many grace periods.
const HOLD: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 500_000_000,
};

impl Drop for Nfnl {
    fn drop(&mut self) {
        if self.deleted.get() {
            hand_off_release(self.socket.as_raw_fd());
        }
    }
}

/// Forks a child that holds `fd` for [`HOLD`] and then exits, so the last close happens after
/// the kernel's deferred work is done, whether or not this process is still running.
fn hand_off_release(fd: i32) {
    // SAFETY: the child only makes async-signal-safe system calls (setsid, close_range,
    // nanosleep, reading errno, _exit) and never returns into Rust code, so forking a possibly
    // multi-threaded process is sound.
    match unsafe { libc::fork() } {
        // SAFETY: in the child, as above: raw system calls only, then _exit.
        0 => unsafe {
            libc::setsid();
            // Keep only the socket: nobody reading our stdout waits for this child.
            if fd > 0 {
                libc::syscall(libc::SYS_close_range, 0u32, (fd - 1) as u32, 0u32);
            }
            libc::syscall(libc::SYS_close_range, (fd + 1) as u32, u32::MAX, 0u32);
            let mut left = HOLD;
            while libc::nanosleep(&left, &mut left) == -1
                && *libc::__errno_location() == libc::EINTR
            {}
            libc::_exit(0)
        },
        -1 => tracing::debug!("could not fork the netfilter socket holder; closing in place"),
        _ => {}
    }
}

impl Nfnl {
    /// Opens the socket.
    pub fn open() -> io::Result<Nfnl> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Nfnl {
            socket,
            seq: std::cell::Cell::new(1),
            deleted: std::cell::Cell::new(false),
        })
    }

    fn next_seq(&self) -> u32 {
        let s = self.seq.get();
        self.seq.set(s.wrapping_add(1));
        s
    }

    /// True when `chain` exists in `table` (family inet).
    pub fn chain_exists(&self, table: &str, chain: &str) -> io::Result<bool> {
        let mut attrs = Vec::new();
        put_str(&mut attrs, NFTA_CHAIN_TABLE, table);
        put_str(&mut attrs, NFTA_CHAIN_NAME, chain);
        let seq = self.next_seq();
        let msg = message(
            msg_type(NFT_MSG_GETCHAIN),
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            &attrs,
        );
        match self.exchange(&msg, seq, 1) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Adds elements to several maps in one transaction; with `exclusive`, an existing key
    /// fails the whole transaction with EEXIST and nothing is added.
    pub fn add_elements(
        &self,
        table: &str,
        per_set: &[(String, Vec<Element>)],
        exclusive: bool,
    ) -> io::Result<()> {
        let excl = if exclusive { NLM_F_EXCL } else { 0 };
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | excl;
        self.element_batch(NFT_MSG_NEWSETELEM, flags, table, per_set)
    }

    /// Deletes elements (by key) from several maps in one transaction (ENOENT when one is
    /// missing, and then nothing is deleted).
    pub fn delete_elements(
        &self,
        table: &str,
        per_set: &[(String, Vec<Element>)],
    ) -> io::Result<()> {
        let flags = NLM_F_REQUEST | NLM_F_ACK;
        let res = self.element_batch(NFT_MSG_DELSETELEM, flags, table, per_set);
        if res.is_ok() && per_set.iter().any(|(_, e)| !e.is_empty()) {
            self.deleted.set(true);
        }
        res
    }

    /// The element with `key`, if present.
    pub fn get_element(&self, table: &str, set: &str, key: &[u8]) -> io::Result<Option<Element>> {
        let probe = Element {
            key: key.to_vec(),
            data: Vec::new(),
            comment: None,
        };
        let attrs = element_list(table, set, std::slice::from_ref(&probe));
        let seq = self.next_seq();
        let msg = message(
            msg_type(NFT_MSG_GETSETELEM),
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            &attrs,
        );
        match self.exchange(&msg, seq, 1) {
            Ok(replies) => Ok(replies.iter().flat_map(|r| parse_elements(r)).next()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every element of map `set` (an empty list when the table or set does not exist).
    pub fn list_elements(&self, table: &str, set: &str) -> io::Result<Vec<Element>> {
        let mut attrs = Vec::new();
        put_str(&mut attrs, NFTA_SET_ELEM_LIST_TABLE, table);
        put_str(&mut attrs, NFTA_SET_ELEM_LIST_SET, set);
        let seq = self.next_seq();
        let msg = message(
            msg_type(NFT_MSG_GETSETELEM),
            NLM_F_REQUEST | NLM_F_DUMP,
            seq,
            &attrs,
        );
        match self.exchange(&msg, seq, 0) {
            Ok(replies) => Ok(replies.iter().flat_map(|r| parse_elements(r)).collect()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Every interval of the interval set `set` (an empty list when the table or set does not
    /// exist). The kernel lists the start and the end of each interval as two elements, in no
    /// promised order; they are paired here.
    pub fn list_intervals(&self, table: &str, set: &str) -> io::Result<Vec<Interval>> {
        let mut attrs = Vec::new();
        put_str(&mut attrs, NFTA_SET_ELEM_LIST_TABLE, table);
        put_str(&mut attrs, NFTA_SET_ELEM_LIST_SET, set);
        let seq = self.next_seq();
        let msg = message(
            msg_type(NFT_MSG_GETSETELEM),
            NLM_F_REQUEST | NLM_F_DUMP,
            seq,
            &attrs,
        );
        let mut raw = Vec::new();
        match self.exchange_each(&msg, seq..=seq, 0, &mut |p| raw.extend(parse_flagged(p))) {
            Ok(()) => Ok(pair_intervals(raw)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn element_batch(
        &self,
        kind: u16,
        flags: u16,
        table: &str,
        per_set: &[(String, Vec<Element>)],
    ) -> io::Result<()> {
        let per_set: Vec<_> = per_set.iter().filter(|(_, e)| !e.is_empty()).collect();
        if per_set.is_empty() {
            return Ok(());
        }
        let first = self.next_seq();
        let mut buf = batch_marker(NFNL_MSG_BATCH_BEGIN, first);
        for (set, elements) in &per_set {
            let attrs = element_list(table, set, elements);
            buf.extend(message(msg_type(kind), flags, self.next_seq(), &attrs));
        }
        buf.extend(batch_marker(NFNL_MSG_BATCH_END, self.next_seq()));
        let seqs = first + 1..=first + per_set.len() as u32;
        self.exchange_seqs(&buf, seqs, per_set.len()).map(drop)
    }

    /// Sends `buf` and reads replies for `seq` until `acks` ACKs (0: until NLMSG_DONE) or an
    /// error; returns the payloads of data replies.
    fn exchange(&self, buf: &[u8], seq: u32, acks: usize) -> io::Result<Vec<Vec<u8>>> {
        self.exchange_seqs(buf, seq..=seq, acks)
    }

    fn exchange_seqs(
        &self,
        buf: &[u8],
        seqs: std::ops::RangeInclusive<u32>,
        acks: usize,
    ) -> io::Result<Vec<Vec<u8>>> {
        let mut replies = Vec::new();
        self.exchange_each(buf, seqs, acks, &mut |payload| {
            replies.push(payload.to_vec())
        })?;
        Ok(replies)
    }

    /// [`Self::exchange_seqs`], handing each data reply's payload to `each` as it arrives
    /// instead of keeping them (a conntrack dump can be large).
    fn exchange_each(
        &self,
        buf: &[u8],
        seqs: std::ops::RangeInclusive<u32>,
        acks: usize,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<()> {
        self.socket.send(buf, 0)?;
        let mut seen_acks = 0;
        let mut rbuf = vec![0u8; 256 * 1024];
        loop {
            let n = self.socket.recv(&mut &mut rbuf[..], 0)?;
            for (kind, flags, mseq, payload) in split(&rbuf[..n]) {
                if !seqs.contains(&mseq) {
                    continue;
                }
                match kind {
                    NLMSG_ERROR => {
                        let errno = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-libc::EIO);
                        if errno != 0 {
                            return Err(io::Error::from_raw_os_error(-errno));
                        }
                        seen_acks += 1;
                        if acks > 0 && seen_acks >= acks {
                            return Ok(());
                        }
                    }
                    NLMSG_DONE => return Ok(()),
                    _ => {
                        each(payload);
                        if acks == 0 && flags & NLM_F_MULTI == 0 {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// Dumps `kind` (a full message type: subsystem << 8 | message) for `family`, handing each
    /// reply's payload (nfgenmsg + attributes) to `each`.
    pub(super) fn dump_each(
        &self,
        kind: u16,
        family: u8,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<()> {
        let seq = self.next_seq();
        let msg = message_in(kind, NLM_F_REQUEST | NLM_F_DUMP, seq, family, &[]);
        self.exchange_each(&msg, seq..=seq, 0, each)
    }

    /// Sends one `kind` request for `family` with `attrs` and waits for its ACK.
    pub(super) fn request(&self, kind: u16, family: u8, attrs: &[u8]) -> io::Result<()> {
        let seq = self.next_seq();
        let msg = message_in(kind, NLM_F_REQUEST | NLM_F_ACK, seq, family, attrs);
        self.exchange_each(&msg, seq..=seq, 1, &mut |_| {})
    }
}

fn msg_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | msg
}

/// nlmsghdr + nfgenmsg (family inet) + attributes.
fn message(kind: u16, flags: u16, seq: u32, attrs: &[u8]) -> Vec<u8> {
    message_in(kind, flags, seq, FAMILY_INET, attrs)
}

/// nlmsghdr + nfgenmsg for `family` + attributes.
fn message_in(kind: u16, flags: u16, seq: u32, family: u8, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[family, 0, 0, 0]);
    m.extend_from_slice(attrs);
    m
}

/// BATCH_BEGIN/END: family unspec, res_id = the nf_tables subsystem (big endian).
fn batch_marker(kind: u16, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(20);
    m.extend_from_slice(&20u32.to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.push(0);
    m.push(0);
    m.extend_from_slice(&NFNL_SUBSYS_NFTABLES.to_be_bytes());
    m
}

pub(super) fn put_attr(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len() + (4 - len % 4) % 4, 0);
}

fn put_str(buf: &mut Vec<u8>, kind: u16, s: &str) {
    let mut bytes = s.as_bytes().to_vec();
    bytes.push(0);
    put_attr(buf, kind, &bytes);
}

fn element_list(table: &str, set: &str, elements: &[Element]) -> Vec<u8> {
    let mut attrs = Vec::new();
    put_str(&mut attrs, NFTA_SET_ELEM_LIST_TABLE, table);
    put_str(&mut attrs, NFTA_SET_ELEM_LIST_SET, set);
    let mut list = Vec::new();
    for e in elements {
        let mut elem = Vec::new();
        let mut key = Vec::new();
        put_attr(&mut key, NFTA_DATA_VALUE, &e.key);
        put_attr(&mut elem, NFTA_SET_ELEM_KEY | NLA_F_NESTED, &key);
        if !e.data.is_empty() {
            let mut data = Vec::new();
            put_attr(&mut data, NFTA_DATA_VALUE, &e.data);
            put_attr(&mut elem, NFTA_SET_ELEM_DATA | NLA_F_NESTED, &data);
        }
        if let Some(c) = &e.comment {
            let mut text = c.as_bytes()[..c.len().min(250)].to_vec();
            text.push(0);
            let mut udata = vec![UDATA_SET_ELEM_COMMENT, text.len() as u8];
            udata.extend(text);
            put_attr(&mut elem, NFTA_SET_ELEM_USERDATA, &udata);
        }
        put_attr(&mut list, NFTA_LIST_ELEM | NLA_F_NESTED, &elem);
    }
    put_attr(
        &mut attrs,
        NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED,
        &list,
    );
    attrs
}

/// Splits a receive buffer into (type, flags, seq, payload after the nlmsghdr).
fn split(buf: &[u8]) -> Vec<(u16, u16, u32, &[u8])> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        if len < 16 || off + len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        let flags = u16::from_ne_bytes([buf[off + 6], buf[off + 7]]);
        let seq = u32::from_ne_bytes([buf[off + 8], buf[off + 9], buf[off + 10], buf[off + 11]]);
        out.push((kind, flags, seq, &buf[off + 16..off + len]));
        off += (len + 3) & !3;
    }
    out
}

/// The attributes in `buf` as (type without flags, payload).
pub(super) fn attrs(buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 4 <= buf.len() {
        let len = u16::from_ne_bytes([buf[off], buf[off + 1]]) as usize;
        let kind = u16::from_ne_bytes([buf[off + 2], buf[off + 3]]) & 0x3fff;
        if len < 4 || off + len > buf.len() {
            break;
        }
        out.push((kind, &buf[off + 4..off + len]));
        off += (len + 3) & !3;
    }
    out
}

/// The elements in a NEWSETELEM reply payload (after the nlmsghdr).
fn parse_elements(payload: &[u8]) -> Vec<Element> {
    let Some(body) = payload.get(4..) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (kind, list) in attrs(body) {
        if kind != NFTA_SET_ELEM_LIST_ELEMENTS {
            continue;
        }
        for (_, elem) in attrs(list) {
            out.push(parse_element(elem));
        }
    }
    out
}

/// The elements of a reply with their `NFT_SET_ELEM_INTERVAL_END` flag.
fn parse_flagged(payload: &[u8]) -> Vec<(Element, bool)> {
    let Some(body) = payload.get(4..) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (kind, list) in attrs(body) {
        if kind != NFTA_SET_ELEM_LIST_ELEMENTS {
            continue;
        }
        for (_, elem) in attrs(list) {
            let end = attrs(elem).into_iter().any(|(k, v)| {
                k == NFTA_SET_ELEM_FLAGS
                    && v.get(..4).is_some_and(|b| {
                        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & NFT_SET_ELEM_INTERVAL_END
                            != 0
                    })
            });
            out.push((parse_element(elem), end));
        }
    }
    out
}

/// Pairs each start element with the smallest end key above it (intervals in a set never
/// overlap, so that end is its own). Keys of one set have one length, so byte order is
/// numeric order.
fn pair_intervals(raw: Vec<(Element, bool)>) -> Vec<Interval> {
    let mut ends: Vec<Vec<u8>> = raw
        .iter()
        .filter(|(_, end)| *end)
        .map(|(e, _)| e.key.clone())
        .collect();
    ends.sort();
    let mut out: Vec<Interval> = raw
        .into_iter()
        .filter(|(_, end)| !*end)
        .map(|(e, _)| {
            let i = ends.partition_point(|k| *k <= e.key);
            Interval {
                end: ends.get(i).cloned(),
                start: e.key,
                comment: e.comment,
            }
        })
        .collect();
    out.sort_by(|a, b| a.start.cmp(&b.start));
    out
}

fn parse_element(elem: &[u8]) -> Element {
    let value_of = |nested: &[u8]| {
        attrs(nested)
            .into_iter()
            .find(|(k, _)| *k == NFTA_DATA_VALUE)
            .map(|(_, v)| v.to_vec())
            .unwrap_or_default()
    };
    let mut e = Element {
        key: Vec::new(),
        data: Vec::new(),
        comment: None,
    };
    for (kind, payload) in attrs(elem) {
        match kind {
            NFTA_SET_ELEM_KEY => e.key = value_of(payload),
            NFTA_SET_ELEM_DATA => e.data = value_of(payload),
            NFTA_SET_ELEM_USERDATA => e.comment = parse_comment(payload),
            _ => {}
        }
    }
    e
}

fn parse_comment(udata: &[u8]) -> Option<String> {
    let mut off = 0;
    while off + 2 <= udata.len() {
        let (kind, len) = (udata[off], udata[off + 1] as usize);
        let value = udata.get(off + 2..off + 2 + len)?;
        if kind == UDATA_SET_ELEM_COMMENT {
            let text = value.split(|b| *b == 0).next().unwrap_or_default();
            return Some(String::from_utf8_lossy(text).into_owned());
        }
        off += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_list_roundtrips_through_the_parser() {
        let e = Element {
            key: vec![6, 0, 0, 0, 0x1f, 0x90, 0, 0],
            data: vec![10, 1, 0, 5, 0, 80, 0, 0],
            comment: Some("net=web id=c1 if=eth0".into()),
        };
        let attrs_buf = element_list("berth", "hostports4", std::slice::from_ref(&e));
        assert!(attrs_buf.len() % 4 == 0);
        let mut payload = vec![FAMILY_INET, 0, 0, 0];
        payload.extend(attrs_buf);
        assert_eq!(parse_elements(&payload), vec![e]);
    }

    #[test]
    fn interval_starts_pair_with_the_next_end_above_them() {
        let el = |key: [u8; 4], comment: Option<&str>| Element {
            key: key.to_vec(),
            data: Vec::new(),
            comment: comment.map(String::from),
        };
        // Adjacent 10.0.0.0/24 and 10.0.1.0/24, listed end-first as the kernel does, and a
        // last interval that runs to the top of the space (no end element).
        let raw = vec![
            (el([10, 0, 2, 0], None), true),
            (el([10, 0, 1, 0], Some("net=b")), false),
            (el([10, 0, 1, 0], None), true),
            (el([10, 0, 0, 0], Some("net=a")), false),
            (el([240, 0, 0, 0], Some("net=c")), false),
        ];
        let got = pair_intervals(raw);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].start, vec![10, 0, 0, 0]);
        assert_eq!(got[0].end, Some(vec![10, 0, 1, 0]));
        assert_eq!(got[0].comment.as_deref(), Some("net=a"));
        assert_eq!(got[1].end, Some(vec![10, 0, 2, 0]));
        assert_eq!(got[2].end, None);
    }

    #[test]
    fn attributes_are_padded_to_four_bytes() {
        let mut buf = Vec::new();
        put_str(&mut buf, 1, "abc");
        put_str(&mut buf, 2, "de");
        assert_eq!(buf.len(), 16);
        assert_eq!(attrs(&buf)[1], (2, &b"de\0"[..]));
    }

    #[test]
    fn batch_marker_names_the_subsystem_big_endian() {
        let m = batch_marker(NFNL_MSG_BATCH_BEGIN, 7);
        assert_eq!(m.len(), 20);
        assert_eq!(&m[18..20], &[0, 10]);
    }
}
