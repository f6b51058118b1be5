#![allow(dead_code)]
//! Test helper: builds layer tarballs in memory, entry by entry, including hostile ones.

use tar::{EntryType, Header};

/// An in-memory tar under construction.
pub struct TarBuilder {
    b: tar::Builder<Vec<u8>>,
}

impl Default for TarBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuilder {
    /// An empty archive.
    pub fn new() -> Self {
        Self {
            b: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: EntryType, mode: u32, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    /// Writes the raw name bytes into the header, bypassing the tar crate's own path checks,
    /// so hostile names (`../x`, `/x`) can be built.
    fn append_raw(&mut self, mut h: Header, name: &str, data: &[u8]) {
        let bytes = name.as_bytes();
        let gnu = h.as_gnu_mut().expect("gnu header");
        gnu.name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        self.b.append(&h, data).expect("append");
    }

    /// A regular file.
    pub fn file(mut self, name: &str, data: &[u8]) -> Self {
        let h = Self::header(EntryType::Regular, 0o644, data.len() as u64);
        self.append_raw(h, name, data);
        self
    }

    /// A regular file with a mode and owner.
    pub fn file_owned(mut self, name: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> Self {
        let mut h = Self::header(EntryType::Regular, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        self.append_raw(h, name, data);
        self
    }

    /// A directory.
    pub fn dir(mut self, name: &str) -> Self {
        let h = Self::header(EntryType::Directory, 0o755, 0);
        self.append_raw(h, name, b"");
        self
    }

    fn link(mut self, kind: EntryType, name: &str, target: &str) -> Self {
        let mut h = Self::header(kind, 0o777, 0);
        let t = target.as_bytes();
        let gnu = h.as_gnu_mut().expect("gnu header");
        gnu.linkname[..t.len()].copy_from_slice(t);
        self.append_raw(h, name, b"");
        self
    }

    /// A symbolic link.
    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.link(EntryType::Symlink, name, target)
    }

    /// A hard link to `target` (a path inside the archive).
    pub fn hardlink(self, name: &str, target: &str) -> Self {
        self.link(EntryType::Link, name, target)
    }

    /// The finished archive.
    pub fn build(self) -> Vec<u8> {
        self.b.into_inner().expect("finish tar")
    }
}
