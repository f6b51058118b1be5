//! The bridge plugin's config: the reference plugin's keys, parsed and validated once.

use serde::Deserialize;

use crate::cni::{CniError, PluginConfig};

/// One `vlanTrunk` entry: a single VLAN (`id`) or a range (`minID`..=`maxID`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct VlanTrunk {
    /// A single VLAN id.
    #[serde(default)]
    pub id: Option<u16>,
    /// First VLAN id of a range.
    #[serde(default, rename = "minID")]
    pub min_id: Option<u16>,
    /// Last VLAN id of a range.
    #[serde(default, rename = "maxID")]
    pub max_id: Option<u16>,
}

/// The bridge plugin's own keys, with the reference plugin's names and defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BridgeConfig {
    /// Bridge name (default `cni0`).
    #[serde(default = "default_bridge")]
    pub bridge: String,
    /// Put the gateway address on the bridge and enable forwarding.
    #[serde(default)]
    pub is_gateway: bool,
    /// Also make the gateway the container's default route (implies `isGateway`).
    #[serde(default)]
    pub is_default_gateway: bool,
    /// Replace a different address already on the bridge instead of failing.
    #[serde(default)]
    pub force_address: bool,
    /// Masquerade traffic leaving the network (needs the firewall layer).
    #[serde(default)]
    pub ip_masq: bool,
    /// berth extension: the network has no way out (no masquerade, nothing forwarded beyond
    /// its own subnets); other networks stay unreachable as always.
    #[serde(default)]
    pub internal: bool,
    /// MTU for the bridge and both veth ends.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// Hairpin mode on the host veth port.
    #[serde(default)]
    pub hairpin_mode: bool,
    /// Bridge in promiscuous mode.
    #[serde(default)]
    pub promisc_mode: bool,
    /// VLAN id (0 = none) of the container's port.
    #[serde(default)]
    pub vlan: u16,
    /// VLAN trunk on the container's port.
    #[serde(default)]
    pub vlan_trunk: Vec<VlanTrunk>,
    /// Keep VLAN 1 on the port when `vlan` is set (reference default: false).
    #[serde(default)]
    pub preserve_default_vlan: bool,
    /// MAC spoof check (needs bridge-family nftables rules).
    #[serde(default)]
    pub macspoofchk: bool,
    /// Keep IPv6 duplicate address detection on the container interface.
    #[serde(default)]
    pub enabledad: bool,
    /// Leave the container interface down (incompatible with IPAM).
    #[serde(default)]
    pub disable_container_interface: bool,
    /// Kernel bridge-port isolation for the container's port.
    #[serde(default)]
    pub port_isolation: bool,
}

fn default_bridge() -> String {
    "cni0".into()
}

impl BridgeConfig {
    /// Parses the bridge keys from `config` and refuses impossible combinations.
    pub fn parse(config: &PluginConfig) -> Result<Self, CniError> {
        let mut c: BridgeConfig = config.plugin_keys()?;
        if c.is_default_gateway {
            c.is_gateway = true;
        }
        crate::names::IfName::new(c.bridge.clone())
            .map_err(|e| CniError::invalid_config("bridge", e.to_string()))?;
        if c.hairpin_mode && c.promisc_mode {
            return Err(CniError::invalid_config(
                "hairpinMode",
                "cannot be combined with promiscMode",
            ));
        }
        if c.vlan > 4094 {
            return Err(CniError::invalid_config("vlan", "must be 0..=4094"));
        }
        for t in &c.vlan_trunk {
            t.validate()?;
        }
        if c.disable_container_interface && config.ipam_type().is_some() {
            return Err(CniError::invalid_config(
                "disableContainerInterface",
                "cannot be used with IPAM: addresses need an interface that is up",
            ));
        }
        if c.mtu.is_some_and(|m| !(68..=65535).contains(&m)) {
            return Err(CniError::invalid_config("mtu", "must be 68..=65535"));
        }
        if c.macspoofchk {
            return Err(CniError::UnsupportedField {
                field: "macspoofchk".into(),
                value: "true".into(),
                reason: "not implemented by berth's bridge plugin yet; remove it".into(),
            });
        }
        Ok(c)
    }

    /// True when the bridge needs VLAN filtering.
    pub fn vlan_filtering(&self) -> bool {
        self.vlan != 0 || !self.vlan_trunk.is_empty()
    }

    /// Every VLAN id the container's port carries tagged (the trunk).
    pub fn trunk_ids(&self) -> Vec<u16> {
        let mut ids = Vec::new();
        for t in &self.vlan_trunk {
            match (t.id, t.min_id, t.max_id) {
                (Some(id), _, _) => ids.push(id),
                (None, Some(lo), Some(hi)) => ids.extend(lo..=hi),
                _ => {}
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

impl VlanTrunk {
    fn validate(&self) -> Result<(), CniError> {
        let ok = |v: u16| (1..=4094).contains(&v);
        match (self.id, self.min_id, self.max_id) {
            (Some(id), None, None) if ok(id) => Ok(()),
            (None, Some(lo), Some(hi)) if ok(lo) && ok(hi) && lo <= hi => Ok(()),
            _ => Err(CniError::invalid_config(
                "vlanTrunk",
                "each entry needs either id or minID <= maxID, all within 1..=4094",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &str) -> Result<BridgeConfig, CniError> {
        let s = format!(r#"{{"cniVersion":"1.0.0","name":"n","type":"bridge"{extra}}}"#);
        BridgeConfig::parse(&PluginConfig::parse(s.into_bytes()).unwrap())
    }

    #[test]
    fn reference_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.bridge, "cni0");
        assert!(!c.is_gateway && !c.ip_masq && !c.vlan_filtering());
        assert!(parse(r#","isDefaultGateway":true"#).unwrap().is_gateway);
    }

    #[test]
    fn refuses_impossible_combinations() {
        for bad in [
            r#","hairpinMode":true,"promiscMode":true"#,
            r#","vlan":4095"#,
            r#","vlanTrunk":[{"minID":10,"maxID":5}]"#,
            r#","bridge":"a-name-that-is-too-long""#,
            r#","disableContainerInterface":true,"ipam":{"type":"host-local"}"#,
            r#","mtu":10"#,
        ] {
            assert_eq!(parse(bad).unwrap_err().code(), 7, "{bad}");
        }
        assert_eq!(parse(r#","macspoofchk":true"#).unwrap_err().code(), 2);
        assert!(parse(r#","ipMasq":true"#).unwrap().ip_masq);
        assert_eq!(parse(r#","vlan":"x""#).unwrap_err().code(), 6);
    }

    #[test]
    fn trunk_ids_expand_ranges() {
        let c = parse(r#","vlanTrunk":[{"id":5},{"minID":7,"maxID":9},{"id":8}]"#).unwrap();
        assert_eq!(c.trunk_ids(), vec![5, 7, 8, 9]);
    }
}
