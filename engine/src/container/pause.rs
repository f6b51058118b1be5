//! Pausing and unpausing a container (`berth pause|unpause`, `POST /containers/{id}/pause`):
//! every process of a running container is frozen, or thawed again, through its cgroup freezer
//! (berth-runtime does the cgroup work); the record says `paused`, and the event log gets
//! `pause` or `unpause`, as dockerd logs them.

use super::ContainerError;
use super::events;
use super::lifecycle::Engine;
use super::record::{ContainerRecord, Status};

/// Freezes a running container; [`ContainerError::BadState`] for any other state. Returns the
/// updated record.
pub fn pause(eng: &Engine<'_>, rec: &ContainerRecord) -> anyhow::Result<ContainerRecord> {
    set_paused(eng, rec, true)
}

/// Thaws a paused container; [`ContainerError::BadState`] for any other state. Returns the
/// updated record.
pub fn unpause(eng: &Engine<'_>, rec: &ContainerRecord) -> anyhow::Result<ContainerRecord> {
    set_paused(eng, rec, false)
}

fn set_paused(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    paused: bool,
) -> anyhow::Result<ContainerRecord> {
    let (op, from, to) = transition(paused);
    if rec.state.status != from {
        return Err(ContainerError::BadState {
            op,
            id: rec.short_id().to_owned(),
            status: rec.state.status.to_string(),
        }
        .into());
    }
    let rt = eng.runtime();
    if paused {
        rt.pause(&rec.id)?;
    } else {
        rt.resume(&rec.id)?;
    }
    let updated = eng.containers.update(&rec.id, |c| {
        if c.state.status == from {
            c.state.status = to;
            c.state.paused = paused;
        }
    })?;
    events::emit(eng, &updated, op, &[]);
    Ok(updated)
}

/// The operation's name, the state it needs and the state it leaves.
fn transition(paused: bool) -> (&'static str, Status, Status) {
    if paused {
        ("pause", Status::Running, Status::Paused)
    } else {
        ("unpause", Status::Paused, Status::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_needs_running_and_unpause_needs_paused() {
        assert_eq!(transition(true), ("pause", Status::Running, Status::Paused));
        assert_eq!(
            transition(false),
            ("unpause", Status::Paused, Status::Running)
        );
    }
}
