//! Root tests of `--dns`, `--dns-search` and `--dns-option` through `berth run` and through
//! berthd (`HostConfig.Dns`, `DnsSearch`, `DnsOptions`): the container's `/etc/resolv.conf`
//! has them in place of the host's lines of their kind, inspect shows them, and bad values
//! are refused before anything is made.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::io::{Read as _, Write as _};

use common::daemon;
use containers::{Cleanup, code};
use fixture::Berth;

/// The lines of `resolv` that start with `word`.
fn lines<'a>(resolv: &'a str, word: &str) -> Vec<&'a str> {
    resolv
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(word))
        .collect()
}

/// `POST /containers/create` of busybox with this `HostConfig`, as raw HTTP; the answer.
fn create_raw(d: &berth_netns_tests::daemon::Berthd, host_config: &str) -> String {
    let body = format!(r#"{{"Image":"bb","Cmd":["true"],"HostConfig":{host_config}}}"#);
    let mut s = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    write!(
        s,
        "POST /v1.41/containers/create HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn dns_settings_reach_resolv_conf_from_either_front_end() {
    let b = Berth::with_busybox("dns-set");
    let _c = Cleanup(&b);
    let flags = [
        "--dns",
        "192.0.2.53",
        "--dns",
        "2001:db8::53",
        "--dns-search",
        "corp.example",
        "--dns-search",
        "lab.example",
        "--dns-option",
        "ndots:3",
        "--dns-option",
        "timeout:1",
    ];
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(&flags);
    args.extend_from_slice(&["bb", "cat", "/etc/resolv.conf"]);
    let check = |resolv: &str| {
        assert_eq!(
            lines(resolv, "nameserver"),
            ["nameserver 192.0.2.53", "nameserver 2001:db8::53"],
            "{resolv}"
        );
        assert_eq!(
            lines(resolv, "search"),
            ["search corp.example lab.example"],
            "{resolv}"
        );
        assert_eq!(
            lines(resolv, "options"),
            ["options ndots:3 timeout:1"],
            "{resolv}"
        );
    };
    check(&b.ok(&args));

    let d = daemon(&b);
    check(&d.docker_ok(&args));
    // `.` drops the search domains; what is not given stays the host's.
    let r = d.docker_ok(&[
        "run",
        "--rm",
        "--dns-search",
        ".",
        "bb",
        "cat",
        "/etc/resolv.conf",
    ]);
    assert!(lines(&r, "search").is_empty(), "{r}");
    assert!(!lines(&r, "nameserver").is_empty(), "{r}");
    d.docker_ok(&[
        "create",
        "--name",
        "c",
        "--dns",
        "192.0.2.9",
        "--dns-option",
        "ndots:1",
        "bb",
        "true",
    ]);
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "--format",
            "{{json .HostConfig.Dns}} {{json .HostConfig.DnsOptions}}",
            "c"
        ]),
        "[\"192.0.2.9\"] [\"ndots:1\"]\n"
    );

    // Bad values: nothing is made.
    let before = d.docker_ok(&["ps", "-aq"]);
    // (the docker CLI checks these itself, so they go to the API as they are)
    for (hc, why) in [
        (r#"{"Dns":["dns.example"]}"#, "not an IP address"),
        (r#"{"DnsSearch":["a..b"]}"#, "not a domain name"),
        (r#"{"DnsOptions":["two words"]}"#, "one word"),
    ] {
        let answer = create_raw(&d, hc);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains(why), "{answer}");
    }
    assert_eq!(d.docker_ok(&["ps", "-aq"]), before);
    let out = b.run(&["run", "--rm", "--dns", "nope", "bb", "true"]);
    assert_eq!(code(&out), 125);
    let out = b.run(&["run", "--rm", "--dns-search", "a..b", "bb", "true"]);
    assert_eq!(code(&out), 125);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a domain name"));
    d.docker_ok(&["rm", "c"]);
}
