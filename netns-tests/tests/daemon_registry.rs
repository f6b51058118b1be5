//! Root tests of berthd's registry endpoints, driven by the stock docker CLI against a real
//! registry (Debian's docker-registry with basic auth) inside the test's throwaway host
//! netns: `docker login` (wrong then right), `docker push` with dockerd's progress and digest
//! line, `docker pull` into berth's store and `docker run` of the result, digests in
//! `docker images --digests`, clear errors for unknown tags, and the pull and push events.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::io::Write as _;
use std::process::{Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use berth_netns_tests::daemon::Berthd;
use berth_netns_tests::registry::{Registry, RegistrySetup};
use common::{daemon, stderr, stdout};
use containers::Cleanup;
use fixture::Berth;

fn login(d: &Berthd, host: &str, user: &str, password: &str) -> Output {
    let mut c = d.docker_cmd(&["login", "-u", user, "--password-stdin", host]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_logs_in_pushes_and_pulls_through_berthd() {
    let b = Berth::with_busybox("dk-reg");
    let _c = Cleanup(&b);
    let setup = RegistrySetup {
        user: Some(("bob".into(), "builder-9".into())),
        ..Default::default()
    };
    let reg = Registry::start(&b.host, "127.0.0.1:5000".parse().unwrap(), &setup);
    let d = daemon(&b);
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let name = format!("{}/dk/bb:v1", reg.host);
    d.docker_ok(&["tag", "bb", &name]);
    let out = d.docker(&["push", &name]);
    assert!(!out.status.success(), "pushed without credentials");
    assert!(stderr(&out).contains("unauthorized"), "{}", stderr(&out));

    let out = login(&d, &reg.host, "bob", "wrong");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("incorrect username or password"),
        "{}",
        stderr(&out)
    );
    let out = login(&d, &reg.host, "bob", "builder-9");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Login Succeeded"), "{}", stdout(&out));

    let out = d.docker_ok(&["push", &name]);
    assert!(
        out.contains("The push refers to repository [127.0.0.1:5000/dk/bb]"),
        "{out}"
    );
    assert!(out.contains("Pushed"), "{out}");
    let digest = out
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest: {out}"))
        .to_owned();
    assert!(
        out.contains(&format!("v1: digest: {digest} size: ")),
        "{out}"
    );
    // berth's own CLI sees the pushed digest: one store behind both.
    assert!(b.ok(&["images", "--digests"]).contains(&digest));

    d.docker_ok(&["rmi", &name, "bb"]);
    let out = d.docker_ok(&["pull", &name]);
    assert!(out.contains("v1: Pulling from dk/bb"), "{out}");
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    let ran = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "echo",
        "pulled-by-docker",
    ]);
    assert_eq!(ran.trim(), "pulled-by-docker");
    let listed = d.docker_ok(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}} {{.Digest}}",
    ]);
    assert!(
        listed.contains(&format!("127.0.0.1:5000/dk/bb {digest}")),
        "{listed}"
    );
    let again = d.docker_ok(&["pull", &name]);
    assert!(again.contains("Status: Image is up to date"), "{again}");

    let out = d.docker(&["pull", &format!("{}/dk/bb:nope", reg.host)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("manifest unknown"),
        "{}",
        stderr(&out)
    );

    let until = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let events = d.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=image",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert!(events.contains(&format!("push {name}")), "{events}");
    assert!(events.contains(&format!("pull {name}")), "{events}");
}
