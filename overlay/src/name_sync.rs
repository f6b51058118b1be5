//! The names half of an agent's session on one network: publishing this host's containers
//! (what [`Hooks::local_names`] reports, checked against this host's slice) and keeping the
//! names file of the other hosts' containers in step for berth's DNS server, telling it
//! ([`Hooks::names_changed`]) only when the file changed.

use std::path::Path;

use berth_core::plugins::overlay::{PeerContainer, PeerNames};
use ipnetwork::Ipv4Network;

use crate::agent::Hooks;
use crate::name_store::{NameChange, Published};
use crate::peers::PeerSet;
use crate::records::NetworkSpec;
use crate::remote_names::RemoteNames;
use crate::store::{Store, StoreError};

/// One session's names state of one network.
pub struct NameSync {
    host: String,
    slice: Ipv4Network,
    published: Published,
    remote: RemoteNames,
    written: Option<PeerNames>,
}

impl NameSync {
    /// The state of `host` (holding `slice`), with the store's entries as listed.
    pub fn new(host: &str, slice: Ipv4Network, listed: Vec<PeerContainer>) -> Self {
        let mut remote = RemoteNames::new(host);
        remote.reset(listed);
        Self {
            host: host.to_owned(),
            slice,
            published: Published::default(),
            remote,
            written: None,
        }
    }

    /// Publishes this host's containers of `net` under `lease`; returns the store writes.
    pub async fn publish(
        &mut self,
        store: &mut Store,
        net: &NetworkSpec,
        lease: i64,
        hooks: &dyn Hooks,
    ) -> Result<usize, StoreError> {
        let mut wanted = hooks.local_names(net);
        wanted.retain_mut(|c| {
            c.host = self.host.clone();
            match c.check(Some(self.slice)) {
                Ok(()) => true,
                Err(why) => {
                    tracing::warn!(network = %net.name, id = %c.id, error = %why, "container name not published");
                    false
                }
            }
        });
        store
            .publish_names(net, &self.host, lease, &wanted, &mut self.published)
            .await
    }

    /// Applies a change from the names watch.
    pub fn apply(&mut self, change: NameChange) {
        self.remote.apply(change);
    }

    /// Rewrites the names file under `dir` if what may be answered changed (given `peers`),
    /// and tells the DNS server.
    pub fn refresh(
        &mut self,
        dir: &Path,
        net: &NetworkSpec,
        peers: &PeerSet,
        hooks: &dyn Hooks,
    ) -> std::io::Result<()> {
        let file = self.remote.file(&net.name, peers);
        if self.written.as_ref() == Some(&file) {
            return Ok(());
        }
        file.write(dir)?;
        self.written = Some(file);
        hooks.names_changed(net);
        Ok(())
    }
}
