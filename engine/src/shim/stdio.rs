//! The container's stdio, set up by the shim around the runtime's create (the init is cloned
//! from the shim and inherits fds 0-2). Without `-t`: stdout and stderr are pipes, stdin is
//! /dev/null, or with `-i` a pipe whose write end the shim keeps. With `-t`: the runtime opens
//! a pty in the container and sends the master over `console.sock` in the run dir; the master
//! carries all output and, with `-i`, the input. Relaying is [`super::relay`]'s job.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use berth_runtime::terminal::ConsoleSocket;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::unistd::Pid;

use crate::container::record::StdioConfig;

/// Output stream: 0 is stdout, 1 is stderr (the log's and the frames' numbering).
pub type Stream = usize;

/// The shim's ends of a running container's stdio.
#[derive(Debug)]
pub struct ContainerIo {
    /// Where output comes from, and as which stream.
    pub outputs: Vec<(Stream, OwnedFd)>,
    /// Where input goes (non-blocking): the stdin pipe or the pty master; `None` without `-i`.
    pub stdin: Option<OwnedFd>,
    /// The pty master, for window sizes; `None` without `-t`.
    pub pty: Option<OwnedFd>,
}

/// Runs `create` (given the console socket to pass on, with `-t`) with the shim's fds 0-2
/// pointing at the init's ends, and restores them afterwards. Returns the init's pid and
/// the shim's ends.
pub fn create_with<E>(
    cfg: &StdioConfig,
    run_dir: &Path,
    create: impl FnOnce(Option<PathBuf>) -> Result<Pid, E>,
) -> anyhow::Result<(Pid, ContainerIo)>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let devnull = File::options().read(true).write(true).open("/dev/null")?;
    let ends = match cfg.tty {
        true => Ends::Pty(ConsoleSocket::bind(&run_dir.join("console.sock"))?),
        false => Ends::Pipes(Pipes::new(cfg.open_stdin)?),
    };
    let saved_err = std::io::stderr().as_fd().try_clone_to_owned()?;
    let (init_in, init_out, init_err) = match &ends {
        Ends::Pipes(p) => (
            p.stdin.as_ref().map_or(devnull.as_fd(), |(r, _)| r.as_fd()),
            p.out.1.as_fd(),
            p.err.1.as_fd(),
        ),
        Ends::Pty(_) => (devnull.as_fd(), devnull.as_fd(), devnull.as_fd()),
    };
    nix::unistd::dup2_stdin(init_in)?;
    nix::unistd::dup2_stdout(init_out)?;
    nix::unistd::dup2_stderr(init_err)?;
    // The init inherits signal dispositions; it must not start with SIGPIPE ignored.
    // SAFETY: SIG_DFL/SIG_IGN install no handler code; the shim is single-threaded here.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }?;
    let created = create(match &ends {
        Ends::Pty(c) => Some(c.path().to_owned()),
        Ends::Pipes(_) => None,
    });
    // SAFETY: as above.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) }?;
    nix::unistd::dup2_stdin(&devnull)?;
    nix::unistd::dup2_stdout(&devnull)?;
    nix::unistd::dup2_stderr(&saved_err)?;
    let pid = created.context("create the container")?;
    let io = match ends {
        Ends::Pipes(p) => p.into_io(),
        Ends::Pty(c) => pty_io(&c, cfg.open_stdin),
    };
    Ok((pid, io?))
}

/// What the shim prepares before create.
enum Ends {
    Pipes(Pipes),
    Pty(ConsoleSocket),
}

/// The pipes of a container without a terminal: (read end, write end) each.
struct Pipes {
    stdin: Option<(OwnedFd, OwnedFd)>,
    out: (OwnedFd, OwnedFd),
    err: (OwnedFd, OwnedFd),
}

impl Pipes {
    fn new(open_stdin: bool) -> nix::Result<Self> {
        let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC);
        Ok(Self {
            stdin: open_stdin.then(pipe).transpose()?,
            out: pipe()?,
            err: pipe()?,
        })
    }

    fn into_io(self) -> anyhow::Result<ContainerIo> {
        let stdin = match self.stdin {
            Some((_, w)) => Some(nonblocking(w)?),
            None => None,
        };
        Ok(ContainerIo {
            outputs: vec![(0, self.out.0), (1, self.err.0)],
            stdin,
            pty: None,
        })
    }
}

fn pty_io(console: &ConsoleSocket, open_stdin: bool) -> anyhow::Result<ContainerIo> {
    let master = nonblocking(console.receive_master()?)?;
    let stdin = match open_stdin {
        true => Some(master.try_clone()?),
        false => None,
    };
    Ok(ContainerIo {
        outputs: vec![(0, master.try_clone()?)],
        stdin,
        pty: Some(master),
    })
}

fn nonblocking(fd: OwnedFd) -> anyhow::Result<OwnedFd> {
    let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
    fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(fd)
}
