//! Kernel links, addresses, routes, bridge ports, VXLAN devices with their forwarding and
//! neighbour entries, and per-netns sysctls, behind the [`Netlink`] seam.
//!
//! [`LinuxNetlink`] is the real implementation (one synchronous `NETLINK_ROUTE` socket bound to
//! one network namespace); `FakeNetlink` (with the `testing` feature or in tests) is an
//! in-memory model for unit tests. rtnetlink types never leave `linux/`. Creating and entering
//! namespaces is left to [`crate::netns`].

mod error;
#[cfg(any(test, feature = "testing"))]
mod fake;
mod linux;
mod mac;
mod vxlan;

use std::fmt;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;

use ipnetwork::IpNetwork;

pub use self::error::NetlinkError;
#[cfg(any(test, feature = "testing"))]
pub use self::fake::{FakeLink, FakeNetlink, NetlinkCall};
pub use self::linux::LinuxNetlink;
pub use self::mac::{MacAddr, MacAddrParseError};
pub use self::vxlan::{FdbEntry, Neighbour, VxlanInfo, VxlanSpec};

/// The kind of a link (`ip -d link show` prints it as the first word of the link-info line).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// A Linux bridge.
    Bridge,
    /// One end of a veth pair.
    Veth,
    /// Any other kind, by its kernel name (`dummy`, `vlan`, `macvlan`, …).
    Other(String),
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkKind::Bridge => f.write_str("bridge"),
            LinkKind::Veth => f.write_str("veth"),
            LinkKind::Other(kind) => f.write_str(kind),
        }
    }
}

/// What the kernel reports about one link (`ip -d link show dev NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The interface index.
    pub index: u32,
    /// The interface name.
    pub name: String,
    /// The link kind; `None` for physical devices and loopback.
    pub kind: Option<LinkKind>,
    /// The hardware address, when the link has a 6-byte one.
    pub mac: Option<MacAddr>,
    /// The MTU.
    pub mtu: u32,
    /// Administratively up (`IFF_UP`, `ip link set up`).
    pub admin_up: bool,
    /// Operationally up (`IFF_RUNNING`: carrier present, or state unknown as for `lo`).
    pub oper_up: bool,
    /// The index of the master device (`IFLA_MASTER`), e.g. the bridge of a bridge port.
    pub master: Option<u32>,
    /// Promiscuous mode set on the device (`IFF_PROMISC`).
    pub promisc: bool,
    /// `IFLA_LINK`: for a veth, the index of its peer (in the peer's namespace).
    pub link: Option<u32>,
    /// `IFLA_LINK_NETNSID`: the peer's namespace id, as seen from this namespace, when the peer
    /// lives in another namespace.
    pub link_netnsid: Option<i32>,
}

/// An address assigned to a link (`ip addr show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address {
    /// The interface index.
    pub index: u32,
    /// The address with its prefix length, like `10.88.0.5/16`.
    pub addr: IpNetwork,
}

/// An IP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl IpFamily {
    /// The family of `addr`.
    pub fn of(addr: &IpAddr) -> IpFamily {
        match addr {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }
}

/// How far a route's destination is (`ip route add … scope SCOPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteScope {
    /// Reachable through a gateway (the default).
    #[default]
    Universe,
    /// Directly on the link, no gateway.
    Link,
    /// This host.
    Host,
}

/// A route (`ip route add DST [via GW] [dev OIF] [onlink] [scope S] [table T] [metric P]
/// [mtu M] [advmss A]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// The destination; `0.0.0.0/0` or `::/0` for a default route.
    pub dst: IpNetwork,
    /// The gateway (`via`).
    pub gw: Option<IpAddr>,
    /// The output interface index (`dev`).
    pub oif: Option<u32>,
    /// The scope.
    pub scope: RouteScope,
    /// The routing table; `None` means main (254).
    pub table: Option<u32>,
    /// The metric (`metric`/`priority`).
    pub priority: Option<u32>,
    /// The path MTU (`mtu`).
    pub mtu: Option<u32>,
    /// The advertised MSS (`advmss`).
    pub advmss: Option<u32>,
    /// The gateway is taken to be on the link even with no route to it (`onlink`,
    /// `RTNH_F_ONLINK`), as for the per-peer routes of a VXLAN overlay.
    pub onlink: bool,
}

impl Route {
    /// A route to `dst` with every optional field unset and universe scope.
    pub fn new(dst: IpNetwork) -> Route {
        Route {
            dst,
            gw: None,
            oif: None,
            scope: RouteScope::Universe,
            table: None,
            priority: None,
            mtu: None,
            advmss: None,
            onlink: false,
        }
    }

    /// The family of the destination.
    pub fn family(&self) -> IpFamily {
        IpFamily::of(&self.dst.ip())
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dst.prefix() == 0 {
            f.write_str("default")?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(gw) = self.gw {
            write!(f, " via {gw}")?;
        }
        if let Some(oif) = self.oif {
            write!(f, " dev #{oif}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        if let Some(table) = self.table {
            write!(f, " table {table}")?;
        }
        if let Some(priority) = self.priority {
            write!(f, " metric {priority}")?;
        }
        Ok(())
    }
}

/// A veth pair to create ([`Netlink::create_veth_with`]).
#[derive(Debug, Clone, Copy)]
pub struct VethSpec<'a> {
    /// The host end's name.
    pub name: &'a str,
    /// The peer's name, inside `peer_ns`.
    pub peer: &'a str,
    /// The namespace the peer is created in.
    pub peer_ns: BorrowedFd<'a>,
    /// MTU of both ends.
    pub mtu: Option<u32>,
    /// The peer's MAC address.
    pub peer_mac: Option<MacAddr>,
    /// Make the host end a port of this bridge (`master`).
    pub master: Option<u32>,
    /// Bring the host end up. The peer always starts down: the kernel opens a device created
    /// up before the pair is linked, which a veth refuses (ENOTCONN).
    pub up: bool,
}

/// What berth needs from rtnetlink, in berth's own types. Every handle acts on one network
/// namespace. Real impl: [`LinuxNetlink`]; fake: `FakeNetlink`.
pub trait Netlink {
    /// `ip link show dev NAME`; `Ok(None)` when there is no such link.
    fn link_by_name(&self, name: &str) -> Result<Option<LinkInfo>, NetlinkError>;
    /// The link with this index; `Ok(None)` when there is none.
    fn link_by_index(&self, index: u32) -> Result<Option<LinkInfo>, NetlinkError>;
    /// `ip link show`: every link in the namespace.
    fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError>;
    /// Creates a bridge (`ip link add NAME [address MAC] [mtu M] type bridge [vlan_filtering 1]`).
    /// EEXIST from a concurrent creator is not an error: the existing link is returned, unchanged,
    /// if it is a bridge, and [`NetlinkError::NotABridge`] otherwise.
    fn ensure_bridge(
        &self,
        name: &str,
        mtu: Option<u32>,
        mac: Option<MacAddr>,
        vlan_filtering: bool,
    ) -> Result<LinkInfo, NetlinkError>;
    /// `ip link add NAME [mtu M] type veth peer name PEER [mtu M] netns PEER_NS [address
    /// PEER_MAC]`, in one message: the peer is created directly inside `peer_ns` with its final
    /// name. Both ends are left down.
    fn create_veth(
        &self,
        name: &str,
        peer: &str,
        peer_ns: BorrowedFd<'_>,
        mtu: Option<u32>,
        peer_mac: Option<MacAddr>,
    ) -> Result<(), NetlinkError> {
        self.create_veth_with(&VethSpec {
            name,
            peer,
            peer_ns,
            mtu,
            peer_mac,
            master: None,
            up: false,
        })
    }
    /// Creates a veth pair as `spec` says, in one message: the peer is born inside its
    /// namespace with its final name; with `master` the host end is already a port of that
    /// bridge, and with `up` the host end is up.
    fn create_veth_with(&self, spec: &VethSpec<'_>) -> Result<(), NetlinkError>;
    /// `sysctl net.ipv4.conf.IF.arp_notify=0|1`, set through netlink (`IFLA_INET_CONF`), so
    /// no thread has to enter the link's namespace.
    fn set_arp_notify(&self, index: u32, on: bool) -> Result<(), NetlinkError>;
    /// `ip link set dev X addrgenmode none`: the link gets no IPv6 link-local address, so no
    /// duplicate address detection, router solicitation or multicast reports run for it — the
    /// kernel's background work that otherwise grows with every interface. For links that
    /// carry no IPv6; set it while the link is down.
    fn set_ipv6_link_local_off(&self, index: u32) -> Result<(), NetlinkError>;
    /// `ip link del NAME`; `Ok(false)` when it did not exist.
    fn delete_link(&self, name: &str) -> Result<bool, NetlinkError>;
    /// Like [`Netlink::delete_link`], but returns as soon as the kernel has unlisted the link:
    /// the slow rest of the kernel's teardown (an RCU barrier, 10-40 ms for a veth) finishes in
    /// a detached child process. `Ok(false)` when there was no such link.
    fn remove_link(&self, name: &str) -> Result<bool, NetlinkError>;
    /// `ip link set dev X up`.
    fn set_up(&self, index: u32) -> Result<(), NetlinkError>;
    /// `ip link set dev X down`.
    fn set_down(&self, index: u32) -> Result<(), NetlinkError>;
    /// `ip link set dev X master M`.
    fn set_master(&self, index: u32, master: u32) -> Result<(), NetlinkError>;
    /// `ip link set dev X mtu M`.
    fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), NetlinkError>;
    /// `ip link set dev X address MAC`.
    fn set_mac(&self, index: u32, mac: MacAddr) -> Result<(), NetlinkError>;
    /// `ip link set dev X promisc on|off`.
    fn set_promisc(&self, index: u32, on: bool) -> Result<(), NetlinkError>;
    /// `bridge link set dev X hairpin on|off` (X must be a bridge port).
    fn set_hairpin(&self, index: u32, on: bool) -> Result<(), NetlinkError>;
    /// `bridge link set dev X isolated on|off` (X must be a bridge port).
    fn set_port_isolated(&self, index: u32, on: bool) -> Result<(), NetlinkError>;
    /// `bridge vlan add dev X vid V [pvid] [untagged] [self]`; `on_bridge_self` targets the
    /// bridge device itself instead of a port.
    fn bridge_vlan_add(
        &self,
        index: u32,
        vid: u16,
        pvid: bool,
        untagged: bool,
        on_bridge_self: bool,
    ) -> Result<(), NetlinkError>;
    /// `bridge vlan del dev X vid V [self]`.
    fn bridge_vlan_del(
        &self,
        index: u32,
        vid: u16,
        on_bridge_self: bool,
    ) -> Result<(), NetlinkError>;
    /// `ip addr show [dev X]`: addresses of one link, or of all links.
    fn addresses(&self, index: Option<u32>) -> Result<Vec<Address>, NetlinkError>;
    /// `ip addr add ADDR dev X` (IPv4 gets the subnet broadcast, like CNI's plugins). EEXIST is
    /// returned as an error the caller can test with [`NetlinkError::is_exists`].
    fn add_address(&self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError>;
    /// `ip addr del ADDR dev X`.
    fn del_address(&self, index: u32, addr: IpNetwork) -> Result<(), NetlinkError>;
    /// `ip route show table all`, minus the local table, cached/cloned routes and non-unicast
    /// routes; routes in main have `table: None`.
    fn routes(&self, family: IpFamily) -> Result<Vec<Route>, NetlinkError>;
    /// `ip route add …` (exclusive: EEXIST when it exists). Table main unless `route.table`.
    fn add_route(&self, route: &Route) -> Result<(), NetlinkError>;
    /// `ip route del …`, matching on dst, table, and gw/oif/priority when set.
    fn del_route(&self, route: &Route) -> Result<(), NetlinkError>;
    /// Creates a VXLAN device as `spec` says, with source-MAC learning off and the kernel's
    /// defaults otherwise (no l2miss/l3miss, UDP checksums as the kernel chooses); left down.
    /// Exclusive: an existing name (or another device with the same VNI and port) is an error
    /// the caller can test with [`NetlinkError::is_exists`]. Returns the new link.
    fn create_vxlan(&self, spec: &VxlanSpec<'_>) -> Result<LinkInfo, NetlinkError>;
    /// The VXLAN settings of link `index` (`ip -d link show`); `Ok(None)` when the link is not
    /// a VXLAN device or does not exist.
    fn vxlan_info(&self, index: u32) -> Result<Option<VxlanInfo>, NetlinkError>;
    /// `bridge fdb show dev X`: the permanent forwarding entries of link `index` that have a
    /// destination (entries without one, like the device's own address, are left out).
    fn fdb_entries(&self, index: u32) -> Result<Vec<FdbEntry>, NetlinkError>;
    /// `bridge fdb replace MAC dev X dst IP self permanent`: creates the entry or points the
    /// existing one for that MAC at `entry.dst`. Idempotent.
    fn fdb_replace(&self, index: u32, entry: &FdbEntry) -> Result<(), NetlinkError>;
    /// `bridge fdb del MAC dev X dst IP self`; `Ok(false)` when the device has no entry for
    /// that MAC with that destination (the kernel itself would remove nothing and still
    /// succeed when the MAC is there with another destination).
    fn fdb_del(&self, index: u32, entry: &FdbEntry) -> Result<bool, NetlinkError>;
    /// `ip neigh show dev X nud permanent`: the permanent IPv4 and IPv6 neighbour entries of
    /// link `index` that have a link-layer address.
    fn neighbours(&self, index: u32) -> Result<Vec<Neighbour>, NetlinkError>;
    /// `ip neigh replace IP lladdr MAC dev X nud permanent`. Idempotent.
    fn neigh_replace(&self, index: u32, n: &Neighbour) -> Result<(), NetlinkError>;
    /// `ip neigh del IP dev X`; `Ok(false)` when there was no such entry.
    fn neigh_del(&self, index: u32, ip: IpAddr) -> Result<bool, NetlinkError>;
    /// Writes `/proc/sys/<key>` (key like `net/ipv4/ip_forward`) in this handle's namespace.
    fn set_sysctl(&self, key: &str, value: &str) -> Result<(), NetlinkError>;
    /// Reads `/proc/sys/<key>` in this handle's namespace, without the trailing newline.
    fn get_sysctl(&self, key: &str) -> Result<String, NetlinkError>;
}
