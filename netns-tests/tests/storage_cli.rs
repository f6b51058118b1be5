//! Root tests of the image/volume/df commands (the `berth` binary, later `berth`)
//! with the overlay driver: ownership and device nodes survive `import` and `save`/`load`,
//! a CLI-imported image mounts and runs, `rmi` is refused while a container uses the image,
//! and `system df` counts what a container wrote. Images are built from /bin/busybox.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use berth_engine::storage::{DriverKind, RwLayerId};
use berth_engine::store::Store;

/// Builds the binary once (cargo does not build another package's binaries for tests).
fn berth_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "berth-cli", "--bin", "berth"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building berth failed");
        // target/<profile>/deps/this-test -> target/<profile>/berth
        let exe = std::env::current_exe().unwrap();
        let bin = exe.parent().unwrap().parent().unwrap().join("berth");
        assert!(bin.is_file(), "{} not built", bin.display());
        bin
    })
}

fn berth(root: &Path, args: &[&str]) -> Output {
    Command::new(berth_bin())
        .arg("--root")
        .arg(root)
        .args(["--storage-driver", "overlay"])
        .args(args)
        .output()
        .unwrap()
}

fn ok(root: &Path, args: &[&str]) -> String {
    let o = berth(root, args);
    assert!(
        o.status.success(),
        "berth {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn header(kind: tar::EntryType, size: usize, mode: u32, uid: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size as u64);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_mtime(1_700_000_000);
    h
}

/// busybox, `sh`, a file owned by 1234 with mode 0640, a setuid file and /dev/null.
fn rootfs() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let bb = fs::read("/bin/busybox").expect("busybox-static is installed");
    let mut h = header(tar::EntryType::Regular, bb.len(), 0o755, 0);
    b.append_data(&mut h, "bin/busybox", &bb[..]).unwrap();
    let mut h = header(tar::EntryType::Symlink, 0, 0o777, 0);
    b.append_link(&mut h, "bin/sh", "busybox").unwrap();
    let mut h = header(tar::EntryType::Regular, 5, 0o640, 1234);
    b.append_data(&mut h, "data/seed", &b"seed\n"[..]).unwrap();
    let mut h = header(tar::EntryType::Regular, 2, 0o4755, 0);
    b.append_data(&mut h, "bin/suid", &b"#!"[..]).unwrap();
    let mut h = header(tar::EntryType::Char, 0, 0o666, 0);
    h.set_device_major(1).unwrap();
    h.set_device_minor(3).unwrap();
    b.append_data(&mut h, "dev/null", &b""[..]).unwrap();
    b.into_inner().unwrap()
}

/// The unpacked layer of a one-layer image: `<root>/storage/overlay/<chain>/diff`.
fn layer_diff(root: &Path, image: &str) -> PathBuf {
    let store = Store::open(root, DriverKind::Overlay).unwrap();
    let rec = store.images().record(image).unwrap();
    root.join("storage/overlay")
        .join(rec.layers[0].hex())
        .join("diff")
}

fn assert_metadata_kept(diff: &Path) {
    let seed = fs::metadata(diff.join("data/seed")).unwrap();
    assert_eq!(
        (seed.uid(), seed.gid(), seed.mode() & 0o7777),
        (1234, 1234, 0o640)
    );
    assert_eq!(
        fs::metadata(diff.join("bin/suid")).unwrap().mode() & 0o7777,
        0o4755
    );
    let null = fs::symlink_metadata(diff.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), nix::sys::stat::makedev(1, 3));
    assert_eq!(seed.mtime(), 1_700_000_000);
}

/// Unmounts and removes the container root on drop, also when the test fails.
struct Container {
    store: Store,
    id: RwLayerId,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.store.remove_container_root(&self.id);
    }
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn overlay_import_save_load_keeps_metadata_and_runs() {
    assert!(nix::unistd::geteuid().is_root(), "needs root");
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    fs::create_dir(&a).unwrap();
    let tar = t.path().join("rootfs.tar");
    fs::write(&tar, rootfs()).unwrap();
    let id = ok(&a, &["import", tar.to_str().unwrap(), "bb"]);
    assert_metadata_kept(&layer_diff(&a, "bb"));

    let archive = t.path().join("bb.tar");
    ok(&a, &["save", "-o", archive.to_str().unwrap(), "bb"]);
    let b = t.path().join("b");
    ok(&b, &["load", "-i", archive.to_str().unwrap()]);
    assert_eq!(ok(&b, &["images", "-q", "--no-trunc"]), id);
    assert_metadata_kept(&layer_diff(&b, "bb"));

    let c = Container {
        store: Store::open(&b, DriverKind::Overlay).unwrap(),
        id: RwLayerId::new("c1").unwrap(),
    };
    c.store.create_container_root(&c.id, "bb").unwrap();
    let merged = c.store.mount_container_root(&c.id).unwrap();
    let out = Command::new("chroot")
        .arg(&merged)
        .args(["/bin/sh", "-c", "/bin/busybox cat /data/seed"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "seed\n");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn overlay_rmi_refused_while_used_and_df_counts_the_container_layer() {
    assert!(nix::unistd::geteuid().is_root(), "needs root");
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let tar = t.path().join("rootfs.tar");
    fs::write(&tar, rootfs()).unwrap();
    let id = ok(&root, &["import", tar.to_str().unwrap(), "bb"]);
    let c = Container {
        store: Store::open(&root, DriverKind::Overlay).unwrap(),
        id: RwLayerId::new("c1").unwrap(),
    };
    c.store.create_container_root(&c.id, "bb").unwrap();
    let merged = c.store.mount_container_root(&c.id).unwrap();
    fs::write(merged.join("written"), vec![0u8; 5000]).unwrap();
    fs::create_dir_all(root.join("containers/c1")).unwrap();
    fs::write(
        root.join("containers/c1/config.json"),
        format!(
            r#"{{"Image": "{}", "State": {{"Running": true}}}}"#,
            id.trim()
        ),
    )
    .unwrap();

    let o = berth(&root, &["rmi", "bb"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is using its referenced image"));

    let df = ok(&root, &["system", "df", "--format", "json"]);
    let containers: serde_json::Value = df
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["Type"] == "Containers")
        .unwrap();
    assert_eq!(containers["SizeBytes"], 5000);
    assert_eq!(containers["Active"], "1");
    assert_eq!(containers["ReclaimableBytes"], 0);

    c.store.remove_container_root(&c.id).unwrap();
    fs::remove_dir_all(root.join("containers/c1")).unwrap();
    ok(&root, &["rmi", "bb"]);
    let overlay = root.join("storage/overlay");
    assert_eq!(
        fs::read_dir(overlay.join("l")).unwrap().count(),
        0,
        "short links left"
    );
    assert!(
        fs::read_dir(&overlay)
            .unwrap()
            .all(|e| e.unwrap().file_name().len() < 64),
        "layer dirs left"
    );
}
