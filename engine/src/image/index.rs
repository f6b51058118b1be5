//! The image index: which images exist (id -> manifest, layers) and which `repo:tag` names
//! point at them. One JSON file, replaced atomically, guarded by an flock on a side file so
//! several CLIs and the daemon can work at once.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::{ImageError, ImageRef};
use crate::digest::Digest;

/// What the index knows about one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image id: the digest of its config blob.
    pub id: Digest,
    /// The digest of its OCI manifest blob.
    pub manifest: Digest,
    /// Uncompressed layer digests (diff ids) from base to top; each is also a blob.
    pub layers: Vec<Digest>,
    /// Bytes of regular-file content in each layer, in the order of `layers`.
    pub layer_sizes: Vec<u64>,
    /// `created` from the config, RFC 3339.
    pub created: Option<String>,
    /// Bytes of regular-file content in all layers.
    pub size: u64,
    /// `REPO@sha256:...` of each registry manifest this image was pulled as or pushed to
    /// (inspect's `RepoDigests`, `images --digests`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repo_digests: Vec<String>,
}

/// Where a layer is known to exist in a registry in compressed form, so a push to that
/// registry can reuse it (HEAD, or a cross-repository mount) instead of uploading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSource {
    /// The registry, as written in references (`localhost:5000`).
    pub registry: String,
    /// The repository in it.
    pub repository: String,
    /// The blob's digest (of the compressed bytes).
    pub digest: Digest,
    /// The blob's media type.
    pub media_type: String,
    /// The blob's size.
    pub size: u64,
}

/// The whole index file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct IndexState {
    pub images: BTreeMap<Digest, ImageRecord>,
    /// `repo:tag` -> image id.
    pub tags: BTreeMap<String, Digest>,
    /// diff id -> registry blobs holding that layer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layer_sources: BTreeMap<Digest, Vec<LayerSource>>,
}

impl IndexState {
    /// Tags pointing at `id`, sorted.
    pub fn tags_of(&self, id: &Digest) -> Vec<ImageRef> {
        self.tags
            .iter()
            .filter(|(_, v)| *v == id)
            .filter_map(|(k, _)| ImageRef::parse(k).ok())
            .collect()
    }

    /// Resolves a tag, a full id or a unique id prefix (at least 4 hex digits).
    pub fn resolve(&self, name: &str) -> Result<Digest, ImageError> {
        let by_tag = ImageRef::parse(name)
            .ok()
            .and_then(|r| self.tags.get(&r.to_string()));
        if let Some(id) = by_tag {
            return Ok(id.clone());
        }
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut hits = self.images.keys().filter(|id| id.hex().starts_with(hex));
            return match (hits.next(), hits.next()) {
                (Some(id), None) => Ok(id.clone()),
                (Some(_), Some(_)) => Err(ImageError::Ambiguous(name.to_owned())),
                _ => Err(ImageError::NotFound(name.to_owned())),
            };
        }
        Err(ImageError::NotFound(name.to_owned()))
    }
}

/// Handle on `<root>/images/index.json`.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    path: PathBuf,
    lock: PathBuf,
}

impl Index {
    pub fn new(dir: &std::path::Path) -> Self {
        Self {
            path: dir.join("index.json"),
            lock: dir.join("index.lock"),
        }
    }

    /// Opens the lock file and takes an flock(2) on it (held until the guard drops).
    fn lock_file(&self, arg: FlockArg) -> Result<Flock<File>, ImageError> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(ImageError::io("open index lock", &self.lock))?;
        Flock::lock(f, arg).map_err(|(_, errno)| ImageError::Io {
            op: "lock index",
            path: self.lock.clone(),
            source: errno.into(),
        })
    }

    fn load(&self) -> Result<IndexState, ImageError> {
        match fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| ImageError::Json {
                what: self.path.display().to_string(),
                source,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(IndexState::default()),
            Err(e) => Err(ImageError::Io {
                op: "read index",
                path: self.path.clone(),
                source: e,
            }),
        }
    }

    /// A consistent snapshot, read under a shared lock.
    pub fn read(&self) -> Result<IndexState, ImageError> {
        let _lock = self.lock_file(FlockArg::LockShared)?;
        self.load()
    }

    /// Read-modify-write under an exclusive lock; `f`'s error leaves the file untouched.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut IndexState) -> Result<T, ImageError>,
    ) -> Result<T, ImageError> {
        let _lock = self.lock_file(FlockArg::LockExclusive)?;
        let mut state = self.load()?;
        let out = f(&mut state)?;
        let bytes = serde_json::to_vec_pretty(&state).map_err(|source| ImageError::Json {
            what: "image index".into(),
            source,
        })?;
        let tmp = self.path.with_extension("json.tmp");
        let mut file = File::create(&tmp).map_err(ImageError::io("write index", &tmp))?;
        file.write_all(&bytes)
            .map_err(ImageError::io("write index", &tmp))?;
        fs::rename(&tmp, &self.path).map_err(ImageError::io("replace index", &self.path))?;
        Ok(out)
    }
}
