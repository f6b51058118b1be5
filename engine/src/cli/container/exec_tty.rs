//! `berth exec -t`: the runtime gives the process a pty and sends its master over a console
//! socket in a private temp dir; berth then relays the master to its own stdout and (with
//! `-i`) its stdin to the master, with its terminal raw (with `-i`) and the window size
//! following SIGWINCH, until the pty closes.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use anyhow::Context as _;
use berth_runtime::terminal::ConsoleSocket;

use crate::cli::terminal::{self, RawMode};

/// A console socket in a new private directory (both go on drop).
pub struct Console {
    socket: ConsoleSocket,
    _dir: tempfile::TempDir,
}

impl Console {
    /// Listens in a new directory under the temp dir (a short path, mode 0700).
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("berth-exec")
            .tempdir()
            .context("a temp dir for the console socket")?;
        let socket = ConsoleSocket::bind(&dir.path().join("console.sock"))?;
        Ok(Self { socket, _dir: dir })
    }

    /// The socket's path, for the runtime.
    pub fn path(&self) -> &std::path::Path {
        self.socket.path()
    }

    /// The master the runtime sent (once exec has returned).
    pub fn receive_master(&self) -> anyhow::Result<OwnedFd> {
        Ok(self.socket.receive_master()?)
    }
}

/// Relays between our stdio and `master` until the process's side of the pty is closed.
pub fn relay(master: OwnedFd, stdin: bool) -> anyhow::Result<()> {
    let resize = master.try_clone()?;
    terminal::handle_signals(
        true,
        move |rows, cols| {
            let _ = berth_runtime::sys::set_window_size(resize.as_fd(), rows, cols);
        },
        |_| {},
    )?;
    let raw = match stdin {
        true => RawMode::enter()?,
        false => None,
    };
    if stdin {
        let mut to_pty = File::from(master.try_clone()?);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_pty);
        });
    }
    let mut from_pty = File::from(master);
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
    drop(raw);
    Ok(())
}
