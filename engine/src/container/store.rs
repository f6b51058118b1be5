//! [`ContainerStore`]: the records under `<root>/containers/<id>/` and the volatile per-container
//! directory `<run-root>/containers/<id>/` (bundle, shim pid and lock). Records are replaced
//! atomically (temp file + rename); read-modify-write and name allocation happen under one
//! `flock` on `<run-root>/locks/containers.lock`, so concurrent CLIs and shims never lose an
//! update or hand out a name twice.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use super::{ContainerError, ContainerRecord, names};

/// Container records under one root pair.
#[derive(Debug, Clone)]
pub struct ContainerStore {
    pub(super) dir: PathBuf,
    run_dir: PathBuf,
    lock_path: PathBuf,
}

/// Holds the store lock until dropped.
pub struct StoreLock(#[allow(dead_code)] Flock<File>);

/// Holds a container's network lock until dropped.
pub struct NetLock(#[allow(dead_code)] Flock<File>);

impl ContainerStore {
    /// The store for `root` (persistent) and `run_root` (volatile).
    pub fn new(root: &Path, run_root: &Path) -> Self {
        Self {
            dir: root.join("containers"),
            run_dir: run_root.join("containers"),
            lock_path: run_root.join("locks").join("containers.lock"),
        }
    }

    /// `<root>/containers/<id>`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// `<run-root>/containers/<id>`: bundle, shim pid, shim lock.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.run_dir.join(id)
    }

    /// The shim holds an exclusive lock on this file for its whole life.
    pub fn shim_lock_path(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("shim.lock")
    }

    /// The shim listens here for `berth attach` (mode 0600).
    pub fn attach_socket_path(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("attach.sock")
    }

    /// The json-file log.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir(id).join(format!("{id}-json.log"))
    }

    /// Takes the store lock (blocking).
    pub fn lock(&self) -> Result<StoreLock, ContainerError> {
        Ok(StoreLock(lock_file(
            &self.lock_path,
            FlockArg::LockExclusive,
        )?))
    }

    /// Takes the container's network lock (blocking): an flock on its record directory, held
    /// while its attachments change (start, `net connect|disconnect`, teardown), so a connect
    /// cannot race the shim's teardown. Taken before the store lock, never while holding it.
    /// [`ContainerError::NotFound`] when the container is gone.
    pub fn lock_networks(&self, id: &str) -> Result<NetLock, ContainerError> {
        let dir = self.dir(id);
        let f = match File::open(&dir) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContainerError::NotFound(id.to_owned()));
            }
            Err(e) => return Err(ContainerError::io("open", &dir)(e)),
        };
        Flock::lock(f, FlockArg::LockExclusive)
            .map(NetLock)
            .map_err(|(_, source)| ContainerError::Lock { path: dir, source })
    }

    /// Ids of every container, sorted.
    pub fn ids(&self) -> Result<Vec<String>, ContainerError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ContainerError::io("list", &self.dir)(e)),
        };
        let mut ids: Vec<String> = rd
            .filter_map(Result::ok)
            .filter(|e| e.path().join("config.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every record, sorted by creation time (newest first).
    pub fn list(&self) -> Result<Vec<ContainerRecord>, ContainerError> {
        let mut out = Vec::new();
        for id in self.ids()? {
            match self.load(&id) {
                Ok(r) => out.push(r),
                // Removed between listing and reading.
                Err(ContainerError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(out)
    }

    /// Reads the record of the container `id` (a full id).
    pub fn load(&self, id: &str) -> Result<ContainerRecord, ContainerError> {
        let path = self.dir(id).join("config.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContainerError::NotFound(id.to_owned()));
            }
            Err(e) => return Err(ContainerError::io("read", &path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| ContainerError::Json { path, source })
    }

    /// Writes the record atomically.
    pub fn save(&self, rec: &ContainerRecord) -> Result<(), ContainerError> {
        let path = self.dir(&rec.id).join("config.json");
        let tmp = self.dir(&rec.id).join(".config.json.tmp");
        let bytes = serde_json::to_vec_pretty(rec).map_err(|source| ContainerError::Json {
            path: path.clone(),
            source,
        })?;
        fs::write(&tmp, bytes).map_err(ContainerError::io("write", &tmp))?;
        fs::rename(&tmp, &path).map_err(ContainerError::io("replace", &path))
    }

    /// Read-modify-write under the store lock; returns the new record.
    pub fn update(
        &self,
        id: &str,
        f: impl FnOnce(&mut ContainerRecord),
    ) -> Result<ContainerRecord, ContainerError> {
        let _lock = self.lock()?;
        let mut rec = self.load(id)?;
        f(&mut rec);
        self.save(&rec)?;
        Ok(rec)
    }

    /// Finds a container by full id, name or unique id prefix.
    pub fn resolve(&self, reference: &str) -> Result<ContainerRecord, ContainerError> {
        let ids = self.ids()?;
        if ids.iter().any(|i| i == reference) {
            return self.load(reference);
        }
        let records = self.list()?;
        if let Some(r) = records.iter().find(|r| r.name == reference) {
            return Ok(r.clone());
        }
        let mut hits = records.into_iter().filter(|r| r.id.starts_with(reference));
        match (hits.next(), hits.next()) {
            (Some(r), None) if !reference.is_empty() => Ok(r),
            (Some(_), _) => Err(ContainerError::Ambiguous(reference.to_owned())),
            (None, _) => Err(ContainerError::NotFound(reference.to_owned())),
        }
    }

    /// Allocates an id and a name (the given one, or a random free one) and writes the record
    /// `build(id, name)` makes, all under the store lock.
    pub fn create(
        &self,
        name: Option<&str>,
        build: impl FnOnce(String, String) -> ContainerRecord,
    ) -> Result<ContainerRecord, ContainerError> {
        if let Some(n) = name {
            names::validate(n)?;
        }
        let _lock = self.lock()?;
        let existing = self.list()?;
        let taken = |n: &str| existing.iter().find(|r| r.name == n);
        let name = match name {
            Some(n) => match taken(n) {
                Some(r) => {
                    return Err(ContainerError::NameTaken {
                        name: n.to_owned(),
                        id: r.id.clone(),
                    });
                }
                None => n.to_owned(),
            },
            None => {
                let mut attempt = 0;
                loop {
                    let n = names::random(attempt)
                        .map_err(ContainerError::io("read", "/dev/urandom"))?;
                    if taken(&n).is_none() {
                        break n;
                    }
                    attempt += 1;
                }
            }
        };
        let id = crate::ids::random_hex64().map_err(ContainerError::io("read", "/dev/urandom"))?;
        let dir = self.dir(&id);
        fs::create_dir_all(&dir).map_err(ContainerError::io("create", &dir))?;
        let rec = build(id, name);
        if let Err(e) = self.save(&rec) {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(rec)
    }

    /// Renames under the store lock.
    pub fn rename(&self, id: &str, new: &str) -> Result<(), ContainerError> {
        names::validate(new)?;
        let _lock = self.lock()?;
        if let Some(r) = self.list()?.into_iter().find(|r| r.name == new) {
            return Err(ContainerError::NameTaken {
                name: new.to_owned(),
                id: r.id,
            });
        }
        let mut rec = self.load(id)?;
        rec.name = new.to_owned();
        self.save(&rec)
    }

    /// Removes the record, logs and the volatile directory. Succeeds when already gone.
    pub fn remove(&self, id: &str) -> Result<(), ContainerError> {
        for d in [self.dir(id), self.run_dir(id)] {
            match fs::remove_dir_all(&d) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(ContainerError::io("remove", &d)(e)),
            }
        }
        Ok(())
    }

    /// Whether a shim holds the container's shim lock (so the container is being watched).
    pub fn shim_alive(&self, id: &str) -> bool {
        let path = self.shim_lock_path(id);
        let Ok(f) = File::open(&path) else {
            return false;
        };
        match Flock::lock(f, FlockArg::LockSharedNonblock) {
            Ok(_) => false,
            Err((_, e)) => e == nix::Error::EWOULDBLOCK,
        }
    }

    /// Waits until the shim is gone (its lock is released); `false` on timeout.
    pub fn wait_shim(&self, id: &str, timeout: Option<Duration>) -> bool {
        let path = self.shim_lock_path(id);
        let Ok(f) = File::open(&path) else {
            return true;
        };
        let Some(timeout) = timeout else {
            return Flock::lock(f, FlockArg::LockShared).is_ok();
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Flock::lock(f, FlockArg::LockShared).is_ok());
        });
        rx.recv_timeout(timeout).unwrap_or(false)
    }
}

/// Opens (creating) and locks `path`.
pub fn lock_file(path: &Path, how: FlockArg) -> Result<Flock<File>, ContainerError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(ContainerError::io("create", dir))?;
    }
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .open(path)
        .map_err(ContainerError::io("open", path))?;
    Flock::lock(f, how).map_err(|(_, source)| ContainerError::Lock {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: String, name: String) -> ContainerRecord {
        ContainerRecord {
            id,
            name,
            ..Default::default()
        }
    }

    #[test]
    fn names_are_unique_and_refs_resolve() {
        let t = tempfile::tempdir().unwrap();
        let s = ContainerStore::new(&t.path().join("root"), &t.path().join("run"));
        let a = s.create(Some("web"), rec).unwrap();
        assert_eq!(a.id.len(), 64);
        let e = s.create(Some("web"), rec).unwrap_err();
        assert!(e.to_string().contains("already in use"), "{e}");
        let b = s.create(None, rec).unwrap();
        assert_ne!(b.name, "web");
        assert_eq!(s.resolve("web").unwrap().id, a.id);
        assert_eq!(s.resolve(&a.id).unwrap().id, a.id);
        assert_eq!(s.resolve(&b.id[..12]).unwrap().id, b.id);
        assert!(matches!(
            s.resolve("nope"),
            Err(ContainerError::NotFound(_))
        ));
        assert!(s.create(Some("bad/name"), rec).is_err());
        s.rename(&b.id, "db").unwrap();
        assert_eq!(s.resolve("db").unwrap().id, b.id);
        s.remove(&a.id).unwrap();
        s.remove(&a.id).unwrap();
        assert_eq!(s.ids().unwrap(), vec![b.id.clone()]);
    }

    #[test]
    fn network_lock_excludes_and_needs_the_container() {
        let t = tempfile::tempdir().unwrap();
        let s = ContainerStore::new(&t.path().join("root"), &t.path().join("run"));
        assert!(matches!(
            s.lock_networks("x"),
            Err(ContainerError::NotFound(_))
        ));
        let a = s.create(Some("web"), rec).unwrap();
        let held = s.lock_networks(&a.id).unwrap();
        let dir = File::open(s.dir(&a.id)).unwrap();
        assert!(Flock::lock(dir, FlockArg::LockExclusiveNonblock).is_err());
        drop(held);
        let again = s.lock_networks(&a.id).unwrap();
        // The store lock is independent of it.
        s.update(&a.id, |r| r.name = "w2".into()).unwrap();
        drop(again);
    }

    #[test]
    fn shim_lock_shows_liveness() {
        let t = tempfile::tempdir().unwrap();
        let s = ContainerStore::new(&t.path().join("root"), &t.path().join("run"));
        assert!(!s.shim_alive("x"));
        let held = lock_file(&s.shim_lock_path("x"), FlockArg::LockExclusive).unwrap();
        assert!(s.shim_alive("x"));
        assert!(!s.wait_shim("x", Some(Duration::from_millis(50))));
        drop(held);
        assert!(!s.shim_alive("x"));
        assert!(s.wait_shim("x", Some(Duration::from_secs(5))));
    }
}
