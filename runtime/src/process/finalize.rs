//! The last steps before execve, shared by a container's init and by exec: rlimits, cwd, fds
//! capability bounding set, groups and ids, the other capability sets, no_new_privs, seccomp,
//! and umask. [`ProcessPlan::from_process`] checks and converts the config in the parent
//! (no root needed, unit-tested); [`exec_process`] applies it in the child.

use std::convert::Infallible;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability};
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::stat::Mode;
use nix::unistd::{AccessFlags, Gid, Uid, access};
use oci_spec::runtime::{Capabilities, PosixRlimitType, Process};

use crate::config::ConfigError;
use crate::seccomp::SeccompProgram;

/// PATH used when the process env has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Errors in the child while finishing the process; sent to the parent as text.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    /// A syscall failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// Changing a capability set failed.
    #[error("{op}: {source}")]
    Caps {
        /// What was being done.
        op: String,
        /// The cause.
        #[source]
        source: caps::errors::CapsError,
    },
    /// `process.args[0]`, a bare name, is in none of the container's `PATH` directories.
    #[error(
        "invalid config field `process.args[0]`: executable {0:?} not found in the container's $PATH"
    )]
    NotFound(String),
    /// `process.args[0]` is a path (it has a slash) with nothing there.
    #[error("invalid config field `process.args[0]`: {0:?} not found in the container")]
    NoSuchPath(String),
    /// `process.args[0]` is a path to something that is not an executable file.
    #[error(
        "invalid config field `process.args[0]`: {0:?} is not an executable file: permission denied"
    )]
    NotExecutable(String),
}

impl FinalizeError {
    /// A command that is not there: [`Self::NoSuchPath`] for a path (it has a slash), else
    /// [`Self::NotFound`] (looked up in `PATH`).
    pub fn missing(cmd: String) -> Self {
        if cmd.contains('/') {
            Self::NoSuchPath(cmd)
        } else {
            Self::NotFound(cmd)
        }
    }
}

fn sys(op: impl Into<String>) -> impl FnOnce(nix::Error) -> FinalizeError {
    let op = op.into();
    move |source| FinalizeError::Sys { op, source }
}

/// The five capability sets as bit masks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapMasks {
    /// Bounding set.
    pub bounding: u64,
    /// Effective set.
    pub effective: u64,
    /// Permitted set.
    pub permitted: u64,
    /// Inheritable set.
    pub inheritable: u64,
    /// Ambient set.
    pub ambient: u64,
}

/// Everything needed to become the container's process.
#[derive(Debug, Clone)]
pub struct ProcessPlan {
    /// argv.
    pub args: Vec<CString>,
    /// envp.
    pub env: Vec<CString>,
    /// Working directory.
    pub cwd: PathBuf,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// File creation mask.
    pub umask: u32,
    /// Capability sets.
    pub caps: CapMasks,
    /// (resource, soft, hard).
    pub rlimits: Vec<(Resource, u64, u64)>,
    /// Set PR_SET_NO_NEW_PRIVS.
    pub no_new_privs: bool,
    /// Compiled seccomp filter.
    pub seccomp: Option<SeccompProgram>,
    /// Fds 3..3+n stay open across exec.
    pub preserve_fds: u32,
}

fn cstring(field: &str, s: &str) -> Result<CString, ConfigError> {
    CString::new(s).map_err(|_| ConfigError::invalid(field, "contains a NUL byte"))
}

fn mask(field: &str, set: &Option<Capabilities>) -> Result<u64, ConfigError> {
    let mut m = 0u64;
    for c in set.iter().flatten() {
        let name = serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let cap: Capability = name
            .parse()
            .map_err(|_| ConfigError::invalid(field, format!("unknown capability {name}")))?;
        m |= cap.bitmask();
    }
    Ok(m)
}

fn rlimit_resource(t: PosixRlimitType) -> Option<Resource> {
    use PosixRlimitType as T;
    Some(match t {
        T::RlimitCpu => Resource::RLIMIT_CPU,
        T::RlimitFsize => Resource::RLIMIT_FSIZE,
        T::RlimitData => Resource::RLIMIT_DATA,
        T::RlimitStack => Resource::RLIMIT_STACK,
        T::RlimitCore => Resource::RLIMIT_CORE,
        T::RlimitRss => Resource::RLIMIT_RSS,
        T::RlimitNproc => Resource::RLIMIT_NPROC,
        T::RlimitNofile => Resource::RLIMIT_NOFILE,
        T::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        T::RlimitAs => Resource::RLIMIT_AS,
        T::RlimitLocks => Resource::RLIMIT_LOCKS,
        T::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        T::RlimitNice => Resource::RLIMIT_NICE,
        T::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        T::RlimitRttime => Resource::RLIMIT_RTTIME,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

impl ProcessPlan {
    /// Convert and check `process`; errors name the field.
    pub fn from_process(
        p: &Process,
        seccomp: Option<SeccompProgram>,
        preserve_fds: u32,
    ) -> Result<Self, ConfigError> {
        let args = p
            .args()
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, a)| cstring(&format!("process.args[{i}]"), a))
            .collect::<Result<Vec<_>, _>>()?;
        if args.is_empty() {
            return Err(ConfigError::invalid("process.args", "must not be empty"));
        }
        let env = p
            .env()
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, a)| cstring(&format!("process.env[{i}]"), a))
            .collect::<Result<Vec<_>, _>>()?;
        let c = p.capabilities().clone().unwrap_or_default();
        let caps = CapMasks {
            bounding: mask("process.capabilities.bounding", c.bounding())?,
            effective: mask("process.capabilities.effective", c.effective())?,
            permitted: mask("process.capabilities.permitted", c.permitted())?,
            inheritable: mask("process.capabilities.inheritable", c.inheritable())?,
            ambient: mask("process.capabilities.ambient", c.ambient())?,
        };
        let mut rlimits = Vec::new();
        for (i, r) in p.rlimits().iter().flatten().enumerate() {
            let res = rlimit_resource(r.typ()).ok_or_else(|| {
                ConfigError::invalid(format!("process.rlimits[{i}].type"), "unsupported")
            })?;
            if r.soft() > r.hard() {
                return Err(ConfigError::invalid(
                    format!("process.rlimits[{i}].soft"),
                    "soft limit above hard limit",
                ));
            }
            rlimits.push((res, r.soft(), r.hard()));
        }
        Ok(Self {
            args,
            env,
            cwd: p.cwd().clone(),
            uid: p.user().uid(),
            gid: p.user().gid(),
            additional_gids: p.user().additional_gids().clone().unwrap_or_default(),
            umask: p.user().umask().unwrap_or(0o022),
            caps,
            rlimits,
            no_new_privs: p.no_new_privileges().unwrap_or(false),
            seccomp,
            preserve_fds,
        })
    }

    fn env_path(&self) -> String {
        self.env
            .iter()
            .find_map(|e| e.to_str().ok()?.strip_prefix("PATH=").map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_PATH.to_owned())
    }

    /// Find `args[0]` in the current root (after pivot_root), as execvp would.
    pub fn resolve_executable(&self) -> Result<CString, FinalizeError> {
        let arg0 = self.args[0].to_string_lossy().into_owned();
        let is_exe = |p: &Path| p.is_file() && access(p, AccessFlags::X_OK).is_ok();
        let found = exec_candidates(&self.env_path(), &self.cwd, &arg0)
            .into_iter()
            .find(|p| is_exe(p));
        match found {
            // A name with a slash is run as given (the kernel resolves it from the cwd).
            Some(_) if arg0.contains('/') => Ok(self.args[0].clone()),
            Some(p) => CString::new(p.into_os_string().into_encoded_bytes())
                .map_err(|_| FinalizeError::NotFound(arg0)),
            None if arg0.contains('/') && self.cwd.join(&arg0).exists() => {
                Err(FinalizeError::NotExecutable(arg0))
            }
            None => Err(FinalizeError::missing(arg0)),
        }
    }
}

/// The paths execvp would try for `cmd`, in order, made absolute from `cwd`: a name with a
/// slash is a path (relative ones from `cwd`); any other name is looked for in each `PATH`
/// directory (an empty entry is `cwd`). berth's engine uses it too, to look for a command in a
/// container's root from outside.
pub fn exec_candidates(path: &str, cwd: &Path, cmd: &str) -> Vec<PathBuf> {
    if cmd.contains('/') {
        return vec![cwd.join(cmd)];
    }
    path.split(':').map(|dir| cwd.join(dir).join(cmd)).collect()
}

fn all_caps(last_cap: u8) -> impl Iterator<Item = Capability> {
    caps::all()
        .into_iter()
        .filter(move |c| c.index() <= last_cap)
}

/// Read /proc/sys/kernel/cap_last_cap (on the host, before pivot_root).
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Become the process and execve it. Returns only on error.
pub fn exec_process(
    plan: &ProcessPlan,
    exe: &CString,
    last_cap: u8,
) -> Result<Infallible, FinalizeError> {
    for (res, soft, hard) in &plan.rlimits {
        setrlimit(*res, *soft, *hard).map_err(sys(format!("setrlimit {res:?}")))?;
    }
    nix::unistd::chdir(&plan.cwd).map_err(sys(format!("chdir {}", plan.cwd.display())))?;
    // Before any seccomp filter: a profile need not allow close_range(2) (runc's order too).
    // The fds are only marked close-on-exec, so nothing below loses them before execve.
    crate::sys::cloexec_from(3 + plan.preserve_fds).map_err(sys("close_range"))?;
    let caps_err = |op: &str| {
        let op = op.to_owned();
        move |source| FinalizeError::Caps { op, source }
    };
    for cap in all_caps(last_cap).filter(|c| plan.caps.bounding & c.bitmask() == 0) {
        caps::drop(None, CapSet::Bounding, cap).map_err(caps_err("drop bounding capability"))?;
    }
    let seccomp_load = |p: &SeccompProgram| {
        crate::sys::load_seccomp(&p.bpf, p.flags).map_err(sys("load seccomp filter"))
    };
    if let Some(p) = plan.seccomp.as_ref().filter(|_| !plan.no_new_privs) {
        seccomp_load(p)?;
    }
    nix::sys::prctl::set_keepcaps(true).map_err(sys("PR_SET_KEEPCAPS"))?;
    let gids: Vec<Gid> = plan
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    if let Err(e) = nix::unistd::setgroups(&gids) {
        // setgroups is denied in a user namespace with setgroups=deny; fine without extra gids.
        if !gids.is_empty() || e != nix::Error::EPERM {
            return Err(sys("setgroups")(e));
        }
    }
    let (uid, gid) = (Uid::from_raw(plan.uid), Gid::from_raw(plan.gid));
    nix::unistd::setresgid(gid, gid, gid).map_err(sys(format!("setresgid {gid}")))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(sys(format!("setresuid {uid}")))?;
    let c = plan.caps;
    crate::sys::capset(c.effective, c.permitted, c.inheritable).map_err(sys("capset"))?;
    caps::clear(None, CapSet::Ambient).map_err(caps_err("clear ambient capabilities"))?;
    // The kernel only allows ambient caps that are permitted and inheritable; like runc, the
    // others are skipped rather than failing the container.
    let ambient = c.ambient & c.permitted & c.inheritable;
    for cap in all_caps(last_cap).filter(|cap| ambient & cap.bitmask() != 0) {
        caps::raise(None, CapSet::Ambient, cap).map_err(caps_err("raise ambient capability"))?;
    }
    if plan.no_new_privs {
        nix::sys::prctl::set_no_new_privs().map_err(sys("PR_SET_NO_NEW_PRIVS"))?;
    }
    if let Some(p) = plan.seccomp.as_ref().filter(|_| plan.no_new_privs) {
        seccomp_load(p)?;
    }
    nix::sys::stat::umask(Mode::from_bits_truncate(plan.umask));
    nix::unistd::execve(exe, &plan.args, &plan.env).map_err(sys(format!("exec {exe:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(v: serde_json::Value) -> Process {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn capabilities_become_masks() {
        let p = process(serde_json::json!({
            "args": ["sh"], "cwd": "/", "user": {"uid": 1, "gid": 2, "additionalGids": [3]},
            "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"],
                             "ambient": ["CAP_NET_RAW"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
            "noNewPrivileges": true
        }));
        let plan = ProcessPlan::from_process(&p, None, 0).unwrap();
        assert_eq!(plan.caps.bounding, (1 << 0) | (1 << 5));
        assert_eq!(plan.caps.effective, 1 << 5);
        assert_eq!(plan.caps.ambient, 1 << 13);
        assert_eq!(plan.caps.permitted, 0);
        assert_eq!(plan.rlimits, vec![(Resource::RLIMIT_NOFILE, 10, 20)]);
        assert_eq!(
            (plan.uid, plan.gid, plan.additional_gids.clone()),
            (1, 2, vec![3])
        );
        assert!(plan.no_new_privs);
        assert_eq!(plan.umask, 0o022);
    }

    #[test]
    fn soft_above_hard_names_the_field() {
        let p = process(serde_json::json!({
            "args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 30, "hard": 20}]
        }));
        let err = ProcessPlan::from_process(&p, None, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("process.rlimits[0].soft"), "{err}");
    }

    #[test]
    fn resolves_executable_from_path_env() {
        let p = process(serde_json::json!({
            "args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
            "env": ["PATH=/nonexistent:/bin"]
        }));
        let plan = ProcessPlan::from_process(&p, None, 0).unwrap();
        assert_eq!(
            plan.resolve_executable().unwrap().to_str().unwrap(),
            "/bin/sh"
        );
        let missing = process(serde_json::json!({
            "args": ["no-such-program-xyz"], "cwd": "/", "user": {"uid": 0, "gid": 0}
        }));
        let plan = ProcessPlan::from_process(&missing, None, 0).unwrap();
        let err = plan.resolve_executable().unwrap_err().to_string();
        assert!(
            err.contains("process.args[0]") && err.contains("$PATH"),
            "{err}"
        );
        // A path is not looked up in PATH, and the error says so.
        let absolute = process(serde_json::json!({
            "args": ["/no/such-program"], "cwd": "/", "user": {"uid": 0, "gid": 0}
        }));
        let plan = ProcessPlan::from_process(&absolute, None, 0).unwrap();
        let err = plan.resolve_executable().unwrap_err().to_string();
        assert!(
            err.contains("\"/no/such-program\" not found in the container"),
            "{err}"
        );
        let not_exe = process(serde_json::json!({
            "args": ["/etc/passwd"], "cwd": "/", "user": {"uid": 0, "gid": 0}
        }));
        let plan = ProcessPlan::from_process(&not_exe, None, 0).unwrap();
        let err = plan.resolve_executable().unwrap_err().to_string();
        assert!(
            err.contains("is not an executable file: permission denied"),
            "{err}"
        );
    }
}
