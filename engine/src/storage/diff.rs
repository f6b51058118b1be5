//! Container changes as a layer tar (`berth commit`). Two producers: [`overlay_diff`] reads an
//! overlay upper dir (0:0 character devices become `.wh.NAME`, the opaque xattr becomes
//! `.wh..wh..opq`); [`tree_diff`] compares a full copy against its parent tree (vfs) by
//! type, mode, owner, size, mtime and link target, like Docker's naive differ.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::StorageError;
use super::extract::{OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX};

/// Writes a layer tar, or (count-only) just adds up the regular-file bytes it would hold.
pub struct LayerWriter<'a> {
    tar: Option<tar::Builder<&'a mut dyn Write>>,
    links: HashMap<(u64, u64), PathBuf>,
    content_size: u64,
    skip_empty: Vec<PathBuf>,
}

fn werr(source: io::Error) -> StorageError {
    StorageError::Io {
        op: "write layer tar",
        path: PathBuf::from("-"),
        source,
    }
}

impl<'a> LayerWriter<'a> {
    /// A writer into `out`, or a counter when `out` is `None`.
    pub fn new(out: Option<&'a mut dyn Write>) -> Self {
        Self {
            tar: out.map(tar::Builder::new),
            links: HashMap::new(),
            content_size: 0,
            skip_empty: Vec::new(),
        }
    }

    /// Leaves out these paths (relative to the root) when they are empty regular files.
    pub fn skipping_empty(mut self, paths: &[PathBuf]) -> Self {
        self.skip_empty = paths.to_vec();
        self
    }

    /// Bytes of regular-file content added so far (hard links once).
    pub fn content_size(&self) -> u64 {
        self.content_size
    }

    /// Adds the file at `full` as `rel`.
    pub fn add(&mut self, full: &Path, rel: &Path, m: &fs::Metadata) -> Result<(), StorageError> {
        let ft = m.file_type();
        if ft.is_file() && m.len() == 0 && self.skip_empty.iter().any(|p| p == rel) {
            return Ok(());
        }
        if !ft.is_dir() && m.nlink() > 1 {
            if let Some(first) = self.links.get(&(m.dev(), m.ino())).cloned() {
                let Some(tar) = self.tar.as_mut() else {
                    return Ok(());
                };
                let mut h = Header::new_gnu();
                h.set_metadata_in_mode(m, tar::HeaderMode::Complete);
                h.set_entry_type(EntryType::Link);
                h.set_size(0);
                return tar.append_link(&mut h, rel, &first).map_err(werr);
            }
            self.links.insert((m.dev(), m.ino()), rel.to_path_buf());
        }
        if ft.is_file() {
            self.content_size += m.len();
        }
        let Some(tar) = self.tar.as_mut() else {
            return Ok(());
        };
        append_xattrs(tar, full, rel)?;
        let mut h = Header::new_gnu();
        h.set_metadata_in_mode(m, tar::HeaderMode::Complete);
        if ft.is_symlink() {
            let target = fs::read_link(full).map_err(StorageError::io("read link", full))?;
            h.set_size(0);
            tar.append_link(&mut h, rel, target).map_err(werr)
        } else if ft.is_file() {
            let f = File::open(full).map_err(StorageError::io("open", full))?;
            tar.append_data(&mut h, rel, io::BufReader::with_capacity(1 << 20, f))
                .map_err(werr)
        } else {
            if ft.is_char_device() || ft.is_block_device() {
                let (major, minor) = (
                    nix::sys::stat::major(m.rdev()),
                    nix::sys::stat::minor(m.rdev()),
                );
                h.set_device_major(major as u32).map_err(werr)?;
                h.set_device_minor(minor as u32).map_err(werr)?;
            }
            h.set_size(0);
            tar.append_data(&mut h, rel, io::empty()).map_err(werr)
        }
    }

    /// Adds `.wh.NAME` in `dir` (a deletion).
    pub fn whiteout(&mut self, dir: &Path, name: &std::ffi::OsStr) -> Result<(), StorageError> {
        let mut wh = OsString::from(WHITEOUT_PREFIX);
        wh.push(name);
        self.marker(&dir.join(wh))
    }

    /// Adds `DIR/.wh..wh..opq` (the directory hides everything below it).
    pub fn opaque(&mut self, dir: &Path) -> Result<(), StorageError> {
        self.marker(&dir.join(OPAQUE_MARKER))
    }

    fn marker(&mut self, rel: &Path) -> Result<(), StorageError> {
        let Some(tar) = self.tar.as_mut() else {
            return Ok(());
        };
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(0);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        tar.append_data(&mut h, rel, io::empty()).map_err(werr)
    }

    /// Writes the end-of-archive marker.
    pub fn finish(self) -> Result<u64, StorageError> {
        if let Some(tar) = self.tar {
            tar.into_inner().map_err(werr)?.flush().map_err(werr)?;
        }
        Ok(self.content_size)
    }
}

/// A pax header carrying `SCHILY.xattr.*` records (overlay-private xattrs left out).
fn append_xattrs(
    tar: &mut tar::Builder<&mut dyn Write>,
    full: &Path,
    rel: &Path,
) -> Result<(), StorageError> {
    let names = match xattr::list(full) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(()),
        Err(e) => {
            return Err(StorageError::Io {
                op: "list xattrs of",
                path: full.into(),
                source: e,
            });
        }
    };
    let mut data = Vec::new();
    for name in names {
        let n = name.to_string_lossy();
        if n.starts_with("trusted.overlay.") {
            continue;
        }
        if let Some(v) = xattr::get(full, &name).map_err(StorageError::io("read xattr of", full))? {
            data.extend(pax_record(&format!("SCHILY.xattr.{n}"), &v));
        }
    }
    if data.is_empty() {
        return Ok(());
    }
    let mut h = Header::new_ustar();
    h.set_entry_type(EntryType::XHeader);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(data.len() as u64);
    let name = format!(
        "PaxHeaders/{}",
        rel.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let name: String = name.chars().take(99).collect();
    h.set_path(&name).map_err(werr)?;
    h.set_cksum();
    tar.append(&h, &data[..]).map_err(werr)
}

/// One `LEN key=value\n` pax record, LEN counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// Sorted children of `dir` with their metadata.
pub(super) fn children(dir: &Path) -> Result<BTreeMap<OsString, fs::Metadata>, StorageError> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).map_err(StorageError::io("read dir", dir))? {
        let e = e.map_err(StorageError::io("read dir", dir))?;
        let p = e.path();
        out.insert(
            e.file_name(),
            fs::symlink_metadata(&p).map_err(StorageError::io("stat", &p))?,
        );
    }
    Ok(out)
}

/// Writes an overlay upper dir as a layer tar.
pub fn overlay_diff(upper: &Path, w: &mut LayerWriter<'_>) -> Result<(), StorageError> {
    walk_upper(upper, Path::new(""), w)
}

fn walk_upper(dir: &Path, rel: &Path, w: &mut LayerWriter<'_>) -> Result<(), StorageError> {
    for (name, m) in children(dir)? {
        let (full, r) = (dir.join(&name), rel.join(&name));
        if m.file_type().is_char_device() && m.rdev() == 0 {
            w.whiteout(rel, &name)?;
            continue;
        }
        w.add(&full, &r, &m)?;
        if m.is_dir() {
            let opaque = xattr::get(&full, OVERLAY_OPAQUE_XATTR).ok().flatten();
            if opaque.as_deref() == Some(b"y") {
                w.opaque(&r)?;
            }
            walk_upper(&full, &r, w)?;
        }
    }
    Ok(())
}

/// Writes what differs between `lower` (the parent tree, if any) and `upper` (a full tree).
pub fn tree_diff(
    lower: Option<&Path>,
    upper: &Path,
    w: &mut LayerWriter<'_>,
) -> Result<(), StorageError> {
    walk_pair(lower, upper, Path::new(""), w)
}

pub(super) fn same(a: &fs::Metadata, b: &fs::Metadata, la: &Path, lb: &Path) -> bool {
    let basic = a.mode() == b.mode()
        && a.uid() == b.uid()
        && a.gid() == b.gid()
        && a.rdev() == b.rdev()
        && (a.is_dir()
            || (a.len() == b.len() && a.mtime() == b.mtime() && a.mtime_nsec() == b.mtime_nsec()));
    basic && (!a.file_type().is_symlink() || fs::read_link(la).ok() == fs::read_link(lb).ok())
}

fn walk_pair(
    lower: Option<&Path>,
    upper: &Path,
    rel: &Path,
    w: &mut LayerWriter<'_>,
) -> Result<(), StorageError> {
    let lower_children = match lower {
        Some(l) => children(l)?,
        None => BTreeMap::new(),
    };
    let upper_children = children(upper)?;
    for name in lower_children
        .keys()
        .filter(|n| !upper_children.contains_key(*n))
    {
        w.whiteout(rel, name)?;
    }
    for (name, m) in &upper_children {
        let (full, r) = (upper.join(name), rel.join(name));
        let below = lower.and_then(|l| lower_children.get(name).map(|lm| (l.join(name), lm)));
        let unchanged = below
            .as_ref()
            .is_some_and(|(lp, lm)| same(lm, m, lp, &full));
        if !unchanged {
            w.add(&full, &r, m)?;
        }
        if m.is_dir() {
            let lower_dir = below
                .as_ref()
                .filter(|(_, lm)| lm.is_dir())
                .map(|(lp, _)| lp.as_path());
            walk_pair(lower_dir, &full, &r, w)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        let r = pax_record("SCHILY.xattr.user.a", b"1");
        let s = String::from_utf8(r.clone()).unwrap();
        let (len, _) = s.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), r.len());
        let r = pax_record("k", &[b'x'; 95]);
        assert_eq!(
            String::from_utf8(r.clone())
                .unwrap()
                .split_once(' ')
                .unwrap()
                .0
                .parse::<usize>()
                .unwrap(),
            r.len()
        );
    }
}
