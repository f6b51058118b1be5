//! What the container root tests share: a berth with a busybox image, removal of every
//! container when a test ends, and probes for what a container leaves behind (processes,
//! mounts, cgroups).
#![allow(dead_code)] // each test crate that includes this uses a different part

use std::time::Duration;

use super::fixture::Berth;

/// A berth with the image `bb` imported: busybox with its applets, /etc/passwd, and
/// /www/index.html.
pub fn berth_with_busybox(prefix: &str) -> Berth {
    let b = Berth::new(prefix);
    let tar = b.root.path().join("bb.tar");
    let mut t = tar::Builder::new(std::fs::File::create(&tar).unwrap());
    let file = |t: &mut tar::Builder<std::fs::File>, path: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        t.append_data(&mut h, path, data).unwrap();
    };
    file(
        &mut t,
        "bin/busybox",
        &std::fs::read("/bin/busybox").unwrap(),
        0o755,
    );
    file(
        &mut t,
        "etc/passwd",
        b"root:x:0:0::/root:/bin/sh\nwww:x:33:33::/:/bin/sh\n",
        0o644,
    );
    file(&mut t, "www/index.html", b"served by berth\n", 0o644);
    berth_netns_tests::build::append_applets(
        &mut t,
        berth_netns_tests::build::busybox_applets(),
        0,
    );
    t.finish().unwrap();
    drop(t);
    b.ok(&["import", tar.to_str().unwrap(), "bb:latest"]);
    b
}

/// Removes every container (so the roots can go) when a test ends, passed or not.
pub struct Cleanup<'a>(pub &'a Berth);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let ids = self.0.run(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = self.0.run(&["rm", "-f", id]);
        }
    }
}

pub fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
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
