//! An HTTP proxy for registry fault tests, run on a thread inside a test netns: it passes
//! each request to the registry (one request per connection, `Connection: close` both ways)
//! and can spoil the next layer downloads (blob bodies larger than 4 KiB): cut the body in
//! half and drop the connection, flip a byte, answer 503, or announce a wrong
//! Content-Length, or stall a chosen blob. It counts the layer bytes it passed, so tests can see what moved.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

use berth_core::netns::Netns;

/// One spoiled layer download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Half the body, then the connection drops.
    Drop,
    /// One byte of the body flipped.
    Corrupt,
    /// `503 Service Unavailable`.
    Unavailable,
    /// A Content-Length 10 bytes short, and only that many bytes.
    ShortLength,
}

#[derive(Default)]
struct State {
    faults: VecDeque<Fault>,
    /// Faults that hit every layer download from now on.
    always: Option<Fault>,
    /// GETs whose request line contains this hang for a minute, then drop.
    stall: Option<String>,
    layer_bytes: u64,
    layer_gets: u64,
}

/// A running proxy.
#[derive(Clone)]
pub struct FaultProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Listens on `addr` inside `ns`, forwarding to `upstream`. Lives until the test
    /// process ends.
    pub fn start(ns: &Netns, addr: SocketAddr, upstream: SocketAddr) -> FaultProxy {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let listener = crate::tcp::listen_in(ns, addr);
        // Threads inherit their creator's netns: the handlers connect to `upstream` from
        // inside `ns` too.
        crate::tcp::spawn_in(ns, move || {
            for conn in listener.incoming().flatten() {
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream, &st);
                });
            }
        });
        FaultProxy { addr, state }
    }

    /// Spoils the next layer downloads with these faults, in order.
    pub fn inject(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().copied());
    }

    /// Spoils every layer download from now on (`None` stops it).
    pub fn always(&self, f: Option<Fault>) {
        self.lock().always = f;
    }

    /// Makes GETs of URLs containing `what` hang for a minute and then drop (`None` stops).
    pub fn stall(&self, what: Option<&str>) {
        self.lock().stall = what.map(str::to_owned);
    }

    /// Layer body bytes passed to clients so far, and the layer GETs answered.
    pub fn layer_traffic(&self) -> (u64, u64) {
        let s = self.lock();
        (s.layer_bytes, s.layer_gets)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads an HTTP message head (through the blank line) and the body its Content-Length
/// announces (requests) or everything to EOF (responses, with `to_eof`).
fn read_message(s: &mut TcpStream, to_eof: bool) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(std::io::Error::other("closed in the head"));
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut body = Vec::new();
    if to_eof {
        s.read_to_end(&mut body)?;
    } else {
        let len = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok());
        body.resize(len.unwrap_or(0), 0);
        s.read_exact(&mut body)?;
    }
    Ok((head, body))
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// The head with `Connection: close` in place of any Connection header.
fn closing(head: &str) -> String {
    let mut out: String = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn serve(mut client: TcpStream, upstream: SocketAddr, st: &Mutex<State>) -> std::io::Result<()> {
    // A TLS handshake (a client probing for TLS) is refused at once, as a plain HTTP server
    // answers it.
    let mut first = [0u8; 1];
    if client.peek(&mut first)? == 0 || first[0] == 0x16 {
        return Ok(());
    }
    let (head, body) = read_message(&mut client, false)?;
    let line = head.lines().next().unwrap_or_default().to_owned();
    let stall = st.lock().unwrap_or_else(|p| p.into_inner()).stall.clone();
    if stall.is_some_and(|s| line.starts_with("GET ") && line.contains(&s)) {
        std::thread::sleep(std::time::Duration::from_secs(60));
        return Ok(());
    }
    let is_blob_get = head.starts_with("GET ")
        && head
            .lines()
            .next()
            .is_some_and(|l| l.contains("/blobs/sha256:"));
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(closing(&head).as_bytes())?;
    up.write_all(&body)?;
    let (rhead, mut rbody) = read_message(&mut up, true)?;
    let ok = rhead.starts_with("HTTP/1.1 200") || rhead.starts_with("HTTP/1.0 200");
    let layer = is_blob_get && ok && rbody.len() > 4096;
    let fault = if layer {
        let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
        s.layer_gets += 1;
        let f = s.faults.pop_front().or(s.always);
        if f.is_none() {
            s.layer_bytes += rbody.len() as u64;
        }
        f
    } else {
        None
    };
    let rhead = closing(&rhead);
    match fault {
        None => {
            client.write_all(rhead.as_bytes())?;
            client.write_all(&rbody)?;
        }
        Some(Fault::Drop) => {
            client.write_all(rhead.as_bytes())?;
            client.write_all(&rbody[..rbody.len() / 2])?;
            client.flush()?;
            let _ = client.shutdown(std::net::Shutdown::Both);
        }
        Some(Fault::Corrupt) => {
            let mid = rbody.len() / 2;
            rbody[mid] ^= 0x5a;
            client.write_all(rhead.as_bytes())?;
            client.write_all(&rbody)?;
        }
        Some(Fault::Unavailable) => {
            client.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
        Some(Fault::ShortLength) => {
            let n = rbody.len() - 10;
            let head: String = rhead
                .lines()
                .map(|l| {
                    if l.to_ascii_lowercase().starts_with("content-length:") {
                        format!("Content-Length: {n}\r\n")
                    } else if l.is_empty() {
                        String::new()
                    } else {
                        format!("{l}\r\n")
                    }
                })
                .collect::<String>()
                + "\r\n";
            client.write_all(head.as_bytes())?;
            client.write_all(&rbody[..n])?;
        }
    }
    client.flush()
}
