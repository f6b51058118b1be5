//! `berth load`: `docker save` archives (`manifest.json`) and OCI image layout archives
//! (`oci-layout` + `index.json`). The archive is first staged (regular files only, every
//! `blobs/sha256/<hex>` file verified against its name while it is written), then each image's
//! config and layers are checked against each other and moved into the blob store.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;
use tempfile::TempDir;

use super::store::{StoredLayer, parse_diff_ids};
use super::{ImageError, ImageRef, ImageStore};
use crate::digest::{Digest, HashingWriter};

/// An image `load` added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// Its id.
    pub id: Digest,
    /// Tags it got from the archive.
    pub tags: Vec<ImageRef>,
}

/// The archive unpacked into a temp dir, with the digest of every regular file.
struct Staged {
    dir: TempDir,
    digests: HashMap<PathBuf, Digest>,
    symlinks: HashMap<PathBuf, PathBuf>,
}

/// One entry of a `docker save` `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

impl ImageStore {
    /// `berth load -i FILE`: loads every image in a `docker save` or OCI layout archive
    /// (plain, gzip or zstd) and returns them.
    pub fn load(&self, src: impl Read) -> Result<Vec<LoadedImage>, ImageError> {
        let (_, plain) =
            super::compress::decompressed(Box::new(src)).map_err(|source| ImageError::Read {
                what: "archive",
                source,
            })?;
        let staged = self.stage(plain)?;
        if staged.digests.contains_key(Path::new("manifest.json")) {
            self.load_docker(&staged)
        } else if staged.digests.contains_key(Path::new("index.json")) {
            self.load_oci(&staged)
        } else {
            Err(ImageError::archive(
                "neither manifest.json nor index.json found",
            ))
        }
    }

    fn stage(&self, src: Box<dyn Read + '_>) -> Result<Staged, ImageError> {
        let tmp = self.dir.join("tmp");
        let dir = tempfile::Builder::new()
            .prefix("load-")
            .tempdir_in(&tmp)
            .map_err(ImageError::io("create staging dir in", &tmp))?;
        let mut staged = Staged {
            dir,
            digests: HashMap::new(),
            symlinks: HashMap::new(),
        };
        let bad = |e: std::io::Error| ImageError::archive(format!("reading tar: {e}"));
        let mut ar = tar::Archive::new(BufReader::with_capacity(1 << 20, src));
        for entry in ar.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let rel = archive_path(&entry.path().map_err(bad)?)?;
            let kind = entry.header().entry_type();
            if kind.is_symlink() {
                let target = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned();
                staged.symlinks.insert(rel, target);
            } else if kind.is_file() {
                let digest = stage_file(&mut entry, &staged.dir.path().join(&rel))?;
                verify_blob_name(&rel, &digest)?;
                staged.digests.insert(rel, digest);
            }
        }
        Ok(staged)
    }

    fn load_docker(&self, st: &Staged) -> Result<Vec<LoadedImage>, ImageError> {
        let bytes = read_staged(st, "manifest.json")?;
        let manifests: Vec<DockerManifest> =
            serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
                what: "manifest.json".into(),
                source,
            })?;
        let mut out = Vec::new();
        for m in manifests {
            let config_bytes = read_staged(st, &m.config)?;
            let tags = m
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| ImageRef::parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            let layers: Vec<PathBuf> = m.layers.iter().map(PathBuf::from).collect();
            out.push(self.load_image(st, &config_bytes, &layers, tags)?);
        }
        Ok(out)
    }

    fn load_oci(&self, st: &Staged) -> Result<Vec<LoadedImage>, ImageError> {
        let index: ImageIndex =
            serde_json::from_slice(&read_staged(st, "index.json")?).map_err(|source| {
                ImageError::Json {
                    what: "index.json".into(),
                    source,
                }
            })?;
        let mut out = Vec::new();
        for desc in index.manifests() {
            let tags = oci_tags(desc);
            let manifest_desc = resolve_oci_manifest(st, desc)?;
            let manifest: ImageManifest = serde_json::from_slice(&read_blob(st, &manifest_desc)?)
                .map_err(|source| ImageError::Json {
                what: "oci manifest".into(),
                source,
            })?;
            let config_bytes = read_blob(st, manifest.config())?;
            let mut layers = Vec::new();
            for l in manifest.layers() {
                let mt = l.media_type().to_string();
                if !(mt.contains("layer") || mt.contains("rootfs.diff")) {
                    return Err(ImageError::UnsupportedMediaType(mt));
                }
                layers.push(blob_path(l)?);
            }
            out.push(self.load_image(st, &config_bytes, &layers, tags)?);
        }
        Ok(out)
    }

    /// Checks `layers` against the config's diff ids, moves them into the store and records
    /// the image.
    fn load_image(
        &self,
        st: &Staged,
        config_bytes: &[u8],
        layers: &[PathBuf],
        tags: Vec<ImageRef>,
    ) -> Result<LoadedImage, ImageError> {
        let config: ImageConfiguration =
            serde_json::from_slice(config_bytes).map_err(|source| ImageError::Json {
                what: "image config".into(),
                source,
            })?;
        let diff_ids = parse_diff_ids(&config)?;
        if diff_ids.len() != layers.len() {
            return Err(ImageError::archive(format!(
                "config lists {} layers, manifest {}",
                diff_ids.len(),
                layers.len()
            )));
        }
        let mut stored = Vec::new();
        for (path, diff_id) in layers.iter().zip(&diff_ids) {
            stored.push(self.adopt_layer(st, path, diff_id)?);
        }
        let id = self.register_new(config_bytes, &stored, tags.clone())?;
        Ok(LoadedImage { id, tags })
    }

    fn adopt_layer(
        &self,
        st: &Staged,
        path: &Path,
        diff_id: &Digest,
    ) -> Result<StoredLayer, ImageError> {
        let real = resolve_staged(st, path)?;
        let digest = st
            .digests
            .get(&real)
            .ok_or_else(|| ImageError::archive(format!("missing layer {}", path.display())))?;
        let full = st.dir.path().join(&real);
        if digest == diff_id {
            if !self.blobs.contains(diff_id) {
                self.blobs.adopt(&full, diff_id)?;
            }
            let blob_size = self.blobs.size(diff_id)?;
            let content_size = self.layer_content_size(diff_id, blob_size)?;
            return Ok(StoredLayer {
                diff_id: diff_id.clone(),
                blob_size,
                content_size,
            });
        }
        let f = File::open(&full).map_err(ImageError::io("open staged layer", &full))?;
        self.put_layer(
            Box::new(BufReader::with_capacity(1 << 20, f)),
            Some(diff_id),
        )
    }
}

/// A relative, `..`-free path inside the archive.
fn archive_path(p: &Path) -> Result<PathBuf, ImageError> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => {
                return Err(ImageError::archive(format!(
                    "unsafe path {} in archive",
                    p.display()
                )));
            }
        }
    }
    Ok(out)
}

fn stage_file(src: &mut dyn Read, dst: &Path) -> Result<Digest, ImageError> {
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(ImageError::io("create staging dir", parent))?;
    }
    let f = File::create(dst).map_err(ImageError::io("create staged file", dst))?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, f));
    std::io::copy(src, &mut w).map_err(|source| ImageError::Read {
        what: "archive entry",
        source,
    })?;
    let (digest, _, mut buf) = w.finish();
    buf.flush()
        .map_err(ImageError::io("write staged file", dst))?;
    Ok(digest)
}

/// A file named `blobs/sha256/<hex>` or `<hex>.json` must hash to that name.
fn verify_blob_name(rel: &Path, actual: &Digest) -> Result<(), ImageError> {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let stem = name.strip_suffix(".json").unwrap_or(name);
    let in_blobs = rel.parent().is_some_and(|p| p.ends_with("sha256"));
    let named = (in_blobs || name.ends_with(".json"))
        .then(|| Digest::parse(stem).ok())
        .flatten();
    if let Some(expected) = named.filter(|e| e != actual) {
        return Err(ImageError::DigestMismatch {
            what: rel.display().to_string(),
            expected,
            actual: actual.clone(),
        });
    }
    Ok(())
}

/// Follows symlinks among staged entries (old `docker save` links shared `layer.tar`s).
fn resolve_staged(st: &Staged, path: &Path) -> Result<PathBuf, ImageError> {
    let mut cur = archive_path(path)?;
    for _ in 0..8 {
        let Some(target) = st.symlinks.get(&cur) else {
            return Ok(cur);
        };
        let mut next = cur.parent().map(Path::to_path_buf).unwrap_or_default();
        for c in target.components() {
            match c {
                Component::Normal(n) => next.push(n),
                Component::ParentDir if next.pop() => {}
                Component::CurDir => {}
                _ => {
                    return Err(ImageError::archive(format!(
                        "unsafe link {}",
                        cur.display()
                    )));
                }
            }
        }
        cur = next;
    }
    Err(ImageError::archive(format!(
        "too many links at {}",
        path.display()
    )))
}

fn read_staged(st: &Staged, path: &str) -> Result<Vec<u8>, ImageError> {
    let real = resolve_staged(st, Path::new(path))?;
    if !st.digests.contains_key(&real) {
        return Err(ImageError::archive(format!("missing {path}")));
    }
    let full = st.dir.path().join(real);
    fs::read(&full).map_err(ImageError::io("read staged", full))
}

fn blob_path(desc: &Descriptor) -> Result<PathBuf, ImageError> {
    let d = Digest::parse(desc.digest().as_ref())?;
    Ok(Path::new("blobs/sha256").join(d.hex()))
}

/// Reads the blob a descriptor names; staging already verified it hashes to its name.
fn read_blob(st: &Staged, desc: &Descriptor) -> Result<Vec<u8>, ImageError> {
    let p = blob_path(desc)?;
    read_staged(st, &p.to_string_lossy())
}

/// An index entry is a manifest, or a nested index whose entry for this platform is.
fn resolve_oci_manifest(st: &Staged, desc: &Descriptor) -> Result<Descriptor, ImageError> {
    let mt = desc.media_type().to_string();
    if !mt.contains("index") && !mt.contains("manifest.list") {
        return Ok(desc.clone());
    }
    let nested: ImageIndex =
        serde_json::from_slice(&read_blob(st, desc)?).map_err(|source| ImageError::Json {
            what: "nested oci index".into(),
            source,
        })?;
    let arch = oci_spec::image::Arch::default();
    let pick = nested
        .manifests()
        .iter()
        .find(|m| {
            m.platform()
                .as_ref()
                .is_none_or(|p| *p.architecture() == arch)
        })
        .ok_or_else(|| ImageError::archive("no manifest for this platform in the archive"))?;
    Ok(pick.clone())
}

fn oci_tags(desc: &Descriptor) -> Vec<ImageRef> {
    let ann = desc.annotations().clone().unwrap_or_default();
    let full = ann
        .get("io.containerd.image.name")
        .or_else(|| ann.get("org.opencontainers.image.ref.name"));
    full.and_then(|n| {
        let n = n
            .strip_prefix("docker.io/library/")
            .or_else(|| n.strip_prefix("docker.io/"))
            .unwrap_or(n);
        n.contains(':').then(|| ImageRef::parse(n).ok()).flatten()
    })
    .into_iter()
    .collect()
}
