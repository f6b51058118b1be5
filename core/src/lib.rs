//! berth-core: the networking core of berth.
//!
//! It owns network namespaces ([`netns`]), kernel link/address/route operations over netlink
//! ([`netlink`]), IP address management ([`ipam`]), the CNI protocol types and plugin skeleton
//! ([`cni`]), the runtime side of CNI ([`invoke`]: what libcni does for podman), and the logic
//! of each CNI plugin ([`plugins`]). The plugin binaries in `berth-plugins` are thin wrappers
//! around [`plugins`]; nothing here parses command lines.
#![warn(missing_docs)]

pub mod cni;
pub mod firewall;
pub mod invoke;
pub mod ipam;
pub mod log;
pub mod names;
pub mod netlink;
pub mod netns;
pub mod plugins;
pub mod sysctl;
