//! `docker exec -t` in the exec helper: the runtime gives the process a pty and sends its
//! master over a console socket in a private temp dir; the helper then relays the master to
//! its stdout (berthd's pipe, sent raw to the client) and its stdin (with `-i`) to the
//! master. The window size is set on the pty from berthd ([`resize`]), through the process's
//! own terminal, so the helper needs no channel for it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use berth_runtime::terminal::ConsoleSocket;

/// How long output still drains after the process has exited.
const DRAIN: Duration = Duration::from_millis(500);

/// A console socket in a new private directory (both go on drop).
pub struct Console {
    socket: ConsoleSocket,
    _dir: tempfile::TempDir,
}

impl Console {
    /// Listens in a new directory under the temp dir (a short path, mode 0700).
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("berthd-exec")
            .tempdir()
            .context("a temp dir for the console socket")?;
        let socket = ConsoleSocket::bind(&dir.path().join("console.sock"))?;
        Ok(Self { socket, _dir: dir })
    }

    /// The socket's path, for the runtime.
    pub fn path(&self) -> PathBuf {
        self.socket.path().to_owned()
    }

    /// The master the runtime sent (once exec has returned).
    pub fn receive_master(&self) -> anyhow::Result<OwnedFd> {
        Ok(self.socket.receive_master()?)
    }
}

/// Relays between the helper's stdio and `master` while `wait` (the process's exit) runs;
/// returns its exit code once the process has exited and its output has drained.
pub fn relay(master: OwnedFd, stdin: bool, wait: impl FnOnce() -> i32) -> anyhow::Result<i32> {
    if stdin {
        let mut to_pty = File::from(master.try_clone()?);
        std::thread::spawn(move || {
            let mut input = std::io::stdin().lock();
            let mut buf = vec![0u8; 32 << 10];
            while let Ok(n) = input.read(&mut buf) {
                if n == 0 || to_pty.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    let (done_tx, done_rx) = mpsc::channel();
    let mut from_pty = File::from(master);
    std::thread::spawn(move || {
        let mut out = std::io::stdout().lock();
        let mut buf = vec![0u8; 32 << 10];
        loop {
            match from_pty.read(&mut buf) {
                // EIO: the last slave fd is closed.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = done_tx.send(());
    });
    let code = wait();
    // A child the process left behind may hold the pty: do not wait for it past the drain.
    let _ = done_rx.recv_timeout(DRAIN);
    Ok(code)
}

/// Sets the window of the pty that process `pid` has as its stdin.
pub fn resize(pid: i32, rows: u16, cols: u16) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(Path::new(&format!("/proc/{pid}/fd/0")))?;
    berth_runtime::sys::set_window_size(tty.as_fd(), rows, cols).map_err(std::io::Error::from)
}
