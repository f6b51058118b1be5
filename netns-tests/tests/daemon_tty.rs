//! Root tests of `docker run -it` and `docker exec -it|-t` through berthd: the docker CLI
//! runs on a pty the test opens and drives like a user at a terminal; the container's or the
//! exec's process gets a terminal of the client's size, follows its resizes, reads its keys
//! and hands back its exit code.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;
#[path = "pty_cli/mod.rs"]
mod pty_cli;

use common::daemon;
use containers::Cleanup;
use fixture::Berth;
use pty_cli::PtyCli;

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_run_it_gives_a_terminal_that_follows_the_clients() {
    let b = Berth::with_busybox("dk-tty");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let cmd = d.docker_cmd(&["run", "-it", "--name", "t1", "bb", "sh"]);
    let mut cli = PtyCli::spawn_command(cmd, 33, 101);
    cli.type_in("stty size; echo ok-$((6*7))\n");
    cli.expect("33 101");
    cli.expect("ok-42");
    cli.resize(40, 120);
    // The CLI passes the new size on SIGWINCH; ask until the shell sees it.
    let mut seen = false;
    for _ in 0..50 {
        cli.type_in("stty size\n");
        std::thread::sleep(std::time::Duration::from_millis(100));
        while cli.read_some(std::time::Duration::from_millis(50)) {}
        if cli.seen.contains("40 120") {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "the resize never reached the container: {:?}",
        cli.seen
    );
    cli.type_in("exit 3\n");
    assert_eq!(cli.wait(), 3, "{:?}", cli.seen);
    d.docker_ok(&["rm", "t1"]);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_exec_it_runs_on_a_pty_of_the_clients_size() {
    let b = Berth::with_busybox("dk-xtty");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    d.docker_ok(&["run", "-d", "--name", "e", "bb", "sleep", "1000"]);
    let cmd = d.docker_cmd(&["exec", "-it", "e", "sh"]);
    let mut cli = PtyCli::spawn_command(cmd, 33, 101);
    cli.type_in("tty; echo size-$(stty size | tr ' ' x)\n");
    cli.expect("/dev/pts/");
    cli.expect("size-33x101");
    cli.type_in("exit 5\n");
    assert_eq!(cli.wait(), 5, "{:?}", cli.seen);
    // -t without -i: raw output, a terminal on the process's side, the exit code back.
    let out = d.docker(&[
        "exec",
        "-t",
        "e",
        "sh",
        "-c",
        "test -t 1 && echo on-a-tty; exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "on-a-tty\r\n");
    let v: serde_json::Value = serde_json::from_str(&d.docker_ok(&["inspect", "e"])).unwrap();
    assert_eq!(v[0]["State"]["Running"], true);
    d.docker_ok(&["rm", "-f", "e"]);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
