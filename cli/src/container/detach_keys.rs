//! The detach keys of an attached `-it` CLI (`run`, `start -a`, `attach`, `exec`): Docker's
//! `--detach-keys` format ([`DetachKeys::parse`]), its default ctrl-p ctrl-q, the
//! `BERTH_DETACH_KEYS` default ([`DETACH_KEYS_ENV`]), the matcher over the keys the CLI
//! forwards ([`Matcher`]) and the loop that forwards them ([`forward_stdin`]). What detaching
//! does is left to the callers.

use std::io::Read;

/// Docker's default sequence.
pub const DEFAULT: &str = "ctrl-p,ctrl-q";

/// The environment variable that replaces [`DEFAULT`] when `--detach-keys` is not given.
pub const DETACH_KEYS_ENV: &str = "BERTH_DETACH_KEYS";

/// The characters `ctrl-` may take besides letters, with the codes they give.
const CTRL_PUNCT: &[(char, u8)] = &[
    ('@', 0x00),
    ('[', 0x1b),
    ('\\', 0x1c),
    (']', 0x1d),
    ('^', 0x1e),
    ('_', 0x1f),
];

/// A `--detach-keys` value that is not a list of keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid detach keys ({value}) provided: {key:?} is neither a single ASCII character nor \
     ctrl-<a-z, @, [, \\, ], ^ or _> (from --detach-keys or {DETACH_KEYS_ENV})"
)]
pub struct DetachKeysError {
    /// The whole value.
    pub value: String,
    /// The key that is not one.
    pub key: String,
}

/// `--detach-keys`, shared by `run`, `start`, `attach` and `exec`.
#[derive(Debug, Clone, clap::Args)]
pub struct DetachKeysArg {
    /// Keys that detach from a -it container: comma-separated, each a character or
    /// ctrl-<a-z, @, [, \, ], ^ or _>; "" never detaches [default: ctrl-p,ctrl-q]
    #[arg(long = "detach-keys", env = DETACH_KEYS_ENV, value_name = "KEYS")]
    pub detach_keys: Option<String>,
}

impl DetachKeysArg {
    /// The keys asked for (clap fills the flag from [`DETACH_KEYS_ENV`] when it is absent),
    /// else [`DEFAULT`]. A refused value ends berth with 125 before anything is done.
    pub fn keys_or_exit(&self) -> DetachKeys {
        let parsed = match &self.detach_keys {
            Some(v) => DetachKeys::parse(v),
            None => Ok(DetachKeys::default()),
        };
        parsed.unwrap_or_else(|e| super::exit_with_error(&e.into(), 125))
    }
}

/// A detach sequence: the bytes that, typed in order, detach the CLI. Empty: never detach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys(Vec<u8>);

impl Default for DetachKeys {
    fn default() -> Self {
        Self(vec![0x10, 0x11])
    }
}

impl DetachKeys {
    /// Parses Docker's format: keys separated by commas, each a single ASCII character or
    /// `ctrl-<value>` with a letter (ctrl-a is 0x01) or one of `@ [ \ ] ^ _` (ctrl-@ is 0x00,
    /// ctrl-[ is 0x1b …). The empty string turns detaching off.
    pub fn parse(value: &str) -> Result<Self, DetachKeysError> {
        if value.is_empty() {
            return Ok(Self(Vec::new()));
        }
        value
            .split(',')
            .map(|key| {
                key_code(key).ok_or_else(|| DetachKeysError {
                    value: value.to_owned(),
                    key: key.to_owned(),
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// A matcher over forwarded keys.
    pub fn matcher(&self) -> Matcher {
        Matcher {
            keys: self.0.clone(),
            held: 0,
        }
    }
}

fn key_code(key: &str) -> Option<u8> {
    let mut chars = key.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => return c.is_ascii().then_some(c as u8),
        (None, _) => return None,
        _ => {}
    }
    let lower = key.to_ascii_lowercase();
    let mut rest = lower.strip_prefix("ctrl-")?.chars();
    let c = match (rest.next(), rest.next()) {
        (Some(c), None) => c,
        _ => return None,
    };
    match c {
        'a'..='z' => Some(c as u8 - b'a' + 1),
        _ => CTRL_PUNCT.iter().find(|(p, _)| *p == c).map(|(_, b)| *b),
    }
}

/// Why [`forward_stdin`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinEnd {
    /// Our stdin ended (or failed).
    Eof,
    /// The receiver took no more.
    SendFailed,
    /// The detach keys were typed; what came before them was sent.
    Detach,
}

/// Reads our stdin until it ends and hands each chunk to `send` (`false`: stop), through
/// `keys` when given: the detach sequence is not sent and ends the loop.
pub fn forward_stdin(
    mut keys: Option<&mut Matcher>,
    mut send: impl FnMut(Vec<u8>) -> bool,
) -> StdinEnd {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => return StdinEnd::Eof,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return StdinEnd::Eof,
        };
        let (data, end) = match keys.as_mut().map(|k| k.scan(&buf[..n])) {
            Some(Keys::Send(d)) => (d, None),
            Some(Keys::Detach(d)) => (d, Some(StdinEnd::Detach)),
            None => (buf[..n].to_vec(), None),
        };
        if !data.is_empty() && !send(data) {
            return StdinEnd::SendFailed;
        }
        if let Some(end) = end {
            return end;
        }
    }
}

/// Ends an attached CLI whose keys matched: the terminal is put back, Docker's notice goes to
/// stderr and berth exits with 1 (the container or exec'd process runs on).
pub fn detached() -> ! {
    crate::terminal::restore();
    eprintln!("\r\nread escape sequence");
    super::exit(1)
}

/// What to do with a chunk of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Send these bytes on (possibly none).
    Send(Vec<u8>),
    /// Send these bytes, then detach.
    Detach(Vec<u8>),
}

/// Watches the forwarded keys for the sequence: a prefix of it is held back until the
/// sequence completes (detach; the held keys are not sent) or breaks (the held keys are sent,
/// then the breaking key is looked at afresh: it may start the sequence again).
#[derive(Debug, Clone)]
pub struct Matcher {
    keys: Vec<u8>,
    held: usize,
}

impl Matcher {
    /// Filters one chunk of keys as read from the terminal.
    pub fn scan(&mut self, data: &[u8]) -> Keys {
        let mut out = Vec::with_capacity(data.len() + self.held);
        for &b in data {
            if self.keys.is_empty() {
                out.push(b);
                continue;
            }
            if self.keys[self.held] != b && self.held > 0 {
                out.extend_from_slice(&self.keys[..self.held]);
                self.held = 0;
            }
            if self.keys[self.held] != b {
                out.push(b);
                continue;
            }
            self.held += 1;
            if self.held == self.keys.len() {
                self.held = 0;
                return Keys::Detach(out);
            }
        }
        Keys::Send(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &str) -> Vec<u8> {
        DetachKeys::parse(s).unwrap().0
    }

    #[test]
    fn docker_key_names_parse_to_their_codes() {
        assert_eq!(keys(DEFAULT), [0x10, 0x11]);
        assert_eq!(DetachKeys::default().0, keys(DEFAULT));
        assert_eq!(keys("ctrl-a,x"), [0x01, b'x']);
        assert_eq!(keys("ctrl-z,ctrl-@,ctrl-["), [0x1a, 0x00, 0x1b]);
        assert_eq!(
            keys("ctrl-\\,ctrl-],ctrl-^,ctrl-_"),
            [0x1c, 0x1d, 0x1e, 0x1f]
        );
        assert_eq!(keys("CTRL-P,q,Q, "), [0x10, b'q', b'Q', b' ']);
        assert_eq!(keys("-"), [b'-']);
    }

    #[test]
    fn the_empty_string_turns_detaching_off() {
        let d = DetachKeys::parse("").unwrap();
        assert!(d.0.is_empty());
        let mut m = d.matcher();
        assert_eq!(m.scan(b"\x10\x11"), Keys::Send(b"\x10\x11".to_vec()));
    }

    #[test]
    fn bad_keys_are_refused_naming_the_key() {
        for (value, key) in [
            ("ctrl-?", "ctrl-?"),
            ("ctrl-p,,ctrl-q", ""),
            ("ctrl-p,", ""),
            ("ab", "ab"),
            ("ctrl-", "ctrl-"),
            ("ctrl-ab", "ctrl-ab"),
            ("ctrl-1", "ctrl-1"),
            ("é", "é"),
            ("alt-x", "alt-x"),
        ] {
            let e = DetachKeys::parse(value).unwrap_err();
            assert_eq!(e.key, key, "{value}");
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("invalid detach keys ({value}) provided")));
        }
    }

    #[test]
    fn the_sequence_detaches_even_across_reads() {
        let mut m = DetachKeys::default().matcher();
        assert_eq!(m.scan(b"ls\x10\x11rest"), Keys::Detach(b"ls".to_vec()));
        let mut m = DetachKeys::default().matcher();
        assert_eq!(m.scan(b"ab\x10"), Keys::Send(b"ab".to_vec()));
        assert_eq!(m.scan(b"\x11"), Keys::Detach(Vec::new()));
        let mut m = DetachKeys::parse("ctrl-a,x,y").unwrap().matcher();
        assert_eq!(m.scan(b"\x01"), Keys::Send(Vec::new()));
        assert_eq!(m.scan(b"x"), Keys::Send(Vec::new()));
        assert_eq!(m.scan(b"y"), Keys::Detach(Vec::new()));
    }

    #[test]
    fn a_broken_prefix_is_sent_with_the_key_that_broke_it() {
        let mut m = DetachKeys::default().matcher();
        assert_eq!(m.scan(b"\x10"), Keys::Send(Vec::new()));
        assert_eq!(m.scan(b"x"), Keys::Send(b"\x10x".to_vec()));
        let mut m = DetachKeys::parse("ctrl-a,x,y").unwrap().matcher();
        assert_eq!(m.scan(b"\x01x"), Keys::Send(Vec::new()));
        assert_eq!(m.scan(b"z"), Keys::Send(b"\x01xz".to_vec()));
        assert_eq!(m.scan(b"plain"), Keys::Send(b"plain".to_vec()));
    }

    #[test]
    fn the_key_that_breaks_a_prefix_may_start_the_sequence_again() {
        let mut m = DetachKeys::default().matcher();
        assert_eq!(m.scan(b"\x10\x10\x11"), Keys::Detach(b"\x10".to_vec()));
        let mut m = DetachKeys::parse("ctrl-a,x").unwrap().matcher();
        assert_eq!(m.scan(b"\x01\x01"), Keys::Send(b"\x01".to_vec()));
        assert_eq!(m.scan(b"\x01"), Keys::Send(b"\x01".to_vec()));
        assert_eq!(m.scan(b"x"), Keys::Detach(Vec::new()));
    }

    #[test]
    fn the_default_sequence_is_plain_input_under_other_keys() {
        let mut m = DetachKeys::parse("ctrl-a,x").unwrap().matcher();
        assert_eq!(m.scan(b"\x10\x11"), Keys::Send(b"\x10\x11".to_vec()));
        let mut m = DetachKeys::parse("ctrl-x").unwrap().matcher();
        assert_eq!(m.scan(b"ab\x18cd"), Keys::Detach(b"ab".to_vec()));
    }
}
