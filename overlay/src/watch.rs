//! [`Watch`]: the changes under one key prefix in etcd, from a given revision on, each entry
//! checked as it arrives. A key family ([`KeyFamily`]: the peers of a network, its names) says
//! what a put or a delete of one of its keys means; an entry that does not check is left out
//! (the family warns), so a hostile write never becomes a change.

use etcd_client::{Client, EventType, WatchOptions, WatchStream};

use crate::store::StoreError;

/// What the puts and deletes of one family of keys mean.
pub trait KeyFamily {
    /// A change to the family.
    type Change;
    /// The change a put of `value` at `key` makes, if the entry checks.
    fn put(&self, key: &str, value: &[u8]) -> Option<Self::Change>;
    /// The change a delete of `key` makes, if the key is one of the family's.
    fn delete(&self, key: &str) -> Option<Self::Change>;
}

/// Changes to a key family, in store order.
pub struct Watch<F> {
    stream: WatchStream,
    family: F,
}

impl<F: KeyFamily> Watch<F> {
    /// Watches every key under `prefix` from the revision after `listed` (the one a listing
    /// was read at), so no change between the listing and the watch is missed.
    pub(crate) async fn after(
        client: &mut Client,
        prefix: &str,
        listed: i64,
        family: F,
    ) -> Result<Self, StoreError> {
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(listed + 1);
        let stream = client.watch(prefix, Some(opts)).await?;
        Ok(Self { stream, family })
    }

    /// The next batch of changes (entries that do not check are left out, with a warning);
    /// `None` when the watch ended (etcd went away: list and watch again).
    pub async fn next(&mut self) -> Result<Option<Vec<F::Change>>, StoreError> {
        let Some(resp) = self.stream.message().await? else {
            return Ok(None);
        };
        let changes = resp
            .events()
            .iter()
            .filter_map(|ev| {
                let kv = ev.kv()?;
                let key = kv.key_str().unwrap_or("?");
                match ev.event_type() {
                    EventType::Put => self.family.put(key, kv.value()),
                    EventType::Delete => self.family.delete(key),
                }
            })
            .collect();
        Ok(Some(changes))
    }
}
