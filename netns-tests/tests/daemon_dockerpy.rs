//! docker-py (PyPI `docker`, installed by `.ci/run`) drives berthd: the script
//! `dockerpy/exercise.py` runs containers (output, exit codes, a published web server, exec,
//! logs, stop/wait/rm, a name clash), networks with a static address, volumes, events and df
//! through docker-py's API, inside the test host netns so that the published port is reachable.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "daemon_common/mod.rs"]
mod common;
#[path = "containers/mod.rs"]
mod containers;
#[path = "cli_net/fixture.rs"]
mod fixture;

use std::path::Path;
use std::process::Command;

use common::{daemon, stderr, stdout};
use containers::Cleanup;
use fixture::Berth;

#[test]
#[ignore = "needs root: cargo test -p berth-netns-tests -- --ignored"]
fn docker_py_drives_containers_networks_volumes_and_events() {
    let b = Berth::with_busybox("dk-py");
    let _c = Cleanup(&b);
    let d = daemon(&b);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dockerpy/exercise.py");
    let out = Command::new("nsenter")
        .arg(format!("--net={}", b.host.path().display()))
        .arg("--")
        .arg("python3")
        .arg(&script)
        .env("DOCKER_HOST", format!("unix://{}", d.sock.display()))
        .output()
        .expect("run python3 (docker-py is installed by .ci/run)");
    assert!(
        out.status.success(),
        "docker-py script failed:\n{}\n{}\nberthd:\n{}",
        stdout(&out),
        stderr(&out),
        d.log_text()
    );
    assert!(
        stdout(&out).ends_with("docker-py: all checks passed\n"),
        "{}",
        stdout(&out)
    );
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
