//! A process joining a running container (`exec`): the intermediate child of
//! [`super::spawn`] has already entered every namespace of the container's init; this child
//! waits for the parent, joins the container's cgroup (on v1 by itself, see
//! [`crate::cgroups::join`]; on v2 the parent has added it), sets up its terminal and becomes
//! the process. The socket is close-on-exec, so the parent reads EOF on success.

use std::os::fd::OwnedFd;

use super::finalize::{ProcessPlan, exec_process};
use super::{Msg, SyncSocket};
use crate::cgroups::join::SelfJoin;

/// What an exec'd process needs.
#[derive(Debug)]
pub struct ExecConfig<'a> {
    /// The process to become.
    pub process: &'a ProcessPlan,
    /// The cgroup's files to join it by ourselves; `None` when the parent adds us.
    pub cgroup_join: Option<&'a SelfJoin>,
    /// Connection to `--console-socket` for `--tty`.
    pub console: Option<&'a OwnedFd>,
    /// Terminal size.
    pub console_size: Option<(u16, u16)>,
    /// cap_last_cap of the host kernel.
    pub last_cap: u8,
}

/// Entry point of the exec child; returns an exit code only on failure.
pub fn run(cfg: &ExecConfig<'_>, sock: &SyncSocket) -> i32 {
    let msg = match setup_and_exec(cfg, sock) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = sock.send(&Msg::Error(msg));
    1
}

fn setup_and_exec(
    cfg: &ExecConfig<'_>,
    sock: &SyncSocket,
) -> Result<std::convert::Infallible, String> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| format!("pdeathsig: {e}"))?;
    sock.expect_go().map_err(|e| e.to_string())?;
    if let Some(join) = cfg.cgroup_join {
        join.enter().map_err(|e| format!("join cgroup: {e}"))?;
    }
    if let Some(c) = cfg.console {
        nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
        crate::terminal::setup_pty(c, cfg.console_size).map_err(|e| e.to_string())?;
    }
    let exe = cfg
        .process
        .resolve_executable()
        .map_err(|e| e.to_string())?;
    nix::sys::prctl::set_pdeathsig(None).map_err(|e| format!("clear pdeathsig: {e}"))?;
    exec_process(cfg.process, &exe, cfg.last_cap).map_err(|e| e.to_string())
}
