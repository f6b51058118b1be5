//! The CLI's own terminal while it is attached to a `-t` process: raw mode on stdin (every
//! key goes to the container's pty, whose line discipline handles ^C and echo), put back by
//! [`restore`] — on drop of the guard, from the signal thread, and in a panic hook — the
//! window size to pass on, and the signals an attached CLI handles ([`handle_signals`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::{Mutex, Once};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::termios::{self, SetArg, Termios};

/// stdin's settings before raw mode; `Some` while raw.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);
static PANIC_HOOK: Once = Once::new();

/// `-i -t` while stdin is not a terminal (Docker refuses too, with exit code 1).
#[derive(Debug, thiserror::Error)]
#[error("the input device is not a TTY")]
pub struct NotATty;

/// Docker's check: attaching stdin to a pty needs a terminal on our stdin.
pub fn check_tty(attach_stdin: bool, tty: bool) -> Result<(), NotATty> {
    match attach_stdin && tty && !stdin_is_tty() {
        true => Err(NotATty),
        false => Ok(()),
    }
}

/// Whether `fd` is a terminal.
pub fn is_tty(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// Whether stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    is_tty(std::io::stdin().as_fd())
}

/// Rows and columns of the terminal on stdout, else on stdin; `None` when neither is one.
pub fn window_size() -> Option<(u16, u16)> {
    [std::io::stdout().as_fd(), std::io::stdin().as_fd()]
        .into_iter()
        .find_map(size_of)
}

fn size_of(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize struct, which lives across the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// stdin's terminal in raw mode until dropped.
#[derive(Debug)]
pub struct RawMode(());

impl RawMode {
    /// Puts stdin's terminal in raw mode; `None` when stdin is not a terminal.
    pub fn enter() -> nix::Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        if !is_tty(stdin.as_fd()) {
            return Ok(None);
        }
        let saved = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        PANIC_HOOK.call_once(|| {
            let prev = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                prev(info);
            }));
        });
        if let Ok(mut s) = SAVED.lock() {
            *s = Some(libc::termios::from(saved));
        }
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &raw)?;
        Ok(Some(RawMode(())))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts stdin's terminal back as it was before [`RawMode::enter`] (nothing when not raw).
pub fn restore() {
    let saved = match SAVED.lock() {
        Ok(mut s) => s.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    if let Some(t) = saved {
        let _ = termios::tcsetattr(
            std::io::stdin().as_fd(),
            SetArg::TCSADRAIN,
            &Termios::from(t),
        );
    }
}

/// Takes SIGINT, SIGTERM, SIGHUP and SIGQUIT (and with `tty` SIGWINCH) from this thread and
/// the threads it starts later, and handles them on a new thread: SIGWINCH passes the new
/// window size to `on_resize`; the others go to `forward`, or with `tty` end berth with
/// 128 + the signal, the terminal restored first.
pub fn handle_signals(
    tty: bool,
    on_resize: impl Fn(u16, u16) + Send + 'static,
    forward: impl Fn(Signal) + Send + 'static,
) -> nix::Result<()> {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    if tty {
        set.add(Signal::SIGWINCH);
    }
    set.thread_block()?;
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            match (sig, tty) {
                (Signal::SIGWINCH, _) => {
                    if let Some((rows, cols)) = window_size() {
                        on_resize(rows, cols);
                    }
                }
                (_, true) => {
                    restore();
                    crate::container::exit(128 + sig as i32);
                }
                (_, false) => forward(sig),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_size_is_read_from_a_terminal() {
        let ws = nix::pty::Winsize {
            ws_row: 33,
            ws_col: 101,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&ws), None).unwrap();
        assert_eq!(size_of(pty.slave.as_fd()), Some((33, 101)));
        assert!(is_tty(pty.slave.as_fd()));
        let devnull = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(size_of(devnull.as_fd()), None);
        assert!(!is_tty(devnull.as_fd()));
    }
}
