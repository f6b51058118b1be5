//! A tiny upstream name server for the DNS tests, on threads inside a test namespace that
//! plays the outside network: it answers A queries for the names it was given (over UDP and
//! TCP), NXDOMAIN for others, and marks UDP answers longer than 512 bytes truncated, so a
//! test can see forwarding over both transports.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use berth_core::netns::Netns;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};

/// The running server: how many queries it has seen.
pub struct Upstream {
    /// Queries received, UDP and TCP.
    pub queries: Arc<AtomicUsize>,
}

/// Starts the server on `addr` port 53 inside `ns` with `names` (lower case, with the
/// trailing dot) and their addresses. It lives until the test process ends.
pub fn serve(ns: &Netns, addr: Ipv4Addr, names: HashMap<String, Vec<Ipv4Addr>>) -> Upstream {
    let names = Arc::new(names);
    let queries = Arc::new(AtomicUsize::new(0));
    let sa = SocketAddr::from((addr, 53));
    let (udp, tcp) = in_ns(ns, move || {
        (
            UdpSocket::bind(sa).expect("bind upstream udp"),
            TcpListener::bind(sa).expect("bind upstream tcp"),
        )
    });
    let counter = queries.clone();
    let (n, q) = (names.clone(), queries.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((len, from)) = udp.recv_from(&mut buf) {
            q.fetch_add(1, Ordering::SeqCst);
            if let Some(mut out) = respond(&n, &buf[..len]) {
                if out.len() > 512 {
                    let mut m = Message::from_vec(&out).expect("own answer");
                    m.take_answers();
                    m.set_truncated(true);
                    out = m.to_vec().expect("encode");
                }
                let _ = udp.send_to(&out, from);
            }
        }
    });
    std::thread::spawn(move || {
        for mut conn in tcp.incoming().flatten() {
            let mut len = [0u8; 2];
            if conn.read_exact(&mut len).is_err() {
                continue;
            }
            let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if conn.read_exact(&mut msg).is_err() {
                continue;
            }
            queries.fetch_add(1, Ordering::SeqCst);
            if let Some(out) = respond(&names, &msg) {
                let mut framed = (out.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&out);
                let _ = conn.write_all(&framed);
            }
        }
    });
    Upstream { queries: counter }
}

/// The answer to one query: the name's A records, or NXDOMAIN.
fn respond(names: &HashMap<String, Vec<Ipv4Addr>>, packet: &[u8]) -> Option<Vec<u8>> {
    let req = Message::from_vec(packet).ok()?;
    let q = req.queries().first()?.clone();
    let mut m = Message::new();
    m.set_id(req.id())
        .set_message_type(MessageType::Response)
        .set_recursion_desired(req.recursion_desired())
        .set_recursion_available(true);
    match names.get(&q.name().to_ascii().to_ascii_lowercase()) {
        Some(addrs) if q.query_type() == hickory_proto::rr::RecordType::A => {
            for a in addrs {
                m.add_answer(Record::from_rdata(q.name().clone(), 30, RData::A(A(*a))));
            }
        }
        Some(_) => {}
        None => {
            m.set_response_code(ResponseCode::NXDomain);
        }
    }
    m.add_query(q);
    m.to_vec().ok()
}

/// Runs `f` on a thread inside `ns` and returns its result.
fn in_ns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = ns.try_clone().expect("dup netns");
    std::thread::spawn(move || {
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("thread in netns")
}

/// Asks `server` for the A records of `name` from inside `ns`, over TCP or UDP, and returns
/// the response (`None` when nothing came back within two seconds).
pub fn query(ns: &Netns, server: SocketAddr, name: &str, tcp: bool) -> Option<Message> {
    use hickory_proto::op::Query;
    use hickory_proto::rr::{Name, RecordType};
    let mut m = Message::new();
    m.set_id(0x4242).set_recursion_desired(true);
    m.add_query(Query::query(Name::from_ascii(name).ok()?, RecordType::A));
    let packet = m.to_vec().ok()?;
    let timeout = Some(std::time::Duration::from_secs(2));
    let bytes = in_ns(ns, move || -> Option<Vec<u8>> {
        if tcp {
            let mut s =
                std::net::TcpStream::connect_timeout(&server, std::time::Duration::from_secs(2))
                    .ok()?;
            s.set_read_timeout(timeout).ok()?;
            let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&packet);
            s.write_all(&framed).ok()?;
            let mut len = [0u8; 2];
            s.read_exact(&mut len).ok()?;
            let mut out = vec![0u8; usize::from(u16::from_be_bytes(len))];
            s.read_exact(&mut out).ok()?;
            Some(out)
        } else {
            let s = UdpSocket::bind("0.0.0.0:0").ok()?;
            s.set_read_timeout(timeout).ok()?;
            s.send_to(&packet, server).ok()?;
            let mut buf = [0u8; 65535];
            let n = s.recv(&mut buf).ok()?;
            Some(buf[..n].to_vec())
        }
    })?;
    Message::from_vec(&bytes).ok()
}
