//! Starting a created or exited container: prepare its bundle, spawn its shim and wait for
//! the shim to say the init runs (or why it does not).

use crate::container::ContainerError;
use crate::container::lifecycle::{Engine, prepare_start, teardown};
use crate::container::record::{ContainerRecord, Status};
use crate::settings::Settings;
use crate::shim::attach::Frame;
use crate::shim::spawn::{Shim, spawn};

/// Why a start failed: the message and the exit code `run` should use.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StartFailed {
    /// 125, 126 or 127.
    pub code: i32,
    /// What went wrong.
    pub message: String,
}

/// Prepares the container (a `-t` one's pty `console_size` rows and columns), starts its
/// shim and waits for Started. On success returns the shim (its connection goes on with the
/// output) and the init's pid.
pub fn start_container(
    eng: &Engine<'_>,
    settings: &Settings,
    rec: &mut ContainerRecord,
    console_size: Option<(u16, u16)>,
) -> anyhow::Result<(Shim, i32)> {
    if matches!(rec.state.status, Status::Running | Status::Paused) {
        return Err(ContainerError::BadState {
            op: "start",
            id: rec.short_id().to_owned(),
            status: rec.state.status.to_string(),
        }
        .into());
    }
    prepare_start(eng, rec, console_size)?;
    eng.containers.update(&rec.id, |r| {
        r.restart_count += u32::from(r.state.status == Status::Exited);
    })?;
    let cmd = settings.shim_command()?;
    let mut shim = match spawn(eng, &cmd, &rec.id) {
        Ok(s) => s,
        Err(e) => {
            let _ = teardown(eng, &rec.id, None);
            return Err(e);
        }
    };
    match shim.next_frame()? {
        Some(Frame::Started(pid)) => Ok((shim, pid)),
        Some(Frame::Failed(code, message)) => {
            shim.reap();
            Err(StartFailed { code, message }.into())
        }
        other => {
            shim.reap();
            anyhow::bail!(
                "the shim did not start the container (got {other:?}); see {}",
                eng.containers.run_dir(&rec.id).join("shim.log").display()
            )
        }
    }
}

/// The exit code for a failed start: the shim's, else 125.
pub fn code_of(e: &anyhow::Error) -> i32 {
    e.downcast_ref::<StartFailed>()
        .map(|f| f.code)
        .unwrap_or(125)
}
