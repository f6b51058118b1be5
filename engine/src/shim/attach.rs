//! The channel between the shim and the CLI that started it (the shim's stdout pipe):
//! frames of one tag byte, a big-endian u32 length and the payload. The shim reports
//! [`Frame::Started`] or [`Frame::Failed`], then relays output ([`Frame::Stdout`],
//! [`Frame::Stderr`]) and finally [`Frame::Exited`]. A CLI that goes away just closes its end;
//! the shim then stops relaying and carries on.

use std::io::{self, Read, Write};

/// One message from the shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The container runs with this pid.
    Started(i32),
    /// Starting failed: exit code for `run` (125, 126 or 127) and the message.
    Failed(i32, String),
    /// Container output.
    Stdout(Vec<u8>),
    /// Container error output.
    Stderr(Vec<u8>),
    /// The container ended with this code (128 + signal when killed).
    Exited(i32),
}

impl Frame {
    /// Writes the frame.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let (tag, payload): (u8, Vec<u8>) = match self {
            Self::Started(pid) => (b's', pid.to_string().into_bytes()),
            Self::Failed(code, msg) => (b'f', format!("{code}\n{msg}").into_bytes()),
            Self::Stdout(d) => (b'o', d.clone()),
            Self::Stderr(d) => (b'e', d.clone()),
            Self::Exited(code) => (b'x', code.to_string().into_bytes()),
        };
        let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
        let mut buf = Vec::with_capacity(5 + payload.len());
        buf.push(tag);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&payload);
        w.write_all(&buf)
    }

    /// Reads one frame; `None` at EOF.
    pub fn read_from(r: &mut impl Read) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        match r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload)?;
        let text = || String::from_utf8_lossy(&payload).into_owned();
        let num = |s: &str| s.trim().parse::<i32>().map_err(io::Error::other);
        Ok(Some(match head[0] {
            b's' => Self::Started(num(&text())?),
            b'f' => {
                let t = text();
                let (code, msg) = t.split_once('\n').unwrap_or((t.as_str(), ""));
                Self::Failed(num(code)?, msg.to_owned())
            }
            b'o' => Self::Stdout(payload),
            b'e' => Self::Stderr(payload),
            b'x' => Self::Exited(num(&text())?),
            t => return Err(io::Error::other(format!("unknown shim frame tag {t}"))),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let frames = vec![
            Frame::Started(42),
            Frame::Stdout(b"hi\n".to_vec()),
            Frame::Stderr(vec![0, 255]),
            Frame::Failed(127, "not found".into()),
            Frame::Exited(3),
        ];
        let mut buf = Vec::new();
        for f in &frames {
            f.write_to(&mut buf).unwrap();
        }
        let mut r = &buf[..];
        let mut got = Vec::new();
        while let Some(f) = Frame::read_from(&mut r).unwrap() {
            got.push(f);
        }
        assert_eq!(got, frames);
    }
}
