//! What `berth net create` asks for, validated, and the one place a network's conflist is
//! generated.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::NetworkError;
use super::subnet::{first_host, overlaps};

/// The CNI plugin that connects containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// A Linux bridge with one veth per container (berth's `bridge` plugin).
    Bridge,
    /// A routed point-to-point veth per container (berth's `veth` plugin).
    Veth,
    /// The host's own namespace (built-in network `host`).
    Host,
    /// Only loopback (built-in network `none`).
    Null,
    /// A network spanning hosts: VXLAN between them, a slice of the subnet per host, state in
    /// etcd (berth's `overlay` plugin, fed by the node agent).
    Overlay,
}

impl Driver {
    /// The name shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Veth => "veth",
            Driver::Host => "host",
            Driver::Null => "null",
            Driver::Overlay => "overlay",
        }
    }
}

/// One subnet with its gateway and optional allocation range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetSpec {
    /// The subnet.
    pub subnet: IpNetwork,
    /// The gateway (on the bridge / host veth).
    pub gateway: IpAddr,
    /// Containers get addresses from this part of the subnet only.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ipRange")]
    pub ip_range: Option<IpNetwork>,
}

/// A network definition, validated. Stored in the conflist under `args.berth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// The network's name.
    pub name: String,
    /// The plugin.
    pub driver: Driver,
    /// Subnets, in order.
    pub subnets: Vec<SubnetSpec>,
    /// The bridge device (bridge driver only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// Containers may not reach outside the network (enforced by the firewall layer).
    #[serde(default)]
    pub internal: bool,
    /// IPv6 is enabled.
    #[serde(default)]
    pub ipv6: bool,
    /// MTU of the bridge and veths, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// `--opt` values as given.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// `--label` values.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Unix time of creation.
    #[serde(default)]
    pub created: u64,
    /// Overlay driver only: where the node agent leaves this host's lease of the network.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "overlayStateDir"
    )]
    pub overlay_state_dir: Option<PathBuf>,
}

impl NetworkSpec {
    /// Overlay driver only: the node agent's state directory (lease and names files).
    pub fn overlay_dir(&self) -> Option<PathBuf> {
        (self.driver == Driver::Overlay).then(|| {
            self.overlay_state_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(berth_core::plugins::overlay::DEFAULT_STATE_DIR))
        })
    }
}

/// Builds the subnet list from `--subnet`s, `--gateway` and `--ip-range`, checking that the
/// gateway and range fall inside a subnet and that the subnets do not overlap each other.
pub fn subnet_specs(
    subnets: &[IpNetwork],
    gateway: Option<IpAddr>,
    ip_range: Option<IpNetwork>,
) -> Result<Vec<SubnetSpec>, NetworkError> {
    for (i, a) in subnets.iter().enumerate() {
        if let Some(b) = subnets[..i].iter().find(|b| overlaps(a, b)) {
            return Err(NetworkError::Overlap {
                subnet: *a,
                other: format!("--subnet {b}"),
            });
        }
    }
    let mut specs: Vec<SubnetSpec> = subnets
        .iter()
        .map(|s| SubnetSpec {
            subnet: *s,
            gateway: first_host(s),
            ip_range: None,
        })
        .collect();
    if let Some(gw) = gateway {
        let spec = specs
            .iter_mut()
            .find(|s| s.subnet.contains(gw))
            .ok_or(NetworkError::GatewayOutside { gateway: gw })?;
        if gw == spec.subnet.network() || is_v4_broadcast(&spec.subnet, gw) {
            return Err(NetworkError::GatewayOutside { gateway: gw });
        }
        spec.gateway = gw;
    }
    if let Some(range) = ip_range {
        let spec = specs
            .iter_mut()
            .find(|s| s.subnet.is_ipv4() == range.is_ipv4() && s.subnet.contains(range.network()))
            .filter(|s| s.subnet.prefix() <= range.prefix())
            .ok_or(NetworkError::RangeOutside { range })?;
        spec.ip_range = Some(range);
    }
    Ok(specs)
}

fn is_v4_broadcast(net: &IpNetwork, ip: IpAddr) -> bool {
    matches!(net, IpNetwork::V4(n) if IpAddr::V4(n.broadcast()) == ip)
}

/// Parses `--opt` values: `mtu` (or `com.docker.network.driver.mtu`) and `bridge` (or
/// `com.docker.network.bridge.name`); for the overlay driver `vni` and `slice` (recorded in
/// the store by the front end) instead of `mtu` (the agent sets it from the underlay) and
/// `bridge`. Unknown keys are refused.
pub fn apply_options(spec: &mut NetworkSpec) -> Result<(), NetworkError> {
    for (k, v) in &spec.options {
        let bad = |reason: &str| NetworkError::BadOption {
            key: k.clone(),
            reason: reason.to_string(),
        };
        match k.as_str() {
            "vni" | "slice" if spec.driver == Driver::Overlay => {
                v.parse::<u32>().map_err(|_| bad("must be a number"))?;
            }
            "mtu" | "com.docker.network.driver.mtu" if spec.driver == Driver::Overlay => {
                return Err(bad(
                    "an overlay network's MTU follows the underlay (minus the VXLAN overhead)",
                ));
            }
            "mtu" | "com.docker.network.driver.mtu" => {
                let mtu: u32 = v.parse().map_err(|_| bad("must be a number"))?;
                if !(68..=65535).contains(&mtu) {
                    return Err(bad("must be between 68 and 65535"));
                }
                spec.mtu = Some(mtu);
            }
            "bridge" | "com.docker.network.bridge.name" => {
                if spec.driver != Driver::Bridge {
                    return Err(bad("only the bridge driver has a bridge"));
                }
                berth_core::names::IfName::new(v.clone()).map_err(|e| bad(&e.to_string()))?;
                spec.bridge = Some(v.clone());
            }
            _ if spec.driver == Driver::Overlay => {
                return Err(bad("unknown option (known: vni, slice)"));
            }
            _ => return Err(bad("unknown option (known: mtu, bridge)")),
        }
    }
    Ok(())
}

/// The conflist of a network: the driver's plugin with host-local IPAM (leases under
/// `ipam_dir`), then `portmap` when `with_portmap`. This is the only place a conflist is
/// generated.
pub fn conflist(spec: &NetworkSpec, ipam_dir: &Path, with_portmap: bool) -> Value {
    let ranges: Vec<Value> = spec
        .subnets
        .iter()
        .map(|s| {
            let mut r = json!({"subnet": s.subnet.to_string(), "gateway": s.gateway.to_string()});
            if let Some(range) = s.ip_range {
                r["rangeStart"] = json!(first_host(&range).to_string());
                if let IpNetwork::V4(n) = range {
                    let last = u32::from(n.broadcast()).saturating_sub(1);
                    r["rangeEnd"] = json!(std::net::Ipv4Addr::from(last).to_string());
                }
            }
            json!([r])
        })
        .collect();
    let mut routes = Vec::new();
    if !spec.internal {
        if spec.subnets.iter().any(|s| s.subnet.is_ipv4()) {
            routes.push(json!({"dst": "0.0.0.0/0"}));
        }
        if spec.subnets.iter().any(|s| s.subnet.is_ipv6()) {
            routes.push(json!({"dst": "::/0"}));
        }
    }
    let ipam = json!({
        "type": "host-local",
        "dataDir": ipam_dir,
        "ranges": ranges,
        "routes": routes,
    });
    let mut main = match spec.driver {
        Driver::Bridge => json!({
            "type": "bridge",
            "bridge": spec.bridge.clone().unwrap_or_default(),
            "isGateway": true,
            "ipMasq": !spec.internal,
            "internal": spec.internal,
            "hairpinMode": true,
            "capabilities": {"ips": true, "mac": true},
            "ipam": ipam,
        }),
        Driver::Veth => json!({
            "type": "veth",
            "ipMasq": !spec.internal,
            "internal": spec.internal,
            "capabilities": {"ips": true},
            "ipam": ipam,
        }),
        Driver::Host => json!({"type": "host"}),
        Driver::Null => json!({"type": "none"}),
        Driver::Overlay => overlay_plugin(spec, ipam_dir),
    };
    if let Some(mtu) = spec.mtu {
        main["mtu"] = json!(mtu);
    }
    let mut plugins = vec![main];
    if with_portmap {
        plugins.push(json!({"type": "portmap", "capabilities": {"portMappings": true}}));
    }
    json!({
        // Old libcni (podman 4) reads cniVersion only; newer runtimes pick from cniVersions.
        "cniVersion": "1.0.0",
        "cniVersions": ["1.0.0", "1.1.0"],
        "name": spec.name,
        "plugins": plugins,
        "args": {"berth": spec},
    })
}

/// The `overlay` plugin's entry: this host's lease of the (one, IPv4) subnet comes from the
/// node agent's state directory at every ADD.
fn overlay_plugin(spec: &NetworkSpec, ipam_dir: &Path) -> Value {
    let subnet = spec.subnets.iter().find_map(|s| match s.subnet {
        IpNetwork::V4(n) => Some(n),
        IpNetwork::V6(_) => None,
    });
    let state_dir = spec.overlay_dir().unwrap_or_default();
    match subnet {
        Some(subnet) => {
            berth_core::plugins::overlay::plugin_config(&state_dir, subnet, ipam_dir, spec.internal)
        }
        None => json!({"type": "overlay", "stateDir": state_dir}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn spec(subnets: Vec<SubnetSpec>) -> NetworkSpec {
        NetworkSpec {
            name: "web".into(),
            driver: Driver::Bridge,
            subnets,
            bridge: Some("berth-web".into()),
            internal: false,
            ipv6: false,
            mtu: None,
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
            created: 0,
            overlay_state_dir: None,
        }
    }

    #[test]
    fn gateway_and_range_must_be_inside_a_subnet() {
        let s = subnet_specs(
            &[n("10.9.0.0/24")],
            Some("10.9.0.254".parse().unwrap()),
            None,
        )
        .unwrap();
        assert_eq!(s[0].gateway.to_string(), "10.9.0.254");
        let e = subnet_specs(&[n("10.9.0.0/24")], Some("10.8.0.1".parse().unwrap()), None);
        assert!(matches!(e, Err(NetworkError::GatewayOutside { .. })));
        let e = subnet_specs(
            &[n("10.9.0.0/24")],
            Some("10.9.0.255".parse().unwrap()),
            None,
        );
        assert!(matches!(e, Err(NetworkError::GatewayOutside { .. })));
        let e = subnet_specs(&[n("10.9.0.0/24")], None, Some(n("10.9.0.0/16")));
        assert!(matches!(e, Err(NetworkError::RangeOutside { .. })));
        let e = subnet_specs(&[n("10.9.0.0/16"), n("10.9.3.0/24")], None, None);
        assert!(matches!(e, Err(NetworkError::Overlap { .. })));
    }

    #[test]
    fn conflist_has_bridge_host_local_and_optional_portmap() {
        let subs = subnet_specs(&[n("10.9.0.0/24")], None, Some(n("10.9.0.128/25"))).unwrap();
        let c = conflist(&spec(subs), Path::new("/var/lib/berth/ipam"), true);
        let bridge = &c["plugins"][0];
        assert_eq!(bridge["type"], "bridge");
        assert_eq!(bridge["bridge"], "berth-web");
        assert_eq!(bridge["isGateway"], true);
        assert_eq!(bridge["ipMasq"], true);
        assert_eq!(bridge["ipam"]["dataDir"], "/var/lib/berth/ipam");
        let r = &bridge["ipam"]["ranges"][0][0];
        assert_eq!(r["subnet"], "10.9.0.0/24");
        assert_eq!(r["gateway"], "10.9.0.1");
        assert_eq!(r["rangeStart"], "10.9.0.129");
        assert_eq!(r["rangeEnd"], "10.9.0.254");
        assert_eq!(c["plugins"][1]["capabilities"]["portMappings"], true);
        let back: NetworkSpec = serde_json::from_value(c["args"]["berth"].clone()).unwrap();
        assert_eq!(back.subnets[0].subnet, n("10.9.0.0/24"));
        let bytes = serde_json::to_vec(&c).unwrap();
        let list = berth_core::invoke::NetworkList::parse(bytes).unwrap();
        assert_eq!(list.version, berth_core::cni::Version::V1_1_0);
        let without = conflist(&spec(vec![]), Path::new("/x"), false);
        assert_eq!(without["plugins"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn options_are_checked() {
        let mut s = spec(vec![]);
        s.options.insert("mtu".into(), "1400".into());
        apply_options(&mut s).unwrap();
        assert_eq!(s.mtu, Some(1400));
        s.options.insert("colour".into(), "blue".into());
        assert!(matches!(
            apply_options(&mut s),
            Err(NetworkError::BadOption { .. })
        ));
    }
}
