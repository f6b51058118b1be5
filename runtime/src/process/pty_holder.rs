//! Keeping a detached `exec -t` process's pty alive: the exec'd process must run on after the
//! CLI detaches, but the CLI holds its pty master, and the last close of a master hangs the pty
//! up (SIGHUP to the process). So, as Docker's shim does, something keeps the master open and
//! reads (and discards) what the process writes, so that it never blocks on a full pty: a
//! forked child in its own session, which ends when the process's side of the pty is closed.
//! Here because this module is the only place that forks.

use std::fs::File;
use std::os::fd::OwnedFd;

use nix::unistd::{ForkResult, fork};

/// Hands `master` to a new background process that drains it until the pty is closed.
pub fn hold_pty_master(master: OwnedFd) -> std::io::Result<()> {
    let devnull = File::options().read(true).write(true).open("/dev/null")?;
    // SAFETY: berth has other threads, so the child may only make async-signal-safe calls
    // until it exits: it does (setsid, dup2, read into a stack buffer, _exit), allocates
    // nothing, takes no lock and never returns into the caller.
    match unsafe { fork() }.map_err(std::io::Error::from)? {
        ForkResult::Parent { .. } => Ok(()),
        ForkResult::Child => {
            let _ = nix::unistd::setsid();
            let _ = nix::unistd::dup2_stdin(&devnull);
            let _ = nix::unistd::dup2_stdout(&devnull);
            let _ = nix::unistd::dup2_stderr(&devnull);
            drain(&master);
            // SAFETY: _exit is async-signal-safe and never returns.
            unsafe { libc::_exit(0) }
        }
    }
}

/// Reads `fd` until it ends or fails (EIO once no one has the pty's other side open).
fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => return,
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(_) => return,
        }
    }
}
