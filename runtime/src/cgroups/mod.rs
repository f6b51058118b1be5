//! Cgroups: detect the host layout (v1, v2 or hybrid) from mountinfo, then create a container's
//! cgroup, write its resources, add processes, freeze, read stats and remove it. The cgroupfs
//! mount points come from [`Layout`], so tests point them at fixture directories. On the hybrid
//! layout the v1 controllers are used (the cgroup2 mount there carries no controllers).
//!
//! Not done here: v2 device rules (they need an eBPF program; see [`v2`]).

pub mod device_nodes;
pub mod devices_bpf;
pub mod join;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

/// Errors from cgroup operations; each carries the file it was touching.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Reading or writing a cgroupfs file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`write`, `read`, `mkdir`, `rmdir`).
        op: &'static str,
        /// The cgroupfs file or directory.
        path: PathBuf,
        /// The cause (keeps the errno).
        #[source]
        source: io::Error,
    },
    /// The kernel refused a value: the controller's file and the value are named.
    #[error("write {value:?} to {path}: {source}")]
    Write {
        /// The cgroupfs file.
        path: PathBuf,
        /// What was written.
        value: String,
        /// The cause (keeps the errno).
        #[source]
        source: io::Error,
    },
    /// No cgroup filesystem is mounted.
    #[error("no cgroup filesystem found in /proc/self/mountinfo")]
    NoCgroupfs,
    /// The config asks for something this layout cannot do.
    #[error("resource `{field}` is not supported on cgroup {version}: {reason}")]
    Unsupported {
        /// JSON path of the resource (e.g. `linux.resources.devices`).
        field: String,
        /// "v1" or "v2".
        version: &'static str,
        /// Why.
        reason: String,
    },
    /// A cgroupsPath that is not usable with the cgroupfs driver.
    #[error(
        "invalid linux.cgroupsPath {0:?}: systemd-style paths need --systemd-cgroup, which berth-runtime does not support"
    )]
    BadPath(String),
}

/// Where the cgroup filesystems are mounted on this host. Recorded in a container's state at
/// create time, so later commands need not parse mountinfo again (1-2 ms on a host with many
/// mounts).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Only v1 hierarchies: controller name -> mount point.
    V1 {
        /// Controller (or `name=systemd`) to its mount point.
        hierarchies: BTreeMap<String, PathBuf>,
    },
    /// Only the unified hierarchy.
    V2 {
        /// Mount point of cgroup2.
        root: PathBuf,
    },
    /// v1 controllers plus a cgroup2 mount (usually without controllers).
    Hybrid {
        /// Controller (or `name=systemd`) to its mount point.
        hierarchies: BTreeMap<String, PathBuf>,
        /// Mount point of cgroup2.
        unified: PathBuf,
    },
}

impl Layout {
    /// Read the layout of the calling process's mount namespace.
    pub fn detect() -> Result<Self, CgroupError> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
            op: "read",
            path: path.to_owned(),
            source,
        })?;
        parse_mountinfo(&text).ok_or(CgroupError::NoCgroupfs)
    }

    /// The v1 hierarchies in use (empty on pure v2).
    pub fn v1_hierarchies(&self) -> Option<&BTreeMap<String, PathBuf>> {
        match self {
            Self::V1 { hierarchies } | Self::Hybrid { hierarchies, .. } => Some(hierarchies),
            Self::V2 { .. } => None,
        }
    }
}

/// Parse `/proc/self/mountinfo` text into a layout; `None` when no cgroupfs is mounted.
pub fn parse_mountinfo(text: &str) -> Option<Layout> {
    let mut hierarchies = BTreeMap::new();
    let mut unified = None;
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4) else {
            continue;
        };
        let mut fields = right.split(' ');
        let fstype = fields.next().unwrap_or_default();
        let super_opts = fields.nth(1).unwrap_or_default();
        match fstype {
            "cgroup2" => unified = Some(PathBuf::from(mount_point)),
            "cgroup" => {
                for opt in super_opts.split(',') {
                    let known = matches!(
                        opt,
                        "cpu"
                            | "cpuacct"
                            | "cpuset"
                            | "memory"
                            | "devices"
                            | "freezer"
                            | "blkio"
                            | "pids"
                            | "hugetlb"
                            | "net_cls"
                            | "net_prio"
                            | "perf_event"
                            | "rdma"
                            | "misc"
                    );
                    if known || opt.starts_with("name=") {
                        hierarchies.insert(opt.to_owned(), PathBuf::from(mount_point));
                    }
                }
            }
            _ => {}
        }
    }
    match (hierarchies.is_empty(), unified) {
        (true, None) => None,
        (true, Some(root)) => Some(Layout::V2 { root }),
        (false, None) => Some(Layout::V1 { hierarchies }),
        (false, Some(unified)) => Some(Layout::Hybrid {
            hierarchies,
            unified,
        }),
    }
}

/// Turn `linux.cgroupsPath` (or its absence) into a path relative to each hierarchy root.
pub fn relative_path(cgroups_path: Option<&Path>, id: &str) -> Result<PathBuf, CgroupError> {
    let Some(p) = cgroups_path else {
        return Ok(PathBuf::from("berth-runtime").join(id));
    };
    let s = p.to_string_lossy();
    if !s.starts_with('/') && s.matches(':').count() == 2 {
        return Err(CgroupError::BadPath(s.into_owned()));
    }
    let rel: PathBuf = p
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::BadPath(s.into_owned()));
    }
    Ok(rel)
}

/// Usage figures for `events --stats`.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    /// Memory in use, bytes.
    pub memory_usage: u64,
    /// Memory limit, bytes (0 when unlimited or unknown).
    pub memory_limit: u64,
    /// Number of tasks.
    pub pids_current: u64,
    /// Total CPU time, nanoseconds.
    pub cpu_usage_ns: u64,
}

/// One container's cgroup, on whichever layout the host has.
#[derive(Debug, Clone)]
pub enum Cgroup {
    /// cgroup v1 (also used on the hybrid layout).
    V1(v1::V1Cgroup),
    /// cgroup v2.
    V2(v2::V2Cgroup),
}

impl Cgroup {
    /// The cgroup at `rel` (relative to each hierarchy root) on `layout`.
    pub fn new(layout: &Layout, rel: &Path) -> Self {
        match layout {
            Layout::V1 { hierarchies } | Layout::Hybrid { hierarchies, .. } => {
                Self::V1(v1::V1Cgroup::new(hierarchies, rel))
            }
            Layout::V2 { root } => Self::V2(v2::V2Cgroup::new(root, rel)),
        }
    }

    /// Create the directories (`mkdir -p`).
    pub fn create(&self) -> Result<(), CgroupError> {
        match self {
            Self::V1(c) => c.create(),
            Self::V2(c) => c.create(),
        }
    }

    /// Write every resource the config names.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        match self {
            Self::V1(c) => c.apply(r),
            Self::V2(c) => c.apply(r),
        }
    }

    /// Move a process into the cgroup (a child being created joins by itself on v1: see
    /// [`join`]).
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        match self {
            Self::V1(c) => c.add_pid(pid),
            Self::V2(c) => c.add_pid(pid),
        }
    }

    /// Every process in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        match self {
            Self::V1(c) => c.pids(),
            Self::V2(c) => c.pids(),
        }
    }

    /// Freeze (`true`) or thaw (`false`) every process in the cgroup.
    pub fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        match self {
            Self::V1(c) => c.set_frozen(frozen),
            Self::V2(c) => c.set_frozen(frozen),
        }
    }

    /// Whether the cgroup is frozen.
    pub fn is_frozen(&self) -> bool {
        match self {
            Self::V1(c) => c.is_frozen(),
            Self::V2(c) => c.is_frozen(),
        }
    }

    /// Usage figures.
    pub fn stats(&self) -> Stats {
        match self {
            Self::V1(c) => c.stats(),
            Self::V2(c) => c.stats(),
        }
    }

    /// Remove the directories; succeeds when they are already gone.
    pub fn remove(&self) -> Result<(), CgroupError> {
        match self {
            Self::V1(c) => c.remove(),
            Self::V2(c) => c.remove(),
        }
    }

    /// The directories making up this cgroup, for bind mounts into the container.
    pub fn dirs(&self) -> Vec<(String, PathBuf)> {
        match self {
            Self::V1(c) => c.dirs(),
            Self::V2(c) => vec![(String::new(), c.dir().to_owned())],
        }
    }
}

/// Write `value` to `dir/file`.
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    tracing::debug!(path = %path.display(), value, "cgroup write");
    std::fs::write(&path, value).map_err(|source| CgroupError::Write {
        path,
        value: value.to_owned(),
        source,
    })
}

/// Read `dir/file` as a trimmed string.
pub(crate) fn read_file(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|source| CgroupError::Io {
            op: "read",
            path,
            source,
        })
}

/// Parse a `cgroup.procs` file.
pub(crate) fn read_pids(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let text = read_file(dir, "cgroup.procs")?;
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// `rmdir` that treats a missing directory as done and retries while tasks are still exiting.
pub(crate) fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    for attempt in 0..50 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 49 => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(source) => {
                return Err(CgroupError::Io {
                    op: "rmdir",
                    path: dir.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// `mkdir -p` with the cgroup error type.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(|source| CgroupError::Io {
        op: "mkdir",
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn detects_hybrid_with_comounted_controllers() {
        let Layout::Hybrid {
            hierarchies,
            unified,
        } = parse_mountinfo(HYBRID).unwrap()
        else {
            panic!("not hybrid");
        };
        assert_eq!(unified, PathBuf::from("/sys/fs/cgroup/unified"));
        assert_eq!(
            hierarchies["cpu"],
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(hierarchies["cpuacct"], hierarchies["cpu"]);
        assert!(hierarchies.contains_key("name=systemd"));
        assert!(!hierarchies.contains_key("xattr"));
    }

    #[test]
    fn detects_pure_v2_and_v1() {
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            parse_mountinfo(v2),
            Some(Layout::V2 {
                root: "/sys/fs/cgroup".into()
            })
        );
        let v1 = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert!(matches!(parse_mountinfo(v1), Some(Layout::V1 { .. })));
        assert_eq!(parse_mountinfo("1 2 0:1 / / rw - ext4 /dev/sda rw\n"), None);
    }

    #[test]
    fn relative_path_defaults_and_rejects_systemd_form() {
        assert_eq!(
            relative_path(None, "c1").unwrap(),
            PathBuf::from("berth-runtime/c1")
        );
        assert_eq!(
            relative_path(Some(Path::new("/a/../b")), "c1").unwrap(),
            PathBuf::from("a/b")
        );
        assert!(relative_path(Some(Path::new("system.slice:berth:c1")), "c1").is_err());
    }
}
