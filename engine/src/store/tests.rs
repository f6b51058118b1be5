//! Facade tests over the vfs driver (no root): import, unpack, commit, sizes, rmi with GC.

use std::fs;

use super::*;
use crate::image::ImageRef;
use crate::test_tar::TarBuilder;

fn opts(r: &str) -> ImageOptions {
    ImageOptions {
        reference: Some(ImageRef::parse(r).unwrap()),
        ..Default::default()
    }
}

fn never(_: &Digest) -> Option<crate::image::ImageUser> {
    None
}

#[test]
fn commit_of_a_vfs_container_gives_an_image_with_its_changes_and_deletions() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path(), DriverKind::Vfs).unwrap();
    let tar = TarBuilder::new()
        .file("etc/os", b"base")
        .file("bin/tool", &[1u8; 300])
        .build();
    let base = s.import(&tar[..], &opts("base")).unwrap();
    let c = RwLayerId::new("c1").unwrap();
    assert_eq!(s.create_container_root(&c, "base").unwrap(), base);
    let root = s.mount_container_root(&c).unwrap();
    fs::write(root.join("etc/os"), b"changed!").unwrap();
    fs::remove_file(root.join("bin/tool")).unwrap();
    fs::write(root.join("new"), vec![5u8; 1000]).unwrap();

    let size = s.container_size(&c, &base).unwrap();
    assert_eq!(
        size,
        ContainerSize {
            size: 1008,
            virtual_size: 1008 + 304
        }
    );

    let committed = s.commit(&c, &base, &opts("snap"), &[]).unwrap();
    let c2 = RwLayerId::new("c2").unwrap();
    s.create_container_root(&c2, "snap").unwrap();
    let r2 = s.mount_container_root(&c2).unwrap();
    assert_eq!(fs::read(r2.join("etc/os")).unwrap(), b"changed!");
    assert!(!r2.join("bin/tool").exists(), "deletion was not committed");
    assert_eq!(fs::read(r2.join("new")).unwrap().len(), 1000);
    assert_eq!(s.images().record("snap").unwrap().layers.len(), 2);
    assert_eq!(
        s.images().history("snap").unwrap()[0].created_by,
        "berth commit c1"
    );

    // The image stays while c2 uses it; removing it after the container frees its layer.
    let used = |d: &Digest| {
        (*d == committed).then(|| crate::image::ImageUser {
            container: "c2".into(),
            running: false,
        })
    };
    assert!(s.remove_image("snap", false, &used).is_err());
    s.remove_container_root(&c2).unwrap();
    let before = s.layers().layers().unwrap().len();
    s.remove_image("snap", false, &never).unwrap();
    assert_eq!(s.layers().layers().unwrap().len(), before - 1);
}

#[test]
fn system_df_of_n_containers_is_image_plus_their_layers() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path(), DriverKind::Vfs).unwrap();
    let tar = TarBuilder::new().file("f", &[0u8; 5000]).build();
    let img = s.import(&tar[..], &opts("img")).unwrap();
    let mut usage = Vec::new();
    for (i, n) in [100usize, 200, 300].iter().enumerate() {
        let c = RwLayerId::new(&format!("c{i}")).unwrap();
        s.create_container_root(&c, "img").unwrap();
        let root = s.mount_container_root(&c).unwrap();
        fs::write(root.join("w"), vec![1u8; *n]).unwrap();
        usage.push(ContainerUsage {
            image: img.clone(),
            rw_size: s.container_size(&c, &img).unwrap().size,
            running: true,
        });
    }
    let df = s.system_df(&usage, &|_| false).unwrap();
    assert_eq!(df.images.size + df.containers.size, 5000 + 600);
    assert_eq!(df.images.reclaimable, 0);
}

#[test]
fn a_blob_corrupted_at_rest_is_refused_when_unpacked_later() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path(), DriverKind::Vfs).unwrap();
    let tar = TarBuilder::new().file("f", b"good").build();
    let id = s.import(&tar[..], &opts("img")).unwrap();
    let layer = s.images().record("img").unwrap().layers[0].clone();
    // Layers go (e.g. a driver switch or GC); the blob then rots on disk, same length.
    s.layers().remove_unused(&HashSet::new()).unwrap();
    let evil = TarBuilder::new().file("f", b"evil").build();
    assert_eq!(evil.len(), tar.len());
    fs::write(s.images().blobs().path(&layer), &evil).unwrap();
    let err = s.unpack(&id).unwrap_err();
    assert!(
        matches!(err, StoreError::Storage(StorageError::LayerDigest { .. })),
        "{err}"
    );
    assert!(s.layers().layers().unwrap().is_empty(), "nothing unpacked");
    let c = RwLayerId::new("c").unwrap();
    assert!(s.create_container_root(&c, "img").is_err());
}

#[test]
fn an_import_whose_layer_cannot_be_unpacked_leaves_no_image() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path(), DriverKind::Vfs).unwrap();
    let kept = s
        .import(
            &TarBuilder::new().file("a", b"a").build()[..],
            &opts("kept"),
        )
        .unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.as_gnu_mut().unwrap().name[..6].copy_from_slice(b"../out");
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    let evil = b.into_inner().unwrap();
    assert!(s.import(&evil[..], &opts("evil")).is_err());
    let ids: Vec<Digest> = s
        .images()
        .records()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [kept]);
    assert!(s.images().resolve("evil").is_err());
    assert_eq!(s.layers().layers().unwrap().len(), 1);
    assert_eq!(
        s.images().blobs().list().unwrap().len(),
        3,
        "config, manifest, layer"
    );
}

#[test]
fn commit_leaves_out_the_empty_mount_points_berth_made_and_nothing_else() {
    let t = tempfile::tempdir().unwrap();
    let s = Store::open(t.path(), DriverKind::Vfs).unwrap();
    let tar = TarBuilder::new().file("etc/os", b"base").build();
    let base = s.import(&tar[..], &opts("base")).unwrap();
    let c = RwLayerId::new("c1").unwrap();
    s.create_container_root(&c, "base").unwrap();
    let root = s.mount_container_root(&c).unwrap();
    // Mount points as the runtime leaves them (empty), one that is not empty, and an empty
    // file the container made itself.
    fs::write(root.join("etc/hosts"), b"").unwrap();
    fs::write(root.join("etc/hostname"), b"mine\n").unwrap();
    fs::write(root.join("etc/empty"), b"").unwrap();
    let skip = crate::container::files::made_mount_points();
    s.commit(&c, &base, &opts("snap"), &skip).unwrap();
    let c2 = RwLayerId::new("c2").unwrap();
    s.create_container_root(&c2, "snap").unwrap();
    let r2 = s.mount_container_root(&c2).unwrap();
    assert!(
        !r2.join("etc/hosts").exists(),
        "an empty mount point was committed"
    );
    assert_eq!(fs::read(r2.join("etc/hostname")).unwrap(), b"mine\n");
    assert!(r2.join("etc/empty").is_file());
}
