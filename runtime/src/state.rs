//! Container state on disk: `<root>/<id>/state.json` (written once by create), the `exec.fifo`
//! that holds the init until `start`, and the status derived from both plus /proc. The root
//! directory is a parameter (`--root`), so tests use a tempdir.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::cgroups::Layout;
use crate::config::ContainerId;

/// Errors touching the state directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// No state directory for this id.
    #[error("container {0} does not exist")]
    NotFound(String),
    /// The id is taken.
    #[error("container {0} already exists")]
    Exists(String),
    /// Reading or writing a state file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `state.json` is corrupt.
    #[error("parse {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// Lifecycle status, as the runtime spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Init is waiting for `start`.
    Created,
    /// The user process runs.
    Running,
    /// The cgroup is frozen.
    Paused,
    /// Init has exited.
    Stopped,
}

/// What create records about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Container id.
    pub id: String,
    /// Host pid of the init.
    pub pid: i32,
    /// Start time of the init (field 22 of /proc/PID/stat), to detect pid reuse.
    pub pid_start: u64,
    /// Bundle directory.
    pub bundle: PathBuf,
    /// Root filesystem path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Cgroup path relative to each hierarchy root.
    pub cgroup_path: PathBuf,
    /// The host's cgroup layout at create time (absent in records written by older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_layout: Option<Layout>,
    /// The config the container was created from (exec, hooks and update need it).
    pub spec: Spec,
}

/// The OCI `state` output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// Spec version.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Status.
    pub status: Status,
    /// Init pid (0 once stopped).
    pub pid: i32,
    /// Bundle directory.
    pub bundle: PathBuf,
    /// Root filesystem (runc prints it too).
    pub rootfs: PathBuf,
    /// Creation time.
    pub created: String,
    /// The config's annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// The directory holding every container's state (`--root`).
#[derive(Debug, Clone)]
pub struct StateRoot {
    root: PathBuf,
}

impl StateRoot {
    /// Use `root` (created on demand).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The directory of one container.
    pub fn dir(&self, id: &ContainerId) -> PathBuf {
        self.root.join(id.as_str())
    }

    /// Create the container's directory; fails if it exists.
    pub fn create_dir(&self, id: &ContainerId) -> Result<PathBuf, StateError> {
        let io = |source| StateError::Io {
            op: "mkdir",
            path: self.root.clone(),
            source,
        };
        std::fs::create_dir_all(&self.root).map_err(io)?;
        let dir = self.dir(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(StateError::Exists(id.to_string()))
            }
            Err(source) => Err(StateError::Io {
                op: "mkdir",
                path: dir,
                source,
            }),
        }
    }

    /// Write `state.json` atomically (temp file + rename).
    pub fn save(&self, rec: &Record) -> Result<(), StateError> {
        let dir = self.root.join(&rec.id);
        let tmp = dir.join("state.json.tmp");
        let path = dir.join("state.json");
        let bytes = serde_json::to_vec(rec).map_err(|source| StateError::Parse {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&tmp, bytes).map_err(|source| StateError::Io {
            op: "write",
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| StateError::Io {
            op: "rename",
            path,
            source,
        })
    }

    /// Read `state.json`.
    pub fn load(&self, id: &ContainerId) -> Result<Record, StateError> {
        let path = self.dir(id).join("state.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StateError::NotFound(id.to_string()));
            }
            Err(source) => {
                return Err(StateError::Io {
                    op: "read",
                    path,
                    source,
                });
            }
        };
        crate::config::from_json(&bytes).map_err(|e| StateError::Parse {
            path,
            source: e.source,
        })
    }

    /// Ids of every container with a state file.
    pub fn list(&self) -> Result<Vec<ContainerId>, StateError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StateError::Io {
                    op: "read",
                    path: self.root.clone(),
                    source,
                });
            }
        };
        let mut ids: Vec<ContainerId> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join("state.json").exists())
            .filter_map(|e| ContainerId::new(&e.file_name().to_string_lossy()).ok())
            .collect();
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(ids)
    }

    /// Remove the container's directory; succeeds when it is already gone.
    pub fn remove(&self, id: &ContainerId) -> Result<(), StateError> {
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                op: "remove",
                path: dir,
                source,
            }),
        }
    }
}

/// Start time of a process from /proc/PID/stat, or `None` if it is gone or a zombie.
pub fn process_start_time(proc_root: &Path, pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Status from the record, the fifo's presence, the freezer and /proc.
pub fn status_of(proc_root: &Path, rec: &Record, fifo_exists: bool, frozen: bool) -> Status {
    if process_start_time(proc_root, rec.pid) != Some(rec.pid_start) {
        Status::Stopped
    } else if fifo_exists {
        Status::Created
    } else if frozen {
        Status::Paused
    } else {
        Status::Running
    }
}

/// Current time as RFC 3339 (UTC, nanoseconds), without a date crate.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> Record {
        Record {
            id: id.into(),
            pid: 4242,
            pid_start: 77,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: now_rfc3339(),
            cgroup_path: "berth-runtime/x".into(),
            cgroup_layout: Some(Layout::V2 {
                root: "/sys/fs/cgroup".into(),
            }),
            spec: Spec::default(),
        }
    }

    #[test]
    fn save_load_list_remove_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let root = StateRoot::new(tmp.path().join("run"));
        let id = ContainerId::new("c1").unwrap();
        root.create_dir(&id).unwrap();
        assert!(matches!(root.create_dir(&id), Err(StateError::Exists(_))));
        root.save(&record("c1")).unwrap();
        let loaded = root.load(&id).unwrap();
        assert_eq!(loaded.pid, 4242);
        assert_eq!(loaded.cgroup_layout, record("c1").cgroup_layout);
        assert_eq!(root.list().unwrap(), vec![id.clone()]);
        root.remove(&id).unwrap();
        root.remove(&id).unwrap();
        assert!(matches!(root.load(&id), Err(StateError::NotFound(_))));
    }

    #[test]
    fn record_without_layout_still_loads() {
        let mut v = serde_json::to_value(record("c1")).unwrap();
        v.as_object_mut().unwrap().remove("cgroup_layout");
        let rec: Record = crate::config::from_json(v.to_string().as_bytes()).unwrap();
        assert_eq!(rec.cgroup_layout, None);
    }

    #[test]
    fn status_follows_proc_fifo_and_freezer() {
        let tmp = tempfile::tempdir().unwrap();
        let proc_dir = tmp.path().join("4242");
        std::fs::create_dir(&proc_dir).unwrap();
        let mut stat = "4242 (sh (x)) S".to_owned();
        for i in 4..=22 {
            stat.push_str(&format!(" {}", if i == 22 { 77 } else { 1 }));
        }
        std::fs::write(proc_dir.join("stat"), &stat).unwrap();
        let rec = record("c1");
        assert_eq!(status_of(tmp.path(), &rec, true, false), Status::Created);
        assert_eq!(status_of(tmp.path(), &rec, false, false), Status::Running);
        assert_eq!(status_of(tmp.path(), &rec, false, true), Status::Paused);
        let reused = Record {
            pid_start: 78,
            ..rec.clone()
        };
        assert_eq!(
            status_of(tmp.path(), &reused, false, false),
            Status::Stopped
        );
        std::fs::write(proc_dir.join("stat"), stat.replace(") S", ") Z")).unwrap();
        assert_eq!(status_of(tmp.path(), &rec, false, false), Status::Stopped);
    }

    #[test]
    fn rfc3339_has_the_right_shape() {
        let s = now_rfc3339();
        assert_eq!(s.len(), 30, "{s}");
        assert!(s.starts_with("20") && s.ends_with('Z') && s.as_bytes()[10] == b'T');
    }
}
