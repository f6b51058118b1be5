//! Root tests of `--tmpfs` through berthd and `berth run`: the mount is a tmpfs with the
//! options asked for over Docker's defaults (`noexec,nosuid,nodev`), its size is enforced,
//! its contents are gone after a restart, `docker cp` reaches into it (it works in the
//! container's own mount namespace), and bad options are refused before anything is made.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use common::{assert_fails_with, daemon};
use containers::{Cleanup, code};
use fixture::Berth;

/// The options of the mount at `dest` in the container, as /proc/mounts lists them.
fn mount_line(d: &berth_netns_tests::daemon::Berthd, ctr: &str, dest: &str) -> String {
    d.docker_ok(&["exec", ctr, "cat", "/proc/mounts"])
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(dest))
        .unwrap_or_else(|| panic!("no mount at {dest}"))
        .to_owned()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn tmpfs_mounts_are_private_sized_and_fresh_on_each_start() {
    let b = Berth::with_busybox("dk-tmpfs");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "t",
        "--tmpfs",
        "/scratch:size=1m,mode=1770",
        "bb",
        "sleep",
        "1000",
    ]);
    let line = mount_line(&d, "t", "/scratch");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[2], "tmpfs", "{line}");
    for opt in ["nosuid", "nodev", "noexec", "size=1024k", "mode=1770"] {
        assert!(
            fields[3].split(',').any(|o| o == opt),
            "{opt} missing: {line}"
        );
    }
    assert_eq!(
        d.docker_ok(&["inspect", "--format", "{{json .HostConfig.Tmpfs}}", "t"]),
        "{\"/scratch\":\"size=1m,mode=1770\"}\n"
    );
    // The size holds: 2 MiB do not fit.
    let big = d.docker(&[
        "exec",
        "t",
        "dd",
        "if=/dev/zero",
        "of=/scratch/big",
        "bs=1024",
        "count=2048",
    ]);
    assert_ne!(code(&big), 0, "2 MiB fit in a 1 MiB tmpfs");
    d.docker_ok(&["exec", "t", "rm", "/scratch/big"]);

    // docker cp reaches into the tmpfs: it works in the container's mount namespace.
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("f");
    std::fs::write(&f, "in the tmpfs\n").unwrap();
    d.docker_ok(&["cp", f.to_str().unwrap(), "t:/scratch/"]);
    assert_eq!(
        d.docker_ok(&["exec", "t", "cat", "/scratch/f"]),
        "in the tmpfs\n"
    );
    // Not in the writable layer: a restart starts with an empty tmpfs.
    d.docker_ok(&["restart", "-t", "1", "t"]);
    let ls = d.docker_ok(&["exec", "t", "ls", "-A", "/scratch"]);
    assert_eq!(ls, "", "the tmpfs kept {ls:?}");

    // exec lifts noexec; bad options and places are refused with nothing made.
    d.docker_ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/x:exec",
        "bb",
        "sh",
        "-c",
        "grep ' /x ' /proc/mounts | grep -v noexec",
    ]);
    let before = d.docker_ok(&["ps", "-aq"]);
    assert_fails_with(
        &d,
        &["run", "--rm", "--tmpfs", "/x:colour=red", "bb", "true"],
        "unknown tmpfs option",
    );
    assert_fails_with(
        &d,
        &["run", "--rm", "--tmpfs", "/v", "-v", "vol:/v", "bb", "true"],
        "Duplicate mount point",
    );
    assert_eq!(d.docker_ok(&["ps", "-aq"]), before);

    // berth run takes the same flag.
    let out = b.ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/run/t:size=2m",
        "bb",
        "sh",
        "-c",
        "grep ' /run/t ' /proc/mounts",
    ]);
    assert!(out.contains("tmpfs") && out.contains("size=2048k"), "{out}");
    assert!(
        !b.run(&["run", "--rm", "--tmpfs", "rel", "bb", "true"])
            .status
            .success()
    );
    d.docker_ok(&["rm", "-f", "t"]);
}
