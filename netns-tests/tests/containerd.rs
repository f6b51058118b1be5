//! containerd as a second real client of berth-runtime: Debian's containerd 1.6 with its
//! runc shim v2 told to use berth-runtime (`ctr run --runc-binary`, which sets `BinaryName`
//! in the runc options), started by each test in a throwaway mount + net namespace
//! ([`berth_netns_tests::containerd`]). `ctr` imports an image berth saved, then runs it:
//! `--rm` with the exit code, detached with `task exec`, `kill` and `delete`, memory and pids
//! limits (in a spec from `ctr oci spec`), `--tty` through a pty (`script`), and a netns from
//! `berth netns add` joined with `--with-ns`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "cli_net/fixture.rs"]
mod fixture;

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_netns_tests::build::runtime_bin;
use berth_netns_tests::containerd::Containerd;
use berth_netns_tests::oci_bundle::make_rootfs;
use fixture::Berth;
use serde_json::{Value, json};

/// containerd with the busybox image berth imported and saved, imported as `bb:latest`.
fn containerd_with_busybox(b: &Berth) -> Containerd {
    let ctd = Containerd::start();
    let tar = ctd.scratch().join("bb.tar");
    b.ok(&["save", "-o", tar.to_str().unwrap(), "bb:latest"]);
    ctd.ctr_ok(&["image", "import", tar.to_str().unwrap()]);
    assert!(ctd.ctr_ok(&["image", "ls", "-q"]).contains("bb:latest"));
    ctd
}

fn runtime() -> String {
    runtime_bin().display().to_string()
}

/// A container id no other test (or containerd) uses: cgroup paths are `/default/<id>`.
fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

fn wait_status(ctd: &Containerd, id: &str, want: &str) {
    for _ in 0..500 {
        let ls = ctd.ctr_ok(&["task", "ls"]);
        if ls.lines().any(|l| l.starts_with(id) && l.contains(want)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("task {id} never {want}: {}", ctd.ctr_ok(&["task", "ls"]));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ctr_run_rm_gives_the_output_and_exit_code() {
    let b = Berth::with_busybox("ctd-rm");
    let ctd = containerd_with_busybox(&b);
    let id = unique("rm");
    let rt = runtime();
    let out = ctd.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        &rt,
        "bb:latest",
        &id,
        "sh",
        "-c",
        "echo hello; echo oops >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", ctd.log());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("oops"));
    assert!(ctd.tasks().is_empty());
    assert!(!ctd.ctr_ok(&["container", "ls", "-q"]).contains(&id));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ctr_detached_task_execs_has_its_limits_and_is_killed_and_deleted() {
    let b = Berth::with_busybox("ctd-d");
    let ctd = containerd_with_busybox(&b);
    let id = unique("det");
    let rt = runtime();
    // ctr's own default spec, with limits (ctr 1.6 has a flag for memory only) and, as ctr
    // takes no image with a spec, a busybox root of the test's.
    let mut spec: Value = serde_json::from_str(&ctd.ctr_ok(&["oci", "spec"])).unwrap();
    let rootfs = ctd.scratch().join("rootfs");
    make_rootfs(&rootfs);
    spec["root"] = json!({"path": rootfs, "readonly": false});
    let limit = 64u64 << 20;
    spec["process"]["args"] = json!(["sleep", "600"]);
    spec["process"]["env"] = json!(["PATH=/bin"]);
    spec["linux"]["cgroupsPath"] = json!(format!("/default/{id}"));
    spec["linux"]["resources"]["memory"] = json!({"limit": limit});
    spec["linux"]["resources"]["pids"] = json!({"limit": 17});
    let spec_path = ctd.scratch().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    ctd.ctr_ok(&[
        "run",
        "-d",
        "--runc-binary",
        &rt,
        "--config",
        spec_path.to_str().unwrap(),
        &id,
    ]);
    wait_status(&ctd, &id, "RUNNING");
    // The shim drove berth-runtime: its state record (runc's has no `pid_start`).
    let state = format!("/run/containerd/runc/default/{id}/state.json");
    let state = ctd.command_in_ns("cat", &[&state]).output().unwrap();
    let state = String::from_utf8_lossy(&state.stdout).into_owned();
    assert!(state.contains("\"pid_start\""), "{state}");

    let exec = ctd.ctr_ok(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "sh",
        "-c",
        "echo in-$((6*7))",
    ]);
    assert_eq!(exec, "in-42\n");
    let cg = |ctrl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/default/{id}/{file}"))
            .unwrap_or_default()
    };
    assert_eq!(
        cg("memory", "memory.limit_in_bytes").trim(),
        limit.to_string()
    );
    assert_eq!(cg("pids", "pids.max").trim(), "17");

    ctd.ctr_ok(&["task", "kill", "-s", "SIGKILL", &id]);
    wait_status(&ctd, &id, "STOPPED");
    ctd.ctr_ok(&["task", "delete", &id]);
    ctd.ctr_ok(&["container", "rm", &id]);
    assert!(ctd.tasks().is_empty());
    assert!(!Path::new(&format!("/sys/fs/cgroup/memory/default/{id}")).exists());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ctr_run_tty_gets_a_pty() {
    let b = Berth::with_busybox("ctd-tty");
    let ctd = containerd_with_busybox(&b);
    let id = unique("tty");
    let ctr = ctd.ctr_command(&[
        "run",
        "--rm",
        "--tty",
        "--runc-binary",
        &runtime(),
        "bb:latest",
        &id,
        "sh",
        "-c",
        "tty; [ -t 0 ] && echo stdin-is-a-tty",
    ]);
    let line: Vec<String> = std::iter::once(ctr.get_program())
        .chain(ctr.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{text} {}", ctd.log());
    assert!(text.contains("/dev/pts/0\n"), "{text}");
    assert!(text.contains("stdin-is-a-tty\n"), "{text}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn ctr_joins_a_netns_berth_made() {
    let b = Berth::with_busybox("ctd-ns");
    // Made before containerd starts, so its mount is in containerd's copy of the mounts.
    b.ok(&["netns", "add", "ctdns"]);
    let path = b.netns_path("ctdns");
    let want = format!("net:[{}]", std::fs::metadata(&path).unwrap().ino());
    let ctd = containerd_with_busybox(&b);
    let id = unique("ns");
    let with = format!("network:{}", path.display());
    let out = ctd.ctr_ok(&[
        "run",
        "--rm",
        "--runc-binary",
        &runtime(),
        "--with-ns",
        &with,
        "bb:latest",
        &id,
        "readlink",
        "/proc/self/ns/net",
    ]);
    drop(ctd);
    b.ok(&["netns", "rm", "ctdns"]);
    assert_eq!(out.trim(), want);
}
