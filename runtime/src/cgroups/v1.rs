//! cgroup v1: one directory per hierarchy. Writes memory, cpu, cpuset, pids, blkio, hugetlb,
//! devices, net_cls and net_prio files, and drives the freezer. The hierarchy mount points come
//! from [`super::Layout`]; nothing here looks at the real /sys/fs/cgroup on its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxResources};

use super::{CgroupError, Stats, ensure_dir, read_file, read_pids, remove_dir, write_file};

/// A container's cgroup across the v1 hierarchies.
#[derive(Debug, Clone)]
pub struct V1Cgroup {
    /// Controller name -> this cgroup's directory in that controller's hierarchy.
    dirs: BTreeMap<String, PathBuf>,
    /// Controller name -> the hierarchy's mount point.
    mounts: BTreeMap<String, PathBuf>,
}

/// Devices every container may use (null, zero, full, random, urandom, tty, ptmx, pts).
pub const DEFAULT_DEVICE_RULES: &[&str] = &[
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
];

impl V1Cgroup {
    /// The cgroup at `rel` below each hierarchy in `hierarchies`.
    pub fn new(hierarchies: &BTreeMap<String, PathBuf>, rel: &Path) -> Self {
        let dirs = hierarchies
            .iter()
            .map(|(ctrl, mount)| (ctrl.clone(), mount.join(rel)))
            .collect();
        Self {
            dirs,
            mounts: hierarchies.clone(),
        }
    }

    fn dir(&self, ctrl: &str) -> Option<&Path> {
        self.dirs.get(ctrl).map(PathBuf::as_path)
    }

    fn need(&self, ctrl: &str, field: &str) -> Result<&Path, CgroupError> {
        self.dir(ctrl).ok_or_else(|| CgroupError::Unsupported {
            field: field.to_owned(),
            version: "v1",
            reason: format!("the {ctrl} controller is not mounted"),
        })
    }

    /// Each distinct directory once (co-mounted controllers share one).
    fn unique_dirs(&self) -> BTreeSet<&Path> {
        self.dirs.values().map(PathBuf::as_path).collect()
    }

    /// (hierarchy mount name, directory) pairs, one per distinct directory.
    pub fn dirs(&self) -> Vec<(String, PathBuf)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (ctrl, dir) in &self.dirs {
            if seen.insert(dir.clone()) {
                let name = self.mounts[ctrl]
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| ctrl.clone());
                out.push((name, dir.clone()));
            }
        }
        out
    }

    /// `mkdir -p` in every hierarchy; cpuset gets cpus/mems copied down from its parents.
    pub fn create(&self) -> Result<(), CgroupError> {
        for dir in self.unique_dirs() {
            ensure_dir(dir)?;
        }
        if let Some(dir) = self.dir("cpuset") {
            fill_cpuset(dir)?;
        }
        Ok(())
    }

    /// Write every resource in `r`.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(m) = r.memory() {
            self.apply_memory(m)?;
        }
        if let Some(c) = r.cpu() {
            self.apply_cpu(c)?;
        }
        if let Some(p) = r.pids() {
            let dir = self.need("pids", "linux.resources.pids")?;
            write_file(dir, "pids.max", &pids_value(p.limit()))?;
        }
        if let Some(b) = r.block_io() {
            self.apply_blkio(b)?;
        }
        for h in r.hugepage_limits().iter().flatten() {
            let dir = self.need("hugetlb", "linux.resources.hugepageLimits")?;
            let file = format!("hugetlb.{}.limit_in_bytes", h.page_size());
            write_file(dir, &file, &h.limit().to_string())?;
        }
        if let Some(devices) = r.devices() {
            self.apply_devices(devices)?;
        }
        if let Some(n) = r.network() {
            if let Some(id) = n.class_id() {
                let dir = self.need("net_cls", "linux.resources.network.classID")?;
                write_file(dir, "net_cls.classid", &id.to_string())?;
            }
            for p in n.priorities().iter().flatten() {
                let dir = self.need("net_prio", "linux.resources.network.priorities")?;
                write_file(
                    dir,
                    "net_prio.ifpriomap",
                    &format!("{} {}", p.name(), p.priority()),
                )?;
            }
        }
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::Unsupported {
                field: "linux.resources.unified".into(),
                version: "v1",
                reason: "unified keys need cgroup v2".into(),
            });
        }
        Ok(())
    }

    fn apply_memory(&self, m: &LinuxMemory) -> Result<(), CgroupError> {
        let dir = self.need("memory", "linux.resources.memory")?;
        if let Some(v) = m.reservation() {
            write_file(dir, "memory.soft_limit_in_bytes", &v.to_string())?;
        }
        if let Some(v) = m.limit() {
            write_file(dir, "memory.limit_in_bytes", &v.to_string())?;
        }
        if let Some(v) = m.swap() {
            if dir.join("memory.memsw.limit_in_bytes").exists() {
                write_file(dir, "memory.memsw.limit_in_bytes", &v.to_string())?;
            } else if v > 0 && Some(v) != m.limit() {
                tracing::warn!("swap accounting is off; linux.resources.memory.swap ignored");
            }
        }
        if let Some(v) = m.swappiness() {
            if v > 100 {
                return Err(CgroupError::Unsupported {
                    field: "linux.resources.memory.swappiness".into(),
                    version: "v1",
                    reason: format!("{v} is above 100"),
                });
            }
            write_file(dir, "memory.swappiness", &v.to_string())?;
        }
        if m.disable_oom_killer() == Some(true) {
            write_file(dir, "memory.oom_control", "1")?;
        }
        // The spec deprecates kernel memory limits and Linux 6.x no longer enforces them:
        // warned about and not applied, as runc does.
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            tracing::warn!(
                "linux.resources.memory.kernel and kernelTCP are deprecated and not applied"
            );
        }
        Ok(())
    }

    fn apply_cpu(&self, c: &LinuxCpu) -> Result<(), CgroupError> {
        let wants_cpu = c.shares().is_some()
            || c.quota().is_some()
            || c.period().is_some()
            || c.realtime_runtime().is_some()
            || c.realtime_period().is_some();
        if wants_cpu {
            let dir = self.need("cpu", "linux.resources.cpu")?;
            if let Some(v) = c.shares() {
                write_file(dir, "cpu.shares", &v.to_string())?;
            }
            if let Some(v) = c.period() {
                write_file(dir, "cpu.cfs_period_us", &v.to_string())?;
            }
            if let Some(v) = c.quota() {
                write_file(dir, "cpu.cfs_quota_us", &v.to_string())?;
            }
            if let Some(v) = c.realtime_period() {
                write_file(dir, "cpu.rt_period_us", &v.to_string())?;
            }
            if let Some(v) = c.realtime_runtime() {
                write_file(dir, "cpu.rt_runtime_us", &v.to_string())?;
            }
        }
        if c.cpus().is_some() || c.mems().is_some() {
            let dir = self.need("cpuset", "linux.resources.cpu.cpus")?;
            if let Some(v) = c.cpus().as_deref().filter(|v| !v.is_empty()) {
                write_file(dir, "cpuset.cpus", v)?;
            }
            if let Some(v) = c.mems().as_deref().filter(|v| !v.is_empty()) {
                write_file(dir, "cpuset.mems", v)?;
            }
        }
        Ok(())
    }

    fn apply_blkio(&self, b: &LinuxBlockIo) -> Result<(), CgroupError> {
        let dir = self.need("blkio", "linux.resources.blockIO")?;
        if let Some(w) = b.weight() {
            write_file(dir, "blkio.weight", &w.to_string())?;
        }
        if let Some(w) = b.leaf_weight() {
            write_file(dir, "blkio.leaf_weight", &w.to_string())?;
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                let line = format!("{}:{} {w}", d.major(), d.minor());
                write_file(dir, "blkio.weight_device", &line)?;
            }
            if let Some(w) = d.leaf_weight() {
                let line = format!("{}:{} {w}", d.major(), d.minor());
                write_file(dir, "blkio.leaf_weight_device", &line)?;
            }
        }
        let throttles = [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        for (file, list) in throttles {
            for t in list.iter().flatten() {
                let line = format!("{}:{} {}", t.major(), t.minor(), t.rate());
                write_file(dir, file, &line)?;
            }
        }
        Ok(())
    }

    fn apply_devices(&self, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
        let dir = self.need("devices", "linux.resources.devices")?;
        for (file, line) in device_writes(rules) {
            write_file(dir, file, &line)?;
        }
        Ok(())
    }

    /// Move `pid` into every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.unique_dirs() {
            write_file(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Processes in the cgroup (read from the pids, memory or any hierarchy).
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = ["pids", "memory", "freezer", "devices"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs.values().next().map(PathBuf::as_path));
        match dir {
            Some(d) => read_pids(d),
            None => Ok(Vec::new()),
        }
    }

    /// Freeze or thaw through the freezer controller, waiting until the state settles.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let dir = self.need("freezer", "freezer")?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        for _ in 0..1000 {
            write_file(dir, "freezer.state", want)?;
            if read_file(dir, "freezer.state")? == want {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(CgroupError::Io {
            op: "write",
            path: dir.join("freezer.state"),
            source: std::io::Error::from_raw_os_error(libc::EBUSY),
        })
    }

    /// Whether the freezer says FROZEN.
    pub fn is_frozen(&self) -> bool {
        self.dir("freezer")
            .and_then(|d| read_file(d, "freezer.state").ok())
            .is_some_and(|s| s == "FROZEN")
    }

    /// Memory, pids and cpu usage.
    pub fn stats(&self) -> Stats {
        let num = |ctrl: &str, file: &str| {
            self.dir(ctrl)
                .and_then(|d| read_file(d, file).ok())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Stats {
            memory_usage: num("memory", "memory.usage_in_bytes"),
            memory_limit: num("memory", "memory.limit_in_bytes"),
            pids_current: num("pids", "pids.current"),
            cpu_usage_ns: num("cpuacct", "cpuacct.usage"),
        }
    }

    /// `rmdir` in every hierarchy; missing directories count as removed.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for dir in self.unique_dirs() {
            if let Err(e) = remove_dir(dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// `pids.max` value: non-positive means unlimited.
pub fn pids_value(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_owned()
    }
}

/// The (file, line) writes for a device rule list, followed by the default devices.
pub fn device_writes(rules: &[LinuxDeviceCgroup]) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = rules
        .iter()
        .map(|r| {
            let file = if r.allow() {
                "devices.allow"
            } else {
                "devices.deny"
            };
            (file, device_rule_line(r))
        })
        .collect();
    out.extend(
        DEFAULT_DEVICE_RULES
            .iter()
            .map(|l| ("devices.allow", (*l).to_owned())),
    );
    out
}

/// `c 1:3 rwm` from a rule; missing type/numbers mean "all".
pub fn device_rule_line(r: &LinuxDeviceCgroup) -> String {
    let typ = r
        .typ()
        .map_or_else(|| "a".to_owned(), |t| t.as_str().to_owned());
    let num = |n: Option<i64>| {
        n.filter(|n| *n >= 0)
            .map_or("*".to_owned(), |n| n.to_string())
    };
    let access = r.access().as_deref().unwrap_or("rwm");
    if typ == "a" && r.major().is_none() && r.minor().is_none() {
        return "a".to_owned();
    }
    format!("{typ} {}:{} {access}", num(r.major()), num(r.minor()))
}

/// A fresh v1 cpuset is empty and refuses tasks: copy cpus/mems down from the nearest parent.
fn fill_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let mut chain: Vec<&Path> = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if !d.join("cpuset.cpus").exists() {
            break;
        }
        chain.push(d);
        cur = d.parent();
    }
    for pair in chain.windows(2).rev() {
        let (child, parent) = (pair[0], pair[1]);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if read_file(child, file)?.is_empty() {
                write_file(child, file, &read_file(parent, file)?)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn fixture() -> (tempfile::TempDir, BTreeMap<String, PathBuf>) {
        let tmp = tempfile::tempdir().unwrap();
        let mut h = BTreeMap::new();
        for c in [
            "memory", "cpu", "cpuset", "pids", "blkio", "devices", "freezer", "net_cls",
        ] {
            let d = tmp.path().join(c);
            fs::create_dir_all(&d).unwrap();
            h.insert(c.to_owned(), d);
        }
        fs::write(tmp.path().join("cpuset/cpuset.cpus"), "0-3\n").unwrap();
        fs::write(tmp.path().join("cpuset/cpuset.mems"), "0\n").unwrap();
        (tmp, h)
    }

    fn resources(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn writes_memory_cpu_pids_and_blkio() {
        let (tmp, h) = fixture();
        let cg = V1Cgroup::new(&h, Path::new("ctr"));
        cg.create().unwrap();
        let r = resources(serde_json::json!({
            "memory": {"limit": 1048576, "reservation": 524288, "swappiness": 10},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000},
            "pids": {"limit": 0},
            "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]},
            "network": {"classID": 1048577}
        }));
        cg.apply(&r).unwrap();
        let read = |p: &str| fs::read_to_string(tmp.path().join(p)).unwrap();
        assert_eq!(read("memory/ctr/memory.limit_in_bytes"), "1048576");
        assert_eq!(read("memory/ctr/memory.soft_limit_in_bytes"), "524288");
        assert_eq!(read("memory/ctr/memory.swappiness"), "10");
        assert_eq!(read("cpu/ctr/cpu.shares"), "512");
        assert_eq!(read("cpu/ctr/cpu.cfs_quota_us"), "50000");
        assert_eq!(read("pids/ctr/pids.max"), "max");
        assert_eq!(read("blkio/ctr/blkio.weight"), "300");
        assert_eq!(read("blkio/ctr/blkio.throttle.read_bps_device"), "8:0 1000");
        assert_eq!(read("net_cls/ctr/net_cls.classid"), "1048577");
    }

    #[test]
    fn create_copies_cpuset_from_parent() {
        let (tmp, h) = fixture();
        let p = tmp.path().join("cpuset/a");
        fs::create_dir_all(p.join("b")).unwrap();
        for d in [&p, &p.join("b")] {
            fs::write(d.join("cpuset.cpus"), "").unwrap();
            fs::write(d.join("cpuset.mems"), "").unwrap();
        }
        V1Cgroup::new(&h, Path::new("a/b")).create().unwrap();
        assert_eq!(fs::read_to_string(p.join("b/cpuset.cpus")).unwrap(), "0-3");
        assert_eq!(fs::read_to_string(p.join("cpuset.mems")).unwrap(), "0");
    }

    #[test]
    fn device_rules_keep_order_and_add_defaults() {
        let rules: Vec<LinuxDeviceCgroup> = serde_json::from_value(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"},
            {"allow": false, "type": "b", "major": 8, "access": "r"}
        ]))
        .unwrap();
        let w = device_writes(&rules);
        assert_eq!(w[0], ("devices.deny", "a".to_owned()));
        assert_eq!(w[1], ("devices.allow", "c 10:200 rw".to_owned()));
        assert_eq!(w[2], ("devices.deny", "b 8:* r".to_owned()));
        assert!(w.contains(&("devices.allow", "c 1:3 rwm".to_owned())));
    }

    #[test]
    fn missing_controller_names_the_field() {
        let (_tmp, mut h) = fixture();
        h.remove("pids");
        let cg = V1Cgroup::new(&h, Path::new("x"));
        cg.create().unwrap();
        let err = cg
            .apply(&resources(serde_json::json!({"pids": {"limit": 5}})))
            .unwrap_err();
        assert!(err.to_string().contains("linux.resources.pids"), "{err}");
    }

    #[test]
    fn freezer_round_trip_and_remove_is_idempotent() {
        let (_tmp, h) = fixture();
        let cg = V1Cgroup::new(&h, Path::new("f"));
        cg.create().unwrap();
        cg.set_frozen(true).unwrap();
        assert!(cg.is_frozen());
        cg.set_frozen(false).unwrap();
        assert!(!cg.is_frozen());
        // Fixture dirs hold regular files, so rmdir fails there; a missing dir is fine.
        let gone = V1Cgroup::new(&h, Path::new("never-created"));
        gone.remove().unwrap();
    }
}
