//! `GET /containers/{id}/logs?follow=&stdout=&stderr=&since=&until=&tail=&timestamps=`: the
//! json-file log as chunked frames (raw bytes for a tty container), one frame per entry.
//! With `follow`, new entries are sent as the shim appends them (the file is followed across
//! a rotation) until the container stops; a client that hangs up ends it at once.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_engine::shim::log::{Entry, rotated};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::backend::{container_paths, is_running};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;
use crate::stream::{self, STDERR, STDOUT};

/// How often a followed log is looked at.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// Which entries to send and how.
#[derive(Debug, Clone)]
pub struct LogOptions {
    stdout: bool,
    stderr: bool,
    timestamps: bool,
    since: Option<f64>,
    until: Option<f64>,
    tail: Option<usize>,
    tty: bool,
}

impl LogOptions {
    fn parse(q: &Query, tty: bool) -> ApiResult<Self> {
        let tail = match q.get("tail").unwrap_or("all") {
            "all" | "" => None,
            n => Some(
                n.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid tail: {n:?}")))?
                    .max(0) as usize,
            ),
        };
        let time =
            |k: &str| -> ApiResult<Option<f64>> { Ok(q.number::<f64>(k)?.filter(|t| *t > 0.0)) };
        Ok(Self {
            stdout: q.flag("stdout"),
            stderr: q.flag("stderr"),
            timestamps: q.flag("timestamps"),
            since: time("since")?,
            until: time("until")?,
            tail,
            tty,
        })
    }

    /// Whether the entry passes the stream and time filters.
    fn wants(&self, e: &Entry) -> bool {
        let stream_ok = match e.stream.as_str() {
            "stderr" => self.stderr,
            _ => self.stdout,
        };
        let t = entry_time(&e.time);
        stream_ok && self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// The entry as sent.
    fn encode(&self, e: &Entry) -> Bytes {
        let s = if e.stream == "stderr" { STDERR } else { STDOUT };
        let line = match self.timestamps {
            true => format!("{} {}", e.time, e.log),
            false => e.log.clone(),
        };
        stream::encode(self.tty, s, line.as_bytes())
    }
}

/// Seconds since the epoch (with the fraction) of an RFC 3339 time; 0 when malformed.
fn entry_time(t: &str) -> f64 {
    let secs = berth_engine::clock::parse_rfc3339(t).unwrap_or(0) as f64;
    let frac = t
        .split_once('.')
        .map(|(_, f)| f.trim_end_matches(|c: char| !c.is_ascii_digit()))
        .and_then(|f| format!("0.{f}").parse::<f64>().ok())
        .unwrap_or(0.0);
    secs + frac
}

/// `GET /containers/{id}/logs`.
pub async fn logs(app: &Arc<App>, id: &str, q: &Query) -> ApiResult<Reply> {
    let reference = id.to_owned();
    let rec = app.backend.run(move |env| env.resolve(&reference)).await?;
    let opts = LogOptions::parse(q, rec.config.stdio.tty)?;
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let follow = q.flag("follow") && is_running(&rec);
    let paths = container_paths(&app.backend);
    let path = paths.log_path(&rec.id);
    let (tx, r) = reply::stream(None);
    tokio::spawn(async move {
        let mut tail = LogTail::new(path);
        let first = tail.read_new();
        let skip = opts.tail.map_or(0, |n| first.len().saturating_sub(n));
        if !send(&tx, &opts, &first[skip..]).await || !follow {
            return;
        }
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
            }
            let alive = paths.shim_alive(&rec.id);
            let new = tail.read_new();
            if !send(&tx, &opts, &new).await || !alive {
                return;
            }
        }
    });
    Ok(r)
}

/// Sends the wanted entries; `false` once the client is gone.
async fn send(tx: &mpsc::Sender<Bytes>, opts: &LogOptions, entries: &[Entry]) -> bool {
    for e in entries.iter().filter(|e| opts.wants(e)) {
        if tx.send(opts.encode(e)).await.is_err() {
            return false;
        }
    }
    true
}

/// Reads a json-file log incrementally: the rotated file first, then the current one, and
/// later only what was appended (following the file across a rotation).
pub struct LogTail {
    path: PathBuf,
    reader: Option<(BufReader<File>, u64)>,
}

impl LogTail {
    /// Nothing read yet.
    pub fn new(path: PathBuf) -> Self {
        Self { path, reader: None }
    }

    /// Every complete entry written since the last call.
    pub fn read_new(&mut self) -> Vec<Entry> {
        let mut out = Vec::new();
        if self.reader.is_none() {
            out.extend(read_whole(&rotated(&self.path)));
        }
        let current = std::fs::metadata(&self.path).ok().map(|m| m.ino());
        if let Some((r, ino)) = &mut self.reader {
            drain(r, &mut out);
            // Rotated: the old file is finished, the new one starts from its beginning.
            if current != Some(*ino) {
                self.reader = None;
            }
        }
        if self.reader.is_none() {
            if let (Ok(f), Some(ino)) = (File::open(&self.path), current) {
                let mut r = BufReader::new(f);
                drain(&mut r, &mut out);
                self.reader = Some((r, ino));
            }
        }
        out
    }
}

/// Reads complete lines into `out`; an incomplete last line is left for the next call.
fn drain(r: &mut BufReader<File>, out: &mut Vec<Entry>) {
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(n) if !line.ends_with('\n') => {
                let _ = r.seek(SeekFrom::Current(-i64::try_from(n).unwrap_or(0)));
                return;
            }
            Ok(_) => {
                if let Ok(e) = serde_json::from_str(line.trim_end()) {
                    out.push(e);
                }
            }
        }
    }
}

fn read_whole(path: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    if let Ok(f) = File::open(path) {
        drain(&mut BufReader::new(f), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::shim::log::LogWriter;

    #[test]
    fn a_followed_log_yields_each_entry_once_across_rotation() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("c-json.log");
        let mut w = LogWriter::open(&p, 1000).unwrap();
        w.write(0, b"one\n").unwrap();
        let mut tail = LogTail::new(p.clone());
        let got: Vec<String> = tail.read_new().into_iter().map(|e| e.log).collect();
        assert_eq!(got, ["one\n"]);
        assert!(tail.read_new().is_empty());
        for i in 0..20 {
            w.write(1, format!("line {i}\n").as_bytes()).unwrap();
        }
        let got: Vec<String> = tail.read_new().into_iter().map(|e| e.log).collect();
        let want: Vec<String> = (0..20).map(|i| format!("line {i}\n")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn filters_and_encoding_follow_the_options() {
        let q = Query::parse(Some("stdout=1&timestamps=1&since=100"));
        let o = LogOptions::parse(&q, false).unwrap();
        let e = |s: &str, t: &str| Entry {
            log: "x\n".into(),
            stream: s.into(),
            time: t.into(),
        };
        assert!(o.wants(&e("stdout", "1970-01-01T00:01:41.5Z")));
        assert!(!o.wants(&e("stderr", "1970-01-01T00:01:41Z")));
        assert!(!o.wants(&e("stdout", "1970-01-01T00:01:39Z")));
        let b = o.encode(&e("stdout", "T"));
        assert_eq!(&b[..8], &[1, 0, 0, 0, 0, 0, 0, 4]);
        assert_eq!(&b[8..], b"T x\n");
        assert!((entry_time("1970-01-01T00:00:01.25Z") - 1.25).abs() < 1e-9);
    }
}
