//! Random identifiers from the kernel's CSPRNG: overlay link names, anonymous volume names.

use std::fs::File;
use std::io::{self, Read};

/// `len` characters drawn from `alphabet` (at most 256 symbols).
pub fn random_string(alphabet: &[u8], len: usize) -> io::Result<String> {
    let mut bytes = vec![0u8; len];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

/// 64 lowercase hex digits, as Docker names anonymous volumes and containers.
pub fn random_hex64() -> io::Result<String> {
    random_string(b"0123456789abcdef", 64)
}
