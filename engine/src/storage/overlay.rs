//! The `overlay` driver, laid out like Docker's overlay2 under `<root>/storage/overlay`:
//! `<chain>/diff` holds a layer's own files, `<chain>/link` its short name, `<chain>/lower`
//! the short names of the layers below (nearest first), and `l/<short>` links to the diff, so
//! a mount's `lowerdir=l/A:l/B:...` stays short for deep stacks. Containers get
//! `containers/<id>/{diff,work,merged}`; the mount goes through the [`Mounter`] seam.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::diff::{LayerWriter, overlay_diff};
use super::extract::{WhiteoutMode, extract_layer};
use super::{ExtractSummary, Mounter, RwLayerId, StorageDriver, StorageError};
use crate::digest::Digest;

const LINK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LINK_LEN: usize = 12;
/// mount(2) copies at most one page of options.
const PAGE_SIZE: usize = 4096;

/// overlayfs-backed storage.
pub struct OverlayDriver<M: Mounter> {
    home: PathBuf,
    mounter: M,
}

impl<M: Mounter> OverlayDriver<M> {
    /// Opens (creating) the driver's home, e.g. `<root>/storage/overlay`.
    pub fn new(home: PathBuf, mounter: M) -> Result<Self, StorageError> {
        for d in [home.join("l"), home.join("containers"), home.join("empty")] {
            fs::create_dir_all(&d).map_err(StorageError::io("create dir", &d))?;
        }
        Ok(Self { home, mounter })
    }

    fn layer_home(&self, id: &Digest) -> PathBuf {
        self.home.join(id.hex())
    }

    fn rw_home(&self, id: &RwLayerId) -> PathBuf {
        self.home.join("containers").join(id.as_str())
    }

    fn read(path: &Path) -> Result<String, StorageError> {
        fs::read_to_string(path).map_err(StorageError::io("read", path))
    }

    /// `l/<link>:<lower of that layer>` for a stack topped by `parent`.
    fn lowers_above(&self, parent: Option<&Digest>) -> Result<String, StorageError> {
        let Some(p) = parent else {
            return Ok(String::new());
        };
        let home = self.layer_home(p);
        if !home.join("link").exists() {
            return Err(StorageError::LayerNotFound(p.clone()));
        }
        let link = Self::read(&home.join("link"))?;
        let lower = match fs::read_to_string(home.join("lower")) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(StorageError::Io {
                    op: "read",
                    path: home.join("lower"),
                    source: e,
                });
            }
        };
        Ok(if lower.is_empty() {
            format!("l/{link}")
        } else {
            format!("l/{link}:{lower}")
        })
    }

    /// The mount options for a container; public for tests and the benchmark.
    pub fn mount_options(&self, id: &RwLayerId) -> Result<String, StorageError> {
        let home = self.rw_home(id);
        if !home.is_dir() {
            return Err(StorageError::ContainerNotFound(id.to_string()));
        }
        let mut lower = Self::read(&home.join("lower"))?;
        if lower.is_empty() {
            lower = "empty".to_owned();
        }
        let opts = format!(
            "lowerdir={lower},upperdir={},workdir={}",
            home.join("diff").display(),
            home.join("work").display()
        );
        if opts.len() >= PAGE_SIZE {
            return Err(StorageError::TooManyLayers {
                layers: lower.split(':').count(),
                len: opts.len(),
            });
        }
        Ok(opts)
    }
}

impl<M: Mounter> StorageDriver for OverlayDriver<M> {
    fn name(&self) -> &'static str {
        "overlay"
    }

    fn create_layer(
        &self,
        id: &Digest,
        parent: Option<&Digest>,
        diff: &mut dyn Read,
    ) -> Result<ExtractSummary, StorageError> {
        self.remove_layer(id)?;
        let lower = self.lowers_above(parent)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-layer-")
            .tempdir_in(&self.home)
            .map_err(StorageError::io("create temp dir in", &self.home))?;
        let diff_dir = tmp.path().join("diff");
        fs::create_dir(&diff_dir).map_err(StorageError::io("create dir", &diff_dir))?;
        let summary = extract_layer(diff, &diff_dir, WhiteoutMode::Overlay)?;
        let link = crate::ids::random_string(LINK_ALPHABET, LINK_LEN)
            .map_err(StorageError::io("read", "/dev/urandom"))?;
        let write = |name: &str, data: &str| {
            let p = tmp.path().join(name);
            fs::write(&p, data).map_err(StorageError::io("write", p))
        };
        write("lower", &lower)?;
        write("link", &link)?;
        let home = self.layer_home(id);
        let tmp = tmp.keep();
        fs::rename(&tmp, &home).map_err(StorageError::io("rename layer to", &home))?;
        let l = self.home.join("l").join(&link);
        std::os::unix::fs::symlink(Path::new("..").join(id.hex()).join("diff"), &l)
            .map_err(StorageError::io("create link", &l))?;
        Ok(summary)
    }

    fn has_layer(&self, id: &Digest) -> bool {
        self.layer_home(id).join("link").is_file()
    }

    fn remove_layer(&self, id: &Digest) -> Result<(), StorageError> {
        let home = self.layer_home(id);
        if let Ok(link) = fs::read_to_string(home.join("link")) {
            let l = self.home.join("l").join(link.trim());
            fs::remove_file(&l)
                .or_else(ignore_missing)
                .map_err(StorageError::io("remove link", &l))?;
        }
        fs::remove_dir_all(&home)
            .or_else(ignore_missing)
            .map_err(StorageError::io("remove layer", &home))
    }

    fn layer_dir(&self, id: &Digest) -> PathBuf {
        self.layer_home(id).join("diff")
    }

    fn create_rw(&self, id: &RwLayerId, parent: Option<&Digest>) -> Result<(), StorageError> {
        let home = self.rw_home(id);
        if home.exists() {
            return Err(StorageError::ContainerExists(id.to_string()));
        }
        let lower = self.lowers_above(parent)?;
        for d in ["diff", "work", "merged"] {
            let p = home.join(d);
            fs::create_dir_all(&p).map_err(StorageError::io("create dir", &p))?;
        }
        let write = |name: &str, data: &str| {
            let p = home.join(name);
            fs::write(&p, data).map_err(StorageError::io("write", p))
        };
        write("lower", &lower)?;
        write("parent", parent.map(Digest::as_str).unwrap_or(""))
    }

    fn mount(&self, id: &RwLayerId) -> Result<PathBuf, StorageError> {
        let opts = self.mount_options(id)?;
        let target = self.rw_home(id).join("merged");
        self.mounter
            .mount_overlay(&self.home, &opts, &target)
            .map_err(|source| StorageError::Mount {
                what: format!("overlay ({} lower layers)", opts.matches("l/").count()),
                target: target.clone(),
                source,
            })?;
        Ok(target)
    }

    fn unmount(&self, id: &RwLayerId) -> Result<(), StorageError> {
        let target = self.rw_home(id).join("merged");
        self.mounter
            .unmount(&target)
            .map_err(|source| StorageError::Unmount { target, source })
    }

    fn remove_rw(&self, id: &RwLayerId) -> Result<(), StorageError> {
        let home = self.rw_home(id);
        if !home.exists() {
            return Ok(());
        }
        self.unmount(id)?;
        fs::remove_dir_all(&home)
            .or_else(ignore_missing)
            .map_err(StorageError::io("remove container layer", &home))
    }

    fn diff(
        &self,
        id: &RwLayerId,
        out: &mut dyn Write,
        skip_empty: &[PathBuf],
    ) -> Result<(), StorageError> {
        let upper = self.existing_rw(id)?.join("diff");
        let mut w = LayerWriter::new(Some(out)).skipping_empty(skip_empty);
        overlay_diff(&upper, &mut w)?;
        w.finish().map(drop)
    }

    fn changes(
        &self,
        id: &RwLayerId,
        skip_empty: &[PathBuf],
    ) -> Result<Vec<super::changes::Change>, StorageError> {
        let home = self.existing_rw(id)?;
        let lowers: Vec<PathBuf> = Self::read(&home.join("lower"))?
            .split(':')
            .filter(|l| !l.is_empty())
            .map(|l| self.home.join(l))
            .collect();
        super::changes::overlay_changes(&home.join("diff"), &lowers, skip_empty)
    }

    fn rw_size(&self, id: &RwLayerId) -> Result<u64, StorageError> {
        let upper = self.existing_rw(id)?.join("diff");
        crate::size::dir_content_size(&upper)
    }

    fn rw_parent(&self, id: &RwLayerId) -> Result<Option<Digest>, StorageError> {
        let p = Self::read(&self.existing_rw(id)?.join("parent"))?;
        Ok(Digest::parse(p.trim()).ok())
    }

    fn list_rw(&self) -> Result<Vec<RwLayerId>, StorageError> {
        list_ids(&self.home.join("containers"))
    }
}

impl<M: Mounter> OverlayDriver<M> {
    fn existing_rw(&self, id: &RwLayerId) -> Result<PathBuf, StorageError> {
        let home = self.rw_home(id);
        if home.is_dir() {
            Ok(home)
        } else {
            Err(StorageError::ContainerNotFound(id.to_string()))
        }
    }
}

pub(crate) fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

pub(crate) fn list_ids(dir: &Path) -> Result<Vec<RwLayerId>, StorageError> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(StorageError::io("read dir", dir))? {
        let e = e.map_err(StorageError::io("read dir", dir))?;
        if let Some(id) = e.file_name().to_str().and_then(|n| RwLayerId::new(n).ok()) {
            out.push(id);
        }
    }
    out.sort();
    Ok(out)
}
