//! 100 `docker run --rm -p` cycles through berthd leave nothing behind: no netns, veth,
//! reservation, cached CNI result, nft rule, mount, shim, record, runtime state or cgroup, and
//! berthd itself holds no more descriptors than before (and no thread per container).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use berth_netns_tests::daemon::Berthd;
use common::{daemon, stderr, stdout};
use containers::{Cleanup, berth_cgroups, code, traces};
use fixture::Berth;

/// berthd's open descriptors and threads.
fn footprint(d: &Berthd) -> (usize, usize) {
    let count = |sub: &str| {
        std::fs::read_dir(format!("/proc/{}/{sub}", d.pid()))
            .unwrap()
            .count()
    };
    (count("fd"), count("task"))
}

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn a_hundred_docker_run_rm_cycles_leave_nothing() {
    let b = Berth::with_busybox("dk-leak");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    // The first run creates the bridge and the firewall's base chains.
    d.docker_ok(&["run", "--rm", "bb", "true"]);
    let before = traces(&b);
    let held = footprint(&d);
    assert!(
        before.veths.is_empty() && before.netns_files == 0,
        "{before:?}"
    );
    let mut ids = Vec::new();
    for i in 0..100 {
        let out = d.docker(&[
            "run",
            "--rm",
            "-p",
            "18110:80",
            "bb",
            "sh",
            "-c",
            "echo $HOSTNAME",
        ]);
        assert_eq!(code(&out), 0, "cycle {i}: {}", stderr(&out));
        ids.push(stdout(&out).trim().to_owned());
    }
    assert_eq!(traces(&b), before, "leaked by 100 docker run --rm cycles");
    assert!(!before.ruleset.contains("18110"), "{}", before.ruleset);
    let (fds, threads) = footprint(&d);
    assert_eq!(fds, held.0, "berthd's descriptors grew");
    // tokio's blocking pool keeps a few idle threads for a while: bounded, not per container.
    assert!(
        threads < held.1 + 10,
        "berthd's threads grew: {held:?} -> {threads}"
    );
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 100, "{ids:?}");
    let cgroups = berth_cgroups(&ids);
    assert!(cgroups.is_empty(), "cgroups leaked: {cgroups:?}");
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
