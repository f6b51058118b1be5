//! `docker cp`'s engine side, shared by `berth cp` and berthd's `/containers/{id}/archive`:
//! [`stat`] a path in a container, [`read`] a path out as a tar stream, [`write`] a tar
//! stream into a directory. Paths are resolved inside the container's own root and nowhere
//! else: the work runs on a thread of its own that enters the running container's mount
//! namespace (so volumes and binds are seen as the container sees them), or chroots into the
//! mounted root of a stopped one ([`view`]). An absolute symlink or a `..` in the container
//! thus cannot lead outside it, whatever the container's processes do meanwhile.

mod stat;
mod tar_in;
mod tar_out;
mod view;

use std::io::{Read, Write};

pub use stat::PathStat;
pub use tar_in::{WriteOptions, unpack};
pub use tar_out::write_tar;

use super::lifecycle::Engine;
use super::record::ContainerRecord;

/// What went wrong with an archive operation.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The path does not exist in the container.
    #[error("Could not find the file {path} in container {container}")]
    NotFound {
        /// The path asked for.
        path: String,
        /// The container's name.
        container: String,
    },
    /// The extraction point is not a directory.
    #[error("extraction point is not a directory: {0}")]
    NotADirectory(String),
    /// The container's root is read-only.
    #[error("container rootfs is marked read-only")]
    ReadOnly,
    /// A tar entry would replace a directory with a non-directory or the reverse.
    #[error("cannot overwrite {what} {path:?} with {with}")]
    Overwrite {
        /// `directory` or `non-directory`.
        what: &'static str,
        /// The entry.
        path: String,
        /// What the entry is.
        with: &'static str,
    },
    /// A tar entry names a path outside the extraction point.
    #[error("tar entry {0:?} escapes the destination")]
    Escapes(String),
    /// The tar stream is malformed.
    #[error("invalid tar stream: {0}")]
    BadTar(String),
    /// The path given is not absolute or empty.
    #[error("invalid path {0:?}: it must be absolute")]
    BadPath(String),
    /// Reading or writing files failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

impl ArchiveError {
    fn io<'a>(op: &'static str, path: &'a str) -> impl FnOnce(std::io::Error) -> Self + 'a {
        move |source| Self::Io {
            op,
            path: path.to_owned(),
            source,
        }
    }
}

/// The file at `path` in the container (the last component not followed, unless the path
/// ends in `/` or `/.`).
pub fn stat(eng: &Engine<'_>, rec: &ContainerRecord, path: &str) -> anyhow::Result<PathStat> {
    let path = absolute(path)?;
    view::in_container(eng, rec, || {
        stat::stat(&path).map_err(|e| not_found(e, &path, rec))
    })
}

/// Writes `path` (a file, a directory with all it holds, a symlink) as a tar stream to
/// `out`, its top entry named `name`, by default the path's last component (`.` for a path
/// ending in `/.`: the directory's contents). Returns the path's stat, for the caller's
/// header. Logs the container's `archive-path` event.
pub fn read(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    path: &str,
    name: Option<&str>,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<PathStat> {
    let path = absolute(path)?;
    let st = view::in_container(eng, rec, || {
        let st = stat::stat(&path).map_err(|e| not_found(e, &path, rec))?;
        tar_out::write_tar(&path, name, out)?;
        Ok(st)
    })?;
    super::events::emit(eng, rec, "archive-path", &[]);
    Ok(st)
}

/// Unpacks the tar stream `input` into the directory `dir` of the container (which must
/// exist). Logs the container's `extract-to-dir` event.
pub fn write(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    dir: &str,
    input: &mut (dyn Read + Send),
    opts: &WriteOptions,
) -> anyhow::Result<()> {
    let dir = absolute(dir)?;
    if rec.host_config.readonly_rootfs {
        return Err(ArchiveError::ReadOnly.into());
    }
    view::in_container(eng, rec, || {
        let st = std::fs::metadata(&dir).map_err(|e| not_found(e, &dir, rec))?;
        if !st.is_dir() {
            return Err(ArchiveError::NotADirectory(dir.clone()).into());
        }
        tar_in::unpack(&dir, input, opts)?;
        Ok(())
    })?;
    super::events::emit(eng, rec, "extract-to-dir", &[]);
    Ok(())
}

/// `path` as given, refused unless it is absolute (docker's CLI always sends one).
fn absolute(path: &str) -> Result<String, ArchiveError> {
    if !path.starts_with('/') {
        return Err(ArchiveError::BadPath(path.to_owned()));
    }
    Ok(path.to_owned())
}

/// A missing file as [`ArchiveError::NotFound`]; other errors as they are.
fn not_found(e: std::io::Error, path: &str, rec: &ContainerRecord) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        ArchiveError::NotFound {
            path: path.to_owned(),
            container: rec.name.clone(),
        }
        .into()
    } else {
        ArchiveError::io("stat", path)(e).into()
    }
}

#[cfg(test)]
mod tests;
