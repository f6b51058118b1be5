//! `berth shim`: one small process per running container, detached from the CLI that started
//! it (setsid, child subreaper). It is the parent of the container's init: berth-runtime's
//! `create` clones the init from the shim with the shim's stdio, which the shim has pointed at
//! two pipes. The shim then relays output to the json-file log ([`log`]) and to the CLI while
//! one is attached ([`attach`]), blocks in `poll` and `waitpid` (no polling loop), and when the
//! container ends records its exit code and runs the teardown (runtime delete, CNI DEL, netns,
//! unmount) and, for `--rm`, the removal. It holds an exclusive lock on
//! `<run-root>/containers/<id>/shim.lock` for its whole life: that lock is how others know the
//! container is watched, and how `stop` and `wait` wait for it.

pub mod attach;
pub mod log;
pub mod spawn;
pub mod trim;

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use anyhow::Context as _;
use nix::fcntl::{FlockArg, OFlag};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::container::lifecycle::{self, Engine};
use crate::container::record::Status;
use crate::container::store::lock_file;
use attach::Frame;

/// The shim's side of the attach channel: frames are dropped once the CLI is gone.
struct Attach(Option<File>);

impl Attach {
    fn send(&mut self, f: &Frame) {
        if let Some(w) = &mut self.0 {
            if f.write_to(w).is_err() {
                self.0 = None;
            }
        }
    }
}

/// Docker's exit code for a failed start: 127 for a command that is not there, 126 for one
/// that cannot be run, 125 for anything else.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    let msg = format!("{err:#}");
    if msg.contains("not found") || msg.contains("No such file") {
        127
    } else if msg.contains("ermission denied") || msg.contains("exec format") {
        126
    } else {
        125
    }
}

/// The shim's main: runs until the container has ended and been cleaned up.
pub fn run(eng: &Engine<'_>, id: &str) -> anyhow::Result<()> {
    let _ = nix::unistd::setsid();
    nix::sys::prctl::set_child_subreaper(true).context("become a child subreaper")?;
    let run_dir = eng.containers.run_dir(id);
    fs::create_dir_all(&run_dir).with_context(|| format!("create {}", run_dir.display()))?;
    let _lock = lock_file(
        &eng.containers.shim_lock_path(id),
        FlockArg::LockExclusiveNonblock,
    )?;
    fs::write(run_dir.join("shim.pid"), std::process::id().to_string())?;
    let attach_fd = std::io::stdout().as_fd().try_clone_to_owned()?;
    let mut attach = Attach(Some(File::from(attach_fd)));
    let (pid, out, err) = match start(eng, id) {
        Ok(started) => started,
        Err(e) => {
            let code = exit_code_of(&e);
            let msg = format!("{e:#}");
            finish(eng, id, None, Some(&msg));
            attach.send(&Frame::Failed(code, msg));
            return Ok(());
        }
    };
    attach.send(&Frame::Started(pid.as_raw()));
    trim::release_setup_pages();
    relay(eng, id, [out, err], &mut attach);
    let code = wait_exit(pid);
    finish(eng, id, Some(code), None);
    attach.send(&Frame::Exited(code));
    Ok(())
}

/// Creates and starts the container with its stdout/stderr on new pipes; returns the init's
/// pid and the read ends.
fn start(eng: &Engine<'_>, id: &str) -> anyhow::Result<(Pid, OwnedFd, OwnedFd)> {
    let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let devnull = File::open("/dev/null")?;
    let saved_err = std::io::stderr().as_fd().try_clone_to_owned()?;
    nix::unistd::dup2_stdin(&devnull)?;
    nix::unistd::dup2_stdout(&out_w)?;
    nix::unistd::dup2_stderr(&err_w)?;
    // The init inherits signal dispositions; it must not start with SIGPIPE ignored.
    // SAFETY: SIG_DFL/SIG_IGN install no handler code; the shim is single-threaded here.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }?;
    let opts = berth_runtime::container::CreateOptions {
        id: id.to_owned(),
        bundle: eng.bundle_dir(id),
        ..Default::default()
    };
    let rt = eng.runtime();
    let created = rt.create(&opts);
    // SAFETY: as above.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) }?;
    nix::unistd::dup2_stdout(&devnull)?;
    nix::unistd::dup2_stderr(&saved_err)?;
    drop((out_w, err_w));
    let pid = created.context("create the container")?;
    if let Err(e) = rt.start(id) {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        wait_exit(pid);
        return Err(e).context("start the container");
    }
    let now = crate::clock::now_rfc3339();
    eng.containers.update(id, |r| {
        r.state.status = Status::Running;
        r.state.running = true;
        r.state.pid = pid.as_raw();
        r.state.shim_pid = std::process::id() as i32;
        r.state.started_at = now;
        r.state.finished_at.clear();
        r.state.exit_code = 0;
        r.state.error.clear();
    })?;
    Ok((pid, out_r, err_r))
}

/// Copies output to the log and the CLI until both pipes are closed (every process of the
/// container's pid namespace has gone).
fn relay(eng: &Engine<'_>, id: &str, fds: [OwnedFd; 2], attach: &mut Attach) {
    let log_path = eng.containers.log_path(id);
    let mut log = match log::LogWriter::open(&log_path, log::DEFAULT_MAX_SIZE) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(error = %e, path = %log_path.display(), "cannot open the log");
            None
        }
    };
    let mut open = [true, true];
    let mut buf = vec![0u8; 32 << 10];
    while open.iter().any(|o| *o) {
        let mut pfds: Vec<PollFd> = Vec::new();
        let mut which = Vec::new();
        for (i, fd) in fds.iter().enumerate().filter(|(i, _)| open[*i]) {
            pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            which.push(i);
        }
        match poll(&mut pfds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(_) => break,
        }
        let ready: Vec<usize> = pfds
            .iter()
            .zip(&which)
            .filter(|(p, _)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, i)| *i)
            .collect();
        drop(pfds);
        for i in ready {
            match nix::unistd::read(&fds[i], &mut buf) {
                Ok(0) | Err(nix::Error::EBADF) => open[i] = false,
                Ok(n) => {
                    if let Some(l) = &mut log {
                        let _ = l.write(i, &buf[..n]);
                    }
                    let data = buf[..n].to_vec();
                    attach.send(&if i == 0 {
                        Frame::Stdout(data)
                    } else {
                        Frame::Stderr(data)
                    });
                }
                Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
                Err(_) => open[i] = false,
            }
        }
    }
    if let Some(l) = &mut log {
        let _ = l.flush_partial();
    }
}

/// Blocks until the init exits; reaps any other child on the way. 128 + signal when killed.
fn wait_exit(pid: Pid) -> i32 {
    let code = loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, c)) => break c,
            Ok(WaitStatus::Signaled(_, s, _)) => break 128 + s as i32,
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(_) => break 255,
        }
    };
    while let Ok(s) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        if s == WaitStatus::StillAlive {
            break;
        }
    }
    code
}

/// Teardown, the error of a failed start recorded, and the removal for `--rm`.
fn finish(eng: &Engine<'_>, id: &str, code: Option<i32>, error: Option<&str>) {
    let rec = match lifecycle::teardown(eng, id, code) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(id, error = %format!("{e:#}"), "teardown");
            eng.containers.load(id).ok()
        }
    };
    if let Some(msg) = error {
        let _ = eng.containers.update(id, |r| {
            r.state.error = msg.to_owned();
            if r.state.status == Status::Exited && code.is_none() {
                r.state.exit_code = 128;
            }
        });
    }
    if let Some(rec) = rec.filter(|r| r.host_config.auto_remove) {
        if let Err(e) = lifecycle::remove(eng, &rec, true) {
            tracing::error!(id, error = %format!("{e:#}"), "--rm");
        }
    }
    let _ = std::io::stderr().flush();
}
