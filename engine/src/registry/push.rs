//! `push`: a local image to a registry, sending only what the registry lacks. For each
//! layer: a compressed copy this registry is known to hold (from an earlier pull or push)
//! is reused when a HEAD finds it in the target repository or a cross-repository mount
//! succeeds; else a HEAD for the layer as berth stores it (the uncompressed tar, OCI media
//! type `tar`), and only if that is missing too an upload, streamed from the blob file in
//! one monolithic PUT. Uploads run a few at once. The manifest is an OCI image manifest
//! that names what the registry now holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::StreamExt as _;
use oci_client::Reference;
use oci_client::manifest::OCI_IMAGE_MEDIA_TYPE;
use serde_json::json;

use super::client::{Connection, LayerCompression, RegistryOptions, connect};
use super::progress::{Progress, ProgressEvent, short_id};
use super::upload::file_stream;
use super::{RegistryError, RemoteRef};
use crate::digest::Digest;
use crate::image::LayerSource;
use crate::store::Store;

/// The media type of a layer uploaded as berth stores it.
const PLAIN_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// The media type of the config in the manifests berth pushes.
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// Attempts per blob before a push gives up.
const ATTEMPTS: u64 = 3;

/// What a push did.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// The manifest's digest in the registry.
    pub digest: String,
    /// The manifest's size in bytes.
    pub size: u64,
    /// Layers uploaded.
    pub layers_uploaded: usize,
    /// Layers the registry already had (or mounted).
    pub layers_reused: usize,
    /// Bytes of layer content uploaded.
    pub bytes_uploaded: u64,
}

/// A layer as the pushed manifest names it.
struct Pushed {
    media_type: String,
    digest: String,
    size: u64,
    /// Whether this push sent it (else the registry had it or mounted it).
    uploaded: bool,
}

/// `push NAME`: sends the local image `local` to `target`.
pub fn push(
    store: &Store,
    local: &str,
    target: &RemoteRef,
    opts: &RegistryOptions,
    progress: &dyn Progress,
) -> Result<PushReport, RegistryError> {
    let images = store.images();
    let rec = images.record(local)?;
    let config_bytes = images.blobs().read_verified(&rec.id)?;
    let rt = super::runtime::new_runtime()?;
    let conn = rt.block_on(connect(opts, target.registry()))?;
    progress.event(ProgressEvent::Start {
        repository: target.familiar_repository(),
        tag: target.tag().unwrap_or_default().to_owned(),
    });
    for d in &rec.layers {
        progress.event(ProgressEvent::Waiting {
            id: short_id(d.as_str()),
        });
    }
    let sources = rec
        .layers
        .iter()
        .map(|d| images.layer_sources(d))
        .collect::<Result<Vec<_>, _>>()?;
    let pushed = rt.block_on(async {
        let jobs =
            rec.layers.iter().zip(&sources).map(|(d, srcs)| {
                push_layer(&conn, target, store, d, srcs, opts.compression, progress)
            });
        let results: Vec<Result<Pushed, RegistryError>> = futures_util::stream::iter(jobs)
            .buffered(opts.uploads.max(1))
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<_>, _>>()
    })?;
    let config_size = config_bytes.len();
    rt.block_on(ensure_blob(
        &conn,
        target,
        &rec.id,
        Bytes::from(config_bytes),
    ))?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": rec.id.as_str(), "size": config_size},
        "layers": pushed.iter().map(|p| json!({
            "mediaType": p.media_type, "digest": p.digest, "size": p.size
        })).collect::<Vec<_>>(),
    });
    let body = serde_json::to_vec(&manifest).map_err(|e| RegistryError::Manifest {
        target: target.to_string(),
        message: e.to_string(),
    })?;
    let digest = Digest::of_bytes(&body).to_string();
    let size = body.len() as u64;
    let content_type = reqwest::header::HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE);
    rt.block_on(
        conn.client
            .push_manifest_raw(target.oci(), body, content_type),
    )
    .map_err(|e| RegistryError::registry("push manifest", target, e))?;
    let new_sources: Vec<(Digest, LayerSource)> = rec
        .layers
        .iter()
        .zip(&pushed)
        .filter_map(|(d, p)| {
            let src = target.layer_source(&p.digest, &p.media_type, p.size)?;
            Some((d.clone(), src))
        })
        .collect();
    images.record_registry_copy(&rec.id, &target.repo_digest(&digest), &new_sources)?;
    images.emit("push", &rec.id, Some(&target.to_string()));
    let uploaded: Vec<u64> = pushed
        .iter()
        .filter(|p| p.uploaded)
        .map(|p| p.size)
        .collect();
    progress.event(ProgressEvent::Finished {
        digest: digest.clone(),
        changed: !uploaded.is_empty(),
        size,
    });
    Ok(PushReport {
        digest,
        size,
        layers_uploaded: uploaded.len(),
        layers_reused: pushed.len() - uploaded.len(),
        bytes_uploaded: uploaded.iter().sum(),
    })
}

/// Makes one layer present in `target`: reused, mounted or uploaded.
async fn push_layer(
    conn: &Connection,
    target: &RemoteRef,
    store: &Store,
    diff_id: &Digest,
    sources: &[LayerSource],
    compression: LayerCompression,
    progress: &dyn Progress,
) -> Result<Pushed, RegistryError> {
    let id = short_id(diff_id.as_str());
    for src in sources.iter().filter(|s| s.registry == target.registry()) {
        let reuse = Pushed {
            media_type: oci_media_type(&src.media_type),
            digest: src.digest.to_string(),
            size: src.size,
            uploaded: false,
        };
        if exists(conn, target, src.digest.as_str()).await? {
            progress.event(ProgressEvent::Exists {
                id,
                mounted_from: None,
            });
            return Ok(reuse);
        }
        if src.repository != target.repository() {
            let from = Reference::with_digest(
                src.registry.clone(),
                src.repository.clone(),
                src.digest.to_string(),
            );
            if conn
                .client
                .mount_blob(target.oci(), &from, src.digest.as_str())
                .await
                .is_ok()
            {
                progress.event(ProgressEvent::Exists {
                    id,
                    mounted_from: Some(src.repository.clone()),
                });
                return Ok(reuse);
            }
        }
    }
    let blobs = store.images().blobs();
    let size = blobs.size(diff_id)?;
    let plain = Pushed {
        media_type: PLAIN_LAYER.to_owned(),
        digest: diff_id.to_string(),
        size,
        uploaded: false,
    };
    if exists(conn, target, diff_id.as_str()).await? {
        progress.event(ProgressEvent::Exists {
            id,
            mounted_from: None,
        });
        return Ok(plain);
    }
    let path = blobs.path(diff_id);
    let mut attempt = 1;
    let sent_as = loop {
        let sent = Arc::new(AtomicU64::new(0));
        let stream = file_stream(path.clone(), sent.clone(), compression);
        let res = if compression == LayerCompression::None {
            let upload =
                conn.client
                    .push_blob_stream(target.oci(), stream, diff_id.as_str(), Some(size));
            report_while(upload, &sent, &id, size, progress)
                .await
                .map(|_| (diff_id.to_string(), size))
        } else {
            // The compressed digest is known only at the end: a chunked upload hashes the
            // bytes as they go and names the digest when it closes.
            let upload = conn.client.push_blob_stream_chunked(target.oci(), stream);
            report_while(upload, &sent, &id, size, progress)
                .await
                .map(|r| (r.blob_digest, r.size))
        };
        match res.map_err(|e| RegistryError::registry("push blob", diff_id, e)) {
            Ok(x) => break x,
            Err(e) if attempt < ATTEMPTS && e.is_transient() => {
                progress.event(ProgressEvent::Retrying {
                    id: id.clone(),
                    seconds: attempt,
                });
                tokio::time::sleep(std::time::Duration::from_secs(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    progress.event(ProgressEvent::Done { id });
    Ok(Pushed {
        media_type: compression.media_type().to_owned(),
        digest: sent_as.0,
        size: sent_as.1,
        uploaded: true,
    })
}

/// Docker's layer media types named as their OCI equivalents (same bytes).
fn oci_media_type(t: &str) -> String {
    match t {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            "application/vnd.oci.image.layer.v1.tar+gzip".to_owned()
        }
        "application/vnd.docker.image.rootfs.diff.tar" => PLAIN_LAYER.to_owned(),
        other => other.to_owned(),
    }
}

async fn exists(
    conn: &Connection,
    target: &RemoteRef,
    digest: &str,
) -> Result<bool, RegistryError> {
    conn.client
        .store_auth_if_needed(target.oci().resolve_registry(), &conn.auth)
        .await;
    conn.client
        .blob_exists(target.oci(), digest)
        .await
        .map_err(|e| RegistryError::registry("check blob", digest, e))
}

/// Uploads a small blob (the config) unless the registry has it.
async fn ensure_blob(
    conn: &Connection,
    target: &RemoteRef,
    digest: &Digest,
    data: Bytes,
) -> Result<(), RegistryError> {
    if exists(conn, target, digest.as_str()).await? {
        return Ok(());
    }
    conn.client
        .push_blob(target.oci(), data, digest.as_str())
        .await
        .map_err(|e| RegistryError::registry("push blob", digest, e))?;
    Ok(())
}

/// Runs `upload`, reporting the bytes counted in `sent` every 100 ms until it is done.
async fn report_while<T>(
    upload: impl std::future::Future<Output = T>,
    sent: &AtomicU64,
    id: &str,
    total: u64,
    progress: &dyn Progress,
) -> T {
    let mut upload = std::pin::pin!(upload);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let mut last = u64::MAX;
    loop {
        tokio::select! {
            out = &mut upload => {
                progress.event(ProgressEvent::Bytes {
                    id: id.to_owned(),
                    current: sent.load(Ordering::Relaxed),
                    total: Some(total),
                });
                return out;
            }
            _ = tick.tick() => {
                let now = sent.load(Ordering::Relaxed);
                if now != last {
                    last = now;
                    progress.event(ProgressEvent::Bytes {
                        id: id.to_owned(),
                        current: now,
                        total: Some(total),
                    });
                }
            }
        }
    }
}
