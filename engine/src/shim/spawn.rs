//! The CLI's side: starting the shim (`berth-shim <id>`, or `berth shim <id>`) detached (its
//! own session, stderr appended to `<run-root>/containers/<id>/shim.log`) with its stdin one
//! end of a socketpair: the other end is the starter's attach connection ([`super::attach`]).

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;

use super::attach::{Frame, Message};
use crate::container::lifecycle::Engine;

/// How to start the shim: the executable and the arguments before the container id.
#[derive(Debug, Clone)]
pub struct ShimCommand {
    /// The `berth-shim` (or `berth`) executable.
    pub exe: PathBuf,
    /// `--root …`, `--run-root …`, …, then `shim` when `exe` is `berth`.
    pub args: Vec<OsString>,
}

/// A started shim and the starter's connection to it.
pub struct Shim {
    child: Child,
    conn: UnixStream,
}

impl Shim {
    /// The next frame; `None` once the shim closed the connection.
    pub fn next_frame(&mut self) -> anyhow::Result<Option<Frame>> {
        Frame::read_from(&mut self.conn).context("read from the shim")
    }

    /// The connection, and the shim process (the CLI's child until the CLI exits: reap it
    /// once the container has exited).
    pub fn into_parts(self) -> (UnixStream, Child) {
        (self.conn, self.child)
    }

    /// Closes the connection and waits for the shim to exit.
    pub fn reap(self) {
        let (conn, mut child) = self.into_parts();
        drop(conn);
        let _ = child.wait();
    }
}

/// Starts the shim for a prepared container.
pub fn spawn(eng: &Engine<'_>, cmd: &ShimCommand, id: &str) -> anyhow::Result<Shim> {
    let run_dir = eng.containers.run_dir(id);
    fs::create_dir_all(&run_dir).with_context(|| format!("create {}", run_dir.display()))?;
    let log = run_dir.join("shim.log");
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("open {}", log.display()))?;
    let (conn, theirs) = UnixStream::pair().context("socketpair for the shim")?;
    let mut c = Command::new(&cmd.exe);
    c.args(&cmd.args)
        .arg(id)
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .stderr(stderr)
        .current_dir("/");
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = c
        .spawn()
        .with_context(|| format!("start the shim {}", cmd.exe.display()))?;
    Ok(Shim { child, conn })
}
