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

fn never(_: &Digest) -> Option<ImageUser> {
    None
}

/// A lookup saying `container` (running or not) uses `id`.
fn used_by(id: &Digest, running: bool) -> impl Fn(&Digest) -> Option<ImageUser> + '_ {
    move |d| {
        (d == id).then(|| ImageUser {
            container: "c0ffee0123456789".into(),
            running,
        })
    }
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
    let used = used_by(&id, false);
    let e = s.remove("busybox", false, &used).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: unable to remove repository reference \"busybox\" (must force) - container c0ffee012345 is using its referenced image {}",
            &id.hex()[..12]
        )
    );
    assert_eq!(s.list().unwrap().len(), 1);
    let ev = s.remove("busybox", true, &used).unwrap();
    assert_eq!(ev, [RemoveEvent::Untagged("busybox:latest".into())]);
    assert!(
        s.record(id.as_str()).is_ok(),
        "forced rmi of a used image keeps the image"
    );
    let ev = s.remove(id.as_str(), false, &never).unwrap();
    assert_eq!(ev, [RemoveEvent::Deleted(id.clone())]);
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
    let ev = s.remove(a.as_str(), true, &never).unwrap();
    assert_eq!(ev.len(), 3, "{ev:?}");
    let layer = &s.record("b").unwrap().layers[0];
    assert!(s.blobs().contains(layer), "layer shared with b was deleted");
}

#[test]
fn prune_removes_only_dangling_unused_images() {
    let (_t, s) = store();
    let keep = s.import(&rootfs()[..], &named("keep")).unwrap();
    let dangling = s.import(&rootfs()[..], &ImageOptions::default()).unwrap();
    let r = s.prune(&PruneFilter::default(), &never).unwrap();
    assert_eq!(r.deleted, [dangling]);
    assert!(r.reclaimed > 0);
    assert!(s.record(keep.as_str()).is_ok());
    let all = PruneFilter {
        dangling_only: false,
        ..Default::default()
    };
    assert!(
        s.prune(&all, &used_by(&keep, true))
            .unwrap()
            .deleted
            .is_empty()
    );
    let r = s.prune(&all, &never).unwrap();
    assert_eq!(
        r.removed,
        [
            RemoveEvent::Untagged("keep:latest".into()),
            RemoveEvent::Deleted(keep)
        ]
    );
}

#[test]
fn rmi_keeps_images_containers_use_as_dockerd() {
    let (_t, s) = store();
    let id = s.import(&rootfs()[..], &named("a")).unwrap();
    s.tag("a", &ImageRef::parse("b").unwrap()).unwrap();
    let running = used_by(&id, true);
    // One of two tags goes even while a container runs the image.
    let ev = s.remove("b", false, &running).unwrap();
    assert_eq!(ev, [RemoveEvent::Untagged("b:latest".into())]);
    // By id, a running container's image cannot be forced out.
    let e = s.remove(id.hex(), true, &running).unwrap_err().to_string();
    assert!(
        e.contains("(cannot be forced) - image is being used by running container c0ffee012345"),
        "{e}"
    );
    let stopped = used_by(&id, false);
    let e = s
        .remove(&id.hex()[..12], false, &stopped)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(must be forced) - image is being used by stopped container"),
        "{e}"
    );
    // Forced, the tags go but the image a container needs stays.
    let ev = s.remove(id.as_str(), true, &stopped).unwrap();
    assert_eq!(ev, [RemoveEvent::Untagged("a:latest".into())]);
    assert!(s.record(id.as_str()).is_ok());
}

#[test]
fn prune_filters_by_label_and_until() {
    let (_t, s) = store();
    let labelled = ImageOptions {
        config: Some(changes(&["LABEL keep=yes"])),
        ..Default::default()
    };
    let a = s.import(&rootfs()[..], &labelled).unwrap();
    let b = s.import(&rootfs()[..], &ImageOptions::default()).unwrap();
    let f = PruneFilter {
        not_labels: vec!["keep".into()],
        ..Default::default()
    };
    assert_eq!(s.prune(&f, &never).unwrap().deleted, [b]);
    let f = PruneFilter {
        until_nanos: Some(0),
        ..Default::default()
    };
    assert!(s.prune(&f, &never).unwrap().deleted.is_empty());
    let f = PruneFilter {
        labels: vec!["keep=yes".into()],
        ..Default::default()
    };
    assert_eq!(s.prune(&f, &never).unwrap().deleted, [a]);
}

#[test]
fn list_filters_pick_dangling_references_labels_and_times() {
    let (_t, s) = store();
    let opts = |r: Option<&str>, change: &str| ImageOptions {
        reference: r.map(|r| ImageRef::parse(r).unwrap()),
        config: Some(changes(&[change])),
        ..Default::default()
    };
    let a = s
        .import(&rootfs()[..], &opts(Some("dk/app:v1"), "LABEL tier=web"))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let b = s
        .import(&rootfs()[..], &opts(None, "LABEL tier=db"))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let c = s
        .import(&rootfs()[..], &opts(Some("other"), "USER x"))
        .unwrap();
    let ids = |f: filter::ListFilter| -> Vec<Digest> {
        s.list_filtered(&f)
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    let all = ids(Default::default());
    assert_eq!(all, [c.clone(), b.clone(), a.clone()], "newest first");
    let f = |dangling, refs: &[&str], labels: &[&str]| filter::ListFilter {
        dangling,
        references: refs.iter().map(|s| (*s).to_owned()).collect(),
        labels: labels.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    assert_eq!(ids(f(Some(true), &[], &[])), std::slice::from_ref(&b));
    assert_eq!(ids(f(Some(false), &[], &[])), [c.clone(), a.clone()]);
    assert_eq!(ids(f(None, &["dk/*"], &[])), std::slice::from_ref(&a));
    assert_eq!(ids(f(None, &["dk/app:v2"], &[])), Vec::<Digest>::new());
    assert_eq!(ids(f(None, &[], &["tier"])), [b.clone(), a.clone()]);
    assert_eq!(ids(f(None, &[], &["tier=db"])), std::slice::from_ref(&b));
    let before = filter::ListFilter {
        before: vec!["other".into()],
        ..Default::default()
    };
    assert_eq!(ids(before), [b.clone(), a.clone()]);
    let since = filter::ListFilter {
        since: vec!["dk/app:v1".into()],
        ..Default::default()
    };
    assert_eq!(ids(since), [c, b]);
    let unknown = filter::ListFilter {
        since: vec!["nope".into()],
        ..Default::default()
    };
    assert!(matches!(
        s.list_filtered(&unknown),
        Err(ImageError::NotFound(_))
    ));
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

#[test]
fn a_tag_that_looks_like_the_ids_prefix_is_removed_as_a_tag() {
    let (_t, s) = store();
    let id = s.import(&rootfs()[..], &named("a")).unwrap();
    let lookalike = id.hex()[..6].to_owned();
    s.tag("a", &ImageRef::parse(&lookalike).unwrap()).unwrap();
    let ev = s.remove(&lookalike, false, &never).unwrap();
    assert_eq!(ev, [RemoveEvent::Untagged(format!("{lookalike}:latest"))]);
    assert!(s.record("a").is_ok());
}

/// Config changes of these instructions only.
fn changes(instructions: &[&str]) -> super::config_changes::ConfigChanges {
    super::config_changes::ConfigChanges {
        instructions: instructions.iter().map(|i| (*i).to_owned()).collect(),
        ..Default::default()
    }
}
