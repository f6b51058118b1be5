//! [`HashTee`]: reads a layer tar once, in 1 MiB chunks, and hands every chunk to a helper
//! thread that hashes it, so the diff id is checked in the same pass that extracts the layer
//! (no second read of the tar, and the hash overlaps the extraction's filesystem work).

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::digest::{Digest, HashingWriter};

const CHUNK: usize = 1 << 20;
/// Chunks in flight: one being read, the others queued for or inside the hasher.
const CHUNKS: usize = 4;

/// A buffered reader whose every byte read from `inner` is also hashed on a helper thread.
pub struct HashTee<R> {
    inner: R,
    chunk: Vec<u8>,
    pos: usize,
    allocated: usize,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    hasher: Option<JoinHandle<Digest>>,
}

impl<R: Read> HashTee<R> {
    /// Wraps `inner` (unbuffered is best: the tee is the buffer).
    pub fn new(inner: R) -> io::Result<Self> {
        let (full, full_rx) = sync_channel::<Vec<u8>>(CHUNKS);
        let (empty_tx, empty) = sync_channel::<Vec<u8>>(CHUNKS);
        let hasher = std::thread::Builder::new()
            .name("layer-hash".into())
            .spawn(move || {
                let mut h = HashingWriter::new(io::sink());
                for mut c in full_rx {
                    io::Write::write_all(&mut h, &c).ok();
                    c.clear();
                    // The reader may be gone (error path); then the chunk is just dropped.
                    let _ = empty_tx.try_send(c);
                }
                h.finish().0
            })?;
        Ok(Self {
            inner,
            chunk: Vec::with_capacity(CHUNK),
            pos: 0,
            allocated: 1,
            full: Some(full),
            empty,
            hasher: Some(hasher),
        })
    }

    /// Hands the current chunk to the hasher and reads the next one; false at end of input.
    fn refill(&mut self) -> io::Result<bool> {
        let next = match self.empty.try_recv() {
            Ok(c) => c,
            Err(_) if self.allocated < CHUNKS => {
                self.allocated += 1;
                Vec::with_capacity(CHUNK)
            }
            Err(_) => self.empty.recv().map_err(|_| hasher_gone())?,
        };
        let done = std::mem::replace(&mut self.chunk, next);
        if !done.is_empty() {
            self.send(done)?;
        }
        self.pos = 0;
        let mut filled = 0;
        self.chunk.resize(CHUNK, 0);
        while filled < CHUNK {
            match self.inner.read(&mut self.chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.chunk.truncate(filled);
                    return Err(e);
                }
            }
        }
        self.chunk.truncate(filled);
        Ok(filled > 0)
    }

    fn send(&self, c: Vec<u8>) -> io::Result<()> {
        self.full
            .as_ref()
            .ok_or_else(hasher_gone)?
            .send(c)
            .map_err(|_| hasher_gone())
    }

    /// Reads (and hashes) whatever the consumer left unread, and returns the digest of the
    /// whole input.
    pub fn finish(mut self) -> io::Result<Digest> {
        while self.refill()? {}
        self.full = None;
        self.hasher
            .take()
            .ok_or_else(hasher_gone)?
            .join()
            .map_err(|_| io::Error::other("hashing thread panicked"))
    }
}

fn hasher_gone() -> io::Error {
    io::Error::other("hashing thread stopped")
}

impl<R: Read> Read for HashTee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.chunk.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_covers_everything_including_what_the_reader_left() {
        let data: Vec<u8> = (0..(3 * CHUNK + 12345)).map(|i| (i % 251) as u8).collect();
        let mut t = HashTee::new(&data[..]).unwrap();
        let mut head = vec![0u8; CHUNK + 7];
        t.read_exact(&mut head).unwrap();
        assert_eq!(head, data[..CHUNK + 7]);
        assert_eq!(t.finish().unwrap(), Digest::of_bytes(&data));
    }

    #[test]
    fn reads_everything_in_order() {
        let data: Vec<u8> = (0..(CHUNKS * 2 * CHUNK + 3))
            .map(|i| (i % 13) as u8)
            .collect();
        let mut t = HashTee::new(&data[..]).unwrap();
        let mut out = Vec::new();
        t.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(t.finish().unwrap(), Digest::of_bytes(&data));
        assert_eq!(
            HashTee::new(&b""[..]).unwrap().finish().unwrap(),
            Digest::of_bytes(b"")
        );
    }
}
