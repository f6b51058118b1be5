//! Root tests of berthd's remaining container endpoints, driven by the stock docker CLI (and,
//! where the CLI hides the wire shape, a raw HTTP request on the socket): rename, pause and
//! unpause, top, stats (one-shot and streamed), diff, container prune with filters, and
//! commit then run of the committed image, with the error cases and the events dockerd logs
//! for each. Each test starts berthd in its own throwaway test host netns with temp roots.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_netns_tests::daemon::Berthd;
use common::{assert_fails_with, daemon, set, words};
use containers::{Cleanup, wait_until};
use fixture::Berth;
use serde_json::Value;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The actions of the container events in `[since, now]`, in order.
fn actions(d: &Berthd, since: u64, args: &[&str]) -> Vec<String> {
    let (s, u) = (since.to_string(), (now_secs() + 1).to_string());
    let mut all = vec![
        "events",
        "--since",
        &s,
        "--until",
        &u,
        "--filter",
        "type=container",
        "--format",
        "{{.Action}}",
    ];
    all.extend_from_slice(args);
    d.docker_ok(&all).lines().map(str::to_owned).collect()
}

/// `GET path` over HTTP/1.0 on the socket: the status code and the body.
fn get(sock: &Path, path: &str) -> (u16, String) {
    let mut s = UnixStream::connect(sock).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: berth\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// How many sockets berthd holds open.
fn open_sockets(d: &Berthd) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", d.pid()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .filter(|t| t.to_string_lossy().starts_with("socket:"))
        .count()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_renames_pauses_and_lists_the_processes_of_containers() {
    let b = Berth::with_busybox("dk-ren");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let t0 = now_secs();
    // (x1: a name no hex id starts with, so `inspect x1` cannot match an id prefix)
    d.docker_ok(&["run", "-d", "--name", "x1", "bb", "sleep", "1000"]);
    d.docker_ok(&["create", "--name", "idle", "bb", "true"]);

    d.docker_ok(&["rename", "x1", "c2"]);
    assert_eq!(
        d.docker_ok(&["inspect", "--format", "{{.Name}} {{.State.Running}}", "c2"]),
        "/c2 true\n"
    );
    assert_fails_with(&d, &["container", "inspect", "x1"], "No such container: x1");
    assert_fails_with(&d, &["rename", "c2", "idle"], "is already in use");
    assert_fails_with(&d, &["rename", "nope", "x"], "No such container: nope");
    assert_fails_with(&d, &["rename", "c2", "bad/name"], "invalid container name");
    // berth sees the new name too.
    assert!(b.ok(&["ps"]).contains("c2"));
    // The container's own /etc/hosts line names it c2 now, not x1.
    let hosts = d.docker_ok(&["exec", "c2", "cat", "/etc/hosts"]);
    let own = hosts.lines().last().unwrap_or_default();
    assert!(own.ends_with(" c2"), "{hosts}");
    assert!(!hosts.contains(" x1"), "{hosts}");

    d.docker_ok(&["pause", "c2"]);
    let status = d.docker_ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        status.starts_with("c2 Up") && status.contains("(Paused)"),
        "{status}"
    );
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.Paused}}",
            "c2"
        ]),
        "paused true\n"
    );
    assert_fails_with(&d, &["pause", "c2"], "is already paused");
    d.docker_ok(&["unpause", "c2"]);
    let status = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(!status.contains("Paused"), "{status}");
    assert_fails_with(&d, &["unpause", "c2"], "is not paused");
    assert_fails_with(&d, &["pause", "idle"], "is not running");
    assert_fails_with(&d, &["unpause", "idle"], "is not running");

    let top = d.docker_ok(&["top", "c2"]);
    let mut lines = top.lines();
    let header = lines.next().unwrap();
    assert!(header.contains("PID") && header.contains("CMD"), "{top}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{top}");
    assert!(rows[0].ends_with("sleep 1000"), "{top}");
    let custom = d.docker_ok(&["top", "c2", "-o", "pid,args"]);
    assert_eq!(
        custom
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["PID", "COMMAND"]
    );
    assert_fails_with(&d, &["top", "idle"], "is not running");

    assert_eq!(
        actions(&d, t0, &["--filter", "container=c2"])
            .into_iter()
            .filter(|a| ["rename", "pause", "unpause"].contains(&a.as_str()))
            .collect::<Vec<_>>(),
        ["rename", "pause", "unpause"]
    );
    let old = d.docker_ok(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &(now_secs() + 1).to_string(),
        "--filter",
        "event=rename",
        "--format",
        "{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}",
    ]);
    assert_eq!(old, "/x1 c2\n");
    d.docker_ok(&["rm", "-f", "c2", "idle"]);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_stats_reads_the_cgroup_once_and_as_a_stream() {
    let b = Berth::with_busybox("dk-stats");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--memory",
        "64m",
        "bb",
        "sh",
        "-c",
        "sleep 1000 & while true; do :; done",
    ]);
    let row = d.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}} {{.MemUsage}}",
        "busy",
    ]);
    let f: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&f[..2], ["busy", "2"], "{row}");
    assert_eq!(f.last().copied(), Some("64MiB"), "{row}");
    let cpu = d.docker_ok(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", "busy"]);
    let pct: f64 = cpu.trim().trim_end_matches('%').parse().unwrap();
    assert!(pct > 5.0, "the busy loop shows: {cpu}"); // loosely: the machine may be loaded

    // The wire shape, as dockerd's.
    let (status, body) = get(&d.sock, "/v1.41/containers/busy/stats?stream=0");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["name"], "/busy");
    assert_eq!(v["pids_stats"]["current"], 2);
    assert_eq!(v["memory_stats"]["limit"], 64 << 20);
    assert!(v["cpu_stats"]["online_cpus"].as_u64().unwrap() >= 1, "{v}");
    assert!(
        v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(
        v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap()
            > v["precpu_stats"]["cpu_usage"]["total_usage"]
                .as_u64()
                .unwrap(),
        "{v}"
    );
    assert_ne!(v["preread"], "0001-01-01T00:00:00Z");
    assert!(v["networks"]["eth0"]["rx_bytes"].is_u64(), "{v}");
    assert!(v.get("blkio_stats").is_some(), "{v}");
    let (_, one) = get(&d.sock, "/v1.41/containers/busy/stats?stream=0&one-shot=1");
    let one: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(get(&d.sock, "/v1.41/containers/nope/stats?stream=0").0, 404);

    // A stream sends an object a second until the client hangs up.
    let before = open_sockets(&d);
    let mut s = UnixStream::connect(&d.sock).unwrap();
    write!(
        s,
        "GET /v1.41/containers/busy/stats HTTP/1.1\r\nHost: berth\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut objects = 0;
    let mut line = String::new();
    while objects < 2 {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "stream ended early");
        // Chunk-size lines of the chunked body may parse as JSON numbers: objects only.
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(line.trim()) {
            assert_eq!(v["name"], "/busy");
            objects += 1;
        }
    }
    drop(r);
    assert!(
        wait_until(Duration::from_secs(5), || open_sockets(&d) <= before),
        "berthd still holds the stream of a client that hung up"
    );
    d.docker_ok(&["rm", "-f", "busy"]);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_diff_and_commit_turn_a_containers_changes_into_an_image() {
    let b = Berth::with_busybox("dk-commit");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let t0 = now_secs();
    d.docker_ok(&[
        "run",
        "--name",
        "w",
        "bb",
        "sh",
        "-c",
        "echo hello > /hello.txt && rm /www/index.html && echo x >> /etc/passwd",
    ]);
    let diff = d.docker_ok(&["diff", "w"]);
    assert_eq!(
        diff.lines().collect::<Vec<_>>(),
        [
            "C /etc",
            "C /etc/passwd",
            "A /hello.txt",
            "C /www",
            "D /www/index.html"
        ],
        "{diff}"
    );
    // berth diff reads the same layer.
    assert_eq!(b.ok(&["diff", "w"]), diff);
    assert_fails_with(&d, &["diff", "nope"], "No such container");

    let id = d.docker_ok(&["commit", "-m", "snapshot", "w", "snap:v1"]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(
        d.docker_ok(&["run", "--rm", "snap:v1", "cat", "/hello.txt"]),
        "hello\n"
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "snap:v1", "ls", "/www"]),
        "",
        "the deletion is in the image"
    );
    d.docker_ok(&[
        "commit",
        "--change",
        "CMD [\"cat\", \"/hello.txt\"]",
        "--change",
        "ENV GREETING=hi",
        "w",
        "snap:v2",
    ]);
    assert_eq!(d.docker_ok(&["run", "--rm", "snap:v2"]), "hello\n");
    assert_eq!(
        d.docker_ok(&["run", "--rm", "snap:v2", "sh", "-c", "echo $GREETING"]),
        "hi\n"
    );
    assert_fails_with(
        &d,
        &["commit", "--change", "RUN rm -rf /", "w", "snap:bad"],
        "is not a valid change command",
    );
    assert_fails_with(&d, &["commit", "nope", "snap:x"], "No such container");

    // A running container is frozen only while it is committed.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "bb",
        "sh",
        "-c",
        "echo on > /live; sleep 1000",
    ]);
    assert!(wait_until(Duration::from_secs(5), || {
        d.docker_ok(&["diff", "live"]).contains("A /live")
    }));
    d.docker_ok(&["commit", "live", "snap:live"]);
    assert_eq!(
        d.docker_ok(&["inspect", "--format", "{{.State.Status}}", "live"]),
        "running\n"
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "snap:live", "cat", "/live"]),
        "on\n"
    );

    let commits: Vec<String> = actions(&d, t0, &["--filter", "event=commit"]);
    assert_eq!(commits.len(), 3, "{commits:?}");
    d.docker_ok(&["rm", "-f", "w", "live"]);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_container_prune_removes_stopped_containers_by_label() {
    let b = Berth::with_busybox("dk-prune");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let t0 = now_secs();
    d.docker_ok(&["run", "-d", "--name", "up", "bb", "sleep", "1000"]);
    let kept = d.docker_ok(&[
        "create", "--name", "kept", "--label", "keep=1", "bb", "true",
    ]);
    let gone = d.docker_ok(&["run", "--name", "gone", "bb", "sh", "-c", "echo data > /f"]);
    let _ = gone;
    let gone_id = d.docker_ok(&["inspect", "--format", "{{.Id}}", "gone"]);

    let out = d.docker_ok(&["container", "prune", "-f", "--filter", "label!=keep"]);
    assert!(out.contains(gone_id.trim()), "{out}");
    assert!(!out.contains(kept.trim()), "{out}");
    assert!(out.contains("Total reclaimed space: 5B"), "{out}");
    assert_eq!(
        words(&d, &["ps", "-a", "--format", "{{.Names}}"]),
        set(&["up", "kept"])
    );
    let out = d.docker_ok(&["container", "prune", "-f", "--filter", "label=keep=1"]);
    assert!(out.contains(kept.trim()), "{out}");
    // The running one stays; nothing is left to prune.
    let out = d.docker_ok(&["container", "prune", "-f"]);
    assert!(!out.contains("Deleted"), "{out}");
    assert_eq!(
        words(&d, &["ps", "-a", "--format", "{{.Names}}"]),
        set(&["up"])
    );
    assert_fails_with(
        &d,
        &["container", "prune", "-f", "--filter", "colour=red"],
        "invalid filter",
    );

    let prunes = actions(&d, t0, &["--filter", "event=prune"]);
    assert_eq!(prunes.len(), 3, "{prunes:?}");
    d.docker_ok(&["rm", "-f", "up"]);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
