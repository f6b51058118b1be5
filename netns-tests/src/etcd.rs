//! A throwaway etcd member (Debian's etcd-server) for root tests: started inside a test's
//! network namespace on its loopback, with a temp data dir, and killed on drop.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup step should panic loudly

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::TestNetns;

/// A running etcd.
pub struct Etcd {
    child: Child,
    dir: tempfile::TempDir,
    /// Its client address (inside the namespace).
    pub client: SocketAddr,
}

impl Etcd {
    /// Starts etcd in `ns` on 127.0.0.1:`port` (peers on `port + 1`) and waits (up to 10 s)
    /// until it accepts connections.
    pub fn start(ns: &TestNetns, port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let client: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let peer = format!("http://127.0.0.1:{}", port + 1);
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net={}", ns.path().display()))
            .arg("--")
            .arg("etcd")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--listen-client-urls", &format!("http://{client}")])
            .args(["--advertise-client-urls", &format!("http://{client}")])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("default={peer}")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let e = Self { child, dir, client };
        for _ in 0..1000 {
            let up = ns
                .netns()
                .run_in(|| TcpStream::connect_timeout(&client, Duration::from_millis(50)).is_ok())
                .unwrap();
            if up {
                return e;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("etcd did not start: {}", e.log());
    }

    /// `etcd://127.0.0.1:PORT`, for the store options.
    pub fn url(&self) -> String {
        format!("etcd://{}", self.client)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
