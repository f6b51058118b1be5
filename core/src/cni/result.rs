//! CNI results: one model (the 1.1.0 shape) and its encodings for every version berth speaks.
//!
//! Plugins build a [`CniResult`]; [`CniResult::to_json`] writes it for the config's version, and
//! [`CniResult::from_json`] reads a result (a `prevResult` or a delegated IPAM's output) of any
//! version. Converting between versions is decode-then-encode.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::CniError;
use super::version::Version;

/// An interface in a result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// MAC address, `aa:bb:cc:dd:ee:ff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// MTU (1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The netns path for container-side interfaces; absent for host interfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// vhost-user socket path (1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_path: Option<String>,
    /// PCI address (1.1.0).
    #[serde(default, rename = "pciID", skip_serializing_if = "Option::is_none")]
    pub pci_id: Option<String>,
}

/// An address in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// The address with its prefix length, e.g. `10.88.0.5/16`.
    pub address: IpNetwork,
    /// The gateway for this address, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Index into the result's `interfaces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

/// A route in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Destination network.
    pub dst: IpNetwork,
    /// Next hop; when absent, the address's gateway applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
    /// Route MTU (1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// TCP advertised MSS (1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advmss: Option<u32>,
    /// Route priority / metric (1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Routing table (1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Route scope: 0 universe, 253 link, 254 host (1.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u8>,
}

impl Route {
    /// A route to `dst` via `gw` with no 1.1.0 extras.
    pub fn new(dst: IpNetwork, gw: Option<IpAddr>) -> Self {
        Route {
            dst,
            gw,
            mtu: None,
            advmss: None,
            priority: None,
            table: None,
            scope: None,
        }
    }
}

/// DNS settings in a config or result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Name servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// Local domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    /// resolv.conf options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Dns {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.nameservers.is_empty()
            && self.domain.is_none()
            && self.search.is_empty()
            && self.options.is_empty()
    }
}

/// The result of ADD, in berth's version-independent model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniResult {
    /// Interfaces created or used.
    pub interfaces: Vec<Interface>,
    /// Addresses assigned.
    pub ips: Vec<IpConfig>,
    /// Routes installed.
    pub routes: Vec<Route>,
    /// DNS settings.
    pub dns: Dns,
}

/// The wire shape shared by every version (extra fields are dropped or added per version).
#[derive(Deserialize)]
struct WireResult {
    #[serde(default)]
    interfaces: Vec<Interface>,
    #[serde(default)]
    ips: Vec<IpConfig>,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    dns: Option<Dns>,
}

impl CniResult {
    /// Reads a result of any supported version (the `cniVersion` key, if present, must be one).
    pub fn from_json(value: &Value) -> Result<Self, CniError> {
        if let Some(v) = value.get("cniVersion").and_then(Value::as_str) {
            v.parse::<Version>()?;
        }
        let wire: WireResult =
            serde_json::from_value(value.clone()).map_err(|source| CniError::Decode {
                what: "result",
                source,
            })?;
        Ok(CniResult {
            interfaces: wire.interfaces,
            ips: wire.ips,
            routes: wire.routes,
            dns: wire.dns.unwrap_or_default(),
        })
    }

    /// Writes the result as `version` has it: 1.1.0 keeps everything; 1.0.0 and older drop
    /// the 1.1.0 interface and route fields; before 1.0.0 each IP also gets `version`.
    pub fn to_json(&self, version: Version) -> Value {
        let mut out = Map::new();
        out.insert("cniVersion".into(), Value::from(version.as_str()));
        let mut interfaces = self.interfaces.clone();
        let mut routes = self.routes.clone();
        if version < Version::V1_1_0 {
            for i in &mut interfaces {
                i.mtu = None;
                i.socket_path = None;
                i.pci_id = None;
            }
            for r in &mut routes {
                *r = Route::new(r.dst, r.gw);
            }
        }
        if !interfaces.is_empty() {
            out.insert("interfaces".into(), to_value(&interfaces));
        }
        if !self.ips.is_empty() {
            let ips = self.ips.iter().map(|ip| ip_json(ip, version)).collect();
            out.insert("ips".into(), Value::Array(ips));
        }
        if !routes.is_empty() {
            out.insert("routes".into(), to_value(&routes));
        }
        out.insert("dns".into(), to_value(&self.dns));
        Value::Object(out)
    }

    /// Converts a result of any version to `version` (decode, then encode).
    pub fn convert(value: &Value, version: Version) -> Result<Value, CniError> {
        Ok(Self::from_json(value)?.to_json(version))
    }
}

fn ip_json(ip: &IpConfig, version: Version) -> Value {
    let mut v = to_value(ip);
    if version.has_ip_version_field() {
        if let Value::Object(map) = &mut v {
            let fam = if ip.address.is_ipv4() { "4" } else { "6" };
            map.insert("version".into(), Value::from(fam));
        }
    }
    v
}

fn to_value<T: Serialize>(t: &T) -> Value {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no custom
    // serializers that error.
    serde_json::to_value(t).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> CniResult {
        CniResult {
            interfaces: vec![Interface {
                name: "eth0".into(),
                mac: Some("aa:bb:cc:dd:ee:ff".into()),
                mtu: Some(1500),
                sandbox: Some("/run/netns/x".into()),
                ..Default::default()
            }],
            ips: vec![IpConfig {
                address: "10.1.0.5/24".parse().unwrap(),
                gateway: Some("10.1.0.1".parse().unwrap()),
                interface: Some(0),
            }],
            routes: vec![Route {
                priority: Some(10),
                ..Route::new("0.0.0.0/0".parse().unwrap(), None)
            }],
            dns: Dns::default(),
        }
    }

    #[test]
    fn v110_keeps_everything() {
        let v = sample().to_json(Version::V1_1_0);
        assert_eq!(v["interfaces"][0]["mtu"], 1500);
        assert_eq!(v["routes"][0]["priority"], 10);
        assert!(v["ips"][0].get("version").is_none());
        assert_eq!(CniResult::from_json(&v).unwrap(), sample());
    }

    #[test]
    fn v100_drops_11_fields() {
        let v = sample().to_json(Version::V1_0_0);
        assert_eq!(v["cniVersion"], "1.0.0");
        assert!(v["interfaces"][0].get("mtu").is_none());
        assert!(v["routes"][0].get("priority").is_none());
        assert!(v["ips"][0].get("version").is_none());
    }

    #[test]
    fn v040_and_v031_add_ip_version() {
        for ver in [Version::V0_4_0, Version::V0_3_1] {
            let v = sample().to_json(ver);
            assert_eq!(v["ips"][0]["version"], "4");
            assert_eq!(v["ips"][0]["address"], "10.1.0.5/24");
        }
    }

    #[test]
    fn reads_040_result_and_converts_to_100() {
        let old = json!({
            "cniVersion": "0.4.0",
            "interfaces": [{"name": "eth0", "sandbox": "/x"}],
            "ips": [{"version": "6", "address": "fd00::5/64", "interface": 0}],
            "dns": {}
        });
        let new = CniResult::convert(&old, Version::V1_0_0).unwrap();
        assert_eq!(new["cniVersion"], "1.0.0");
        assert_eq!(new["ips"][0]["address"], "fd00::5/64");
        assert!(new["ips"][0].get("version").is_none());
    }

    #[test]
    fn refuses_bad_address_and_unknown_version() {
        let bad = json!({"cniVersion": "1.0.0", "ips": [{"address": "nope"}]});
        assert_eq!(CniResult::from_json(&bad).unwrap_err().code(), 6);
        let unknown = json!({"cniVersion": "7.0.0"});
        assert_eq!(CniResult::from_json(&unknown).unwrap_err().code(), 1);
    }
}
