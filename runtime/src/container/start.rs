//! `start`: release a created container's init by opening `exec.fifo` for reading and taking
//! the byte the init writes, then remove the fifo and run poststart hooks (whose failures
//! only warn). Returns as soon as
//! the init has been released; the runtime does not stay around.

use std::os::fd::AsFd;
use std::time::Duration;

use nix::fcntl::{OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::stat::Mode;

use super::{ContainerError, Runtime, oci_state, state_json};
use crate::process::ProcessError;
use crate::state::{Status, process_start_time};

impl Runtime {
    /// Start a created container.
    #[tracing::instrument(skip_all, fields(container_id = %id))]
    pub fn start(&self, id: &str) -> Result<(), ContainerError> {
        let c = self.load(id)?;
        if c.status != Status::Created {
            return Err(ContainerError::BadStatus {
                op: "start",
                id: id.to_owned(),
                status: c.status,
            });
        }
        let fifo_path = self.fifo_path(&c.id);
        let sys = |op: &str| {
            let op = op.to_owned();
            move |source| ContainerError::Sys { op, source }
        };
        let fifo = open(
            &fifo_path,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(sys("open exec.fifo"))?;
        let mut buf = [0u8; 1];
        loop {
            let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(100u16)).map_err(sys("poll exec.fifo"))?;
            match nix::unistd::read(&fifo, &mut buf) {
                Ok(1) => break,
                Ok(_) | Err(nix::Error::EAGAIN) => {}
                Err(e) => return Err(sys("read exec.fifo")(e)),
            }
            if process_start_time(&self.proc_root, c.record.pid) != Some(c.record.pid_start) {
                return Err(ProcessError::ChildGone("start").into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = std::fs::remove_file(&fifo_path);
        let mut state = oci_state(&c);
        state.status = Status::Running;
        if let Some(h) = c
            .record
            .spec
            .hooks()
            .as_ref()
            .and_then(|h| h.poststart().as_ref())
        {
            // A failing poststart hook only warns: the container is started.
            crate::hooks::run_all_warn("poststart", h, &state_json(&state));
        }
        tracing::info!("container started");
        Ok(())
    }
}
