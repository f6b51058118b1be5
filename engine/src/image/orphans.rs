//! Orphans: layer blobs no image references and temp files no writer is finishing, what a
//! pull or load killed halfway leaves (a failed one removes its own). `image prune` sweeps
//! them: a blob only when it is older than [`ORPHAN_AGE`] and its pull lock
//! (`<images>/locks/<hex>`, held by a pull until it registers the image) is free, so a pull
//! or commit in progress never loses a blob it is about to reference.

use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};

use super::{ImageError, ImageStore};
use crate::digest::Digest;

/// How old an unreferenced blob or temp file must be to be an orphan.
pub const ORPHAN_AGE: Duration = Duration::from_secs(10 * 60);

fn older_than(p: &Path, age: Duration) -> bool {
    fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d >= age)
}

/// The layer's pull lock, if no pull holds it.
fn try_lock(dir: &Path, d: &Digest) -> Option<Flock<File>> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(d.hex()))
        .ok()?;
    Flock::lock(f, FlockArg::LockExclusiveNonblock).ok()
}

impl ImageStore {
    /// Removes unreferenced blobs and temp files older than `age`; returns the bytes freed.
    pub fn remove_orphans(&self, age: Duration) -> Result<u64, ImageError> {
        let live = super::remove::referenced_blobs(&self.read_state()?);
        let locks = self.dir.join("locks");
        let mut freed = 0;
        for d in self.blobs.list()? {
            let path = self.blobs.path(&d);
            if live.contains(&d) || !older_than(&path, age) {
                continue;
            }
            let Some(_held) = try_lock(&locks, &d) else {
                continue;
            };
            // Looked at again under the lock: a pull may have registered it meanwhile.
            if super::remove::referenced_blobs(&self.read_state()?).contains(&d) {
                continue;
            }
            freed += self.blobs.size(&d)?;
            self.blobs.remove(&d)?;
        }
        let tmp = self.dir.join("tmp");
        for e in fs::read_dir(&tmp)
            .map_err(ImageError::io("list", &tmp))?
            .flatten()
        {
            let p = e.path();
            if older_than(&p, age) {
                freed += e.metadata().map(|m| m.len()).unwrap_or(0);
                let _ = fs::remove_file(&p);
            }
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_unreferenced_unlocked_blobs_go() {
        let t = tempfile::tempdir().unwrap();
        let s = ImageStore::open(t.path()).unwrap();
        let orphan = s.blobs.put_bytes(b"left by a killed pull").unwrap();
        let locked = s.blobs.put_bytes(b"a pull in progress").unwrap();
        let lock_dir = s.dir.join("locks");
        fs::create_dir_all(&lock_dir).unwrap();
        let _held = try_lock(&lock_dir, &locked).unwrap();
        // Young blobs stay whatever their state.
        assert_eq!(s.remove_orphans(ORPHAN_AGE).unwrap(), 0);
        assert!(s.blobs.contains(&orphan));
        // Old enough (age 0): the orphan goes, the locked one stays.
        let freed = s.remove_orphans(Duration::ZERO).unwrap();
        assert_eq!(freed, b"left by a killed pull".len() as u64);
        assert!(!s.blobs.contains(&orphan));
        assert!(s.blobs.contains(&locked));
    }
}
