//! Root tests of berthd's volume endpoints and `GET /system/df`, driven by the stock docker
//! CLI: each starts berthd inside its own throwaway test host netns with temp roots and a
//! busybox image (as `daemon.rs` does). They also show one volume store behind two front
//! ends: volumes made by `berth volume` are docker's and the other way round.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{assert_fails_with, daemon, set, stderr, words};
use containers::{Cleanup, code};
use fixture::Berth;
use serde_json::Value;

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_creates_lists_inspects_shares_and_removes_volumes() {
    let b = Berth::with_busybox("dk-vol");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    assert_eq!(
        d.docker_ok(&["volume", "create", "v1", "--label", "a=b"]),
        "v1\n"
    );
    // Creating an existing name answers with the volume as it is.
    assert_eq!(d.docker_ok(&["volume", "create", "v1"]), "v1\n");
    d.docker_ok(&["volume", "create", "other"]);
    let anon = d.docker_ok(&["volume", "create"]).trim().to_owned();
    assert_eq!(anon.len(), 64, "{anon}");
    assert_fails_with(
        &d,
        &["volume", "create", "-d", "nfs", "x"],
        "is not supported",
    );
    assert_fails_with(&d, &["volume", "create", "../x"], "invalid volume name");

    let ls = d.docker_ok(&["volume", "ls"]);
    let mut lines = ls.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["DRIVER", "VOLUME", "NAME"]
    );
    let rows: BTreeSet<String> = lines
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let expect: BTreeSet<String> = ["v1", "other", anon.as_str()]
        .iter()
        .map(|n| format!("local {n}"))
        .collect();
    assert_eq!(rows, expect);
    assert_eq!(
        words(&d, &["volume", "ls", "-q"]),
        set(&["v1", "other", &anon])
    );
    assert_eq!(
        words(&d, &["volume", "ls", "-q", "--filter", "label=a=b"]),
        set(&["v1"])
    );
    assert_eq!(
        words(&d, &["volume", "ls", "-q", "--filter", "label=a"]),
        set(&["v1"])
    );
    assert_eq!(
        words(&d, &["volume", "ls", "-q", "--filter", "name=oth"]),
        set(&["other"])
    );
    assert_fails_with(
        &d,
        &["volume", "ls", "--filter", "colour=red"],
        "invalid filter",
    );

    let mp = d.docker_ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "v1"]);
    let mp = PathBuf::from(mp.trim());
    assert_eq!(mp, b.root.path().join("volumes/v1/_data"));
    let v: Value = serde_json::from_str(&d.docker_ok(&["volume", "inspect", "v1"])).unwrap();
    assert_eq!(v[0]["Name"], "v1");
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Scope"], "local");
    assert_eq!(v[0]["Labels"]["a"], "b");
    assert!(v[0]["CreatedAt"].as_str().unwrap().starts_with("20"), "{v}");
    assert_fails_with(&d, &["volume", "inspect", "nope"], "no such volume");

    // One container writes, the next one reads it back.
    let w = d.docker(&[
        "run",
        "--rm",
        "-v",
        "v1:/d",
        "bb",
        "sh",
        "-c",
        "echo hi > /d/f",
    ]);
    assert_eq!(code(&w), 0, "{}", stderr(&w));
    assert_eq!(
        d.docker_ok(&["run", "--rm", "-v", "v1:/d", "bb", "cat", "/d/f"]),
        "hi\n"
    );
    assert_eq!(std::fs::read_to_string(mp.join("f")).unwrap(), "hi\n");

    // In use by a container (running or not), a volume stays, -f or not.
    let holder = d.docker_ok(&[
        "run", "-d", "--name", "holder", "-v", "v1:/d", "bb", "sleep", "100",
    ]);
    let holder = holder.trim();
    for args in [&["volume", "rm", "v1"][..], &["volume", "rm", "-f", "v1"]] {
        let out = d.docker(args);
        assert_ne!(code(&out), 0);
        let msg = stderr(&out);
        assert!(
            msg.contains("remove v1: volume is in use - [") && msg.contains(holder),
            "{msg}"
        );
    }
    assert_eq!(
        words(&d, &["volume", "ls", "-q", "--filter", "dangling=true"]),
        set(&["other", &anon])
    );
    assert_eq!(
        words(&d, &["volume", "ls", "-q", "--filter", "dangling=false"]),
        set(&["v1"])
    );

    // Prune (API 1.41): every unused volume, named or not; v1 is in use.
    std::fs::write(b.root.path().join("volumes/other/_data/x"), vec![0u8; 2000]).unwrap();
    let pruned = d.docker_ok(&["volume", "prune", "-f"]);
    assert!(pruned.starts_with("Deleted Volumes:\n"), "{pruned}");
    let deleted: BTreeSet<String> = pruned
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(deleted, set(&["other", &anon]));
    assert!(pruned.contains("Total reclaimed space: 2kB"), "{pruned}");
    assert_eq!(words(&d, &["volume", "ls", "-q"]), set(&["v1"]));

    d.docker_ok(&["rm", "-f", "holder"]);
    assert_eq!(d.docker_ok(&["volume", "rm", "v1"]), "v1\n");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]), "");
    assert!(!mp.exists());
    assert_fails_with(&d, &["volume", "rm", "nope"], "no such volume");
    d.docker_ok(&["volume", "rm", "-f", "nope"]);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_prune_keeps_volumes_by_label() {
    let b = Berth::with_busybox("dk-volprune");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    d.docker_ok(&["volume", "create", "keep", "--label", "keep=1"]);
    d.docker_ok(&["volume", "create", "drop"]);
    let out = d.docker_ok(&["volume", "prune", "-f", "--filter", "label!=keep"]);
    assert!(out.contains("drop") && !out.contains("keep"), "{out}");
    assert_eq!(words(&d, &["volume", "ls", "-q"]), set(&["keep"]));
    let out = d.docker_ok(&["volume", "prune", "-f", "--filter", "label=keep=1"]);
    assert!(out.contains("keep"), "{out}");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]), "");
}

/// The rows of `docker system df` (or `berth system df`) as TYPE -> [TOTAL, ACTIVE, SIZE].
fn df_rows(table: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (kind, rest) = ["Images", "Containers", "Local Volumes", "Build Cache"]
                .iter()
                .find_map(|k| Some((*k, l.strip_prefix(k)?)))?;
            let cols: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
            Some((kind.to_owned(), cols[..3].to_vec()))
        })
        .collect()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_system_df_shows_the_image_the_container_and_the_volume() {
    let b = Berth::with_busybox("dk-df");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    d.docker_ok(&["volume", "create", "dfv"]);
    d.docker_ok(&["volume", "create", "idle"]);
    let w = d.docker(&[
        "run",
        "--name",
        "writer",
        "-v",
        "dfv:/d",
        "bb",
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /big; head -c 3000 /dev/zero > /d/v",
    ]);
    assert_eq!(code(&w), 0, "{}", stderr(&w));
    let id = d.docker_ok(&["inspect", "--format", "{{.Id}}", "writer"]);
    let short = &id.trim()[..12];

    let df = d.docker_ok(&["system", "df"]);
    let rows = df_rows(&df);
    let row = |k: &str| rows.get(k).unwrap_or_else(|| panic!("no {k} row: {df}"));
    assert_eq!(row("Images")[..2], ["1", "1"], "{df}");
    assert_ne!(row("Images")[2], "0B", "{df}");
    assert_eq!(row("Containers"), &["1", "0", "5kB"], "{df}");
    assert_eq!(row("Local Volumes"), &["2", "1", "3kB"], "{df}");
    assert_eq!(row("Build Cache")[..2], ["0", "0"], "{df}");
    // One engine: berth counts the same images, containers and volumes.
    let berth_rows = df_rows(&b.ok(&["system", "df"]));
    for k in ["Images", "Containers", "Local Volumes"] {
        assert_eq!(berth_rows[k][..2], row(k)[..2], "{k}: {df}");
    }
    assert_eq!(berth_rows["Containers"][2], "5kB");
    assert_eq!(berth_rows["Local Volumes"][2], "3kB");

    let v = d.docker_ok(&["system", "df", "-v"]);
    let line = |start: &str| {
        v.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?}: {v}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert!(v.contains("Images space usage:"), "{v}");
    let img = line("bb ");
    assert_eq!(img[1], "latest", "{v}");
    assert_eq!(img.last(), Some(&"1"), "one container uses bb: {v}");
    let ctr = line(short);
    assert!(ctr.contains(&"5kB") && ctr.contains(&"writer"), "{v}");
    assert_eq!(line("dfv"), ["dfv", "1", "3kB"], "{v}");
    assert_eq!(line("idle"), ["idle", "0", "0B"], "{v}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn berth_and_docker_share_one_volume_store() {
    let b = Berth::with_busybox("dk-volshare");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    b.ok(&["volume", "create", "fromberth", "--label", "by=berth"]);
    assert_eq!(words(&d, &["volume", "ls", "-q"]), set(&["fromberth"]));
    let label = d.docker_ok(&[
        "volume",
        "inspect",
        "--format",
        "{{.Labels.by}}",
        "fromberth",
    ]);
    assert_eq!(label.trim(), "berth");
    d.docker_ok(&["volume", "create", "fromdocker", "--label", "by=docker"]);
    let names: BTreeSet<String> = b
        .ok(&["volume", "ls", "-q"])
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, set(&["fromberth", "fromdocker"]));
    let v = b.json(&["volume", "inspect", "fromdocker"]);
    assert_eq!(v[0]["Labels"]["by"], "docker");

    // Data written by a berth container is read by a docker one.
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "fromdocker:/d",
        "bb",
        "sh",
        "-c",
        "echo from-berth > /d/f",
    ]);
    assert_eq!(
        d.docker_ok(&["run", "--rm", "-v", "fromdocker:/d", "bb", "cat", "/d/f"]),
        "from-berth\n"
    );
    // A berth container's use of a volume holds it against docker's rm.
    let id = b.ok(&[
        "run",
        "-d",
        "--name",
        "bholder",
        "-v",
        "fromdocker:/d",
        "bb",
        "sleep",
        "100",
    ]);
    assert_fails_with(
        &d,
        &["volume", "rm", "fromdocker"],
        &format!("volume is in use - [{}]", id.trim()),
    );
    b.ok(&["rm", "-f", "bholder"]);
    d.docker_ok(&["volume", "rm", "fromberth"]);
    b.ok(&["volume", "rm", "fromdocker"]);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]), "");
}

/// Whether `path` is a mount point here (the test shares berth's and berthd's mount namespace).
fn mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn local_driver_options_mount_a_tmpfs_or_a_bind_and_rm_keeps_the_bind_source() {
    let b = Berth::with_busybox("dk-volopt");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    // A tmpfs volume through the docker CLI: its size shows inside, its content lasts across
    // containers until the volume is removed.
    d.docker_ok(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=2m,mode=0750",
        "tv",
    ]);
    let opts = d.docker_ok(&["volume", "inspect", "--format", "{{json .Options}}", "tv"]);
    let opts: Value = serde_json::from_str(&opts).unwrap();
    assert_eq!(opts["o"], "size=2m,mode=0750");
    let df = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "tv:/t",
        "bb",
        "sh",
        "-c",
        "df -k /t | tail -1; stat -c %a /t; echo kept > /t/f",
    ]);
    let mut lines = df.lines();
    let total: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!((total[0], total[1]), ("tmpfs", "2048"), "{df}");
    assert_eq!(lines.next(), Some("750"));
    assert_eq!(
        b.ok(&["run", "--rm", "-v", "tv:/t", "bb", "cat", "/t/f"]),
        "kept\n"
    );
    let point = b.json(&["volume", "inspect", "tv"])[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(mounted(&point));
    d.docker_ok(&["volume", "rm", "tv"]);
    assert!(!mounted(&point), "the tmpfs stayed mounted");

    // A bind volume made with berth: the container sees and writes the host directory, and
    // removing the volume unmounts it without deleting what the directory holds.
    let src = b.root.path().join("bind-src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("keep"), "host data\n").unwrap();
    let device = format!("device={}", src.display());
    b.ok(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        "o=bind",
        "-o",
        &device,
        "bv",
    ]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "bv:/b",
        "bb",
        "sh",
        "-c",
        "cat /b/keep; echo new > /b/new",
    ]);
    assert_eq!(out, "host data\n");
    b.ok(&["volume", "rm", "bv"]);
    assert_eq!(
        std::fs::read_to_string(src.join("keep")).unwrap(),
        "host data\n"
    );
    assert_eq!(std::fs::read_to_string(src.join("new")).unwrap(), "new\n");

    // Unknown or incomplete options: a clear error, and no volume.
    assert_fails_with(
        &d,
        &["volume", "create", "--opt", "size=1g", "x"],
        "invalid option key",
    );
    let e = b.fails(&["volume", "create", "-o", "type=tmpfs", "y"]);
    assert!(e.contains("device is required"), "{e}");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
}
