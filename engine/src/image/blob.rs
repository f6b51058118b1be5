//! The blob store: files named by their sha256 under `<root>/images/blobs/sha256/`. Content is
//! written to a temp file in the same filesystem, verified, then renamed into place, so a blob
//! file that exists is always complete and correct. Knows nothing of manifests or names.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::ImageError;
use crate::digest::{Digest, HashingWriter};

/// Content-addressed files.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl BlobStore {
    /// Opens (creating) the store: blobs in `dir`, temp files in `tmp` (same filesystem).
    pub fn open(dir: PathBuf, tmp: PathBuf) -> Result<Self, ImageError> {
        fs::create_dir_all(&dir).map_err(ImageError::io("create blob dir", &dir))?;
        fs::create_dir_all(&tmp).map_err(ImageError::io("create temp dir", &tmp))?;
        Ok(Self { dir, tmp })
    }

    /// Where the blob named `d` lives (whether or not it exists).
    pub fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    /// Whether the blob is present.
    pub fn contains(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// A temp file in the store's filesystem, for callers that build a blob themselves.
    pub fn temp_file(&self) -> Result<NamedTempFile, ImageError> {
        NamedTempFile::new_in(&self.tmp).map_err(ImageError::io("create temp file in", &self.tmp))
    }

    /// A temp file named `<prefix>.<random>`, for a writer that holds a lock on `prefix` and
    /// so may remove the leftovers of a killed writer with [`Self::remove_temp_files`].
    pub fn temp_file_for(&self, prefix: &str) -> Result<NamedTempFile, ImageError> {
        tempfile::Builder::new()
            .prefix(&format!("{prefix}."))
            .tempfile_in(&self.tmp)
            .map_err(ImageError::io("create temp file in", &self.tmp))
    }

    /// Removes the temp files named `<prefix>.*` (see [`Self::temp_file_for`]).
    pub fn remove_temp_files(&self, prefix: &str) -> Result<(), ImageError> {
        let rd = fs::read_dir(&self.tmp).map_err(ImageError::io("list", &self.tmp))?;
        let start = format!("{prefix}.");
        for e in rd.flatten() {
            if e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&start))
            {
                self.remove_path(&e.path())?;
            }
        }
        Ok(())
    }

    fn remove_path(&self, p: &Path) -> Result<(), ImageError> {
        match fs::remove_file(p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ImageError::Io {
                op: "remove temp file",
                path: p.to_owned(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Streams `src` into the store. With `expected`, a mismatch is refused and nothing is kept.
    pub fn put_reader(
        &self,
        src: &mut dyn Read,
        expected: Option<&Digest>,
        what: &str,
    ) -> Result<(Digest, u64), ImageError> {
        let tmp = self.temp_file()?;
        let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp));
        io::copy(src, &mut w).map_err(|source| ImageError::Read {
            what: "blob content",
            source,
        })?;
        let (digest, size, buf) = w.finish();
        let tmp = buf.into_inner().map_err(|e| ImageError::Io {
            op: "write blob",
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        if let Some(exp) = expected.filter(|e| **e != digest) {
            return Err(ImageError::DigestMismatch {
                what: what.to_owned(),
                expected: exp.clone(),
                actual: digest,
            });
        }
        self.persist(tmp, &digest)?;
        Ok((digest, size))
    }

    /// Stores `bytes`, returning their digest.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest, ImageError> {
        let d = Digest::of_bytes(bytes);
        if self.contains(&d) {
            return Ok(d);
        }
        let mut tmp = self.temp_file()?;
        tmp.write_all(bytes)
            .map_err(ImageError::io("write blob", tmp.path()))?;
        self.persist(tmp, &d)?;
        Ok(d)
    }

    /// Moves a finished temp file whose content is known to hash to `d` into place.
    pub fn persist(&self, tmp: NamedTempFile, d: &Digest) -> Result<(), ImageError> {
        let dst = self.path(d);
        tmp.persist(&dst).map_err(|e| ImageError::Io {
            op: "rename blob to",
            path: dst,
            source: e.error,
        })?;
        Ok(())
    }

    /// Moves a file already verified to hash to `d` (e.g. one staged from an archive) into place.
    pub fn adopt(&self, src: &Path, d: &Digest) -> Result<(), ImageError> {
        let dst = self.path(d);
        fs::rename(src, &dst).map_err(ImageError::io("rename blob to", dst))
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, d: &Digest) -> Result<File, ImageError> {
        let p = self.path(d);
        File::open(&p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ImageError::NotFound(format!("blob {d}")),
            _ => ImageError::Io {
                op: "open blob",
                path: p,
                source: e,
            },
        })
    }

    /// Reads a (small) blob and checks it still hashes to its name.
    pub fn read_verified(&self, d: &Digest) -> Result<Vec<u8>, ImageError> {
        let mut buf = Vec::new();
        self.open_blob(d)?
            .read_to_end(&mut buf)
            .map_err(ImageError::io("read blob", self.path(d)))?;
        let actual = Digest::of_bytes(&buf);
        if actual != *d {
            return Err(ImageError::DigestMismatch {
                what: "stored blob".into(),
                expected: d.clone(),
                actual,
            });
        }
        Ok(buf)
    }

    /// The size of a blob in bytes.
    pub fn size(&self, d: &Digest) -> Result<u64, ImageError> {
        let p = self.path(d);
        fs::metadata(&p)
            .map(|m| m.len())
            .map_err(ImageError::io("stat blob", p))
    }

    /// Every blob digest present.
    pub fn list(&self) -> Result<Vec<Digest>, ImageError> {
        let rd = fs::read_dir(&self.dir).map_err(ImageError::io("list blobs in", &self.dir))?;
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(ImageError::io("list blobs in", &self.dir))?;
            if let Some(d) = e.file_name().to_str().and_then(|n| Digest::parse(n).ok()) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Removes a blob; succeeds when it is already gone.
    pub fn remove(&self, d: &Digest) -> Result<(), ImageError> {
        let p = self.path(d);
        match fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ImageError::Io {
                op: "remove blob",
                path: p,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let t = tempfile::tempdir().unwrap();
        let s = BlobStore::open(t.path().join("blobs"), t.path().join("tmp")).unwrap();
        (t, s)
    }

    #[test]
    fn put_reader_refuses_a_wrong_digest_and_keeps_nothing() {
        let (t, s) = store();
        let wrong = Digest::of_bytes(b"something else");
        let err = s
            .put_reader(&mut &b"payload"[..], Some(&wrong), "test blob")
            .unwrap_err();
        assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
        assert!(s.list().unwrap().is_empty());
        assert_eq!(
            fs::read_dir(t.path().join("tmp")).unwrap().count(),
            0,
            "temp file left behind"
        );
    }

    #[test]
    fn put_reader_stores_under_the_content_digest() {
        let (_t, s) = store();
        let (d, n) = s
            .put_reader(&mut &b"payload"[..], None, "test blob")
            .unwrap();
        assert_eq!(n, 7);
        assert_eq!(d, Digest::of_bytes(b"payload"));
        assert_eq!(s.read_verified(&d).unwrap(), b"payload");
    }

    #[test]
    fn read_verified_detects_corruption_on_disk() {
        let (_t, s) = store();
        let d = s.put_bytes(b"good").unwrap();
        fs::write(s.path(&d), b"evil").unwrap();
        assert!(matches!(
            s.read_verified(&d),
            Err(ImageError::DigestMismatch { .. })
        ));
    }
}
