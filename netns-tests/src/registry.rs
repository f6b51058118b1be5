//! A real registry for tests: Debian's `docker-registry` (distribution 2.8) started inside a
//! test netns on an address there, with its storage in a temp dir, optionally behind basic
//! auth (an htpasswd file from `htpasswd -B`) or TLS (a throwaway CA and server certificate
//! from `openssl`). Killed and removed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_core::netns::Netns;

use crate::{TestNetns, certs};

/// How the registry is set up.
#[derive(Debug, Clone, Default)]
pub struct RegistrySetup {
    /// Require this user and password (basic auth).
    pub user: Option<(String, String)>,
    /// Serve TLS with a certificate for the listen address, signed by a test CA.
    pub tls: bool,
    /// Require Bearer tokens from this realm (a [`crate::token_server::TokenServer`]'s
    /// `http://ADDR/token`), signed by the key of this certificate.
    pub token: Option<(String, PathBuf)>,
}

/// A running registry.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// Where it listens, as `HOST:PORT` (the registry part of references).
    pub host: String,
}

impl Registry {
    /// Starts a registry on `addr` inside the test netns `host`; waits until it accepts
    /// connections.
    pub fn start(host: &TestNetns, addr: SocketAddr, setup: &RegistrySetup) -> Registry {
        let (ns, ns_path) = (host.netns(), host.path());
        let dir = tempfile::tempdir().expect("registry dir");
        let mut auth = String::new();
        if let Some((u, p)) = &setup.user {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .expect("run htpasswd (apache2-utils)");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).expect("write htpasswd");
            auth = format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                file.display()
            );
        }
        if let Some((realm, cert)) = &setup.token {
            auth = format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                crate::token_server::SERVICE,
                crate::token_server::ISSUER,
                cert.display()
            );
        }
        let mut tls = String::new();
        if setup.tls {
            make_certs(dir.path(), &addr.ip().to_string());
            tls = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{tls}{auth}",
            dir.path().join("data").display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("log")).expect("registry log");
        let child = Command::new("nsenter")
            .arg(format!("--net={}", ns_path.display()))
            .arg("--")
            .arg("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry (Debian package docker-registry)");
        let reg = Registry {
            child,
            dir,
            host: addr.to_string(),
        };
        reg.wait_ready(ns, addr);
        reg
    }

    fn wait_ready(&self, ns: &Netns, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = crate::tcp::spawn_in(ns, move || {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            })
            .join()
            .expect("probe thread");
            if up {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "registry did not come up on {addr}: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The registry's log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The test CA's certificate (with `tls`).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// The registry's storage directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate for `ip`, signed by it, in `dir`.
fn make_certs(dir: &Path, ip: &str) {
    certs::ca(dir);
    certs::server(dir, "server", ip);
}
