//! What the DNS server knows, derived from berth's own state only: the user networks that
//! have containers attached (their gateways and bridges), and for each attached container its
//! names (name, short id, `--network-alias` aliases, also as `NAME.NETWORK`), its addresses on
//! each network and its `--dns` servers. [`Table::build`] reads the container records and the
//! network definitions; a server killed and restarted builds the same table again. On an
//! overlay network it also answers for the other hosts' containers, from the names file the
//! node agent keeps ([`berth_core::plugins::overlay::PeerNames`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use berth_core::plugins::overlay::{HostLease, PeerContainer, PeerNames};

use crate::container::record::ContainerRecord;
use crate::network::{DEFAULT_NETWORK, Driver, Network};

/// The DNS port.
pub const PORT: u16 = 53;

/// A user network served by the DNS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsNetwork {
    /// The network's name.
    pub name: String,
    /// Its bridge device: the server's sockets are bound to it.
    pub bridge: String,
    /// The gateway addresses: where the server listens.
    pub gateways: Vec<IpAddr>,
    /// `--internal`: names are answered, nothing is forwarded.
    pub internal: bool,
    /// Overlay networks: the node agent's state directory, with the other hosts' names.
    pub overlay_dir: Option<PathBuf>,
}

/// Whether containers on `net` get the DNS server: berth's own bridge networks except the
/// default `bridge` (as Docker: the default network has no embedded DNS), and overlay networks
/// this host has joined (listening on its slice's gateway).
pub fn serves(net: &Network) -> Option<DnsNetwork> {
    let spec = net.spec.as_ref()?;
    if net.builtin || spec.name == DEFAULT_NETWORK {
        return None;
    }
    match spec.driver {
        Driver::Bridge => Some(DnsNetwork {
            name: spec.name.clone(),
            bridge: spec.bridge.clone()?,
            gateways: spec.subnets.iter().map(|s| s.gateway).collect(),
            internal: spec.internal,
            overlay_dir: None,
        }),
        Driver::Overlay => {
            let dir = spec.overlay_dir()?;
            let lease = HostLease::read(&dir, &spec.name).ok().flatten()?;
            Some(DnsNetwork {
                name: spec.name.clone(),
                bridge: lease.bridge.clone(),
                gateways: vec![IpAddr::V4(lease.gateway())],
                internal: spec.internal,
                overlay_dir: Some(dir),
            })
        }
        _ => None,
    }
}

/// The names of the container `rec` on `network`, lower case without a trailing dot: its
/// name, short id and `--network-alias`es there.
pub fn names_of(rec: &ContainerRecord, network: &str) -> Vec<String> {
    let aliases = rec.host_config.network_aliases.get(network);
    let mut out: Vec<String> = Vec::new();
    let names = [rec.name.as_str(), rec.short_id()]
        .into_iter()
        .chain(aliases.into_iter().flatten().map(String::as_str));
    for name in names {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// One container on one network.
#[derive(Debug, Clone)]
struct Member {
    /// Index into [`Table::containers`].
    container: usize,
    /// Index into [`Table::networks`].
    network: usize,
    addrs: Vec<IpAddr>,
}

/// One attached container.
#[derive(Debug, Clone)]
struct Container {
    /// The name used in PTR answers.
    name: String,
    /// `--dns`: forwarding goes there instead of the host's servers.
    upstreams: Vec<SocketAddr>,
    /// Indexes into [`Table::networks`] of the served networks it is on.
    networks: Vec<usize>,
    /// `--dns-search` (lower case); empty: the host's.
    search: Vec<String>,
}

/// The answer to a name on a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A container's name: its addresses (possibly none of the asked family).
    Found(Vec<IpAddr>),
    /// Not a container's name for this client: forward it.
    Unknown,
}

/// The server's view of berth's state.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The served networks that have containers attached.
    pub networks: Vec<DnsNetwork>,
    containers: Vec<Container>,
    members: Vec<Member>,
    /// (network index, lower-case name without the trailing dot) -> member indexes.
    names: HashMap<(usize, String), Vec<usize>>,
    /// (network index, address) -> member index.
    addrs: HashMap<(usize, IpAddr), usize>,
    /// The host's name servers, for clients without `--dns`.
    pub host_upstreams: Vec<SocketAddr>,
    /// The host's search domains (lower case), for clients without `--dns-search`.
    host_search: Vec<String>,
}

impl Table {
    /// The table for these records and networks: containers with attachments (the record
    /// lists them from the CNI ADD until the teardown's DEL) on served networks.
    pub fn build(records: &[ContainerRecord], networks: &[Network], host_resolv: &str) -> Table {
        let mut t = Table {
            host_upstreams: nameservers(host_resolv),
            host_search: search_domains(host_resolv),
            ..Table::default()
        };
        let served: HashMap<&str, DnsNetwork> = networks
            .iter()
            .filter_map(|n| Some((n.name(), serves(n)?)))
            .collect();
        let mut net_index: HashMap<String, usize> = HashMap::new();
        for rec in records {
            let attached: Vec<(&String, Vec<IpAddr>)> = rec
                .network_settings
                .networks
                .iter()
                .filter(|(name, _)| served.contains_key(name.as_str()))
                .map(|(name, a)| (name, a.addresses()))
                .collect();
            if attached.is_empty() {
                continue;
            }
            let c = t.containers.len();
            t.containers.push(Container {
                name: rec.name.clone(),
                upstreams: rec
                    .host_config
                    .dns
                    .iter()
                    .filter_map(|s| s.parse::<IpAddr>().ok())
                    .map(|ip| SocketAddr::new(ip, PORT))
                    .collect(),
                networks: Vec::new(),
                search: rec
                    .host_config
                    .dns_search
                    .iter()
                    .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
                    .collect(),
            });
            for (net, addrs) in attached {
                let n = *net_index.entry(net.clone()).or_insert_with(|| {
                    t.networks.push(served[net.as_str()].clone());
                    t.networks.len() - 1
                });
                t.containers[c].networks.push(n);
                let m = t.members.len();
                for a in &addrs {
                    t.addrs.insert((n, *a), m);
                }
                t.members.push(Member {
                    container: c,
                    network: n,
                    addrs,
                });
                t.add_names(n, m, names_of(rec, net));
            }
        }
        for n in 0..t.networks.len() {
            let Some(dir) = t.networks[n].overlay_dir.clone() else {
                continue;
            };
            match PeerNames::read(&dir, &t.networks[n].name) {
                Ok(peers) => {
                    for c in peers.containers {
                        t.add_remote(n, c);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the other hosts' names are not answered"),
            }
        }
        t
    }

    /// Answers `names` (and `NAME.NETWORK` of each) on network `n` with member `m`.
    fn add_names(&mut self, n: usize, m: usize, names: Vec<String>) {
        let net = self.networks[n].name.to_ascii_lowercase();
        for name in names {
            let qualified = format!("{name}.{net}");
            for key in [name, qualified] {
                let list = self.names.entry((n, key)).or_default();
                if !list.contains(&m) {
                    list.push(m);
                }
            }
        }
    }

    /// Another host's container on overlay network `n`. It never asks this server, so it
    /// brings no upstreams or search domains, and an address a local container has stays
    /// that container's.
    fn add_remote(&mut self, n: usize, c: PeerContainer) {
        let Some(first) = c.names.first().cloned() else {
            return;
        };
        let container = self.containers.len();
        self.containers.push(Container {
            name: first,
            upstreams: Vec::new(),
            networks: vec![n],
            search: Vec::new(),
        });
        let m = self.members.len();
        let addrs: Vec<IpAddr> = c.addrs.iter().copied().map(IpAddr::V4).collect();
        for a in &addrs {
            self.addrs.entry((n, *a)).or_insert(m);
        }
        self.members.push(Member {
            container,
            network: n,
            addrs,
        });
        self.add_names(n, m, c.names);
    }

    /// The index of the served network `name`.
    pub fn network(&self, name: &str) -> Option<usize> {
        self.networks.iter().position(|n| n.name == name)
    }

    /// Whether nothing is served (the server may stop).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The networks a query that reached the server on `network` from `client` may see:
    /// every served network the client's container is on, or just `network` for a client
    /// that is not a container berth knows.
    fn scope(&self, network: usize, client: IpAddr) -> Vec<usize> {
        match self.addrs.get(&(network, client)) {
            Some(&m) => self.containers[self.members[m].container].networks.clone(),
            None => vec![network],
        }
    }

    /// Looks `name` (case-insensitive, a trailing dot allowed) up for `client`, who asked on
    /// `network`. Addresses of the client's networks come first, the asked one's before others.
    /// A name that ends in one of the client's search domains is also looked up without it
    /// (as Docker's embedded DNS does): resolvers that try `web.corp.example` first, or only,
    /// still find `web`.
    pub fn lookup(&self, network: usize, client: IpAddr, name: &str) -> Lookup {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        let found = self.lookup_key(network, client, &key);
        if found != Lookup::Unknown {
            return found;
        }
        for domain in self.search(network, client) {
            if let Some(short) = key
                .strip_suffix(domain.as_str())
                .and_then(|k| k.strip_suffix('.'))
                .filter(|k| !k.is_empty())
            {
                let found = self.lookup_key(network, client, short);
                if found != Lookup::Unknown {
                    return found;
                }
            }
        }
        Lookup::Unknown
    }

    /// The search domains of the client's container, else the host's.
    fn search(&self, network: usize, client: IpAddr) -> &[String] {
        match self.addrs.get(&(network, client)) {
            Some(&m) if !self.containers[self.members[m].container].search.is_empty() => {
                &self.containers[self.members[m].container].search
            }
            _ => &self.host_search,
        }
    }

    fn lookup_key(&self, network: usize, client: IpAddr, key: &str) -> Lookup {
        let mut scope = self.scope(network, client);
        scope.sort_by_key(|n| *n != network);
        let mut found = false;
        let mut out = Vec::new();
        for n in scope {
            if let Some(ms) = self.names.get(&(n, key.to_owned())) {
                found = true;
                for &m in ms {
                    for a in &self.members[m].addrs {
                        if !out.contains(a) {
                            out.push(*a);
                        }
                    }
                }
            }
        }
        if found {
            Lookup::Found(out)
        } else {
            Lookup::Unknown
        }
    }

    /// The name (`NAME.NETWORK`) of the container at `addr` on one of the client's networks.
    pub fn reverse(&self, network: usize, client: IpAddr, addr: IpAddr) -> Option<String> {
        self.scope(network, client).into_iter().find_map(|n| {
            let m = &self.members[*self.addrs.get(&(n, addr))?];
            Some(format!(
                "{}.{}",
                self.containers[m.container].name, self.networks[m.network].name
            ))
        })
    }

    /// Where to forward a query from `client` on `network`: its container's `--dns` servers,
    /// else the host's. Empty on an internal network.
    pub fn upstreams(&self, network: usize, client: IpAddr) -> &[SocketAddr] {
        if self.networks.get(network).is_none_or(|n| n.internal) {
            return &[];
        }
        match self.addrs.get(&(network, client)) {
            Some(&m)
                if !self.containers[self.members[m].container]
                    .upstreams
                    .is_empty() =>
            {
                &self.containers[self.members[m].container].upstreams
            }
            _ => &self.host_upstreams,
        }
    }
}

/// The `search` (or `domain`) domains of a resolv.conf, lower case.
fn search_domains(resolv: &str) -> Vec<String> {
    resolv
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            matches!(w.next()?, "search" | "domain").then_some(w)
        })
        .flatten()
        .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
        .collect()
}

/// The `nameserver` addresses of a resolv.conf (loopback ones included: the server runs in
/// the host's namespace, where they answer).
pub fn nameservers(resolv: &str) -> Vec<SocketAddr> {
    resolv
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "nameserver").then_some(())?;
            let ip: IpAddr = w.next()?.split('%').next()?.parse().ok()?;
            Some(SocketAddr::new(ip, PORT))
        })
        .collect()
}

#[cfg(test)]
mod tests;
