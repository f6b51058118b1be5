//! Compression detection by magic bytes (gzip `1f 8b`, zstd `28 b5 2f fd`, else plain tar) and
//! a decompressing reader over any input.

use std::io::{self, Read};

/// How an input stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain (uncompressed).
    None,
    /// gzip.
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// Detects the compression from the first bytes of a stream.
    pub fn detect(magic: &[u8]) -> Self {
        match magic {
            [0x1f, 0x8b, ..] => Self::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Self::Zstd,
            _ => Self::None,
        }
    }
}

/// Reads the first bytes of `src`, detects its compression and returns a reader of the
/// decompressed content.
pub fn decompressed<'a>(
    mut src: Box<dyn Read + 'a>,
) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match src.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let kind = Compression::detect(&magic[..n]);
    let whole: Box<dyn Read + 'a> = Box::new(io::Cursor::new(magic[..n].to_vec()).chain(src));
    let out: Box<dyn Read + 'a> = match kind {
        Compression::None => whole,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(1 << 20, whole),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(whole)?),
    };
    Ok((kind, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(data: &[u8]) -> (Compression, Vec<u8>) {
        let (kind, mut r) = decompressed(Box::new(data)).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        (kind, out)
    }

    #[test]
    fn detects_and_decodes_gzip_zstd_and_plain() {
        let payload = b"hello layer".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&payload).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::stream::encode_all(&payload[..], 1).unwrap();
        assert_eq!(roundtrip(&gz), (Compression::Gzip, payload.clone()));
        assert_eq!(roundtrip(&zs), (Compression::Zstd, payload.clone()));
        assert_eq!(roundtrip(&payload), (Compression::None, payload.clone()));
        assert_eq!(roundtrip(b"ab"), (Compression::None, b"ab".to_vec()));
    }
}
