//! What every berthd test file shares: berthd started on a [`Berth`]'s roots inside its
//! host netns, and small helpers for docker CLI output.
#![allow(dead_code)] // each test crate that includes this uses a different part

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

use berth_netns_tests::cni::plugin_dir;
use berth_netns_tests::daemon::Berthd;

use crate::containers::code;
use crate::fixture::Berth;

/// The built berthd binary.
pub fn berthd_bin() -> PathBuf {
    let bin = plugin_dir().join("berthd");
    assert!(
        bin.is_file(),
        "{} missing: run `cargo build --workspace --bins` first",
        bin.display()
    );
    bin
}

/// Where berthd listens for `b`.
pub fn sock_of(b: &Berth) -> PathBuf {
    b.run.path().join("api").join("berth.sock")
}

/// berthd on `b`'s roots, in `b`'s host netns.
pub fn daemon(b: &Berth) -> Berthd {
    Berthd::start(
        &berthd_bin(),
        b.host.path(),
        &sock_of(b),
        b.root.path(),
        b.run.path(),
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The words of `docker ARGS`'s output, as a set.
pub fn words(d: &Berthd, args: &[&str]) -> BTreeSet<String> {
    d.docker_ok(args)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `docker ARGS` fails (without a panic in berthd) with `needle` in its message.
pub fn assert_fails_with(d: &Berthd, args: &[&str], needle: &str) {
    let out = d.docker(args);
    assert_ne!(code(&out), 0, "docker {args:?} succeeded: {}", stdout(&out));
    assert!(
        stderr(&out).contains(needle),
        "docker {args:?}: {}",
        stderr(&out)
    );
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}
