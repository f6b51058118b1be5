//! Terminals: when `process.terminal` is true the container's process gets a new pty from the
//! container's own /dev/ptmx; the master end goes to whoever listens on `--console-socket`
//! (SCM_RIGHTS, as runc does) and the slave end becomes the process's stdio and controlling tty.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{OFlag, open};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr, connect, sendmsg, socket,
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
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(console.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(sys_err("send pty master over console socket"))?;
    drop(master);
    sys::set_controlling_tty(slave.as_fd()).map_err(sys_err("TIOCSCTTY"))?;
    nix::unistd::dup2_stdin(&slave).map_err(sys_err("dup2 pty"))?;
    nix::unistd::dup2_stdout(&slave).map_err(sys_err("dup2 pty"))?;
    nix::unistd::dup2_stderr(&slave).map_err(sys_err("dup2 pty"))?;
    Ok(())
}
