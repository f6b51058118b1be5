//! The runtime side of CNI (what libcni does for podman and containerd): load a network config
//! list, run its plugins for ADD, DEL, CHECK, GC and STATUS with the spec's ordering,
//! `prevResult` chaining and capability filtering, cache results in libcni's layout, and lock so
//! many processes can work at once.
//!
//! Plugins run through the [`PluginExec`] seam ([`crate::cni::RawExec`] in production, with a
//! timeout; `FakeExec` in tests). Creating the network namespace and choosing which networks
//! exist is left to the caller (the engine).

mod base64;
pub mod cache;
pub mod conflist;
mod error;
pub mod lock;
mod ops;

use std::path::PathBuf;

use serde_json::{Map, Value};

pub use cache::CachedAttachment;
pub use conflist::NetworkList;
pub use error::InvokeError;

use crate::cni::PluginExec;
use crate::names::{ContainerId, IfName};

/// What the runtime says about one attachment (libcni's `RuntimeConf`).
#[derive(Debug, Clone)]
pub struct RuntimeConf {
    /// `CNI_CONTAINERID`.
    pub container_id: ContainerId,
    /// `CNI_IFNAME`.
    pub ifname: IfName,
    /// `CNI_NETNS`; `None` sends it empty (allowed for DEL only).
    pub netns: Option<PathBuf>,
    /// `CNI_ARGS` pairs, e.g. `("IgnoreUnknown", "1")`.
    pub cni_args: Vec<(String, String)>,
    /// Capability arguments (`portMappings`, `ips`, `mac`, ...); each plugin gets the ones it
    /// declares in `capabilities` as `runtimeConfig`.
    pub capability_args: Map<String, Value>,
}

impl RuntimeConf {
    /// An attachment with no args and no capability arguments.
    pub fn new(container_id: ContainerId, ifname: IfName, netns: Option<PathBuf>) -> Self {
        RuntimeConf {
            container_id,
            ifname,
            netns,
            cni_args: Vec::new(),
            capability_args: Map::new(),
        }
    }

    /// `CNI_ARGS` text: `K1=V1;K2=V2`.
    pub fn cni_args_string(&self) -> String {
        self.cni_args
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// One attachment GC must keep (`cni.dev/valid-attachments` entry).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GcAttachment {
    /// The container id.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// The interface name.
    pub ifname: String,
}

/// Runs config lists' plugins and keeps their results.
#[derive(Debug)]
pub struct Invoker<E: PluginExec> {
    exec: E,
    cni_path: Vec<PathBuf>,
    cache_dir: PathBuf,
    lock_dir: PathBuf,
}

impl<E: PluginExec> Invoker<E> {
    /// An invoker that runs plugins through `exec`, tells them `cni_path` as `CNI_PATH`, keeps
    /// results under `<cache_dir>/results/` and lock files under `lock_dir`.
    pub fn new(exec: E, cni_path: Vec<PathBuf>, cache_dir: PathBuf, lock_dir: PathBuf) -> Self {
        Invoker {
            exec,
            cni_path,
            cache_dir,
            lock_dir,
        }
    }

    /// The cached attachment of `(network, container, ifname)`, if any.
    pub fn cached(
        &self,
        network: &str,
        container: &ContainerId,
        ifname: &IfName,
    ) -> Result<Option<CachedAttachment>, InvokeError> {
        cache::read(&cache::cache_path(
            &self.cache_dir,
            network,
            container.as_str(),
            ifname.as_str(),
        ))
    }

    /// Every cached attachment, or only those of `network`.
    pub fn cached_attachments(
        &self,
        network: Option<&str>,
    ) -> Result<Vec<CachedAttachment>, InvokeError> {
        cache::list(&self.cache_dir, network)
    }

    fn cni_path_string(&self) -> String {
        self.cni_path
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }
}

#[cfg(test)]
mod tests;
