//! Root tests of network aliases (`--network-alias`, `net connect --alias`, Docker's
//! `EndpointSettings.Aliases`) through `berth` and through berthd: they land in the record's
//! `HostConfig.NetworkAliases` for their network and go with it, `docker inspect` shows them
//! (with the short id while attached, as dockerd does), and aliases on the default bridge or
//! names that are not DNS names are refused before anything is made.
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
use serde_json::{Value, json};

const NOT_USER: &str = "network-scoped aliases are only supported for user-defined networks";

/// `HostConfig.NetworkAliases` of `name` in berth's record.
fn recorded(b: &Berth, name: &str) -> Value {
    b.json(&["inspect", name])[0]["HostConfig"]["NetworkAliases"].clone()
}

/// `NetworkSettings.Networks.<network>.Aliases` as `docker inspect` shows them.
fn shown(d: &berth_netns_tests::daemon::Berthd, name: &str, network: &str) -> Value {
    let f = format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}");
    serde_json::from_str(&d.docker_ok(&["inspect", "--format", &f, name])).unwrap()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn aliases_are_recorded_per_network_from_either_front_end() {
    let b = Berth::with_busybox("net-alias");
    let _c = Cleanup(&b);
    b.ok(&["net", "create", "--subnet", "10.97.0.0/24", "app"]);
    b.ok(&["net", "create", "--subnet", "10.98.0.0/24", "back"]);

    // berth run: the aliases are the first network's.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "app",
        "--network-alias",
        "db",
        "--net-alias",
        "db.internal",
        "bb",
        "sleep",
        "1000",
    ]);
    assert_eq!(recorded(&b, "c"), json!({"app": ["db", "db.internal"]}));
    // net connect --alias adds the second network's, disconnect takes them away again.
    b.ok(&["net", "connect", "--alias", "cache", "back", "c"]);
    assert_eq!(
        recorded(&b, "c"),
        json!({"app": ["db", "db.internal"], "back": ["cache"]})
    );
    b.ok(&["net", "disconnect", "back", "c"]);
    assert_eq!(recorded(&b, "c"), json!({"app": ["db", "db.internal"]}));

    // Refusals, before anything is made or changed.
    let before = b.ok(&["ps", "-aq"]);
    let out = b.run(&["run", "--rm", "--network-alias", "x", "bb", "true"]);
    assert_eq!(code(&out), 125);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(NOT_USER) && err.contains("bridge"), "{err}");
    let err = b.fails(&[
        "create",
        "--network",
        "app",
        "--network-alias",
        "no_underscores",
        "bb",
    ]);
    assert!(
        err.contains("invalid --network-alias \"no_underscores\""),
        "{err}"
    );
    assert!(
        b.fails(&["net", "connect", "--alias", "x", "bridge", "c"])
            .contains(NOT_USER)
    );
    assert_eq!(b.ok(&["ps", "-aq"]), before);
    assert_eq!(recorded(&b, "c"), json!({"app": ["db", "db.internal"]}));

    // berthd shows them, with the short id while the container is attached.
    let d = daemon(&b);
    let short =
        |name: &str| d.docker_ok(&["inspect", "--format", "{{.Id}}", name])[..12].to_owned();
    let c = short("c");
    assert_eq!(shown(&d, "c", "app"), json!(["db", "db.internal", c]));
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "w",
        "--network",
        "app",
        "--network-alias",
        "api",
        "bb",
        "sleep",
        "1000",
    ]);
    assert_eq!(recorded(&b, "w"), json!({"app": ["api"]}));
    assert_eq!(shown(&d, "w", "app"), json!(["api", short("w")]));
    d.docker_ok(&["network", "connect", "--alias", "api2", "back", "w"]);
    assert_eq!(recorded(&b, "w"), json!({"app": ["api"], "back": ["api2"]}));
    assert_eq!(shown(&d, "w", "back"), json!(["api2", short("w")]));
    // Created, not attached: what was given only, as dockerd shows it before the start;
    // nothing on the default bridge.
    d.docker_ok(&[
        "create",
        "--name",
        "n",
        "--network",
        "app",
        "--network-alias",
        "q",
        "bb",
        "true",
    ]);
    assert_eq!(shown(&d, "n", "app"), json!(["q"]));
    d.docker_ok(&["create", "--name", "plain", "bb", "true"]);
    assert_eq!(shown(&d, "plain", "bridge"), Value::Null);
    let before = d.docker_ok(&["ps", "-aq"]);
    assert_fails_with(
        &d,
        &["run", "--rm", "--network-alias", "x", "bb", "true"],
        NOT_USER,
    );
    assert_fails_with(
        &d,
        &["network", "connect", "--alias", "x", "bridge", "n"],
        NOT_USER,
    );
    assert_eq!(d.docker_ok(&["ps", "-aq"]), before);
}
