//! The bodies of `POST /networks/create`, `/networks/{id}/connect` and `/disconnect`, and the
//! translation of a create body to the engine's [`CreateRequest`]. Settings berth cannot
//! honour (another IPAM driver, per-subnet gateways, swarm scope) are refused with a 400.

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_engine::network::{CreateRequest, Driver};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

/// `POST /networks/create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    /// The name.
    pub name: String,
    driver: String,
    scope: String,
    internal: bool,
    /// Taken and ignored, as dockerd does for a local network.
    #[allow(dead_code)]
    attachable: bool,
    ingress: bool,
    config_only: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: Option<bool>,
    #[serde(rename = "IPAM")]
    ipam: Option<Ipam>,
    options: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// `IPAM` of a create body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Ipam {
    driver: String,
    config: Option<Vec<IpamConfig>>,
    options: Option<BTreeMap<String, String>>,
}

/// One `IPAM.Config` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfig {
    subnet: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
    gateway: String,
    auxiliary_addresses: Option<BTreeMap<String, String>>,
}

/// The engine's request for a create body.
pub fn create_request(b: CreateBody) -> ApiResult<CreateRequest> {
    let driver = match b.driver.as_str() {
        "" | "bridge" => Driver::Bridge,
        "veth" => Driver::Veth,
        d => {
            return Err(ApiError::bad_request(format!(
                "network driver {d:?} is not supported by berth (bridge, veth)"
            )));
        }
    };
    // `Attachable` only means something for swarm networks; dockerd takes it on a local one
    // (docker-compose always sends it).
    if !matches!(b.scope.as_str(), "" | "local") || b.ingress || b.config_only {
        return Err(ApiError::bad_request(
            "swarm networks (scope, ingress, config-only) are not supported by berth",
        ));
    }
    if b.name.is_empty() {
        return Err(ApiError::bad_request("network name is missing"));
    }
    let ipam = b.ipam.unwrap_or_default();
    if !matches!(ipam.driver.as_str(), "" | "default") {
        return Err(ApiError::bad_request(format!(
            "IPAM driver {:?} is not supported by berth (default only)",
            ipam.driver
        )));
    }
    if ipam.options.as_ref().is_some_and(|o| !o.is_empty()) {
        return Err(ApiError::bad_request(
            "IPAM options are not supported by berth",
        ));
    }
    let configs = ipam.config.unwrap_or_default();
    if configs.iter().any(|c| {
        c.auxiliary_addresses
            .as_ref()
            .is_some_and(|a| !a.is_empty())
    }) {
        return Err(ApiError::bad_request(
            "auxiliary addresses (--aux-address) are not supported by berth",
        ));
    }
    let gateways: Vec<&str> = configs
        .iter()
        .map(|c| c.gateway.as_str())
        .filter(|g| !g.is_empty())
        .collect();
    let ranges: Vec<&str> = configs
        .iter()
        .map(|c| c.ip_range.as_str())
        .filter(|r| !r.is_empty())
        .collect();
    if gateways.len() > 1 || ranges.len() > 1 {
        return Err(ApiError::bad_request(
            "berth takes one --gateway and one --ip-range per network",
        ));
    }
    let gateway = gateways
        .first()
        .map(|g| {
            g.parse::<IpAddr>()
                .map_err(|_| ApiError::bad_request(format!("invalid gateway {g:?}")))
        })
        .transpose()?;
    Ok(CreateRequest {
        name: b.name,
        driver,
        subnets: configs
            .iter()
            .map(|c| c.subnet.clone())
            .filter(|s| !s.is_empty())
            .collect(),
        gateway,
        ip_range: ranges.first().map(|r| (*r).to_owned()),
        internal: b.internal,
        ipv6: b.enable_ipv6.unwrap_or(false),
        options: b.options.unwrap_or_default(),
        labels: b.labels.unwrap_or_default(),
        overlay_state_dir: None,
    })
}

/// `POST /networks/{id}/connect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConnectBody {
    /// The container.
    pub container: String,
    /// Its settings on the network.
    pub endpoint_config: Option<EndpointConfig>,
}

/// `EndpointConfig` of a connect body (also `NetworkingConfig.EndpointsConfig` values).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointConfig {
    /// Static addresses.
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpam>,
    /// DNS aliases on the network (`--network-alias`, `--alias`; docker-compose gives the
    /// service name).
    pub aliases: Option<Vec<String>>,
}

/// Static addresses of an endpoint.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointIpam {
    /// `--ip`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// `--ip6`.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

impl EndpointConfig {
    /// The aliases asked for (none when `Aliases` is missing or `null`).
    pub fn aliases(&self) -> Vec<String> {
        self.aliases.clone().unwrap_or_default()
    }

    /// The static address asked for (IPv4 first), if any; a malformed one is a 400. berth
    /// gives a container one static address per network.
    pub fn static_ip(&self) -> ApiResult<Option<IpAddr>> {
        let Some(c) = &self.ipam_config else {
            return Ok(None);
        };
        let given: Vec<&str> = [c.ipv4_address.as_str(), c.ipv6_address.as_str()]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        match given.as_slice() {
            [] => Ok(None),
            [one] => one
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid IP address {one:?}"))),
            _ => Err(ApiError::bad_request(
                "berth gives a container one static address per network (--ip or --ip6)",
            )),
        }
    }
}

/// `POST /networks/{id}/disconnect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisconnectBody {
    /// The container.
    pub container: String,
    /// `-f`.
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ApiResult<CreateRequest> {
        create_request(serde_json::from_str(s).unwrap())
    }

    #[test]
    fn the_docker_clis_create_body_becomes_a_request() {
        let r = parse(
            r#"{"Name":"n1","CheckDuplicate":true,"Driver":"bridge","Scope":"","EnableIPv6":null,
                "IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.77.0.0/24",
                "IPRange":"10.77.0.128/25","Gateway":"10.77.0.254"}]},"Internal":true,
                "Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,
                "Options":{"com.docker.network.driver.mtu":"1400"},"Labels":{"a":"b"}}"#,
        )
        .unwrap();
        assert_eq!(r.name, "n1");
        assert_eq!(r.subnets, ["10.77.0.0/24"]);
        assert_eq!(r.gateway, Some("10.77.0.254".parse().unwrap()));
        assert_eq!(r.ip_range.as_deref(), Some("10.77.0.128/25"));
        assert!(r.internal && !r.ipv6);
        assert_eq!(r.options["com.docker.network.driver.mtu"], "1400");
        assert_eq!(r.labels["a"], "b");
    }

    #[test]
    fn what_berth_cannot_do_is_refused() {
        for body in [
            r#"{"Name":"n","Driver":"overlay"}"#,
            r#"{"Name":"n","Ingress":true}"#,
            r#"{"Name":"n","IPAM":{"Driver":"dhcp"}}"#,
            r#"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"},
                 {"Subnet":"10.2.0.0/24","Gateway":"10.2.0.1"}]}}"#,
            r#"{"Name":"n","IPAM":{"Config":[{"Subnet":"10.1.0.0/24","Gateway":"x"}]}}"#,
            r#"{"Name":""}"#,
        ] {
            assert_eq!(parse(body).unwrap_err().status, 400, "{body}");
        }
    }

    #[test]
    fn an_endpoint_gives_one_static_address() {
        let e: EndpointConfig =
            serde_json::from_str(r#"{"IPAMConfig":{"IPv4Address":"10.1.0.9"},"Aliases":["x"]}"#)
                .unwrap();
        assert_eq!(e.static_ip().unwrap(), Some("10.1.0.9".parse().unwrap()));
        assert_eq!(e.aliases(), ["x"]);
        let e: EndpointConfig =
            serde_json::from_str(r#"{"IPAMConfig":{"IPv4Address":"bad"}}"#).unwrap();
        assert!(e.static_ip().is_err());
        assert_eq!(EndpointConfig::default().static_ip().unwrap(), None);
        assert!(EndpointConfig::default().aliases().is_empty());
        let e: EndpointConfig = serde_json::from_str(r#"{"Aliases":null}"#).unwrap();
        assert!(e.aliases().is_empty());
    }

    #[test]
    fn a_connect_body_carries_the_endpoints_aliases() {
        // As docker-compose 1.29 sends it (the service name and the container's short id).
        let b: ConnectBody = serde_json::from_str(
            r#"{"Container":"c1","EndpointConfig":{"Aliases":["web","0123456789ab"],"Links":[]}}"#,
        )
        .unwrap();
        assert_eq!(b.container, "c1");
        assert_eq!(
            b.endpoint_config.unwrap().aliases(),
            ["web", "0123456789ab"]
        );
    }
}
