//! The sockets berthd listens on (`-H`): `unix://PATH` (created mode 0660; a live socket
//! there is another berthd and refused, a stale one replaced) and, only with `--allow-tcp`,
//! `tcp://HOST:PORT` on loopback (any address with `--allow-tcp-any`). The API has no
//! authentication: whoever can connect is root on the machine.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The default socket.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// One `-H` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A unix socket path.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
}

/// Which TCP addresses are allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpPolicy {
    /// `--allow-tcp`: loopback only.
    pub allow: bool,
    /// `--allow-tcp-any`: any address.
    pub any: bool,
}

impl Addr {
    /// Parses `unix:///path`, `/path` or `tcp://host:port`.
    pub fn parse(s: &str, tcp: TcpPolicy) -> anyhow::Result<Self> {
        if let Some(p) = s.strip_prefix("unix://") {
            anyhow::ensure!(
                p.starts_with('/'),
                "-H {s}: the socket path must be absolute"
            );
            return Ok(Self::Unix(p.into()));
        }
        if s.starts_with('/') {
            return Ok(Self::Unix(s.into()));
        }
        let Some(hp) = s.strip_prefix("tcp://") else {
            anyhow::bail!("-H {s}: expected unix:///PATH or tcp://HOST:PORT");
        };
        anyhow::ensure!(
            tcp.allow || tcp.any,
            "-H {s}: TCP has no authentication; pass --allow-tcp to listen on loopback"
        );
        let addr: SocketAddr = hp
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("-H {s}: not an IP:PORT"))?;
        anyhow::ensure!(
            tcp.any || addr.ip().is_loopback(),
            "-H {s}: only 127.0.0.1 or ::1 without --allow-tcp-any"
        );
        Ok(Self::Tcp(addr))
    }
}

/// A bound listener.
pub enum Listener {
    /// On a unix socket (removed again at shutdown).
    Unix(tokio::net::UnixListener, PathBuf),
    /// On TCP.
    Tcp(tokio::net::TcpListener),
}

/// Binds every address; fails on the first that cannot be bound.
pub fn bind_all(addrs: &[Addr]) -> anyhow::Result<Vec<Listener>> {
    addrs
        .iter()
        .map(|a| match a {
            Addr::Unix(p) => bind_unix(p).map(|l| Listener::Unix(l, p.clone())),
            Addr::Tcp(sa) => {
                let l =
                    std::net::TcpListener::bind(sa).with_context(|| format!("listen on {sa}"))?;
                l.set_nonblocking(true)?;
                Ok(Listener::Tcp(tokio::net::TcpListener::from_std(l)?))
            }
        })
        .collect()
}

/// Binds a unix socket at `path` with mode 0660, replacing a stale socket file but refusing
/// one that answers.
pub fn bind_unix(path: &Path) -> anyhow::Result<tokio::net::UnixListener> {
    if std::fs::symlink_metadata(path).is_ok() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            anyhow::bail!("another berthd is listening on {}", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("remove the stale socket {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let l = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("chmod {}", path.display()))?;
    l.set_nonblocking(true)?;
    Ok(tokio::net::UnixListener::from_std(l)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_tcp_needs_permission() {
        let none = TcpPolicy::default();
        let lo = TcpPolicy {
            allow: true,
            any: false,
        };
        assert_eq!(
            Addr::parse("unix:///run/b.sock", none).unwrap(),
            Addr::Unix("/run/b.sock".into())
        );
        assert!(Addr::parse("unix://rel.sock", none).is_err());
        assert!(Addr::parse("tcp://127.0.0.1:2375", none).is_err());
        assert!(Addr::parse("tcp://127.0.0.1:2375", lo).is_ok());
        assert!(Addr::parse("tcp://[::1]:2375", lo).is_ok());
        assert!(Addr::parse("tcp://0.0.0.0:2375", lo).is_err());
        let any = TcpPolicy {
            allow: false,
            any: true,
        };
        assert!(Addr::parse("tcp://0.0.0.0:2375", any).is_ok());
        assert!(Addr::parse("http://x", any).is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("d/b.sock");
        let live = bind_unix(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o660);
        let e = bind_unix(&p).unwrap_err().to_string();
        assert!(e.contains("another berthd is listening on"), "{e}");
        drop(live);
        bind_unix(&p).unwrap();
    }
}
