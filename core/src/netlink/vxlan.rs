//! berth's types for a VXLAN overlay (flannel's `vxlan` backend): the device, its static
//! forwarding entries and the permanent neighbours that point at the remote VTEPs.
//!
//! The [`super::Netlink`] methods that take and return them (`create_vxlan`, `vxlan_info`,
//! `fdb_*`, `neigh*`) live on the trait; choosing entries from peer state is the overlay's job.

use std::net::{IpAddr, Ipv4Addr};

use super::MacAddr;

/// A VXLAN device to create (`ip link add NAME type vxlan id VNI local IP dstport PORT [dev
/// UNDERLAY] nolearning [mtu M] [address MAC]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VxlanSpec<'a> {
    /// The device name.
    pub name: &'a str,
    /// The VXLAN network identifier (`id`, 24 bits).
    pub vni: u32,
    /// The source address of encapsulated packets (`local`), this host's underlay address.
    pub local: Ipv4Addr,
    /// The UDP destination port (`dstport`; 4789 is IANA's, 8472 the old Linux default).
    pub port: u16,
    /// The index of the underlay device encapsulated packets leave by (`dev`).
    pub underlay: Option<u32>,
    /// The MTU; the kernel's default is the underlay's minus the 50-byte VXLAN overhead.
    pub mtu: Option<u32>,
    /// The device's MAC address (`address`), which peers put in their FDB and neighbour tables.
    pub mac: Option<MacAddr>,
}

/// What the kernel reports about a VXLAN device (`ip -d link show dev NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanInfo {
    /// The VXLAN network identifier.
    pub vni: u32,
    /// The source address (`local`), when one is set.
    pub local: Option<IpAddr>,
    /// The UDP destination port.
    pub port: u16,
    /// Source MACs are learned into the FDB (`learning`; off for `nolearning`).
    pub learning: bool,
    /// The underlay device's index (`dev`), when one is set.
    pub underlay: Option<u32>,
}

/// A static forwarding entry of a VXLAN device: frames for `mac` go to the VTEP at `dst`
/// (`bridge fdb replace MAC dev X dst IP self permanent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FdbEntry {
    /// The destination MAC address of the inner frame.
    pub mac: MacAddr,
    /// The remote VTEP's underlay address.
    pub dst: IpAddr,
}

/// A permanent neighbour entry (`ip neigh replace IP lladdr MAC dev X nud permanent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Neighbour {
    /// The neighbour's IP address.
    pub ip: IpAddr,
    /// Its link-layer address.
    pub mac: MacAddr,
}
