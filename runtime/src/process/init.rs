//! The container's init, from clone to execve: wait for the parent (uid maps), join its cgroup
//! (on v1, see [`crate::cgroups::join`]) and namespaces, build the root filesystem, set hostname and sysctls, set up the terminal,
//! report Ready, block on `exec.fifo` until `start`, run startContainer hooks, then
//! [`super::finalize::exec_process`]. Runs in the cloned child only; errors before Ready go to
//! the parent over the sync socket.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, openat};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::finalize::{ProcessPlan, exec_process};
use super::{Msg, SyncSocket};
use crate::cgroups::join::SelfJoin;
use crate::mounts::rootfs::{self, RootfsContext};
use crate::namespaces::{self, NamespacePlan, NsFd};

/// Everything the init needs, prepared by the parent before clone.
#[derive(Debug)]
pub struct InitConfig<'a> {
    /// The container's config.
    pub spec: &'a Spec,
    /// Absolute rootfs path.
    pub rootfs: &'a Path,
    /// Bundle dir.
    pub bundle: &'a Path,
    /// Namespace plan.
    pub ns: &'a NamespacePlan,
    /// Opened namespace files to join after clone (not pid/user).
    pub late_joins: &'a [NsFd],
    /// The container's cgroup dirs, for `cgroup` mounts.
    pub cgroup_dirs: &'a [(String, PathBuf)],
    /// The cgroup's files to join it by ourselves; `None` when the parent adds us.
    pub cgroup_join: Option<&'a SelfJoin>,
    /// The process to become.
    pub process: &'a ProcessPlan,
    /// The state directory, opened O_PATH (holds exec.fifo).
    pub state_dir: &'a OwnedFd,
    /// Connection to `--console-socket` when the process wants a terminal.
    pub console: Option<&'a OwnedFd>,
    /// Use MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// Whether prestart/createRuntime/createContainer hooks exist (pause before pivot_root).
    pub has_create_hooks: bool,
    /// cap_last_cap of the host kernel.
    pub last_cap: u8,
    /// Container state JSON for createContainer/startContainer hooks.
    pub state_json: &'a [u8],
}

/// Entry point of the cloned init; returns the exit code if it fails before execve.
pub fn run(cfg: &InitConfig<'_>, sock: &SyncSocket) -> i32 {
    match setup(cfg, sock) {
        Ok(exe) => {
            let err = wait_for_start(cfg, exe);
            eprintln!("berth-runtime init: {err}");
            127
        }
        Err(e) => {
            let _ = sock.send(&Msg::Error(e));
            1
        }
    }
}

fn err<E: std::fmt::Display>(op: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{op}: {e}")
}

fn setup(cfg: &InitConfig<'_>, sock: &SyncSocket) -> Result<CString, String> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(err("pdeathsig"))?;
    sock.expect_go().map_err(|e| e.to_string())?;
    if let Some(join) = cfg.cgroup_join {
        join.enter().map_err(|e| format!("join cgroup: {e}"))?;
    }
    let new_userns = cfg.ns.clone_flags.contains(CloneFlags::CLONE_NEWUSER);
    if new_userns {
        become_ns_root(cfg.spec)?;
    }
    if cfg.ns.new_cgroupns {
        namespaces::unshare(CloneFlags::CLONE_NEWCGROUP).map_err(|e| e.to_string())?;
    }
    namespaces::join_all(cfg.late_joins).map_err(|e| e.to_string())?;
    if cfg.ns.new_timens {
        let offsets = cfg
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.time_offsets().as_ref());
        namespaces::enter_new_timens(&namespaces::time_offsets_text(offsets))
            .map_err(|e| format!("invalid config field `linux.timeOffsets`: {e}"))?;
    }
    nix::sys::stat::umask(Mode::empty());
    let ctx = RootfsContext {
        rootfs: cfg.rootfs,
        bundle: cfg.bundle,
        cgroup_dirs: cfg.cgroup_dirs,
        in_userns: new_userns,
        shared_mount_ns: cfg.ns.shares_mount_ns(),
    };
    rootfs::prepare(cfg.spec, &ctx).map_err(|e| e.to_string())?;
    if cfg.has_create_hooks {
        sock.send(&Msg::Hooks).map_err(|e| e.to_string())?;
        sock.expect_go().map_err(|e| e.to_string())?;
        let hooks = cfg
            .spec
            .hooks()
            .as_ref()
            .and_then(|h| h.create_container().as_ref());
        crate::hooks::run_all("createContainer", hooks.map_or(&[], |v| v), cfg.state_json)
            .map_err(|e| e.to_string())?;
    }
    rootfs::pivot(cfg.rootfs, cfg.no_pivot, ctx.shared_mount_ns).map_err(|e| e.to_string())?;
    rootfs::finish(cfg.spec, ctx.shared_mount_ns).map_err(|e| e.to_string())?;
    set_identity(cfg)?;
    nix::unistd::setsid().map_err(err("setsid"))?;
    if let Some(c) = cfg.console {
        let size = cfg
            .spec
            .process()
            .as_ref()
            .and_then(|p| p.console_size())
            .map(|b| (b.height() as u16, b.width() as u16));
        crate::terminal::setup_pty(c, size).map_err(|e| e.to_string())?;
    }
    let exe = cfg
        .process
        .resolve_executable()
        .map_err(|e| e.to_string())?;
    nix::sys::prctl::set_pdeathsig(None).map_err(err("clear pdeathsig"))?;
    sock.send(&Msg::Ready).map_err(|e| e.to_string())?;
    Ok(exe)
}

/// setresuid/setresgid to the namespace's root when it is mapped, so setup runs as root there.
fn become_ns_root(spec: &Spec) -> Result<(), String> {
    let linux = spec.linux().as_ref();
    let maps_root = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.into_iter()
            .flatten()
            .any(|m| m.container_id() == 0 && m.size() > 0)
    };
    if maps_root(linux.and_then(|l| l.gid_mappings().as_ref())) {
        let g = Gid::from_raw(0);
        nix::unistd::setresgid(g, g, g).map_err(err("setresgid 0 in user namespace"))?;
    }
    if maps_root(linux.and_then(|l| l.uid_mappings().as_ref())) {
        let u = Uid::from_raw(0);
        nix::unistd::setresuid(u, u, u).map_err(err("setresuid 0 in user namespace"))?;
    }
    Ok(())
}

/// Hostname, domainname and sysctls (after pivot_root, so /proc/sys is the container's).
fn set_identity(cfg: &InitConfig<'_>) -> Result<(), String> {
    if cfg.ns.has(LinuxNamespaceType::Uts) {
        if let Some(h) = cfg.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
            nix::unistd::sethostname(h).map_err(err("invalid config field `hostname`"))?;
        }
        if let Some(d) = cfg.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
            crate::sys::set_domainname(d).map_err(err("invalid config field `domainname`"))?;
        }
    }
    let sysctls = cfg.spec.linux().as_ref().and_then(|l| l.sysctl().as_ref());
    for (key, value) in sysctls.into_iter().flatten() {
        if key.contains("..") || key.contains('/') {
            return Err(format!(
                "invalid config field `linux.sysctl.{key}`: bad key"
            ));
        }
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| {
            format!(
                "invalid config field `linux.sysctl.{key}`: write {}: {e}",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Block until `start` opens the fifo, then run startContainer hooks and exec.
fn wait_for_start(cfg: &InitConfig<'_>, exe: CString) -> String {
    let flags = OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    let fifo = match openat(cfg.state_dir.as_fd(), "exec.fifo", flags, Mode::empty()) {
        Ok(f) => f,
        Err(e) => return format!("open exec.fifo: {e}"),
    };
    if let Err(e) = nix::unistd::write(&fifo, b"0") {
        return format!("write exec.fifo: {e}");
    }
    drop(fifo);
    let hooks = cfg
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_ref());
    if let Err(e) =
        crate::hooks::run_all("startContainer", hooks.map_or(&[], |v| v), cfg.state_json)
    {
        return e.to_string();
    }
    match exec_process(cfg.process, &exe, cfg.last_cap) {
        Err(e) => e.to_string(),
        Ok(never) => match never {},
    }
}
