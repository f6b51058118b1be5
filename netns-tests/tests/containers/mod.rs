//! What the container root tests share: a berth with a busybox image, removal of every
//! container when a test ends, and probes for what a container leaves behind (processes,
//! mounts, cgroups).
#![allow(dead_code)] // each test crate that includes this uses a different part

use std::time::Duration;

use super::fixture::Berth;

pub use super::fixture::{Cleanup, code};

/// A berth with the image `bb` imported (see [`Berth::with_busybox`]).
pub fn berth_with_busybox(prefix: &str) -> Berth {
    Berth::with_busybox(prefix)
}

pub fn ip_of(b: &Berth, name: &str) -> String {
    let v = b.json(&["inspect", name]);
    let nets = v[0]["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap()
        .clone();
    let addr = nets.values().next().unwrap()["IpAddresses"][0]
        .as_str()
        .unwrap()
        .to_string();
    addr.split('/').next().unwrap().to_string()
}

/// Processes whose command line mentions `needle`.
pub fn processes_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(needle))
        .count()
}

pub fn mounts_under(path: &std::path::Path) -> usize {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = path.display().to_string();
    mi.lines().filter(|l| l.contains(&p)).count()
}

/// Mount points of every cgroup hierarchy (v1 controllers and the cgroup2 mount).
fn cgroup_mounts() -> Vec<std::path::PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4))
        .map(std::path::PathBuf::from)
        .collect()
}

/// cgroup directories (`berth/<id>` in any hierarchy, v1 or v2) of containers whose id
/// starts with one of `short_ids`.
pub fn berth_cgroups(short_ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for base in cgroup_mounts() {
        let Ok(rd) = std::fs::read_dir(base.join("berth")) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir()
                && short_ids
                    .iter()
                    .any(|s| !s.is_empty() && name.starts_with(s.as_str()))
            {
                found.push(e.path().display().to_string());
            }
        }
    }
    found
}

/// Polls `done` every 50 ms until it holds; `false` when `limit` passed first.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What containers can leave behind, observed from outside berth.
#[derive(Debug, PartialEq)]
pub struct Traces {
    pub netns_files: usize,
    pub nsfs_mounts: usize,
    pub veths: Vec<String>,
    pub reservations: Vec<String>,
    pub cached_results: Vec<String>,
    pub ruleset: String,
    pub root_mounts: usize,
    pub shims: usize,
    pub container_dirs: usize,
    pub runtime_states: usize,
}

/// The traces `b` shows now.
pub fn traces(b: &Berth) -> Traces {
    let count = |p: std::path::PathBuf| std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0);
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let run = b.run.path().display().to_string();
    Traces {
        netns_files: count(b.run.path().join("netns")),
        nsfs_mounts: mountinfo
            .lines()
            .filter(|l| l.contains(&run) && l.contains(" - nsfs "))
            .count(),
        veths: b.host_links("veth"),
        reservations: b.reservations("bridge"),
        cached_results: b.cache_files(),
        ruleset: b.host.run_ok("nft", &["list", "ruleset"]),
        root_mounts: mounts_under(b.root.path()),
        shims: processes_with(&run),
        container_dirs: count(b.root.path().join("containers")),
        runtime_states: count(b.run.path().join("runtime")),
    }
}
