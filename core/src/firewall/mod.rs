//! The firewall layer: masquerading, published ports and isolation between networks, all in
//! berth's own nftables table (`inet berth`), behind the [`Firewall`] seam.
//!
//! What goes where: [`ruleset`] writes the table as `nft` text and lays out map keys (pure);
//! [`nft`] applies it ([`NftFirewall`]: `nft -f` for the table and per-network chains, which
//! change only when a network first appears, and direct nf_tables netlink for per-container map
//! elements); [`nfnl`] encodes those netlink messages; `conntrack` forgets stale UDP flows to
//! newly published ports; `host_forward` lets berth's networks through a host `FORWARD` chain
//! whose policy is DROP (Docker's); [`netset`] reads back which network holds which subnet,
//! so a subnet left behind by a removed network is taken over and one a live network holds is
//! refused. Plugins decide *what* to apply; this module decides *how*.

mod conntrack;
#[cfg(any(test, feature = "testing"))]
pub mod fake;
mod host_forward;
mod lock;
pub mod netset;
pub mod nfnl;
pub mod nft;
pub mod ruleset;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnetwork::IpNetwork;

pub use netset::AttachmentProbe;
pub use nft::NftFirewall;

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// The protocol with this IP protocol number.
    pub fn from_number(n: u8) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// Parses `tcp`, `udp` or `sctp` (any case).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        })
    }
}

/// One published port: traffic to `host_ip` (any local address when `None`) on `host_port`
/// goes to `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortForward {
    /// The protocol.
    pub proto: Protocol,
    /// The host address it is published on; `None` for every local address.
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host_port: u16,
    /// The container's address and port.
    pub target: SocketAddr,
}

impl fmt::Display for PortForward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(ip) => write!(f, "{ip}:{}/{}", self.host_port, self.proto),
            None => write!(f, "{}/{}", self.host_port, self.proto),
        }?;
        write!(f, " -> {}", self.target)
    }
}

/// Who holds a published port: the network, container id and interface of one attachment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    /// The network's name.
    pub network: String,
    /// The container id.
    pub container_id: String,
    /// The container's interface.
    pub ifname: String,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "container {} ({}) on network {}",
            self.container_id, self.ifname, self.network
        )
    }
}

/// A network's firewall setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The network's name.
    pub name: String,
    /// Its subnets (network address and prefix).
    pub subnets: Vec<IpNetwork>,
    /// Masquerade traffic leaving the network.
    pub masquerade: bool,
    /// No way out: only the network itself (and published ports) are reachable.
    pub internal: bool,
    /// Traffic from one of its addresses to another that is not this host's is not
    /// connection-tracked: an overlay's containers talk across hosts through routing and need
    /// no NAT, and skipping conntrack on both hosts shortens every packet's path. The
    /// forwarding rules are stateless, so isolation is the same either way.
    pub untracked: bool,
    /// The host-local data directory holding its reservations (`<dir>/<name>/`), recorded
    /// with its elements so a later network can tell whether this one still has attachments.
    pub ipam_dir: Option<PathBuf>,
}

/// A published port as found in the kernel, with its owner when its comment names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The forward.
    pub forward: PortForward,
    /// Who holds it.
    pub owner: Option<Owner>,
}

/// What can go wrong in the firewall layer.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// `nft` refused a ruleset or could not be run.
    #[error("{op}: {reason}")]
    Nft {
        /// What was being attempted.
        op: String,
        /// `nft`'s message.
        reason: String,
    },
    /// `iptables`/`ip6tables` refused a change to the host's `FORWARD` chain.
    #[error("{op}: {reason}")]
    Iptables {
        /// What was being attempted.
        op: String,
        /// The program's message.
        reason: String,
    },
    /// An nf_tables netlink request failed.
    #[error("{op}: {source}")]
    Netlink {
        /// What was being attempted.
        op: String,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
    /// The host port is already published by another attachment.
    #[error("host port {forward} is already published by {holder}")]
    PortTaken {
        /// The refused forward.
        forward: PortForward,
        /// Who holds the port.
        holder: String,
    },
    /// A subnet of the network being set up is held in the table by another network that
    /// still has attachments (or by an element berth did not make).
    #[error("set up firewall of network {network}: subnet {subnet} is already used by {holder}")]
    SubnetInUse {
        /// The subnet.
        subnet: IpNetwork,
        /// The network being set up.
        network: String,
        /// Who holds it.
        holder: String,
    },
    /// A forward that CHECK expected is missing.
    #[error("published port {forward} is missing from the firewall")]
    Missing {
        /// The missing forward.
        forward: PortForward,
    },
}

/// What berth needs from the kernel's firewall, in berth's own types. Real impl:
/// [`NftFirewall`]; fake: `fake::FakeFirewall`.
pub trait Firewall {
    /// Makes sure the network's chain and set elements exist (cheap when they do). Elements
    /// of another network with an overlapping subnet are replaced when `probe` finds that
    /// network without attachments, else the setup is [`FirewallError::SubnetInUse`].
    fn ensure_network(
        &self,
        net: &NetworkRules,
        probe: &dyn AttachmentProbe,
    ) -> Result<(), FirewallError>;
    /// Removes the chain and the elements tagged with the network's name (never another
    /// network's, even with the same subnet); Ok when already gone.
    fn remove_network(&self, net: &NetworkRules) -> Result<(), FirewallError>;
    /// GC: removes every network in the table that has no published port and that `probe`
    /// finds without attachments, judged by the data directory its elements record (`network`
    /// itself by `ipam_dir` when they record none; others that record none are kept, as
    /// nothing can tell). Returns the names removed.
    fn remove_unused_networks(
        &self,
        network: &str,
        ipam_dir: Option<&Path>,
        probe: &dyn AttachmentProbe,
    ) -> Result<Vec<String>, FirewallError>;
    /// Publishes every forward for `owner` in one transaction, or none: a host port held by
    /// another attachment is [`FirewallError::PortTaken`].
    fn publish(&self, owner: &Owner, forwards: &[PortForward]) -> Result<(), FirewallError>;
    /// Removes `owner`'s forwards: the listed ones (only if `owner` holds them) or, with
    /// `None`, every forward whose comment names `owner`. Returns how many were removed.
    fn unpublish(
        &self,
        owner: &Owner,
        forwards: Option<&[PortForward]>,
    ) -> Result<usize, FirewallError>;
    /// Every published port.
    fn published(&self) -> Result<Vec<Published>, FirewallError>;
    /// Deletes the conntrack entries of UDP flows to these host ports, so a flow that began
    /// before the port was published meets its DNAT rule instead of its old destination.
    /// Returns how many entries went.
    fn forget_udp_flows(&self, ports: &[u16]) -> Result<usize, FirewallError>;
}
