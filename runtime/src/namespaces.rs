//! Namespaces: split `linux.namespaces` into the ones to create (clone flags) and the ones to
//! join by path (setns), in the order that works: the user namespace first, so every other
//! namespace is owned by it, and the pid namespace before the init is forked.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, open};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

/// Errors entering namespaces.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// Opening a namespace file failed.
    #[error("open {kind} namespace {path}: {source}")]
    Open {
        /// Namespace kind (net, pid, ...).
        kind: &'static str,
        /// The path from the config.
        path: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// setns(2) failed.
    #[error("join {kind} namespace {path}: {source}")]
    Join {
        /// Namespace kind.
        kind: &'static str,
        /// The path.
        path: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// unshare(2) failed.
    #[error("unshare {flags:?}: {source}")]
    Unshare {
        /// The flags.
        flags: CloneFlags,
        /// The errno.
        #[source]
        source: nix::Error,
    },
}

/// The clone flag of a namespace type.
pub fn flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// The name used in /proc/PID/ns and in error messages.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Join order: user first (it owns the rest), mount last (it changes what paths mean).
const ORDER: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

/// What to do with namespaces, computed from the config.
#[derive(Debug, Clone)]
pub struct NamespacePlan {
    /// Namespaces to create. The cgroup namespace is split out: it must be unshared after the
    /// init has been moved into its cgroup.
    pub clone_flags: CloneFlags,
    /// Whether to unshare a new cgroup namespace once in the cgroup.
    pub new_cgroupns: bool,
    /// Whether to create a time namespace from inside the init, so its offsets can be set
    /// before any process is in it.
    pub new_timens: bool,
    /// Namespaces to join, in join order.
    pub joins: Vec<(LinuxNamespaceType, PathBuf)>,
}

impl NamespacePlan {
    /// Plan from `linux.namespaces`.
    pub fn from_config(list: &[LinuxNamespace]) -> Self {
        let mut plan = Self {
            clone_flags: CloneFlags::empty(),
            new_cgroupns: false,
            new_timens: false,
            joins: Vec::new(),
        };
        for t in ORDER {
            let Some(ns) = list.iter().find(|n| n.typ() == t) else {
                continue;
            };
            match ns.path() {
                Some(p) => plan.joins.push((t, p.clone())),
                None if t == LinuxNamespaceType::Cgroup => plan.new_cgroupns = true,
                None if t == LinuxNamespaceType::Time => plan.new_timens = true,
                None => plan.clone_flags |= flag(t),
            }
        }
        plan
    }

    /// Whether a namespace of type `t` is created or joined.
    pub fn has(&self, t: LinuxNamespaceType) -> bool {
        self.clone_flags.contains(flag(t))
            || (t == LinuxNamespaceType::Cgroup && self.new_cgroupns)
            || (t == LinuxNamespaceType::Time && self.new_timens)
            || self.joins.iter().any(|(j, _)| *j == t)
    }

    /// Whether the plan neither creates nor joins a mount namespace: the init shares the
    /// caller's.
    pub fn shares_mount_ns(&self) -> bool {
        !self.has(LinuxNamespaceType::Mount)
    }

    /// Whether joins must happen before the init is forked (pid and user namespaces).
    pub fn needs_prejoin(&self) -> bool {
        self.joins
            .iter()
            .any(|(t, _)| matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::User))
    }
}

/// An opened namespace file, ready to join.
#[derive(Debug)]
pub struct NsFd {
    kind: LinuxNamespaceType,
    path: PathBuf,
    fd: OwnedFd,
}

/// Open namespace files (before any setns, so later paths still resolve on the host).
pub fn open_all(joins: &[(LinuxNamespaceType, PathBuf)]) -> Result<Vec<NsFd>, NamespaceError> {
    joins
        .iter()
        .map(|(kind, path)| {
            let fd = open(
                path.as_path(),
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|source| NamespaceError::Open {
                kind: proc_name(*kind),
                path: path.clone(),
                source,
            })?;
            Ok(NsFd {
                kind: *kind,
                path: path.clone(),
                fd,
            })
        })
        .collect()
}

/// setns into each opened namespace, in the given order.
pub fn join_all(fds: &[NsFd]) -> Result<(), NamespaceError> {
    for ns in fds {
        #[allow(clippy::disallowed_methods)] // this is the wrapper
        nix::sched::setns(&ns.fd, flag(ns.kind)).map_err(|source| NamespaceError::Join {
            kind: proc_name(ns.kind),
            path: ns.path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The namespaces of a running process that differ from the caller's, in join order.
pub fn of_process(proc_root: &Path, pid: i32) -> Vec<(LinuxNamespaceType, PathBuf)> {
    let mine = proc_root.join("self/ns");
    let theirs = proc_root.join(pid.to_string()).join("ns");
    ORDER
        .iter()
        .filter_map(|t| {
            let name = proc_name(*t);
            let a = std::fs::read_link(mine.join(name)).ok()?;
            let b = std::fs::read_link(theirs.join(name)).ok()?;
            (a != b).then(|| (*t, theirs.join(name)))
        })
        .collect()
}

/// Enter a new time namespace with the given offsets: unshare (which only affects children),
/// write `/proc/self/timens_offsets`, then setns into `time_for_children`.
pub fn enter_new_timens(offsets: &str) -> Result<(), NamespaceError> {
    let flag = flag(LinuxNamespaceType::Time);
    unshare(flag)?;
    let path = PathBuf::from("/proc/self/timens_offsets");
    if !offsets.is_empty() {
        std::fs::write(&path, offsets).map_err(|e| NamespaceError::Join {
            kind: "time",
            path: path.clone(),
            source: nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EINVAL)),
        })?;
    }
    let fds = open_all(&[(
        LinuxNamespaceType::Time,
        PathBuf::from("/proc/self/ns/time_for_children"),
    )])?;
    join_all(&fds)
}

/// `linux.timeOffsets` as the kernel's timens_offsets lines (`monotonic 5 0`).
pub fn time_offsets_text(
    offsets: Option<&std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset>>,
) -> String {
    let mut lines: Vec<String> = offsets
        .into_iter()
        .flatten()
        .map(|(clock, o)| {
            format!(
                "{clock} {} {}\n",
                o.secs().unwrap_or(0),
                o.nanosecs().unwrap_or(0)
            )
        })
        .collect();
    lines.sort();
    lines.concat()
}

/// unshare(2) with the namespace error type.
pub fn unshare(flags: CloneFlags) -> Result<(), NamespaceError> {
    nix::sched::unshare(flags).map_err(|source| NamespaceError::Unshare { flags, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: serde_json::Value) -> Vec<LinuxNamespace> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn plan_splits_new_joined_and_cgroup() {
        let plan = NamespacePlan::from_config(&list(serde_json::json!([
            {"type": "mount"}, {"type": "network", "path": "/run/netns/x"},
            {"type": "pid"}, {"type": "cgroup"}, {"type": "uts"}
        ])));
        assert_eq!(
            plan.clone_flags,
            CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWUTS
        );
        assert!(plan.new_cgroupns);
        assert_eq!(
            plan.joins,
            vec![(LinuxNamespaceType::Network, "/run/netns/x".into())]
        );
        assert!(!plan.needs_prejoin());
        assert!(plan.has(LinuxNamespaceType::Network));
        assert!(!plan.has(LinuxNamespaceType::Ipc));
    }

    #[test]
    fn time_namespace_is_created_by_the_init_with_offsets() {
        let plan = NamespacePlan::from_config(&list(serde_json::json!([{"type": "time"}])));
        assert!(plan.new_timens);
        assert!(plan.clone_flags.is_empty());
        let offsets: std::collections::HashMap<String, oci_spec::runtime::LinuxTimeOffset> =
            serde_json::from_value(serde_json::json!({
                "monotonic": {"secs": 86400, "nanosecs": 5}, "boottime": {"secs": 7}
            }))
            .unwrap();
        assert_eq!(
            time_offsets_text(Some(&offsets)),
            "boottime 7 0\nmonotonic 86400 5\n"
        );
    }

    #[test]
    fn joins_are_ordered_user_first_mount_last() {
        let plan = NamespacePlan::from_config(&list(serde_json::json!([
            {"type": "mount", "path": "/p/mnt"}, {"type": "network", "path": "/p/net"},
            {"type": "user", "path": "/p/user"}
        ])));
        let kinds: Vec<_> = plan.joins.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            kinds,
            vec![
                LinuxNamespaceType::User,
                LinuxNamespaceType::Network,
                LinuxNamespaceType::Mount
            ]
        );
        assert!(plan.needs_prejoin());
    }

    #[test]
    fn opening_a_missing_namespace_names_it() {
        let err = open_all(&[(LinuxNamespaceType::Network, "/nonexistent/ns".into())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("net namespace /nonexistent/ns"), "{err}");
    }
}
