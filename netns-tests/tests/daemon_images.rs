//! Root tests of berthd's image endpoints, driven by the stock docker CLI: each starts berthd
//! inside its own throwaway test host netns with temp roots and a busybox image (as
//! `daemon.rs` does). Tag then run by the new tag; rmi with dockerd's conflicts while
//! containers use an image; history; `docker save | docker load` into a second berthd and
//! after rmi; `docker import` (file and stdin, with --change and -m) and a run of the result;
//! `docker images --filter`; `docker image prune [-a]`; `docker search` refused clearly; and
//! the image events `docker events` shows for all of it.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_netns_tests::daemon::Berthd;
use common::{assert_fails_with, daemon, set, stderr, stdout, words};
use containers::{Cleanup, code};
use fixture::Berth;
use serde_json::Value;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The full id of `image`.
fn id_of(d: &Berthd, image: &str) -> String {
    d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", image])
        .trim()
        .to_owned()
}

/// `(Action, name attribute, actor id)` of the image events between `since` and now.
fn image_events(d: &Berthd, since: u64) -> Vec<(String, String, String)> {
    let (s, u) = (since.to_string(), (now_secs() + 1).to_string());
    let args = [
        "events",
        "--since",
        &s,
        "--until",
        &u,
        "--filter",
        "type=image",
        "--format",
        "{{json .}}",
    ];
    d.docker_ok(&args)
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&e["Action"]),
                s(&e["Actor"]["Attributes"]["name"]),
                s(&e["Actor"]["ID"]),
            )
        })
        .collect()
}

/// A raw `GET path` over berthd's socket (HTTP/1.0, so the body ends at close): the status
/// line, the headers and the body.
fn raw_get(d: &Berthd, path: &str) -> (String, String, Vec<u8>) {
    let mut s = UnixStream::connect(&d.sock).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: berth\r\n\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (
        status.to_owned(),
        headers.to_lowercase(),
        all[end + 4..].to_vec(),
    )
}

/// The entry names of a tar archive.
fn tar_names(bytes: &[u8]) -> BTreeSet<String> {
    let mut ar = tar::Archive::new(bytes);
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// A rootfs tarball of busybox (as the `bb` image has) at `path`.
fn rootfs_tar(path: &Path) -> String {
    berth_netns_tests::build::write_busybox_image(path);
    path.to_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_tags_runs_by_tag_shows_history_and_removes_images_as_dockerd() {
    let b = Berth::with_busybox("dk-img");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let since = now_secs();
    let id = id_of(&d, "bb");
    let short = &id["sha256:".len().."sha256:".len() + 12];

    d.docker_ok(&["tag", "bb", "dk/app:v1"]);
    assert_eq!(id_of(&d, "dk/app:v1"), id);
    assert_eq!(
        d.docker_ok(&["run", "--rm", "dk/app:v1", "echo", "by tag"]),
        "by tag\n"
    );
    assert_eq!(
        words(&d, &["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        set(&["bb:latest", "dk/app:v1"])
    );
    assert_fails_with(&d, &["tag", "nope", "x"], "No such image: nope");
    assert_fails_with(&d, &["tag", "bb", "Bad:Name"], "invalid reference format");

    // History: the top row is the image, with the import's comment.
    let h = d.docker_ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.Comment}}|{{.Size}}",
        "bb",
    ]);
    let rows: Vec<&str> = h.lines().collect();
    assert_eq!(rows.len(), 1, "{h}");
    let cols: Vec<&str> = rows[0].split('|').collect();
    assert_eq!(&cols[..2], [id.as_str(), "Imported from -"], "{h}");
    assert_ne!(cols[2], "0B", "{h}");
    let table = d.docker_ok(&["history", "bb"]);
    assert!(
        table.starts_with("IMAGE") && table.contains(short),
        "{table}"
    );
    assert_fails_with(&d, &["history", "nope"], "No such image");

    // A stopped container uses the image: one of two tags may go, the last one may not.
    let holder = d.docker_ok(&["create", "--name", "holder", "bb", "true"]);
    let holder = &holder.trim()[..12];
    assert_eq!(d.docker_ok(&["rmi", "dk/app:v1"]), "Untagged: dk/app:v1\n");
    assert_eq!(
        id_of(&d, "bb"),
        id,
        "untagging one of two tags keeps the image"
    );
    let out = d.docker(&["rmi", "bb"]);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains(&format!(
            "conflict: unable to remove repository reference \"bb\" (must force) - container {holder} is using its referenced image {short}"
        )),
        "{}",
        stderr(&out)
    );
    assert_fails_with(
        &d,
        &["rmi", short],
        &format!("(must be forced) - image is being used by stopped container {holder}"),
    );
    // A running one: by id not even -f removes it.
    let runner = d.docker_ok(&["run", "-d", "--name", "runner", "bb", "sleep", "100"]);
    let runner = &runner.trim()[..12];
    assert_fails_with(
        &d,
        &["rmi", "-f", &id],
        &format!("(cannot be forced) - image is being used by running container {runner}"),
    );
    // Forced by tag, the tag goes and the image the containers need stays.
    assert_eq!(d.docker_ok(&["rmi", "-f", "bb"]), "Untagged: bb:latest\n");
    assert_eq!(d.docker_ok(&["images", "-q", "--no-trunc"]).trim(), id);
    d.docker_ok(&["rm", "-f", "runner", "holder"]);
    assert_eq!(d.docker_ok(&["rmi", short]), format!("Deleted: {id}\n"));
    assert_eq!(d.docker_ok(&["images", "-q"]), "");
    assert_fails_with(&d, &["rmi", "bb"], "No such image");

    let ev = image_events(&d, since);
    let has = |action: &str, name: &str| {
        ev.iter()
            .any(|(a, n, actor)| a == action && n == name && *actor == id)
    };
    assert!(has("tag", "dk/app:v1"), "{ev:?}");
    assert!(has("untag", &id), "{ev:?}");
    assert!(has("delete", &id), "{ev:?}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_save_loads_into_a_second_berthd_and_back_after_rmi() {
    let b = Berth::with_busybox("dk-save");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let since = now_secs();
    d.docker_ok(&["tag", "bb", "bb:v2"]);
    let id = id_of(&d, "bb");
    let archive = b.root.path().join("out.tar");
    let a = archive.to_str().unwrap();
    d.docker_ok(&["save", "-o", a, "bb", "bb:v2"]);
    let names = tar_names(&std::fs::read(&archive).unwrap());
    assert!(
        names.contains("manifest.json") && names.contains("index.json"),
        "{names:?}"
    );
    assert_fails_with(&d, &["save", "-o", a, "nope"], "No such image: nope");

    // `docker save | docker load` into a fresh root behind another berthd.
    let b2 = Berth::new("dk-save2");
    let _c2 = Cleanup(&b2);
    let d2 = daemon(&b2);
    let mut save = d.docker_cmd(&["save", "bb", "bb:v2"]);
    let mut save = save.stdout(Stdio::piped()).spawn().unwrap();
    let mut load = d2.docker_cmd(&["load"]);
    let load = load
        .stdin(save.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();
    assert_eq!(code(&load), 0, "{}", stderr(&load));
    assert!(save.wait().unwrap().success(), "docker save failed");
    let loaded = stdout(&load);
    assert!(
        loaded.contains("Loaded image: bb:latest") && loaded.contains("Loaded image: bb:v2"),
        "{loaded}"
    );
    assert_eq!(id_of(&d2, "bb:v2"), id, "the id survives the round trip");
    assert_eq!(
        d2.docker_ok(&["run", "--rm", "bb:v2", "echo", "loaded"]),
        "loaded\n"
    );

    // Back into the first berthd once its images are gone.
    d.docker_ok(&["rmi", "bb", "bb:v2"]);
    assert_eq!(d.docker_ok(&["images", "-q"]), "");
    assert!(
        d.docker_ok(&["load", "-i", a])
            .contains("Loaded image: bb:v2")
    );
    assert_eq!(id_of(&d, "bb:v2"), id);

    // GET /images/{name}/get (docker-py's path) is the same archive format, as x-tar.
    let (status, headers, body) = raw_get(&d, "/v1.41/images/bb:v2/get");
    assert!(status.contains("200"), "{status}");
    assert!(
        headers.contains("content-type: application/x-tar"),
        "{headers}"
    );
    assert!(tar_names(&body).contains("manifest.json"));
    let (status, _, body) = raw_get(&d, "/v1.41/images/nope/get");
    assert!(status.contains("404"), "{status}");
    assert!(String::from_utf8_lossy(&body).contains("No such image"));

    let ev = image_events(&d, since);
    assert!(
        ev.iter().any(|(a, _, actor)| a == "save" && *actor == id),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|(a, _, actor)| a == "load" && *actor == id),
        "{ev:?}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_import_makes_a_runnable_image_from_a_tarball() {
    let b = Berth::new("dk-imp");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let since = now_secs();
    let tar = rootfs_tar(&b.root.path().join("rootfs.tar"));
    let out = d.docker_ok(&[
        "import",
        "--change",
        "LABEL team=core",
        "--change",
        r#"CMD ["echo", "from cmd"]"#,
        "--change",
        "ENV GREETING=hi",
        "-m",
        "my message",
        &tar,
        "dk/imp:v1",
    ]);
    let id = out.trim().to_owned();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{out}");
    assert_eq!(id_of(&d, "dk/imp:v1"), id);
    assert_eq!(d.docker_ok(&["run", "--rm", "dk/imp:v1"]), "from cmd\n");
    assert_eq!(
        d.docker_ok(&["run", "--rm", "dk/imp:v1", "sh", "-c", "echo $GREETING"]),
        "hi\n"
    );
    let labels = d.docker_ok(&["image", "inspect", "-f", "{{.Config.Labels.team}}", &id]);
    assert_eq!(labels.trim(), "core");
    let comment = d.docker_ok(&["history", "--format", "{{.Comment}}", "dk/imp:v1"]);
    assert_eq!(comment.trim(), "my message");

    // From stdin, untagged: dockerd's default comment, and no command to run.
    let mut import = d.docker_cmd(&["import", "-"]);
    let mut child = import
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&tar).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let plain = stdout(&out).trim().to_owned();
    let comment = d.docker_ok(&["history", "--format", "{{.Comment}}", &plain]);
    assert_eq!(comment.trim(), "Imported from -");
    assert_eq!(
        d.docker_ok(&["run", "--rm", &plain, "cat", "/www/index.html"]),
        "served by berth\n"
    );

    assert_fails_with(
        &d,
        &["import", "--change", "RUN rm -rf /", &tar],
        "RUN is not a valid change command",
    );
    assert_fails_with(
        &d,
        &["import", &tar, "Bad:Name"],
        "invalid reference format",
    );
    let garbage = b.root.path().join("garbage.tar");
    std::fs::write(&garbage, b"not a tarball at all").unwrap();
    assert_fails_with(&d, &["import", garbage.to_str().unwrap()], "tar");
    assert_eq!(
        words(&d, &["images", "-q", "--no-trunc"]),
        set(&[&id, &plain]),
        "a failed import leaves no image"
    );
    // A registry that is not there (in this test's own netns) is a clear error.
    assert_fails_with(
        &d,
        &["pull", "127.0.0.1:9/none/bb:v1"],
        "Connection refused",
    );

    let ev = image_events(&d, since);
    assert!(
        ev.iter()
            .any(|(a, n, actor)| a == "tag" && n == "dk/imp:v1" && *actor == id),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|(a, _, actor)| a == "import" && *actor == id),
        "{ev:?}"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_images_filters_and_image_prune_as_dockerd() {
    let b = Berth::with_busybox("dk-flt");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let since = now_secs();
    let tar = rootfs_tar(&b.root.path().join("rootfs.tar"));
    let bb = id_of(&d, "bb");
    let web = d
        .docker_ok(&["import", "--change", "LABEL tier=web", &tar, "web:1"])
        .trim()
        .to_owned();
    let dangling = d
        .docker_ok(&["import", "--change", "LABEL tier=db", &tar])
        .trim()
        .to_owned();
    let ids = |filters: &[&str]| {
        let mut args = vec!["images", "-q", "--no-trunc"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        words(&d, &args)
    };
    assert_eq!(ids(&[]), set(&[&bb, &web, &dangling]));
    assert_eq!(ids(&["dangling=true"]), set(&[&dangling]));
    assert_eq!(ids(&["dangling=false"]), set(&[&bb, &web]));
    assert_eq!(ids(&["reference=w*"]), set(&[&web]));
    assert_eq!(ids(&["reference=bb:latest"]), set(&[&bb]));
    assert_eq!(ids(&["reference=nothing*"]), set(&[]));
    assert_eq!(ids(&["label=tier"]), set(&[&web, &dangling]));
    assert_eq!(ids(&["label=tier=db"]), set(&[&dangling]));
    assert_eq!(ids(&["label=tier", "dangling=false"]), set(&[&web]));
    assert_eq!(ids(&["since=bb"]), set(&[&web, &dangling]));
    assert_eq!(ids(&["before=web:1"]), set(&[&bb]));
    assert_eq!(
        words(&d, &["images", "-q", "--no-trunc", "web"]),
        set(&[&web])
    );
    assert_fails_with(&d, &["images", "--filter", "colour=red"], "invalid filter");
    assert_fails_with(
        &d,
        &["images", "--filter", "dangling=maybe"],
        "Invalid filter",
    );
    assert_fails_with(&d, &["images", "--filter", "since=nope"], "No such image");
    let table = d.docker_ok(&["images"]);
    let none = table
        .lines()
        .find(|l| l.contains(&dangling["sha256:".len().."sha256:".len() + 12]))
        .unwrap();
    assert!(none.starts_with("<none>"), "{table}");

    // Prune: the dangling image goes; with -a, every image no container uses.
    let out = d.docker_ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with(&format!("Deleted Images:\ndeleted: {dangling}\n")),
        "{out}"
    );
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert_eq!(ids(&[]), set(&[&bb, &web]));
    d.docker_ok(&["create", "--name", "keeper", "web:1", "true"]);
    let out = d.docker_ok(&["image", "prune", "-a", "-f", "--filter", "label=tier=web"]);
    assert_eq!(out, "Total reclaimed space: 0B\n", "web:1 is in use");
    let out = d.docker_ok(&["image", "prune", "-a", "-f"]);
    assert!(
        out.contains("untagged: bb:latest\n") && out.contains(&format!("deleted: {bb}\n")),
        "{out}"
    );
    assert_eq!(ids(&[]), set(&[&web]));
    assert_fails_with(
        &d,
        &["image", "prune", "-f", "--filter", "until=soon"],
        "until",
    );
    assert_fails_with(&d, &["search", "busybox"], "cannot search registries");

    let ev = image_events(&d, since);
    assert!(ev.iter().any(|(a, _, _)| a == "prune"), "{ev:?}");
}
