//! A CLI attached to a container through its shim (`run`, `start -a`, `attach`): the shim's
//! frames go to our stdout and stderr; with `stdin`, our stdin goes to the container and its
//! end is reported; with `tty`, our terminal is raw (when it is one and `stdin` is attached)
//! and its window size is sent at the start and on every SIGWINCH. Without `tty`, SIGINT,
//! SIGTERM, SIGHUP and SIGQUIT are relayed to the container (Docker's sig-proxy); with it, the
//! pty's line discipline turns ^C into SIGINT, a signal sent to the CLI only ends the CLI
//! (terminal restored first), and the detach keys (ctrl-p ctrl-q unless `--detach-keys` says
//! otherwise, [`super::detach_keys`]) detach.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::detach_keys::{self, DetachKeys, Matcher, StdinEnd};
use crate::terminal::{self, RawMode};
use berth_engine::shim::attach::{Frame, Input, Message};
use berth_engine::shim::spawn::Shim;

/// How to attach.
#[derive(Debug, Clone)]
pub struct Attach {
    /// Forward our stdin.
    pub stdin: bool,
    /// The container has a pty.
    pub tty: bool,
    /// With `tty`, the keys that detach.
    pub detach_keys: DetachKeys,
}

/// Who receives relayed signals: the container `id` of the runtime at `runtime_root`.
#[derive(Debug, Clone)]
pub struct SignalTarget {
    /// The runtime's state root.
    pub runtime_root: PathBuf,
    /// The container id.
    pub id: String,
}

/// The session of the CLI that started the shim; the container's exit code (125 when the
/// shim went away without saying).
pub fn with_shim(shim: Shim, how: Attach, target: SignalTarget) -> i32 {
    let (conn, mut child) = shim.into_parts();
    let code = run(conn, how, target);
    let _ = child.wait();
    match code {
        Ok(Some(code)) => code,
        Ok(None) => {
            eprintln!("berth: lost the container's shim");
            125
        }
        Err(e) => {
            eprintln!("berth: {}", crate::report::error_report(&e));
            125
        }
    }
}

/// Runs the session until the container exits; its exit code, or `None` when the shim went
/// away without saying.
pub fn run(conn: UnixStream, how: Attach, target: SignalTarget) -> anyhow::Result<Option<i32>> {
    let writer = Arc::new(Mutex::new(conn.try_clone()?));
    let rt = berth_runtime::Runtime::new(target.runtime_root);
    terminal::handle_signals(
        how.tty,
        {
            let writer = writer.clone();
            move |rows, cols| {
                send(&writer, &Input::Resize { rows, cols });
            }
        },
        move |sig| {
            let _ = rt.kill(&target.id, sig, false);
        },
    )?;
    // As Docker: raw only when our keys go to the pty.
    let raw = match how.tty && how.stdin {
        true => RawMode::enter()?,
        false => None,
    };
    if let Some((rows, cols)) = terminal::window_size().filter(|_| how.tty) {
        send(&writer, &Input::Resize { rows, cols });
    }
    if how.stdin {
        let keys = how.detach_keys.matcher();
        std::thread::spawn(move || forward_stdin(&writer, how.tty.then_some(keys)));
    }
    let code = copy_output(conn);
    drop(raw);
    Ok(code)
}

fn send(writer: &Mutex<UnixStream>, input: &Input) -> bool {
    match writer.lock() {
        Ok(mut w) => input.write_to(&mut *w).is_ok(),
        Err(_) => false,
    }
}

/// Copies our stdin to the container until it ends, then says so. With detach `keys` (a
/// pty), their sequence detaches: berth exits with 1 and the container runs on (as Docker).
fn forward_stdin(writer: &Mutex<UnixStream>, mut keys: Option<Matcher>) {
    match detach_keys::forward_stdin(keys.as_mut(), |d| send(writer, &Input::Stdin(d))) {
        StdinEnd::Eof => {
            send(writer, &Input::CloseStdin);
        }
        StdinEnd::Detach => detach_keys::detached(),
        StdinEnd::SendFailed => {}
    }
}

/// Writes the container's output to ours until it exits; its exit code.
fn copy_output(mut conn: UnixStream) -> Option<i32> {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        match Frame::read_from(&mut conn) {
            Ok(Some(Frame::Stdout(d))) => {
                let _ = out.write_all(&d).and_then(|()| out.flush());
            }
            Ok(Some(Frame::Stderr(d))) => {
                let _ = err.write_all(&d);
            }
            Ok(Some(Frame::Exited(code))) => return Some(code),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}
