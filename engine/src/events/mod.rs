//! The event log: what happened to containers, images, networks and volumes, in Docker's
//! event shape, one JSON line per event in `<root>/events/events.jsonl`. Every front end and
//! the shims append to it (one `write` with `O_APPEND` per line, so writers never interleave),
//! so `berth run` shows up in `docker events` through berthd and the other way round. The log
//! is bounded: past [`MAX_LOG_SIZE`] it is rotated to `events.jsonl.1` (one generation kept).
//! An event that cannot be written is logged and dropped; it never fails the operation.
//! Reading and following is in [`read`].

pub mod read;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The log is rotated once it is larger than this.
pub const MAX_LOG_SIZE: u64 = 4 << 20;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A network.
    Network,
    /// A volume.
    Volume,
}

impl Kind {
    /// The name Docker uses (`container`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Volume => "volume",
        }
    }
}

/// The object an event is about: its id and attributes (name, image, labels, exit code…).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Container id, image reference or id, network id, volume name.
    #[serde(rename = "ID")]
    pub id: String,
    /// Attributes.
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

/// One event, in the shape of Docker's `events` messages (with the legacy `status`, `id` and
/// `from` of container and image events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The legacy action (container and image events).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// The legacy id (container and image events).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The legacy image (container events).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// What it is about.
    #[serde(rename = "Type")]
    pub kind: Kind,
    /// What happened: `create`, `start`, `die`, `destroy`, `connect`, …
    #[serde(rename = "Action")]
    pub action: String,
    /// The object.
    #[serde(rename = "Actor")]
    pub actor: Actor,
    /// Always `local`.
    pub scope: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// Nanoseconds since the epoch.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

impl Event {
    /// An event happening now.
    pub fn now(kind: Kind, action: &str, id: &str, attributes: BTreeMap<String, String>) -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let legacy = matches!(kind, Kind::Container | Kind::Image);
        let from = match kind {
            Kind::Container => attributes.get("image").cloned().unwrap_or_default(),
            _ => String::new(),
        };
        Event {
            status: if legacy {
                action.to_owned()
            } else {
                String::new()
            },
            id: if legacy { id.to_owned() } else { String::new() },
            from,
            kind,
            action: action.to_owned(),
            actor: Actor {
                id: id.to_owned(),
                attributes,
            },
            scope: "local".into(),
            time: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            time_nano: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }
}

/// The event log of a state root.
#[derive(Debug, Clone)]
pub struct EventLog {
    dir: PathBuf,
}

impl EventLog {
    /// The log under `<root>/events`.
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join("events"),
        }
    }

    /// The current file.
    pub fn path(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    /// The previous generation.
    pub fn rotated_path(&self) -> PathBuf {
        self.dir.join("events.jsonl.1")
    }

    /// Appends `ev`; a failure is logged, never returned.
    pub fn emit(&self, ev: &Event) {
        if let Err(e) = self.append(ev) {
            tracing::warn!(error = %e, action = %ev.action, "event not logged");
        }
    }

    /// Appends an event happening now.
    pub fn record(&self, kind: Kind, action: &str, id: &str, attrs: BTreeMap<String, String>) {
        self.emit(&Event::now(kind, action, id, attrs));
    }

    fn append(&self, ev: &Event) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(ev)?;
        line.push(b'\n');
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path();
        let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
        f.write_all(&line)?;
        if f.metadata()?.len() > MAX_LOG_SIZE {
            self.rotate(&path)?;
        }
        Ok(())
    }

    /// Moves the full log aside, under a lock so that two writers rotate it once.
    fn rotate(&self, path: &Path) -> std::io::Result<()> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("events.lock"))?;
        let Ok(_held) = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock)
        else {
            return Ok(()); // another writer is rotating it
        };
        if std::fs::metadata(path)?.len() > MAX_LOG_SIZE {
            std::fs::rename(path, self.rotated_path())?;
        }
        Ok(())
    }
}

/// Attributes from `(key, value)` pairs, then `labels`.
pub fn attributes(
    pairs: &[(&str, &str)],
    labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut m = labels.clone();
    for (k, v) in pairs {
        m.insert((*k).to_owned(), (*v).to_owned());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_appended_as_dockers_json_lines() {
        let d = tempfile::tempdir().unwrap();
        let log = EventLog::new(d.path());
        let attrs = attributes(&[("name", "web"), ("image", "bb")], &BTreeMap::new());
        log.record(Kind::Container, "start", "abc", attrs);
        log.record(Kind::Network, "create", "n1id", BTreeMap::new());
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["Type"], "container");
        assert_eq!(lines[0]["Action"], "start");
        assert_eq!(lines[0]["status"], "start");
        assert_eq!(lines[0]["from"], "bb");
        assert_eq!(lines[0]["Actor"]["Attributes"]["name"], "web");
        assert_eq!(lines[1]["Type"], "network");
        assert!(lines[1].get("status").is_none());
        assert!(lines[1]["timeNano"].as_i64().unwrap() >= lines[0]["timeNano"].as_i64().unwrap());
    }

    #[test]
    fn a_full_log_is_rotated() {
        let d = tempfile::tempdir().unwrap();
        let log = EventLog::new(d.path());
        std::fs::create_dir_all(d.path().join("events")).unwrap();
        std::fs::write(log.path(), vec![b'\n'; MAX_LOG_SIZE as usize]).unwrap();
        log.record(Kind::Volume, "create", "v", BTreeMap::new());
        assert!(!log.path().exists());
        assert!(log.rotated_path().metadata().unwrap().len() > MAX_LOG_SIZE);
        log.record(Kind::Volume, "destroy", "v", BTreeMap::new());
        assert!(
            std::fs::read_to_string(log.path())
                .unwrap()
                .contains("destroy")
        );
    }
}
