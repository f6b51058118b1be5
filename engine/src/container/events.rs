//! Container events ([`crate::events`]) as Docker words them: the actor is the container id,
//! with its `name` and `image` (as the user gave it) among the attributes.

use super::lifecycle::Engine;
use super::record::ContainerRecord;
use super::store::ContainerStore;
use crate::events::{EventLog, Kind, attributes};

impl ContainerStore {
    /// The event log of this state root.
    pub fn events(&self) -> EventLog {
        EventLog::new(self.dir.parent().unwrap_or(&self.dir))
    }
}

/// Logs `action` (`create`, `start`, `die`, …) for `rec`, with `extra` attributes (e.g.
/// `exitCode`, `signal`).
pub fn emit(eng: &Engine<'_>, rec: &ContainerRecord, action: &str, extra: &[(&str, &str)]) {
    let mut pairs = vec![
        ("name", rec.name.as_str()),
        ("image", rec.config.image.as_str()),
    ];
    pairs.extend_from_slice(extra);
    eng.containers.events().record(
        Kind::Container,
        action,
        &rec.id,
        attributes(&pairs, &rec.config.labels),
    );
}
