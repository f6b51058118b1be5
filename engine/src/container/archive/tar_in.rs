//! A tar stream unpacked into a directory as docker's PUT archive does: entries may not
//! climb out of it (`..`), a directory is not replaced by a file nor the reverse when the
//! client asks so (`noOverwriteDirNonDir`, the docker CLI always does), and owners become
//! root unless `copyUIDGID` keeps the entries' own.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::ArchiveError;

/// How [`unpack`] treats what it finds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Keep the entries' uid and gid (otherwise root owns what is unpacked).
    pub copy_uid_gid: bool,
}

/// Unpacks `input` into `dir`: inside a container's root when called from [`super::write`],
/// the host's for `berth cp` from a container.
pub fn unpack(
    dir: &str,
    input: &mut (dyn Read + Send),
    opts: &WriteOptions,
) -> Result<(), ArchiveError> {
    let mut ar = tar::Archive::new(input);
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_preserve_ownerships(opts.copy_uid_gid);
    ar.set_overwrite(true);
    let entries = ar
        .entries()
        .map_err(|e| ArchiveError::BadTar(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ArchiveError::BadTar(e.to_string()))?;
        let rel = entry
            .path()
            .map_err(|e| ArchiveError::BadTar(e.to_string()))?
            .into_owned();
        let Some(rel) = inside(&rel) else {
            return Err(ArchiveError::Escapes(rel.display().to_string()));
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let dest = Path::new(dir).join(&rel);
        let is_dir = entry.header().entry_type().is_dir();
        if opts.no_overwrite_dir_non_dir {
            check_overwrite(&dest, is_dir)?;
        }
        if let Err(e) = entry.unpack_in(dir) {
            return Err(ArchiveError::Io {
                op: "unpack",
                path: dest.display().to_string(),
                source: e,
            });
        }
    }
    Ok(())
}

/// `p` without a leading `/` or `./`; `None` when a `..` would leave the destination.
fn inside(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Refuses an entry that would turn a directory into a non-directory or the reverse.
fn check_overwrite(dest: &Path, entry_is_dir: bool) -> Result<(), ArchiveError> {
    let Ok(m) = fs::symlink_metadata(dest) else {
        return Ok(());
    };
    let (what, with) = match (m.is_dir(), entry_is_dir) {
        (true, false) => ("directory", "non-directory"),
        (false, true) => ("non-directory", "directory"),
        _ => return Ok(()),
    };
    Err(ArchiveError::Overwrite {
        what,
        path: dest.display().to_string(),
        with,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_may_not_climb_out() {
        assert_eq!(inside(Path::new("./a/b")), Some(PathBuf::from("a/b")));
        assert_eq!(inside(Path::new("/a")), Some(PathBuf::from("a")));
        assert_eq!(inside(Path::new("a/../../b")), None);
        assert_eq!(inside(Path::new(".")), Some(PathBuf::new()));
    }
}
