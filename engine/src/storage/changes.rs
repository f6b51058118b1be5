//! What a container changed in its root (`berth diff`, `GET /containers/{id}/changes`), as
//! Docker's differs report it: each path added, modified or deleted, parents before children.
//! [`overlay_changes`] reads an overlay upper dir against the lower dirs (0:0 character
//! devices and opaque directories are deletions; a path found in a lower dir is a
//! modification, unless it is a directory identical to the one below); [`tree_changes`]
//! compares a full copy with its parent tree (vfs). A directory holding a changed entry is
//! listed as modified. The mount points berth made (`skip_empty`, when they are empty files
//! or directories) are left out, and so is a directory they alone changed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::StorageError;
use super::diff::{children, same};
use super::extract::OVERLAY_OPAQUE_XATTR;

/// What happened to a path; the numbers are Docker's `Kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `C`: changed (content, metadata, or something inside a directory).
    Modified = 0,
    /// `A`: new.
    Added = 1,
    /// `D`: removed.
    Deleted = 2,
}

impl ChangeKind {
    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            Self::Modified => 'C',
            Self::Added => 'A',
            Self::Deleted => 'D',
        }
    }
}

impl Serialize for ChangeKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

/// One changed path: Docker's `{"Path": "/etc/x", "Kind": 1}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    /// Absolute path inside the container.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// The entries of one directory's walk: the changes below it, and whether a skipped mount
/// point was there.
#[derive(Default)]
struct Subtree {
    changes: Vec<Change>,
    skipped: bool,
}

fn abs(rel: &Path) -> String {
    format!("/{}", rel.display())
}

/// Whether `rel` (at `full`) is one of `skip_empty` and empty (a file or a directory).
fn skipped(full: &Path, rel: &Path, m: &fs::Metadata, skip_empty: &[PathBuf]) -> bool {
    let empty = (m.is_file() && m.len() == 0)
        || (m.is_dir() && fs::read_dir(full).is_ok_and(|mut d| d.next().is_none()));
    empty && skip_empty.iter().any(|p| p == rel)
}

/// Puts a directory's own change (if any) before the changes below it. `own`: `None` when the
/// directory is the same as below; `meta_same`: its mode and owner are.
fn place_dir(
    out: &mut Vec<Change>,
    rel: &Path,
    own: Option<ChangeKind>,
    meta_same: bool,
    sub: Subtree,
) {
    let path = abs(rel);
    let direct_add_or_delete = sub.changes.iter().any(|c| {
        c.kind != ChangeKind::Modified && Path::new(&c.path).parent() == Some(Path::new(&path))
    });
    let own = match own {
        // Only berth's own mount points changed it.
        Some(ChangeKind::Modified) if sub.changes.is_empty() && sub.skipped && meta_same => None,
        None if direct_add_or_delete => Some(ChangeKind::Modified),
        o => o,
    };
    if let Some(kind) = own {
        out.push(Change { path, kind });
    }
    out.extend(sub.changes);
}

/// The changes in an overlay upper dir `upper` over `lowers` (nearest first).
pub fn overlay_changes(
    upper: &Path,
    lowers: &[PathBuf],
    skip_empty: &[PathBuf],
) -> Result<Vec<Change>, StorageError> {
    Ok(walk_upper(upper, Path::new(""), lowers, skip_empty)?.changes)
}

fn walk_upper(
    dir: &Path,
    rel: &Path,
    lowers: &[PathBuf],
    skip_empty: &[PathBuf],
) -> Result<Subtree, StorageError> {
    let mut sub = Subtree::default();
    for (name, m) in children(dir)? {
        let (full, r) = (dir.join(&name), rel.join(&name));
        if skipped(&full, &r, &m, skip_empty) {
            sub.skipped = true;
            continue;
        }
        if m.file_type().is_char_device() && m.rdev() == 0 {
            sub.changes.push(Change {
                path: abs(&r),
                kind: ChangeKind::Deleted,
            });
            continue;
        }
        let below = lowers
            .iter()
            .find_map(|l| fs::symlink_metadata(l.join(&r)).ok());
        if !m.is_dir() {
            let kind = match below {
                Some(_) => ChangeKind::Modified,
                None => ChangeKind::Added,
            };
            sub.changes.push(Change {
                path: abs(&r),
                kind,
            });
            continue;
        }
        let opaque = xattr::get(&full, OVERLAY_OPAQUE_XATTR).ok().flatten();
        let (own, meta_same) = match &below {
            _ if opaque.as_deref() == Some(b"y") => (Some(ChangeKind::Deleted), false),
            None => (Some(ChangeKind::Added), false),
            Some(lm) => {
                let meta_same = lm.is_dir()
                    && lm.mode() == m.mode()
                    && lm.uid() == m.uid()
                    && lm.gid() == m.gid();
                let identical =
                    meta_same && lm.mtime() == m.mtime() && lm.mtime_nsec() == m.mtime_nsec();
                ((!identical).then_some(ChangeKind::Modified), meta_same)
            }
        };
        let inner = walk_upper(&full, &r, lowers, skip_empty)?;
        place_dir(&mut sub.changes, &r, own, meta_same, inner);
    }
    Ok(sub)
}

/// The changes between the full tree `upper` and its parent tree `lower` (none: empty).
pub fn tree_changes(
    lower: Option<&Path>,
    upper: &Path,
    skip_empty: &[PathBuf],
) -> Result<Vec<Change>, StorageError> {
    Ok(walk_pair(lower, upper, Path::new(""), skip_empty)?.changes)
}

fn walk_pair(
    lower: Option<&Path>,
    upper: &Path,
    rel: &Path,
    skip_empty: &[PathBuf],
) -> Result<Subtree, StorageError> {
    let lower_children: BTreeMap<OsString, fs::Metadata> = match lower {
        Some(l) => children(l)?,
        None => BTreeMap::new(),
    };
    let upper_children = children(upper)?;
    let mut names: Vec<&OsString> = lower_children.keys().chain(upper_children.keys()).collect();
    names.sort();
    names.dedup();
    let mut sub = Subtree::default();
    for name in names {
        let r = rel.join(name);
        let (Some(m), lm) = (upper_children.get(name), lower_children.get(name)) else {
            sub.changes.push(Change {
                path: abs(&r),
                kind: ChangeKind::Deleted,
            });
            continue;
        };
        let full = upper.join(name);
        if skipped(&full, &r, m, skip_empty) && lm.is_none() {
            sub.skipped = true;
            continue;
        }
        let lower_path = lower.map(|l| l.join(name));
        let own = match (lm, &lower_path) {
            (Some(lm), Some(lp)) if same(lm, m, lp, &full) => None,
            (Some(_), _) => Some(ChangeKind::Modified),
            (None, _) => Some(ChangeKind::Added),
        };
        if !m.is_dir() {
            if let Some(kind) = own {
                sub.changes.push(Change {
                    path: abs(&r),
                    kind,
                });
            }
            continue;
        }
        let lower_dir = lower_path.filter(|_| lm.is_some_and(fs::Metadata::is_dir));
        let inner = walk_pair(lower_dir.as_deref(), &full, &r, skip_empty)?;
        let any_inside = !inner.changes.is_empty();
        let own = match own {
            None if any_inside => Some(ChangeKind::Modified),
            o => o,
        };
        place_dir(&mut sub.changes, &r, own, true, inner);
    }
    Ok(sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(c: &[Change]) -> Vec<String> {
        c.iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect()
    }

    #[test]
    fn overlay_upper_dirs_read_as_docker_diff_does() {
        let t = tempfile::tempdir().unwrap();
        let (lower, upper) = (t.path().join("lower"), t.path().join("upper"));
        for d in ["etc", "tmp", "usr/bin"] {
            fs::create_dir_all(lower.join(d)).unwrap();
        }
        fs::write(lower.join("etc/passwd"), "root").unwrap();
        fs::write(lower.join("usr/bin/gone"), "x").unwrap();
        // Upper: a modified file, a new file in a new dir, the mount points berth made.
        fs::create_dir_all(upper.join("etc")).unwrap();
        fs::write(upper.join("etc/passwd"), "root\nwww").unwrap();
        fs::write(upper.join("etc/hosts"), "").unwrap();
        fs::create_dir_all(upper.join("proc")).unwrap();
        fs::create_dir_all(upper.join("data/sub")).unwrap();
        fs::write(upper.join("data/sub/f"), "1").unwrap();
        let older = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
        fs::File::open(lower.join("etc"))
            .unwrap()
            .set_modified(older)
            .unwrap();
        let skip = vec![PathBuf::from("etc/hosts"), PathBuf::from("proc")];
        let c = overlay_changes(&upper, std::slice::from_ref(&lower), &skip).unwrap();
        let got = kinds(&c);
        assert_eq!(
            got,
            [
                "A /data",
                "A /data/sub",
                "A /data/sub/f",
                "C /etc",
                "C /etc/passwd"
            ]
        );
        // Only the mount point: the directory is not listed.
        fs::write(upper.join("etc/passwd"), "root").unwrap();
        fs::remove_file(upper.join("etc/passwd")).unwrap();
        fs::remove_dir_all(upper.join("data")).unwrap();
        let c = overlay_changes(&upper, std::slice::from_ref(&lower), &skip).unwrap();
        assert_eq!(kinds(&c), Vec::<String>::new());
    }

    #[test]
    fn full_trees_compare_by_metadata() {
        let t = tempfile::tempdir().unwrap();
        let (lower, upper) = (t.path().join("lower"), t.path().join("upper"));
        for root in [&lower, &upper] {
            fs::create_dir_all(root.join("etc")).unwrap();
            fs::write(root.join("etc/same"), "x").unwrap();
        }
        let mtime = fs::metadata(lower.join("etc/same"))
            .unwrap()
            .modified()
            .unwrap();
        fs::File::options()
            .write(true)
            .open(upper.join("etc/same"))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        fs::write(lower.join("etc/old"), "o").unwrap();
        fs::write(upper.join("new"), "n").unwrap();
        fs::write(upper.join("etc/hosts"), "").unwrap();
        let skip = vec![PathBuf::from("etc/hosts")];
        let c = tree_changes(Some(&lower), &upper, &skip).unwrap();
        assert_eq!(kinds(&c), ["C /etc", "D /etc/old", "A /new"]);
        let v = serde_json::to_value(&c[2]).unwrap();
        assert_eq!(v, serde_json::json!({"Path": "/new", "Kind": 1}));
    }
}
