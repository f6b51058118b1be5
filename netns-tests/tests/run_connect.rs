//! Root tests of `berth net connect|disconnect` on containers: a running container joins a
//! second network and reaches a container there, leaves it again, and nothing of either network
//! remains once it is gone; refusals are clear.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::time::Duration;

use containers::{Cleanup, berth_with_busybox, code, ip_of, wait_until};
use fixture::Berth;
use serde_json::Value;

/// `NetworkSettings.Networks` and `HostConfig.Networks` of a container.
fn networks_of(b: &Berth, name: &str) -> (Value, Vec<String>) {
    let v = b.json(&["inspect", name]);
    let attached = v[0]["NetworkSettings"]["Networks"].clone();
    let configured = v[0]["HostConfig"]["Networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    (attached, configured)
}

/// The address (without prefix) `name` has on `network`.
fn addr_on(b: &Berth, name: &str, network: &str) -> String {
    let (attached, _) = networks_of(b, name);
    let a = attached[network]["IpAddresses"][0].as_str().unwrap();
    a.split('/').next().unwrap().to_string()
}

fn ping(b: &Berth, from: &str, addr: &str) -> bool {
    let out = b.run(&["exec", from, "ping", "-c", "1", "-W", "2", addr]);
    out.status.success()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_running_container_connects_to_a_second_network_and_disconnects() {
    let b = berth_with_busybox("conn-run");
    let _c = Cleanup(&b);
    b.ok(&["net", "create", "--subnet", "10.93.0.0/24", "neta"]);
    b.ok(&["net", "create", "--subnet", "10.94.0.0/24", "netb"]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "peer",
        "--network",
        "netb",
        "bb",
        "sleep",
        "1000",
    ]);
    let peer = ip_of(&b, "peer");
    // neta's firewall chain comes with its first container: make it before the baseline.
    b.ok(&["run", "--rm", "--network", "neta", "bb", "true"]);
    let rules_with_peer = b.host.run_ok("nft", &["list", "ruleset"]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "neta",
        "-p",
        "8086:80",
        "bb",
        "sleep",
        "1000",
    ]);
    assert!(!ping(&b, "c", &peer), "reached netb before connecting");
    b.ok(&["net", "connect", "netb", "c"]);
    let on_b = addr_on(&b, "c", "netb");
    assert!(on_b.starts_with("10.94.0."), "{on_b}");
    let (attached, configured) = networks_of(&b, "c");
    assert_eq!(configured, ["neta", "netb"]);
    assert_eq!(attached["neta"]["IfName"], "eth0", "{attached}");
    assert_eq!(attached["netb"]["IfName"], "eth1", "{attached}");
    let addrs = b.ok(&["exec", "c", "ip", "-o", "addr"]);
    assert!(
        addrs.contains(&format!("eth1    inet {on_b}/24")),
        "{addrs}"
    );
    assert!(ping(&b, "c", &peer), "c cannot reach peer on netb");
    let hosts = b.ok(&["exec", "c", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{on_b}\t")), "{hosts}");
    assert!(
        hosts.contains(&format!("{}\t", addr_on(&b, "c", "neta"))),
        "{hosts}"
    );
    assert!(b.ok(&["--format", "json", "ps"]).contains("\"netb\""));
    assert_eq!(b.reservations("netb").len(), 2);

    // Refusals, each with exit code 1 and the container unchanged.
    for (args, msg) in [
        (
            vec!["net", "connect", "netb", "c"],
            "already connected to network netb",
        ),
        (
            vec!["net", "connect", "nosuch", "c"],
            "network nosuch not found",
        ),
        (vec!["net", "connect", "host", "c"], "--network host"),
        (
            vec!["net", "connect", "netb", "nosuchctr"],
            "no such container",
        ),
        (vec!["net", "disconnect", "neta", "c"], "published ports"),
        (
            vec!["net", "disconnect", "bridge", "c"],
            "not connected to network bridge",
        ),
    ] {
        let o = b.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 1, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    assert_eq!(networks_of(&b, "c").1, ["neta", "netb"]);

    b.ok(&["net", "disconnect", "netb", "c"]);
    let links = b.ok(&["exec", "c", "ip", "-o", "link"]);
    assert!(!links.contains("eth1"), "{links}");
    assert!(!ping(&b, "c", &peer), "still reaches netb");
    assert_eq!(
        b.reservations("netb").len(),
        1,
        "netb's address not released"
    );
    assert!(!b.ok(&["exec", "c", "cat", "/etc/hosts"]).contains(&on_b));
    let (attached, configured) = networks_of(&b, "c");
    assert_eq!(configured, ["neta"]);
    assert!(attached.get("netb").is_none(), "{attached}");
    let o = b.run(&["net", "disconnect", "netb", "c"]);
    assert_eq!(code(&o), 1);
    b.ok(&["net", "disconnect", "-f", "netb", "c"]);
    let last = b.fails(&["net", "disconnect", "-f", "neta", "c"]);
    assert!(last.contains("only network"), "{last}");

    // Connected again, then stopped and removed: nothing of either network remains.
    b.ok(&["net", "connect", "netb", "c"]);
    assert!(ping(&b, "c", &peer));
    b.ok(&["stop", "-t", "1", "c"]);
    b.ok(&["rm", "c"]);
    assert!(b.reservations("neta").is_empty());
    assert_eq!(b.reservations("netb").len(), 1);
    assert_eq!(b.host_links("veth").len(), 1, "{:?}", b.host_links("veth"));
    assert_eq!(b.cache_files().len(), 1, "{:?}", b.cache_files());
    let rules = b.host.run_ok("nft", &["list", "ruleset"]);
    assert!(!rules.contains("8086"), "{rules}");
    assert_eq!(rules, rules_with_peer);
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn connect_is_recorded_for_a_created_container_and_refused_in_host_mode() {
    let b = berth_with_busybox("conn-new");
    let _c = Cleanup(&b);
    b.ok(&["net", "create", "--subnet", "10.95.0.0/24", "second"]);
    b.ok(&["create", "--name", "later", "bb", "sleep", "1000"]);
    b.ok(&["net", "connect", "--ip", "10.95.0.77", "second", "later"]);
    let (attached, configured) = networks_of(&b, "later");
    assert_eq!(configured, ["bridge", "second"]);
    assert_eq!(attached, serde_json::json!({}));
    assert!(b.reservations("second").is_empty());
    b.ok(&["start", "later"]);
    assert_eq!(addr_on(&b, "later", "second"), "10.95.0.77");
    let addrs = b.ok(&["exec", "later", "ip", "-o", "addr"]);
    assert!(addrs.contains("eth1    inet 10.95.0.77/24"), "{addrs}");
    // The default route stays on the first network.
    let route = b.ok(&["exec", "later", "ip", "route", "show", "default"]);
    assert!(
        route.starts_with("default via 10.88.0.1 dev eth0"),
        "{route}"
    );
    b.ok(&["rm", "-f", "later"]);
    assert!(b.reservations("second").is_empty());

    b.ok(&[
        "run",
        "-d",
        "--name",
        "h",
        "--network",
        "host",
        "bb",
        "sleep",
        "1000",
    ]);
    let e = b.fails(&["net", "connect", "second", "h"]);
    assert!(e.contains("uses --network host"), "{e}");
    b.ok(&[
        "run",
        "-d",
        "--name",
        "n",
        "--network",
        "none",
        "bb",
        "sleep",
        "1000",
    ]);
    let e = b.fails(&["net", "disconnect", "none", "n"]);
    assert!(e.contains("--network none"), "{e}");
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn connect_racing_the_containers_exit_leaks_nothing() {
    let b = berth_with_busybox("conn-race");
    let _c = Cleanup(&b);
    b.ok(&["net", "create", "--subnet", "10.96.0.0/24", "racy"]);
    for i in 0..5 {
        let name = format!("short{i}");
        b.ok(&["run", "-d", "--name", &name, "bb", "sleep", "0.2"]);
        // Before, during or after the shim's teardown: either way nothing may stay.
        let _ = b.run(&["net", "connect", "racy", &name]);
        let exited = wait_until(Duration::from_secs(10), || {
            b.ok(&["ps", "-a"])
                .lines()
                .any(|l| l.contains(&name) && l.contains("Exited"))
        });
        assert!(exited, "{name} never exited");
        assert!(b.reservations("racy").is_empty(), "cycle {i}: racy leaked");
        assert!(
            b.reservations("bridge").is_empty(),
            "cycle {i}: bridge leaked"
        );
        assert!(
            b.cache_files().is_empty(),
            "cycle {i}: {:?}",
            b.cache_files()
        );
        assert!(
            b.host_links("veth").is_empty(),
            "cycle {i}: {:?}",
            b.host_links("veth")
        );
        assert_eq!(networks_of(&b, &name).0, serde_json::json!({}));
    }
}
