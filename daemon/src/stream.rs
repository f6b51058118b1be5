//! Docker's multiplexed stream format for non-TTY attach, exec and logs: each frame is an
//! 8-byte header (stream byte 1 stdout or 2 stderr, three zero bytes, big-endian u32 length)
//! and the payload. With a TTY the bytes go as they are.

use bytes::{BufMut as _, Bytes, BytesMut};

/// Stdout's stream byte.
pub const STDOUT: u8 = 1;
/// Stderr's stream byte.
pub const STDERR: u8 = 2;

/// One frame of `data` on `stream` (frames larger than u32::MAX are split).
pub fn frame(stream: u8, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(8 + data.len());
    for chunk in data.chunks(u32::MAX as usize) {
        out.put_u8(stream);
        out.put_bytes(0, 3);
        out.put_u32(chunk.len() as u32);
        out.put_slice(chunk);
    }
    out.freeze()
}

/// `data` as sent on a stream: framed without a tty, raw with one.
pub fn encode(tty: bool, stream: u8, data: &[u8]) -> Bytes {
    match tty {
        true => Bytes::copy_from_slice(data),
        false => frame(stream, data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_dockers_header() {
        assert_eq!(
            &frame(STDERR, b"err\n")[..],
            &[2, 0, 0, 0, 0, 0, 0, 4, b'e', b'r', b'r', b'\n']
        );
        assert_eq!(&encode(true, STDOUT, b"x")[..], b"x");
    }
}
