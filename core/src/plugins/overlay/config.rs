//! The overlay plugin's config and the bridge config it hands its work to.
//!
//! The plugin's own keys: `stateDir` (where the node agent keeps this host's leases,
//! [`super::lease::DEFAULT_STATE_DIR`] by default), `subnet` (the network's whole subnet, to
//! check the lease against), and an optional `ipam` section whose `type` and `dataDir` are
//! kept (its ranges are always this host's slice). Everything else a runtime
//! passes (`runtimeConfig`, `args`, `prevResult`, `capabilities`, `dns`) goes to the bridge
//! unchanged.

use std::path::PathBuf;

use ipnetwork::Ipv4Network;
use serde::Deserialize;
use serde_json::{Value, json};

use super::lease::{DEFAULT_STATE_DIR, HostLease};
use crate::cni::{CniError, PluginConfig};

/// The overlay plugin's own keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverlayConfig {
    /// Where the node agent writes this host's leases.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// The network's whole subnet, when the runtime knows it.
    #[serde(default)]
    pub subnet: Option<Ipv4Network>,
}

fn default_state_dir() -> PathBuf {
    PathBuf::from(DEFAULT_STATE_DIR)
}

impl OverlayConfig {
    /// Parses the plugin's keys.
    pub fn parse(config: &PluginConfig) -> Result<Self, CniError> {
        config.plugin_keys()
    }

    /// Checks that `lease` belongs to this config's network.
    pub fn check_lease(&self, lease: &HostLease) -> Result<(), CniError> {
        match self.subnet {
            Some(s) if s != lease.subnet => Err(CniError::invalid_config(
                "subnet",
                format!(
                    "network is {s} but this host's lease is a slice of {}",
                    lease.subnet
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The keys a runtime may pass that the bridge must see as they are.
const PASSED_THROUGH: [&str; 7] = [
    "cniVersion",
    "name",
    "runtimeConfig",
    "args",
    "prevResult",
    "capabilities",
    "dns",
];

/// The bridge plugin's config for this host's slice: its bridge, MTU and gateway, host-local
/// addresses from the slice only, a default route through the slice's gateway. The bridge
/// masquerades nothing: the agent's firewall of the network covers the whole subnet, so
/// traffic between hosts keeps its source.
pub fn bridge_config(raw: &Value, lease: &HostLease) -> Value {
    let mut out = serde_json::Map::new();
    for key in PASSED_THROUGH {
        if let Some(v) = raw.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    let mut ipam = json!({"type": "host-local"});
    if let Some(given) = raw.get("ipam").and_then(Value::as_object) {
        for key in ["type", "dataDir"] {
            if let Some(v) = given.get(key) {
                ipam[key] = v.clone();
            }
        }
    }
    ipam["ranges"] = json!([[{
        "subnet": lease.slice.to_string(),
        "gateway": lease.gateway().to_string(),
    }]]);
    ipam["routes"] = json!([{"dst": "0.0.0.0/0"}]);
    out.insert("type".into(), json!("bridge"));
    out.insert("bridge".into(), json!(lease.bridge));
    out.insert("isGateway".into(), json!(true));
    out.insert("ipMasq".into(), json!(false));
    out.insert("hairpinMode".into(), json!(true));
    out.insert("mtu".into(), json!(lease.mtu));
    out.insert("ipam".into(), ipam);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease() -> HostLease {
        let mut l = super::super::lease::sample();
        l.slice = "10.100.7.0/24".parse().unwrap();
        l
    }

    fn cfg(v: Value) -> OverlayConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_bridge_gets_the_slice_the_mtu_and_what_the_runtime_passed() {
        let raw = json!({
            "cniVersion": "1.0.0", "name": "ov", "type": "overlay",
            "runtimeConfig": {"portMappings": []},
            "ipam": {"type": "host-local", "dataDir": "/x/ipam", "ranges": [[{"subnet": "1.2.3.0/24"}]]},
            "stateDir": "/x/state",
        });
        let b = bridge_config(&raw, &lease());
        assert_eq!(b["type"], "bridge");
        assert_eq!(b["bridge"], "bov-42");
        assert_eq!(b["mtu"], 1450);
        assert_eq!(b["ipMasq"], false);
        assert_eq!(b["isGateway"], true);
        assert_eq!(b["runtimeConfig"], raw["runtimeConfig"]);
        assert_eq!(b["ipam"]["dataDir"], "/x/ipam");
        assert_eq!(
            b["ipam"]["ranges"],
            json!([[{"subnet": "10.100.7.0/24", "gateway": "10.100.7.1"}]])
        );
        assert_eq!(b["ipam"]["routes"], json!([{"dst": "0.0.0.0/0"}]));
        assert!(b.get("stateDir").is_none());
    }

    #[test]
    fn a_lease_of_another_subnet_is_refused() {
        let c = cfg(json!({"subnet": "10.200.0.0/16"}));
        let e = c.check_lease(&lease()).unwrap_err();
        assert!(e.to_string().contains("10.200.0.0/16"), "{e}");
        assert!(cfg(json!({})).check_lease(&lease()).is_ok());
        assert_eq!(cfg(json!({})).state_dir, PathBuf::from(DEFAULT_STATE_DIR));
    }
}
