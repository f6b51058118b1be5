//! What `system df` reports, for `berth system df [-v]` and berthd's `GET /system/df`: per
//! image its size, the part of it shared with other images and how many containers use it;
//! per container the bytes in its writable layer; per volume its size and how many containers
//! mount it; and the totals of [`crate::size::system_df`] (each shared layer counted once).

use std::collections::HashMap;

use crate::container::refs::ContainerRef;
use crate::digest::Digest;
use crate::size::{ContainerUsage, SystemDf, VolumeUsage, system_df};
use crate::storage::{RwLayerId, StorageError};
use crate::store::{Store, StoreError};
use crate::volume::Volume;

/// One image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDiskUsage {
    /// The image id.
    pub id: Digest,
    /// Bytes in its layers.
    pub size: u64,
    /// Of `size`, bytes in layers other images have too.
    pub shared: u64,
    /// How many containers were created from it.
    pub containers: usize,
}

/// One container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDiskUsage {
    /// The container id.
    pub id: String,
    /// The image it was created from, if its record names one.
    pub image: Option<Digest>,
    /// Bytes in its writable layer (0 when it has none yet).
    pub rw_size: u64,
    /// Whether its record says it runs.
    pub running: bool,
}

/// One volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeDiskUsage {
    /// The volume.
    pub volume: Volume,
    /// Bytes of file content in it.
    pub size: u64,
    /// How many containers mount it.
    pub links: usize,
}

/// Everything `system df` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskUsage {
    /// The TYPE/TOTAL/ACTIVE/SIZE/RECLAIMABLE rows; `totals.images.size` is every layer once.
    pub totals: SystemDf,
    /// Every image, in the image store's order.
    pub images: Vec<ImageDiskUsage>,
    /// Every container of `refs`, in that order.
    pub containers: Vec<ContainerDiskUsage>,
    /// Every volume, by name.
    pub volumes: Vec<VolumeDiskUsage>,
}

impl DiskUsage {
    /// The image `id`, if the store has it.
    pub fn image(&self, id: &Digest) -> Option<&ImageDiskUsage> {
        self.images.iter().find(|i| i.id == *id)
    }

    /// The container `id`, if it was among the containers measured.
    pub fn container(&self, id: &str) -> Option<&ContainerDiskUsage> {
        self.containers.iter().find(|c| c.id == id)
    }
}

/// Bytes in the container's writable layer; 0 when it has none (yet).
fn rw_size(store: &Store, id: &str) -> Result<u64, StoreError> {
    let Ok(rw) = RwLayerId::new(id) else {
        return Ok(0);
    };
    match store.layers().driver().rw_size(&rw) {
        Ok(n) => Ok(n),
        Err(StorageError::ContainerNotFound(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Measures images, the containers `refs` lists ([`crate::container::refs::scan`]) and volumes.
pub fn disk_usage(store: &Store, refs: &[ContainerRef]) -> Result<DiskUsage, StoreError> {
    let usage = store.image_usage()?;
    let mut users: HashMap<&Digest, usize> = HashMap::new();
    for img in &usage {
        for (chain, _) in &img.layers {
            *users.entry(chain).or_default() += 1;
        }
    }
    let images = usage
        .iter()
        .map(|u| ImageDiskUsage {
            id: u.id.clone(),
            size: u.layers.iter().map(|(_, n)| n).sum(),
            shared: u
                .layers
                .iter()
                .filter(|(c, _)| users.get(c).copied().unwrap_or(0) > 1)
                .map(|(_, n)| n)
                .sum(),
            containers: refs
                .iter()
                .filter(|c| c.image.as_ref() == Some(&u.id))
                .count(),
        })
        .collect();
    let containers = refs
        .iter()
        .map(|c| {
            Ok(ContainerDiskUsage {
                id: c.id.clone(),
                image: c.image.clone(),
                rw_size: rw_size(store, &c.id)?,
                running: c.state.running,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut volumes = Vec::new();
    for v in store.volumes().list()? {
        let size = store.volumes().size(&v.name)?;
        let links = refs.iter().filter(|c| c.uses_volume(&v.name)).count();
        volumes.push(VolumeDiskUsage {
            volume: v,
            size,
            links,
        });
    }
    let container_usage: Vec<ContainerUsage> = containers
        .iter()
        .map(|c| ContainerUsage {
            // A container without an image id matches no image.
            image: c.image.clone().unwrap_or_else(|| Digest::of_bytes(b"")),
            rw_size: c.rw_size,
            running: c.running,
        })
        .collect();
    let volume_usage: Vec<VolumeUsage> = volumes
        .iter()
        .map(|v| VolumeUsage {
            size: v.size,
            in_use: v.links > 0,
        })
        .collect();
    Ok(DiskUsage {
        totals: system_df(&usage, &container_usage, &volume_usage),
        images,
        containers,
        volumes,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;

    use super::*;
    use crate::container::refs::MountPoint;
    use crate::image::{ImageOptions, ImageRef};
    use crate::storage::DriverKind;
    use crate::test_tar::TarBuilder;
    use crate::volume::VolumeName;

    fn opts(r: &str) -> ImageOptions {
        ImageOptions {
            reference: Some(ImageRef::parse(r).unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn counts_images_containers_and_volumes_with_their_users() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(t.path(), DriverKind::Vfs).unwrap();
        let tar = TarBuilder::new().file("f", &[0u8; 5000]).build();
        let img = s.import(&tar[..], &opts("img")).unwrap();
        let c = RwLayerId::new("c1").unwrap();
        s.create_container_root(&c, "img").unwrap();
        let root = s.mount_container_root(&c).unwrap();
        fs::write(root.join("w"), vec![1u8; 300]).unwrap();
        let v = s
            .volumes()
            .create(Some(&VolumeName::new("data").unwrap()), BTreeMap::new())
            .unwrap();
        fs::write(v.mountpoint.join("f"), vec![2u8; 40]).unwrap();
        s.volumes()
            .create(Some(&VolumeName::new("idle").unwrap()), BTreeMap::new())
            .unwrap();
        let refs = [
            ContainerRef {
                id: "c1".into(),
                image: Some(img.clone()),
                mount_points: BTreeMap::from([(
                    "/d".into(),
                    MountPoint {
                        name: "data".into(),
                    },
                )]),
                ..Default::default()
            },
            ContainerRef {
                id: "no-layer".into(),
                ..Default::default()
            },
        ];
        let du = disk_usage(&s, &refs).unwrap();
        let i = du.image(&img).unwrap();
        assert_eq!((i.size, i.shared, i.containers), (5000, 0, 1));
        assert_eq!(du.container("c1").unwrap().rw_size, 300);
        assert_eq!(du.container("no-layer").unwrap().rw_size, 0);
        let vols: Vec<(&str, u64, usize)> = du
            .volumes
            .iter()
            .map(|v| (v.volume.name.as_str(), v.size, v.links))
            .collect();
        assert_eq!(vols, [("data", 40, 1), ("idle", 0, 0)]);
        assert_eq!(du.totals.images.size, 5000);
        assert_eq!(du.totals.containers.size, 300);
        assert_eq!((du.totals.volumes.active, du.totals.volumes.size), (1, 40));
    }
}
