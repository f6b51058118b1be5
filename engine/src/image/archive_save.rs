//! `berth save`: writes images as one tar that is both a `docker save` archive
//! (`manifest.json`) and an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`),
//! as Docker 25+ does, so `docker load`, `podman load` and `berth load` all read it.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use oci_spec::image::{DescriptorBuilder, ImageIndexBuilder, MediaType};
use serde::Serialize;

use super::{ImageError, ImageRecord, ImageRef, ImageStore};
use crate::digest::Digest;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestOut {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

impl ImageStore {
    /// `save -o FILE NAME...`: names given as tags carry that tag; names given as ids
    /// carry none (as `docker save`). Emits `save` per image once the archive is written.
    pub fn save(&self, names: &[&str], out: impl Write) -> Result<(), ImageError> {
        let state = self.read_state()?;
        let mut images: Vec<(ImageRecord, Vec<String>)> = Vec::new();
        for name in names {
            let id = state.resolve(name)?;
            let rec = state
                .images
                .get(&id)
                .ok_or_else(|| ImageError::NotFound((*name).to_owned()))?;
            let tag = ImageRef::parse(name)
                .ok()
                .map(|r| r.to_string())
                .filter(|t| state.tags.get(t) == Some(&id));
            match images.iter_mut().find(|(r, _)| r.id == id) {
                Some((_, tags)) => tags.extend(tag),
                None => images.push((rec.clone(), tag.into_iter().collect())),
            }
        }
        let mut tar = tar::Builder::new(out);
        let mut written = BTreeSet::new();
        let mut docker = Vec::new();
        let mut index = Vec::new();
        for (rec, tags) in &images {
            for d in [&rec.id, &rec.manifest].into_iter().chain(&rec.layers) {
                if written.insert(d.clone()) {
                    self.append_blob(&mut tar, d)?;
                }
            }
            docker.push(DockerManifestOut {
                config: blob_name(&rec.id),
                repo_tags: tags.clone(),
                layers: rec.layers.iter().map(blob_name).collect(),
            });
            index.extend(self.index_entries(rec, tags)?);
        }
        let json = |what: &str, v: &dyn erased::Json| {
            v.to_json().map_err(|source| ImageError::Json {
                what: what.into(),
                source,
            })
        };
        append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let oci = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(index)
            .build()
            .map_err(|source| ImageError::Oci {
                what: "build index.json",
                source,
            })?;
        append_bytes(&mut tar, "index.json", &json("index.json", &oci)?)?;
        append_bytes(&mut tar, "manifest.json", &json("manifest.json", &docker)?)?;
        tar.into_inner()
            .and_then(|mut w| w.flush())
            .map_err(|source| ImageError::Write {
                what: "archive",
                source,
            })?;
        for (rec, _) in &images {
            self.emit("save", &rec.id, None);
        }
        Ok(())
    }

    fn append_blob<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        d: &Digest,
    ) -> Result<(), ImageError> {
        let f = self.blobs.open_blob(d)?;
        let size = self.blobs.size(d)?;
        let mut h = header(size);
        tar.append_data(
            &mut h,
            blob_name(d),
            std::io::BufReader::with_capacity(1 << 20, f),
        )
        .map_err(|source| ImageError::Write {
            what: "archive blob",
            source,
        })
    }

    fn index_entries(
        &self,
        rec: &ImageRecord,
        tags: &[String],
    ) -> Result<Vec<oci_spec::image::Descriptor>, ImageError> {
        let size = self.blobs.size(&rec.manifest)?;
        let digest: oci_spec::image::Digest =
            rec.manifest
                .as_str()
                .parse()
                .map_err(|source| ImageError::Oci {
                    what: "manifest digest",
                    source,
                })?;
        let names: Vec<Option<&String>> = if tags.is_empty() {
            vec![None]
        } else {
            tags.iter().map(Some).collect()
        };
        names
            .into_iter()
            .map(|tag| {
                let mut b = DescriptorBuilder::default()
                    .media_type(MediaType::ImageManifest)
                    .size(size)
                    .digest(digest.clone());
                if let Some(t) = tag {
                    let short = t.rsplit_once(':').map_or(t.as_str(), |(_, tag)| tag);
                    b = b.annotations(HashMap::from([
                        ("io.containerd.image.name".to_owned(), t.clone()),
                        (
                            "org.opencontainers.image.ref.name".to_owned(),
                            short.to_owned(),
                        ),
                    ]));
                }
                b.build().map_err(|source| ImageError::Oci {
                    what: "build index entry",
                    source,
                })
            })
            .collect()
    }
}

mod erased {
    /// Object-safe "serialize to JSON bytes".
    pub trait Json {
        fn to_json(&self) -> serde_json::Result<Vec<u8>>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> serde_json::Result<Vec<u8>> {
            serde_json::to_vec(self)
        }
    }
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> Result<(), ImageError> {
    let mut h = header(bytes.len() as u64);
    tar.append_data(&mut h, name, bytes)
        .map_err(|source| ImageError::Write {
            what: "archive",
            source,
        })
}
