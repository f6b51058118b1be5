//! `create`: validate the bundle, make the state directory, fifo and cgroup, clone the init and
//! walk it through setup until it reports Ready and blocks on `exec.fifo`. Everything is
//! checked before anything is made; if a later step fails, [`Cleanup`] kills the init and
//! removes the cgroup and state directory, so a failed create leaves nothing behind.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, open};
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType};

use super::{ContainerError, Runtime, state_json, write_pid_file};
use crate::cgroups::{self, Cgroup, Layout};
use crate::config::{Bundle, ConfigError, ContainerId, load_bundle};
use crate::namespaces::{self, NamespacePlan, NsFd};
use crate::process::finalize::{ProcessPlan, last_cap};
use crate::process::init::{self, InitConfig};
use crate::process::{Msg, ProcessError, SyncSocket, spawn};
use crate::state::{OciState, Record, Status, now_rfc3339, process_start_time};

/// `create`'s options (runc's flags).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Container id.
    pub id: String,
    /// Bundle directory.
    pub bundle: PathBuf,
    /// Where to write the init's pid.
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when `process.terminal` is true.
    pub console_socket: Option<PathBuf>,
    /// Number of fds after stdio to pass to the process.
    pub preserve_fds: u32,
    /// MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
}

/// Undoes a partial create unless disarmed.
struct Cleanup<'a> {
    rt: &'a Runtime,
    id: &'a ContainerId,
    cgroup: Option<Cgroup>,
    pid: Option<Pid>,
    /// The rootfs, when the init shares the caller's mount namespace (its mounts stay there).
    shared_rootfs: Option<PathBuf>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some(r) = &self.shared_rootfs {
            let _ = crate::mounts::rootfs::detach_under(r);
        }
        if let Some(cg) = &self.cgroup {
            if let Err(e) = cg.remove() {
                tracing::warn!(error = %e, "cleanup after failed create: cgroup not removed");
            }
        }
        if let Err(e) = self.rt.state.remove(self.id) {
            tracing::warn!(error = %e, "cleanup after failed create: state not removed");
        }
    }
}

/// AppArmor and SELinux are not supported (`features` says so): a profile or label in the
/// config is not applied, and the log says which.
fn warn_unapplied_labels(p: &oci_spec::runtime::Process, linux: &oci_spec::runtime::Linux) {
    let set = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    for (field, value) in [
        ("process.apparmorProfile", set(p.apparmor_profile())),
        ("process.selinuxLabel", set(p.selinux_label())),
        ("linux.mountLabel", set(linux.mount_label())),
    ] {
        if let Some(v) = value {
            tracing::warn!(
                "{field} {v:?} is not applied: berth-runtime has no AppArmor or SELinux support"
            );
        }
    }
}

/// What create computes from the bundle before touching anything.
struct Prepared {
    bundle: Bundle,
    ns: NamespacePlan,
    process: ProcessPlan,
    cgroup_path: PathBuf,
    terminal: bool,
}

fn prepare(id: &ContainerId, opts: &CreateOptions) -> Result<Prepared, ContainerError> {
    let bundle = load_bundle(&opts.bundle)?;
    let spec = &bundle.spec;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("linux", "missing"))?;
    let ns = NamespacePlan::from_config(linux.namespaces().as_deref().unwrap_or_default());
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(crate::seccomp::compile)
        .transpose()?;
    let proc_cfg = spec
        .process()
        .as_ref()
        .ok_or_else(|| ConfigError::invalid("process", "missing"))?;
    let process = ProcessPlan::from_process(proc_cfg, seccomp, opts.preserve_fds)?;
    warn_unapplied_labels(proc_cfg, linux);
    let cgroup_path = cgroups::relative_path(linux.cgroups_path().as_deref(), id.as_str())?;
    let terminal = proc_cfg.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() {
        return Err(crate::terminal::TerminalError::NoConsoleSocket.into());
    }
    Ok(Prepared {
        bundle,
        ns,
        process,
        cgroup_path,
        terminal,
    })
}

impl Runtime {
    /// Create a container; returns the init's pid. The init waits for [`Runtime::start`].
    #[tracing::instrument(skip_all, fields(container_id = %opts.id))]
    pub fn create(&self, opts: &CreateOptions) -> Result<Pid, ContainerError> {
        let id = ContainerId::new(&opts.id)?;
        let prep = prepare(&id, opts)?;
        let dir = self.state.create_dir(&id)?;
        let mut guard = Cleanup {
            rt: self,
            id: &id,
            cgroup: None,
            pid: None,
            shared_rootfs: (prep.ns.shares_mount_ns()).then(|| prep.bundle.rootfs.clone()),
            armed: true,
        };
        let fifo = dir.join("exec.fifo");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).map_err(|source| {
            ContainerError::Sys {
                op: format!("mkfifo {}", fifo.display()),
                source,
            }
        })?;
        chown_to_container_root(&fifo, &prep)?;
        let dir_fd = open(
            &dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| ContainerError::Sys {
            op: format!("open {}", dir.display()),
            source,
        })?;
        let layout = Layout::detect()?;
        let cgroup = Cgroup::new(&layout, &prep.cgroup_path);
        guard.cgroup = Some(cgroup.clone());
        cgroup.create()?;
        let linux = prep.bundle.spec.linux().as_ref();
        let resources = cgroups::device_nodes::with_device_nodes(
            linux.and_then(|l| l.resources().as_ref()),
            linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]),
        );
        if let Some(r) = &resources {
            cgroup.apply(r)?;
        }
        let pid = self.spawn_init(&id, &prep, &cgroup, &dir_fd, opts, &mut guard)?;
        self.record(&id, &prep, layout, pid)?;
        if let Some(p) = &opts.pid_file {
            write_pid_file(p, pid.as_raw())?;
        }
        guard.armed = false;
        tracing::info!(pid = pid.as_raw(), "container created");
        Ok(pid)
    }

    fn spawn_init(
        &self,
        id: &ContainerId,
        prep: &Prepared,
        cgroup: &Cgroup,
        dir_fd: &OwnedFd,
        opts: &CreateOptions,
        guard: &mut Cleanup<'_>,
    ) -> Result<Pid, ContainerError> {
        let (prejoin, late): (Vec<_>, Vec<_>) =
            prep.ns.joins.iter().cloned().partition(|(t, _)| {
                matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::User)
            });
        let prejoin: Vec<NsFd> = namespaces::open_all(&prejoin)?;
        let late: Vec<NsFd> = namespaces::open_all(&late)?;
        let console = match (&opts.console_socket, prep.terminal) {
            (Some(p), true) => Some(crate::terminal::connect_console(p)?),
            _ => None,
        };
        let state = self.creating_state(id, prep, 0);
        let spec = &prep.bundle.spec;
        let hooks = spec.hooks().as_ref();
        let has_create_hooks = hooks.is_some_and(|h| {
            [h.prestart(), h.create_runtime(), h.create_container()]
                .iter()
                .any(|l| l.as_ref().is_some_and(|v| !v.is_empty()))
        });
        let cgroup_dirs = cgroup.dirs();
        let cgroup_join = cgroup.self_join()?;
        let state_bytes = state_json(&state);
        let cfg = InitConfig {
            spec,
            rootfs: &prep.bundle.rootfs,
            bundle: &prep.bundle.dir,
            ns: &prep.ns,
            late_joins: &late,
            cgroup_dirs: &cgroup_dirs,
            cgroup_join: cgroup_join.as_ref(),
            process: &prep.process,
            state_dir: dir_fd,
            console: console.as_ref(),
            no_pivot: opts.no_pivot,
            has_create_hooks,
            last_cap: last_cap(),
            state_json: &state_bytes,
        };
        let (parent, child) = SyncSocket::pair()?;
        let pid = spawn(prep.ns.clone_flags, &prejoin, &parent, &child, || {
            init::run(&cfg, &child)
        })?;
        guard.pid = Some(pid);
        drop(child);
        let parent_joins = cgroup_join.is_none().then_some(cgroup);
        self.drive_init(id, prep, parent_joins, pid, &parent)?;
        Ok(pid)
    }

    /// Parent side of the handshake: maps, cgroup (unless the init joins it by itself), oom
    /// score, hooks, until Ready.
    fn drive_init(
        &self,
        id: &ContainerId,
        prep: &Prepared,
        cgroup: Option<&Cgroup>,
        pid: Pid,
        sock: &SyncSocket,
    ) -> Result<(), ContainerError> {
        let linux = prep.bundle.spec.linux().as_ref();
        if prep.ns.clone_flags.contains(CloneFlags::CLONE_NEWUSER) {
            let proc_dir = self.proc_root.join(pid.as_raw().to_string());
            write_id_map(
                &proc_dir.join("uid_map"),
                linux.and_then(|l| l.uid_mappings().as_ref()),
            )?;
            write_id_map(
                &proc_dir.join("gid_map"),
                linux.and_then(|l| l.gid_mappings().as_ref()),
            )?;
        }
        if let Some(cg) = cgroup {
            cg.add_pid(pid.as_raw())?;
        }
        let score = prep
            .bundle
            .spec
            .process()
            .as_ref()
            .and_then(|p| p.oom_score_adj());
        if let Some(score) = score {
            let path = self
                .proc_root
                .join(format!("{}/oom_score_adj", pid.as_raw()));
            std::fs::write(&path, score.to_string()).map_err(|source| ContainerError::Io {
                op: "write",
                path,
                source,
            })?;
        }
        sock.send(&Msg::Go)?;
        loop {
            match sock.recv()? {
                Some(Msg::Ready) => return Ok(()),
                Some(Msg::Hooks) => {
                    let state = state_json(&self.creating_state(id, prep, pid.as_raw()));
                    if let Some(h) = prep.bundle.spec.hooks() {
                        let list = |l: &Option<Vec<_>>| l.clone().unwrap_or_default();
                        crate::hooks::run_all("prestart", &list(h.prestart()), &state)?;
                        crate::hooks::run_all("createRuntime", &list(h.create_runtime()), &state)?;
                    }
                    sock.send(&Msg::Go)?;
                }
                Some(Msg::Error(e)) => return Err(ProcessError::Child(e).into()),
                Some(other) => return Err(ProcessError::Protocol(format!("{other:?}")).into()),
                None => return Err(ProcessError::ChildGone("ready").into()),
            }
        }
    }

    fn creating_state(&self, id: &ContainerId, prep: &Prepared, pid: i32) -> OciState {
        OciState {
            oci_version: prep.bundle.spec.version().clone(),
            id: id.to_string(),
            status: Status::Created,
            pid,
            bundle: prep.bundle.dir.clone(),
            rootfs: prep.bundle.rootfs.clone(),
            created: String::new(),
            annotations: prep.bundle.spec.annotations().clone().unwrap_or_default(),
        }
    }

    fn record(
        &self,
        id: &ContainerId,
        prep: &Prepared,
        layout: Layout,
        pid: Pid,
    ) -> Result<(), ContainerError> {
        let pid_start = process_start_time(&self.proc_root, pid.as_raw())
            .ok_or(ProcessError::ChildGone("start time"))?;
        let rec = Record {
            id: id.to_string(),
            pid: pid.as_raw(),
            pid_start,
            bundle: prep.bundle.dir.clone(),
            rootfs: prep.bundle.rootfs.clone(),
            created: now_rfc3339(),
            cgroup_path: prep.cgroup_path.clone(),
            cgroup_layout: Some(layout),
            spec: prep.bundle.spec.clone(),
        };
        Ok(self.state.save(&rec)?)
    }
}

/// In a new user namespace the init runs as the mapped root, which must be able to open the
/// fifo: hand it to that host uid/gid.
fn chown_to_container_root(fifo: &Path, prep: &Prepared) -> Result<(), ContainerError> {
    if !prep.ns.clone_flags.contains(CloneFlags::CLONE_NEWUSER) {
        return Ok(());
    }
    let linux = prep.bundle.spec.linux().as_ref();
    let host_id = |maps: Option<&Vec<LinuxIdMapping>>| {
        maps.into_iter()
            .flatten()
            .find(|m| m.container_id() == 0)
            .map(|m| m.host_id())
    };
    let uid =
        host_id(linux.and_then(|l| l.uid_mappings().as_ref())).map(nix::unistd::Uid::from_raw);
    let gid =
        host_id(linux.and_then(|l| l.gid_mappings().as_ref())).map(nix::unistd::Gid::from_raw);
    nix::unistd::chown(fifo, uid, gid).map_err(|source| ContainerError::Sys {
        op: format!("chown {}", fifo.display()),
        source,
    })
}

/// Write `/proc/PID/{uid,gid}_map` in one write, as the kernel requires.
fn write_id_map(path: &Path, maps: Option<&Vec<LinuxIdMapping>>) -> Result<(), ContainerError> {
    let text: String = maps
        .into_iter()
        .flatten()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect();
    std::fs::write(path, text).map_err(|source| ContainerError::Io {
        op: "write",
        path: path.to_owned(),
        source,
    })
}
