//! A throwaway etcd member (Debian's etcd-server) for root tests: started inside a test's
//! network namespace (on its loopback, or on an address of that namespace), with a temp data
//! dir, stopped and started again on the same data when a test says so, and killed on drop.
//! With TLS it serves https with a certificate from a throwaway CA and asks every client for a
//! certificate that CA signed (`--client-cert-auth`).

#![allow(clippy::unwrap_used)] // test helpers: a failed setup step should panic loudly

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{TestNetns, certs};

/// A running etcd.
pub struct Etcd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    netns: PathBuf,
    tls: bool,
    /// Its client address (inside the namespace).
    pub client: SocketAddr,
}

impl Etcd {
    /// Starts etcd in `ns` on 127.0.0.1:`port` (peers on `port + 1`) and waits (up to 10 s)
    /// until it accepts connections.
    pub fn start(ns: &TestNetns, port: u16) -> Self {
        Self::start_at(ns, IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    }

    /// Starts etcd in `ns` on `ip:port` (an address of `ns`), as [`Self::start`].
    pub fn start_at(ns: &TestNetns, ip: IpAddr, port: u16) -> Self {
        Self::launch(ns, SocketAddr::new(ip, port), false)
    }

    /// Starts etcd in `ns` on 127.0.0.1:`port` with TLS: its certificate and a client
    /// certificate ([`Self::client_tls`]) from a CA made for it, and client certificates
    /// required.
    pub fn start_tls(ns: &TestNetns, port: u16) -> Self {
        Self::launch(ns, SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port), true)
    }

    fn launch(ns: &TestNetns, client: SocketAddr, tls: bool) -> Self {
        let mut e = Self {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            netns: ns.path().to_owned(),
            tls,
            client,
        };
        if tls {
            let dir = e.dir.path();
            certs::ca(dir);
            certs::server(dir, "server", &client.ip().to_string());
            certs::client(dir, "client", "berth-node");
        }
        e.resume(ns);
        e
    }

    /// The TLS files a client needs ([`Self::start_tls`]): the CA, and its certificate and key.
    pub fn client_tls(&self) -> (PathBuf, PathBuf, PathBuf) {
        let d = self.dir.path();
        (d.join("ca.crt"), d.join("client.crt"), d.join("client.key"))
    }

    /// Kills the member (its data stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the member again on its data, after [`Self::stop`], and waits until it
    /// accepts connections.
    pub fn resume(&mut self, ns: &TestNetns) {
        assert_eq!(ns.path(), self.netns, "etcd resumes in its own namespace");
        let dir = self.dir.path();
        let client = self.client;
        let peer = format!("http://{}:{}", client.ip(), client.port() + 1);
        let scheme = if self.tls { "https" } else { "http" };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("etcd.log"))
            .unwrap();
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.netns.display()))
            .arg("--")
            .arg("etcd")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--listen-client-urls", &format!("{scheme}://{client}")])
            .args(["--advertise-client-urls", &format!("{scheme}://{client}")]);
        if self.tls {
            cmd.arg("--client-cert-auth")
                .arg("--trusted-ca-file")
                .arg(dir.join("ca.crt"))
                .arg("--cert-file")
                .arg(dir.join("server.crt"))
                .arg("--key-file")
                .arg(dir.join("server.key"));
        }
        let child = cmd
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("default={peer}")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..1000 {
            let up = ns
                .netns()
                .run_in(|| TcpStream::connect_timeout(&client, Duration::from_millis(50)).is_ok())
                .unwrap();
            if up {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("etcd did not start: {}", self.log());
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
        self.stop();
    }
}
