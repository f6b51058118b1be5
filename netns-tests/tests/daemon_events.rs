//! Root tests of berthd's `GET /events`, driven by the stock docker CLI: the event log is the
//! engine's, so what `berth` does shows up in `docker events` next to what docker did through
//! berthd; `--since`/`--until` replay a window and end, a follow sees new events at once, and
//! a client that hangs up frees its follower.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_netns_tests::daemon::Berthd;
use common::{assert_fails_with, daemon};
use containers::{Cleanup, code, wait_until};
use fixture::Berth;
use serde_json::Value;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `docker events --since SINCE --until UNTIL ARGS` as parsed JSON lines; it must end by
/// itself (the window is in the past).
fn window(d: &Berthd, since: u64, until: u64, args: &[&str]) -> Vec<Value> {
    let (s, u) = (since.to_string(), until.to_string());
    let mut all = vec![
        "events",
        "--since",
        &s,
        "--until",
        &u,
        "--format",
        "{{json .}}",
    ];
    all.extend_from_slice(args);
    d.docker_ok(&all)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `(Type, Action, name attribute)` of each event.
fn summary(events: &[Value]) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    events
        .iter()
        .map(|e| {
            (
                s(&e["Type"]),
                s(&e["Action"]),
                s(&e["Actor"]["Attributes"]["name"]),
            )
        })
        .collect()
}

fn has(events: &[(String, String, String)], kind: &str, action: &str, name: &str) -> bool {
    events
        .iter()
        .any(|(k, a, n)| k == kind && a == action && n == name)
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_events_shows_what_berth_and_docker_did_in_a_window() {
    let b = Berth::with_busybox("dk-ev");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let since = now_secs();
    b.ok(&["run", "--rm", "--name", "by-berth", "bb", "true"]);
    let run = d.docker(&[
        "run",
        "--rm",
        "--name",
        "by-docker",
        "bb",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(code(&run), 3);
    b.ok(&["net", "create", "evnet", "--subnet", "10.231.0.0/24"]);
    d.docker_ok(&["network", "rm", "evnet"]);
    d.docker_ok(&["volume", "create", "evvol"]);
    b.ok(&["volume", "rm", "evvol"]);
    std::thread::sleep(Duration::from_millis(1100));
    let until = now_secs();

    let all = window(&d, since, until, &[]);
    let s = summary(&all);
    for name in ["by-berth", "by-docker"] {
        for action in ["create", "start", "die", "destroy"] {
            assert!(has(&s, "container", action, name), "{action} {name}: {s:?}");
        }
    }
    let order: Vec<&str> = s
        .iter()
        .filter(|(k, _, n)| k == "container" && n == "by-docker")
        .map(|(_, a, _)| a.as_str())
        .collect();
    assert_eq!(order, ["create", "start", "die", "destroy"], "{s:?}");
    let die = all
        .iter()
        .find(|e| e["Action"] == "die" && e["Actor"]["Attributes"]["name"] == "by-docker")
        .unwrap();
    assert_eq!(die["Actor"]["Attributes"]["exitCode"], "3", "{die}");
    assert_eq!(die["status"], "die");
    assert_eq!(die["from"], "bb");
    assert_eq!(die["id"], die["Actor"]["ID"]);
    for action in ["create", "destroy"] {
        assert!(has(&s, "network", action, "evnet"), "{action}: {s:?}");
    }
    // A container start connects it to its network, as dockerd reports.
    assert!(
        all.iter()
            .any(|e| e["Type"] == "network" && e["Action"] == "connect"),
        "{s:?}"
    );
    let vols: Vec<_> = all.iter().filter(|e| e["Type"] == "volume").collect();
    assert_eq!(vols.len(), 2, "{vols:?}");
    assert!(vols.iter().all(|e| e["Actor"]["ID"] == "evvol"), "{vols:?}");

    // Filters as dockerd applies them.
    let only = summary(&window(
        &d,
        since,
        until,
        &["--filter", "container=by-docker"],
    ));
    assert_eq!(only.len(), 4, "{only:?}");
    assert!(only.iter().all(|(_, _, n)| n == "by-docker"), "{only:?}");
    let nets = summary(&window(&d, since, until, &["--filter", "type=network"]));
    assert!(!nets.is_empty() && nets.iter().all(|(k, _, _)| k == "network"));
    let dies = summary(&window(
        &d,
        since,
        until,
        &["--filter", "event=die", "--filter", "image=bb"],
    ));
    assert_eq!(dies.len(), 2, "{dies:?}");
    assert!(window(&d, until + 5, until + 6, &[]).is_empty());
    assert_fails_with(&d, &["events", "--filter", "colour=red"], "invalid filter");
    assert_fails_with(&d, &["events", "--since", "x1"], "");
}

/// How many of berthd's descriptors point at the event log.
fn open_logs(d: &Berthd) -> usize {
    let dir = format!("/proc/{}/fd", d.pid());
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .filter(|t| t.to_string_lossy().contains("events.jsonl"))
        .count()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_followed_docker_events_sees_new_events_and_its_hang_up_frees_the_follower() {
    let b = Berth::with_busybox("dk-evf");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    b.ok(&["volume", "create", "warm"]); // the log exists before the follow starts
    let mut client = d
        .docker_cmd(&[
            "events",
            "--filter",
            "type=container",
            "--filter",
            "event=start",
            "--format",
            "{{.Actor.Attributes.name}}",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = client.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    assert!(wait_until(Duration::from_secs(10), || open_logs(&d) == 1));
    b.ok(&["run", "-d", "--name", "late", "bb", "sleep", "30"]);
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first, "late");
    d.docker_ok(&["run", "-d", "--name", "later", "bb", "sleep", "30"]);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "later");

    client.kill().unwrap();
    client.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || open_logs(&d) == 0),
        "the follower of a client that hung up is still open"
    );
    d.docker_ok(&["rm", "-f", "late", "later"]);
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn container_labels_ride_on_their_events_from_either_front_end() {
    let b = Berth::with_busybox("dk-evl");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let since = now_secs();
    d.docker_ok(&[
        "run",
        "--rm",
        "--label",
        "team=blue",
        "--name",
        "dk-blue",
        "bb",
        "true",
    ]);
    b.ok(&[
        "run",
        "--rm",
        "--label",
        "team=blue",
        "--name",
        "b-blue",
        "bb",
        "true",
    ]);
    b.ok(&[
        "run", "--rm", "--label", "team=red", "--name", "b-red", "bb", "true",
    ]);
    let until = now_secs() + 1;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let blue = window(&d, since, until, &["--filter", "label=team=blue"]);
    let s = summary(&blue);
    for name in ["dk-blue", "b-blue"] {
        for action in ["create", "start", "die", "destroy"] {
            assert!(
                has(&s, "container", action, name),
                "{action} {name} missing: {s:?}"
            );
        }
    }
    assert!(!s.iter().any(|(_, _, n)| n == "b-red"), "{s:?}");
    assert!(
        blue.iter()
            .all(|e| e["Actor"]["Attributes"]["team"] == "blue")
    );
    // The label is the container's, seen by inspect through either front end.
    d.docker_ok(&[
        "run",
        "-d",
        "--label",
        "team=green",
        "--name",
        "g",
        "bb",
        "sleep",
        "100",
    ]);
    assert_eq!(
        d.docker_ok(&["inspect", "--format", "{{.Config.Labels.team}}", "g"]),
        "green\n"
    );
    assert_eq!(
        d.docker_ok(&["ps", "-q", "--filter", "label=team=green"])
            .lines()
            .count(),
        1
    );
    d.docker_ok(&["rm", "-f", "g"]);
}
