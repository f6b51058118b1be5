//! The supervisor: the process the engine starts. It takes `server.lock` for its whole life
//! (so exactly one server runs per run-root) and forks the serving process, which it starts
//! again after a crash or a `kill -9` (with a growing pause if it keeps failing). A server
//! that ends by itself (no container left, or SIGTERM) ends the supervisor too; the server
//! dies with its supervisor.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use berth_engine::dns::DnsControl;
use nix::fcntl::FlockArg;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

/// A server's exit code for a failure that a restart would not cure.
pub const EXIT_FATAL: i32 = 3;

/// Which process the caller is after [`supervise`].
pub enum Role {
    /// The serving process: run the server.
    Server,
    /// The supervisor is done (its server stopped, or another supervisor runs): exit.
    Done(i32),
}

/// Takes the server lock and forks servers until one ends by itself. Called before any
/// thread exists.
pub fn supervise(ctl: &DnsControl) -> anyhow::Result<Role> {
    std::fs::create_dir_all(ctl.dir())?;
    let Ok(lock) =
        berth_engine::dns::lock(&ctl.server_lock_path(), FlockArg::LockExclusiveNonblock)
    else {
        // Another supervisor runs: its server answers the caller.
        let mut out = std::io::stdout();
        let _ = out.write_all(b"ready\n").and_then(|()| out.flush());
        return Ok(Role::Done(0));
    };
    let mut pause = Duration::from_millis(100);
    let mut first = true;
    loop {
        let started = Instant::now();
        // SAFETY: the process has one thread (nothing has started any), so the child may
        // run anything.
        let child = match unsafe { fork() }.context("fork the DNS server")? {
            ForkResult::Child => {
                let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
                return Ok(Role::Server);
            }
            ForkResult::Parent { child } => child,
        };
        if first {
            // Later servers must not hold the starter's pipe: only the first says ready.
            first = false;
            if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
                let _ = nix::unistd::dup2_stdout(&null);
            }
        }
        let status = loop {
            match waitpid(child, None) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other,
            }
        };
        match status {
            Ok(WaitStatus::Exited(_, 0)) => return Ok(Role::Done(0)),
            Ok(WaitStatus::Exited(_, EXIT_FATAL)) => return Ok(Role::Done(EXIT_FATAL)),
            Ok(s) => eprintln!("berth-dns: server {child} ended ({s:?}); starting it again"),
            Err(e) => anyhow::bail!("wait for the DNS server: {e}"),
        }
        if started.elapsed() > Duration::from_secs(30) {
            pause = Duration::from_millis(100);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(5));
        let _ = &lock;
    }
}
