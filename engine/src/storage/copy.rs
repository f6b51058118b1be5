//! Copying a directory tree with everything a root filesystem needs: ownership, modes,
//! times, xattrs, symlinks, device nodes, fifos and hard links (kept as links). Used by the
//! vfs driver (a full copy per layer) and by volume copy-up.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::sys::stat::{Mode, SFlag, mknod};

use super::StorageError;
use super::metadata::{self, Attrs};

/// Copies the contents of `src` into the existing directory `dst` (merging; files already in
/// `dst` are replaced). `src` itself gives `dst` its attributes.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<(), StorageError> {
    let mut c = Copier {
        chown: metadata::can_chown(),
        links: HashMap::new(),
    };
    c.copy_dir_contents(src, dst)?;
    let m = fs::symlink_metadata(src).map_err(StorageError::io("stat", src))?;
    metadata::copy_xattrs(src, dst, true)?;
    metadata::apply(dst, &Attrs::of(&m), false, c.chown)
}

struct Copier {
    chown: bool,
    /// (dev, ino) of multiply-linked files already copied -> their copy.
    links: HashMap<(u64, u64), std::path::PathBuf>,
}

impl Copier {
    fn copy_dir_contents(&mut self, src: &Path, dst: &Path) -> Result<(), StorageError> {
        for e in fs::read_dir(src).map_err(StorageError::io("read dir", src))? {
            let e = e.map_err(StorageError::io("read dir", src))?;
            let (s, d) = (e.path(), dst.join(e.file_name()));
            let m = fs::symlink_metadata(&s).map_err(StorageError::io("stat", &s))?;
            self.copy_entry(&s, &d, &m)?;
        }
        Ok(())
    }

    fn copy_entry(&mut self, s: &Path, d: &Path, m: &fs::Metadata) -> Result<(), StorageError> {
        let ft = m.file_type();
        if let Ok(existing) = fs::symlink_metadata(d) {
            if !(existing.is_dir() && ft.is_dir()) {
                remove(d, &existing)?;
            }
        }
        if !ft.is_dir() && m.nlink() > 1 {
            if let Some(first) = self.links.get(&(m.dev(), m.ino())) {
                return fs::hard_link(first, d).map_err(StorageError::io("create hard link", d));
            }
            self.links.insert((m.dev(), m.ino()), d.to_path_buf());
        }
        if ft.is_dir() {
            if !d.is_dir() {
                fs::create_dir(d).map_err(StorageError::io("create dir", d))?;
            }
            self.copy_dir_contents(s, d)?;
        } else if ft.is_file() {
            fs::copy(s, d).map_err(StorageError::io("copy file to", d))?;
        } else if ft.is_symlink() {
            let t = fs::read_link(s).map_err(StorageError::io("read link", s))?;
            std::os::unix::fs::symlink(&t, d).map_err(StorageError::io("create symlink", d))?;
        } else {
            let kind = if ft.is_char_device() {
                SFlag::S_IFCHR
            } else if ft.is_block_device() {
                SFlag::S_IFBLK
            } else if ft.is_fifo() {
                SFlag::S_IFIFO
            } else {
                return Ok(()); // sockets are not copied
            };
            mknod(d, kind, Mode::from_bits_truncate(0o600), m.rdev())
                .map_err(StorageError::nix("create node", d))?;
        }
        metadata::copy_xattrs(s, d, true)?;
        metadata::apply(d, &Attrs::of(m), ft.is_symlink(), self.chown)
    }
}

fn remove(p: &Path, m: &fs::Metadata) -> Result<(), StorageError> {
    if m.is_dir() {
        fs::remove_dir_all(p).map_err(StorageError::io("remove dir", p))
    } else {
        fs::remove_file(p).map_err(StorageError::io("remove", p))
    }
}
