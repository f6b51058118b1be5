//! Root tests of interactive containers: `-i` (stdin through the shim), `-t` (a pty relayed
//! by the shim, berth's own terminal raw and its window size passed on), `berth attach`, and
//! `exec -i`/`-t`. The CLI runs on a pty the test opens and drives like a user at a terminal.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "cli_net/fixture.rs"]
mod fixture;
#[path = "pty_cli/mod.rs"]
mod pty_cli;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fixture::{Berth, Cleanup, code};
use pty_cli::{PATIENCE, PtyCli};

/// The container's exit code once it has exited.
fn exit_code_once_exited(b: &Berth, name: &str) -> i64 {
    let start = Instant::now();
    loop {
        let state = b.json(&["inspect", name])[0]["State"].clone();
        if state["Status"] == "exited" {
            return state["ExitCode"].as_i64().unwrap();
        }
        assert!(start.elapsed() < PATIENCE, "{name} still runs: {state}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs berth with `input` on its stdin; returns its stdout, panicking unless it succeeded.
fn ok_with_stdin(b: &Berth, args: &[&str], input: &str) -> String {
    let out = run_with_stdin(b, args, input);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs berth with `input` on its stdin (then closed).
fn run_with_stdin(b: &Berth, args: &[&str], input: &str) -> std::process::Output {
    let mut child = b
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn interactive_stdin_reaches_the_container_and_its_end_closes_it() {
    let b = Berth::with_busybox("tty-i");
    let _c = Cleanup(&b);
    let run = ["run", "-i", "--rm", "--network", "none", "bb", "cat"];
    assert_eq!(ok_with_stdin(&b, &run, "a\nb\n"), "a\nb\n");
    // Without -i the container's stdin is /dev/null: nothing of ours arrives.
    let run = ["run", "--rm", "--network", "none", "bb", "wc", "-c"];
    assert_eq!(ok_with_stdin(&b, &run, "not forwarded\n").trim(), "0");
    // create -i, then start -a -i attaches our stdin.
    let id = b.ok(&["create", "-i", "--network", "none", "bb", "cat"]);
    assert_eq!(
        ok_with_stdin(&b, &["start", "-a", "-i", id.trim()], "q\n"),
        "q\n"
    );
    // A CLI killed while attached ends the container's input too (StdinOnce).
    let mut cli = b
        .command(&["run", "-i", "--name", "k", "--network", "none", "bb", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cli.stdin.as_mut().unwrap().write_all(b"partial\n").unwrap();
    let mut line = String::new();
    BufReader::new(cli.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "partial\n");
    cli.kill().unwrap();
    cli.wait().unwrap();
    assert_eq!(exit_code_once_exited(&b, "k"), 0);
    // More input than the pipes and the shim's buffer hold, for a container that starts
    // reading late: the shim holds the rest back and loses nothing.
    let big = "0123456789abcdef\n".repeat(20_000);
    let late = "sleep 1; wc -c";
    let run = [
        "run",
        "-i",
        "--rm",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        late,
    ];
    let out = run_with_stdin(&b, &run, &big);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        big.len().to_string()
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn run_it_gives_a_terminal_of_our_size_and_restores_ours() {
    let b = Berth::with_busybox("tty-t");
    let _c = Cleanup(&b);
    let script = "tty; stty size; echo ready; read line; echo \"got [$line]\"; exit 3";
    let args = [
        "run",
        "-it",
        "--rm",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        script,
    ];
    let mut cli = PtyCli::spawn(&b, &args, 33, 101);
    let shown = cli.expect("ready");
    assert!(shown.contains("/dev/pts/"), "{shown}");
    assert!(shown.contains("33 101"), "{shown}");
    assert!(!cli.is_cooked(), "berth put its terminal in raw mode");
    cli.type_in("typed words\r");
    assert!(cli.expect("]").contains("got [typed words]"));
    assert_eq!(cli.wait(), 3);
    assert!(cli.is_cooked(), "berth restored its terminal");
    // create -it, then start -ai: the same terminal.
    let args = [
        "create",
        "-it",
        "--name",
        "c2",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "stty size; read x; exit 6",
    ];
    b.ok(&args);
    let mut cli = PtyCli::spawn(&b, &["start", "-ai", "c2"], 20, 70);
    cli.expect("20 70");
    cli.type_in("\r");
    assert_eq!(cli.wait(), 6);
    assert!(cli.is_cooked());
    b.ok(&["rm", "c2"]);
    // A signal to berth ends berth (not the container) with the terminal restored.
    let args = [
        "run",
        "-it",
        "--name",
        "s",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        "echo up; read x",
    ];
    let mut cli = PtyCli::spawn(&b, &args, 33, 101);
    cli.expect("up");
    assert!(!cli.is_cooked());
    let pid = nix::unistd::Pid::from_raw(cli.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(cli.wait(), 128 + 15);
    assert!(cli.is_cooked(), "berth restored its terminal");
    assert_eq!(b.json(&["inspect", "s"])[0]["State"]["Status"], "running");
    b.ok(&["rm", "-f", "s"]);
    // -t without -i needs no terminal on stdin; -it does, as in Docker.
    let tty = b.ok(&["run", "-t", "--rm", "--network", "none", "bb", "tty"]);
    assert!(tty.starts_with("/dev/pts/"), "{tty}");
    let out = b.run(&["run", "-it", "--rm", "--network", "none", "bb", "tty"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the input device is not a TTY"));
    assert!(
        b.ok(&["ps", "-aq"]).trim().is_empty(),
        "nothing was created"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_detached_tty_container_can_be_attached_resized_and_logged() {
    let b = Berth::with_busybox("tty-a");
    let _c = Cleanup(&b);
    // Runs the lines typed (a trapped signal interrupts `read`: the next round reads again).
    let sh = "trap 'stty size' WINCH; for i in 1 2 3 4 5 6 7 8; do read -r c && eval \"$c\"; done";
    b.ok(&[
        "run",
        "-d",
        "-it",
        "--name",
        "t",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        sh,
    ]);
    let mut cli = PtyCli::spawn(&b, &["attach", "t"], 33, 101);
    // The attach passes its window size on (the container's trap prints the new size) ...
    cli.expect("33 101");
    cli.type_in("echo hi-$((6*7))\r");
    cli.expect("hi-42\r\n");
    // ... and again on every SIGWINCH.
    cli.resize(40, 120);
    cli.expect("40 120");
    // ctrl-p ctrl-q detaches (exit 1, as Docker); the container runs on for the next attach.
    cli.type_in("\x10\x11");
    assert_eq!(cli.wait(), 1);
    assert!(cli.is_cooked());
    assert_eq!(b.json(&["inspect", "t"])[0]["State"]["Status"], "running");
    let mut cli = PtyCli::spawn(&b, &["attach", "t"], 40, 120);
    cli.type_in("echo again-$((6*7))\r");
    cli.expect("again-42\r\n");
    cli.type_in("exit 5\r");
    assert_eq!(cli.wait(), 5);
    assert!(cli.is_cooked());
    let logs = b.ok(&["logs", "t"]);
    assert!(logs.contains("hi-42"), "{logs}");
    let inspect = b.json(&["inspect", "t"]);
    assert_eq!(inspect[0]["Config"]["Tty"], true);
    assert_eq!(inspect[0]["State"]["ExitCode"], 5);
    let err = b.fails(&["attach", "t"]);
    assert!(err.contains("exited"), "{err}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn exec_i_pipes_stdin_and_exec_t_gets_a_terminal() {
    let b = Berth::with_busybox("tty-x");
    let _c = Cleanup(&b);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "e",
        "--network",
        "none",
        "bb",
        "sleep",
        "1000",
    ]);
    assert_eq!(ok_with_stdin(&b, &["exec", "-i", "e", "cat"], "x\n"), "x\n");
    let out = run_with_stdin(&b, &["exec", "e", "wc", "-c"], "not forwarded\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    let script = "tty; stty size; read line; echo \"got [$line]\"; exit 4";
    let mut cli = PtyCli::spawn(&b, &["exec", "-it", "e", "sh", "-c", script], 33, 101);
    let shown = cli.expect("33 101");
    assert!(shown.contains("/dev/pts/"), "{shown}");
    cli.type_in("more words\r");
    assert!(cli.expect("]").contains("got [more words]"));
    assert_eq!(cli.wait(), 4);
    assert!(cli.is_cooked());
    let out = b.run(&["exec", "-it", "e", "tty"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the input device is not a TTY"));
    let tty = b.ok(&["exec", "-t", "e", "tty"]);
    assert!(tty.starts_with("/dev/pts/"), "{tty}");
}

/// Waits until `probe` returns `true` (a condition berth brings about, checked every 100 ms).
fn eventually(what: &str, mut probe: impl FnMut() -> bool) {
    let start = Instant::now();
    while !probe() {
        assert!(start.elapsed() < PATIENCE, "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn custom_detach_keys_detach_and_the_default_ones_reach_the_container() {
    let b = Berth::with_busybox("tty-k");
    let _c = Cleanup(&b);
    // Prints each line it reads as hex bytes (-ixon: the pty's line discipline passes ^Q on).
    let sh = "stty -ixon; echo ready; while read -r l; do printf '%s' \"$l\" | od -An -tx1; done";
    let run = [
        "run",
        "-it",
        "--detach-keys",
        "ctrl-a,x",
        "--name",
        "k",
        "--network",
        "none",
        "bb",
        "sh",
        "-c",
        sh,
    ];
    let mut cli = PtyCli::spawn(&b, &run, 24, 80);
    cli.expect("ready");
    // ctrl-p ctrl-q is plain input now, and a ctrl-a that x does not follow is sent as typed.
    cli.type_in("\x10\x11\x01y\r");
    cli.expect(" 10 11 01 79");
    cli.type_in("\x01x");
    assert_eq!(cli.wait(), 1, "{:?}", cli.seen);
    assert!(cli.is_cooked());
    assert_eq!(b.json(&["inspect", "k"])[0]["State"]["Status"], "running");
    // exec -it with its own keys: the process runs on after the CLI detached (its pty kept
    // open: a hang-up would kill it).
    // /n is replaced by a rename, so a reader never sees it truncated and empty.
    let count =
        "i=0; while :; do i=$((i+1)); echo $i > /n.new; mv /n.new /n; echo tick $i; sleep 1; done";
    let exec = [
        "exec",
        "-it",
        "--detach-keys",
        "ctrl-x",
        "k",
        "sh",
        "-c",
        count,
    ];
    let mut cli = PtyCli::spawn(&b, &exec, 24, 80);
    cli.expect("tick 1");
    cli.type_in("\x18");
    assert_eq!(cli.wait(), 1, "{:?}", cli.seen);
    assert!(cli.is_cooked());
    let n = || -> u64 { b.ok(&["exec", "k", "cat", "/n"]).trim().parse().unwrap() };
    let after_detach = n();
    eventually("the exec'd process counts on", || n() >= after_detach + 3);
    // Bad keys are refused with 125 before anything is created or run.
    for args in [
        &[
            "run",
            "--detach-keys",
            "ctrl-?",
            "--name",
            "no",
            "bb",
            "true",
        ][..],
        &["exec", "--detach-keys", "ctrl-p,,q", "k", "touch", "/ran"],
        &["attach", "--detach-keys", "ab", "k"],
    ] {
        let out = b.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 125, "{args:?}: {err}");
        assert!(err.contains("invalid detach keys ("), "{err}");
    }
    let env_keys = |keys: &str| {
        b.command(&["run", "--rm", "--network", "none", "bb", "true"])
            .env("BERTH_DETACH_KEYS", keys)
            .output()
            .unwrap()
    };
    let out = env_keys("ctrl-");
    assert_eq!(code(&out), 125, "BERTH_DETACH_KEYS is read");
    assert!(String::from_utf8_lossy(&out.stderr).contains("(ctrl-)"));
    assert_eq!(code(&env_keys("ctrl-x")), 0);
    assert_eq!(b.ok(&["ps", "-aq"]).lines().count(), 1);
    let ran = b.run(&["exec", "k", "test", "-e", "/ran"]);
    assert_eq!(code(&ran), 1, "the exec with bad keys did not run");
}
