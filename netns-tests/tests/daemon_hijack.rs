//! Root test of a plain hijack (an attach without `Upgrade: tcp`, as dockerd also serves it):
//! berthd answers `200` with the raw-stream type and `Connection: close`, then the connection
//! carries stdin one way and the multiplexed output the other, bytes sent right behind the
//! request included.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::daemon;
use containers::Cleanup;
use fixture::Berth;

/// Reads the answer's head (up to the empty line) byte by byte, leaving the stream after it.
fn read_head(s: &mut UnixStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut b).unwrap(),
            1,
            "the answer ended early: {head:?}"
        );
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Multiplexed frames from `s` until it closes: (stream byte, payload) concatenated per stream.
fn read_frames(s: &mut UnixStream) -> (String, String) {
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    let mut rest = &all[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let payload = String::from_utf8_lossy(&rest[8..8 + len]).into_owned();
        match rest[0] {
            1 => out.push_str(&payload),
            _ => err.push_str(&payload),
        }
        rest = &rest[8 + len..];
    }
    (out, err)
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_plain_hijack_carries_stdin_and_output() {
    let b = Berth::with_busybox("dk-hijack");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let id = d.docker_ok(&[
        "create",
        "-i",
        "--name",
        "h",
        "bb",
        "sh",
        "-c",
        "read a; read b; echo got-$a-$b; echo e >&2",
    ]);
    let id = id.trim();
    let mut s = UnixStream::connect(&d.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The first line rides right behind the request: hyper has read it with the head.
    write!(
        s,
        "POST /v1.41/containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nContent-Length: 0\r\n\r\none\n"
    )
    .unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/vnd.docker.raw-stream"),
        "{head}"
    );
    assert!(lower.contains("connection: close"), "{head}");
    d.docker_ok(&["start", "h"]);
    s.write_all(b"two\n").unwrap();
    let (out, err) = read_frames(&mut s);
    assert_eq!((out.as_str(), err.as_str()), ("got-one-two\n", "e\n"));
    assert_eq!(d.docker_ok(&["wait", "h"]), "0\n");
    // The upgrade kind still works next to it (the docker CLI's own attach, stdin too).
    let mut run = d.docker_cmd(&["run", "--rm", "-i", "bb", "sh", "-c", "read x; echo up-$x"]);
    run.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = run.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"graded\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "up-graded\n");
    d.docker_ok(&["rm", "h"]);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
