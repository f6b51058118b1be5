//! berth-engine: what a user of berth sees as images, layers, containers' root filesystems,
//! volumes and sizes. The `berth` CLI (engine/src/cli, later) makes thin calls into these
//! modules; the OCI runtime (berth-runtime) starts processes on the roots built here.
#![warn(missing_docs)]

pub mod cli;
pub mod clock;
pub mod container;
pub mod digest;
pub mod disk_usage;
pub mod events;
pub mod image;

pub mod ids;
pub mod network;
pub mod shim;
pub mod size;
pub mod storage;
pub mod store;
#[cfg(test)]
mod test_tar;
pub mod volume;
