//! `pull`: reference -> manifest (an index resolved to one platform) -> config -> the layers
//! the store lacks, downloaded a few at once ([`super::download`]) and unpacked in order as
//! soon as each one and those below it have landed, so unpacking overlaps the downloads.
//! The image is registered (and tagged) only when every layer is stored and unpacked; a
//! failed pull removes the blobs it stored that no image uses. Layers already present are
//! neither fetched nor unpacked.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::sync::mpsc;

use futures_util::StreamExt as _;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageIndex, OciImageManifest,
};
use oci_spec::image::ImageConfiguration;

use super::client::{Connection, RegistryOptions, connect};
use super::download::{Fetched, LayerJob};
use super::progress::{Progress, ProgressEvent, short_id};
use super::{Platform, RegistryError, RemoteRef};
use crate::digest::Digest;
use crate::image::{ImageRef, LayerSource, StoredLayer};
use crate::storage::{LayerCheck, LayerMeta};
use crate::store::Store;

/// Manifests and configs larger than this are refused (Docker's limits are similar).
const MAX_DOC: usize = 4 << 20;
/// Media types asked for when fetching a manifest.
const ACCEPT: &[&str] = &[
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to pick from a multi-platform index.
    pub platform: Platform,
    /// How to reach the registry.
    pub registry: RegistryOptions,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct PullReport {
    /// The local image id.
    pub id: Digest,
    /// The digest of the manifest (or index) the reference named in the registry.
    pub digest: String,
    /// The local tag set, if the reference had a tag.
    pub tag: Option<ImageRef>,
    /// Whether the image is new to the store.
    pub changed: bool,
    /// Layers that came over the network.
    pub layers_downloaded: usize,
    /// Layers that were already present.
    pub layers_present: usize,
    /// Compressed bytes received for layers.
    pub bytes_downloaded: u64,
}

/// The resolved image: its manifest, config and the layers' diff ids.
struct Plan {
    digest: String,
    manifest: OciImageManifest,
    config_bytes: Vec<u8>,
    diff_ids: Vec<Digest>,
}

/// `pull REF`: fetches the image into `store`, unpacks it and tags it.
pub fn pull(
    store: &Store,
    r: &RemoteRef,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> Result<PullReport, RegistryError> {
    let rt = super::runtime::new_runtime()?;
    let conn = rt.block_on(connect(&opts.registry, r.registry()))?;
    let plan = rt.block_on(resolve(&conn, r, &opts.platform))?;
    progress.event(ProgressEvent::Start {
        repository: r.repository().to_owned(),
        tag: r.tag().or(r.digest()).unwrap_or_default().to_owned(),
    });
    let tag = r.local_tag()?;
    let images = store.images();
    let id = Digest::of_bytes(&plan.config_bytes);
    let blobs = images.blobs();
    let missing: Vec<usize> = (0..plan.diff_ids.len())
        .filter(|i| !blobs.contains(&plan.diff_ids[*i]))
        .collect();
    for (i, l) in plan.manifest.layers.iter().enumerate() {
        let id = short_id(&l.digest);
        progress.event(if missing.contains(&i) {
            ProgressEvent::Waiting { id }
        } else {
            ProgressEvent::Exists {
                id,
                mounted_from: None,
            }
        });
    }
    // Up to date only when the tag (or, by digest, the store) already had this image.
    let known = match &tag {
        Some(t) => images.resolve(&t.to_string()).ok().as_ref() == Some(&id),
        None => images.record(id.as_str()).is_ok(),
    };
    let (done_tx, done_rx) = mpsc::channel::<usize>();
    let (fetched, unpacked) = std::thread::scope(|s| {
        let unpacker = s.spawn(|| unpack_in_order(store, &plan, &missing, done_rx, progress));
        let fetched = rt.block_on(fetch_layers(
            &conn, r, &plan, &missing, store, opts, progress, done_tx,
        ));
        let unpacked = unpacker
            .join()
            .unwrap_or_else(|_| Err(download_err("unpacking panicked")));
        (fetched, unpacked)
    });
    // `fetched.locks` are held until the image is registered (or the failed pull's blobs
    // are gone).
    let stack = match fetched.error.map_or(unpacked, Err) {
        Ok(stack) => stack,
        Err(e) => {
            if let Err(c) = images.remove_blobs_unless_referenced(&fetched.downloaded) {
                tracing::warn!(error = %c, "could not remove the blobs of a failed pull");
            }
            return Err(e);
        }
    };
    let layers: Vec<StoredLayer> = stack
        .iter()
        .map(|m| {
            Ok(StoredLayer {
                diff_id: m.diff_id.clone(),
                blob_size: blobs.size(&m.diff_id)?,
                content_size: m.content_size,
            })
        })
        .collect::<Result<_, crate::image::ImageError>>()?;
    let id = images.register_new(&plan.config_bytes, &layers, tag.iter().cloned().collect())?;
    let sources: Vec<(Digest, LayerSource)> = plan
        .manifest
        .layers
        .iter()
        .zip(&plan.diff_ids)
        .filter_map(|(l, d)| {
            let src = r.layer_source(&l.digest, &l.media_type, l.size as u64)?;
            Some((d.clone(), src))
        })
        .collect();
    images.record_registry_copy(&id, &r.repo_digest(&plan.digest), &sources)?;
    let name = tag
        .as_ref()
        .map_or_else(|| r.to_string(), ToString::to_string);
    images.emit("pull", &id, Some(&name));
    let changed = !known || !fetched.downloaded.is_empty();
    progress.event(ProgressEvent::Finished {
        digest: plan.digest.clone(),
        changed,
        size: 0,
    });
    Ok(PullReport {
        id,
        digest: plan.digest,
        tag,
        changed,
        layers_downloaded: fetched.downloaded.len(),
        layers_present: plan.diff_ids.len() - missing.len(),
        bytes_downloaded: fetched.bytes,
    })
}

fn download_err(message: &str) -> RegistryError {
    RegistryError::Download {
        digest: String::new(),
        message: message.to_owned(),
        retry: false,
    }
}

/// What [`fetch_layers`] did, also when it failed.
struct Fetch {
    /// Compressed bytes received.
    bytes: u64,
    /// Layers this pull stored (not those another pull stored meanwhile).
    downloaded: Vec<Digest>,
    /// The flocks of the layers fetched, held until the pull ends.
    locks: Vec<nix::fcntl::Flock<File>>,
    /// The failure that stopped it.
    error: Option<RegistryError>,
}

/// Downloads the `missing` layers, `opts.registry.downloads` at once, telling the unpacker
/// each one that lands; stops at the first failure.
#[allow(clippy::too_many_arguments)]
async fn fetch_layers(
    conn: &Connection,
    r: &RemoteRef,
    plan: &Plan,
    missing: &[usize],
    store: &Store,
    opts: &PullOptions,
    progress: &dyn Progress,
    done: mpsc::Sender<usize>,
) -> Fetch {
    let lock_dir = store.images().dir().join("locks");
    let jobs = missing.iter().map(|&i| {
        let job = LayerJob {
            conn,
            reference: r,
            desc: &plan.manifest.layers[i],
            diff_id: &plan.diff_ids[i],
            blobs: store.images().blobs(),
            lock_dir: lock_dir.clone(),
            progress,
        };
        async move { (i, job.fetch().await) }
    });
    let mut results =
        futures_util::stream::iter(jobs).buffer_unordered(opts.registry.downloads.max(1));
    let mut out = Fetch {
        bytes: 0,
        downloaded: Vec::new(),
        locks: Vec::new(),
        error: None,
    };
    while let Some((i, res)) = results.next().await {
        let (fetched, lock) = match res {
            Ok(x) => x,
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        };
        out.locks.push(lock);
        if let Fetched::Downloaded { bytes } = fetched {
            out.bytes += bytes;
            out.downloaded.push(plan.diff_ids[i].clone());
        }
        // The unpacker may have stopped on an error of its own; that error is reported.
        let _ = done.send(i);
    }
    out
}

/// Unpacks the image's layers base first, each as soon as it (and all below it) is in the
/// blob store. `missing` are the layers being downloaded; the others are present.
fn unpack_in_order(
    store: &Store,
    plan: &Plan,
    missing: &[usize],
    landed: mpsc::Receiver<usize>,
    progress: &dyn Progress,
) -> Result<Vec<LayerMeta>, RegistryError> {
    let n = plan.diff_ids.len();
    let pending: BTreeSet<usize> = missing.iter().copied().collect();
    let mut ready: Vec<bool> = (0..n).map(|i| !pending.contains(&i)).collect();
    let blobs = store.images().blobs();
    let mut open = |d: &Digest| -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(File::open(blobs.path(d))?))
    };
    let mut stack = Vec::new();
    let mut next = 0;
    while next < n {
        if !ready[next] {
            match landed.recv() {
                Ok(i) => ready[i] = true,
                Err(_) => return Err(download_err("the download stopped")),
            }
            continue;
        }
        let id = short_id(&plan.manifest.layers[next].digest);
        let fresh = pending.contains(&next);
        if fresh {
            progress.event(ProgressEvent::Extracting { id: id.clone() });
        }
        // Layers the download verified against their diff ids moments ago are not re-hashed.
        stack = store
            .layers()
            .ensure_layers_with(&plan.diff_ids[..=next], &mut open, LayerCheck::Ingested)
            .map_err(|e| RegistryError::Store(e.into()))?;
        if fresh {
            progress.event(ProgressEvent::Done { id });
        }
        next += 1;
    }
    Ok(stack)
}

/// Fetches the manifest (resolving an index to `platform`) and the config.
async fn resolve(
    conn: &Connection,
    r: &RemoteRef,
    platform: &Platform,
) -> Result<Plan, RegistryError> {
    let (bytes, digest) = fetch_manifest(conn, r).await?;
    let doc: serde_json::Value = parse_doc(r, &bytes)?;
    let (manifest, top) = if doc.get("manifests").is_some() {
        let index: OciImageIndex = serde_json::from_value(doc).map_err(|e| bad(r, e))?;
        let chosen = platform
            .pick(&index.manifests)
            .ok_or_else(|| RegistryError::NoPlatform {
                target: r.to_string(),
                platform: platform.to_string(),
            })?;
        let at = r.at_digest(&chosen);
        let (bytes, _) = fetch_manifest(conn, &at).await?;
        (parse_manifest(&at, &bytes)?, digest)
    } else {
        (parse_manifest(r, &bytes)?, digest)
    };
    let config_bytes = fetch_config(conn, r, &manifest.config).await?;
    let config: ImageConfiguration =
        serde_json::from_slice(&config_bytes).map_err(|e| bad(r, format!("config: {e}")))?;
    let diff_ids = crate::image::parse_diff_ids_of(&config)?;
    if diff_ids.len() != manifest.layers.len() {
        return Err(bad(
            r,
            format!(
                "the manifest lists {} layers, the config {} diff ids",
                manifest.layers.len(),
                diff_ids.len()
            ),
        ));
    }
    Ok(Plan {
        digest: top,
        manifest,
        config_bytes,
        diff_ids,
    })
}

fn bad(r: &RemoteRef, e: impl ToString) -> RegistryError {
    RegistryError::Manifest {
        target: r.to_string(),
        message: e.to_string(),
    }
}

fn parse_doc(r: &RemoteRef, bytes: &[u8]) -> Result<serde_json::Value, RegistryError> {
    if bytes.len() > MAX_DOC {
        return Err(bad(
            r,
            format!("manifest of {} bytes is too large", bytes.len()),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| bad(r, format!("malformed manifest: {e}")))
}

fn parse_manifest(r: &RemoteRef, bytes: &[u8]) -> Result<OciImageManifest, RegistryError> {
    let doc = parse_doc(r, bytes)?;
    if doc.get("schemaVersion").and_then(|v| v.as_u64()) != Some(2) {
        return Err(bad(r, "only schema 2 manifests are supported"));
    }
    serde_json::from_value(doc).map_err(|e| bad(r, format!("malformed manifest: {e}")))
}

/// The manifest bytes and their digest, checked against the reference's digest if it
/// pins one. Transient failures are retried.
async fn fetch_manifest(
    conn: &Connection,
    r: &RemoteRef,
) -> Result<(Vec<u8>, String), RegistryError> {
    let mut attempt = 1;
    let bytes = loop {
        match conn
            .client
            .pull_manifest_raw(r.oci(), &conn.auth, ACCEPT)
            .await
        {
            Ok((b, _)) => break b,
            Err(e) => {
                let e = RegistryError::registry("pull manifest", r, e);
                if attempt >= 3 || !e.is_transient() {
                    return Err(e);
                }
                tokio::time::sleep(std::time::Duration::from_secs(attempt)).await;
                attempt += 1;
            }
        }
    };
    let digest = Digest::of_bytes(&bytes).to_string();
    if let Some(want) = r.digest().filter(|d| *d != digest) {
        return Err(bad(
            r,
            format!("manifest content hashes to {digest}, the reference pins {want}"),
        ));
    }
    Ok((bytes.to_vec(), digest))
}

async fn fetch_config(
    conn: &Connection,
    r: &RemoteRef,
    desc: &OciDescriptor,
) -> Result<Vec<u8>, RegistryError> {
    if desc.size < 0 || desc.size as usize > MAX_DOC {
        return Err(bad(r, format!("config of {} bytes refused", desc.size)));
    }
    let mut out = Vec::with_capacity(desc.size as usize);
    conn.client
        .pull_blob(r.oci(), desc, &mut out)
        .await
        .map_err(|e| RegistryError::registry("pull config", &desc.digest, e))?;
    if out.len() as i64 != desc.size {
        return Err(bad(r, "config size differs from the manifest"));
    }
    Ok(out)
}
