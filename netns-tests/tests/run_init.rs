//! Root tests of `berth run --init`: catatonit runs as PID 1 of the container, starts the
//! command, reaps orphans, forwards signals and passes the exit code on.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::time::Duration;

use containers::{Cleanup, berth_with_busybox, code, wait_until};
use fixture::Berth;

/// `/proc/<pid>/stat` of every process in the container.
fn stats(b: &Berth, name: &str) -> String {
    b.ok(&["exec", name, "sh", "-c", "cat /proc/[0-9]*/stat"])
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn init_is_pid_1_and_passes_the_exit_code_on() {
    let b = berth_with_busybox("init-pid1");
    let _c = Cleanup(&b);
    let out = b.ok(&[
        "run",
        "--rm",
        "--init",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$",
    ]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("/run/berth-init -- sh -c tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$ ")
    );
    let pid: u32 = lines.next().unwrap().parse().unwrap();
    assert_ne!(pid, 1, "{out}");
    let exit7 = b.run(&["run", "--rm", "--init", "bb", "sh", "-c", "exit 7"]);
    assert_eq!(
        code(&exit7),
        7,
        "{}",
        String::from_utf8_lossy(&exit7.stderr)
    );
    // inspect records it, as Docker's HostConfig.Init.
    b.ok(&["run", "-d", "--init", "--name", "i", "bb", "sleep", "1000"]);
    let v = b.json(&["inspect", "i"]);
    assert_eq!(v[0]["HostConfig"]["Init"], true, "{v}");
    let init_path = v[0]["HostConfig"]["InitPath"].as_str().unwrap();
    assert!(std::path::Path::new(init_path).is_file(), "{v}");
    let stat = stats(&b, "i");
    assert!(stat.starts_with("1 (berth-init) "), "{stat}");
    assert!(
        stat.contains(" (sleep) S 1 "),
        "sleep is the init's child: {stat}"
    );
    // Without --init the command is PID 1 and Init is false.
    b.ok(&["run", "-d", "--name", "plain", "bb", "sleep", "1000"]);
    assert_eq!(
        b.json(&["inspect", "plain"])[0]["HostConfig"]["Init"],
        false
    );
    assert!(stats(&b, "plain").starts_with("1 (sleep) "));
}

/// Starts `sh -c 'sh -c "sleep 1 &"; exec sleep 1000'`: the short sleep is orphaned, so PID 1
/// inherits it. Returns whether it is still a zombie a second after it exited: an init reaps
/// it at once, a plain `sleep` as PID 1 never does. (A zombie may be glimpsed for an instant
/// even under an init, between the exit and the reap, so only one that stays counts.)
fn orphan_left_a_zombie(b: &Berth, name: &str, init: bool) -> bool {
    let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
    if init {
        args.push("--init");
    }
    args.extend(["bb", "sh", "-c", "sh -c 'sleep 1 &'; exec sleep 1000"]);
    b.ok(&args);
    let running = |s: &str| {
        s.lines()
            .filter(|l| l.contains("(sleep)") && !l.contains(") Z "))
            .count()
    };
    let started = wait_until(Duration::from_secs(10), || running(&stats(b, name)) == 2);
    assert!(started, "the orphan never ran: {}", stats(b, name));
    let ended = wait_until(Duration::from_secs(15), || running(&stats(b, name)) == 1);
    assert!(ended, "the orphan never ended: {}", stats(b, name));
    std::thread::sleep(Duration::from_secs(1));
    stats(b, name).lines().any(|l| l.contains(") Z "))
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn init_reaps_orphans() {
    let b = berth_with_busybox("init-reap");
    let _c = Cleanup(&b);
    assert!(!orphan_left_a_zombie(&b, "with", true));
    // The same without an init leaves a zombie: the check above can fail.
    assert!(orphan_left_a_zombie(&b, "without", false));
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn init_forwards_stop_and_a_command_ignoring_it_is_killed() {
    let b = berth_with_busybox("init-stop");
    let _c = Cleanup(&b);
    // sleep as PID 1 would ignore SIGTERM (no handler) and be killed after 30 s with 137;
    // under the init it gets the forwarded TERM and dies of it.
    b.ok(&[
        "run", "-d", "--init", "--name", "fwd", "bb", "sleep", "1000",
    ]);
    b.ok(&["stop", "-t", "30", "fwd"]);
    assert_eq!(b.ok(&["wait", "fwd"]).trim(), "143");
    b.ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        "deaf",
        "bb",
        "sh",
        "-c",
        "trap '' TERM; sleep 1000",
    ]);
    b.ok(&["stop", "-t", "1", "deaf"]);
    let v = b.json(&["inspect", "deaf"]);
    assert_eq!(v[0]["State"]["Status"], "exited", "{v}");
    assert_eq!(v[0]["State"]["ExitCode"], 137, "{v}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_missing_init_is_125_and_leaves_nothing() {
    let b = berth_with_busybox("init-none");
    let _c = Cleanup(&b);
    let o = b.run(&[
        "run",
        "--rm",
        "--init",
        "--init-path",
        "/nonexistent/init",
        "bb",
        "true",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 125, "{err}");
    assert!(
        err.contains("--init-path") && err.contains("/nonexistent/init"),
        "{err}"
    );
    let o = b
        .command(&["run", "--rm", "--init", "bb", "true"])
        .env("BERTH_INIT_PATH", "/nonexistent/env-init")
        .output()
        .unwrap();
    assert_eq!(code(&o), 125);
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/env-init"));
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert!(b.reservations("bridge").is_empty());
    // --init-path names the init (here Debian's catatonit through a symlink of our own).
    let link = b.root.path().join("my-init");
    std::os::unix::fs::symlink("/usr/bin/catatonit", &link).unwrap();
    let out = b.ok(&[
        "run",
        "--rm",
        "--init",
        "--init-path",
        link.to_str().unwrap(),
        "bb",
        "sh",
        "-c",
        "echo $$",
    ]);
    assert_ne!(out.trim(), "1");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_command_not_found_under_the_init_is_127_as_without_it() {
    let b = berth_with_busybox("init-127");
    let _c = Cleanup(&b);
    // A volume with a script and a link to a host binary that the container does not have.
    let vol = b.root.path().join("vol");
    std::fs::create_dir(&vol).unwrap();
    fixture::script(&vol.join("hello"), "echo hello from the volume");
    std::os::unix::fs::symlink("/usr/bin/catatonit", vol.join("host-link")).unwrap();
    let v = format!("{}:/opt", vol.display());
    for cmd in ["nope", "/bin/nope", "/opt/host-link"] {
        let plain = b.run(&["run", "--rm", "-v", &v, "bb", cmd]);
        let init = b.run(&["run", "--rm", "--init", "-v", &v, "bb", cmd]);
        let err = String::from_utf8_lossy(&init.stderr);
        assert_eq!(
            code(&plain),
            127,
            "{}",
            String::from_utf8_lossy(&plain.stderr)
        );
        assert_eq!(code(&init), 127, "{cmd}: {err}");
        assert_eq!(err, String::from_utf8_lossy(&plain.stderr), "{cmd}");
        assert!(err.contains(&format!("\"{cmd}\" not found")), "{err}");
    }
    // Without --rm the container is not kept either (as without --init), nor its network.
    let o = b.run(&["run", "--init", "--name", "kept", "bb", "nope"]);
    assert_eq!(code(&o), 127);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert!(b.reservations("bridge").is_empty());
    assert_eq!(
        containers::processes_with(b.run.path().to_str().unwrap()),
        0
    );
    // The lookup sees the container's mounts, and a found command runs as before.
    let out = b.ok(&["run", "--rm", "--init", "-v", &v, "bb", "/opt/hello"]);
    assert_eq!(out, "hello from the volume\n");
    let out = b.ok(&[
        "run", "--rm", "--init", "-w", "/opt", "-v", &v, "bb", "./hello",
    ]);
    assert_eq!(out, "hello from the volume\n");
}
