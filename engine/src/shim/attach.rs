//! The attach protocol between the shim and a CLI (the starter over its socketpair, or
//! `berth attach` over `attach.sock`): messages of one tag byte, a big-endian u32 length and
//! the payload, both ways. The shim sends [`Frame`]s: [`Frame::Started`] or [`Frame::Failed`]
//! (to the starter), output ([`Frame::Stdout`], [`Frame::Stderr`]) and finally
//! [`Frame::Exited`]. A client sends [`Input`]: stdin data, the end of its stdin, and window
//! sizes. A client that goes away just closes its end; the shim then drops it and carries on.

use std::borrow::Cow;
use std::io::{self, Read, Write};

/// The largest payload accepted; anything bigger is a protocol error.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// One message from the shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The container runs with this pid.
    Started(i32),
    /// Starting failed: exit code for `run` (125, 126 or 127) and the message.
    Failed(i32, String),
    /// Container output (all of it with `-t`).
    Stdout(Vec<u8>),
    /// Container error output.
    Stderr(Vec<u8>),
    /// The container ended with this code (128 + signal when killed).
    Exited(i32),
}

/// One message from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Bytes for the container's stdin (or its pty).
    Stdin(Vec<u8>),
    /// The client's stdin ended; with `StdinOnce` the container's stdin is closed.
    CloseStdin,
    /// The client's terminal has this many rows and columns.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
}

/// A message of the attach protocol.
pub trait Message: Sized {
    /// The tag and the payload.
    fn encode(&self) -> (u8, Cow<'_, [u8]>);
    /// The message from its tag and payload.
    fn decode(tag: u8, payload: Vec<u8>) -> io::Result<Self>;

    /// Writes the message in one `write_all`.
    fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let (tag, payload) = self.encode();
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l as usize <= MAX_PAYLOAD)
            .ok_or_else(|| io::Error::other("attach message too large"))?;
        let mut buf = Vec::with_capacity(5 + payload.len());
        buf.push(tag);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&payload);
        w.write_all(&buf)
    }

    /// Reads one message (blocking); `None` at EOF.
    fn read_from(r: &mut impl Read) -> io::Result<Option<Self>> {
        let mut head = [0u8; 5];
        match r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = payload_len(&head)?;
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload)?;
        Self::decode(head[0], payload).map(Some)
    }
}

fn payload_len(head: &[u8; 5]) -> io::Result<usize> {
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(io::Error::other(format!("attach message of {len} bytes")));
    }
    Ok(len)
}

fn number(payload: &[u8]) -> io::Result<i32> {
    String::from_utf8_lossy(payload)
        .trim()
        .parse::<i32>()
        .map_err(io::Error::other)
}

impl Message for Frame {
    fn encode(&self) -> (u8, Cow<'_, [u8]>) {
        match self {
            Self::Started(pid) => (b's', pid.to_string().into_bytes().into()),
            Self::Failed(code, msg) => (b'f', format!("{code}\n{msg}").into_bytes().into()),
            Self::Stdout(d) => (b'o', d.into()),
            Self::Stderr(d) => (b'e', d.into()),
            Self::Exited(code) => (b'x', code.to_string().into_bytes().into()),
        }
    }

    fn decode(tag: u8, payload: Vec<u8>) -> io::Result<Self> {
        Ok(match tag {
            b's' => Self::Started(number(&payload)?),
            b'f' => {
                let t = String::from_utf8_lossy(&payload);
                let (code, msg) = t.split_once('\n').unwrap_or((&t, ""));
                Self::Failed(number(code.as_bytes())?, msg.to_owned())
            }
            b'o' => Self::Stdout(payload),
            b'e' => Self::Stderr(payload),
            b'x' => Self::Exited(number(&payload)?),
            t => return Err(io::Error::other(format!("unknown shim frame tag {t}"))),
        })
    }
}

impl Message for Input {
    fn encode(&self) -> (u8, Cow<'_, [u8]>) {
        match self {
            Self::Stdin(d) => (b'i', d.into()),
            Self::CloseStdin => (b'c', Cow::Borrowed(&[])),
            Self::Resize { rows, cols } => {
                let mut b = rows.to_be_bytes().to_vec();
                b.extend_from_slice(&cols.to_be_bytes());
                (b'r', b.into())
            }
        }
    }

    fn decode(tag: u8, payload: Vec<u8>) -> io::Result<Self> {
        Ok(match (tag, payload.as_slice()) {
            (b'i', _) => Self::Stdin(payload),
            (b'c', []) => Self::CloseStdin,
            (b'r', [r0, r1, c0, c1]) => Self::Resize {
                rows: u16::from_be_bytes([*r0, *r1]),
                cols: u16::from_be_bytes([*c0, *c1]),
            },
            (t, p) => {
                return Err(io::Error::other(format!(
                    "bad attach input: tag {t}, {} bytes",
                    p.len()
                )));
            }
        })
    }
}

/// Splits a byte stream that arrives in pieces (non-blocking reads) into messages.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Adds bytes that were read.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, if one has arrived.
    pub fn next_message<M: Message>(&mut self) -> io::Result<Option<M>> {
        let Some(head) = self.buf.first_chunk::<5>() else {
            return Ok(None);
        };
        let len = payload_len(head)?;
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let tag = head[0];
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        M::decode(tag, payload).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_all<M: Message>(msgs: &[M]) -> Vec<u8> {
        let mut buf = Vec::new();
        for m in msgs {
            m.write_to(&mut buf).unwrap();
        }
        buf
    }

    #[test]
    fn frames_round_trip() {
        let frames = vec![
            Frame::Started(42),
            Frame::Stdout(b"hi\n".to_vec()),
            Frame::Stderr(vec![0, 255]),
            Frame::Failed(127, "not found\nat all".into()),
            Frame::Exited(3),
        ];
        let buf = encode_all(&frames);
        let mut r = &buf[..];
        let mut got = Vec::new();
        while let Some(f) = Frame::read_from(&mut r).unwrap() {
            got.push(f);
        }
        assert_eq!(got, frames);
    }

    #[test]
    fn input_decodes_from_pieces_of_any_size() {
        let inputs = vec![
            Input::Stdin(b"ls\r".to_vec()),
            Input::Resize {
                rows: 33,
                cols: 1001,
            },
            Input::Stdin(Vec::new()),
            Input::CloseStdin,
        ];
        let buf = encode_all(&inputs);
        for piece in [1, 3, 7, buf.len()] {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for chunk in buf.chunks(piece) {
                d.push(chunk);
                while let Some(i) = d.next_message::<Input>().unwrap() {
                    got.push(i);
                }
            }
            assert_eq!(got, inputs, "pieces of {piece}");
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut d = Decoder::default();
        d.push(&[b'r', 0, 0, 0, 1, 9]);
        assert!(d.next_message::<Input>().is_err());
        let mut d = Decoder::default();
        d.push(&[b'i', 0xff, 0xff, 0xff, 0xff]);
        assert!(d.next_message::<Input>().is_err());
        let mut d = Decoder::default();
        d.push(&[b'?', 0, 0, 0, 0]);
        assert!(d.next_message::<Input>().is_err());
        let mut r: &[u8] = &[b'x', 0, 0, 0, 2, b'4'];
        assert!(Frame::read_from(&mut r).is_err());
        let mut r: &[u8] = &[b's', 0, 0, 0, 2, b'z', b'z'];
        assert!(Frame::read_from(&mut r).is_err());
    }
}
