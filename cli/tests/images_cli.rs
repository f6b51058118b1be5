//! End-to-end tests of the image, volume and `system df` commands through the `berth`
//! binary, with the vfs driver (no root needed). Test images are built from the static
//! busybox binary; nothing is downloaded.
#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_engine::digest::Digest;
use berth_engine::size::ContainerUsage;
use berth_engine::storage::DriverKind;
use berth_engine::store::Store;
use tempfile::TempDir;

const BUSYBOX: &str = "/bin/busybox";

struct Berth {
    root: PathBuf,
}

impl Berth {
    fn new(dir: &Path) -> Self {
        Self {
            root: dir.to_path_buf(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.arg("--root").arg(&self.root);
        c.args(["--storage-driver", "vfs"]).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "berth {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs and asserts failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            !o.status.success(),
            "berth {args:?} succeeded: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(!err.contains("panicked"), "panic: {err}");
        err
    }

    fn with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    fn blobs(&self) -> Vec<String> {
        list(&self.root.join("images/blobs/sha256"))
    }

    fn layers(&self) -> Vec<String> {
        list(&self.root.join("storage/vfs/layerdb"))
            .into_iter()
            .filter(|n| n.ends_with(".json"))
            .collect()
    }
}

fn list(dir: &Path) -> Vec<String> {
    match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A rootfs with busybox, `sh` linking to it and one text file; returns its tar (plain) and
/// the bytes of regular-file content in it.
fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h
}

fn busybox_rootfs(extra: &str) -> (Vec<u8>, u64) {
    let mut b = tar::Builder::new(Vec::new());
    b.append_path_with_name(BUSYBOX, "bin/busybox").unwrap();
    let mut h = header(tar::EntryType::Symlink, 0, 0o777);
    b.append_link(&mut h, "bin/sh", "busybox").unwrap();
    let mut h = header(tar::EntryType::Regular, extra.len() as u64, 0o644);
    b.append_data(&mut h, "etc/motd", extra.as_bytes()).unwrap();
    let size = fs::metadata(BUSYBOX).unwrap().size() + extra.len() as u64;
    (b.into_inner().unwrap(), size)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn import_tag_save_load_into_fresh_root_keeps_ids_then_rmi_cleans_up() {
    let t = TempDir::new().unwrap();
    let a = Berth::new(&t.path().join("a"));
    let (tar, size) = busybox_rootfs("hello\n");
    let tgz = t.path().join("rootfs.tgz");
    fs::write(&tgz, gzip(&tar)).unwrap();

    let id = a.ok(&["import", tgz.to_str().unwrap(), "bb:1"]);
    let id = Digest::parse(id.trim()).unwrap();
    let table = a.ok(&["images"]);
    let mut lines = table.lines();
    // The CREATED column is as wide as its text ("Less than a second ago", "2 seconds ago"),
    // which depends on how long the import took: compare the words, not the padding.
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"],
        "{table}"
    );
    let row: Vec<&str> = lines
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(row[..3], ["bb", "1", id.short()], "{table}");
    assert!(row[3].ends_with(" ago"), "{table}");

    // zstd through stdin, plain from a file: same content, same layer, one image id each.
    let zst = zstd::stream::encode_all(&tar[..], 3).unwrap();
    let o = a.with_stdin(&["import", "-", "bb:zstd"], &zst);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plain = t.path().join("rootfs.tar");
    fs::write(&plain, &tar).unwrap();
    a.ok(&["import", plain.to_str().unwrap(), "bb:plain"]);
    assert_eq!(
        a.layers().len(),
        1,
        "one layer, shared by the three imports"
    );

    a.ok(&["tag", "bb:1", "localhost:5000/team/bb"]);
    let rows = json_lines(&a.ok(&["images", "--format", "json"]));
    assert_eq!(rows.len(), 4);
    let tagged = rows
        .iter()
        .find(|r| r["Repository"] == "localhost:5000/team/bb")
        .unwrap();
    assert_eq!(tagged["ID"], id.short());
    assert_eq!(tagged["Tag"], "latest");
    assert_eq!(tagged["Size"], berth_cli::human::size(size, 3).as_str());
    let inspect: serde_json::Value =
        serde_json::from_str(&a.ok(&["image", "inspect", "bb:1"])).unwrap();
    assert_eq!(inspect[0]["Id"], id.as_str());
    assert_eq!(inspect[0]["Size"], size);
    let history = a.ok(&["history", "bb:1"]);
    assert!(history.contains(id.short()) && history.contains("Imported from -"));

    let archive = t.path().join("out/bb.tar");
    fs::create_dir(t.path().join("out")).unwrap();
    a.ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "bb:1",
        "localhost:5000/team/bb",
    ]);
    assert_eq!(list(&t.path().join("out")), ["bb.tar"], "no temp file left");

    let b = Berth::new(&t.path().join("b"));
    let loaded = b.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(loaded.contains("Loaded image: bb:1"), "{loaded}");
    assert!(loaded.contains("Loaded image: localhost:5000/team/bb:latest"));
    assert_eq!(
        b.ok(&["images", "-q", "--no-trunc"]).lines().next(),
        Some(id.as_str())
    );
    let inspect_b: serde_json::Value =
        serde_json::from_str(&b.ok(&["image", "inspect", id.short()])).unwrap();
    assert_eq!(inspect_b[0]["Layers"], inspect[0]["Layers"]);
    assert_eq!(b.layers(), a.layers(), "same chain ids");
    // Loading the same archive from stdin again changes nothing.
    let o = b.with_stdin(&["load"], &fs::read(&archive).unwrap());
    assert!(o.status.success());
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 2);

    // By id with several tags needs -f; by tag removes one tag at a time.
    let err = a.fails(&["rmi", id.short()]);
    assert!(err.contains("referenced in multiple repositories"), "{err}");
    let out = a.ok(&["rmi", "bb:1"]);
    assert_eq!(
        out, "Untagged: bb:1\n",
        "still tagged as localhost:5000/team/bb"
    );
    // The zstd and plain imports are images of their own (own creation time) over the same
    // layer: deleting them keeps the layer the remaining image needs.
    let out = a.ok(&["rmi", "bb:zstd", "bb:plain"]);
    assert_eq!(out.matches("Deleted: ").count(), 2, "{out}");
    assert_eq!(a.layers().len(), 1);
    let out = a.ok(&["rmi", "localhost:5000/team/bb"]);
    assert!(out.contains(&format!("Deleted: {id}")), "{out}");
    assert_eq!(a.ok(&["images", "-q"]), "");
    assert!(a.blobs().is_empty(), "blobs left: {:?}", a.blobs());
    assert!(a.layers().is_empty(), "layers left: {:?}", a.layers());
}

#[test]
fn volume_lifecycle() {
    let t = TempDir::new().unwrap();
    let b = Berth::new(t.path());
    assert_eq!(
        b.ok(&["volume", "create", "data", "--label", "app=web"]),
        "data\n"
    );
    let anon = b.ok(&["volume", "create"]);
    assert_eq!(anon.trim().len(), 64);
    // Sorted by name: the random anonymous name may sort either side of "data".
    let mut rows = [
        format!("local     {}", anon.trim()),
        "local     data".to_string(),
    ];
    rows.sort();
    assert_eq!(
        b.ok(&["volume", "ls"]),
        format!("DRIVER    VOLUME NAME\n{}\n{}\n", rows[0], rows[1])
    );
    let v: serde_json::Value = serde_json::from_str(&b.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(v[0]["Name"], "data");
    assert_eq!(v[0]["Labels"]["app"], "web");
    let mountpoint = PathBuf::from(v[0]["Mountpoint"].as_str().unwrap());
    assert_eq!(mountpoint, t.path().join("volumes/data/_data"));
    fs::write(mountpoint.join("f"), vec![7u8; 3000]).unwrap();

    // In use by a container: rm refused, prune keeps it.
    let c = t.path().join("containers/c1");
    fs::create_dir_all(&c).unwrap();
    fs::write(
        c.join("config.json"),
        r#"{"MountPoints": {"/srv": {"Name": "data"}}}"#,
    )
    .unwrap();
    let err = b.fails(&["volume", "rm", "data"]);
    assert!(err.contains("volume data is in use"), "{err}");
    let out = b.ok(&["volume", "prune", "-a", "-f"]);
    assert_eq!(
        out,
        format!("Deleted Volumes:\n{anon}\nTotal reclaimed space: 0B\n")
    );
    assert!(mountpoint.join("f").exists());

    fs::remove_dir_all(&c).unwrap();
    let out = b.ok(&["volume", "prune", "-f"]);
    assert_eq!(
        out, "Total reclaimed space: 0B\n",
        "named volumes survive prune"
    );
    assert_eq!(b.ok(&["volume", "rm", "data"]), "data\n");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    let err = b.fails(&["volume", "inspect", "data"]);
    assert!(err.contains("no such volume: data"), "{err}");
    let err = b.fails(&["volume", "create", "../x"]);
    assert!(err.contains("invalid volume name"), "{err}");
}

#[test]
fn system_df_numbers_equal_the_library_and_the_bytes_imported() {
    let t = TempDir::new().unwrap();
    let b = Berth::new(t.path());
    let (tar1, size1) = busybox_rootfs("one\n");
    let (tar2, size2) = busybox_rootfs("second image\n");
    fs::write(t.path().join("1.tar"), &tar1).unwrap();
    fs::write(t.path().join("2.tar"), &tar2).unwrap();
    let id1 = b.ok(&["import", t.path().join("1.tar").to_str().unwrap(), "one"]);
    b.ok(&["import", t.path().join("2.tar").to_str().unwrap(), "two"]);
    b.ok(&["volume", "create", "v"]);
    fs::write(t.path().join("volumes/v/_data/x"), vec![1u8; 1234]).unwrap();
    let c = t.path().join("containers/c1");
    fs::create_dir_all(&c).unwrap();
    fs::write(
        c.join("config.json"),
        format!(
            r#"{{"Image": "{}", "State": {{"Running": true}}}}"#,
            id1.trim()
        ),
    )
    .unwrap();

    let rows = json_lines(&b.ok(&["system", "df", "--format", "json"]));
    let store = Store::open(t.path(), DriverKind::Vfs).unwrap();
    let lib = store
        .system_df(
            &[ContainerUsage {
                image: Digest::parse(id1.trim()).unwrap(),
                rw_size: 0,
                running: true,
            }],
            &|_| false,
        )
        .unwrap();
    let by_type = |t: &str| rows.iter().find(|r| r["Type"] == t).unwrap().clone();
    let images = by_type("Images");
    assert_eq!(images["SizeBytes"], lib.images.size);
    assert_eq!(lib.images.size, size1 + size2, "bytes of the two rootfs");
    assert_eq!(images["ReclaimableBytes"], lib.images.reclaimable);
    assert_eq!(lib.images.reclaimable, size2, "image two is unused");
    assert_eq!(images["TotalCount"], "2");
    assert_eq!(images["Active"], "1");
    let volumes = by_type("Local Volumes");
    assert_eq!(volumes["SizeBytes"], 1234);
    assert_eq!(volumes["ReclaimableBytes"], lib.volumes.reclaimable);
    assert_eq!(by_type("Containers")["TotalCount"], "1");

    let table = b.ok(&["system", "df"]);
    let human = berth_cli::human::size4;
    let pct = size2 * 100 / (size1 + size2);
    let expected_images = format!(
        "Images          2         1         {:<10}{} ({pct}%)",
        human(size1 + size2),
        human(size2)
    );
    assert!(table.starts_with("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"));
    assert!(
        table.contains(&expected_images),
        "{table}\n{expected_images}"
    );
    let verbose = b.ok(&["system", "df", "-v"]);
    assert!(verbose.contains("Images space usage:") && verbose.contains("c1"));
}

#[test]
fn rmi_refuses_an_image_a_container_uses_unless_forced() {
    let t = TempDir::new().unwrap();
    let b = Berth::new(t.path());
    let (tar, _) = busybox_rootfs("x");
    fs::write(t.path().join("r.tar"), &tar).unwrap();
    let id = b.ok(&["import", t.path().join("r.tar").to_str().unwrap(), "app"]);
    let id = id.trim();
    let c = t.path().join("containers/c1");
    fs::create_dir_all(&c).unwrap();
    fs::write(c.join("config.json"), format!(r#"{{"Image": "{id}"}}"#)).unwrap();

    let err = b.fails(&["rmi", "app"]);
    assert!(err.contains("is using its referenced image"), "{err}");
    assert_eq!(
        b.ok(&["image", "prune", "-a", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    let out = b.ok(&["rmi", "-f", "app"]);
    assert_eq!(out, "Untagged: app:latest\n", "forced: only the tag goes");
    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]), format!("{id}\n"));
    assert_eq!(b.layers().len(), 1, "the container's image keeps its layer");

    fs::remove_dir_all(&c).unwrap();
    let out = b.ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with(&format!("Deleted Images:\ndeleted: {id}\n")),
        "{out}"
    );
    assert!(b.blobs().is_empty() && b.layers().is_empty());
}

#[test]
fn bad_input_fails_clearly_and_leaves_nothing_behind() {
    let t = TempDir::new().unwrap();
    let b = Berth::new(&t.path().join("root"));
    let empty = |b: &Berth| {
        assert!(b.blobs().is_empty(), "blobs: {:?}", b.blobs());
        assert!(b.layers().is_empty(), "layers: {:?}", b.layers());
        assert!(
            list(&b.root.join("images/tmp")).is_empty(),
            "temp files left"
        );
        assert_eq!(b.ok(&["images", "-q"]), "");
    };

    let err = b.fails(&["import", "/nonexistent/rootfs.tar", "x"]);
    assert!(err.contains("open /nonexistent/rootfs.tar"), "{err}");
    let err = b.fails(&["load", "-i", "/nonexistent/a.tar"]);
    assert!(err.contains("open /nonexistent/a.tar"), "{err}");

    let junk = t.path().join("junk.tar");
    fs::write(
        &junk,
        b"this is not a tarball at all, just some text".repeat(40),
    )
    .unwrap();
    let err = b.fails(&["import", junk.to_str().unwrap(), "x"]);
    assert!(err.contains("not a valid tar archive"), "{err}");
    empty(&b);
    let truncated = t.path().join("trunc.tgz");
    let (tar, _) = busybox_rootfs("x");
    let gz = gzip(&tar);
    fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();
    let err = b.fails(&["import", truncated.to_str().unwrap(), "x"]);
    assert!(err.starts_with("berth: import"), "{err}");
    empty(&b);
    let o = b.with_stdin(&["import", "-"], b"");
    assert!(!o.status.success());
    empty(&b);

    // A hostile tarball: stored, then refused by the extractor, then removed again.
    let mut h = header(tar::EntryType::Regular, 4, 0o644);
    h.as_gnu_mut().unwrap().name[..10].copy_from_slice(b"../escaped");
    h.set_cksum();
    let mut evil = tar::Builder::new(Vec::new());
    evil.append(&h, &b"evil"[..]).unwrap();
    fs::write(t.path().join("evil.tar"), evil.into_inner().unwrap()).unwrap();
    let err = b.fails(&[
        "import",
        t.path().join("evil.tar").to_str().unwrap(),
        "evil",
    ]);
    assert!(
        err.contains("refused tar entry") && err.contains(".."),
        "{err}"
    );
    assert!(!t.path().join("escaped").exists());
    empty(&b);

    let err = b.fails(&["load", "-i", junk.to_str().unwrap()]);
    assert!(err.contains("invalid image archive"), "{err}");
    empty(&b);

    for args in [
        &["rmi", "nope"][..],
        &["tag", "nope", "x"],
        &["history", "nope"],
        &["image", "inspect", "nope"],
    ] {
        let err = b.fails(args);
        assert!(err.contains("no such image: nope"), "{args:?}: {err}");
    }
    let out = t.path().join("never.tar");
    let err = b.fails(&["save", "-o", out.to_str().unwrap(), "nope"]);
    assert!(err.contains("no such image: nope"), "{err}");
    assert!(!out.exists(), "no archive for a failed save");
    assert_eq!(
        list(t.path()).len(),
        4,
        "no temp file left: {:?}",
        list(t.path())
    );
    let err = b.fails(&["import", junk.to_str().unwrap(), "Bad:Name"]);
    assert!(err.contains("invalid reference format"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "--root",
            b.root.to_str().unwrap(),
            "--storage-driver",
            "zfs",
            "images",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown storage driver \"zfs\""), "{err}");
}

#[test]
fn storage_driver_comes_from_config_file_unless_the_flag_says_otherwise() {
    let t = TempDir::new().unwrap();
    fs::write(t.path().join("config.json"), r#"{"storage-driver": "vfs"}"#).unwrap();
    let (tar, _) = busybox_rootfs("x");
    fs::write(t.path().join("r.tar"), &tar).unwrap();
    let bin = env!("CARGO_BIN_EXE_berth");
    let root = t.path().to_str().unwrap();
    let run = |extra: &[&str], name: &str| {
        let o = Command::new(bin)
            .args(["--root", root])
            .args(extra)
            .args(["import", t.path().join("r.tar").to_str().unwrap(), name])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[], "a");
    assert!(!list(&t.path().join("storage/vfs/dir")).is_empty());
    assert!(!t.path().join("storage/overlay").exists());
    run(&["--storage-driver", "overlay"], "b");
    assert_eq!(
        list(&t.path().join("storage/overlay/layerdb")).len(),
        2,
        "layer + lock"
    );
}
