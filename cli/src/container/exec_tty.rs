//! `berth exec -t`: the runtime gives the process a pty and sends its master over a console
//! socket in a private temp dir; berth then relays the master to its own stdout and (with
//! `-i`) its stdin to the master, with its terminal raw (with `-i`) and the window size
//! following SIGWINCH, until the pty closes or the detach keys are typed (then the process
//! runs on, `berth_runtime::process::pty_holder`).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use anyhow::Context as _;
use berth_runtime::terminal::ConsoleSocket;

use super::detach_keys::{self, Matcher, StdinEnd};
use crate::terminal::{self, RawMode};

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

/// Relays between our stdio and `master` until the process's side of the pty is closed. With
/// `stdin`, our keys go to the process until `keys` detach.
pub fn relay(master: OwnedFd, stdin: Option<Matcher>) -> anyhow::Result<()> {
    let resize = master.try_clone()?;
    terminal::handle_signals(
        true,
        move |rows, cols| {
            let _ = berth_runtime::sys::set_window_size(resize.as_fd(), rows, cols);
        },
        |_| {},
    )?;
    let raw = match stdin {
        Some(_) => RawMode::enter()?,
        None => None,
    };
    if let Some(keys) = stdin {
        let to_pty = master.try_clone()?;
        std::thread::spawn(move || forward_keys(to_pty, keys));
    }
    let mut from_pty = File::from(master);
    // Not locked for the whole relay: a detach exits from another thread, flushing stdout.
    let mut out = std::io::stdout();
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

/// Copies our stdin to `master` until it ends or `keys` detach: then a holder keeps the pty
/// open and berth exits with 1.
fn forward_keys(master: OwnedFd, mut keys: Matcher) {
    let mut to_pty = match master.try_clone() {
        Ok(fd) => File::from(fd),
        Err(_) => return,
    };
    let end = detach_keys::forward_stdin(Some(&mut keys), |d| to_pty.write_all(&d).is_ok());
    if end == StdinEnd::Detach {
        if let Err(e) = berth_runtime::process::pty_holder::hold_pty_master(master) {
            terminal::restore();
            let e = anyhow::Error::new(e).context("fork a holder for the pty");
            super::exit_with_error(&e, 1);
        }
        detach_keys::detached();
    }
}
