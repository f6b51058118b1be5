//! `berth shim`: one small process per running container, detached from the CLI that started
//! it (setsid, child subreaper). It is the parent of the container's init: berth-runtime's
//! `create` clones the init from the shim with the shim's stdio, which the shim has pointed at
//! pipes or, with `-t`, whose pty master it receives ([`stdio`]). The shim then relays output
//! to the json-file log ([`log`]) and to the attached CLIs, and their input to the container
//! ([`relay`], [`clients`], [`attach`]), blocks in `poll` and `waitpid` (no polling loop), and
//! when the container ends records its exit code and runs the teardown (runtime delete, CNI
//! DEL, netns, unmount) and, for `--rm`, the removal. It holds an exclusive lock on
//! `<run-root>/containers/<id>/shim.lock` for its whole life: that lock is how others know the
//! container is watched, and how `stop` and `wait` wait for it.

pub mod attach;
pub mod clients;
pub mod log;
pub mod relay;
pub mod spawn;
pub mod stdio;
pub mod trim;

use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use anyhow::Context as _;
use nix::fcntl::FlockArg;
use nix::sys::signal::Signal;
use nix::sys::stat::SFlag;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::container::lifecycle::{self, Engine};
use crate::container::record::{ContainerRecord, Status};
use crate::container::store::lock_file;
use attach::Frame;
use clients::Clients;
use stdio::ContainerIo;

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
    let mut clients = Clients::new(starter());
    let sock = eng.containers.attach_socket_path(id);
    if let Err(e) = clients.listen(&sock) {
        tracing::warn!(error = %e, path = %sock.display(), "no attach socket");
    }
    let started = eng
        .containers
        .load(id)
        .map_err(anyhow::Error::from)
        .and_then(|rec| Ok((start(eng, &rec)?, rec.config.stdio)));
    let ((pid, io), stdio) = match started {
        Ok(s) => s,
        Err(e) => {
            let code = exit_code_of(&e);
            let msg = format!("{e:#}");
            finish(eng, id, None, Some(&msg));
            clients.send(&Frame::Failed(code, msg));
            return Ok(());
        }
    };
    clients.send(&Frame::Started(pid.as_raw()));
    let log = open_log(eng, id);
    trim::release_setup_pages();
    relay::run(io, &stdio, &mut clients, log);
    let code = wait_exit(pid);
    finish(eng, id, Some(code), None);
    clients.accept_waiting();
    clients.stop_listening();
    clients.send(&Frame::Exited(code));
    Ok(())
}

/// The starter's connection: the shim's stdin when it is a socket (see [`spawn`]).
fn starter() -> Option<UnixStream> {
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let st = nix::sys::stat::fstat(&fd).ok()?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    (kind == SFlag::S_IFSOCK).then(|| UnixStream::from(fd))
}

/// Creates and starts the container with its stdio as its config asks; returns the init's
/// pid and the shim's ends.
fn start(eng: &Engine<'_>, rec: &ContainerRecord) -> anyhow::Result<(Pid, ContainerIo)> {
    let (id, cfg) = (rec.id.as_str(), &rec.config.stdio);
    let rt = eng.runtime();
    let (pid, io) = stdio::create_with(cfg, &eng.containers.run_dir(id), |console_socket| {
        rt.create(&berth_runtime::container::CreateOptions {
            id: id.to_owned(),
            bundle: eng.bundle_dir(id),
            console_socket,
            ..Default::default()
        })
    })?;
    let checked = if rec.host_config.init {
        check_init_command(eng, id, pid).context("create the container")
    } else {
        Ok(())
    };
    let started = checked.and_then(|()| rt.start(id).context("start the container"));
    if let Err(e) = started {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        wait_exit(pid);
        return Err(e);
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
    crate::container::events::emit(eng, rec, "start", &[]);
    Ok((pid, io))
}

/// With `--init`, the command behind the init must be there, as the runtime checks the init
/// ([`crate::container::init::check_command`]).
fn check_init_command(eng: &Engine<'_>, id: &str, pid: Pid) -> anyhow::Result<()> {
    let path = eng.bundle_dir(id).join("config.json");
    let spec = berth_runtime::oci_spec::runtime::Spec::load(&path)
        .with_context(|| format!("read {}", path.display()))?;
    crate::container::init::check_command(&spec, pid.as_raw())
}

fn open_log(eng: &Engine<'_>, id: &str) -> Option<log::LogWriter> {
    let path = eng.containers.log_path(id);
    match log::LogWriter::open(&path, log::DEFAULT_MAX_SIZE) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "cannot open the log");
            None
        }
    }
}

/// Blocks until the init exits; reaps any other child on the way. 128 + signal when killed.
fn wait_exit(pid: Pid) -> i32 {
    let code = berth_runtime::process::wait_exit_code(pid).unwrap_or(255);
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
    if let (Some(r), Some(c)) = (&rec, code) {
        crate::container::events::emit(eng, r, "die", &[("exitCode", &c.to_string())]);
    }
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
