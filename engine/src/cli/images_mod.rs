//! The image, volume and storage commands of the `berth` CLI (`import`, `load`, `save`,
//! `images`, `tag`, `rmi`, `history`, `image ...`, `volume ...`, `system df`): argument parsing
//! and Docker-compatible output over [`crate::store::Store`]. The storage work itself lives in
//! the library modules; this layer only resolves names, prints and maps errors.
//!
//! Until the main `cli` module exists this file is their root (mounted as `cli_images` in
//! lib.rs); the `pub mod` lines below move as they are into `cli/mod.rs`.

pub mod container_refs;
pub mod human;
pub mod image;
pub mod report;
pub mod storage_opts;
pub mod system;
pub mod table;
pub mod volume;
