//! An async connection to a container's shim over the engine's attach protocol
//! ([`berth_engine::shim::attach`]): the starter's socketpair end after a start, or a fresh
//! connection to `attach.sock` of a running container. [`relay`] copies the shim's output
//! frames to the subscribers and their input to the shim until the shim reports the exit
//! (or goes away), and returns the exit code.

use std::path::Path;

use berth_engine::shim::attach::{Decoder, Frame, Input, Message};
use tokio::io::AsyncWriteExt as _;
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Container stdout (everything with a tty).
    Stdout(Vec<u8>),
    /// Container stderr.
    Stderr(Vec<u8>),
}

/// Connects to the shim of a running container (`attach.sock` in its run dir).
pub async fn connect(sock: &Path) -> std::io::Result<UnixStream> {
    UnixStream::connect(sock).await
}

/// Turns the starter's blocking socketpair end into an async one.
pub fn from_std(conn: std::os::unix::net::UnixStream) -> std::io::Result<UnixStream> {
    conn.set_nonblocking(true)?;
    UnixStream::from_std(conn)
}

/// The most read from the shim at once.
const READ_BUF: usize = 32 << 10;

/// Relays until the shim reports the exit (its code) or closes the connection (`None`).
/// Subscribers that hang up are dropped; the input channel may be absent or close early.
pub async fn relay(
    mut conn: UnixStream,
    mut outputs: Vec<mpsc::Sender<Output>>,
    mut input: Option<mpsc::Receiver<Input>>,
) -> Option<i32> {
    let mut decoder = Decoder::default();
    loop {
        tokio::select! {
            ready = conn.readable() => {
                if ready.is_err() {
                    return None;
                }
                // The buffer lives for one read only: a quiet container (most detached ones)
                // costs berthd no buffer while it runs.
                let mut buf = vec![0u8; READ_BUF];
                let n = match conn.try_read(&mut buf) {
                    Ok(0) => return None,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => return None,
                };
                decoder.push(&buf[..n]);
                loop {
                    let frame = match decoder.next_message::<Frame>() {
                        Ok(Some(f)) => f,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "bad frame from the shim");
                            return None;
                        }
                    };
                    let out = match frame {
                        Frame::Stdout(d) => Output::Stdout(d),
                        Frame::Stderr(d) => Output::Stderr(d),
                        Frame::Exited(code) | Frame::Failed(code, _) => return Some(code),
                        Frame::Started(_) => continue,
                    };
                    send_all(&mut outputs, out).await;
                }
            }
            msg = recv_input(&mut input) => {
                match msg {
                    Some(i) => {
                        let mut bytes = Vec::new();
                        if i.write_to(&mut bytes).is_ok() && conn.write_all(&bytes).await.is_err() {
                            return None;
                        }
                    }
                    None => input = None,
                }
            }
        }
    }
}

async fn send_all(outputs: &mut Vec<mpsc::Sender<Output>>, out: Output) {
    let mut alive = Vec::with_capacity(outputs.len());
    for tx in outputs.drain(..) {
        if tx.send(out.clone()).await.is_ok() {
            alive.push(tx);
        }
    }
    *outputs = alive;
}

/// The next input, or pending forever once there is no input channel.
async fn recv_input(input: &mut Option<mpsc::Receiver<Input>>) -> Option<Input> {
    match input {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends one input message over a short-lived connection (a window size, say).
pub async fn send_once(sock: &Path, input: &Input) -> std::io::Result<()> {
    let mut conn = connect(sock).await?;
    let mut bytes = Vec::new();
    input.write_to(&mut bytes)?;
    conn.write_all(&bytes).await?;
    conn.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    #[tokio::test(flavor = "current_thread")]
    async fn output_reaches_subscribers_and_input_the_shim() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let ours = from_std(ours).unwrap();
        let mut shim = from_std(theirs).unwrap();
        let (out_tx, mut out_rx) = mpsc::channel(4);
        let (in_tx, in_rx) = mpsc::channel(4);
        let task = tokio::spawn(relay(ours, vec![out_tx], Some(in_rx)));
        in_tx.send(Input::Stdin(b"hi".to_vec())).await.unwrap();
        let mut head = [0u8; 7];
        shim.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"i\0\0\0\x02hi");
        let mut frames = Vec::new();
        Frame::Stderr(b"e".to_vec()).write_to(&mut frames).unwrap();
        Frame::Exited(3).write_to(&mut frames).unwrap();
        shim.write_all(&frames).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(Output::Stderr(b"e".to_vec())));
        assert_eq!(task.await.unwrap(), Some(3));
        assert_eq!(out_rx.recv().await, None);
    }
}
