//! cgroup v2: one directory in the unified hierarchy. Writes memory, cpu, cpuset, pids, io,
//! hugetlb and `unified` keys, enables the controllers it needs in the parents'
//! `cgroup.subtree_control`, and freezes through `cgroup.freeze`.
//!
//! Device rules become an eBPF program attached to the cgroup ([`super::devices_bpf`]).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::{CgroupError, Stats, ensure_dir, read_file, read_pids, remove_dir, write_file};

/// A container's cgroup in the unified hierarchy.
#[derive(Debug, Clone)]
pub struct V2Cgroup {
    root: PathBuf,
    dir: PathBuf,
}

impl V2Cgroup {
    /// The cgroup at `rel` below the cgroup2 mount `root`.
    pub fn new(root: &Path, rel: &Path) -> Self {
        Self {
            root: root.to_owned(),
            dir: root.join(rel),
        }
    }

    /// This cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `mkdir -p`, enabling every available controller on the way down.
    pub fn create(&self) -> Result<(), CgroupError> {
        ensure_dir(&self.dir)?;
        let controllers = read_file(&self.root, "cgroup.controllers").unwrap_or_default();
        if controllers.is_empty() {
            return Ok(());
        }
        let enable: String = controllers
            .split_whitespace()
            .map(|c| format!("+{c} "))
            .collect();
        let mut cur = self.root.clone();
        let rel = self.dir.strip_prefix(&self.root).unwrap_or(Path::new(""));
        for comp in rel.components() {
            // Best effort: a parent with processes in it cannot delegate (EBUSY).
            if let Err(e) = write_file(&cur, "cgroup.subtree_control", enable.trim_end()) {
                tracing::debug!(error = %e, "subtree_control not updated");
            }
            cur.push(comp);
        }
        Ok(())
    }

    /// Write every resource in `r`.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let dir = &self.dir;
        if let Some(m) = r.memory() {
            apply_memory(dir, m)?;
        }
        if let Some(c) = r.cpu() {
            apply_cpu(dir, c)?;
        }
        if let Some(p) = r.pids() {
            write_file(dir, "pids.max", &super::v1::pids_value(p.limit()))?;
        }
        if let Some(b) = r.block_io() {
            apply_io(dir, b)?;
        }
        for h in r.hugepage_limits().iter().flatten() {
            let file = format!("hugetlb.{}.max", h.page_size());
            write_file(dir, &file, &h.limit().to_string())?;
        }
        if let Some(rules) = r.devices() {
            super::devices_bpf::apply(dir, rules)?;
        }
        if r.network().is_some() {
            return Err(CgroupError::Unsupported {
                field: "linux.resources.network".into(),
                version: "v2",
                reason: "net_cls/net_prio exist only on cgroup v1".into(),
            });
        }
        for (key, value) in r.unified().iter().flatten() {
            if key.contains('/') || key.starts_with('.') {
                return Err(CgroupError::Unsupported {
                    field: format!("linux.resources.unified.{key}"),
                    version: "v2",
                    reason: "not a cgroup file name".into(),
                });
            }
            write_file(dir, key, value)?;
        }
        Ok(())
    }

    /// Move `pid` into the cgroup.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        write_file(&self.dir, "cgroup.procs", &pid.to_string())
    }

    /// Processes in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        read_pids(&self.dir)
    }

    /// Freeze or thaw via `cgroup.freeze`.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        write_file(&self.dir, "cgroup.freeze", if frozen { "1" } else { "0" })
    }

    /// Whether `cgroup.freeze` is 1.
    pub fn is_frozen(&self) -> bool {
        read_file(&self.dir, "cgroup.freeze").is_ok_and(|s| s == "1")
    }

    /// Memory, pids and cpu usage.
    pub fn stats(&self) -> Stats {
        let num = |file: &str| {
            read_file(&self.dir, file)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let cpu_usec = read_file(&self.dir, "cpu.stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("usage_usec ")?.parse::<u64>().ok())
            })
            .unwrap_or(0);
        Stats {
            memory_usage: num("memory.current"),
            memory_limit: num("memory.max"),
            pids_current: num("pids.current"),
            cpu_usage_ns: cpu_usec * 1000,
        }
    }

    /// `rmdir`; a missing directory counts as removed.
    pub fn remove(&self) -> Result<(), CgroupError> {
        remove_dir(&self.dir)
    }
}

fn limit_value(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

fn apply_memory(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    if let Some(v) = m.reservation() {
        write_file(dir, "memory.low", &limit_value(v))?;
    }
    if let Some(v) = m.limit() {
        write_file(dir, "memory.max", &limit_value(v))?;
    }
    if let Some(swap) = m.swap() {
        // The spec's swap is memory+swap; v2's memory.swap.max is swap alone.
        let value = match (swap, m.limit()) {
            (s, _) if s < 0 => "max".to_owned(),
            (s, Some(l)) if l >= 0 => (s - l).max(0).to_string(),
            (s, _) => s.to_string(),
        };
        if dir.join("memory.swap.max").exists() {
            write_file(dir, "memory.swap.max", &value)?;
        }
    }
    Ok(())
}

/// runc's conversion of v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 100;
    }
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

fn apply_cpu(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(s) = c.shares() {
        write_file(dir, "cpu.weight", &shares_to_weight(s).to_string())?;
    }
    if c.quota().is_some() || c.period().is_some() {
        let quota = match c.quota() {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".to_owned(),
        };
        let period = c.period().unwrap_or(100_000);
        write_file(dir, "cpu.max", &format!("{quota} {period}"))?;
    }
    if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
        return Err(CgroupError::Unsupported {
            field: "linux.resources.cpu.realtimeRuntime".into(),
            version: "v2",
            reason: "realtime scheduling limits exist only on cgroup v1".into(),
        });
    }
    if let Some(v) = c.cpus().as_deref().filter(|v| !v.is_empty()) {
        write_file(dir, "cpuset.cpus", v)?;
    }
    if let Some(v) = c.mems().as_deref().filter(|v| !v.is_empty()) {
        write_file(dir, "cpuset.mems", v)?;
    }
    Ok(())
}

/// blkio.weight (10..1000) to io.weight (1..10000).
pub fn blkio_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

fn apply_io(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    if let Some(w) = b.weight() {
        write_file(dir, "io.weight", &blkio_to_io_weight(w).to_string())?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let line = format!("{}:{} {}", d.major(), d.minor(), blkio_to_io_weight(w));
            write_file(dir, "io.weight", &line)?;
        }
    }
    let throttles = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, list) in throttles {
        for t in list.iter().flatten() {
            let line = format!("{}:{} {key}={}", t.major(), t.minor(), t.rate());
            write_file(dir, "io.max", &line)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn writes_v2_files_and_enables_controllers() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        let cg = V2Cgroup::new(tmp.path(), Path::new("berth/c1"));
        cg.create().unwrap();
        fs::write(cg.dir().join("memory.swap.max"), "").unwrap();
        let r: LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 1048576, "swap": 2097152},
            "cpu": {"shares": 1024, "quota": 20000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 64},
            "blockIO": {"weight": 500, "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 10}]},
            "unified": {"memory.high": "900000"}
        }))
        .unwrap();
        cg.apply(&r).unwrap();
        let read = |f: &str| fs::read_to_string(cg.dir().join(f)).expect(f);
        assert_eq!(read("memory.max"), "1048576");
        assert_eq!(read("memory.swap.max"), "1048576");
        assert_eq!(read("cpu.max"), "20000 100000");
        assert_eq!(read("cpu.weight"), shares_to_weight(1024).to_string());
        assert_eq!(read("cpuset.cpus"), "0");
        assert_eq!(read("pids.max"), "64");
        assert_eq!(read("io.max"), "8:16 wiops=10");
        assert_eq!(read("memory.high"), "900000");
        let subtree = fs::read_to_string(tmp.path().join("cgroup.subtree_control")).unwrap();
        assert_eq!(subtree, "+cpu +memory +pids");
    }

    #[test]
    fn weight_conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }

    #[test]
    fn unified_key_with_slash_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let cg = V2Cgroup::new(tmp.path(), Path::new("c"));
        cg.create().unwrap();
        let r: LinuxResources =
            serde_json::from_value(serde_json::json!({"unified": {"../x": "1"}})).unwrap();
        let err = cg.apply(&r).unwrap_err().to_string();
        assert!(err.contains("linux.resources.unified"), "{err}");
    }

    #[test]
    fn freeze_writes_cgroup_freeze() {
        let tmp = tempfile::tempdir().unwrap();
        let cg = V2Cgroup::new(tmp.path(), Path::new("c"));
        cg.create().unwrap();
        cg.set_frozen(true).unwrap();
        assert!(cg.is_frozen());
    }
}
