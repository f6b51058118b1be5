//! [`LayerStore`]: which layers are unpacked (keyed by chain id, each unpacked once and shared)
//! and which containers' writable layers sit on them, over one [`StorageDriver`]. A layer
//! counts as present only once its metadata file is written, after the driver finished.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::verify::HashTee;
use super::{
    DriverKind, LinuxMounter, Mounter, OverlayDriver, RwLayerId, StorageDriver, StorageError,
    VfsDriver,
};
use crate::digest::Digest;

/// An unpacked layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerMeta {
    /// Chain id: names this layer together with everything below it.
    pub chain_id: Digest,
    /// Digest of the uncompressed layer tar.
    pub diff_id: Digest,
    /// Chain id of the layer below.
    pub parent: Option<Digest>,
    /// Bytes of regular-file content in this layer.
    pub content_size: u64,
}

/// Opens the uncompressed tar of a layer by diff id (once per layer unpacked; the reader
/// need not be buffered).
pub type OpenLayer<'a> = dyn FnMut(&Digest) -> io::Result<Box<dyn Read + Send>> + 'a;

impl<M: Mounter> Mounter for Arc<M> {
    fn mount_overlay(&self, cwd: &Path, options: &str, target: &Path) -> io::Result<()> {
        (**self).mount_overlay(cwd, options, target)
    }
    fn unmount(&self, target: &Path) -> io::Result<()> {
        (**self).unmount(target)
    }
}

/// Whether unpacking hashes a layer tar again to check it against its diff id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayerCheck {
    /// Hash the tar in the same pass that extracts it and refuse a mismatch (for content
    /// that was not verified on its way in, or has been at rest since).
    #[default]
    Rehash,
    /// The tar was just hashed and checked against its diff id on its way into the blob
    /// store (`import`, `load`); hashing the same bytes again would only cost time.
    Ingested,
}

/// Unpacked layers and writable layers under `<root>/storage/<driver>`.
pub struct LayerStore {
    driver: Box<dyn StorageDriver>,
    db: PathBuf,
}

impl LayerStore {
    /// Opens the store with the real driver of that kind.
    pub fn open(root: &Path, kind: DriverKind) -> Result<Self, StorageError> {
        let home = root.join("storage").join(kind.name());
        let driver: Box<dyn StorageDriver> = match kind {
            DriverKind::Overlay => Box::new(OverlayDriver::new(home.clone(), LinuxMounter)?),
            DriverKind::Vfs => Box::new(VfsDriver::new(home.clone())?),
        };
        Self::with_driver(&home, driver)
    }

    /// Opens the store over any driver whose home is `home`.
    pub fn with_driver(home: &Path, driver: Box<dyn StorageDriver>) -> Result<Self, StorageError> {
        let db = home.join("layerdb");
        fs::create_dir_all(&db).map_err(StorageError::io("create dir", &db))?;
        Ok(Self { driver, db })
    }

    /// The driver.
    pub fn driver(&self) -> &dyn StorageDriver {
        self.driver.as_ref()
    }

    fn meta_path(&self, chain: &Digest) -> PathBuf {
        self.db.join(format!("{}.json", chain.hex()))
    }

    /// Takes the layer store's exclusive flock(2), held until the guard drops.
    fn lock(&self) -> Result<Flock<File>, StorageError> {
        let p = self.db.join("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(StorageError::io("open lock", &p))?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, errno)| StorageError::Io {
            op: "lock",
            path: p,
            source: errno.into(),
        })
    }

    /// The layer with this chain id.
    pub fn layer(&self, chain: &Digest) -> Result<LayerMeta, StorageError> {
        let p = self.meta_path(chain);
        let bytes = match fs::read(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::LayerNotFound(chain.clone()));
            }
            other => other.map_err(StorageError::io("read", &p))?,
        };
        serde_json::from_slice(&bytes).map_err(|source| StorageError::Json { path: p, source })
    }

    /// Every unpacked layer.
    pub fn layers(&self) -> Result<Vec<LayerMeta>, StorageError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.db).map_err(StorageError::io("read dir", &self.db))? {
            let e = e.map_err(StorageError::io("read dir", &self.db))?;
            let name = e.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            out.push(
                self.layer(
                    &Digest::parse(hex)
                        .map_err(|_| StorageError::LayerNotFound(Digest::of_bytes(b"")))?,
                )?,
            );
        }
        Ok(out)
    }

    /// Unpacks whatever is missing of the stack `diff_ids` (base first) and returns the
    /// stack's layers. Each tar is re-hashed while unpacking and must match its diff id.
    pub fn ensure_layers(
        &self,
        diff_ids: &[Digest],
        open: &mut OpenLayer<'_>,
    ) -> Result<Vec<LayerMeta>, StorageError> {
        self.ensure_layers_with(diff_ids, open, LayerCheck::Rehash)
    }

    /// [`Self::ensure_layers`] with the given check of the tars against their diff ids.
    pub fn ensure_layers_with(
        &self,
        diff_ids: &[Digest],
        open: &mut OpenLayer<'_>,
        check: LayerCheck,
    ) -> Result<Vec<LayerMeta>, StorageError> {
        let chains = Digest::chain_ids(diff_ids);
        let mut out: Vec<LayerMeta> = Vec::with_capacity(chains.len());
        let _lock = self.lock()?;
        for (chain, diff_id) in chains.iter().zip(diff_ids) {
            let parent = out.last().map(|m| m.chain_id.clone());
            match self.layer(chain) {
                Ok(m) if self.driver.has_layer(chain) => {
                    out.push(m);
                    continue;
                }
                Ok(_) | Err(StorageError::LayerNotFound(_)) => {}
                Err(e) => return Err(e),
            }
            let meta = self.unpack(chain, diff_id, parent, open, check)?;
            out.push(meta);
        }
        Ok(out)
    }

    fn unpack(
        &self,
        chain: &Digest,
        diff_id: &Digest,
        parent: Option<Digest>,
        open: &mut OpenLayer<'_>,
        check: LayerCheck,
    ) -> Result<LayerMeta, StorageError> {
        let src = open(diff_id).map_err(StorageError::io("open layer", diff_id.as_str()))?;
        let hash_err = StorageError::io("hash layer", diff_id.as_str());
        let (summary, actual) = match check {
            LayerCheck::Rehash => {
                let mut tee = HashTee::new(src).map_err(hash_err)?;
                let summary = self.driver.create_layer(chain, parent.as_ref(), &mut tee)?;
                let actual = tee
                    .finish()
                    .map_err(StorageError::io("hash layer", diff_id.as_str()))?;
                (summary, actual)
            }
            LayerCheck::Ingested => {
                let mut src = std::io::BufReader::with_capacity(1 << 20, src);
                let summary = self.driver.create_layer(chain, parent.as_ref(), &mut src)?;
                (summary, diff_id.clone())
            }
        };
        if actual != *diff_id {
            self.driver.remove_layer(chain)?;
            return Err(StorageError::LayerDigest {
                expected: diff_id.clone(),
                actual,
            });
        }
        let meta = LayerMeta {
            chain_id: chain.clone(),
            diff_id: diff_id.clone(),
            parent,
            content_size: summary.content_size,
        };
        let p = self.meta_path(chain);
        let bytes = serde_json::to_vec(&meta).map_err(|source| StorageError::Json {
            path: p.clone(),
            source,
        })?;
        fs::write(&p, bytes).map_err(StorageError::io("write", &p))?;
        Ok(meta)
    }

    /// Removes every layer that is not in `keep`, not below a layer in `keep` and not below
    /// a container's writable layer. Returns the chain ids removed.
    pub fn remove_unused(&self, keep: &HashSet<Digest>) -> Result<Vec<Digest>, StorageError> {
        let _lock = self.lock()?;
        let all = self.layers()?;
        let mut live: HashSet<Digest> = keep.clone();
        for id in self.driver.list_rw()? {
            live.extend(self.driver.rw_parent(&id)?);
        }
        let mut frontier: Vec<Digest> = live.iter().cloned().collect();
        while let Some(c) = frontier.pop() {
            if let Some(p) = all
                .iter()
                .find(|m| m.chain_id == c)
                .and_then(|m| m.parent.clone())
            {
                if live.insert(p.clone()) {
                    frontier.push(p);
                }
            }
        }
        let mut removed = Vec::new();
        for m in all.into_iter().filter(|m| !live.contains(&m.chain_id)) {
            let p = self.meta_path(&m.chain_id);
            fs::remove_file(&p).map_err(StorageError::io("remove", &p))?;
            self.driver.remove_layer(&m.chain_id)?;
            removed.push(m.chain_id);
        }
        Ok(removed)
    }

    /// Creates a container's writable layer over the layer `top` (an image's top chain id).
    pub fn create_rw(&self, id: &RwLayerId, top: Option<&Digest>) -> Result<(), StorageError> {
        if let Some(t) = top {
            self.layer(t)?;
        }
        self.driver.create_rw(id, top)
    }
}
