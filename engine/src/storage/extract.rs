//! Safe layer extraction: our own loop over the `tar` crate's entries (its `unpack` is not
//! trusted). Every entry path is relative and `..`-free; parent directories are resolved
//! inside the layer, following symlinks only while they stay inside it; the last component is
//! never followed; hard links must point inside the layer. A refused entry is an error and
//! nothing is written outside the layer directory. Ownership, modes, times, xattrs and device
//! nodes are kept. Whiteouts become overlayfs whiteouts, or are applied as deletions (vfs).

use std::collections::{HashSet, VecDeque};
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, makedev, mknod};
use tar::{Entry, EntryType};

use super::StorageError;
use super::metadata::{self, Attrs};

/// Prefix of a whiteout entry: `.wh.NAME` deletes `NAME` from the layers below.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The opaque-directory marker: hides everything below from the lower layers.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The xattr overlayfs reads to treat a directory as opaque.
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const MAX_SYMLINK_HOPS: usize = 40;

/// What to do with whiteout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Write them as overlayfs understands them: `.wh.NAME` becomes a 0:0 character device
    /// `NAME`, `.wh..wh..opq` becomes `trusted.overlay.opaque=y` on its directory.
    Overlay,
    /// Apply them to the directory (which holds the lower layers too): delete `NAME`, or
    /// empty the directory of what this layer did not itself add.
    Apply,
}

/// What an extraction produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Number of tar entries processed.
    pub entries: u64,
    /// Bytes of regular-file content written (hard links count once).
    pub content_size: u64,
}

/// Extracts the layer tar `src` into `root`.
pub fn extract_layer(
    src: &mut dyn Read,
    root: &Path,
    mode: WhiteoutMode,
) -> Result<ExtractSummary, StorageError> {
    let mut x = Extractor {
        root,
        mode,
        chown: metadata::can_chown(),
        known_dirs: HashSet::new(),
        unpacked: HashSet::new(),
        dir_attrs: Vec::new(),
        buf: vec![0; 1 << 20],
        summary: ExtractSummary::default(),
    };
    let mut ar = tar::Archive::new(src);
    for entry in ar
        .entries()
        .map_err(|source| StorageError::Tar { source })?
    {
        let entry = entry.map_err(|source| StorageError::Tar { source })?;
        x.entry(entry)?;
        x.summary.entries += 1;
    }
    for (path, attrs) in x.dir_attrs.iter().rev() {
        metadata::set_times(path, attrs)?;
    }
    Ok(x.summary)
}

struct Extractor<'a> {
    root: &'a Path,
    mode: WhiteoutMode,
    chown: bool,
    /// Relative directories known to be real directories inside the layer.
    known_dirs: HashSet<PathBuf>,
    /// Relative paths this layer wrote (Apply mode: survivors of an opaque marker).
    unpacked: HashSet<PathBuf>,
    /// Directory times, set at the end since adding children changes them.
    dir_attrs: Vec<(PathBuf, Attrs)>,
    buf: Vec<u8>,
    summary: ExtractSummary,
}

fn refuse(entry: &Path, reason: &'static str) -> StorageError {
    StorageError::UnsafeEntry {
        entry: entry.display().to_string(),
        reason,
    }
}

/// The entry path as normal components only.
fn clean_path(p: &Path) -> Result<PathBuf, StorageError> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse(p, "path contains '..'")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse(p, "absolute path")),
        }
    }
    Ok(out)
}

fn is_dir_or_missing(p: &Path) -> Result<Option<fs::Metadata>, StorageError> {
    match fs::symlink_metadata(p) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::Io {
            op: "stat",
            path: p.into(),
            source: e,
        }),
    }
}

/// Removes whatever is at `p` (not following symlinks); fine if nothing is.
fn remove_any(p: &Path) -> Result<(), StorageError> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).map_err(StorageError::io("remove dir", p)),
        Ok(_) => fs::remove_file(p).map_err(StorageError::io("remove", p)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::Io {
            op: "stat",
            path: p.into(),
            source: e,
        }),
    }
}

impl Extractor<'_> {
    /// Resolves the directory `rel` inside the layer, following symlinks that stay inside,
    /// creating what is missing. Returns the relative resolved path.
    fn resolve_dir(&mut self, entry: &Path, rel: &Path) -> Result<PathBuf, StorageError> {
        if rel.as_os_str().is_empty() || self.known_dirs.contains(rel) {
            return Ok(rel.to_path_buf());
        }
        let mut pending: VecDeque<OsString> = rel.iter().map(OsString::from).collect();
        let mut cur = PathBuf::new();
        let mut hops = 0;
        while let Some(c) = pending.pop_front() {
            if c == ".." {
                if !cur.pop() {
                    return Err(refuse(
                        entry,
                        "path through a symlink that leads out of the layer",
                    ));
                }
                continue;
            }
            if c == "." {
                continue;
            }
            cur.push(&c);
            if self.known_dirs.contains(&cur) {
                continue;
            }
            let full = self.root.join(&cur);
            match is_dir_or_missing(&full)? {
                None => fs::create_dir(&full).map_err(StorageError::io("create dir", &full))?,
                Some(m) if m.is_dir() => {}
                Some(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(refuse(entry, "too many levels of symbolic links"));
                    }
                    let target =
                        fs::read_link(&full).map_err(StorageError::io("read link", &full))?;
                    cur.pop();
                    if target.is_absolute() {
                        cur = PathBuf::new();
                    }
                    for t in target.iter().rev().filter(|t| *t != "/") {
                        pending.push_front(t.to_os_string());
                    }
                    continue;
                }
                Some(_) => return Err(refuse(entry, "a parent path component is not a directory")),
            }
            self.known_dirs.insert(cur.clone());
        }
        Ok(cur)
    }

    /// Splits `rel` into its resolved parent (absolute) and file name.
    fn place(&mut self, entry: &Path, rel: &Path) -> Result<(PathBuf, PathBuf), StorageError> {
        let name = rel.file_name().ok_or_else(|| refuse(entry, "empty path"))?;
        let parent = self.resolve_dir(entry, rel.parent().unwrap_or(Path::new("")))?;
        let rel_out = parent.join(name);
        Ok((self.root.join(&rel_out), rel_out))
    }

    fn entry(&mut self, mut e: Entry<'_, &mut dyn Read>) -> Result<(), StorageError> {
        let raw = e
            .path()
            .map_err(|source| StorageError::Tar { source })?
            .into_owned();
        let rel = clean_path(&raw)?;
        let kind = e.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            return Ok(());
        }
        if rel.as_os_str().is_empty() {
            return Ok(()); // "./": the layer root itself
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            return self.whiteout(&raw, &rel, hidden, &e);
        }
        let attrs = header_attrs(&e)?;
        let xattrs = pax_xattrs(&mut e)?;
        if kind.is_dir() {
            let dir = self.resolve_dir(&raw, &rel)?;
            let full = self.root.join(&dir);
            self.unpacked.insert(dir);
            self.finish(&xattrs, &full, &attrs, false)?;
            self.dir_attrs.push((full, attrs));
            return Ok(());
        }
        let (full, rel_out) = self.place(&raw, &rel)?;
        if let Some(m) = is_dir_or_missing(&full)? {
            if m.is_dir() {
                self.known_dirs.clear();
            }
            remove_any(&full)?;
        }
        self.unpacked.insert(rel_out);
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.write_file(&mut e, &full)?
            }
            EntryType::Symlink => {
                let target = e
                    .link_name()
                    .map_err(|source| StorageError::Tar { source })?
                    .unwrap_or_default();
                std::os::unix::fs::symlink(&target, &full)
                    .map_err(StorageError::io("create symlink", &full))?;
                return self.finish(&xattrs, &full, &attrs, true);
            }
            EntryType::Link => return self.hard_link(&raw, &e, &full),
            EntryType::Char | EntryType::Block | EntryType::Fifo => make_node(&e, &full, kind)?,
            _ => return Err(refuse(&raw, "unsupported tar entry type")),
        }
        self.finish(&xattrs, &full, &attrs, false)
    }

    fn write_file(&mut self, src: &mut dyn Read, full: &Path) -> Result<(), StorageError> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(full)
            .map_err(StorageError::io("create file", full))?;
        loop {
            let n = match src.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(StorageError::Tar { source }),
            };
            f.write_all(&self.buf[..n])
                .map_err(StorageError::io("write file", full))?;
            self.summary.content_size += n as u64;
        }
        Ok(())
    }

    fn hard_link(
        &mut self,
        raw: &Path,
        e: &Entry<'_, &mut dyn Read>,
        full: &Path,
    ) -> Result<(), StorageError> {
        let target = e
            .link_name()
            .map_err(|source| StorageError::Tar { source })?
            .unwrap_or_default();
        let target_rel =
            clean_path(&target).map_err(|_| refuse(raw, "hard link target outside the layer"))?;
        let (target_full, _) = self.place(raw, &target_rel)?;
        match is_dir_or_missing(&target_full)? {
            Some(m) if !m.is_dir() => {}
            Some(_) => return Err(refuse(raw, "hard link to a directory")),
            None => return Err(refuse(raw, "hard link target not found in the layer")),
        }
        fs::hard_link(&target_full, full).map_err(StorageError::io("create hard link", full))
    }

    /// Ownership, mode, xattrs and times of a just-written entry.
    fn finish(
        &self,
        xattrs: &[(String, Vec<u8>)],
        full: &Path,
        a: &Attrs,
        symlink: bool,
    ) -> Result<(), StorageError> {
        for (name, value) in xattrs {
            xattr::set(full, name, value).map_err(StorageError::io("set xattr on", full))?;
        }
        metadata::apply(full, a, symlink, self.chown)
    }

    fn whiteout(
        &mut self,
        raw: &Path,
        rel: &Path,
        hidden: &str,
        e: &Entry<'_, &mut dyn Read>,
    ) -> Result<(), StorageError> {
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        let parent = self.resolve_dir(raw, parent_rel)?;
        let dir = self.root.join(&parent);
        if hidden == ".wh..opq" {
            return match self.mode {
                WhiteoutMode::Overlay => xattr::set(&dir, OVERLAY_OPAQUE_XATTR, b"y")
                    .map_err(StorageError::io("set opaque xattr on", &dir)),
                WhiteoutMode::Apply => self.empty_dir_except_unpacked(&dir, &parent),
            };
        }
        if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
            return Err(refuse(raw, "malformed whiteout"));
        }
        let victim = dir.join(hidden);
        self.known_dirs.clear();
        remove_any(&victim)?;
        if self.mode == WhiteoutMode::Overlay {
            mknod(&victim, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))
                .map_err(StorageError::nix("create whiteout", &victim))?;
            let mut a = header_attrs(e)?;
            a.mode = 0;
            metadata::apply(&victim, &a, true, self.chown)?;
        }
        Ok(())
    }

    fn empty_dir_except_unpacked(&mut self, dir: &Path, rel: &Path) -> Result<(), StorageError> {
        self.known_dirs.clear();
        for child in fs::read_dir(dir).map_err(StorageError::io("read dir", dir))? {
            let child = child.map_err(StorageError::io("read dir", dir))?;
            if !self.unpacked.contains(&rel.join(child.file_name())) {
                remove_any(&child.path())?;
            }
        }
        Ok(())
    }
}

/// `SCHILY.xattr.*` records of the entry's pax header.
fn pax_xattrs(e: &mut Entry<'_, &mut dyn Read>) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
    let mut out = Vec::new();
    if let Some(exts) = e
        .pax_extensions()
        .map_err(|source| StorageError::Tar { source })?
    {
        for ext in exts {
            let ext = ext.map_err(|source| StorageError::Tar { source })?;
            if let Some(name) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) {
                out.push((name.to_owned(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn header_attrs(e: &Entry<'_, &mut dyn Read>) -> Result<Attrs, StorageError> {
    let h = e.header();
    let tar_err = |source| StorageError::Tar { source };
    let mtime = h.mtime().map_err(tar_err)? as i64;
    Ok(Attrs {
        uid: h.uid().map_err(tar_err)? as u32,
        gid: h.gid().map_err(tar_err)? as u32,
        mode: h.mode().map_err(tar_err)? & 0o7777,
        mtime: (mtime, 0),
        atime: (mtime, 0),
    })
}

fn make_node(
    e: &Entry<'_, &mut dyn Read>,
    full: &Path,
    kind: EntryType,
) -> Result<(), StorageError> {
    let h = e.header();
    let tar_err = |source| StorageError::Tar { source };
    let major = h.device_major().map_err(tar_err)?.unwrap_or(0);
    let minor = h.device_minor().map_err(tar_err)?.unwrap_or(0);
    let flag = match kind {
        EntryType::Char => SFlag::S_IFCHR,
        EntryType::Block => SFlag::S_IFBLK,
        _ => SFlag::S_IFIFO,
    };
    mknod(
        full,
        flag,
        Mode::from_bits_truncate(0o600),
        makedev(u64::from(major), u64::from(minor)),
    )
    .map_err(StorageError::nix("create device node", full))
}
