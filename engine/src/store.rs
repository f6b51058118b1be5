//! [`Store`]: the image store, the layer store and the volumes under one root, and the
//! operations that need more than one of them (import/load then unpack, rmi then layer GC,
//! container roots, commit, sizes). Each `berth` image/volume command is one call here or on
//! one of the three stores.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::image::{
    ImageError, ImageOptions, ImageRecord, ImageStore, LoadedImage, PruneFilter, PruneReport,
    RemoveEvent, UserLookup,
};
use crate::size::{ContainerSize, ContainerUsage, ImageUsage, SystemDf, VolumeUsage, system_df};
use crate::storage::{DriverKind, LayerCheck, LayerMeta, LayerStore, RwLayerId, StorageError};
use crate::volume::{VolumeError, VolumeStore};

/// Errors of operations that span stores.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// From the image store.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// From the layer store or a storage driver.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// From the volume store.
    #[error(transparent)]
    Volume(#[from] VolumeError),
}

/// Images, layers and volumes under one `--root`.
pub struct Store {
    images: ImageStore,
    layers: LayerStore,
    volumes: VolumeStore,
}

impl Store {
    /// Opens everything under `root` with the given storage driver.
    pub fn open(root: &Path, driver: DriverKind) -> Result<Self, StoreError> {
        Self::with_layer_store(root, LayerStore::open(root, driver)?)
    }

    /// Opens with a ready layer store (e.g. one over a fake mounter).
    pub fn with_layer_store(root: &Path, layers: LayerStore) -> Result<Self, StoreError> {
        Ok(Self {
            images: ImageStore::open(root)?,
            layers,
            volumes: VolumeStore::open(root)?,
        })
    }

    /// The image store (`images`, `tag`, `image inspect`, `history`, `save`).
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// The layer store and its driver.
    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    /// The volume store (`volume create|ls|inspect|rm|prune`).
    pub fn volumes(&self) -> &VolumeStore {
        &self.volumes
    }

    /// `import`: stores the tarball as a one-layer image and unpacks it. If the layer
    /// cannot be unpacked (e.g. an unsafe entry), the new image is removed again. Emits `tag`
    /// (when named) and `import`, as dockerd.
    pub fn import(&self, src: impl Read, opts: &ImageOptions) -> Result<Digest, StoreError> {
        let before = self.image_ids()?;
        let id = self.images.import(src, opts)?;
        if let Err(e) = self.unpack_with(&id, LayerCheck::Ingested) {
            self.forget_new_images(&before, std::slice::from_ref(&id));
            return Err(e);
        }
        if let Some(r) = &opts.reference {
            self.images.emit("tag", &id, Some(&r.to_string()));
        }
        self.images.emit("import", &id, None);
        Ok(id)
    }

    /// `berth load`: stores every image of the archive and unpacks its layers. If a layer
    /// cannot be unpacked, the images this load added are removed again.
    pub fn load(&self, src: impl Read) -> Result<Vec<LoadedImage>, StoreError> {
        let before = self.image_ids()?;
        let loaded = self.images.load(src)?;
        for l in &loaded {
            if let Err(e) = self.unpack_with(&l.id, LayerCheck::Ingested) {
                let ids: Vec<Digest> = loaded.iter().map(|l| l.id.clone()).collect();
                self.forget_new_images(&before, &ids);
                return Err(e);
            }
        }
        for l in &loaded {
            self.images.emit("load", &l.id, None);
        }
        Ok(loaded)
    }

    fn image_ids(&self) -> Result<HashSet<Digest>, StoreError> {
        Ok(self.images.records()?.into_iter().map(|r| r.id).collect())
    }

    /// Best-effort undo of a failed import/load: removes those of `ids` that were not in
    /// `before`, with their tags, blobs and layers. The caller reports the original error.
    fn forget_new_images(&self, before: &HashSet<Digest>, ids: &[Digest]) {
        for id in ids.iter().filter(|id| !before.contains(*id)) {
            if let Err(e) = self.images.remove(id.as_str(), true, &|_| None) {
                tracing::warn!(%id, error = %e, "could not remove a half-loaded image");
            }
        }
        if let Err(e) = self.remove_unused_layers() {
            tracing::warn!(error = %e, "could not remove unused layers");
        }
    }

    /// Unpacks whatever layers of the image are missing, re-hashing each layer tar against
    /// its diff id while extracting it; returns its stack, base first.
    pub fn unpack(&self, image: &Digest) -> Result<Vec<LayerMeta>, StoreError> {
        self.unpack_with(image, LayerCheck::Rehash)
    }

    /// [`Self::unpack`] with the given check. `import` and `load` use
    /// [`LayerCheck::Ingested`]: they hashed every layer against its diff id on the way into
    /// the blob store moments before, and a blob file only exists once its content was
    /// verified (temp file, verify, rename), so each byte is hashed once per `load`.
    pub fn unpack_with(
        &self,
        image: &Digest,
        check: LayerCheck,
    ) -> Result<Vec<LayerMeta>, StoreError> {
        let rec = self.images.record(image.as_str())?;
        self.unpack_record(&rec, check)
    }

    fn unpack_record(
        &self,
        rec: &ImageRecord,
        check: LayerCheck,
    ) -> Result<Vec<LayerMeta>, StoreError> {
        let blobs = self.images.blobs();
        let mut open = |d: &Digest| -> std::io::Result<Box<dyn Read + Send>> {
            Ok(Box::new(File::open(blobs.path(d))?))
        };
        Ok(self
            .layers
            .ensure_layers_with(&rec.layers, &mut open, check)?)
    }

    /// `rmi`: removes the image (see [`ImageStore::remove_with`]) and the unpacked layers no
    /// image or container needs any more. `user` says which container uses an image.
    pub fn remove_image(
        &self,
        name: &str,
        force: bool,
        user: UserLookup<'_>,
    ) -> Result<Vec<RemoveEvent>, StoreError> {
        let events = self.images.remove(name, force, user)?;
        self.remove_unused_layers()?;
        Ok(events)
    }

    /// `image prune` (see [`ImageStore::prune`]), then layer GC.
    pub fn prune_images(
        &self,
        filter: &PruneFilter,
        user: UserLookup<'_>,
    ) -> Result<PruneReport, StoreError> {
        let report = self.images.prune(filter, user)?;
        self.remove_unused_layers()?;
        Ok(report)
    }

    fn remove_unused_layers(&self) -> Result<Vec<Digest>, StoreError> {
        let keep: HashSet<Digest> = self
            .images
            .records()?
            .iter()
            .filter_map(|r| Digest::chain_ids(&r.layers).pop())
            .collect();
        Ok(self.layers.remove_unused(&keep)?)
    }

    /// Creates the container's writable layer over the image `image` (name or id), unpacking
    /// the image first if needed. Returns the image id.
    pub fn create_container_root(
        &self,
        container: &RwLayerId,
        image: &str,
    ) -> Result<Digest, StoreError> {
        let rec = self.images.record(image)?;
        let stack = self.unpack_record(&rec, LayerCheck::Rehash)?;
        self.layers
            .create_rw(container, stack.last().map(|m| &m.chain_id))?;
        Ok(rec.id)
    }

    /// Mounts the container's root and returns its path.
    pub fn mount_container_root(&self, container: &RwLayerId) -> Result<PathBuf, StoreError> {
        Ok(self.layers.driver().mount(container)?)
    }

    /// Unmounts the container's root.
    pub fn unmount_container_root(&self, container: &RwLayerId) -> Result<(), StoreError> {
        Ok(self.layers.driver().unmount(container)?)
    }

    /// Unmounts and deletes the container's writable layer.
    pub fn remove_container_root(&self, container: &RwLayerId) -> Result<(), StoreError> {
        Ok(self.layers.driver().remove_rw(container)?)
    }

    /// `berth commit`: the container's changes become a new layer over `image` (the image the
    /// container was created from), unpacked and recorded as a new image. `skip_empty`: paths
    /// left out when they are empty files (mount points berth made).
    pub fn commit(
        &self,
        container: &RwLayerId,
        image: &Digest,
        opts: &ImageOptions,
        skip_empty: &[PathBuf],
    ) -> Result<Digest, StoreError> {
        let mut tmp = self.images.blobs().temp_file()?;
        self.layers
            .driver()
            .diff(container, tmp.as_file_mut(), skip_empty)?;
        let f = File::open(tmp.path()).map_err(|source| StorageError::Io {
            op: "reopen diff",
            path: tmp.path().into(),
            source,
        })?;
        let layer = self
            .images
            .put_layer(Box::new(BufReader::with_capacity(1 << 20, f)), None)?;
        let mut opts = opts.clone();
        opts.created_by
            .get_or_insert_with(|| format!("berth commit {container}"));
        let id = self.images.create_image(Some(image), &layer, &opts)?;
        self.unpack(&id)?;
        Ok(id)
    }

    /// `berth ps --size`: bytes in the writable layer, and that plus the image.
    pub fn container_size(
        &self,
        container: &RwLayerId,
        image: &Digest,
    ) -> Result<ContainerSize, StoreError> {
        let size = self.layers.driver().rw_size(container)?;
        let image_size = self.images.record(image.as_str())?.size;
        Ok(ContainerSize {
            size,
            virtual_size: image_size + size,
        })
    }

    /// Every image with its layers' chain ids and sizes, for `system df`.
    pub fn image_usage(&self) -> Result<Vec<ImageUsage>, StoreError> {
        Ok(self
            .images
            .records()?
            .into_iter()
            .map(|r| ImageUsage {
                layers: Digest::chain_ids(&r.layers)
                    .into_iter()
                    .zip(r.layer_sizes.iter().copied())
                    .collect(),
                id: r.id,
            })
            .collect())
    }

    /// `berth system df`, given the containers (from the container store) and which volumes
    /// they mount.
    pub fn system_df(
        &self,
        containers: &[ContainerUsage],
        volume_in_use: &dyn Fn(&str) -> bool,
    ) -> Result<SystemDf, StoreError> {
        let mut volumes = Vec::new();
        for v in self.volumes.list()? {
            volumes.push(VolumeUsage {
                size: self.volumes.size(&v.name)?,
                in_use: volume_in_use(&v.name),
            });
        }
        Ok(system_df(&self.image_usage()?, containers, &volumes))
    }
}

#[cfg(test)]
mod tests;
