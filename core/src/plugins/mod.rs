//! The logic of each CNI plugin berth ships. The binaries in `berth-plugins` only hand the
//! process environment to [`crate::cni::skel::run`] with one of these.
//!
//! Each plugin is written against the [`crate::netlink::Netlink`] and
//! [`crate::cni::PluginExec`] seams, so its ADD/DEL/CHECK logic is unit-tested with fakes; the
//! `*Plugin` types wire in the real kernel and the real IPAM binary.

pub mod attachments;
pub mod bridge;
pub mod builtin_exec;
mod container;
pub mod host;
pub mod host_local;
mod kernel;
pub mod none;
pub mod overlay;
pub mod portmap;
pub mod veth;
pub mod veth_pair;
