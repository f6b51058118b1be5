//! The shim's loop while the container runs, blocked in one `poll`: output (the pipes, or the
//! pty master as stream stdout, as Docker logs a tty) goes to the json-file log and to every
//! attached client; clients' input is buffered and written to the container's stdin as it
//! drains (a container that does not read cannot block the shim), their window sizes go to
//! the pty, and the end of their input closes a `StdinOnce` stdin. It ends when every output
//! is closed (every process of the container's pid namespace has gone).

use std::os::fd::{AsFd, OwnedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::attach::{Frame, Input};
use super::clients::Clients;
use super::log::LogWriter;
use super::stdio::ContainerIo;
use crate::container::record::StdioConfig;

/// Stop reading clients' input while this much waits for the container.
const PENDING_LIMIT: usize = 64 << 10;

struct Relay<'a> {
    outputs: Vec<(usize, Option<OwnedFd>)>,
    stdin: Option<OwnedFd>,
    pty: Option<OwnedFd>,
    pending: Vec<u8>,
    close_stdin: bool,
    stdin_once: bool,
    clients: &'a mut Clients,
    log: Option<LogWriter>,
}

/// Relays until the container's outputs are closed.
pub fn run(io: ContainerIo, cfg: &StdioConfig, clients: &mut Clients, log: Option<LogWriter>) {
    let mut r = Relay {
        outputs: io
            .outputs
            .into_iter()
            .map(|(s, fd)| (s, Some(fd)))
            .collect(),
        stdin: io.stdin,
        pty: io.pty,
        pending: Vec::new(),
        close_stdin: false,
        stdin_once: cfg.stdin_once && !cfg.tty,
        clients,
        log,
    };
    let mut buf = vec![0u8; 32 << 10];
    while r.outputs.iter().any(|(_, fd)| fd.is_some()) {
        let Some(ready) = r.wait() else { break };
        r.read_outputs(&ready.outputs, &mut buf);
        if ready.stdin {
            r.write_stdin();
        }
        let input = r.clients.on_ready(ready.accept, &ready.clients);
        for i in input {
            r.apply(i);
        }
        if r.close_stdin && r.pending.is_empty() {
            r.stdin = None;
        }
    }
    if let Some(l) = &mut r.log {
        let _ = l.flush_partial();
    }
}

/// Which of the polled fds are ready.
struct Ready {
    outputs: Vec<bool>,
    stdin: bool,
    accept: bool,
    clients: Vec<bool>,
}

impl Relay<'_> {
    /// Blocks until something is ready; `None` when poll fails.
    fn wait(&self) -> Option<Ready> {
        let mut pfds: Vec<PollFd> = Vec::new();
        for (_, fd) in &self.outputs {
            if let Some(fd) = fd {
                pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
        }
        let n_out = pfds.len();
        let stdin = self.stdin.as_ref().filter(|_| !self.pending.is_empty());
        if let Some(fd) = stdin {
            pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLOUT));
        }
        let take_input = match self.pending.len() < PENDING_LIMIT {
            true => PollFlags::POLLIN,
            false => PollFlags::empty(),
        };
        let listener = self.clients.listener_fd();
        if let Some(fd) = listener {
            pfds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        for fd in self.clients.client_fds() {
            pfds.push(PollFd::new(fd, take_input));
        }
        loop {
            match poll(&mut pfds, PollTimeout::NONE) {
                Ok(_) => break,
                Err(nix::Error::EINTR) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "poll");
                    return None;
                }
            }
        }
        let ready: Vec<bool> = pfds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        let (outputs, rest) = ready.split_at(n_out);
        let (stdin_ready, rest) = rest.split_at(usize::from(stdin.is_some()));
        let (accept, clients) = rest.split_at(usize::from(listener.is_some()));
        Some(Ready {
            outputs: outputs.to_vec(),
            stdin: stdin_ready.first().copied().unwrap_or(false),
            accept: accept.first().copied().unwrap_or(false),
            clients: clients.to_vec(),
        })
    }

    fn read_outputs(&mut self, ready: &[bool], buf: &mut [u8]) {
        let open = self.outputs.iter_mut().filter(|(_, fd)| fd.is_some());
        for ((stream, slot), _) in open.zip(ready).filter(|(_, r)| **r) {
            let Some(fd) = slot else { continue };
            match nix::unistd::read(&*fd, buf) {
                Ok(0) => *slot = None,
                Ok(n) => {
                    if let Some(l) = &mut self.log {
                        let _ = l.write(*stream, &buf[..n]);
                    }
                    let data = buf[..n].to_vec();
                    self.clients.send(&match stream {
                        0 => Frame::Stdout(data),
                        _ => Frame::Stderr(data),
                    });
                }
                Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
                // EIO: the pty's last slave is closed.
                Err(_) => *slot = None,
            }
        }
    }

    fn write_stdin(&mut self) {
        let Some(fd) = &self.stdin else { return };
        match nix::unistd::write(fd, &self.pending) {
            Ok(n) => {
                self.pending.drain(..n);
            }
            Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
            Err(_) => {
                // The container closed its stdin (EPIPE) or is gone.
                self.pending.clear();
                self.stdin = None;
            }
        }
    }

    fn apply(&mut self, input: Input) {
        match input {
            Input::Stdin(d) if self.stdin.is_some() && !self.close_stdin => {
                self.pending.extend_from_slice(&d);
            }
            Input::Stdin(_) => {}
            Input::CloseStdin => self.close_stdin |= self.stdin_once,
            Input::Resize { rows, cols } => {
                if let Some(pty) = &self.pty {
                    if let Err(e) = berth_runtime::sys::set_window_size(pty.as_fd(), rows, cols) {
                        tracing::warn!(error = %e, "resize the pty");
                    }
                }
            }
        }
    }
}
