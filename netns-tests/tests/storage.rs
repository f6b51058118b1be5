//! Root tests for images and storage: real overlay mounts, both drivers, commit, volume
//! copy-up. Each test builds its images from the static /bin/busybox in a temp root and
//! unmounts what it mounted, also when it fails.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_engine::digest::Digest;
use berth_engine::image::{ImageOptions, ImageRef};
use berth_engine::storage::{DriverKind, RwLayerId};
use berth_engine::store::Store;

/// A store in a temp dir; unmounts and removes its containers' roots on drop.
struct World {
    store: Store,
    containers: Vec<RwLayerId>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(driver: DriverKind) -> Self {
        assert!(
            nix::unistd::geteuid().is_root(),
            "storage root tests need root"
        );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), driver).unwrap();
        Self {
            store,
            containers: Vec::new(),
            _dir: dir,
        }
    }

    fn container(&mut self, name: &str, image: &str) -> (RwLayerId, PathBuf) {
        let id = RwLayerId::new(name).unwrap();
        self.store.create_container_root(&id, image).unwrap();
        self.containers.push(id.clone());
        let root = self.store.mount_container_root(&id).unwrap();
        (id, root)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = self.store.remove_container_root(c);
        }
    }
}

fn append_file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32, uid: u64) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_mtime(1_700_000_000);
    b.append_data(&mut h, path, data).unwrap();
}

fn append_marker(b: &mut tar::Builder<Vec<u8>>, path: &str) {
    append_file(b, path, b"", 0o644, 0);
}

/// A busybox rootfs: /bin/busybox, /bin/sh, /etc/os-release, /data/seed (owned by 1234).
fn busybox_rootfs() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let bb = fs::read("/bin/busybox").expect("busybox-static is installed");
    append_file(&mut b, "bin/busybox", &bb, 0o755, 0);
    let applets = ["sh", "cat", "ls", "rm", "mkdir"].map(String::from);
    berth_netns_tests::build::append_applets(&mut b, applets, 1_700_000_000);
    append_file(&mut b, "etc/os-release", b"NAME=busybox\n", 0o644, 0);
    append_file(&mut b, "data/seed", b"seed\n", 0o640, 1234);
    b.into_inner().unwrap()
}

fn import(w: &World, tar: &[u8], name: &str) -> Digest {
    let opts = ImageOptions {
        reference: Some(ImageRef::parse(name).unwrap()),
        ..Default::default()
    };
    w.store.import(tar, &opts).unwrap()
}

/// Runs `sh -c SCRIPT` chrooted into `root` with the image's own busybox.
fn run_in(root: &Path, script: &str) -> String {
    let out = Command::new("chroot")
        .arg(root)
        .args(["/bin/sh", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn copy_on_write_across_two_containers(driver: DriverKind) {
    let mut w = World::new(driver);
    let img = import(&w, &busybox_rootfs(), "busybox");
    let top = Digest::chain_ids(&w.store.images().record("busybox").unwrap().layers)
        .pop()
        .unwrap();
    let layer_dir = w.store.layers().driver().layer_dir(&top);
    let (c1, r1) = w.container("c1", "busybox");
    let (_c2, r2) = w.container("c2", "busybox");
    run_in(
        &r1,
        "echo changed > /etc/os-release; rm /data/seed; echo new > /new",
    );
    assert_eq!(run_in(&r1, "cat /etc/os-release"), "changed\n");
    assert!(!r1.join("data/seed").exists());
    assert_eq!(
        fs::read_to_string(r2.join("etc/os-release")).unwrap(),
        "NAME=busybox\n"
    );
    assert!(
        r2.join("data/seed").exists() && !r2.join("new").exists(),
        "c1's changes leaked into c2"
    );
    assert_eq!(
        fs::read_to_string(layer_dir.join("etc/os-release")).unwrap(),
        "NAME=busybox\n"
    );
    let size = w.store.container_size(&c1, &img).unwrap();
    assert_eq!(size.size, "changed\n".len() as u64 + "new\n".len() as u64);
    assert_eq!(
        fs::metadata(r2.join("data/seed")).unwrap().uid(),
        1234,
        "ownership lost"
    );
    w.store.remove_container_root(&c1).unwrap();
    assert!(!r1.exists(), "removing the container left its layer");
    assert_eq!(
        fs::read_to_string(r2.join("etc/os-release")).unwrap(),
        "NAME=busybox\n"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn overlay_copy_on_write_across_two_containers() {
    copy_on_write_across_two_containers(DriverKind::Overlay);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn vfs_copy_on_write_across_two_containers() {
    copy_on_write_across_two_containers(DriverKind::Vfs);
}

fn whiteouts_across_three_layers(driver: DriverKind) {
    let mut w = World::new(driver);
    let l1 = busybox_rootfs();
    let mut b = tar::Builder::new(Vec::new());
    append_file(&mut b, "d/old", b"old", 0o644, 0);
    append_file(&mut b, "d/sub/older", b"older", 0o644, 0);
    append_file(&mut b, "gone", b"g", 0o644, 0);
    let l1b = b.into_inner().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    append_marker(&mut b, ".wh.gone");
    append_marker(&mut b, "d/.wh..wh..opq");
    append_file(&mut b, "d/fresh", b"fresh", 0o644, 0);
    let l2 = b.into_inner().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    append_file(&mut b, "top", b"top", 0o644, 0);
    let l3 = b.into_inner().unwrap();
    // A four-layer image: busybox, then the three layers under test.
    let store = w.store.images();
    let mut layers = Vec::new();
    for t in [&l1, &l1b, &l2, &l3] {
        layers.push(store.put_layer(Box::new(&t[..]), None).unwrap());
    }
    let mut id = store
        .create_image(None, &layers[0], &ImageOptions::default())
        .unwrap();
    for (i, l) in layers.iter().enumerate().skip(1) {
        let reference = Some(ImageRef::parse(&format!("stack:{i}")).unwrap());
        id = store
            .create_image(
                Some(&id),
                l,
                &ImageOptions {
                    reference,
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let (_c, root) = w.container("c", "stack:3");
    assert!(
        !root.join("gone").exists(),
        "whiteout did not hide the file"
    );
    assert_eq!(
        run_in(&root, "ls /d"),
        "fresh\n",
        "opaque dir shows lower content"
    );
    assert_eq!(fs::read_to_string(root.join("top")).unwrap(), "top");
    let (_c2, mid) = w.container("c2", "stack:1");
    assert_eq!(run_in(&mid, "ls /d; cat /gone"), "old\nsub\ng");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn overlay_whiteouts_across_three_layers() {
    whiteouts_across_three_layers(DriverKind::Overlay);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn vfs_whiteouts_across_three_layers() {
    whiteouts_across_three_layers(DriverKind::Vfs);
}

fn commit_then_run_the_committed_image(driver: DriverKind) {
    let mut w = World::new(driver);
    let img = import(&w, &busybox_rootfs(), "busybox");
    let (c1, r1) = w.container("c1", "busybox");
    run_in(
        &r1,
        "rm /data/seed && echo hi > /data/new && rm /etc/os-release && mkdir -p /opt/app && echo v2 > /opt/app/v",
    );
    // Replace a directory wholesale: overlay marks the new one opaque.
    run_in(&r1, "rm -rf /etc && mkdir /etc && echo only > /etc/only");
    // An empty mount point as the runtime leaves one for /etc/hosts: left out of the commit.
    run_in(&r1, ": > /etc/hosts");
    let committed = w
        .store
        .commit(
            &c1,
            &img,
            &ImageOptions {
                reference: Some(ImageRef::parse("snap:1").unwrap()),
                comment: Some("snapshot".into()),
                ..Default::default()
            },
            &berth_engine::container::files::made_mount_points(),
        )
        .unwrap();
    assert_eq!(w.store.images().resolve("snap:1").unwrap(), committed);
    let (_c2, r2) = w.container("c2", "snap:1");
    assert_eq!(
        run_in(&r2, "ls /data; ls /etc; cat /opt/app/v"),
        "new\nonly\nv2\n"
    );
    // The original image is untouched.
    let (_c3, r3) = w.container("c3", "busybox");
    assert_eq!(run_in(&r3, "ls /data; ls /etc"), "seed\nos-release\n");
    // And the committed image survives save and load into a fresh store.
    let mut archive = Vec::new();
    w.store.images().save(&["snap:1"], &mut archive).unwrap();
    let mut w2 = World::new(driver);
    let loaded = w2.store.load(&archive[..]).unwrap();
    assert_eq!(loaded[0].id, committed);
    let (_c4, r4) = w2.container("c4", "snap:1");
    assert_eq!(run_in(&r4, "cat /data/new"), "hi\n");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn overlay_commit_then_run_the_committed_image() {
    commit_then_run_the_committed_image(DriverKind::Overlay);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn vfs_commit_then_run_the_committed_image() {
    commit_then_run_the_committed_image(DriverKind::Vfs);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn volume_copy_up_fills_a_named_volume_from_the_image_once() {
    let mut w = World::new(DriverKind::Overlay);
    import(&w, &busybox_rootfs(), "busybox");
    let (_c, root) = w.container("c", "busybox");
    let name = berth_engine::volume::VolumeName::new("data").unwrap();
    let vol = w
        .store
        .volumes()
        .create(Some(&name), Default::default())
        .unwrap();
    assert!(
        w.store
            .volumes()
            .copy_up("data", &root.join("data"))
            .unwrap()
    );
    let seed = vol.mountpoint.join("seed");
    assert_eq!(fs::read_to_string(&seed).unwrap(), "seed\n");
    let m = fs::metadata(&seed).unwrap();
    assert_eq!(
        (m.uid(), m.mode() & 0o777),
        (1234, 0o640),
        "copy-up lost ownership or mode"
    );
    assert!(
        !w.store
            .volumes()
            .copy_up("data", &root.join("data"))
            .unwrap()
    );
}
