//! The `vfs` driver: every layer is a full copy of its parent with the layer applied
//! (whiteouts as deletions), and every container root a full copy of its image. Slow and
//! big, but works on any filesystem and needs no mount. Layout under `<root>/storage/vfs`:
//! `dir/<chain>/` and `containers/<id>/{rootfs,parent}`.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::copy::copy_tree;
use super::diff::{LayerWriter, tree_diff};
use super::extract::{WhiteoutMode, extract_layer};
use super::overlay::{ignore_missing, list_ids};
use super::{ExtractSummary, RwLayerId, StorageDriver, StorageError};
use crate::digest::Digest;

/// Copying storage.
pub struct VfsDriver {
    home: PathBuf,
}

impl VfsDriver {
    /// Opens (creating) the driver's home, e.g. `<root>/storage/vfs`.
    pub fn new(home: PathBuf) -> Result<Self, StorageError> {
        for d in [home.join("dir"), home.join("containers")] {
            fs::create_dir_all(&d).map_err(StorageError::io("create dir", &d))?;
        }
        Ok(Self { home })
    }

    fn rw_home(&self, id: &RwLayerId) -> PathBuf {
        self.home.join("containers").join(id.as_str())
    }

    fn existing_rw(&self, id: &RwLayerId) -> Result<PathBuf, StorageError> {
        let home = self.rw_home(id);
        if home.is_dir() {
            Ok(home)
        } else {
            Err(StorageError::ContainerNotFound(id.to_string()))
        }
    }

    fn parent_dir(&self, parent: Option<&Digest>) -> Result<Option<PathBuf>, StorageError> {
        match parent {
            Some(p) if !self.has_layer(p) => Err(StorageError::LayerNotFound(p.clone())),
            Some(p) => Ok(Some(self.layer_dir(p))),
            None => Ok(None),
        }
    }

    fn diff_into(
        &self,
        id: &RwLayerId,
        out: Option<&mut dyn Write>,
        skip_empty: &[PathBuf],
    ) -> Result<u64, StorageError> {
        let home = self.existing_rw(id)?;
        let parent = self.rw_parent(id)?;
        let lower = parent.map(|p| self.layer_dir(&p));
        let mut w = LayerWriter::new(out).skipping_empty(skip_empty);
        tree_diff(lower.as_deref(), &home.join("rootfs"), &mut w)?;
        w.finish()
    }
}

impl StorageDriver for VfsDriver {
    fn name(&self) -> &'static str {
        "vfs"
    }

    fn create_layer(
        &self,
        id: &Digest,
        parent: Option<&Digest>,
        diff: &mut dyn Read,
    ) -> Result<ExtractSummary, StorageError> {
        self.remove_layer(id)?;
        let parent_dir = self.parent_dir(parent)?;
        let dir = self.home.join("dir");
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-layer-")
            .tempdir_in(&dir)
            .map_err(StorageError::io("create temp dir in", &dir))?;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
            .map_err(StorageError::io("chmod", tmp.path()))?;
        if let Some(p) = parent_dir {
            copy_tree(&p, tmp.path())?;
        }
        let summary = extract_layer(diff, tmp.path(), WhiteoutMode::Apply)?;
        let dst = self.layer_dir(id);
        fs::rename(tmp.keep(), &dst).map_err(StorageError::io("rename layer to", &dst))?;
        Ok(summary)
    }

    fn has_layer(&self, id: &Digest) -> bool {
        self.layer_dir(id).is_dir()
    }

    fn remove_layer(&self, id: &Digest) -> Result<(), StorageError> {
        let d = self.layer_dir(id);
        fs::remove_dir_all(&d)
            .or_else(ignore_missing)
            .map_err(StorageError::io("remove layer", &d))
    }

    fn layer_dir(&self, id: &Digest) -> PathBuf {
        self.home.join("dir").join(id.hex())
    }

    fn create_rw(&self, id: &RwLayerId, parent: Option<&Digest>) -> Result<(), StorageError> {
        let home = self.rw_home(id);
        if home.exists() {
            return Err(StorageError::ContainerExists(id.to_string()));
        }
        let parent_dir = self.parent_dir(parent)?;
        let rootfs = home.join("rootfs");
        fs::create_dir_all(&rootfs).map_err(StorageError::io("create dir", &rootfs))?;
        let p = home.join("parent");
        fs::write(&p, parent.map(Digest::as_str).unwrap_or(""))
            .map_err(StorageError::io("write", &p))?;
        if let Some(src) = parent_dir {
            if let Err(e) = copy_tree(&src, &rootfs) {
                let _ = fs::remove_dir_all(&home);
                return Err(e);
            }
        }
        Ok(())
    }

    fn mount(&self, id: &RwLayerId) -> Result<PathBuf, StorageError> {
        Ok(self.existing_rw(id)?.join("rootfs"))
    }

    fn unmount(&self, _id: &RwLayerId) -> Result<(), StorageError> {
        Ok(())
    }

    fn remove_rw(&self, id: &RwLayerId) -> Result<(), StorageError> {
        let home = self.rw_home(id);
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
        self.diff_into(id, Some(out), skip_empty).map(drop)
    }

    fn changes(
        &self,
        id: &RwLayerId,
        skip_empty: &[PathBuf],
    ) -> Result<Vec<super::changes::Change>, StorageError> {
        let home = self.existing_rw(id)?;
        let lower = self.rw_parent(id)?.map(|p| self.layer_dir(&p));
        super::changes::tree_changes(lower.as_deref(), &home.join("rootfs"), skip_empty)
    }

    fn rw_size(&self, id: &RwLayerId) -> Result<u64, StorageError> {
        self.diff_into(id, None, &[])
    }

    fn rw_parent(&self, id: &RwLayerId) -> Result<Option<Digest>, StorageError> {
        let p = self.existing_rw(id)?.join("parent");
        let s = fs::read_to_string(&p).map_err(StorageError::io("read", &p))?;
        Ok(Digest::parse(s.trim()).ok())
    }

    fn list_rw(&self) -> Result<Vec<RwLayerId>, StorageError> {
        list_ids(&self.home.join("containers"))
    }
}
