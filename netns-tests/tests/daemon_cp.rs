//! Root tests of `docker cp` through berthd (`/containers/{id}/archive`) and of `berth cp`:
//! both directions, docker's naming rules, a running container's volume seen as the
//! container sees it, a stopped container, and symlinks in the container that point at `/`
//! or `/etc` resolving inside the container, never on the host. berthd runs in its own
//! throwaway host netns with temp roots (as `daemon.rs` does).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::fs;

use common::{assert_fails_with, daemon, stderr};
use containers::{Cleanup, code};
use fixture::Berth;

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_cp_copies_both_ways_inside_the_container_only() {
    let b = Berth::with_busybox("dk-cp");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let host = tempfile::tempdir().unwrap();
    let h = |p: &str| host.path().join(p);
    let hs = |p: &str| h(p).display().to_string();
    fs::write(h("note"), "from the host\n").unwrap();
    fs::create_dir_all(h("tree/sub")).unwrap();
    fs::write(h("tree/sub/leaf"), "leaf\n").unwrap();

    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-v",
        "data:/data",
        "bb",
        "sleep",
        "1000",
    ]);
    d.docker_ok(&["exec", "web", "mkdir", "/tmp"]);
    // Host to container: into a directory, as a new name, a directory as a new directory.
    d.docker_ok(&["cp", &hs("note"), "web:/tmp/"]);
    d.docker_ok(&["cp", &hs("note"), "web:/tmp/renamed"]);
    d.docker_ok(&["cp", &hs("tree"), "web:/tmp/copied"]);
    let cat = |p: &str| d.docker_ok(&["exec", "web", "cat", p]);
    assert_eq!(cat("/tmp/note"), "from the host\n");
    assert_eq!(cat("/tmp/renamed"), "from the host\n");
    assert_eq!(cat("/tmp/copied/sub/leaf"), "leaf\n");
    // Owned by root unless -a keeps the host's owner.
    assert_eq!(
        d.docker_ok(&["exec", "web", "stat", "-c", "%u", "/tmp/note"]),
        "0\n"
    );

    // Into the container's volume: a second container sees it there.
    d.docker_ok(&["cp", &hs("note"), "web:/data/"]);
    assert_eq!(
        d.docker_ok(&["run", "--rm", "-v", "data:/data", "bb", "cat", "/data/note"]),
        "from the host\n"
    );

    // Container to host: a file into a directory, a directory's contents with `/.`.
    d.docker_ok(&["cp", "web:/etc/hostname", &hs("")]);
    eprintln!(
        "LS {:?}",
        fs::read_dir(host.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        fs::read_to_string(h("hostname")).unwrap(),
        cat("/etc/hostname")
    );
    d.docker_ok(&["cp", "web:/tmp/copied/.", &hs("poured")]);
    assert_eq!(fs::read_to_string(h("poured/sub/leaf")).unwrap(), "leaf\n");

    // Symlinks in the container lead inside it: `/tmp/up -> /` reads the container's
    // /etc/passwd, a write through `/tmp/etc -> /etc` lands in the container's /etc.
    d.docker_ok(&["exec", "web", "ln", "-s", "/", "/tmp/up"]);
    d.docker_ok(&["exec", "web", "ln", "-s", "/etc", "/tmp/etc"]);
    d.docker_ok(&["cp", "web:/tmp/up/etc/passwd", &hs("passwd")]);
    assert_eq!(fs::read_to_string(h("passwd")).unwrap(), cat("/etc/passwd"));
    let marker = format!("berth-cp-test-{}", std::process::id());
    fs::write(h(&marker), "inside\n").unwrap();
    d.docker_ok(&["cp", &hs(&marker), "web:/tmp/etc/"]);
    assert_eq!(cat(&format!("/etc/{marker}")), "inside\n");
    assert!(!std::path::Path::new("/etc").join(&marker).exists());

    // Errors: a missing path, a missing container, a directory onto a file.
    assert_fails_with(
        &d,
        &["cp", "web:/nope", &hs("x")],
        "Could not find the file /nope in container web",
    );
    assert_fails_with(
        &d,
        &["cp", "ghost:/etc/passwd", &hs("x")],
        "No such container: ghost",
    );
    assert_fails_with(
        &d,
        &["cp", &hs("tree"), "web:/tmp/note"],
        "cannot copy directory",
    );

    // A stopped container: copies both ways work on its root, and the next start sees them.
    d.docker_ok(&["stop", "-t", "1", "web"]);
    d.docker_ok(&["cp", "web:/tmp/renamed", &hs("back")]);
    assert_eq!(fs::read_to_string(h("back")).unwrap(), "from the host\n");
    fs::write(h("late"), "while stopped\n").unwrap();
    d.docker_ok(&["cp", &hs("late"), "web:/"]);
    d.docker_ok(&["start", "web"]);
    assert_eq!(cat("/late"), "while stopped\n");

    // A read-only root refuses writes.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "ro",
        "--read-only",
        "bb",
        "sleep",
        "1000",
    ]);
    assert_fails_with(&d, &["cp", &hs("note"), "ro:/"], "read-only");

    // The same engine behind `berth cp`: both directions on docker's container.
    b.ok(&["cp", "web:/late", &hs("via-berth")]);
    assert_eq!(
        fs::read_to_string(h("via-berth")).unwrap(),
        "while stopped\n"
    );
    b.ok(&["cp", &hs("tree"), "web:/tmp/berth-tree"]);
    assert_eq!(cat("/tmp/berth-tree/sub/leaf"), "leaf\n");
    b.ok(&["cp", "web:/tmp/berth-tree/.", &hs("berth-poured")]);
    assert_eq!(
        fs::read_to_string(h("berth-poured/sub/leaf")).unwrap(),
        "leaf\n"
    );
    let out = b.run(&["cp", "web:/nope", &hs("y")]);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("Could not find the file /nope"),
        "{}",
        stderr(&out)
    );

    d.docker_ok(&["rm", "-f", "web", "ro"]);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
