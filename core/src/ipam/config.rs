//! The host-local config: the `ipam` object of a CNI network config, the `ipRanges` capability
//! and the requested addresses, parsed and validated into a [`HostLocalConfig`].
//!
//! Everything is checked here, once; the allocator and the store trust what they get. Reading
//! CNI_ARGS from the environment and the network config from stdin is the plugin skeleton's job.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::IpamError;
use super::range::{Range, RangeSet, from_u128, to_u128};

/// Where reservations live when `dataDir` is not set (the reference plugin's default).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/networks";

/// One range as written in the config; strings are parsed during validation so that errors
/// name the field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeConfig {
    /// The subnet in CIDR form, e.g. `10.88.0.0/16`; host bits must be zero.
    #[serde(default)]
    pub subnet: String,
    /// First allocatable address; defaults to network+1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_start: Option<String>,
    /// Last allocatable address; defaults to the last usable one (IPv4: broadcast-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end: Option<String>,
    /// The gateway; defaults to network+1 and is never allocated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// A route handed back with every allocation (`ip route add <dst> via <gw>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteConfig {
    /// Destination in CIDR form.
    #[serde(with = "cidr_text")]
    pub dst: IpNetwork,
    /// Next hop; when absent the consumer uses the address's gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
}

/// The `ipam` object exactly as the reference host-local plugin reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpamConfigJson {
    /// `ranges`: a list of range sets; one address is allocated per set.
    #[serde(default)]
    pub ranges: Vec<Vec<RangeConfig>>,
    /// Legacy top-level `subnet`; with the three fields below it becomes the first range set.
    #[serde(default)]
    pub subnet: Option<String>,
    /// Legacy top-level `rangeStart`.
    #[serde(default)]
    pub range_start: Option<String>,
    /// Legacy top-level `rangeEnd`.
    #[serde(default)]
    pub range_end: Option<String>,
    /// Legacy top-level `gateway`.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Routes copied into every result.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Directory that holds one subdirectory of reservations per network.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// A resolv.conf-style file whose contents become the result's `dns`.
    #[serde(default)]
    pub resolv_conf: Option<PathBuf>,
}

/// A validated host-local config, ready for `ipam::allocate` and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLocalConfig {
    /// The range sets; never empty, no two ranges overlap.
    pub range_sets: Vec<RangeSet>,
    /// Routes copied into every result.
    pub routes: Vec<RouteConfig>,
    /// Reservations live in `<data_dir>/<network>/`.
    pub data_dir: PathBuf,
    /// resolv.conf-style file read on every ADD, if set.
    pub resolv_conf: Option<PathBuf>,
}

impl HostLocalConfig {
    /// Validates `ipam`; `ip_ranges` (the `ipRanges` capability), when non-empty, replaces the
    /// configured ranges, as in the reference plugin.
    pub fn new(
        ipam: IpamConfigJson,
        ip_ranges: Option<Vec<Vec<RangeConfig>>>,
    ) -> Result<Self, IpamError> {
        let mut sets: Vec<(String, Vec<RangeConfig>)> = Vec::new();
        match ip_ranges.filter(|r| !r.is_empty()) {
            Some(cap) => sets.extend(labelled("runtimeConfig.ipRanges", cap)),
            None => {
                if let Some(subnet) = ipam.subnet {
                    let legacy = RangeConfig {
                        subnet,
                        range_start: ipam.range_start,
                        range_end: ipam.range_end,
                        gateway: ipam.gateway,
                    };
                    sets.push(("ipam".to_owned(), vec![legacy]));
                }
                sets.extend(labelled("ranges", ipam.ranges));
            }
        }
        Ok(Self {
            range_sets: validate_sets(&sets)?,
            routes: ipam.routes,
            data_dir: ipam
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            resolv_conf: ipam.resolv_conf,
        })
    }

    /// Reads the `ipam` object and `runtimeConfig.ipRanges` of a whole network config.
    pub fn from_net_config(net: &Value) -> Result<Self, IpamError> {
        let ipam = net.get("ipam").ok_or_else(|| {
            IpamError::invalid("ipam", "missing: host-local needs an ipam object")
        })?;
        let ipam: IpamConfigJson = serde_json::from_value(ipam.clone())
            .map_err(|source| IpamError::ParseConfig { source })?;
        let ip_ranges = match net.pointer("/runtimeConfig/ipRanges") {
            Some(v) if !v.is_null() => Some(
                serde_json::from_value(v.clone())
                    .map_err(|source| IpamError::ParseConfig { source })?,
            ),
            _ => None,
        };
        Self::new(ipam, ip_ranges)
    }
}

/// The addresses a runtime asks for: CNI_ARGS `IP=` (comma-separated), `args.cni.ips` and
/// `runtimeConfig.ips`, in that order without duplicates. Entries may carry a prefix
/// (`10.0.0.5/24`); only the address counts.
pub fn requested_ips(net: &Value, cni_args: Option<&str>) -> Result<Vec<IpAddr>, IpamError> {
    let mut out: Vec<IpAddr> = Vec::new();
    let mut push = |ip: IpAddr| {
        if !out.contains(&ip) {
            out.push(ip);
        }
    };
    for pair in cni_args.unwrap_or("").split(';') {
        if let Some(list) = pair.trim().strip_prefix("IP=") {
            for s in list.split(',').filter(|s| !s.is_empty()) {
                push(parse_requested_ip(s, "CNI_ARGS IP")?);
            }
        }
    }
    for pointer in ["/args/cni/ips", "/runtimeConfig/ips"] {
        let Some(list) = net.pointer(pointer).and_then(Value::as_array) else {
            continue;
        };
        let location = pointer[1..].replace('/', ".");
        for (i, v) in list.iter().enumerate() {
            let loc = format!("{location}[{i}]");
            let s = v
                .as_str()
                .ok_or_else(|| IpamError::invalid(&loc, "must be a string like \"10.0.0.5\""))?;
            push(parse_requested_ip(s, &loc)?);
        }
    }
    Ok(out)
}

/// Parses `10.0.0.5` or `10.0.0.5/24` into the address.
pub fn parse_requested_ip(s: &str, location: &str) -> Result<IpAddr, IpamError> {
    let text = s.trim();
    let addr = text.split_once('/').map_or(text, |(ip, _)| ip);
    IpAddr::from_str(addr).map_err(|_| {
        IpamError::invalid(
            location,
            format!("{s:?} is not an IP address such as 10.0.0.5 or fd00::5"),
        )
    })
}

fn labelled(prefix: &str, sets: Vec<Vec<RangeConfig>>) -> Vec<(String, Vec<RangeConfig>)> {
    sets.into_iter()
        .enumerate()
        .map(|(i, set)| (format!("{prefix}[{i}]"), set))
        .collect()
}

/// Validates every set, then checks that no two ranges anywhere overlap.
fn validate_sets(sets: &[(String, Vec<RangeConfig>)]) -> Result<Vec<RangeSet>, IpamError> {
    if sets.is_empty() {
        return Err(IpamError::invalid(
            "ipam.ranges",
            "no ranges configured: set ranges (or subnet) to at least one range",
        ));
    }
    let mut out: Vec<RangeSet> = Vec::with_capacity(sets.len());
    for (label, set) in sets {
        let set = validate_set(label, set)?;
        for (other_idx, other) in out.iter().enumerate() {
            if let Some((a, b)) = first_overlap(&set, other) {
                return Err(IpamError::invalid(
                    label,
                    format!(
                        "range {a} overlaps range {b} of range set {other_idx}: make them disjoint"
                    ),
                ));
            }
        }
        out.push(set);
    }
    Ok(out)
}

fn validate_set(label: &str, set: &[RangeConfig]) -> Result<RangeSet, IpamError> {
    if set.is_empty() {
        return Err(IpamError::invalid(
            label,
            "range set is empty: give it at least one range",
        ));
    }
    let mut ranges: Vec<Range> = Vec::with_capacity(set.len());
    for (j, rc) in set.iter().enumerate() {
        let loc = if label == "ipam" {
            label.to_owned()
        } else {
            format!("{label}[{j}]")
        };
        let range = validate_range(&loc, rc)?;
        if let Some(first) = ranges.first() {
            if first.subnet.is_ipv4() != range.subnet.is_ipv4() {
                return Err(IpamError::invalid(
                    &loc,
                    "range set mixes IPv4 and IPv6: put each family in its own range set",
                ));
            }
        }
        if let Some(other) = ranges.iter().find(|r| r.overlaps(&range)) {
            return Err(IpamError::invalid(
                &loc,
                format!("range {range} overlaps range {other} in the same set: make them disjoint"),
            ));
        }
        ranges.push(range);
    }
    Ok(RangeSet { ranges })
}

fn first_overlap<'a>(a: &'a RangeSet, b: &'a RangeSet) -> Option<(&'a Range, &'a Range)> {
    a.ranges.iter().find_map(|ra| {
        b.ranges
            .iter()
            .find(|rb| ra.overlaps(rb))
            .map(|rb| (ra, rb))
    })
}

/// Parses one range, fills in the defaults and checks every address against the subnet.
fn validate_range(loc: &str, rc: &RangeConfig) -> Result<Range, IpamError> {
    let subnet = parse_subnet(&format!("{loc}.subnet"), &rc.subnet)?;
    let network = to_u128(subnet.network());
    let last_usable = if subnet.is_ipv4() {
        to_u128(subnet.broadcast()) - 1
    } else {
        to_u128(subnet.broadcast())
    };
    let first_usable = from_u128(network + 1, subnet.ip());
    let last_usable = from_u128(last_usable, subnet.ip());
    let usable = (first_usable, last_usable);
    let start = parse_in_subnet(loc, "rangeStart", rc.range_start.as_deref(), subnet, usable)?
        .unwrap_or(first_usable);
    let end = parse_in_subnet(loc, "rangeEnd", rc.range_end.as_deref(), subnet, usable)?
        .unwrap_or(last_usable);
    let gateway = parse_in_subnet(loc, "gateway", rc.gateway.as_deref(), subnet, usable)?
        .unwrap_or(first_usable);
    if to_u128(start) > to_u128(end) {
        return Err(IpamError::invalid(
            format!("{loc}.rangeStart"),
            format!("rangeStart {start} is after rangeEnd {end}: swap them"),
        ));
    }
    Ok(Range {
        subnet,
        range_start: start,
        range_end: end,
        gateway,
    })
}

fn parse_subnet(loc: &str, text: &str) -> Result<IpNetwork, IpamError> {
    let subnet = IpNetwork::from_str(text.trim()).map_err(|_| {
        IpamError::invalid(
            loc,
            format!("{text:?} is not a subnet such as 10.88.0.0/16"),
        )
    })?;
    if subnet.ip() != subnet.network() {
        return Err(IpamError::invalid(
            loc,
            format!(
                "{subnet} has host bits set: use {}/{}",
                subnet.network(),
                subnet.prefix()
            ),
        ));
    }
    let max_prefix = if subnet.is_ipv4() { 30 } else { 126 };
    if subnet.prefix() > max_prefix {
        return Err(IpamError::invalid(
            loc,
            format!("network {subnet} is too small to allocate from: use /{max_prefix} or larger"),
        ));
    }
    Ok(subnet)
}

/// Parses an optional address field that must be a usable address of `subnet`.
fn parse_in_subnet(
    loc: &str,
    field: &str,
    text: Option<&str>,
    subnet: IpNetwork,
    (first, last): (IpAddr, IpAddr),
) -> Result<Option<IpAddr>, IpamError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let loc = format!("{loc}.{field}");
    let ip = IpAddr::from_str(text.trim())
        .map_err(|_| IpamError::invalid(&loc, format!("{text:?} is not an IP address")))?;
    if ip.is_ipv4() != subnet.is_ipv4() || !subnet.contains(ip) {
        return Err(IpamError::invalid(
            &loc,
            format!("{field} {ip} is outside subnet {subnet}: pick an address inside it"),
        ));
    }
    if !(to_u128(first)..=to_u128(last)).contains(&to_u128(ip)) {
        return Err(IpamError::invalid(
            &loc,
            format!("{field} {ip} is not usable in {subnet}: use {first}-{last}"),
        ));
    }
    Ok(Some(ip))
}

/// serde for an [`IpNetwork`] written as CIDR text (ipnetwork's own serde is not enabled).
mod cidr_text {
    use std::str::FromStr;

    use ipnetwork::IpNetwork;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(net: &IpNetwork, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(net)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IpNetwork, D::Error> {
        let text = String::deserialize(d)?;
        IpNetwork::from_str(&text)
            .map_err(|_| D::Error::custom(format!("{text:?} is not a CIDR such as 10.0.0.0/8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(ipam: Value) -> Result<HostLocalConfig, IpamError> {
        HostLocalConfig::from_net_config(&json!({ "ipam": ipam }))
    }

    fn err_text(ipam: Value) -> String {
        parse(ipam).unwrap_err().to_string()
    }

    #[test]
    fn defaults_follow_the_reference() {
        let cfg =
            parse(json!({"ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "fd00::/64"}]]}))
                .unwrap();
        let v4 = &cfg.range_sets[0].ranges[0];
        assert_eq!(v4.range_start.to_string(), "10.0.0.1");
        assert_eq!(v4.range_end.to_string(), "10.0.0.254");
        assert_eq!(v4.gateway.to_string(), "10.0.0.1");
        let v6 = &cfg.range_sets[1].ranges[0];
        assert_eq!(v6.range_start.to_string(), "fd00::1");
        assert_eq!(v6.range_end.to_string(), "fd00::ffff:ffff:ffff:ffff");
        assert_eq!(v6.gateway.to_string(), "fd00::1");
        assert_eq!(cfg.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert!(cfg.routes.is_empty());
    }

    #[test]
    fn explicit_fields_routes_and_data_dir_are_kept() {
        let cfg = parse(json!({
            "type": "host-local",
            "ranges": [[{"subnet": "10.1.0.0/16", "rangeStart": "10.1.0.10",
                         "rangeEnd": "10.1.0.20", "gateway": "10.1.0.254"}]],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "10.1.0.1"}],
            "dataDir": "/tmp/x", "resolvConf": "/etc/resolv.conf"
        }))
        .unwrap();
        let r = &cfg.range_sets[0].ranges[0];
        assert_eq!(
            (r.range_start.to_string(), r.range_end.to_string()),
            ("10.1.0.10".into(), "10.1.0.20".into())
        );
        assert_eq!(r.gateway.to_string(), "10.1.0.254");
        assert_eq!(cfg.routes.len(), 2);
        assert_eq!(cfg.routes[1].gw, Some("10.1.0.1".parse().unwrap()));
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(cfg.resolv_conf, Some(PathBuf::from("/etc/resolv.conf")));
    }

    #[test]
    fn legacy_subnet_becomes_the_first_range_set() {
        let cfg = parse(json!({"subnet": "10.2.0.0/24", "rangeStart": "10.2.0.100",
                               "ranges": [[{"subnet": "fd00::/64"}]]}))
        .unwrap();
        assert_eq!(cfg.range_sets.len(), 2);
        assert_eq!(
            cfg.range_sets[0].ranges[0].range_start.to_string(),
            "10.2.0.100"
        );
        assert!(cfg.range_sets[1].ranges[0].subnet.is_ipv6());
    }

    #[test]
    fn ip_ranges_capability_replaces_configured_ranges() {
        let net = json!({
            "ipam": {"ranges": [[{"subnet": "10.0.0.0/24"}]]},
            "runtimeConfig": {"ipRanges": [[{"subnet": "10.9.0.0/24"}]]}
        });
        let cfg = HostLocalConfig::from_net_config(&net).unwrap();
        assert_eq!(cfg.range_sets.len(), 1);
        assert_eq!(
            cfg.range_sets[0].ranges[0].subnet.to_string(),
            "10.9.0.0/24"
        );
    }

    #[test]
    fn invalid_ranges_are_refused_with_the_field_to_fix() {
        let cases = [
            (
                json!({"ranges": [[{"subnet": "10.0.0.5/24"}]]}),
                "host bits set: use 10.0.0.0/24",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/31"}]]}),
                "too small",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/32"}]]}),
                "too small",
            ),
            (json!({"ranges": [[{"subnet": "fd00::/127"}]]}), "too small"),
            (
                json!({"ranges": [[{"subnet": "nope"}]]}),
                "ranges[0][0].subnet",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24", "rangeStart": "10.0.1.5"}]]}),
                "ranges[0][0].rangeStart: rangeStart 10.0.1.5 is outside subnet",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24", "rangeEnd": "10.0.0.255"}]]}),
                "rangeEnd 10.0.0.255 is not usable",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24", "gateway": "10.0.9.1"}]]}),
                "ranges[0][0].gateway: gateway 10.0.9.1 is outside subnet",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24", "rangeStart": "fd00::1"}]]}),
                "outside subnet",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.9",
                                 "rangeEnd": "10.0.0.3"}]]}),
                "is after rangeEnd",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24"}, {"subnet": "10.0.0.0/25"}]]}),
                "ranges[0][1]: range 10.0.0.0/25",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "10.0.0.128/25"}]]}),
                "ranges[1]: range 10.0.0.128/25 (10.0.0.129-10.0.0.254) overlaps range 10.0.0.0/24",
            ),
            (
                json!({"ranges": [[{"subnet": "10.0.0.0/24"}, {"subnet": "fd00::/64"}]]}),
                "mixes IPv4 and IPv6",
            ),
            (json!({"ranges": []}), "no ranges configured"),
            (json!({"ranges": [[]]}), "range set is empty"),
            (
                json!({"subnet": "10.0.0.0/30", "gateway": "10.0.0.3"}),
                "ipam.gateway",
            ),
        ];
        for (ipam, want) in cases {
            let text = err_text(ipam.clone());
            assert!(text.contains(want), "{ipam}: got {text:?}, want {want:?}");
        }
    }

    #[test]
    fn config_errors_are_invalid_config_or_parse_config() {
        assert!(matches!(
            parse(json!({"ranges": [[{"subnet": "10.0.0.0/32"}]]})),
            Err(IpamError::InvalidConfig { .. })
        ));
        assert!(matches!(
            parse(json!({"ranges": "10.0.0.0/24"})),
            Err(IpamError::ParseConfig { .. })
        ));
        assert!(matches!(
            HostLocalConfig::from_net_config(&json!({"type": "bridge"})),
            Err(IpamError::InvalidConfig { .. })
        ));
    }

    #[test]
    fn requested_ips_merge_cni_args_args_and_runtime_config() {
        let net = json!({
            "args": {"cni": {"ips": ["10.0.0.7/24", "10.0.0.5"]}},
            "runtimeConfig": {"ips": ["fd00::5/64"]}
        });
        let ips = requested_ips(
            &net,
            Some("IgnoreUnknown=1;IP=10.0.0.5,10.0.0.6;K8S_POD_NAME=x"),
        )
        .unwrap();
        let text: Vec<String> = ips.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["10.0.0.5", "10.0.0.6", "10.0.0.7", "fd00::5"]);
        let err = requested_ips(&json!({"runtimeConfig": {"ips": ["bogus"]}}), None).unwrap_err();
        assert!(err.to_string().contains("runtimeConfig.ips[0]"), "{err}");
    }
}
