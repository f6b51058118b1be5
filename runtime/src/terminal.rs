//! Terminals: when `process.terminal` is true the container's process gets a new pty from the
//! container's own /dev/ptmx; the master end goes to whoever listens on `--console-socket`
//! (SCM_RIGHTS, as runc does) and the slave end becomes the process's stdio and controlling tty.
//! [`ConsoleSocket`] is the other end, for callers that use the runtime as a library.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, open};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr,
    connect, recvmsg, sendmsg, socket,
};
use nix::sys::stat::Mode;

use crate::sys;

/// Errors setting up the container's terminal.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// A pty or socket syscall failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// `process.terminal` is set but no `--console-socket` was given.
    #[error("process.terminal is true but no --console-socket was given")]
    NoConsoleSocket,
    /// Listening on or accepting from the console socket failed.
    #[error("{op} {path}: {source}")]
    Listen {
        /// What was being done.
        op: &'static str,
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The connection on the console socket carried no file descriptor.
    #[error("no pty master arrived on {0}")]
    NoMaster(PathBuf),
}

fn sys_err(op: impl Into<String>) -> impl FnOnce(nix::Error) -> TerminalError {
    let op = op.into();
    move |source| TerminalError::Sys { op, source }
}

/// Connect to `socket_path` (before pivot_root, while the host path resolves).
pub fn connect_console(socket_path: &Path) -> Result<OwnedFd, TerminalError> {
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(sys_err("socket"))?;
    let addr = UnixAddr::new(socket_path).map_err(sys_err("console socket address"))?;
    connect(fd.as_raw_fd(), &addr)
        .map_err(sys_err(format!("connect {}", socket_path.display())))?;
    Ok(fd)
}

/// Open a pty in the current root, send the master over `console`, and make the slave the
/// controlling terminal and stdio of the calling process (which must lead a new session).
pub fn setup_pty(console: &OwnedFd, size: Option<(u16, u16)>) -> Result<(), TerminalError> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(sys_err("open /dev/ptmx"))?;
    grantpt(&master).map_err(sys_err("grantpt"))?;
    unlockpt(&master).map_err(sys_err("unlockpt"))?;
    let name = ptsname_r(&master).map_err(sys_err("ptsname"))?;
    let slave = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys_err(format!("open {name}")))?;
    if let Some((rows, cols)) = size {
        sys::set_window_size(slave.as_fd(), rows, cols).map_err(sys_err("set window size"))?;
    }
    send_master(console, &master, &name)?;
    drop(master);
    sys::set_controlling_tty(slave.as_fd()).map_err(sys_err("TIOCSCTTY"))?;
    nix::unistd::dup2_stdin(&slave).map_err(sys_err("dup2 pty"))?;
    nix::unistd::dup2_stdout(&slave).map_err(sys_err("dup2 pty"))?;
    nix::unistd::dup2_stderr(&slave).map_err(sys_err("dup2 pty"))?;
    Ok(())
}

/// Sends `master` (with the slave's name as the data, as runc does) over `console`.
fn send_master(console: &OwnedFd, master: &impl AsRawFd, name: &str) -> Result<(), TerminalError> {
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(console.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(sys_err("send pty master over console socket"))?;
    Ok(())
}

/// The listening end of a console socket: bind it, pass [`ConsoleSocket::path`] as the
/// `console_socket` of create or exec, then take the pty master with
/// [`ConsoleSocket::receive_master`]. The socket file goes when this is dropped.
#[derive(Debug)]
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Listens on `path` (a stale socket file there is replaced). The path must fit a unix
    /// socket address (107 bytes).
    pub fn bind(path: &Path) -> Result<Self, TerminalError> {
        let listen_err = |op| {
            move |source| TerminalError::Listen {
                op,
                path: path.to_owned(),
                source,
            }
        };
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(listen_err("remove stale")(e));
            }
            _ => {}
        }
        let listener = UnixListener::bind(path).map_err(listen_err("listen on"))?;
        listener
            .set_nonblocking(true)
            .map_err(listen_err("set non-blocking"))?;
        Ok(Self {
            listener,
            path: path.to_owned(),
        })
    }

    /// The path to pass to the runtime.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the pty master the runtime sent. Call it once create or exec has returned: the
    /// master is sent before they return, so this never blocks (it fails when nothing came).
    pub fn receive_master(&self) -> Result<OwnedFd, TerminalError> {
        let (conn, _) = self
            .listener
            .accept()
            .map_err(|source| TerminalError::Listen {
                op: "accept on",
                path: self.path.clone(),
                source,
            })?;
        let mut name = [0u8; 128];
        let mut iov = [IoSliceMut::new(&mut name)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(sys_err(format!("receive on {}", self.path.display())))?;
        let fds: Vec<RawFd> = msg
            .cmsgs()
            .map_err(sys_err("read control messages"))?
            .flat_map(|m| match m {
                ControlMessageOwned::ScmRights(fds) => fds,
                _ => Vec::new(),
            })
            .collect();
        // SAFETY: each fd arrived via SCM_RIGHTS just now and nothing else in this process
        // owns it; wrapping them all closes any extra ones.
        let owned: Vec<OwnedFd> = fds
            .into_iter()
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            .collect();
        owned
            .into_iter()
            .next()
            .ok_or_else(|| TerminalError::NoMaster(self.path.clone()))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_sent_descriptor_is_received_on_the_console_socket() {
        let t = tempfile::tempdir().unwrap();
        let sock = ConsoleSocket::bind(&t.path().join("console.sock")).unwrap();
        let conn = connect_console(sock.path()).unwrap();
        let (r, w) = std::io::pipe().unwrap();
        send_master(&conn, &w, "/dev/pts/7").unwrap();
        drop(w);
        let got = sock.receive_master().unwrap();
        std::fs::File::from(got).write_all(b"through").unwrap();
        let mut text = String::new();
        (&r).read_to_string(&mut text).unwrap();
        assert_eq!(text, "through");
    }

    #[test]
    fn a_connection_without_a_descriptor_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let sock = ConsoleSocket::bind(&t.path().join("console.sock")).unwrap();
        assert!(matches!(
            sock.receive_master(),
            Err(TerminalError::Listen { .. })
        ));
        let _conn = connect_console(sock.path()).unwrap();
        assert!(sock.receive_master().is_err());
        let path = sock.path().to_owned();
        drop(sock);
        assert!(!path.exists());
    }
}
