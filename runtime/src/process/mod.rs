//! Processes: the only place that forks. [`spawn`] clones a child straight from the calling
//! process with the namespace flags (or, when a pid or user namespace must be joined first,
//! through a short-lived intermediate that joins and clones with CLONE_PARENT). Parent and
//! child talk over a SEQPACKET socketpair ([`SyncSocket`]). What the child then does is in
//! [`init`] (a container's init) and [`exec`] (a process joining a running container); both end
//! in [`finalize`], which sets credentials, capabilities, limits and seccomp and calls execve.

pub mod exec;
pub mod finalize;
pub mod init;
pub mod pty_holder;

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sched::CloneFlags;
use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::namespaces::{self, NsFd};

/// Errors starting a child process.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A syscall on the parent side failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: &'static str,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// The child reported an error before it could exec.
    #[error("container init: {0}")]
    Child(String),
    /// The child closed the channel without saying what went wrong.
    #[error("container init exited during setup (while waiting for {0})")]
    ChildGone(&'static str),
    /// The child sent a message the parent did not expect.
    #[error("unexpected message from container init: {0:?}")]
    Protocol(String),
}

/// One end of the parent/child channel.
#[derive(Debug)]
pub struct SyncSocket(OwnedFd);

/// A message on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Parent -> child: carry on.
    Go,
    /// Child -> parent: setup done, now waiting for `start`.
    Ready,
    /// Child -> parent: about to pivot_root; run the runtime-namespace hooks, then send Go.
    Hooks,
    /// Intermediate -> parent: the pid of the real child.
    Pid(i32),
    /// Child -> parent: setup failed.
    Error(String),
}

impl SyncSocket {
    /// A connected pair (parent end, child end), close-on-exec.
    pub fn pair() -> Result<(Self, Self), ProcessError> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|source| ProcessError::Sys {
            op: "socketpair",
            source,
        })?;
        Ok((Self(a), Self(b)))
    }

    /// Send a message (best effort from the child side).
    pub fn send(&self, msg: &Msg) -> Result<(), ProcessError> {
        let bytes = match msg {
            Msg::Go => b"G".to_vec(),
            Msg::Ready => b"R".to_vec(),
            Msg::Hooks => b"H".to_vec(),
            Msg::Pid(p) => format!("P{p}").into_bytes(),
            Msg::Error(e) => format!("E{e}").into_bytes(),
        };
        send(self.0.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL)
            .map(drop)
            .map_err(|source| ProcessError::Sys {
                op: "send to container init",
                source,
            })
    }

    /// Receive a message; `None` on EOF (the other end closed or exec'd).
    pub fn recv(&self) -> Result<Option<Msg>, ProcessError> {
        let mut buf = vec![0u8; 8192];
        let n = loop {
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::Error::EINTR) => continue,
                r => {
                    break r.map_err(|source| ProcessError::Sys {
                        op: "receive from container init",
                        source,
                    })?;
                }
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&buf[1..n]).into_owned();
        Ok(Some(match buf[0] {
            b'G' => Msg::Go,
            b'R' => Msg::Ready,
            b'H' => Msg::Hooks,
            b'P' => Msg::Pid(
                text.parse()
                    .map_err(|_| ProcessError::Protocol(text.clone()))?,
            ),
            b'E' => Msg::Error(text),
            _ => return Err(ProcessError::Protocol(text)),
        }))
    }

    /// Wait for Go; anything else (or EOF) is an error.
    pub fn expect_go(&self) -> Result<(), ProcessError> {
        match self.recv()? {
            Some(Msg::Go) => Ok(()),
            Some(other) => Err(ProcessError::Protocol(format!("{other:?}"))),
            None => Err(ProcessError::ChildGone("go")),
        }
    }
}

/// Clone a child running `body`. With `prejoin` namespaces (pid/user to join), an
/// intermediate child joins them and clones the real child with CLONE_PARENT, so the caller
/// is its parent either way. `body` must not return normally on success (it execs or waits).
pub fn spawn(
    flags: CloneFlags,
    prejoin: &[NsFd],
    parent_sock: &SyncSocket,
    child_sock: &SyncSocket,
    mut body: impl FnMut() -> i32,
) -> Result<Pid, ProcessError> {
    let clone_err = |source| ProcessError::Sys {
        op: "clone container process",
        source,
    };
    if prejoin.is_empty() {
        return crate::sys::clone_child(flags, || crate::sys::exit_now(body())).map_err(clone_err);
    }
    let intermediate = crate::sys::clone_child(CloneFlags::empty(), || {
        let code = match namespaces::join_all(prejoin) {
            Err(e) => child_sock.send(&Msg::Error(e.to_string())).map_or(1, |_| 1),
            Ok(()) => {
                let child = crate::sys::clone_child(flags | CloneFlags::CLONE_PARENT, || {
                    crate::sys::exit_now(body())
                });
                match child {
                    Ok(pid) => child_sock.send(&Msg::Pid(pid.as_raw())).map_or(1, |_| 0),
                    Err(e) => child_sock
                        .send(&Msg::Error(format!("clone: {e}")))
                        .map_or(1, |_| 1),
                }
            }
        };
        crate::sys::exit_now(code)
    })
    .map_err(clone_err)?;
    let msg = parent_sock.recv();
    let _ = waitpid(intermediate, None);
    match msg? {
        Some(Msg::Pid(p)) => Ok(Pid::from_raw(p)),
        Some(Msg::Error(e)) => Err(ProcessError::Child(e)),
        Some(other) => Err(ProcessError::Protocol(format!("{other:?}"))),
        None => Err(ProcessError::ChildGone("pid")),
    }
}

/// Waits for the child `pid` to end and returns its exit code, 128 + the signal when a signal
/// killed it (the shell's and Docker's convention). Retries on EINTR.
pub fn wait_exit_code(pid: Pid) -> nix::Result<i32> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, c)) => return Ok(c),
            Ok(WaitStatus::Signaled(_, s, _)) => return Ok(128 + s as i32),
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}
