//! One layer download: the registry's byte stream is checked by oci-client against the
//! blob digest and by us against the manifest's size, passed over a bounded channel to a
//! blocking thread that decompresses it (gzip, zstd or plain, whatever the bytes are),
//! hashes the tar against the config's diff id and writes it to a temp file in the blob
//! store, renamed into place only when both checks passed. A flock per diff id makes two
//! pulls of the same layer share the work: the second waits and then finds the blob.
//! Transient failures (a dropped connection, a truncated or corrupted body, a 5xx) are
//! retried with backoff.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use nix::fcntl::{Flock, FlockArg};
use oci_client::manifest::OciDescriptor;
use tokio::sync::mpsc;

use super::client::Connection;
use super::progress::{Progress, ProgressEvent, short_id};
use super::{RegistryError, RemoteRef};
use crate::digest::{Digest, HashingWriter};
use crate::image::blob::BlobStore;
use crate::image::compress::decompressed;

/// Attempts per layer before a pull gives up.
const ATTEMPTS: u32 = 3;
/// How often "Downloading" progress is reported, in bytes.
const PROGRESS_STEP: u64 = 512 * 1024;
/// Layer media types berth can unpack (Docker's and OCI's, plain, gzip and zstd).
const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
];

/// What fetching a layer did.
pub(crate) enum Fetched {
    /// The layer's bytes came over the network.
    Downloaded {
        /// Compressed bytes received (the last attempt's).
        bytes: u64,
    },
    /// Another pull stored it while this one waited for the layer's lock.
    AlreadyThere,
}

/// One layer to fetch.
pub(crate) struct LayerJob<'a> {
    pub conn: &'a Connection,
    pub reference: &'a RemoteRef,
    pub desc: &'a OciDescriptor,
    pub diff_id: &'a Digest,
    pub blobs: &'a BlobStore,
    pub lock_dir: PathBuf,
    pub progress: &'a dyn Progress,
}

impl LayerJob<'_> {
    fn id(&self) -> String {
        short_id(&self.desc.digest)
    }

    /// A failure of this download that a retry may cure.
    fn fail(&self, message: impl ToString) -> RegistryError {
        RegistryError::Download {
            digest: self.desc.digest.clone(),
            message: message.to_string(),
            retry: true,
        }
    }

    /// A failure no retry cures (the manifest or config is wrong).
    fn refuse(&self, message: impl ToString) -> RegistryError {
        RegistryError::Download {
            digest: self.desc.digest.clone(),
            message: message.to_string(),
            retry: false,
        }
    }

    /// Fetches the layer into the blob store (under its diff id), retrying transient
    /// failures. Returns the layer's lock too: the pull holds it until the image is
    /// registered, so `image prune` never takes the blob for an orphan meanwhile.
    pub async fn fetch(&self) -> Result<(Fetched, Flock<File>), RegistryError> {
        if !LAYER_TYPES.contains(&self.desc.media_type.as_str()) {
            return Err(self.refuse(format!(
                "unsupported layer media type {:?}",
                self.desc.media_type
            )));
        }
        if self.desc.size < 0 {
            return Err(self.refuse("negative size in the manifest"));
        }
        let lock = self.lock().await?;
        if self.blobs.contains(self.diff_id) {
            return Ok((Fetched::AlreadyThere, lock));
        }
        // What a killed pull of this layer left (it held this lock while writing).
        self.blobs.remove_temp_files(self.diff_id.hex())?;
        let mut attempt = 1;
        loop {
            match self.fetch_once().await {
                Ok(bytes) => return Ok((Fetched::Downloaded { bytes }, lock)),
                Err(e) if attempt < ATTEMPTS && e.is_transient() => {
                    let seconds = u64::from(attempt);
                    tracing::warn!(layer = %self.desc.digest, error = %e, "retrying download");
                    self.progress.event(ProgressEvent::Retrying {
                        id: self.id(),
                        seconds,
                    });
                    tokio::time::sleep(Duration::from_secs(seconds)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes the layer's flock, waiting on a blocking thread for another pull to finish.
    async fn lock(&self) -> Result<Flock<File>, RegistryError> {
        let path = self.lock_dir.join(self.diff_id.hex());
        let dir = self.lock_dir.clone();
        let res = tokio::task::spawn_blocking(move || -> io::Result<Flock<File>> {
            std::fs::create_dir_all(&dir)?;
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, errno)| errno.into())
        })
        .await
        .map_err(|e| self.refuse(format!("lock task failed: {e}")))?;
        res.map_err(|source| RegistryError::Io {
            op: "lock a layer download",
            source,
        })
    }

    /// One attempt: returns the compressed bytes received.
    async fn fetch_once(&self) -> Result<u64, RegistryError> {
        let want = self.desc.size as u64;
        let sized = self
            .conn
            .client
            .pull_blob_stream(self.reference.oci(), self.desc)
            .await
            .map_err(|e| RegistryError::registry("pull blob", &self.desc.digest, e))?;
        if let Some(n) = sized.content_length.filter(|n| *n != want) {
            return Err(self.fail(format!(
                "the registry announced {n} bytes, the manifest says {want}"
            )));
        }
        let (tx, rx) = mpsc::channel::<Chunk>(64);
        let blobs = self.blobs.clone();
        let diff_id = self.diff_id.clone();
        let writer = tokio::task::spawn_blocking(move || store_layer(&blobs, rx, &diff_id));
        let received = self.forward(sized.stream, &tx, want).await;
        if received.is_ok() {
            // The writer may have stopped early (bad content); its error is reported below.
            let _ = tx.send(Chunk::End).await;
        }
        drop(tx);
        let written = writer
            .await
            .map_err(|e| self.refuse(format!("writer task failed: {e}")))?;
        let got = received?;
        written.map_err(|e| match e {
            StoreFail::Digest(actual) => self.refuse(format!(
                "uncompressed content hashes to {actual}, the image config says {}",
                self.diff_id
            )),
            // The whole stream arrived and passed its digest check: the content is bad.
            StoreFail::Read(e) => self.refuse(format!("unreadable layer: {e}")),
            StoreFail::Store(e) => RegistryError::Image(e),
        })?;
        self.progress
            .event(ProgressEvent::Downloaded { id: self.id() });
        Ok(got)
    }

    /// Passes the stream's chunks to the writer, counting them against the manifest size.
    /// If the writer stops early (bad content), the rest is still read, so the digest
    /// check tells corruption in transit (retried) from bad content (refused).
    async fn forward(
        &self,
        mut stream: impl futures_util::Stream<Item = io::Result<Bytes>> + Unpin,
        tx: &mpsc::Sender<Chunk>,
        want: u64,
    ) -> Result<u64, RegistryError> {
        let mut got = 0u64;
        let mut reported = 0u64;
        let mut writer_alive = true;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.fail(stream_error(&e)))?;
            got += chunk.len() as u64;
            if got > want {
                return Err(self.fail(format!("more than the {want} bytes the manifest says")));
            }
            if got - reported >= PROGRESS_STEP || got == want {
                reported = got;
                self.progress.event(ProgressEvent::Bytes {
                    id: self.id(),
                    current: got,
                    total: Some(want),
                });
            }
            if writer_alive && tx.send(Chunk::Data(chunk)).await.is_err() {
                writer_alive = false;
            }
        }
        if got != want {
            return Err(self.fail(format!(
                "truncated: {got} of {want} bytes, connection interrupted"
            )));
        }
        Ok(got)
    }
}

/// How a stream error reads: digest mismatches say so (they are retried as corruption).
fn stream_error(e: &io::Error) -> String {
    let text = super::error::chain(e);
    if text.contains("Digest") || text.contains("digest") {
        format!("corrupted: {text} (interrupted or altered in transit)")
    } else {
        format!("connection interrupted: {text}")
    }
}

/// What the network side sends the writer.
enum Chunk {
    Data(Bytes),
    /// The stream ended and passed its digest check.
    End,
}

/// Why storing a layer failed.
enum StoreFail {
    Digest(Digest),
    Read(io::Error),
    Store(crate::image::ImageError),
}

/// The blocking side: decompress, hash, write to a temp file, drain the stream to its
/// verified end, check the diff id, rename into place.
fn store_layer(
    blobs: &BlobStore,
    rx: mpsc::Receiver<Chunk>,
    diff_id: &Digest,
) -> Result<u64, StoreFail> {
    let mut src = ChannelReader {
        rx,
        buf: Bytes::new(),
        ended: false,
    };
    let tmp = blobs
        .temp_file_for(diff_id.hex())
        .map_err(StoreFail::Store)?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp));
    {
        let (_, mut plain) = decompressed(Box::new(&mut src)).map_err(StoreFail::Read)?;
        io::copy(&mut plain, &mut w).map_err(StoreFail::Read)?;
    }
    io::copy(&mut src, &mut io::sink()).map_err(StoreFail::Read)?;
    let (digest, size, buf) = w.finish();
    let tmp = buf
        .into_inner()
        .map_err(|e| StoreFail::Read(e.into_error()))?;
    if digest != *diff_id {
        return Err(StoreFail::Digest(digest));
    }
    blobs.persist(tmp, &digest).map_err(StoreFail::Store)?;
    Ok(size)
}

/// Reads the chunks of a channel; a channel closed before [`Chunk::End`] is an error.
struct ChannelReader {
    rx: mpsc::Receiver<Chunk>,
    buf: Bytes,
    ended: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Chunk::Data(b)) => self.buf = b,
                Some(Chunk::End) => self.ended = true,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "download interrupted",
                    ));
                }
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf.split_to(n));
        Ok(n)
    }
}
