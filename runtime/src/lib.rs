//! berth-runtime: an OCI runtime. It turns a bundle (a root filesystem plus `config.json`) into an
//! isolated process: namespaces, cgroups v1/v2, mounts and pivot_root, devices, capabilities,
//! seccomp, rlimits and hooks. The `berth-runtime` binary puts runc's command line on top of
//! [`container`]; everything else here is library code with no CLI concerns.
//!
//! The create path is synchronous and single-threaded: the container's init is cloned directly
//! from the calling process (see [`process`]) and never re-executes a second program.
//!
//! Not implemented yet: seccomp notify listeners, AppArmor/SELinux labels,
//! `linux.personality`, `process.scheduler`, `process.ioPriority`, `linux.memoryPolicy`,
//! Intel RDT, and systemd cgroup management. These fields are ignored, except seccomp notify
//! and systemd-style cgroup paths (and `--systemd-cgroup`), which are refused with an error.

pub mod cgroups;
pub mod config;
pub mod container;
pub mod features;
pub mod hooks;
pub mod mounts;
pub mod namespaces;
pub mod process;
pub mod seccomp;
pub mod state;
pub mod sys;
pub mod terminal;

pub use container::{ContainerError, Runtime};
/// The spec types the API takes, so callers need not depend on oci-spec themselves.
pub use oci_spec;
