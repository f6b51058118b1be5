//! Root test of docker-compose (Debian's 1.29, a third client nobody here wrote) against
//! berthd: `up -d` makes the project's network and containers (with compose's labels, and
//! the disconnect/reconnect of a created container's network compose does, and the service
//! name as each container's alias there), `ps` lists each once, the published port serves
//! from the test host netns, `exec` runs, `down` leaves no container and no network behind.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::process::{Command, Output};

use common::{daemon, stderr, stdout};
use containers::{Cleanup, code};
use fixture::Berth;

const COMPOSE_FILE: &str = r#"version: "3"
services:
  web:
    image: bb
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["18081:80"]
    labels: {tier: front}
  worker:
    image: bb
    command: ["sleep", "1000"]
    environment: [ROLE=worker]
"#;

/// `docker-compose -p demo -f FILE ARGS` against `d`.
fn compose(d: &berth_netns_tests::daemon::Berthd, file: &std::path::Path, args: &[&str]) -> Output {
    Command::new("docker-compose")
        .args(["--no-ansi", "-p", "demo", "-f"])
        .arg(file)
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", d.sock.display()))
        .env("DOCKER_CONFIG", d.config.path())
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .output()
        .expect("docker-compose is installed (.ci/run installs it)")
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_compose_brings_a_project_up_and_down() {
    let b = Berth::with_busybox("dk-compose");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, COMPOSE_FILE).unwrap();

    let up = compose(&d, &file, &["up", "-d"]);
    assert_eq!(code(&up), 0, "{}{}", stdout(&up), stderr(&up));
    let ps = compose(&d, &file, &["ps"]);
    let rows: Vec<String> = stdout(&ps)
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rows, ["demo_web_1", "demo_worker_1"], "{}", stdout(&ps));
    assert!(stdout(&ps).matches(" Up ").count() == 2, "{}", stdout(&ps));

    let page = b.host.run(
        "timeout",
        &["5", "busybox", "wget", "-qO-", "http://127.0.0.1:18081/"],
    );
    assert_eq!(stdout(&page), "served by berth\n", "{}", stderr(&page));
    let ex = compose(
        &d,
        &file,
        &["exec", "-T", "worker", "sh", "-c", "echo $ROLE"],
    );
    assert_eq!(stdout(&ex), "worker\n", "{}", stderr(&ex));
    assert_eq!(
        d.docker_ok(&[
            "ps",
            "-q",
            "--filter",
            "label=com.docker.compose.project=demo",
            "--filter",
            "label=tier=front"
        ])
        .lines()
        .count(),
        1
    );
    assert!(
        d.docker_ok(&["network", "ls", "--format", "{{.Name}}"])
            .contains("demo_default")
    );
    // Compose names each container after its service on the project network (the aliases
    // the network's DNS answers); inspect shows the short id with them, as dockerd does.
    let aliases = d.docker_ok(&[
        "inspect",
        "--format",
        "{{.Id}} {{range (index .NetworkSettings.Networks \"demo_default\").Aliases}}{{.}} {{end}}",
        "demo_web_1",
    ]);
    let words: Vec<&str> = aliases.split_whitespace().collect();
    let short = &words[0][..12];
    assert!(words[1..].contains(&"web"), "{aliases}");
    assert_eq!(
        words[1..].iter().filter(|w| *w == &short).count(),
        1,
        "{aliases}"
    );

    let down = compose(&d, &file, &["down"]);
    assert_eq!(code(&down), 0, "{}{}", stdout(&down), stderr(&down));
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    assert!(
        !d.docker_ok(&["network", "ls", "--format", "{{.Name}}"])
            .contains("demo_default")
    );
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
