//! Reading the event log: the events since a time (the rotated generation, then the current
//! file), and a [`Follower`] that returns the events appended after that, across rotations.
//! Malformed lines (a torn write after a crash, a hand edit) are skipped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::{Event, EventLog};

/// Follows the current log file from a position.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    /// Bytes of an unfinished last line.
    partial: Vec<u8>,
}

impl EventLog {
    /// The events at or after `since_nanos` (`None`: none, only the follower) and a follower
    /// that starts right after them, so nothing is seen twice or missed.
    pub fn open(&self, since_nanos: Option<i64>) -> std::io::Result<(Vec<Event>, Follower)> {
        let mut follower = Follower {
            path: self.path(),
            file: None,
            partial: Vec::new(),
        };
        let mut current = Vec::new();
        if let Ok(mut f) = File::open(self.path()) {
            if since_nanos.is_some() {
                f.read_to_end(&mut current)?;
            } else {
                f.seek(SeekFrom::End(0))?;
            }
            follower.file = Some(f);
        }
        let Some(since) = since_nanos else {
            return Ok((Vec::new(), follower));
        };
        let mut out = Vec::new();
        if let Ok(old) = std::fs::read(self.rotated_path()) {
            out.extend(parse_lines(&old));
        }
        let complete = current
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        out.extend(parse_lines(&current[..complete]));
        follower.partial = current[complete..].to_vec();
        out.retain(|e| e.time_nano >= since);
        Ok((out, follower))
    }
}

impl Follower {
    /// The events appended since the last call (none when nothing was). After a rotation
    /// the rest of the old file is read, then the new file from its start.
    pub fn poll(&mut self) -> std::io::Result<Vec<Event>> {
        let mut out = Vec::new();
        if let Some(f) = self.file.as_mut() {
            f.read_to_end(&mut self.partial)?;
        }
        let rotated = match (&self.file, std::fs::metadata(&self.path)) {
            (Some(f), Ok(m)) => f.metadata()?.ino() != m.ino(),
            (None, Ok(_)) => true,
            (_, Err(_)) => false,
        };
        out.extend(self.take_lines());
        if rotated {
            self.partial.clear();
            let mut f = File::open(&self.path)?;
            f.read_to_end(&mut self.partial)?;
            self.file = Some(f);
            out.extend(self.take_lines());
        }
        Ok(out)
    }

    fn take_lines(&mut self) -> Vec<Event> {
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = self.partial.split_off(end + 1);
        let lines = std::mem::replace(&mut self.partial, rest);
        parse_lines(&lines)
    }
}

fn parse_lines(bytes: &[u8]) -> Vec<Event> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{Kind, MAX_LOG_SIZE};
    use super::*;

    fn actions(evs: &[Event]) -> Vec<&str> {
        evs.iter().map(|e| e.action.as_str()).collect()
    }

    #[test]
    fn history_then_follow_sees_each_event_once_across_a_rotation() {
        let d = tempfile::tempdir().unwrap();
        let log = EventLog::new(d.path());
        let (none, mut early) = log.open(None).unwrap();
        assert!(none.is_empty());
        log.record(Kind::Container, "create", "a", BTreeMap::new());
        let t = Event::now(Kind::Container, "x", "a", BTreeMap::new()).time_nano;
        log.record(Kind::Container, "start", "a", BTreeMap::new());
        std::fs::write(log.path().with_extension("junk"), "x").unwrap();
        let (past, mut f) = log.open(Some(t)).unwrap();
        assert_eq!(actions(&past), ["start"]);
        assert_eq!(actions(&early.poll().unwrap()), ["create", "start"]);
        assert!(f.poll().unwrap().is_empty());
        // A torn line is skipped; a rotation loses nothing.
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut file| std::io::Write::write_all(&mut file, b"{torn\n"))
            .unwrap();
        log.record(Kind::Container, "die", "a", BTreeMap::new());
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut file| {
                std::io::Write::write_all(&mut file, &vec![b'\n'; MAX_LOG_SIZE as usize])
            })
            .unwrap();
        log.record(Kind::Container, "destroy", "a", BTreeMap::new());
        assert!(log.rotated_path().exists());
        log.record(Kind::Network, "create", "n", BTreeMap::new());
        let seen = f.poll().unwrap();
        assert_eq!(actions(&seen), ["die", "destroy", "create"]);
        assert!(f.poll().unwrap().is_empty());
    }
}
