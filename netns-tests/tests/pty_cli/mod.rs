//! A command on a pty the test opens and drives like a user at a terminal: [`PtyCli`]
//! (shared by the root tests of `berth -t` and of `docker -t` through berthd).
#![allow(dead_code)] // each test crate that includes this uses a different part

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{Winsize, openpty};
use nix::sys::termios::{LocalFlags, tcgetattr};

use crate::fixture::Berth;

/// How long a test waits for expected terminal output before it fails (never reached when
/// berth works; it keeps a broken berth from hanging the test run).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A berth command on a pty of the test's: the pty is its stdin, stdout, stderr and
/// controlling terminal, so berth sees a user's terminal (and gets SIGWINCH on a resize).
pub struct PtyCli {
    /// The command.
    pub child: Child,
    master: std::fs::File,
    slave: OwnedFd,
    /// What it printed that no `expect` has consumed yet.
    pub seen: String,
}

impl PtyCli {
    pub fn spawn(b: &Berth, args: &[&str], rows: u16, cols: u16) -> PtyCli {
        PtyCli::spawn_command(b.command(args), rows, cols)
    }

    /// Any command on a new pty of `rows` x `cols`.
    pub fn spawn_command(mut cmd: Command, rows: u16, cols: u16) -> PtyCli {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).unwrap();
        // openpty(3) makes inheritable fds: a command another test thread spawns would keep
        // this pty open. Only this command gets it, as its stdio.
        for fd in [pty.master.as_fd(), pty.slave.as_fd()] {
            nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .unwrap();
        }
        cmd.stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
        // SAFETY: setsid and ioctl are async-signal-safe and touch no memory of the parent.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                nix::unistd::setsid()?;
                berth_runtime::sys::set_controlling_tty(std::io::stdin().as_fd())?;
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let master = std::fs::File::from(pty.master);
        nix::fcntl::fcntl(
            &master,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .unwrap();
        PtyCli {
            child,
            master,
            slave: pty.slave,
            seen: String::new(),
        }
    }

    /// Reads until `needle` has been printed (after what earlier calls consumed); returns
    /// what came up to and including it.
    pub fn expect(&mut self, needle: &str) -> String {
        let start = Instant::now();
        while !self.seen.contains(needle) {
            let left = PATIENCE.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero() && self.read_some(left),
                "waited for {needle:?}; the terminal showed {:?}",
                self.seen
            );
        }
        let end = self.seen.find(needle).unwrap() + needle.len();
        let out = self.seen[..end].to_string();
        self.seen.drain(..end);
        out
    }

    /// One read after waiting up to `wait`; `false` at the end of output or on timeout.
    pub fn read_some(&mut self, wait: Duration) -> bool {
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut pfd = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        if poll(&mut pfd, PollTimeout::from(ms)).unwrap_or(0) == 0 {
            return false;
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                true
            }
        }
    }

    pub fn type_in(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        berth_runtime::sys::set_window_size(self.master.as_fd(), rows, cols).unwrap();
    }

    /// Waits for berth to exit (reading what it still prints); its exit code.
    pub fn wait(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while self.read_some(Duration::ZERO) {}
                return status.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < PATIENCE,
                "berth did not exit: {:?}",
                self.seen
            );
            self.read_some(Duration::from_millis(100));
        }
    }

    /// Whether the terminal is back in cooked mode (line editing and echo).
    pub fn is_cooked(&self) -> bool {
        let t = tcgetattr(self.slave.as_fd()).unwrap();
        t.local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG)
    }
}
