//! Network events ([`crate::events`]) as Docker words them: the actor is the network id, with
//! its `name` and `type` (driver), and for `connect`/`disconnect` the `container`.

use super::{Network, NetworkStore};
use crate::events::{EventLog, Kind, attributes};

impl NetworkStore {
    /// The event log of this state root.
    pub fn events(&self) -> EventLog {
        EventLog::new(self.dir.parent().unwrap_or(&self.dir))
    }

    /// Logs `action` for `net`; `container` for `connect` and `disconnect`.
    pub fn emit(&self, net: &Network, action: &str, container: Option<&str>) {
        let driver = net.driver();
        let mut pairs = vec![("name", net.name()), ("type", driver.as_str())];
        if let Some(c) = container {
            pairs.push(("container", c));
        }
        self.events().record(
            Kind::Network,
            action,
            &net.id(),
            attributes(&pairs, &Default::default()),
        );
    }
}
