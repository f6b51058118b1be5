//! Image events ([`crate::events`]) as dockerd words them: the actor is the image id
//! (`sha256:…`), its attributes the image's labels and a `name` (the new tag for `tag`, the
//! image id for `untag`, `delete`, `import`, `load` and `save`). `prune` has no actor id, only
//! `reclaimed` (bytes).

use std::collections::BTreeMap;

use super::ImageStore;
use crate::digest::Digest;
use crate::events::{EventLog, Kind};

impl ImageStore {
    /// The event log of this state root.
    pub fn events(&self) -> EventLog {
        EventLog::new(self.dir.parent().unwrap_or(&self.dir))
    }

    /// The labels of the image's config (none if it is gone or has none).
    pub fn labels(&self, id: &Digest) -> BTreeMap<String, String> {
        self.config(id)
            .ok()
            .and_then(|c| c.config().as_ref().and_then(|c| c.labels().clone()))
            .map(|l| l.into_iter().collect())
            .unwrap_or_default()
    }

    /// Logs `action` for the image `id`, with its labels and `name` (the id if `None`).
    pub fn emit(&self, action: &str, id: &Digest, name: Option<&str>) {
        let mut attrs = self.labels(id);
        attrs.insert("name".into(), name.unwrap_or(id.as_str()).to_owned());
        self.events()
            .record(Kind::Image, action, id.as_str(), attrs);
    }

    /// Logs a `prune` that freed `reclaimed` bytes.
    pub fn emit_prune(&self, reclaimed: u64) {
        let attrs = BTreeMap::from([("reclaimed".to_owned(), reclaimed.to_string())]);
        self.events().record(Kind::Image, "prune", "", attrs);
    }
}
