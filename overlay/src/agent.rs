//! The node agent (`berth node join`): joins this host to every overlay network in the store
//! (or the ones named), and keeps each network's kernel state in step with its peers.
//!
//! Per network, a session: connect, take a lease, join (keeping the slice the host had, from
//! its lease file, when it is still free), make the VXLAN device, write the lease file the
//! `overlay` plugin reads, list the peers and [`Dataplane::sync`] to them, then apply the
//! watch's changes one by one while renewing the lease every third of its TTL. When etcd goes
//! away the session ends and the kernel keeps its last entries (containers keep talking);
//! the next session, once etcd is back, syncs again (adding what was missed, removing peers
//! that left meanwhile). A restarted agent does the same: its device and entries are kept and
//! reconciled, never duplicated. The agent stopping does not leave: its entries expire with
//! its lease, unless it comes back in time; [`leave`] leaves at once.
//!
//! Names go along ([`crate::name_sync`]): a session publishes this host's containers under its
//! lease, again whenever berth pokes the agent's socket (`<stateDir>/names.sock`, after every
//! start, stop, connect, disconnect or rename) and at every renewal, and keeps the file of the
//! other hosts' containers that berth's DNS server answers from.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use berth_core::netlink::{LinuxNetlink, NetlinkError};
use berth_core::plugins::overlay::{HostLease, PeerContainer, PeerNames, peer_names};
use tokio::sync::watch;

use crate::dataplane::{Dataplane, DataplaneError};
use crate::name_sync::NameSync;
use crate::names::{bridge_device, vtep_mac};
use crate::peers::{Action, PeerSet};
use crate::records::NetworkSpec;
use crate::store::{Store, StoreError};
use crate::store_options::StoreOptions;

/// What a session can end with.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The store failed or went away.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Programming the kernel failed.
    #[error(transparent)]
    Dataplane(#[from] DataplaneError),
    /// A netlink handle could not be opened.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// The network's firewall could not be set up or removed.
    #[error(transparent)]
    Firewall(#[from] berth_core::firewall::FirewallError),
    /// The lease file could not be written or removed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was attempted.
        op: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// etcd forgot the host's lease (it was away longer than the TTL): join again.
    #[error("the host's lease expired")]
    LeaseLost,
    /// The watch stream ended.
    #[error("the store's watch ended")]
    WatchEnded,
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The store.
    pub store: StoreOptions,
    /// This host's id in the cluster.
    pub host: String,
    /// The address other hosts reach this one at.
    pub underlay_ip: Ipv4Addr,
    /// The lease's TTL in seconds: how long a dead host's entries stay on the others.
    pub ttl: i64,
    /// Where lease files go (the `overlay` plugin's `stateDir`).
    pub state_dir: PathBuf,
    /// How often the list of networks is read again.
    pub rescan: Duration,
    /// How long to wait before a new session after one failed.
    pub retry: Duration,
    /// Only these networks (all of them when empty).
    pub networks: Vec<String>,
}

/// What a front end does when the host joins or leaves a network (berth's CLI records the
/// network for `berth run --network`).
pub trait Hooks {
    /// The host holds `lease` of `net` and its device is up.
    fn joined(&self, net: &NetworkSpec, lease: &HostLease);
    /// The network is gone from the store and the host left it.
    fn left(&self, net: &NetworkSpec);
    /// This host's containers on `net`: their ids, names and addresses (`host` is filled in
    /// by the agent). None by default.
    fn local_names(&self, _net: &NetworkSpec) -> Vec<PeerContainer> {
        Vec::new()
    }
    /// The names file of `net` (the other hosts' containers) was rewritten.
    fn names_changed(&self, _net: &NetworkSpec) {}
}

/// Runs the agent until the process is stopped. Fails at once only when the underlay address
/// is not on this host; store trouble is retried.
pub async fn run(opts: AgentOptions, hooks: Rc<dyn Hooks>) -> Result<(), AgentError> {
    let opts = Rc::new(opts);
    crate::dataplane::check_underlay(&LinuxNetlink::new()?, opts.underlay_ip)?;
    let mut running: HashMap<String, (NetworkSpec, tokio::task::JoinHandle<()>)> = HashMap::new();
    let (poke_tx, poke) = watch::channel(0u64);
    let _pokes = tokio::task::spawn_local(listen_for_pokes(opts.state_dir.clone(), poke_tx));
    let mut store: Option<Store> = None;
    loop {
        match list_networks(&mut store, &opts).await {
            Ok(nets) => {
                let wanted: Vec<NetworkSpec> = nets
                    .into_iter()
                    .filter(|n| opts.networks.is_empty() || opts.networks.contains(&n.name))
                    .collect();
                for net in &wanted {
                    let restart = running
                        .get(&net.name)
                        .is_some_and(|(old, task)| old != net || task.is_finished());
                    if restart {
                        if let Some((_, task)) = running.remove(&net.name) {
                            task.abort();
                        }
                    }
                    if !running.contains_key(&net.name) {
                        let task = tokio::task::spawn_local(network_loop(
                            opts.clone(),
                            net.name.clone(),
                            hooks.clone(),
                            poke.clone(),
                        ));
                        running.insert(net.name.clone(), (net.clone(), task));
                    }
                }
                let gone: Vec<String> = running
                    .keys()
                    .filter(|k| !wanted.iter().any(|n| &n.name == *k))
                    .cloned()
                    .collect();
                for name in gone {
                    if let Some((net, task)) = running.remove(&name) {
                        task.abort();
                        tracing::info!(network = %name, "overlay network removed from the store; leaving it");
                        if let Err(e) = teardown(&opts, &net, hooks.as_ref()) {
                            tracing::warn!(network = %name, error = %e, "leaving a removed overlay network");
                        }
                    }
                }
            }
            Err(e) => {
                store = None;
                tracing::warn!(error = %e, "overlay agent: listing networks failed; retrying");
            }
        }
        tokio::time::sleep(opts.rescan).await;
    }
}

async fn list_networks(
    store: &mut Option<Store>,
    opts: &AgentOptions,
) -> Result<Vec<NetworkSpec>, StoreError> {
    if store.is_none() {
        *store = Some(Store::connect(&opts.store).await?);
    }
    match store {
        Some(s) => s.networks().await,
        None => Ok(Vec::new()),
    }
}

/// Accepts pokes on `<dir>/names.sock`: each connection tells every session to publish its
/// containers' names again. Without the socket, names are published at every renewal only.
async fn listen_for_pokes(dir: PathBuf, poke: watch::Sender<u64>) {
    let path = peer_names::notify_socket(&dir);
    // A socket left by an earlier agent is replaced; any other trouble shows at bind.
    let _ = std::fs::remove_file(&path);
    let listener =
        std::fs::create_dir_all(&dir).and_then(|()| tokio::net::UnixListener::bind(&path));
    let listener = match listener {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "overlay agent: no names socket; names follow at each lease renewal");
            // Kept, so the sessions' receivers wait instead of seeing a closed channel.
            let _kept = poke;
            return std::future::pending().await;
        }
    };
    loop {
        if listener.accept().await.is_ok() {
            poke.send_modify(|n| *n += 1);
        }
    }
}

/// Removes this host's device, lease and names files of `net`.
fn teardown(opts: &AgentOptions, net: &NetworkSpec, hooks: &dyn Hooks) -> Result<(), AgentError> {
    Dataplane::remove(&LinuxNetlink::new()?, net)?;
    crate::firewall::remove(net)?;
    PeerNames::remove(&opts.state_dir, &net.name).map_err(|source| AgentError::Io {
        op: "remove",
        path: PeerNames::path(&opts.state_dir, &net.name),
        source,
    })?;
    HostLease::remove(&opts.state_dir, &net.name).map_err(|source| AgentError::Io {
        op: "remove",
        path: HostLease::path(&opts.state_dir, &net.name),
        source,
    })?;
    hooks.left(net);
    Ok(())
}

async fn network_loop(
    opts: Rc<AgentOptions>,
    name: String,
    hooks: Rc<dyn Hooks>,
    mut poke: watch::Receiver<u64>,
) {
    let nl = match LinuxNetlink::new() {
        Ok(nl) => nl,
        Err(e) => {
            tracing::error!(network = %name, error = %e, "overlay agent: no netlink");
            return;
        }
    };
    let mut preferred = HostLease::read(&opts.state_dir, &name)
        .ok()
        .flatten()
        .map(|l| l.slice);
    loop {
        match session(&opts, &name, &nl, &mut preferred, hooks.as_ref(), &mut poke).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(
                network = %name,
                error = %e,
                "overlay session ended; the kernel keeps its entries, retrying"
            ),
        }
        tokio::time::sleep(opts.retry).await;
    }
}

/// One session of one network; `Ok` when the network is not in the store.
async fn session(
    opts: &AgentOptions,
    name: &str,
    nl: &LinuxNetlink,
    preferred: &mut Option<ipnetwork::Ipv4Network>,
    hooks: &dyn Hooks,
    poke: &mut watch::Receiver<u64>,
) -> Result<(), AgentError> {
    let mut store = Store::connect(&opts.store).await?;
    let Some(net) = store.network(name).await? else {
        return Ok(());
    };
    let lease = store.grant(opts.ttl).await?;
    let mac = vtep_mac(&opts.host, net.vni).to_string();
    let own = store
        .join(&net, &opts.host, opts.underlay_ip, &mac, lease, *preferred)
        .await?;
    *preferred = Some(own.slice);
    let dp = Dataplane::ensure(nl, &net, &own)?;
    crate::firewall::ensure(&net)?;
    let host_lease = HostLease {
        network: net.name.clone(),
        subnet: net.subnet,
        slice: own.slice,
        vni: net.vni,
        bridge: bridge_device(net.vni),
        mtu: dp.vtep().mtu,
    };
    host_lease
        .write(&opts.state_dir)
        .map_err(|source| AgentError::Io {
            op: "write",
            path: HostLease::path(&opts.state_dir, &net.name),
            source,
        })?;
    hooks.joined(&net, &host_lease);
    let (listed, mut watch) = store.peers_and_watch(&net).await?;
    let (names, mut name_watch) = store.names_and_watch(&net).await?;
    let mut set = PeerSet::new(own.clone());
    let (added, removed) = dp.sync(&set.reset(listed))?;
    let mut names = NameSync::new(&opts.host, own.slice, names);
    let names_io = |source| AgentError::Io {
        op: "write",
        path: PeerNames::path(&opts.state_dir, &net.name),
        source,
    };
    poke.mark_unchanged();
    names.publish(&mut store, &net, lease, hooks).await?;
    names
        .refresh(&opts.state_dir, &net, &set, hooks)
        .map_err(names_io)?;
    tracing::info!(
        network = %net.name,
        slice = %own.slice,
        peers = set.len(),
        added,
        removed,
        "overlay network joined and in step"
    );
    let every = Duration::from_secs((opts.ttl / 3).max(1) as u64);
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = renew.tick() => {
                if !store.renew(lease).await? {
                    return Err(AgentError::LeaseLost);
                }
                names.publish(&mut store, &net, lease, hooks).await?;
            }
            _ = poke.changed() => {
                let started = Instant::now();
                let writes = names.publish(&mut store, &net, lease, hooks).await?;
                tracing::debug!(
                    network = %net.name,
                    writes,
                    micros = started.elapsed().as_micros() as u64,
                    "overlay names published"
                );
            }
            batch = name_watch.next() => {
                let Some(changes) = batch? else {
                    return Err(AgentError::WatchEnded);
                };
                for change in changes {
                    names.apply(change);
                }
                names.refresh(&opts.state_dir, &net, &set, hooks).map_err(names_io)?;
            }
            batch = watch.next() => {
                let Some(changes) = batch? else {
                    return Err(AgentError::WatchEnded);
                };
                for change in changes {
                    let started = Instant::now();
                    let before = dp.writes();
                    for action in set.apply(change) {
                        match action {
                            Action::Add(p) => dp.add_peer(&p)?,
                            Action::Remove(p) => dp.remove_peer(&p)?,
                        }
                    }
                    tracing::info!(
                        network = %net.name,
                        peers = set.len(),
                        writes = dp.writes() - before,
                        micros = started.elapsed().as_micros() as u64,
                        "overlay peer change applied"
                    );
                }
                names.refresh(&opts.state_dir, &net, &set, hooks).map_err(names_io)?;
            }
        }
    }
}

/// Takes this host out of `networks` at once: its entries and slices in the store, its
/// devices and lease files. Networks it was not in are skipped.
pub async fn leave(
    opts: &AgentOptions,
    networks: &[NetworkSpec],
    hooks: &dyn Hooks,
) -> Result<(), AgentError> {
    let mut store = Store::connect(&opts.store).await?;
    for net in networks {
        store.leave(net, &opts.host).await?;
        teardown(opts, net, hooks)?;
    }
    Ok(())
}
