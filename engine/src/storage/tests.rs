//! Storage tests with temp dirs and in-memory tarballs; no root (overlay mounts are faked;
//! real mounts are tested in netns-tests/tests/storage.rs).

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::digest::Digest;
use crate::test_tar::TarBuilder;

fn extract(tar: &[u8], root: &Path, mode: WhiteoutMode) -> Result<ExtractSummary, StorageError> {
    extract_layer(&mut &tar[..], root, mode)
}

/// Extracts `tar` into `<tmp>/layer` next to an `outside` dir and checks it is refused and
/// nothing appeared outside the layer.
fn assert_refused(tar: Vec<u8>, setup: &dyn Fn(&Path)) {
    for mode in [WhiteoutMode::Apply, WhiteoutMode::Overlay] {
        let t = tempfile::tempdir().unwrap();
        let layer = t.path().join("a/b/layer");
        let outside = t.path().join("outside");
        fs::create_dir_all(&layer).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("passwd"), b"root").unwrap();
        setup(&layer);
        let err = extract(&tar, &layer, mode).unwrap_err();
        assert!(
            matches!(err, StorageError::UnsafeEntry { .. }),
            "{mode:?}: {err}"
        );
        let mut names: Vec<_> = walk(t.path())
            .into_iter()
            .filter(|p| !p.starts_with(&layer))
            .collect();
        names.sort();
        let expected = ["a", "a/b", "outside", "outside/passwd"].map(|p| t.path().join(p));
        assert_eq!(
            names, expected,
            "{mode:?}: something was written outside the layer"
        );
        assert_eq!(fs::read(outside.join("passwd")).unwrap(), b"root");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

#[test]
fn refuses_parent_dir_traversal() {
    assert_refused(
        TarBuilder::new()
            .file("ok", b"1")
            .file("../../../outside/evil", b"x")
            .build(),
        &|_| {},
    );
    assert_refused(
        TarBuilder::new()
            .file("x/../../../../outside/evil", b"x")
            .build(),
        &|_| {},
    );
}

#[test]
fn refuses_absolute_paths() {
    assert_refused(TarBuilder::new().file("/tmp/evil", b"x").build(), &|_| {});
}

#[test]
fn refuses_writing_through_a_symlink_that_leads_out() {
    let tar = TarBuilder::new()
        .symlink("esc", "../../../outside")
        .file("esc/evil", b"x")
        .build();
    assert_refused(tar, &|_| {});
    // The escaping symlink may also already be in the layer (a lower copy, vfs).
    let tar = TarBuilder::new().file("pre/evil", b"x").build();
    assert_refused(tar, &|layer| {
        std::os::unix::fs::symlink("../../../outside", layer.join("pre")).unwrap()
    });
    // A chain of links inside that ends outside.
    let tar = TarBuilder::new()
        .symlink("a", "b")
        .symlink("b", "c/../..")
        .file("a/evil", b"x")
        .build();
    assert_refused(tar, &|_| {});
}

#[test]
fn refuses_hard_links_out_of_the_layer() {
    assert_refused(
        TarBuilder::new()
            .hardlink("hl", "../../../outside/passwd")
            .build(),
        &|_| {},
    );
    assert_refused(
        TarBuilder::new().hardlink("hl", "/etc/passwd").build(),
        &|_| {},
    );
    let tar = TarBuilder::new()
        .symlink("s", "../../../outside")
        .hardlink("hl", "s/passwd")
        .build();
    assert_refused(tar, &|_| {});
}

#[test]
fn symlinks_that_stay_inside_are_followed_and_absolute_ones_resolve_in_the_layer() {
    let t = tempfile::tempdir().unwrap();
    let tar = TarBuilder::new()
        .dir("usr/lib")
        .symlink("lib", "usr/lib")
        .file("lib/libc.so", b"c")
        .symlink("etc", "/real/etc")
        .file("etc/hosts", b"h")
        .file("f", b"data")
        .hardlink("f2", "f")
        .build();
    extract(&tar, t.path(), WhiteoutMode::Apply).unwrap();
    assert_eq!(fs::read(t.path().join("usr/lib/libc.so")).unwrap(), b"c");
    assert_eq!(fs::read(t.path().join("real/etc/hosts")).unwrap(), b"h");
    assert_eq!(
        fs::metadata(t.path().join("f2")).unwrap().ino(),
        fs::metadata(t.path().join("f")).unwrap().ino()
    );
}

#[test]
fn keeps_modes_and_timestamps_and_refuses_garbage() {
    let t = tempfile::tempdir().unwrap();
    let tar = TarBuilder::new()
        .dir("d")
        .file_owned("d/suid", b"x", 0o4755, 0, 0)
        .build();
    let s = extract(&tar, t.path(), WhiteoutMode::Apply).unwrap();
    assert_eq!(s.content_size, 1);
    let m = fs::metadata(t.path().join("d/suid")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o4755);
    assert_eq!(m.mtime(), 1_600_000_000);
    assert_eq!(
        fs::metadata(t.path().join("d")).unwrap().mtime(),
        1_600_000_000,
        "dir mtime set after its children"
    );
    let mut garbage = vec![0x55u8; 1024];
    garbage[0] = b'x';
    assert!(matches!(
        extract(&garbage, t.path(), WhiteoutMode::Apply),
        Err(StorageError::Tar { .. })
    ));
}

fn vfs_store(root: &Path) -> LayerStore {
    LayerStore::open(root, DriverKind::Vfs).unwrap()
}

/// Layer tars by diff id, as the image store would serve them.
/// The second field records which layers were opened (twice per unpack: extract + hash).
struct Blobs(std::collections::HashMap<Digest, Vec<u8>>, Vec<Digest>);

impl Blobs {
    fn new(tars: &[Vec<u8>]) -> (Self, Vec<Digest>) {
        let ids: Vec<Digest> = tars.iter().map(|t| Digest::of_bytes(t)).collect();
        (
            Self(
                ids.iter().cloned().zip(tars.iter().cloned()).collect(),
                Vec::new(),
            ),
            ids,
        )
    }
    fn open(&mut self) -> impl FnMut(&Digest) -> std::io::Result<Box<dyn Read + Send>> + '_ {
        |d| {
            self.1.push(d.clone());
            Ok(Box::new(std::io::Cursor::new(self.0[d].clone())) as Box<dyn Read + Send>)
        }
    }
}

fn three_layers() -> Vec<Vec<u8>> {
    vec![
        TarBuilder::new()
            .file("a/keep", b"k")
            .file("a/gone", b"g")
            .file("d/old1", b"1")
            .file("d/sub/old2", b"2")
            .build(),
        TarBuilder::new()
            .file("a/.wh.gone", b"")
            .dir("d")
            .file("d/.wh..wh..opq", b"")
            .file("d/new", b"n")
            .build(),
        TarBuilder::new().file("top", b"t").build(),
    ]
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walk(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn whiteouts_across_three_layers_hide_deleted_files_and_opaque_dirs_vfs() {
    let t = tempfile::tempdir().unwrap();
    let store = vfs_store(t.path());
    let (mut blobs, ids) = Blobs::new(&three_layers());
    let stack = store.ensure_layers(&ids, &mut blobs.open()).unwrap();
    let top = store.driver().layer_dir(&stack[2].chain_id);
    assert_eq!(names(&top), ["a", "a/keep", "d", "d/new", "top"]);
    let mid = store.driver().layer_dir(&stack[1].chain_id);
    assert_eq!(names(&mid), ["a", "a/keep", "d", "d/new"]);
}

#[test]
fn whiteouts_in_overlay_mode_are_recorded_not_applied() {
    let t = tempfile::tempdir().unwrap();
    let tar = &three_layers()[1];
    let r = extract(tar, t.path(), WhiteoutMode::Overlay);
    if nix::unistd::geteuid().is_root() {
        r.unwrap();
        let m = fs::symlink_metadata(t.path().join("a/gone")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(&m.file_type()) && m.rdev() == 0);
        assert_eq!(
            xattr::get(t.path().join("d"), extract::OVERLAY_OPAQUE_XATTR)
                .unwrap()
                .as_deref(),
            Some(&b"y"[..])
        );
    } else {
        assert!(
            matches!(r, Err(StorageError::Io { .. })),
            "an unprivileged whiteout must fail loudly"
        );
    }
}

#[test]
fn layers_are_unpacked_once_and_shared_by_chain_id() {
    let t = tempfile::tempdir().unwrap();
    let store = vfs_store(t.path());
    let layers = three_layers();
    let other_top = TarBuilder::new().file("other", b"o").build();
    let (mut blobs, ids) = Blobs::new(&[
        layers[0].clone(),
        layers[1].clone(),
        layers[2].clone(),
        other_top,
    ]);
    store.ensure_layers(&ids[..3], &mut blobs.open()).unwrap();
    let opened: HashSet<Digest> = blobs.1.drain(..).collect();
    assert_eq!(opened, ids[..3].iter().cloned().collect());
    let s2 = store
        .ensure_layers(
            &[ids[0].clone(), ids[1].clone(), ids[3].clone()],
            &mut blobs.open(),
        )
        .unwrap();
    let opened: HashSet<Digest> = blobs.1.drain(..).collect();
    assert_eq!(
        opened,
        [ids[3].clone()].into(),
        "shared base layers were unpacked again"
    );
    assert_eq!(store.layers().unwrap().len(), 4);
    let keep: HashSet<Digest> = [s2[2].chain_id.clone()].into();
    let removed = store.remove_unused(&keep).unwrap();
    assert_eq!(
        removed.len(),
        1,
        "only the first image's top layer is unused"
    );
    assert!(store.driver().has_layer(&s2[0].chain_id));
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_is_refused_and_not_kept() {
    let t = tempfile::tempdir().unwrap();
    let store = vfs_store(t.path());
    let good = TarBuilder::new().file("f", b"good").build();
    let evil = TarBuilder::new().file("f", b"evil").build();
    let id = Digest::of_bytes(&good);
    let mut open =
        |_: &Digest| Ok(Box::new(std::io::Cursor::new(evil.clone())) as Box<dyn Read + Send>);
    let err = store
        .ensure_layers(std::slice::from_ref(&id), &mut open)
        .unwrap_err();
    assert!(matches!(err, StorageError::LayerDigest { .. }), "{err}");
    assert!(!store.driver().has_layer(&id));
    assert!(store.layers().unwrap().is_empty());
}

#[test]
fn vfs_container_is_copy_on_write_and_its_diff_rebuilds_it() {
    let t = tempfile::tempdir().unwrap();
    let store = vfs_store(t.path());
    let (mut blobs, ids) = Blobs::new(&three_layers());
    let stack = store.ensure_layers(&ids, &mut blobs.open()).unwrap();
    let top = stack[2].chain_id.clone();
    let (c1, c2) = (RwLayerId::new("c1").unwrap(), RwLayerId::new("c2").unwrap());
    store.create_rw(&c1, Some(&top)).unwrap();
    store.create_rw(&c2, Some(&top)).unwrap();
    let r1 = store.driver().mount(&c1).unwrap();
    fs::write(r1.join("a/keep"), b"changed").unwrap();
    fs::remove_dir_all(r1.join("d")).unwrap();
    fs::write(r1.join("added"), vec![9u8; 4096]).unwrap();
    let r2 = store.driver().mount(&c2).unwrap();
    assert_eq!(
        fs::read(r2.join("a/keep")).unwrap(),
        b"k",
        "c1's change leaked into c2"
    );
    assert_eq!(
        fs::read(store.driver().layer_dir(&top).join("a/keep")).unwrap(),
        b"k",
        "c1 changed the image"
    );
    assert_eq!(store.driver().rw_size(&c1).unwrap(), 4096 + 7);
    assert_eq!(store.driver().rw_size(&c2).unwrap(), 0);

    let mut diff = Vec::new();
    store.driver().diff(&c1, &mut diff, &[]).unwrap();
    let mut all = ids.clone();
    all.push(Digest::of_bytes(&diff));
    let mut blobs2 = blobs;
    blobs2.0.insert(all[3].clone(), diff);
    let stack = store.ensure_layers(&all, &mut blobs2.open()).unwrap();
    let committed = store.driver().layer_dir(&stack[3].chain_id);
    assert_eq!(names(&committed), names(&r1));
    assert_eq!(fs::read(committed.join("a/keep")).unwrap(), b"changed");
    store.driver().remove_rw(&c1).unwrap();
    assert!(!r1.exists());
}

#[test]
fn overlay_mount_options_use_short_links_and_fit_a_page_for_100_layers() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("storage/overlay");
    let mounter = Arc::new(FakeMounter::default());
    let driver = OverlayDriver::new(home.clone(), mounter.clone()).unwrap();
    let store = LayerStore::with_driver(&home, Box::new(driver)).unwrap();
    let tars: Vec<Vec<u8>> = (0..100)
        .map(|i| TarBuilder::new().file(&format!("f{i}"), b"x").build())
        .collect();
    let (mut blobs, ids) = Blobs::new(&tars);
    let stack = store.ensure_layers(&ids, &mut blobs.open()).unwrap();
    let c = RwLayerId::new("c").unwrap();
    store.create_rw(&c, Some(&stack[99].chain_id)).unwrap();
    let target = store.driver().mount(&c).unwrap();
    let calls = mounter.calls.lock().unwrap().clone();
    let [
        MountCall::Overlay {
            cwd,
            options,
            target: t2,
        },
    ] = &calls[..]
    else {
        panic!("{calls:?}")
    };
    assert_eq!((cwd, t2), (&home, &target));
    assert!(options.len() < 4096, "{} bytes", options.len());
    let lower = options
        .strip_prefix("lowerdir=")
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let links: Vec<&str> = lower.split(':').collect();
    assert_eq!(links.len(), 100);
    // Nearest layer first, each link resolving to that layer's diff dir.
    let first = fs::canonicalize(home.join(links[0])).unwrap();
    assert_eq!(
        first,
        fs::canonicalize(store.driver().layer_dir(&stack[99].chain_id)).unwrap()
    );
    let last = fs::canonicalize(home.join(links[99])).unwrap();
    assert_eq!(
        last,
        fs::canonicalize(store.driver().layer_dir(&stack[0].chain_id)).unwrap()
    );
    store.driver().remove_rw(&c).unwrap();
    assert_eq!(
        mounter.calls.lock().unwrap().last(),
        Some(&MountCall::Unmount(target))
    );
}

#[test]
fn creating_a_container_over_a_missing_layer_fails() {
    let t = tempfile::tempdir().unwrap();
    let store = vfs_store(t.path());
    let c = RwLayerId::new("c").unwrap();
    let err = store
        .create_rw(&c, Some(&Digest::of_bytes(b"nope")))
        .unwrap_err();
    assert!(matches!(err, StorageError::LayerNotFound(_)), "{err}");
    assert!(RwLayerId::new("../x").is_err());
}
