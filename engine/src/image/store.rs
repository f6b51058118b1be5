//! [`ImageStore`]: images as content (blobs, OCI manifests and configs) plus the name index.
//! Creating images (`import`, commit) and reading them back live here; archive formats live
//! in `archive_load`/`archive_save`, removal in `remove`, reports in `inspect`. Unpacking
//! layers is the storage layer's job: the store only keeps verified, uncompressed layer tars.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use oci_spec::image::{
    Arch, ConfigBuilder, DescriptorBuilder, History, HistoryBuilder, ImageConfiguration,
    ImageConfigurationBuilder, ImageManifest, ImageManifestBuilder, MediaType, Os, RootFsBuilder,
};
use serde::Serialize;

use super::blob::BlobStore;
use super::compress::decompressed;
use super::index::{Index, IndexState};
use super::{ImageError, ImageRecord, ImageRef, LayerSource};
use crate::clock::now_rfc3339;
use crate::digest::Digest;

/// A layer tar that is stored as a blob, ready to be referenced by an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLayer {
    /// Digest of the uncompressed tar (the diff id, and the blob's name).
    pub diff_id: Digest,
    /// Size of the tar in bytes.
    pub blob_size: u64,
    /// Bytes of regular-file content in it.
    pub content_size: u64,
}

/// How an imported or committed image is described.
#[derive(Debug, Clone, Default)]
pub struct ImageOptions {
    /// Name to tag the new image with.
    pub reference: Option<ImageRef>,
    /// Commit message / import comment (history `comment`).
    pub comment: Option<String>,
    /// Author of the new layer.
    pub author: Option<String>,
    /// What made the layer (history `created_by`).
    pub created_by: Option<String>,
    /// How the config differs from the base image's (`docker commit` carries the container's
    /// settings and `--change` instructions here).
    pub config: Option<super::config_changes::ConfigChanges>,
}

/// One row of `berth images`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSummary {
    /// Repository, or `<none>` for an untagged image.
    pub repository: String,
    /// Tag, or `<none>`.
    pub tag: String,
    /// Image id (config digest).
    pub id: Digest,
    /// Creation time from the config, RFC 3339.
    pub created: Option<String>,
    /// Bytes of regular-file content in all layers.
    pub size: u64,
    /// The registry manifest digest of this repository's copy, if it was pulled or pushed.
    pub digest: Option<String>,
}

/// Content-addressed image store rooted at `<root>/images`.
#[derive(Debug, Clone)]
pub struct ImageStore {
    pub(super) dir: PathBuf,
    pub(super) blobs: BlobStore,
    pub(super) index: Index,
}

impl ImageStore {
    /// Opens (creating) the store under `<root>/images`.
    pub fn open(root: &Path) -> Result<Self, ImageError> {
        let dir = root.join("images");
        let blobs = BlobStore::open(dir.join("blobs").join("sha256"), dir.join("tmp"))?;
        let index = Index::new(&dir);
        Ok(Self { dir, blobs, index })
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// `berth import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image.
    pub fn import(&self, src: impl Read, opts: &ImageOptions) -> Result<Digest, ImageError> {
        let layer = self.put_layer(Box::new(src), None)?;
        let mut opts = opts.clone();
        opts.comment.get_or_insert_with(|| "imported".to_owned());
        self.create_image(None, &layer, &opts)
    }

    /// `berth import FILE`.
    pub fn import_file(&self, path: &Path, opts: &ImageOptions) -> Result<Digest, ImageError> {
        let f = File::open(path).map_err(ImageError::io("open", path))?;
        self.import(BufReader::with_capacity(1 << 20, f), opts)
    }

    /// Stores a (possibly compressed) layer tar uncompressed, checks that it is a readable tar
    /// and, with `expected`, that the uncompressed content hashes to that diff id.
    pub fn put_layer(
        &self,
        src: Box<dyn Read + '_>,
        expected: Option<&Digest>,
    ) -> Result<StoredLayer, ImageError> {
        let (_, mut plain) = decompressed(src).map_err(|source| ImageError::Read {
            what: "layer",
            source,
        })?;
        let (diff_id, blob_size) = self.blobs.put_reader(&mut plain, expected, "layer")?;
        let content_size = match self.layer_content_size(&diff_id, blob_size) {
            Ok(n) => n,
            Err(e) => {
                self.remove_blob_unless_referenced(&diff_id)?;
                return Err(e);
            }
        };
        Ok(StoredLayer {
            diff_id,
            blob_size,
            content_size,
        })
    }

    /// Bytes of regular-file content in a stored layer tar; refuses what is not a tar.
    pub(super) fn layer_content_size(&self, d: &Digest, blob_size: u64) -> Result<u64, ImageError> {
        let bad = |e: std::io::Error| {
            ImageError::archive(format!("layer {d} is not a valid tar archive: {e}"))
        };
        if blob_size == 0 {
            return Err(bad(std::io::Error::other("empty input")));
        }
        let mut ar = tar::Archive::new(BufReader::new(self.blobs.open_blob(d)?));
        let mut total = 0u64;
        for e in ar.entries_with_seek().map_err(bad)? {
            let e = e.map_err(bad)?;
            if e.header().entry_type().is_file() {
                total += e.size();
            }
        }
        let mut f = ar.into_inner();
        let end = f.stream_position().map_err(bad)?;
        if end == 0 {
            return Err(bad(std::io::Error::other("no tar header")));
        }
        Ok(total)
    }

    fn remove_blob_unless_referenced(&self, d: &Digest) -> Result<(), ImageError> {
        let state = self.index.read()?;
        let used = state
            .images
            .values()
            .any(|r| r.manifest == *d || r.id == *d || r.layers.contains(d));
        if !used {
            self.blobs.remove(d)?;
        }
        Ok(())
    }

    /// Creates an image whose layers are `base`'s plus `layer` (commit), or `layer` alone
    /// (import), with a history entry, and tags it if asked.
    pub fn create_image(
        &self,
        base: Option<&Digest>,
        layer: &StoredLayer,
        opts: &ImageOptions,
    ) -> Result<Digest, ImageError> {
        let now = now_rfc3339();
        let mut config = match base {
            Some(id) => self.config(id)?,
            None => empty_config()?,
        };
        config
            .rootfs_mut()
            .diff_ids_mut()
            .push(layer.diff_id.to_string());
        let mut h = HistoryBuilder::default().created(now.clone());
        if let Some(c) = &opts.comment {
            h = h.comment(c.clone());
        }
        if let Some(a) = &opts.author {
            h = h.author(a.clone());
            config.set_author(Some(a.clone()));
        }
        if let Some(c) = &opts.created_by {
            h = h.created_by(c.clone());
        }
        let h: History = h.build().map_err(|source| ImageError::Oci {
            what: "build history",
            source,
        })?;
        config.history_mut().get_or_insert_with(Vec::new).push(h);
        config.set_created(Some(now));
        if let Some(changes) = &opts.config {
            let mut c = config.config().clone().unwrap_or_default();
            changes.apply(&mut c)?;
            config.set_config(Some(c));
        }
        let config_bytes = serde_json::to_vec(&config).map_err(|source| ImageError::Json {
            what: "image config".into(),
            source,
        })?;
        let mut layers = match base {
            Some(id) => self.stored_layers(&self.record(id.as_str())?)?,
            None => Vec::new(),
        };
        layers.push(layer.clone());
        self.register_new(
            &config_bytes,
            &layers,
            opts.reference.iter().cloned().collect(),
        )
    }

    /// The layers of a recorded image as [`StoredLayer`]s.
    pub fn stored_layers(&self, rec: &ImageRecord) -> Result<Vec<StoredLayer>, ImageError> {
        rec.layers
            .iter()
            .zip(&rec.layer_sizes)
            .map(|(d, c)| {
                Ok(StoredLayer {
                    diff_id: d.clone(),
                    blob_size: self.blobs.size(d)?,
                    content_size: *c,
                })
            })
            .collect()
    }

    /// Writes config and manifest blobs for `layers` (already stored, in order) and records
    /// the image under `tags`. The config's diff ids must match `layers`.
    pub(crate) fn register_new(
        &self,
        config_bytes: &[u8],
        layers: &[StoredLayer],
        tags: Vec<ImageRef>,
    ) -> Result<Digest, ImageError> {
        let config: ImageConfiguration =
            serde_json::from_slice(config_bytes).map_err(|source| ImageError::Json {
                what: "image config".into(),
                source,
            })?;
        let diff_ids = parse_diff_ids(&config)?;
        if diff_ids.len() != layers.len()
            || diff_ids.iter().zip(layers).any(|(d, l)| *d != l.diff_id)
        {
            return Err(ImageError::archive(
                "config diff ids do not match the layers",
            ));
        }
        let id = self.blobs.put_bytes(config_bytes)?;
        let manifest = build_manifest(&id, config_bytes.len() as u64, layers)?;
        let manifest_bytes = serde_json::to_vec(&manifest).map_err(|source| ImageError::Json {
            what: "image manifest".into(),
            source,
        })?;
        let manifest_digest = self.blobs.put_bytes(&manifest_bytes)?;
        let record = ImageRecord {
            id: id.clone(),
            manifest: manifest_digest,
            layers: diff_ids,
            layer_sizes: layers.iter().map(|l| l.content_size).collect(),
            created: config.created().clone(),
            size: layers.iter().map(|l| l.content_size).sum(),
            repo_digests: Vec::new(),
        };
        self.index.update(|s| {
            let mut record = record;
            if let Some(old) = s.images.get(&id) {
                record.repo_digests = old.repo_digests.clone();
            }
            s.images.insert(id.clone(), record);
            for t in &tags {
                s.tags.insert(t.to_string(), id.clone());
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// Resolves a `NAME[:TAG]`, full id or unique id prefix to an image id.
    pub fn resolve(&self, name: &str) -> Result<Digest, ImageError> {
        self.index.read()?.resolve(name)
    }

    /// The index record of an image.
    pub fn record(&self, name: &str) -> Result<ImageRecord, ImageError> {
        let state = self.index.read()?;
        let id = state.resolve(name)?;
        state
            .images
            .get(&id)
            .cloned()
            .ok_or_else(|| ImageError::NotFound(name.to_owned()))
    }

    /// Every image record.
    pub fn records(&self) -> Result<Vec<ImageRecord>, ImageError> {
        Ok(self.index.read()?.images.into_values().collect())
    }

    /// The image's OCI config (verified against its id).
    pub fn config(&self, id: &Digest) -> Result<ImageConfiguration, ImageError> {
        let bytes = self.blobs.read_verified(id)?;
        serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
            what: format!("config {id}"),
            source,
        })
    }

    /// The image's OCI manifest (verified).
    pub fn manifest(&self, rec: &ImageRecord) -> Result<ImageManifest, ImageError> {
        let bytes = self.blobs.read_verified(&rec.manifest)?;
        serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
            what: format!("manifest {}", rec.manifest),
            source,
        })
    }

    /// `berth images`: one row per tag, one `<none>` row per untagged image, newest first.
    pub fn list(&self) -> Result<Vec<ImageSummary>, ImageError> {
        let state = self.index.read()?;
        let mut rows = Vec::new();
        for rec in state.images.values() {
            let tags = state.tags_of(&rec.id);
            let row = |repository: &str, tag: &str| ImageSummary {
                repository: repository.to_owned(),
                tag: tag.to_owned(),
                id: rec.id.clone(),
                created: rec.created.clone(),
                size: rec.size,
                digest: rec
                    .repo_digests
                    .iter()
                    .find_map(|d| d.strip_prefix(repository)?.strip_prefix('@'))
                    .map(str::to_owned),
            };
            let by_digest_only: Vec<(&str, &str)> = rec
                .repo_digests
                .iter()
                .filter_map(|d| d.split_once('@'))
                .collect();
            if tags.is_empty() && by_digest_only.is_empty() {
                rows.push(row("<none>", "<none>"));
            } else if tags.is_empty() {
                // Pulled by digest only: one row per repository, as `docker images` shows.
                for (repo, digest) in by_digest_only {
                    rows.push(ImageSummary {
                        digest: Some(digest.to_owned()),
                        ..row(repo, "<none>")
                    });
                }
            }
            rows.extend(tags.iter().map(|t| row(t.repository(), t.tag())));
        }
        rows.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then(a.repository.cmp(&b.repository))
                .then(a.tag.cmp(&b.tag))
        });
        Ok(rows)
    }

    /// `tag SOURCE TARGET`: points `target` at the image `source` names; emits `tag`.
    pub fn tag(&self, source: &str, target: &ImageRef) -> Result<Digest, ImageError> {
        let id = self.index.update(|s| {
            let id = s.resolve(source)?;
            s.tags.insert(target.to_string(), id.clone());
            Ok(id)
        })?;
        self.emit("tag", &id, Some(&target.to_string()));
        Ok(id)
    }

    /// Records that image `id` is `repo_digest` (`REPO@sha256:...`) in a registry, replacing
    /// an older digest of the same repository, and where its layers live there.
    pub fn record_registry_copy(
        &self,
        id: &Digest,
        repo_digest: &str,
        sources: &[(Digest, LayerSource)],
    ) -> Result<(), ImageError> {
        let repo = repo_digest.split('@').next().unwrap_or(repo_digest);
        self.index.update(|s| {
            let rec = s
                .images
                .get_mut(id)
                .ok_or_else(|| ImageError::NotFound(id.to_string()))?;
            rec.repo_digests
                .retain(|d| d.split('@').next() != Some(repo));
            rec.repo_digests.push(repo_digest.to_owned());
            for (diff_id, src) in sources {
                let list = s.layer_sources.entry(diff_id.clone()).or_default();
                list.retain(|x| !(x.registry == src.registry && x.digest == src.digest));
                list.insert(0, src.clone());
                list.truncate(8);
            }
            Ok(())
        })
    }

    /// Registry blobs known to hold the layer `diff_id`, most recent first.
    pub fn layer_sources(&self, diff_id: &Digest) -> Result<Vec<LayerSource>, ImageError> {
        Ok(self
            .index
            .read()?
            .layer_sources
            .get(diff_id)
            .cloned()
            .unwrap_or_default())
    }

    /// The store's directory (`<root>/images`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn read_state(&self) -> Result<IndexState, ImageError> {
        self.index.read()
    }
}

fn empty_config() -> Result<ImageConfiguration, ImageError> {
    let oci = |source| ImageError::Oci {
        what: "build image config",
        source,
    };
    ImageConfigurationBuilder::default()
        .architecture(Arch::default())
        .os(Os::default())
        .config(
            ConfigBuilder::default()
                .env(vec![
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
                ])
                .build()
                .map_err(oci)?,
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(Vec::<String>::new())
                .build()
                .map_err(oci)?,
        )
        .build()
        .map_err(oci)
}

/// The diff ids listed in a config, validated.
pub(crate) fn parse_diff_ids(config: &ImageConfiguration) -> Result<Vec<Digest>, ImageError> {
    config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| Digest::parse(d).map_err(ImageError::from))
        .collect()
}

fn build_manifest(
    config: &Digest,
    config_size: u64,
    layers: &[StoredLayer],
) -> Result<ImageManifest, ImageError> {
    let oci = |source| ImageError::Oci {
        what: "build image manifest",
        source,
    };
    let desc = |mt: MediaType, size: u64, d: &Digest| -> Result<_, ImageError> {
        let digest: oci_spec::image::Digest = d.as_str().parse().map_err(oci)?;
        DescriptorBuilder::default()
            .media_type(mt)
            .size(size)
            .digest(digest)
            .build()
            .map_err(oci)
    };
    let layers = layers
        .iter()
        .map(|l| desc(MediaType::ImageLayer, l.blob_size, &l.diff_id))
        .collect::<Result<Vec<_>, _>>()?;
    ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(desc(MediaType::ImageConfig, config_size, config)?)
        .layers(layers)
        .build()
        .map_err(oci)
}
