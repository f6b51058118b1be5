//! Networks in Docker's `NetworkResource` shape (`docker network inspect` and `ls`), and the
//! `docker network ls --filter` filters.

use std::collections::BTreeMap;

use berth_core::invoke::CachedAttachment;
use berth_engine::network::Network;
use serde_json::{Value, json};

use crate::query::label_matches;

/// The filters `docker network ls --filter` and `network prune --filter` send.
pub const FILTERS: &[&str] = &[
    "name", "id", "driver", "label", "type", "scope", "dangling", "until",
];

/// Docker's driver name for a network (`bridge`, `host`, `null`; others as berth calls them).
pub fn driver(n: &Network) -> String {
    match n.name() {
        "host" if n.builtin => "host".into(),
        "none" if n.builtin => "null".into(),
        _ => match n.driver().as_str() {
            "" => "bridge".into(),
            d => d.to_owned(),
        },
    }
}

fn created(n: &Network) -> String {
    let secs = n.spec.as_ref().map_or(0, |s| s.created);
    berth_engine::clock::format_rfc3339(i64::try_from(secs).unwrap_or(0), 0)
}

/// One `Containers` entry: a container's attachment with its addresses.
fn endpoint(att: &CachedAttachment, name: &str) -> Value {
    let mut v4 = String::new();
    let mut v6 = String::new();
    let mut mac = String::new();
    if let Some(r) = att.result.as_ref() {
        for ip in r["ips"].as_array().into_iter().flatten() {
            let a = ip["address"].as_str().unwrap_or("");
            let slot = if a.contains(':') { &mut v6 } else { &mut v4 };
            if slot.is_empty() {
                *slot = a.to_owned();
            }
        }
        mac = r["interfaces"]
            .as_array()
            .and_then(|l| l.iter().find(|i| i.get("sandbox").is_some()))
            .and_then(|i| i["mac"].as_str())
            .unwrap_or("")
            .to_owned();
    }
    let endpoint_id = berth_engine::digest::Digest::of_bytes(
        format!("{}\0{}", att.container_id, att.if_name).as_bytes(),
    );
    json!({
        "Name": name, "EndpointID": endpoint_id.hex(), "MacAddress": mac,
        "IPv4Address": v4, "IPv6Address": v6,
    })
}

/// The network as `GET /networks/{id}` shows it; `containers` are its attachments with the
/// names of their containers (empty for `GET /networks`, as dockerd).
pub fn resource(n: &Network, containers: &[(CachedAttachment, String)]) -> Value {
    let spec = n.spec.as_ref();
    let ipam: Vec<Value> = spec
        .map(|s| {
            s.subnets
                .iter()
                .map(|sub| {
                    let mut c = json!({"Subnet": sub.subnet.to_string(),
                                       "Gateway": sub.gateway.to_string()});
                    if let Some(r) = sub.ip_range {
                        c["IPRange"] = json!(r.to_string());
                    }
                    c
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ctrs = serde_json::Map::new();
    for (att, name) in containers {
        ctrs.insert(att.container_id.clone(), endpoint(att, name));
    }
    json!({
        "Name": n.name(), "Id": n.id(), "Created": created(n), "Scope": "local",
        "Driver": driver(n), "EnableIPv6": spec.is_some_and(|s| s.ipv6),
        "IPAM": {"Driver": "default", "Options": {}, "Config": ipam},
        "Internal": spec.is_some_and(|s| s.internal), "Attachable": false, "Ingress": false,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": false, "Containers": ctrs,
        "Options": spec.map(|s| json!(s.options)).unwrap_or(json!({})),
        "Labels": spec.map(|s| json!(s.labels)).unwrap_or(json!({})),
    })
}

/// Whether the network passes every filter (values of one filter are alternatives);
/// `attached` is its number of attachments (for `dangling`).
pub fn matches(n: &Network, attached: usize, filters: &BTreeMap<String, Vec<String>>) -> bool {
    let labels = n
        .spec
        .as_ref()
        .map(|s| s.labels.clone())
        .unwrap_or_default();
    let created = n.spec.as_ref().map_or(0, |s| s.created);
    filters.iter().all(|(k, vals)| {
        vals.is_empty()
            || crate::query::filter_values(k, vals, |v| match k.as_str() {
                "name" => n.name().contains(v.as_str()),
                "id" => n.id().starts_with(v.as_str()),
                "driver" => driver(n) == *v,
                "label" => label_matches(&labels, v),
                "type" => match v.as_str() {
                    "builtin" => n.builtin,
                    "custom" => !n.builtin,
                    _ => false,
                },
                "scope" => v == "local",
                "dangling" => (attached == 0) == matches!(v.as_str(), "true" | "1"),
                "until" => until(v).is_some_and(|t| i64::try_from(created).unwrap_or(0) < t),
                _ => true,
            })
    })
}

/// An `until` filter value: RFC 3339 or Unix seconds.
pub fn until(v: &str) -> Option<i64> {
    berth_engine::clock::parse_rfc3339(v)
        .or_else(|| v.split('.').next().and_then(|s| s.parse::<i64>().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::network::{CreateRequest, NetworkStore};

    fn net(dir: &std::path::Path) -> Network {
        let s = NetworkStore::new(dir, Vec::new());
        let mut labels = BTreeMap::new();
        labels.insert("team".to_owned(), "a".to_owned());
        let req = CreateRequest {
            ip_range: Some("10.201.0.128/25".into()),
            internal: true,
            labels,
            ..CreateRequest::bridge("web", &["10.201.0.0/24"])
        };
        let empty = tempfile::tempdir().unwrap();
        s.create(req, dir, empty.path()).unwrap()
    }

    #[test]
    fn a_network_has_dockers_shape() {
        let dir = tempfile::tempdir().unwrap();
        let n = net(dir.path());
        let v = resource(&n, &[]);
        assert_eq!(v["Name"], "web");
        assert_eq!(v["Id"].as_str().unwrap().len(), 64);
        assert_eq!(v["Driver"], "bridge");
        assert_eq!(v["Internal"], true);
        assert_eq!(v["IPAM"]["Config"][0]["Subnet"], "10.201.0.0/24");
        assert_eq!(v["IPAM"]["Config"][0]["Gateway"], "10.201.0.1");
        assert_eq!(v["IPAM"]["Config"][0]["IPRange"], "10.201.0.128/25");
        assert_eq!(v["Labels"]["team"], "a");
    }

    #[test]
    fn filters_select_networks() {
        let dir = tempfile::tempdir().unwrap();
        let n = net(dir.path());
        let f = |pairs: &[(&str, &str)]| {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, v) in pairs {
                m.entry((*k).to_owned()).or_default().push((*v).to_owned());
            }
            m
        };
        assert!(matches(&n, 0, &f(&[("name", "we"), ("label", "team=a")])));
        assert!(!matches(&n, 0, &f(&[("label", "team=b")])));
        assert!(matches(
            &n,
            0,
            &f(&[("type", "custom"), ("dangling", "true")])
        ));
        assert!(!matches(&n, 2, &f(&[("dangling", "true")])));
        assert!(matches(
            &n,
            0,
            &f(&[("id", &n.id()[..5]), ("driver", "bridge")])
        ));
        assert!(!matches(&n, 0, &f(&[("type", "builtin")])));
    }
}
