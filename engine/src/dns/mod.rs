//! DNS on user networks: containers on the same user network reach each other by name,
//! short id and `--network-alias`, as with Docker's embedded DNS or podman's aardvark-dns.
//!
//! One `berth-dns` server (crate `dns/`) serves every user network that has containers
//! attached. It runs in the host's network namespace and listens on each network's gateway
//! address, port 53, UDP and TCP, with its sockets bound to the network's bridge, so it is
//! reachable only from that bridge and never on the host's external addresses. Containers
//! get the gateway as their `nameserver`. This is aardvark-dns's placement, chosen over
//! Docker's 127.0.0.11 inside each container: it needs no NAT rule and no socket per
//! container (so `run` pays nothing for it), and forwarding happens from the host's
//! namespace, where the host's own resolvers (loopback ones too) answer.
//!
//! The server keeps no state of its own: [`table::Table`] is built from the container
//! records and the network definitions. The engine tells it to rebuild ([`DnsControl::sync`])
//! after every change of attachments (start, teardown, connect, disconnect, rename), and
//! waits for the answer, so a name resolves as soon as `run` returns. The server starts with
//! the first attached container, stops when the last one goes, and a supervisor restarts it
//! if it is killed.
//!
//! Overlay networks are served too, on this host's slice gateway; the names of the other
//! hosts' containers come from the node agent ([`overlay`]).

mod control;
pub mod overlay;
pub mod table;

pub use control::{DnsControl, lock};

use std::net::IpAddr;
use std::path::PathBuf;

use crate::container::record::ContainerRecord;
use crate::network::NetworkStore;

/// The host's resolv.conf: `BERTH_RESOLV_CONF` if set (tests point it at their own),
/// else `/etc/resolv.conf`.
pub fn host_resolv_path() -> PathBuf {
    std::env::var_os("BERTH_RESOLV_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/resolv.conf"))
}

/// The name servers a container gets on its served networks, in the order of its networks:
/// each network's first gateway (IPv4 before IPv6), at most three (the resolver's limit).
pub fn nameservers_for(networks: &NetworkStore, rec: &ContainerRecord) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for name in &rec.host_config.networks {
        if !rec.network_settings.networks.contains_key(name) {
            continue;
        }
        let Some(served) = networks.get(name).ok().as_ref().and_then(table::serves) else {
            continue;
        };
        let mut gws = served.gateways.clone();
        gws.sort_by_key(|g| g.is_ipv6());
        if let Some(g) = gws.first().filter(|g| !out.contains(*g)) {
            out.push(*g);
        }
    }
    out.truncate(3);
    out
}
