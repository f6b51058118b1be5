//! [`Store`]: overlay state in etcd, through the etcd v3 API (the maintained `etcd-client`
//! crate). Keys, under a prefix (`/berth/overlay` by default):
//!
//! - `networks/NAME`: the network's [`NetworkSpec`], written once (`create_network`);
//! - `NAME/hosts/HOST`: a joined host's [`HostEntry`], tied to the host's lease;
//! - `NAME/slices/A.B.C.D-LEN`: the host id holding that slice, tied to the same lease;
//! - `NAME/names/HOST/ID`: a container's names and addresses ([`crate::name_store`]), tied
//!   to the same lease.
//!
//! A host takes a slice with one transaction that creates both of its keys only if neither
//! exists, so two hosts never hold one slice; a host that joins again keeps its slice. When the
//! host's lease expires (it stopped renewing it: it died or lost etcd for longer than the TTL),
//! etcd deletes both keys and the slice is free. How to reach and log in to etcd (user and
//! password, TLS) is [`crate::store_options`].

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp};

use crate::records::{HostEntry, NetworkSpec, RecordError};
use crate::slices;
use crate::store_options::StoreOptions;
use crate::watch::{KeyFamily, Watch};

/// What went wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A `--store` value that is not `etcd://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]`.
    #[error("invalid store {0:?}: expected etcd://[user:password@]host:port[,host:port...]")]
    BadUrl(String),
    /// A TLS file (`--store-ca`, `--store-cert`, `--store-key`) that cannot be read.
    #[error("reading the store's TLS file {}: {source}", path.display())]
    TlsFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// etcd refused or could not be reached.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// The network exists in the store with other settings.
    #[error("overlay network {name} exists in the store with subnet {subnet} and VNI {vni}")]
    Conflict {
        /// The network.
        name: String,
        /// Its recorded subnet.
        subnet: String,
        /// Its recorded VNI.
        vni: u32,
    },
    /// Every slice of the network is held by some host.
    #[error("overlay network {0} has no free slice left for another host")]
    Exhausted(String),
    /// A record of ours that does not check.
    #[error("{0}")]
    Record(#[from] RecordError),
}

/// A connection to the store.
pub struct Store {
    client: Client,
    prefix: String,
}

impl Store {
    /// Connects (and logs in, with credentials).
    pub async fn connect(opts: &StoreOptions) -> Result<Self, StoreError> {
        let client = Client::connect(opts.endpoints(), Some(opts.connect_options()?)).await?;
        Ok(Self {
            client,
            prefix: opts.prefix.trim_end_matches('/').to_owned(),
        })
    }

    /// The etcd client, for the other key families of this crate ([`crate::name_store`]).
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The key prefix, without a trailing `/`.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    fn network_key(&self, name: &str) -> String {
        format!("{}/networks/{name}", self.prefix)
    }

    fn hosts_prefix(&self, net: &str) -> String {
        format!("{}/{net}/hosts/", self.prefix)
    }

    fn host_key(&self, net: &str, host: &str) -> String {
        format!("{}{host}", self.hosts_prefix(net))
    }

    fn slices_prefix(&self, net: &str) -> String {
        format!("{}/{net}/slices/", self.prefix)
    }

    fn slice_key(&self, net: &str, slice: &Ipv4Network) -> String {
        format!(
            "{}{}-{}",
            self.slices_prefix(net),
            slice.ip(),
            slice.prefix()
        )
    }

    /// Records `spec` unless the network exists; returns the recorded one. An existing network
    /// with another subnet, slice size or VNI is [`StoreError::Conflict`].
    pub async fn create_network(&mut self, spec: &NetworkSpec) -> Result<NetworkSpec, StoreError> {
        spec.check()?;
        let key = self.network_key(&spec.name);
        let value = serde_json::to_vec(spec).map_err(|e| RecordError::Malformed(e.to_string()))?;
        loop {
            let txn = Txn::new()
                .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(key.clone(), value.clone(), None)]);
            if self.client.txn(txn).await?.succeeded() {
                return Ok(spec.clone());
            }
            // Recorded already (or removed in between: then try again).
            let Some(existing) = self.network(&spec.name).await? else {
                continue;
            };
            if &existing != spec {
                return Err(StoreError::Conflict {
                    name: existing.name,
                    subnet: existing.subnet.to_string(),
                    vni: existing.vni,
                });
            }
            return Ok(existing);
        }
    }

    /// The network's record, if there is one (a record that does not check is an error).
    pub async fn network(&mut self, name: &str) -> Result<Option<NetworkSpec>, StoreError> {
        let r = self.client.get(self.network_key(name), None).await?;
        match r.kvs().first() {
            Some(kv) => Ok(Some(NetworkSpec::from_json(kv.value())?)),
            None => Ok(None),
        }
    }

    /// Every network recorded in the store; one whose record does not check is left out with
    /// a warning.
    pub async fn networks(&mut self) -> Result<Vec<NetworkSpec>, StoreError> {
        let prefix = format!("{}/networks/", self.prefix);
        let r = self
            .client
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await?;
        let out = r
            .kvs()
            .iter()
            .filter_map(|kv| match NetworkSpec::from_json(kv.value()) {
                Ok(n) => Some(n),
                Err(e) => {
                    let key = kv.key_str().unwrap_or("?");
                    tracing::warn!(key, error = %e, "overlay network record refused");
                    None
                }
            })
            .collect();
        Ok(out)
    }

    /// Removes the network's record (hosts still joined keep their entries until they leave
    /// or their leases expire). `false` when there was none.
    pub async fn delete_network(&mut self, name: &str) -> Result<bool, StoreError> {
        let r = self.client.delete(self.network_key(name), None).await?;
        Ok(r.deleted() > 0)
    }

    /// A lease of `ttl` seconds for this host's keys.
    pub async fn grant(&mut self, ttl: i64) -> Result<i64, StoreError> {
        Ok(self.client.lease_grant(ttl, None).await?.id())
    }

    /// Renews `lease` once (an agent does it every third of the TTL); `false` when etcd no
    /// longer knows the lease (it expired: the host must join again).
    pub async fn renew(&mut self, lease: i64) -> Result<bool, StoreError> {
        let expired = |e: &etcd_client::Error| matches!(e, etcd_client::Error::LeaseKeepAliveError(m) if m.contains("not found"));
        let renewed = async {
            let (mut keeper, mut answers) = self.client.lease_keep_alive(lease).await?;
            keeper.keep_alive().await?;
            Ok::<_, etcd_client::Error>(answers.message().await?.is_some_and(|a| a.ttl() > 0))
        };
        match renewed.await {
            Ok(alive) => Ok(alive),
            Err(e) if expired(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Joins `host` to `net` under `lease`: the host's slice (the one it holds already, else
    /// `preferred` when it is free — the slice the host had before its lease expired, which
    /// its containers still use — else the first free one), recorded with its underlay
    /// address and VTEP MAC.
    pub async fn join(
        &mut self,
        net: &NetworkSpec,
        host: &str,
        underlay_ip: Ipv4Addr,
        vtep_mac: &str,
        lease: i64,
        preferred: Option<Ipv4Network>,
    ) -> Result<HostEntry, StoreError> {
        let host_key = self.host_key(&net.name, host);
        // Joined before (a restarted agent): same slice, new lease and addresses.
        let current = self.client.get(host_key.clone(), None).await?;
        if let Some(kv) = current.kvs().first() {
            if let Ok(old) = HostEntry::from_json(kv.value(), net) {
                let entry = HostEntry {
                    host: host.to_owned(),
                    underlay_ip,
                    vtep_mac: vtep_mac.to_owned(),
                    ..old
                };
                entry.check(net)?;
                let slice_key = self.slice_key(&net.name, &entry.slice);
                let txn = Txn::new()
                    .when([Compare::value(slice_key.clone(), CompareOp::Equal, host)])
                    .and_then(claim(&host_key, &entry, slice_key, lease)?);
                if self.client.txn(txn).await?.succeeded() {
                    return Ok(entry);
                }
            }
        }
        let slice_prefix = self.slices_prefix(&net.name);
        loop {
            let taken = self
                .client
                .get(
                    slice_prefix.clone(),
                    Some(GetOptions::new().with_prefix().with_keys_only()),
                )
                .await?;
            let taken: std::collections::HashSet<String> = taken
                .kvs()
                .iter()
                .filter_map(|kv| kv.key_str().ok().map(str::to_owned))
                .collect();
            let is_free = |s: &Ipv4Network| !taken.contains(&self.slice_key(&net.name, s));
            let wanted = preferred.filter(|p| slices::all(net).any(|s| s == *p) && is_free(p));
            let free = wanted.or_else(|| slices::all(net).find(is_free));
            let Some(slice) = free else {
                return Err(StoreError::Exhausted(net.name.clone()));
            };
            let entry = HostEntry {
                host: host.to_owned(),
                underlay_ip,
                vtep_mac: vtep_mac.to_owned(),
                slice,
            };
            entry.check(net)?;
            let slice_key = self.slice_key(&net.name, &slice);
            let txn = Txn::new()
                .when([
                    Compare::create_revision(slice_key.clone(), CompareOp::Equal, 0),
                    Compare::create_revision(host_key.clone(), CompareOp::Equal, 0),
                ])
                .and_then(claim(&host_key, &entry, slice_key, lease)?);
            if self.client.txn(txn).await?.succeeded() {
                return Ok(entry);
            }
            // Someone took that slice (or an old entry of ours is in the way): drop an entry
            // of ours that did not check, then look again.
            let stale = self.client.get(host_key.clone(), None).await?;
            if let Some(kv) = stale.kvs().first() {
                if HostEntry::from_json(kv.value(), net).is_err() {
                    self.client.delete(host_key.clone(), None).await?;
                }
            }
        }
    }

    /// Takes `host` out of `net` at once (its slice is free, its names gone), without waiting
    /// for its lease.
    pub async fn leave(&mut self, net: &NetworkSpec, host: &str) -> Result<(), StoreError> {
        let host_key = self.host_key(&net.name, host);
        let r = self.client.get(host_key.clone(), None).await?;
        let entry = r
            .kvs()
            .first()
            .and_then(|kv| HostEntry::from_json(kv.value(), net).ok());
        if let Some(entry) = entry {
            // The slice goes only if it is still this host's.
            let slice_key = self.slice_key(&net.name, &entry.slice);
            let txn = Txn::new()
                .when([Compare::value(slice_key.clone(), CompareOp::Equal, host)])
                .and_then([TxnOp::delete(slice_key, None)]);
            self.client.txn(txn).await?;
        }
        self.client.delete(host_key, None).await?;
        self.forget_names(&net.name, host).await
    }

    /// Every joined host of `net` whose entry checks; the others are skipped with a warning
    /// (never returned, so never programmed).
    pub async fn peers(&mut self, net: &NetworkSpec) -> Result<Vec<HostEntry>, StoreError> {
        Ok(self.peers_at(net).await?.0)
    }

    /// [`Self::peers`] and the store revision they were read at.
    async fn peers_at(&mut self, net: &NetworkSpec) -> Result<(Vec<HostEntry>, i64), StoreError> {
        let prefix = self.hosts_prefix(&net.name);
        let r = self
            .client
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await?;
        let revision = r.header().map_or(0, |h| h.revision());
        let out = r
            .kvs()
            .iter()
            .filter_map(|kv| checked_peer(&prefix, kv.key_str().unwrap_or("?"), kv.value(), net))
            .collect();
        Ok((out, revision))
    }

    /// The peers now and a watch of every change after them: none is missed in between (the
    /// watch starts at the revision the list was read at).
    pub async fn peers_and_watch(
        &mut self,
        net: &NetworkSpec,
    ) -> Result<(Vec<HostEntry>, PeerWatch), StoreError> {
        let (peers, revision) = self.peers_at(net).await?;
        let prefix = self.hosts_prefix(&net.name);
        let family = PeerKeys {
            prefix: prefix.clone(),
            net: net.clone(),
        };
        let watch = Watch::after(&mut self.client, &prefix, revision, family).await?;
        Ok((peers, watch))
    }

    /// Writes raw bytes under a host key of `net` (for tests of refused entries).
    pub async fn put_raw_host(
        &mut self,
        net: &str,
        host: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let key = self.host_key(net, host);
        self.client.put(key, value, None).await?;
        Ok(())
    }
}

/// A change to a network's peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerChange {
    /// A host joined, or its entry changed (a new underlay address or MAC after a rejoin).
    Joined(HostEntry),
    /// A host left, or its lease expired.
    Left(String),
}

/// Changes to a network's peers, in store order ([`Store::peers_and_watch`]).
pub type PeerWatch = Watch<PeerKeys>;

/// A network's host keys: a put is a host joining (if its entry checks), a delete one leaving.
pub struct PeerKeys {
    prefix: String,
    net: NetworkSpec,
}

impl KeyFamily for PeerKeys {
    type Change = PeerChange;

    fn put(&self, key: &str, value: &[u8]) -> Option<PeerChange> {
        checked_peer(&self.prefix, key, value, &self.net).map(PeerChange::Joined)
    }

    fn delete(&self, key: &str) -> Option<PeerChange> {
        let host = key.strip_prefix(&self.prefix)?;
        Some(PeerChange::Left(host.to_owned()))
    }
}

/// A peer entry at `key` that checks and names the host its key does; else a warning.
fn checked_peer(prefix: &str, key: &str, value: &[u8], net: &NetworkSpec) -> Option<HostEntry> {
    match HostEntry::from_json(value, net) {
        Ok(h) if key.strip_prefix(prefix) == Some(h.host.as_str()) => Some(h),
        Ok(h) => {
            tracing::warn!(key, host = %h.host, "overlay peer entry under another host's key refused");
            None
        }
        Err(e) => {
            tracing::warn!(key, error = %e, "overlay peer entry refused");
            None
        }
    }
}

/// The writes that give `entry` its slice: the host's entry and the slice's claim (its host
/// id), both under the host's lease.
fn claim(
    host_key: &str,
    entry: &HostEntry,
    slice_key: String,
    lease: i64,
) -> Result<[TxnOp; 2], StoreError> {
    let with_lease = || Some(PutOptions::new().with_lease(lease));
    Ok([
        TxnOp::put(host_key, to_json(entry)?, with_lease()),
        TxnOp::put(slice_key, entry.host.as_str(), with_lease()),
    ])
}

fn to_json(entry: &HostEntry) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(entry).map_err(|e| StoreError::Record(RecordError::Malformed(e.to_string())))
}
