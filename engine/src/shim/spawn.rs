//! The CLI's side: starting the shim (`berth-shim <id>`, or `berth shim <id>`) detached (its own session, stdin from /dev/null,
//! stderr appended to `<run-root>/containers/<id>/shim.log`) and reading its attach channel.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use anyhow::Context as _;

use super::attach::Frame;
use crate::container::lifecycle::Engine;

/// How to start the shim: the executable and the arguments before the container id.
#[derive(Debug, Clone)]
pub struct ShimCommand {
    /// The `berth-shim` (or `berth`) executable.
    pub exe: PathBuf,
    /// `--root …`, `--run-root …`, …, then `shim` when `exe` is `berth`.
    pub args: Vec<OsString>,
}

/// A started shim and its attach channel.
pub struct Shim {
    child: Child,
    out: ChildStdout,
}

impl Shim {
    /// The next frame; `None` once the shim closed the channel.
    pub fn next_frame(&mut self) -> anyhow::Result<Option<Frame>> {
        Frame::read_from(&mut self.out).context("read from the shim")
    }

    /// Waits for the shim to exit (it is the CLI's child until the CLI exits).
    pub fn reap(mut self) {
        drop(self.out);
        let _ = self.child.wait();
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
    let mut c = Command::new(&cmd.exe);
    c.args(&cmd.args)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .current_dir("/");
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = c
        .spawn()
        .with_context(|| format!("start the shim {}", cmd.exe.display()))?;
    let out = child.stdout.take().context("the shim's stdout")?;
    Ok(Shim { child, out })
}
