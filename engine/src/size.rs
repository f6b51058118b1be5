//! Sizes as `berth ps --size` and `berth system df` show them. Sizes count bytes of
//! regular-file content (st_size), hard links once, as Docker's do.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use crate::digest::Digest;
use crate::storage::StorageError;

/// Bytes of regular-file content under `dir` (hard links counted once, not following symlinks).
pub fn dir_content_size(dir: &Path) -> Result<u64, StorageError> {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(StorageError::io("read dir", &d))? {
            let e = e.map_err(StorageError::io("read dir", &d))?;
            let m = fs::symlink_metadata(e.path()).map_err(StorageError::io("stat", e.path()))?;
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() && (m.nlink() == 1 || seen.insert((m.dev(), m.ino()))) {
                total += m.len();
            }
        }
    }
    Ok(total)
}

/// A container's `SIZE` column: its writable layer, and that plus its image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContainerSize {
    /// Bytes in the writable layer.
    pub size: u64,
    /// Image size plus `size`.
    pub virtual_size: u64,
}

/// What `system df` needs to know about an image.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    /// Image id.
    pub id: Digest,
    /// Its layers (chain ids) with their content sizes.
    pub layers: Vec<(Digest, u64)>,
}

/// What `system df` needs to know about a container.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    /// The image it runs.
    pub image: Digest,
    /// Bytes in its writable layer.
    pub rw_size: u64,
    /// Whether it is running (a stopped container's layer is reclaimable).
    pub running: bool,
}

/// What `system df` needs to know about a volume.
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    /// Bytes in it.
    pub size: u64,
    /// Whether a container mounts it.
    pub in_use: bool,
}

/// One row of `berth system df`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DfRow {
    /// How many.
    pub total: usize,
    /// How many are used (images by a container, containers running, volumes mounted).
    pub active: usize,
    /// Bytes, counting each shared layer once.
    pub size: u64,
    /// Of `size`, bytes in layers used by more than one image.
    pub shared: u64,
    /// Bytes that removing the unused ones would free.
    pub reclaimable: u64,
}

/// `berth system df`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SystemDf {
    /// Images.
    pub images: DfRow,
    /// Containers' writable layers.
    pub containers: DfRow,
    /// Local volumes.
    pub volumes: DfRow,
}

/// Computes `system df`: every layer once however many images share it; for N containers
/// of one image, the image size plus the sum of their writable layers.
pub fn system_df(
    images: &[ImageUsage],
    containers: &[ContainerUsage],
    volumes: &[VolumeUsage],
) -> SystemDf {
    let used: HashSet<&Digest> = containers.iter().map(|c| &c.image).collect();
    let mut users: HashMap<&Digest, (u64, usize, bool)> = HashMap::new();
    for img in images {
        let active = used.contains(&img.id);
        for (chain, size) in &img.layers {
            let e = users.entry(chain).or_insert((*size, 0, false));
            e.1 += 1;
            e.2 |= active;
        }
    }
    let images_row = DfRow {
        total: images.len(),
        active: images.iter().filter(|i| used.contains(&i.id)).count(),
        size: users.values().map(|(s, _, _)| s).sum(),
        shared: users
            .values()
            .filter(|(_, n, _)| *n > 1)
            .map(|(s, _, _)| s)
            .sum(),
        reclaimable: users
            .values()
            .filter(|(_, _, a)| !a)
            .map(|(s, _, _)| s)
            .sum(),
    };
    let containers_row = DfRow {
        total: containers.len(),
        active: containers.iter().filter(|c| c.running).count(),
        size: containers.iter().map(|c| c.rw_size).sum(),
        shared: 0,
        reclaimable: containers
            .iter()
            .filter(|c| !c.running)
            .map(|c| c.rw_size)
            .sum(),
    };
    let volumes_row = DfRow {
        total: volumes.len(),
        active: volumes.iter().filter(|v| v.in_use).count(),
        size: volumes.iter().map(|v| v.size).sum(),
        shared: 0,
        reclaimable: volumes.iter().filter(|v| !v.in_use).map(|v| v.size).sum(),
    };
    SystemDf {
        images: images_row,
        containers: containers_row,
        volumes: volumes_row,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_content_size_counts_files_once_and_ignores_symlinks() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("d")).unwrap();
        fs::write(t.path().join("d/a"), vec![1u8; 1000]).unwrap();
        fs::write(t.path().join("b"), vec![1u8; 234]).unwrap();
        fs::hard_link(t.path().join("b"), t.path().join("b2")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.path().join("s")).unwrap();
        assert_eq!(dir_content_size(t.path()).unwrap(), 1234);
    }

    #[test]
    fn system_df_counts_shared_layers_once() {
        let d = |s: &str| Digest::of_bytes(s.as_bytes());
        let base = (d("base"), 1000);
        let images = [
            ImageUsage {
                id: d("img1"),
                layers: vec![base.clone(), (d("l1"), 10)],
            },
            ImageUsage {
                id: d("img2"),
                layers: vec![base.clone(), (d("l2"), 20)],
            },
        ];
        let containers = [
            ContainerUsage {
                image: d("img1"),
                rw_size: 5,
                running: true,
            },
            ContainerUsage {
                image: d("img1"),
                rw_size: 7,
                running: false,
            },
        ];
        let vols = [VolumeUsage {
            size: 3,
            in_use: false,
        }];
        let df = system_df(&images, &containers, &vols);
        assert_eq!(
            df.images,
            DfRow {
                total: 2,
                active: 1,
                size: 1030,
                shared: 1000,
                reclaimable: 20
            }
        );
        assert_eq!(
            df.containers,
            DfRow {
                total: 2,
                active: 1,
                size: 12,
                shared: 0,
                reclaimable: 7
            }
        );
        assert_eq!(df.volumes.reclaimable, 3);
        // N containers of one image: image size plus their writable layers.
        assert_eq!(df.images.size - 20 + df.containers.size, 1010 + 12);
    }
}
