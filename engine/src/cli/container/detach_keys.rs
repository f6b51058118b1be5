//! Docker's default detach keys, ctrl-p ctrl-q, in the keys an attached `-it` CLI forwards: a
//! ctrl-p is held back until the next key; ctrl-q after it detaches (neither is sent), any
//! other key sends both.

const CTRL_P: u8 = 0x10;
const CTRL_Q: u8 = 0x11;

/// What to do with a chunk of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Send these bytes on (possibly none).
    Send(Vec<u8>),
    /// Send these bytes, then detach.
    Detach(Vec<u8>),
}

/// Watches the forwarded keys for the sequence.
#[derive(Debug, Default)]
pub struct DetachKeys {
    held: bool,
}

impl DetachKeys {
    /// Filters one chunk of keys as read from the terminal.
    pub fn scan(&mut self, data: &[u8]) -> Keys {
        let mut out = Vec::with_capacity(data.len() + 1);
        for &b in data {
            match (self.held, b) {
                (true, CTRL_Q) => {
                    self.held = false;
                    return Keys::Detach(out);
                }
                (true, CTRL_P) => out.push(CTRL_P),
                (true, _) => {
                    self.held = false;
                    out.extend_from_slice(&[CTRL_P, b]);
                }
                (false, CTRL_P) => self.held = true,
                (false, _) => out.push(b),
            }
        }
        Keys::Send(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_p_ctrl_q_detaches_even_across_reads() {
        let mut d = DetachKeys::default();
        assert_eq!(d.scan(b"ls\x10\x11rest"), Keys::Detach(b"ls".to_vec()));
        let mut d = DetachKeys::default();
        assert_eq!(d.scan(b"ab\x10"), Keys::Send(b"ab".to_vec()));
        assert_eq!(d.scan(b"\x11"), Keys::Detach(Vec::new()));
    }

    #[test]
    fn a_lone_ctrl_p_is_sent_with_the_next_key() {
        let mut d = DetachKeys::default();
        assert_eq!(d.scan(b"\x10"), Keys::Send(Vec::new()));
        assert_eq!(d.scan(b"x"), Keys::Send(b"\x10x".to_vec()));
        assert_eq!(d.scan(b"\x10\x10\x11"), Keys::Detach(b"\x10".to_vec()));
        assert_eq!(d.scan(b"plain"), Keys::Send(b"plain".to_vec()));
    }
}
