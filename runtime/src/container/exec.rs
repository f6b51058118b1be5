//! `exec`: run another process in a running container. The intermediate child joins every
//! namespace the container's init has (user first, mount last) and clones the process with
//! CLONE_PARENT; the parent releases it (on v2 after putting it into the container's cgroup;
//! on v1 it joins by itself, see [`crate::cgroups::join`]) and reads EOF once it has exec'd.

use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::Process;

use super::{ContainerError, Runtime, write_pid_file};
use crate::namespaces;
use crate::process::exec::{self as exec_child, ExecConfig};
use crate::process::finalize::{ProcessPlan, last_cap};
use crate::process::{Msg, ProcessError, SyncSocket, spawn};
use crate::state::Status;

/// `exec`'s options.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Container id.
    pub id: String,
    /// The process to run (from `--process` or built from args and flags).
    pub process: Process,
    /// Socket that receives the pty master for `--tty`.
    pub console_socket: Option<PathBuf>,
    /// Where to write the new process's pid.
    pub pid_file: Option<PathBuf>,
    /// Fds after stdio to pass on.
    pub preserve_fds: u32,
}

impl Runtime {
    /// Start a process in a running container; returns its pid (a child of the caller).
    #[tracing::instrument(skip_all, fields(container_id = %opts.id))]
    pub fn exec(&self, opts: &ExecOptions) -> Result<Pid, ContainerError> {
        let c = self.load(&opts.id)?;
        if !matches!(c.status, Status::Running | Status::Created) {
            return Err(ContainerError::BadStatus {
                op: "exec in",
                id: opts.id.clone(),
                status: c.status,
            });
        }
        let linux = c.record.spec.linux().as_ref();
        let seccomp = linux
            .and_then(|l| l.seccomp().as_ref())
            .map(crate::seccomp::compile)
            .transpose()?;
        let plan = ProcessPlan::from_process(&opts.process, seccomp, opts.preserve_fds)?;
        let joins = namespaces::of_process(&self.proc_root, c.record.pid);
        let ns_fds = namespaces::open_all(&joins)?;
        let tty = opts.process.terminal().unwrap_or(false);
        let console = match (&opts.console_socket, tty) {
            (Some(p), true) => Some(crate::terminal::connect_console(p)?),
            (None, true) => return Err(crate::terminal::TerminalError::NoConsoleSocket.into()),
            _ => None,
        };
        let size = opts
            .process
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16));
        let cgroup_join = c.cgroup.self_join()?;
        let cfg = ExecConfig {
            process: &plan,
            cgroup_join: cgroup_join.as_ref(),
            console: console.as_ref(),
            console_size: size,
            last_cap: last_cap(),
        };
        let (parent, child) = SyncSocket::pair()?;
        let pid = spawn(CloneFlags::empty(), &ns_fds, &parent, &child, || {
            exec_child::run(&cfg, &child)
        })?;
        drop(child);
        let parent_joins = cgroup_join.is_none().then_some(&c.cgroup);
        if let Err(e) = release(parent_joins, pid, &parent) {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(e);
        }
        if let Some(p) = &opts.pid_file {
            write_pid_file(p, pid.as_raw())?;
        }
        Ok(pid)
    }
}

fn release(
    cg: Option<&crate::cgroups::Cgroup>,
    pid: Pid,
    sock: &SyncSocket,
) -> Result<(), ContainerError> {
    if let Some(cg) = cg {
        cg.add_pid(pid.as_raw())?;
    }
    sock.send(&Msg::Go)?;
    match sock.recv()? {
        None => Ok(()),
        Some(Msg::Error(e)) => Err(ProcessError::Child(e).into()),
        Some(other) => Err(ProcessError::Protocol(format!("{other:?}")).into()),
    }
}
