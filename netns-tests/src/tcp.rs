//! A tiny TCP server and client that run inside test namespaces (on threads that entered them),
//! so tests can see who connected (after NAT) without any external program.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

use berth_core::netns::Netns;

/// Runs `f` on a new thread that entered `ns`'s network namespace.
pub fn spawn_in<T: Send + 'static>(
    ns: &Netns,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = ns.try_clone().expect("dup netns");
    std::thread::spawn(move || {
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

/// A server that answers every connection with `<peer ip>\n` and closes it.
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
}

/// A listener bound to `addr` inside `ns` (a socket stays in the netns it was made in).
pub fn listen_in(ns: &Netns, addr: SocketAddr) -> TcpListener {
    spawn_in(ns, move || TcpListener::bind(addr))
        .join()
        .expect("bind thread")
        .unwrap_or_else(|e| panic!("listen on {addr}: {e}"))
}

/// Starts a [`Server`] on `addr` inside `ns`. It lives until the test process ends.
pub fn serve(ns: &Netns, addr: SocketAddr) -> Server {
    let listener = listen_in(ns, addr);
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let peer = conn
                .peer_addr()
                .map(|p| p.ip().to_string())
                .unwrap_or_default();
            let _ = writeln!(conn, "{peer}");
        }
    });
    Server { addr }
}

/// Connects to `addr` from inside `ns` and returns what the server said (its view of our
/// address), or the error. Gives up after two seconds.
pub fn fetch(ns: &Netns, addr: SocketAddr) -> Result<String, String> {
    spawn_in(ns, move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .map_err(|e| format!("read from {addr}: {e}"))?;
        if out.is_empty() {
            return Err(format!("{addr} closed without answering"));
        }
        Ok(out.trim().to_string())
    })
    .join()
    .expect("client thread")
}
