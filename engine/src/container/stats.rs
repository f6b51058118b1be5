//! Resource usage of a running container (`berth stats`, `GET /containers/{id}/stats`): one
//! [`Sample`] reads the container's cgroup (CPU time, memory, pids, block I/O), the host's CPU
//! time (`/proc/stat`) and the container's interfaces (`/proc/<pid>/net/dev`, which shows the
//! init's network namespace without entering it). Two samples give the CPU % Docker shows
//! ([`Sample::cpu_percent`]). Shapes on the wire are the front ends' business.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_runtime::cgroups::Cgroup;

use super::lifecycle::Engine;
use super::record::ContainerRecord;

/// Nanoseconds per USER_HZ tick (100 Hz on Linux), the unit of `/proc/stat` and v1's
/// `cpuacct.stat`.
const NS_PER_TICK: u64 = 10_000_000;

/// One reading of a container's usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// When it was read, RFC 3339 with nanoseconds.
    pub read: String,
    /// CPU time of the container, nanoseconds.
    pub cpu_total_ns: u64,
    /// Of which in user mode.
    pub cpu_user_ns: u64,
    /// Of which in kernel mode.
    pub cpu_kernel_ns: u64,
    /// Per CPU (cgroup v1 only; empty otherwise).
    pub percpu_ns: Vec<u64>,
    /// CPU time of the whole host, nanoseconds (Docker's `system_cpu_usage`).
    pub system_cpu_ns: u64,
    /// CPUs online on the host.
    pub online_cpus: u32,
    /// CFS periods, throttled periods and throttled time (ns).
    pub throttling: [u64; 3],
    /// Memory in use, bytes.
    pub memory_usage: u64,
    /// The most memory used (cgroup v1 only; 0 otherwise).
    pub memory_max_usage: u64,
    /// The memory limit; the host's memory when the cgroup has none, as dockerd reports it.
    pub memory_limit: u64,
    /// `memory.stat`, by name.
    pub memory_stat: BTreeMap<String, u64>,
    /// Tasks in the cgroup.
    pub pids_current: u64,
    /// `pids.max` (0: no limit).
    pub pids_limit: u64,
    /// Interfaces of the container's network namespace (without `lo`); `None` when it shares
    /// the host's.
    pub networks: Option<BTreeMap<String, NetDev>>,
    /// Bytes read and written, per device and operation.
    pub io_bytes: Vec<BlkioEntry>,
    /// Read and write requests, per device and operation.
    pub io_ops: Vec<BlkioEntry>,
}

/// One interface's counters (`/proc/net/dev`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetDev {
    /// Received bytes, packets, errors, drops.
    pub rx: [u64; 4],
    /// Sent bytes, packets, errors, drops.
    pub tx: [u64; 4],
}

/// One block I/O counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlkioEntry {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// `Read`, `Write`, … (v1 spelling) or `read`, `write` (v2).
    pub op: String,
    /// The count.
    pub value: u64,
}

impl Sample {
    /// CPU use between `prev` and `self` as Docker computes it: the container's share of the
    /// host's CPU time, times the number of CPUs, in percent (100% = one CPU busy).
    pub fn cpu_percent(&self, prev: &Sample) -> f64 {
        let cpu = self.cpu_total_ns.saturating_sub(prev.cpu_total_ns) as f64;
        let system = self.system_cpu_ns.saturating_sub(prev.system_cpu_ns) as f64;
        if cpu <= 0.0 || system <= 0.0 {
            return 0.0;
        }
        cpu / system * f64::from(self.online_cpus.max(1)) * 100.0
    }

    /// Memory use as `docker stats` shows it: the usage less the inactive file cache.
    pub fn memory_shown(&self) -> u64 {
        let cache = ["total_inactive_file", "inactive_file"]
            .iter()
            .find_map(|k| self.memory_stat.get(*k))
            .copied()
            .unwrap_or(0);
        self.memory_usage.saturating_sub(cache)
    }
}

/// Reads the usage of `rec` (running or paused) now.
pub fn sample(eng: &Engine<'_>, rec: &ContainerRecord) -> anyhow::Result<Sample> {
    let loaded = eng.runtime().load(&rec.id)?;
    let base = loaded.cgroup.stats();
    let (system_cpu_ns, online_cpus) = host_cpu(Path::new("/proc/stat"));
    let mut s = Sample {
        read: crate::clock::now_rfc3339(),
        cpu_total_ns: base.cpu_usage_ns,
        system_cpu_ns,
        online_cpus,
        memory_usage: base.memory_usage,
        memory_limit: effective_limit(base.memory_limit, host_memory(Path::new("/proc/meminfo"))),
        pids_current: base.pids_current,
        ..Default::default()
    };
    match &loaded.cgroup {
        Cgroup::V2(c) => read_v2(c.dir(), &mut s),
        Cgroup::V1(_) => read_v1(&loaded.cgroup.dirs(), &mut s),
    }
    let shared = rec.network_settings.sandbox_key.is_empty();
    if !shared && rec.state.pid > 0 {
        let dev = PathBuf::from(format!("/proc/{}/net/dev", rec.state.pid));
        s.networks = std::fs::read_to_string(dev).ok().map(|t| parse_net_dev(&t));
    }
    Ok(s)
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

fn num(dir: &Path, file: &str) -> u64 {
    read(dir, file)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// `key value` lines.
fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

fn read_v2(dir: &Path, s: &mut Sample) {
    let cpu = flat_keyed(&read(dir, "cpu.stat").unwrap_or_default());
    let get = |k: &str| cpu.get(k).copied().unwrap_or(0);
    s.cpu_user_ns = get("user_usec") * 1000;
    s.cpu_kernel_ns = get("system_usec") * 1000;
    s.throttling = [
        get("nr_periods"),
        get("nr_throttled"),
        get("throttled_usec") * 1000,
    ];
    s.memory_stat = flat_keyed(&read(dir, "memory.stat").unwrap_or_default());
    s.pids_limit = num(dir, "pids.max");
    (s.io_bytes, s.io_ops) = parse_io_stat(&read(dir, "io.stat").unwrap_or_default());
}

fn read_v1(dirs: &[(String, PathBuf)], s: &mut Sample) {
    let ctrl = |name: &str| {
        dirs.iter()
            .find(|(n, _)| n.split(',').any(|c| c == name))
            .map(|(_, d)| d.as_path())
    };
    if let Some(d) = ctrl("cpuacct") {
        let st = flat_keyed(&read(d, "cpuacct.stat").unwrap_or_default());
        s.cpu_user_ns = st.get("user").copied().unwrap_or(0) * NS_PER_TICK;
        s.cpu_kernel_ns = st.get("system").copied().unwrap_or(0) * NS_PER_TICK;
        s.percpu_ns = read(d, "cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
    }
    if let Some(d) = ctrl("cpu") {
        let st = flat_keyed(&read(d, "cpu.stat").unwrap_or_default());
        let get = |k: &str| st.get(k).copied().unwrap_or(0);
        s.throttling = [
            get("nr_periods"),
            get("nr_throttled"),
            get("throttled_time"),
        ];
    }
    if let Some(d) = ctrl("memory") {
        s.memory_max_usage = num(d, "memory.max_usage_in_bytes");
        s.memory_stat = flat_keyed(&read(d, "memory.stat").unwrap_or_default());
    }
    if let Some(d) = ctrl("pids") {
        s.pids_limit = num(d, "pids.max");
    }
    if let Some(d) = ctrl("blkio") {
        let list = |f: &str| {
            let t = read(d, &format!("{f}_recursive")).or_else(|| read(d, f));
            parse_blkio_v1(&t.unwrap_or_default())
        };
        s.io_bytes = list("blkio.throttle.io_service_bytes");
        s.io_ops = list("blkio.throttle.io_serviced");
    }
}

/// v1's `MAJ:MIN Op value` lines (the `Total` lines left out).
fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, op, value) = (f.next()?, f.next()?, f.next()?);
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_owned(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2's `MAJ:MIN rbytes=… wbytes=… rios=… wios=…` lines: (bytes, requests).
fn parse_io_stat(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ops) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "read"),
                "wbytes" => (&mut bytes, "write"),
                "rios" => (&mut ops, "read"),
                "wios" => (&mut ops, "write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_owned(),
                value,
            });
        }
    }
    (bytes, ops)
}

/// `/proc/net/dev`: counters per interface, `lo` left out.
fn parse_net_dev(text: &str) -> BTreeMap<String, NetDev> {
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            if name == "lo" {
                return None;
            }
            let v: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() < 12 {
                return None;
            }
            let dev = NetDev {
                rx: [v[0], v[1], v[2], v[3]],
                tx: [v[8], v[9], v[10], v[11]],
            };
            Some((name.to_owned(), dev))
        })
        .collect()
}

/// The host's CPU time in nanoseconds (the first 7 fields of the `cpu` line, as dockerd adds
/// them) and the number of CPUs (`cpuN` lines).
fn host_cpu(stat: &Path) -> (u64, u32) {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let mut total = 0;
    let mut cpus = 0;
    for l in text.lines() {
        let mut f = l.split_whitespace();
        match f.next() {
            Some("cpu") => {
                total = f.take(7).filter_map(|x| x.parse::<u64>().ok()).sum::<u64>() * NS_PER_TICK;
            }
            Some(c) if c.starts_with("cpu") && c[3..].bytes().all(|b| b.is_ascii_digit()) => {
                cpus += 1;
            }
            _ => {}
        }
    }
    (total, cpus)
}

/// The host's memory in bytes (`MemTotal`), 0 when unknown.
fn host_memory(meminfo: &Path) -> u64 {
    std::fs::read_to_string(meminfo)
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// The memory limit to show: the host's memory when the cgroup has none (0, or v1's
/// "unlimited", a number near 2^63), as Docker does.
pub fn effective_limit(limit: u64, host: u64) -> u64 {
    if host > 0 && (limit == 0 || limit > host) {
        host
    } else {
        limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limit_shows_the_hosts_memory() {
        assert_eq!(effective_limit(9_223_372_036_854_771_712, 8 << 30), 8 << 30);
        assert_eq!(effective_limit(0, 8 << 30), 8 << 30);
        assert_eq!(effective_limit(64 << 20, 8 << 30), 64 << 20);
        assert_eq!(effective_limit(0, 0), 0);
    }

    #[test]
    fn host_cpu_time_and_count_come_from_proc_stat() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("stat");
        std::fs::write(
            &p,
            "cpu  10 1 5 100 2 0 1 7 0 0\ncpu0 5 0 2 50 1 0 0 0 0 0\ncpu1 5 1 3 50 1 0 1 0 0 0\nintr 1\n",
        )
        .unwrap();
        assert_eq!(host_cpu(&p), (119 * NS_PER_TICK, 2));
    }

    #[test]
    fn cpu_percent_is_the_share_of_host_time_times_cpus() {
        let a = Sample {
            cpu_total_ns: 1_000,
            system_cpu_ns: 10_000,
            online_cpus: 2,
            ..Default::default()
        };
        let b = Sample {
            cpu_total_ns: 2_000,
            system_cpu_ns: 20_000,
            ..a.clone()
        };
        assert!((b.cpu_percent(&a) - 20.0).abs() < 1e-9);
        assert_eq!(a.cpu_percent(&b), 0.0);
    }

    #[test]
    fn counters_parse_from_proc_and_cgroup_files() {
        let dev = "Inter-|   Receive\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop\n    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 900 9 1 2 0 0 0 0 300 3 0 4 0 0 0 0\n";
        let n = parse_net_dev(dev);
        assert_eq!(n.len(), 1);
        assert_eq!(n["eth0"].rx, [900, 9, 1, 2]);
        assert_eq!(n["eth0"].tx, [300, 3, 0, 4]);
        let v1 = parse_blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(v1.len(), 2);
        assert_eq!(
            (v1[0].major, v1[0].op.as_str(), v1[0].value),
            (8, "Read", 4096)
        );
        let (bytes, ops) = parse_io_stat("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0\n");
        assert_eq!(bytes.iter().map(|e| e.value).collect::<Vec<_>>(), [10, 20]);
        assert_eq!(ops[1].op, "write");
        let mut s = Sample {
            memory_usage: 100,
            ..Default::default()
        };
        s.memory_stat.insert("total_inactive_file".into(), 30);
        assert_eq!(s.memory_shown(), 70);
    }
}
