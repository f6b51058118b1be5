//! berth-engine: what a user of berth sees as images, layers, containers' root filesystems,
//! volumes and sizes. Its two front ends, the `berth` CLI (crate `cli/`) and the Engine API
//! daemon `berthd` (crate `daemon/`), make thin calls into these modules through one
//! [`settings::Settings`]; the OCI runtime (berth-runtime) starts processes on the roots
//! built here.
#![warn(missing_docs)]

pub mod clock;
pub mod container;
pub mod digest;
pub mod disk_usage;
pub mod dns;
pub mod events;
pub mod image;

pub mod ids;
pub mod network;
pub mod registry;
pub mod report;
pub mod settings;
pub mod shim;
pub mod size;
pub mod storage;
pub mod store;
#[cfg(test)]
mod test_tar;
pub mod volume;
