//! Request and response bodies as blocking `Read` and `Write` for engine calls on the
//! blocking pool: [`body_reader`] feeds a request body to a [`BodyReader`] (an uploaded tar),
//! a [`ChannelWriter`] sends what is written to a streamed response body in chunks (a tar
//! going out) and fails with `BrokenPipe` once the client has hung up, so the work stops.

use std::io::{Read, Write};

use bytes::{Buf as _, Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tokio::sync::mpsc;

/// A blocking reader over body chunks sent from the async side.
pub struct BodyReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    cur: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        Ok(n)
    }
}

/// Feeds the request body to a [`BodyReader`].
pub fn body_reader(req: hyper::Request<Incoming>) -> BodyReader {
    let (tx, rx) = mpsc::channel(8);
    let mut body = req.into_body();
    tokio::spawn(async move {
        while let Some(frame) = body.frame().await {
            let msg = match frame {
                Ok(f) => match f.into_data() {
                    Ok(d) => Ok(d),
                    Err(_) => continue,
                },
                Err(e) => Err(std::io::Error::other(e)),
            };
            if tx.send(msg).await.is_err() {
                return;
            }
        }
    });
    BodyReader {
        rx,
        cur: Bytes::new(),
    }
}

/// Chunks this large go to the body.
const CHUNK: usize = 256 << 10;

/// A blocking writer into a streamed response body.
pub struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: BytesMut,
}

impl ChannelWriter {
    /// Writes into the body `tx` feeds ([`crate::reply::stream`]).
    pub fn new(tx: mpsc::Sender<Bytes>) -> Self {
        Self {
            tx,
            buf: BytesMut::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client hung up"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_arrive_in_order_and_a_closed_body_is_a_broken_pipe() {
        let (tx, mut rx) = mpsc::channel(4);
        let mut w = ChannelWriter::new(tx);
        w.write_all(b"abc").unwrap();
        w.flush().unwrap();
        assert_eq!(&rx.blocking_recv().unwrap()[..], b"abc");
        drop(rx);
        w.write_all(b"x").unwrap();
        let e = w.flush().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
