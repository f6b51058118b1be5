//! The result cache, in libcni's exact layout so podman, CRI runtimes and cnitool read ours and
//! the other way round: `<cache dir>/results/<network>-<container id>-<ifname>`, a JSON object
//! of kind `cniCacheV1` (directory 0700, file 0600). Written after a successful ADD, removed
//! after DEL.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::base64;
use super::error::InvokeError;

/// The `kind` libcni writes.
pub const CACHE_KIND: &str = "cniCacheV1";

/// One cached attachment (libcni's `cachedInfo`). Field order is libcni's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedAttachment {
    /// Always [`CACHE_KIND`].
    pub kind: String,
    /// `CNI_CONTAINERID`.
    #[serde(rename = "containerId")]
    pub container_id: String,
    /// The config list's bytes, base64 in JSON (Go's `[]byte`).
    #[serde(with = "base64_bytes")]
    pub config: Vec<u8>,
    /// `CNI_IFNAME`.
    #[serde(rename = "ifName")]
    pub if_name: String,
    /// The list's name.
    #[serde(rename = "networkName")]
    pub network_name: String,
    /// `CNI_NETNS` at ADD time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub netns: String,
    /// `CNI_ARGS` as key/value pairs.
    #[serde(default, rename = "cniArgs", skip_serializing_if = "Vec::is_empty")]
    pub cni_args: Vec<[String; 2]>,
    /// The capability arguments passed at ADD (resent on DEL).
    #[serde(
        default,
        rename = "capabilityArgs",
        skip_serializing_if = "Map::is_empty"
    )]
    pub capability_args: Map<String, Value>,
    /// The final ADD result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

mod base64_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::base64::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        super::base64::decode(&s).map_err(serde::de::Error::custom)
    }
}

/// The cache file of one attachment.
pub fn cache_path(cache_dir: &Path, network: &str, container: &str, ifname: &str) -> PathBuf {
    cache_dir
        .join("results")
        .join(format!("{network}-{container}-{ifname}"))
}

/// Reads an attachment's cache file; `None` when there is none. An unreadable file is removed
/// (as libcni does) and reported as absent.
pub fn read(path: &Path) -> Result<Option<CachedAttachment>, InvokeError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(InvokeError::Io {
                op: "read cached result",
                path: path.to_owned(),
                source,
            });
        }
    };
    match serde_json::from_slice::<CachedAttachment>(&bytes) {
        Ok(c) if c.kind == CACHE_KIND => Ok(Some(c)),
        _ => {
            tracing::warn!(path = %path.display(), "removing unreadable cached result");
            let _ = fs::remove_file(path);
            Ok(None)
        }
    }
}

/// Writes an attachment's cache file atomically (temp file + rename), 0600 in a 0700 dir.
pub fn write(path: &Path, entry: &CachedAttachment) -> Result<(), InvokeError> {
    let io = |op, source| InvokeError::Io {
        op,
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io("create cache dir for", e))?;
    let bytes = serde_json::to_vec(entry).map_err(|source| InvokeError::Decode {
        what: "cached result",
        source,
    })?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io("write cached result", e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_data())
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io("write cached result", e)
        })
}

/// Removes an attachment's cache file; succeeds when it is already gone.
pub fn remove(path: &Path) -> Result<(), InvokeError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(InvokeError::Io {
            op: "remove cached result",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Every readable cached attachment, optionally only those of `network` (libcni's
/// `GetCachedAttachments`), sorted by file name.
pub fn list(cache_dir: &Path, network: Option<&str>) -> Result<Vec<CachedAttachment>, InvokeError> {
    let dir = cache_dir.join("results");
    let entries = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(InvokeError::Io {
                op: "list cached results in",
                path: dir,
                source,
            });
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .filter(|n| network.is_none_or(|net| n.starts_with(&format!("{net}-"))))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        if let Some(c) = read(&dir.join(&name))? {
            if network.is_none_or(|net| c.network_name == net) {
                out.push(c);
            }
        }
    }
    Ok(out)
}
