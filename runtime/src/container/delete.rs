//! `delete`: refuse a container that is not stopped unless `force` (which kills it), wait for
//! the init to go, detach the mounts of a container that had no mount namespace of its own,
//! remove the cgroup, run poststop hooks and remove the state. Deleting a
//! container that does not exist succeeds, so `delete` after a failed `create` is fine.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::kill::signal_cgroup;
use super::{ContainerError, Runtime, oci_state, state_json};
use crate::config::ContainerId;
use crate::namespaces::NamespacePlan;
use crate::state::{StateError, Status, process_start_time};

impl Runtime {
    /// Delete a container.
    #[tracing::instrument(skip_all, fields(container_id = %id))]
    pub fn delete(&self, id: &str, force: bool) -> Result<(), ContainerError> {
        let c = match self.load(id) {
            Ok(c) => c,
            Err(ContainerError::State(StateError::NotFound(_))) => {
                tracing::debug!("container does not exist; nothing to delete");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        match c.status {
            // The spec: deleting a container that is not stopped fails and has no effect.
            Status::Created | Status::Running | Status::Paused if !force => {
                return Err(ContainerError::BadStatus {
                    op: "delete (use --force)",
                    id: id.to_owned(),
                    status: c.status,
                });
            }
            Status::Stopped => {}
            _ => {
                let _ = kill(Pid::from_raw(c.record.pid), Signal::SIGKILL);
                signal_cgroup(&c.cgroup, Signal::SIGKILL)?;
            }
        }
        self.wait_gone(&c.id, c.record.pid, c.record.pid_start);
        let list = c
            .record
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref());
        if NamespacePlan::from_config(list.unwrap_or_default()).shares_mount_ns() {
            // Without a mount namespace of its own, its mounts are in ours, under its rootfs.
            crate::mounts::rootfs::detach_under(&c.record.rootfs)?;
        }
        if let Err(e) = signal_cgroup(&c.cgroup, Signal::SIGKILL) {
            tracing::debug!(error = %e, "cgroup already gone");
        }
        c.cgroup.remove()?;
        let mut state = oci_state(&c);
        state.status = Status::Stopped;
        if let Some(h) = c
            .record
            .spec
            .hooks()
            .as_ref()
            .and_then(|h| h.poststop().as_ref())
        {
            crate::hooks::run_all_warn("poststop", h, &state_json(&state));
        }
        self.state.remove(&c.id)?;
        Ok(())
    }

    /// Wait (up to 10 s) until the init is gone or a zombie; reap it if it is our child.
    fn wait_gone(&self, _id: &ContainerId, pid: i32, start: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let p = Pid::from_raw(pid);
        while process_start_time(&self.proc_root, pid) == Some(start) && Instant::now() < deadline {
            let flags = nix::sys::wait::WaitPidFlag::WNOHANG;
            let _ = nix::sys::wait::waitpid(p, Some(flags));
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = nix::sys::wait::waitpid(p, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
    }
}
