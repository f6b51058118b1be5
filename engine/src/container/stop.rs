//! Stopping a container: a signal, a grace period, then SIGKILL; returns once its shim has
//! cleaned up. A paused container is thawed first so that it can act on the signal.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::container::events;
use crate::container::lifecycle::{Engine, kill};
use crate::container::record::{ContainerRecord, Status};

/// Stops one container: `sig`, wait up to `grace`, then SIGKILL and wait for the shim. A
/// container that is not running is left as it is.
pub fn stop_container(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    sig: Signal,
    grace: Duration,
) -> anyhow::Result<()> {
    if !matches!(rec.state.status, Status::Running | Status::Paused) {
        return Ok(());
    }
    let rt = eng.runtime();
    if rec.state.status == Status::Paused {
        let _ = rt.resume(&rec.id);
    }
    let _ = kill(eng, rec, sig);
    if !eng.containers.wait_shim(&rec.id, Some(grace)) {
        let _ = rt.kill(&rec.id, Signal::SIGKILL, true);
        events::emit(eng, rec, "kill", &[("signal", "9")]);
        if !eng
            .containers
            .wait_shim(&rec.id, Some(Duration::from_secs(30)))
        {
            anyhow::bail!("container {} did not stop", rec.short_id());
        }
    }
    events::emit(eng, rec, "stop", &[]);
    Ok(())
}
