//! Image store tests: temp dirs, in-memory tarballs, no root.

use std::io::Write;

use super::*;
use crate::digest::Digest;
use crate::test_tar::TarBuilder;

fn store() -> (tempfile::TempDir, ImageStore) {
    let t = tempfile::tempdir().unwrap();
    let s = ImageStore::open(t.path()).unwrap();
    (t, s)
}

fn named(r: &str) -> ImageOptions {
    ImageOptions {
        reference: Some(ImageRef::parse(r).unwrap()),
        ..Default::default()
    }
}

fn rootfs() -> Vec<u8> {
    TarBuilder::new()
        .dir("bin")
        .file("bin/sh", &[7u8; 1000])
        .file("etc/hostname", b"box\n")
        .build()
}

fn never(_: &Digest) -> bool {
    false
}

#[test]
fn import_plain_gzip_and_zstd_give_the_same_layer() {
    let (_t, s) = store();
    let plain = rootfs();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let zs = zstd::stream::encode_all(&plain[..], 3).unwrap();
    let a = s.import(&plain[..], &named("a")).unwrap();
    let b = s.import(&gz[..], &named("b")).unwrap();
    let c = s.import(&zs[..], &named("c")).unwrap();
    let layers = |id: &Digest| s.record(id.as_str()).unwrap().layers;
    assert_eq!(layers(&a), vec![Digest::of_bytes(&plain)]);
    assert_eq!(layers(&a), layers(&b));
    assert_eq!(layers(&a), layers(&c));
    assert_eq!(s.record("a").unwrap().size, 1004);
}

#[test]
fn import_refuses_garbage_and_keeps_no_blob() {
    let (_t, s) = store();
    let err = s
        .import(
            &b"this is not a tarball at all, not even close........"[..],
            &named("x"),
        )
        .unwrap_err();
    assert!(matches!(err, ImageError::InvalidArchive { .. }), "{err}");
    let err = s.import(&b""[..], &named("x")).unwrap_err();
    assert!(matches!(err, ImageError::InvalidArchive { .. }), "{err}");
    assert!(s.blobs().list().unwrap().is_empty());
    assert!(s.list().unwrap().is_empty());
}

#[test]
fn list_tag_and_inspect() {
    let (_t, s) = store();
    let id = s.import(&rootfs()[..], &named("busybox")).unwrap();
    s.tag("busybox", &ImageRef::parse("mine/box:v1").unwrap())
        .unwrap();
    let rows = s.list().unwrap();
    let names: Vec<_> = rows
        .iter()
        .map(|r| format!("{}:{}", r.repository, r.tag))
        .collect();
    assert_eq!(names, ["busybox:latest", "mine/box:v1"]);
    assert!(rows.iter().all(|r| r.id == id && r.size == 1004));
    let short = &id.hex()[..8];
    let ins = s.inspect(short).unwrap();
    assert_eq!(ins.id, id);
    assert_eq!(ins.repo_tags, ["busybox:latest", "mine/box:v1"]);
    assert!(matches!(s.inspect("nope"), Err(ImageError::NotFound(_))));
}

#[test]
fn rmi_refuses_an_image_in_use_unless_forced() {
    let (_t, s) = store();
    let id = s.import(&rootfs()[..], &named("busybox")).unwrap();
    let used = |d: &Digest| *d == id;
    assert!(matches!(
        s.remove("busybox", false, &used),
        Err(ImageError::InUse { .. })
    ));
    assert_eq!(s.list().unwrap().len(), 1);
    let ev = s.remove("busybox", true, &used).unwrap();
    assert_eq!(ev, [RemoveEvent::Untagged("busybox:latest".into())]);
    assert!(
        s.record(id.as_str()).is_ok(),
        "forced rmi of a used image keeps the image"
    );
    let ev = s.remove(id.as_str(), false, &never).unwrap();
    assert_eq!(ev, [RemoveEvent::Deleted(id)]);
    assert!(
        s.blobs().list().unwrap().is_empty(),
        "blobs of a deleted image remain"
    );
}

#[test]
fn rmi_by_id_with_several_tags_needs_force_and_keeps_shared_layers() {
    let (_t, s) = store();
    let a = s.import(&rootfs()[..], &named("a")).unwrap();
    s.tag("a", &ImageRef::parse("a2").unwrap()).unwrap();
    let b = s.import(&rootfs()[..], &named("b")).unwrap();
    assert_ne!(a, b, "configs carry creation times");
    assert!(matches!(
        s.remove(a.as_str(), false, &never),
        Err(ImageError::MultipleTags { .. })
    ));
    s.remove(a.as_str(), true, &never).unwrap();
    let layer = &s.record("b").unwrap().layers[0];
    assert!(s.blobs().contains(layer), "layer shared with b was deleted");
}

#[test]
fn prune_removes_only_dangling_unused_images() {
    let (_t, s) = store();
    let keep = s.import(&rootfs()[..], &named("keep")).unwrap();
    let dangling = s.import(&rootfs()[..], &ImageOptions::default()).unwrap();
    let r = s.prune(false, &never).unwrap();
    assert_eq!(r.deleted, [dangling]);
    assert!(r.reclaimed > 0);
    assert!(s.record(keep.as_str()).is_ok());
    assert!(s.prune(true, &|d| *d == keep).unwrap().deleted.is_empty());
}

#[test]
fn save_then_load_gives_the_same_ids_and_tags() {
    let (_t, s) = store();
    let base = s.import(&rootfs()[..], &named("base:1")).unwrap();
    let layer2 = s
        .put_layer(
            Box::new(&TarBuilder::new().file("app", b"hello").build()[..]),
            None,
        )
        .unwrap();
    let top = s
        .create_image(Some(&base), &layer2, &named("app:2"))
        .unwrap();
    let mut archive = Vec::new();
    s.save(&["base:1", "app:2"], &mut archive).unwrap();

    let (_t2, other) = store();
    let loaded = other.load(&archive[..]).unwrap();
    let ids: Vec<_> = loaded.iter().map(|l| l.id.clone()).collect();
    assert_eq!(ids, [base.clone(), top.clone()]);
    assert_eq!(other.resolve("app:2").unwrap(), top);
    assert_eq!(
        other.record("app:2").unwrap().layers,
        s.record("app:2").unwrap().layers
    );
    assert_eq!(other.history("app:2").unwrap().len(), 2);
}

/// Rewrites one file of a tar archive.
fn tamper(archive: &[u8], victim: &dyn Fn(&str) -> bool, data: &[u8]) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    let mut ar = tar::Archive::new(archive);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut h = e.header().clone();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        if victim(&path) {
            body = data.to_vec();
            h.set_size(body.len() as u64);
            h.set_cksum();
        }
        out.append(&h, &body[..]).unwrap();
    }
    out.into_inner().unwrap()
}

#[test]
fn load_refuses_a_blob_whose_digest_does_not_match() {
    let (_t, s) = store();
    let id = s.import(&rootfs()[..], &named("x")).unwrap();
    let layer = s.record("x").unwrap().layers[0].clone();
    let mut archive = Vec::new();
    s.save(&["x"], &mut archive).unwrap();
    let evil = TarBuilder::new().file("bin/sh", b"evil").build();
    let bad = tamper(&archive, &|p| p.ends_with(layer.hex()), &evil);
    let (_t2, other) = store();
    let err = other.load(&bad[..]).unwrap_err();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
    assert!(other.list().unwrap().is_empty());
    assert!(other.blobs().list().unwrap().is_empty());
    let _ = id;
}

#[test]
fn load_refuses_a_docker_archive_whose_layer_does_not_match_the_config() {
    let (_t, s) = store();
    s.import(&rootfs()[..], &named("x")).unwrap();
    let rec = s.record("x").unwrap();
    let config = s.blobs().read_verified(&rec.id).unwrap();
    let evil = TarBuilder::new().file("bin/sh", b"evil").build();
    let manifest = format!(
        r#"[{{"Config":"{}.json","RepoTags":["x:latest"],"Layers":["l/layer.tar"]}}]"#,
        rec.id.hex()
    );
    let archive = TarBuilder::new()
        .file("manifest.json", manifest.as_bytes())
        .file(&format!("{}.json", rec.id.hex()), &config)
        .file("l/layer.tar", &evil)
        .build();
    let (_t2, other) = store();
    let err = other.load(&archive[..]).unwrap_err();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
    assert!(other.list().unwrap().is_empty());
}

#[test]
fn load_refuses_archives_with_traversal_or_no_manifest() {
    let (_t, s) = store();
    let trav = TarBuilder::new().file("../escape", b"x").build();
    assert!(matches!(
        s.load(&trav[..]),
        Err(ImageError::InvalidArchive { .. })
    ));
    let empty = TarBuilder::new().file("README", b"x").build();
    assert!(matches!(
        s.load(&empty[..]),
        Err(ImageError::InvalidArchive { .. })
    ));
}

#[test]
fn history_lists_newest_first_with_layer_sizes() {
    let (_t, s) = store();
    let base = s.import(&rootfs()[..], &named("base")).unwrap();
    let l = s
        .put_layer(
            Box::new(&TarBuilder::new().file("app", b"hello").build()[..]),
            None,
        )
        .unwrap();
    let opts = ImageOptions {
        comment: Some("add app".into()),
        ..named("app")
    };
    s.create_image(Some(&base), &l, &opts).unwrap();
    let h = s.history("app").unwrap();
    assert_eq!(h.iter().map(|e| e.size).collect::<Vec<_>>(), [5, 1004]);
    assert_eq!(h[0].comment, "add app");
}
