//! The shim's attached clients: the CLI that started it (its end of a socketpair, handed over
//! as the shim's stdin) and every `berth attach` that connects to `attach.sock` (mode 0600) in
//! the run dir. Output frames go to all of them (blocking writes: a client that does not read
//! holds the container's output back, as a full pipe would); their input is read without
//! blocking and decoded as it arrives. A client whose connection fails is dropped; if it had
//! been sending stdin, that counts as the end of its input.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::sys::socket::{MsgFlags, recv};

use super::attach::{Decoder, Frame, Input, Message};

/// One connected client.
struct Client {
    conn: UnixStream,
    decoder: Decoder,
    sent_stdin: bool,
}

/// The listening socket and the connected clients.
pub struct Clients {
    listener: Option<(UnixListener, PathBuf)>,
    list: Vec<Client>,
}

impl Clients {
    /// Starts with the starter's connection, if there is one.
    pub fn new(starter: Option<UnixStream>) -> Self {
        Self {
            listener: None,
            list: starter.into_iter().map(client).collect(),
        }
    }

    /// Listens on `path` (only the owner may connect). Connections wait in the backlog until
    /// [`Clients::on_ready`] or [`Clients::accept_waiting`] takes them.
    pub fn listen(&mut self, path: &Path) -> io::Result<()> {
        let _ = std::fs::remove_file(path);
        let l = UnixListener::bind(path)?;
        // Connecting takes write permission, which the usual umask (022) leaves to the owner
        // even before this.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        l.set_nonblocking(true)?;
        self.listener = Some((l, path.to_owned()));
        Ok(())
    }

    /// Sends `f` to every client.
    pub fn send(&mut self, f: &Frame) {
        self.list.retain_mut(|c| f.write_to(&mut c.conn).is_ok());
    }

    /// The listening socket to poll, if listening.
    pub fn listener_fd(&self) -> Option<BorrowedFd<'_>> {
        self.listener.as_ref().map(|(l, _)| l.as_fd())
    }

    /// The clients' connections to poll.
    pub fn client_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.list.iter().map(|c| c.conn.as_fd()).collect()
    }

    /// Handles poll results: `ready` is per fd of [`Clients::client_fds`], `accept` whether
    /// the listener was ready. Returns the input that arrived.
    pub fn on_ready(&mut self, accept: bool, ready: &[bool]) -> Vec<Input> {
        let mut input = Vec::new();
        let mut i = 0;
        self.list.retain_mut(|c| {
            let r = ready.get(i).copied().unwrap_or(false);
            i += 1;
            let alive = !r || read_input(c, &mut input);
            if !alive && c.sent_stdin {
                input.push(Input::CloseStdin);
            }
            alive
        });
        if accept {
            self.accept_waiting();
        }
        input
    }

    /// Takes every connection waiting in the backlog.
    pub fn accept_waiting(&mut self) {
        let Some((l, _)) = &self.listener else {
            return;
        };
        while let Ok((conn, _)) = l.accept() {
            self.list.push(client(conn));
        }
    }

    /// Stops listening and removes the socket file; connected clients stay.
    pub fn stop_listening(&mut self) {
        if let Some((_, path)) = self.listener.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        self.stop_listening();
    }
}

fn client(conn: UnixStream) -> Client {
    Client {
        conn,
        decoder: Decoder::default(),
        sent_stdin: false,
    }
}

/// Reads what the client sent (one read per readiness, so a flood waits its turn); `false`
/// once it hung up or broke the protocol.
fn read_input(c: &mut Client, out: &mut Vec<Input>) -> bool {
    let mut buf = [0u8; 16 << 10];
    match recv(c.conn.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
        Ok(0) => return false,
        Ok(n) => c.decoder.push(&buf[..n]),
        Err(nix::Error::EAGAIN) | Err(nix::Error::EINTR) => {}
        Err(_) => return false,
    }
    loop {
        match c.decoder.next_message::<Input>() {
            Ok(Some(i)) => {
                c.sent_stdin |= matches!(i, Input::Stdin(_));
                out.push(i);
            }
            Ok(None) => return true,
            Err(e) => {
                tracing::warn!(error = %e, "dropping an attach client");
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_arrives_and_a_hang_up_after_stdin_ends_it() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let mut c = Clients::new(Some(ours));
        Input::Stdin(b"x".to_vec()).write_to(&mut theirs).unwrap();
        Input::Resize { rows: 1, cols: 2 }
            .write_to(&mut theirs)
            .unwrap();
        assert_eq!(
            c.on_ready(false, &[true]),
            vec![
                Input::Stdin(b"x".to_vec()),
                Input::Resize { rows: 1, cols: 2 }
            ]
        );
        c.send(&Frame::Stdout(b"out".to_vec()));
        assert_eq!(
            Frame::read_from(&mut theirs).unwrap(),
            Some(Frame::Stdout(b"out".to_vec()))
        );
        drop(theirs);
        assert_eq!(c.on_ready(false, &[true]), vec![Input::CloseStdin]);
        assert!(c.client_fds().is_empty());
    }

    #[test]
    fn a_client_that_only_watched_leaves_without_ending_input() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut c = Clients::new(Some(ours));
        drop(theirs);
        assert!(c.on_ready(false, &[true]).is_empty());
        assert!(c.client_fds().is_empty());
    }

    #[test]
    fn clients_connect_to_the_owner_only_socket() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("attach.sock");
        let mut c = Clients::new(None);
        c.listen(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut a = UnixStream::connect(&path).unwrap();
        let mut b = UnixStream::connect(&path).unwrap();
        assert!(c.on_ready(true, &[]).is_empty());
        assert_eq!(c.client_fds().len(), 2);
        c.send(&Frame::Exited(3));
        for s in [&mut a, &mut b] {
            assert_eq!(Frame::read_from(s).unwrap(), Some(Frame::Exited(3)));
        }
        drop(c);
        assert!(!path.exists());
    }
}
