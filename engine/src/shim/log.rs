//! Docker's json-file log driver: one `{"log":"…\n","stream":"stdout","time":"…"}` object per
//! line in `<root>/containers/<id>/<id>-json.log`, rotated by size to `…-json.log.1`, and the
//! reader `berth logs` uses (oldest rotated file first).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Rotate when the log reaches this size.
pub const DEFAULT_MAX_SIZE: u64 = 10 << 20;

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The line, with its `\n` when it had one.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
}

/// Appends entries, splitting output into lines per stream and rotating by size.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    /// Opens (appending to) `path`.
    pub fn open(path: &Path, max_size: u64) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            file,
            size,
            max_size,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Takes output of stream 0 (stdout) or 1 (stderr); complete lines are written.
    pub fn write(&mut self, stream: usize, data: &[u8]) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.partial[stream]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(n) = buf[start..].iter().position(|b| *b == b'\n') {
            self.entry(stream, &buf[start..start + n + 1])?;
            start += n + 1;
        }
        // A very long line without a newline is cut, as Docker cuts at 16 KiB.
        if buf.len() - start >= 16 << 10 {
            self.entry(stream, &buf[start..])?;
            start = buf.len();
        }
        self.partial[stream] = buf[start..].to_vec();
        Ok(())
    }

    /// Writes what is left without a trailing newline (at EOF).
    pub fn flush_partial(&mut self) -> io::Result<()> {
        for stream in 0..2 {
            let rest = std::mem::take(&mut self.partial[stream]);
            if !rest.is_empty() {
                self.entry(stream, &rest)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, stream: usize, line: &[u8]) -> io::Result<()> {
        let e = Entry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: if stream == 0 { "stdout" } else { "stderr" }.into(),
            time: crate::clock::now_rfc3339(),
        };
        let mut bytes = serde_json::to_vec(&e)?;
        bytes.push(b'\n');
        if self.size > 0 && self.size + bytes.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(&bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        fs::rename(&self.path, rotated(&self.path))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// The rotated file beside the log: `<id>-json.log.1`.
pub fn rotated(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".1");
    PathBuf::from(s)
}

/// Every entry, oldest first (the rotated file, then the current one). Unparsable lines
/// (a write cut short) are skipped.
pub fn read_all(path: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for p in [rotated(path), path.to_owned()] {
        let f = match File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in BufReader::new(f).lines() {
            if let Ok(e) = serde_json::from_str(&line?) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_per_stream_and_rotated() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("c-json.log");
        let mut w = LogWriter::open(&p, 300).unwrap();
        w.write(0, b"hel").unwrap();
        w.write(1, b"oops\n").unwrap();
        w.write(0, b"lo\nworld").unwrap();
        w.flush_partial().unwrap();
        let e = read_all(&p).unwrap();
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.stream.as_str(), e.log.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("stderr", "oops\n"),
                ("stdout", "hello\n"),
                ("stdout", "world")
            ]
        );
        assert!(e[0].time.ends_with('Z'));
        for i in 0..10 {
            w.write(0, format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(rotated(&p).exists());
        assert!(fs::metadata(&p).unwrap().len() <= 300);
        let all = read_all(&p).unwrap();
        assert_eq!(all.last().unwrap().log, "line 9\n");
    }
}
