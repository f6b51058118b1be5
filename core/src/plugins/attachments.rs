//! Whether a CNI network still has attachments, from what outlives a plugin run: host-local's
//! reservations and the result caches CNI runtimes keep. The firewall asks before it replaces
//! or removes another network's elements ([`crate::firewall::netset`]); nothing else tells a
//! plugin that a network was removed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cni::PluginConfig;
use crate::firewall::AttachmentProbe;
use crate::invoke::cache;
use crate::ipam;

/// libcni's default cache directory (results under `results/`), which podman, containerd and
/// cnitool use unless told otherwise.
pub const LIBCNI_CACHE_DIR: &str = "/var/lib/cni";

/// The host-local data directory of a plugin config, when its IPAM is host-local.
pub fn ipam_dir(config: &PluginConfig) -> Option<PathBuf> {
    if config.ipam_type() != Some("host-local") {
        return None;
    }
    let dir = config
        .raw
        .pointer("/ipam/dataDir")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());
    Some(PathBuf::from(dir.unwrap_or(ipam::DEFAULT_DATA_DIR)))
}

/// Where runtimes keep cached results: libcni's default, and berth's own beside a data
/// directory named `ipam` (the engine keeps `<root>/ipam` and `<root>/cni`).
fn cache_dirs(ipam_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(LIBCNI_CACHE_DIR)];
    if let Some(root) = ipam_dir
        .filter(|d| d.file_name().is_some_and(|n| n == "ipam"))
        .and_then(Path::parent)
    {
        dirs.push(root.join("cni"));
    }
    dirs
}

/// The real probe: host-local's store and the result caches on disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoredAttachments;

impl AttachmentProbe for StoredAttachments {
    fn has_attachments(&self, network: &str, ipam_dir: Option<&Path>) -> bool {
        if let Some(dir) = ipam_dir {
            match ipam::has_reservations(dir, network) {
                Ok(false) => {}
                Ok(true) => return true,
                Err(e) => {
                    tracing::warn!(network, error = %e, "cannot read reservations; taking them as live");
                    return true;
                }
            }
        }
        cache_dirs(ipam_dir)
            .iter()
            .any(|d| cache::list(d, Some(network)).map_or(true, |l| !l.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ipam: Value) -> PluginConfig {
        let raw = serde_json::json!({
            "cniVersion": "1.0.0", "name": "n", "type": "bridge", "ipam": ipam
        });
        PluginConfig::parse(serde_json::to_vec(&raw).unwrap()).unwrap()
    }

    #[test]
    fn ipam_dir_is_host_locals_data_dir_or_its_default() {
        let c = config(serde_json::json!({"type": "host-local", "dataDir": "/x/ipam"}));
        assert_eq!(ipam_dir(&c), Some(PathBuf::from("/x/ipam")));
        let c = config(serde_json::json!({"type": "host-local"}));
        assert_eq!(ipam_dir(&c), Some(PathBuf::from(ipam::DEFAULT_DATA_DIR)));
        let c = config(serde_json::json!({"type": "dhcp"}));
        assert_eq!(ipam_dir(&c), None);
    }

    #[test]
    fn berths_cache_is_looked_at_beside_its_ipam_dir() {
        let dirs = cache_dirs(Some(Path::new("/var/lib/berth/ipam")));
        assert_eq!(
            dirs,
            vec![
                PathBuf::from(LIBCNI_CACHE_DIR),
                PathBuf::from("/var/lib/berth/cni")
            ]
        );
        assert_eq!(
            cache_dirs(Some(Path::new("/var/lib/cni/networks"))).len(),
            1
        );
    }

    #[test]
    fn a_reservation_or_a_cached_result_is_an_attachment() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ipam");
        let probe = StoredAttachments;
        assert!(!probe.has_attachments("gone", Some(&dir)));
        // A reservation file of host-local's format: the address, holding "id\nifname".
        std::fs::create_dir_all(dir.join("live")).unwrap();
        std::fs::write(dir.join("live").join("10.1.0.2"), "c1\neth0").unwrap();
        assert!(probe.has_attachments("live", Some(&dir)));
        // A cached result in berth's cache beside the data directory.
        let results = root.path().join("cni").join("results");
        std::fs::create_dir_all(&results).unwrap();
        let entry = serde_json::json!({
            "kind": "cniCacheV1", "containerId": "c2", "config": "e30=", "ifName": "eth0",
            "networkName": "cached", "result": {}
        });
        std::fs::write(results.join("cached-c2-eth0"), entry.to_string()).unwrap();
        assert!(probe.has_attachments("cached", Some(&dir)));
        assert!(!probe.has_attachments("cache", Some(&dir)));
    }
}
