//! Root tests of the `berth net` and `berth netns` commands, each in throwaway namespaces: a
//! test host netns where berth runs (bridges live there) and one named netns per container.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "cli_net/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;

use fixture::{Berth, links, script};

fn ip_of(cidr: &str) -> String {
    cidr.trim().split('/').next().unwrap().to_string()
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn create_ls_inspect_rm_and_bad_input() {
    let b = Berth::new("cli-crud");
    // A host route over 10.89.0.0/24 makes the picker skip it.
    b.host
        .run_ok("ip", &["route", "add", "10.89.0.0/24", "dev", "lo"]);
    assert_eq!(b.ok(&["net", "create", "auto"]).trim(), "auto");
    b.ok(&[
        "net",
        "create",
        "--subnet",
        "10.60.0.0/24",
        "--gateway",
        "10.60.0.254",
        "--ip-range",
        "10.60.0.128/25",
        "--label",
        "team=a",
        "--opt",
        "mtu=1400",
        "web",
    ]);

    let ls = b.json(&["--format", "json", "net", "ls"]);
    let names: Vec<&str> = ls
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bridge", "host", "none", "auto", "web"]);
    assert_eq!(ls[3]["subnets"][0]["subnet"], "10.89.1.0/24", "{ls}");
    let table = b.ok(&["net", "ls"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("10.60.0.0/24"), "{table}");

    let web = &b.json(&["net", "inspect", "web"])[0];
    assert_eq!(web["labels"]["team"], "a");
    let bridge = &web["config"]["plugins"][0];
    assert_eq!(bridge["type"], "bridge");
    assert_eq!(bridge["bridge"], "berth-web");
    assert_eq!(bridge["mtu"], 1400);
    assert_eq!(
        bridge["ipam"]["dataDir"],
        b.root.path().join("ipam").to_str().unwrap()
    );
    assert_eq!(bridge["ipam"]["ranges"][0][0]["gateway"], "10.60.0.254");
    assert_eq!(bridge["ipam"]["ranges"][0][0]["rangeStart"], "10.60.0.129");
    assert!(b.root.path().join("networks/web.conflist").is_file());

    for (args, msg) in [
        (
            vec!["net", "create", "--subnet", "10.60.0.0/16", "x"],
            "overlaps network web",
        ),
        (
            vec!["net", "create", "--subnet", "10.89.0.0/24", "x"],
            "route of the host",
        ),
        (
            vec!["net", "create", "--subnet", "10.61.0.1/24", "x"],
            "host bits",
        ),
        (
            vec!["net", "create", "--subnet", "10.61.0.0/99", "x"],
            "invalid CIDR",
        ),
        (
            vec![
                "net",
                "create",
                "--subnet",
                "10.61.0.0/24",
                "--gateway",
                "10.62.0.1",
                "x",
            ],
            "gateway 10.62.0.1",
        ),
        (vec!["net", "create", "web"], "already exists"),
        (vec!["net", "create", "a/b"], "invalid network name"),
        (
            vec!["net", "create", "--opt", "color=red", "x"],
            "unknown option",
        ),
        (vec!["net", "rm", "host"], "built in"),
        (vec!["net", "rm", "nope"], "not found"),
        (vec!["net", "inspect", "nope"], "not found"),
        (
            vec!["net", "attach", "web", "no-such-ns"],
            "netns no-such-ns not found",
        ),
        (
            vec!["net", "attach", "web", "x", "-p", "80"],
            "expected HOSTPORT:PORT",
        ),
    ] {
        let err = b.fails(&args);
        assert!(err.contains(msg), "{args:?}: {err}");
    }

    assert_eq!(b.ok(&["net", "rm", "web"]).trim(), "web");
    assert!(!b.root.path().join("networks/web.conflist").exists());
    assert!(b.ok(&["net", "prune"]).contains("auto"));
    let names = b.ok(&["net", "ls", "-q"]);
    assert_eq!(
        names.split_whitespace().collect::<Vec<_>>(),
        ["bridge", "host", "none"]
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn attach_two_namespaces_ping_then_detach_leaves_nothing() {
    let b = Berth::new("cli-ping");
    b.ok(&["net", "create", "--subnet", "10.61.0.0/24", "web"]);
    b.ok(&["netns", "add", "a"]);
    b.ok(&["netns", "add", "b"]);
    assert_eq!(
        b.ok(&["netns", "ls"])
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let ip_a = ip_of(&b.ok(&["net", "attach", "web", "a"]));
    let path_b = b.netns_path("b");
    let ip_b = ip_of(&b.ok(&[
        "net",
        "attach",
        "web",
        path_b.to_str().unwrap(),
        "--mac",
        "02:00:00:00:00:0b",
    ]));
    assert_ne!(ip_a, ip_b);
    assert!(b.ping("a", &ip_b), "a cannot reach {ip_b}");
    assert!(b.ping("b", &ip_a), "b cannot reach {ip_a}");
    let exec = b.ok(&["netns", "exec", "b", "ip", "-o", "link", "show", "eth0"]);
    assert!(exec.contains("02:00:00:00:00:0b"), "{exec}");
    assert_eq!(b.ok(&["net", "check", "web", "a"]).trim(), "ok");

    let web = &b.json(&["net", "inspect", "web"])[0];
    let atts = web["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0]["containerId"], "a");
    assert_eq!(atts[0]["addresses"][0], format!("{ip_a}/24"));
    let err = b.fails(&["net", "rm", "web"]);
    assert!(err.contains("2 attachment"), "{err}");
    let err = b.fails(&["net", "attach", "web", "a"]);
    assert!(err.contains("already has eth0"), "{err}");

    // Detach a: its interface, host veth, reservation and cache file go.
    assert_eq!(b.host_links("veth").len(), 2);
    b.ok(&["net", "detach", "web", "a"]);
    assert!(
        !b.in_ns("a", &["ip", "link", "show", "eth0"])
            .status
            .success()
    );
    assert_eq!(b.host_links("veth").len(), 1);
    assert_eq!(b.reservations("web"), vec![ip_b.clone()]);
    assert_eq!(b.cache_files(), ["web-b-eth0"]);
    b.ok(&["net", "detach", "web", "a"]); // repeat DEL is fine
    assert!(!b.ping("b", &ip_a));

    // b's namespace vanishes; gc notices and releases what it held.
    b.ok(&["netns", "rm", "b"]);
    assert!(b.ok(&["net", "gc"]).contains("removed 1"));
    assert!(b.reservations("web").is_empty());
    assert!(b.cache_files().is_empty());
    assert!(b.host_links("veth").is_empty());
    b.ok(&["net", "rm", "web"]);
    assert!(
        b.host_links("berth-web").is_empty(),
        "bridge removed with the network"
    );
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn fifty_parallel_attaches_get_distinct_addresses() {
    let b = Berth::new("cli-par");
    b.ok(&["net", "create", "--subnet", "10.62.0.0/24", "par"]);
    let names: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
    for n in &names {
        b.ok(&["netns", "add", n]);
    }
    let children: Vec<_> = names
        .iter()
        .map(|n| {
            b.command(&["net", "attach", "par", n])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut addrs = BTreeSet::new();
    for (n, child) in names.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "attach {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        addrs.insert(ip_of(&String::from_utf8_lossy(&out.stdout)));
    }
    assert_eq!(addrs.len(), 50, "{addrs:?}");
    assert_eq!(b.reservations("par").len(), 50);
    assert_eq!(b.cache_files().len(), 50);
    let last = addrs.iter().next_back().unwrap().clone();
    assert!(b.ping("c0", &last));
    b.ok(&["net", "rm", "--force", "par"]);
    assert!(b.reservations("par").is_empty());
    assert!(b.cache_files().is_empty());
    assert!(b.host_links("veth").is_empty());
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn plugin_crashing_mid_add_is_followed_by_a_del_that_leaves_nothing() {
    let mut b = Berth::new("cli-crash");
    let real = berth_netns_tests::cni::plugin_dir();
    let cni = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(real.join("host-local"), cni.path().join("host-local")).unwrap();
    // bridge does all its work, then dies by SIGKILL before printing its result.
    script(
        &cni.path().join("bridge"),
        &format!(
            "out=$({}/bridge); rc=$?\n[ \"$CNI_COMMAND\" = ADD ] && kill -9 $$\nprintf '%s' \"$out\"; exit $rc",
            real.display()
        ),
    );
    b.cni_path = Some(cni.path().to_owned());
    b.ok(&["net", "create", "--subnet", "10.63.0.0/24", "crash"]);
    b.ok(&["netns", "add", "a"]);
    let err = b.fails(&["net", "attach", "crash", "a"]);
    assert!(err.contains("ADD bridge on network crash"), "{err}");
    assert!(err.contains("signal: 9"), "{err}");
    assert!(
        b.reservations("crash").is_empty(),
        "{:?}",
        b.reservations("crash")
    );
    assert!(b.cache_files().is_empty());
    assert!(
        b.host_links("veth").is_empty(),
        "{:?}",
        b.host_links("veth")
    );
    let ns_links =
        String::from_utf8_lossy(&b.in_ns("a", &["ip", "-o", "link"]).stdout).into_owned();
    assert!(links(&ns_links, "eth0").is_empty(), "{ns_links}");
    // With the real plugin the same attach now works: nothing was left in the way.
    b.cni_path = Some(real);
    b.ok(&["net", "attach", "crash", "a"]);
    b.ok(&["net", "detach", "crash", "a"]);
}

/// `-p` publishes a port that answers from an outside namespace; detach removes every rule
/// that mentions the attachment, and `net rm` the network's own.
#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn published_port_answers_from_outside_and_detach_removes_its_rules() {
    use berth_netns_tests::tcp::{fetch, serve};
    use berth_netns_tests::{TestNetns, veth_between};
    let b = Berth::new("cli-pub");
    let outside = TestNetns::new("cli-pub-out");
    veth_between(
        &b.host,
        "out0",
        "192.168.78.1/24".parse().unwrap(),
        &outside,
        "eth0",
        "192.168.78.2/24".parse().unwrap(),
    );
    b.ok(&["net", "create", "--subnet", "10.64.0.0/24", "web"]);
    b.ok(&["netns", "add", "srv"]);
    let out = b.ok(&[
        "net",
        "attach",
        "web",
        "srv",
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:8081:80/tcp",
    ]);
    assert!(out.contains("10.64.0."), "{out}");
    let srv = berth_core::netns::Netns::open(&b.netns_path("srv")).unwrap();
    serve(&srv, "0.0.0.0:80".parse().unwrap());
    let seen = fetch(outside.netns(), "192.168.78.1:8080".parse().unwrap()).unwrap();
    assert_eq!(seen, "192.168.78.2");
    assert!(fetch(b.host.netns(), "127.0.0.1:8081".parse().unwrap()).is_ok());
    assert!(fetch(outside.netns(), "192.168.78.1:8081".parse().unwrap()).is_err());
    let rules = b.host.run_ok("nft", &["list", "table", "inet", "berth"]);
    assert!(rules.contains("id=srv"), "{rules}");
    // Another attachment cannot take the same host port.
    b.ok(&["netns", "add", "other"]);
    let err = b.fails(&["net", "attach", "web", "other", "-p", "8080:80"]);
    assert!(err.contains("already published"), "{err}");

    b.ok(&["net", "detach", "web", "srv"]);
    let rules = b.host.run_ok("nft", &["list", "table", "inet", "berth"]);
    assert!(!rules.contains("id=srv"), "{rules}");
    assert!(fetch(outside.netns(), "192.168.78.1:8080".parse().unwrap()).is_err());
    b.ok(&["net", "rm", "web"]);
    let rules = b.host.run_ok("nft", &["list", "table", "inet", "berth"]);
    assert!(
        !rules.contains("net=web") && !rules.contains("net-web"),
        "{rules}"
    );
}
