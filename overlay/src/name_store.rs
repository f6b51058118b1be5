//! Container names in the store: `NAME/names/HOST/ID` holds one [`PeerContainer`] of a host
//! (its names and addresses on the network), tied to that host's lease, so a host's names go
//! when it dies. A host publishes its own containers ([`Store::publish_names`]: only what
//! changed since the last call; everything again under a session's new lease) and lists, then
//! watches, everyone's ([`Store::names_and_watch`]) from the same revision, so no change is
//! missed. Entries read back are checked; one that does not check, or sits under another
//! host's or container's key, is refused with a warning.

use std::collections::{BTreeMap, BTreeSet};

use berth_core::plugins::overlay::PeerContainer;
use etcd_client::{DeleteOptions, GetOptions, PutOptions};

use crate::records::{NetworkSpec, RecordError};
use crate::store::{Store, StoreError};
use crate::watch::{KeyFamily, Watch};

/// A change to the names of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameChange {
    /// A container was published, or its names or addresses changed.
    Put(PeerContainer),
    /// A container's entry went (it stopped, or its host's lease expired).
    Gone {
        /// Its host.
        host: String,
        /// Its id.
        id: String,
    },
}

/// What this host has published of one network in the current session.
#[derive(Debug, Default)]
pub struct Published {
    /// By container id; `None` until the first publish of a session.
    known: Option<BTreeMap<String, PeerContainer>>,
}

fn names_prefix(store: &Store, net: &str) -> String {
    format!("{}/{net}/names/", store.prefix())
}

impl Store {
    /// Makes this host's entries of `net` be `wanted` (their `host` is `host`), under `lease`:
    /// puts what is new or changed and deletes what went since the last call. The first call
    /// of a session puts everything (under the new lease) and deletes whatever an earlier
    /// session left that is no longer wanted. Returns the number of writes.
    pub async fn publish_names(
        &mut self,
        net: &NetworkSpec,
        host: &str,
        lease: i64,
        wanted: &[PeerContainer],
        published: &mut Published,
    ) -> Result<usize, StoreError> {
        let prefix = format!("{}{host}/", names_prefix(self, &net.name));
        let (known, mut stale) = match published.known.take() {
            Some(k) => (k, BTreeSet::new()),
            None => {
                let r = self
                    .client()
                    .get(
                        prefix.clone(),
                        Some(GetOptions::new().with_prefix().with_keys_only()),
                    )
                    .await?;
                let there: BTreeSet<String> = r
                    .kvs()
                    .iter()
                    .filter_map(|kv| Some(kv.key_str().ok()?.strip_prefix(&prefix)?.to_owned()))
                    .collect();
                (BTreeMap::new(), there)
            }
        };
        let mut now = BTreeMap::new();
        let mut writes = 0;
        for c in wanted {
            if c.host != host {
                continue;
            }
            stale.remove(&c.id);
            if known.get(&c.id) != Some(c) {
                let value = serde_json::to_vec(c)
                    .map_err(|e| StoreError::Record(RecordError::Malformed(e.to_string())))?;
                let opts = PutOptions::new().with_lease(lease);
                self.client()
                    .put(format!("{prefix}{}", c.id), value, Some(opts))
                    .await?;
                writes += 1;
            }
            now.insert(c.id.clone(), c.clone());
        }
        stale.extend(known.into_keys().filter(|id| !now.contains_key(id)));
        for id in stale {
            self.client().delete(format!("{prefix}{id}"), None).await?;
            writes += 1;
        }
        published.known = Some(now);
        Ok(writes)
    }

    /// Deletes every name entry of `host` on `net` (the host leaves it).
    pub(crate) async fn forget_names(&mut self, net: &str, host: &str) -> Result<(), StoreError> {
        let prefix = format!("{}{host}/", names_prefix(self, net));
        self.client()
            .delete(prefix, Some(DeleteOptions::new().with_prefix()))
            .await?;
        Ok(())
    }

    /// Every entry of `net` that checks, and a watch of every change after them.
    pub async fn names_and_watch(
        &mut self,
        net: &NetworkSpec,
    ) -> Result<(Vec<PeerContainer>, NameWatch), StoreError> {
        let prefix = names_prefix(self, &net.name);
        let r = self
            .client()
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await?;
        let revision = r.header().map_or(0, |h| h.revision());
        let listed = r
            .kvs()
            .iter()
            .filter_map(|kv| checked_name(&prefix, kv.key_str().unwrap_or("?"), kv.value()))
            .collect();
        let family = NameKeys {
            prefix: prefix.clone(),
        };
        let watch = Watch::after(self.client(), &prefix, revision, family).await?;
        Ok((listed, watch))
    }

    /// Writes raw bytes under a name key of `net` (for tests of refused entries).
    pub async fn put_raw_name(
        &mut self,
        net: &str,
        host: &str,
        id: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let key = format!("{}{host}/{id}", names_prefix(self, net));
        self.client().put(key, value, None).await?;
        Ok(())
    }
}

/// Changes to a network's names, in store order ([`Store::names_and_watch`]).
pub type NameWatch = Watch<NameKeys>;

/// A network's name keys: a put is a container's names (if its entry checks), a delete their
/// removal.
pub struct NameKeys {
    prefix: String,
}

impl KeyFamily for NameKeys {
    type Change = NameChange;

    fn put(&self, key: &str, value: &[u8]) -> Option<NameChange> {
        checked_name(&self.prefix, key, value).map(NameChange::Put)
    }

    fn delete(&self, key: &str) -> Option<NameChange> {
        let (host, id) = split_key(&self.prefix, key)?;
        Some(NameChange::Gone {
            host: host.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// `HOST/ID` of a key under `prefix`.
fn split_key<'a>(prefix: &str, key: &'a str) -> Option<(&'a str, &'a str)> {
    key.strip_prefix(prefix)?.split_once('/')
}

/// The entry at `key` if it checks and names the host and container its key does; else a
/// warning.
fn checked_name(prefix: &str, key: &str, value: &[u8]) -> Option<PeerContainer> {
    let c: PeerContainer = match serde_json::from_slice(value) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(key, error = %e, "overlay name entry refused: not a valid record");
            return None;
        }
    };
    if let Err(why) = c.check(None) {
        tracing::warn!(key, error = %why, "overlay name entry refused");
        return None;
    }
    if split_key(prefix, key) != Some((c.host.as_str(), c.id.as_str())) {
        tracing::warn!(key, host = %c.host, id = %c.id, "overlay name entry under another key refused");
        return None;
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_host_and_id_and_entries_must_match_their_key() {
        let p = "/berth/overlay/ov/names/";
        assert_eq!(
            split_key(p, "/berth/overlay/ov/names/h1/abc"),
            Some(("h1", "abc"))
        );
        assert_eq!(split_key(p, "/berth/overlay/ov/names/h1"), None);
        let value = br#"{"host":"h1","id":"abc","names":["web"],"addrs":["10.100.1.2"]}"#;
        assert!(checked_name(p, "/berth/overlay/ov/names/h1/abc", value).is_some());
        assert!(checked_name(p, "/berth/overlay/ov/names/h2/abc", value).is_none());
        assert!(checked_name(p, "/berth/overlay/ov/names/h1/xyz", value).is_none());
        assert!(checked_name(p, "/berth/overlay/ov/names/h1/abc", b"not json").is_none());
        let extra = br#"{"host":"h1","id":"abc","names":["web"],"addrs":["10.100.1.2"],"x":1}"#;
        assert!(checked_name(p, "/berth/overlay/ov/names/h1/abc", extra).is_none());
    }
}
