//! Records in Docker's JSON: the inspect document (`GET /containers/{id}/json`) and the list
//! summary (`GET /containers/json`), from berth's record plus the API-only settings
//! ([`super::extra`]). Published ports come from the record's `-p` specs, network aliases
//! from its `NetworkAliases`, addresses, gateways and MACs from the CNI results of its
//! attachments.

use std::collections::BTreeMap;

use berth_engine::container::aliases::is_user_network;
use berth_engine::container::record::{Attachment, ContainerRecord, Status};
use serde_json::{Value, json};

use super::extra::Extra;

/// Docker's zero time, for a container never started or finished.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One published port: (container port, protocol, host IP, host port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The container's port.
    pub port: u16,
    /// tcp, udp or sctp.
    pub proto: String,
    /// The host address (`0.0.0.0` for every address).
    pub host_ip: String,
    /// The host port.
    pub host_port: u16,
}

/// The record's `-p` specs.
pub fn published(rec: &ContainerRecord) -> Vec<Published> {
    rec.host_config
        .port_bindings
        .iter()
        .filter_map(|s| berth_engine::network::attach::parse_port(s).ok())
        .filter_map(|m| {
            Some(Published {
                port: u16::try_from(m["containerPort"].as_u64()?).ok()?,
                proto: m["protocol"].as_str().unwrap_or("tcp").to_owned(),
                host_ip: m["hostIP"].as_str().unwrap_or("0.0.0.0").to_owned(),
                host_port: u16::try_from(m["hostPort"].as_u64()?).ok()?,
            })
        })
        .collect()
}

/// `NetworkSettings.Ports`: published ports (while running) and exposed ones (`null`).
fn ports_map(rec: &ContainerRecord, extra: &Extra) -> Value {
    let mut m = serde_json::Map::new();
    for e in &extra.exposed_ports {
        m.insert(e.clone(), Value::Null);
    }
    if rec.state.running {
        for p in published(rec) {
            let key = format!("{}/{}", p.port, p.proto);
            let entry = json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()});
            match m.get_mut(&key).and_then(Value::as_array_mut) {
                Some(list) => list.push(entry),
                None => {
                    m.insert(key, json!([entry]));
                }
            }
        }
    }
    Value::Object(m)
}

/// `HostConfig.PortBindings` in Docker's form.
fn port_bindings(rec: &ContainerRecord) -> Value {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in published(rec) {
        let ip = if p.host_ip == "0.0.0.0" {
            ""
        } else {
            &p.host_ip
        };
        m.entry(format!("{}/{}", p.port, p.proto))
            .or_default()
            .push(json!({"HostIp": ip, "HostPort": p.host_port.to_string()}));
    }
    json!(m)
}

/// One `Networks` entry from an attachment and its CNI result, with its `Aliases`.
fn endpoint(name: &str, a: &Attachment, aliases: Value) -> Value {
    let first = a.ip_addresses.first().cloned().unwrap_or_default();
    let (ip, prefix) = first.split_once('/').unwrap_or((&first, "0"));
    let ips = a.result["ips"].as_array().cloned().unwrap_or_default();
    let gateway = ips
        .iter()
        .find_map(|i| i["gateway"].as_str())
        .unwrap_or("")
        .to_owned();
    let mac = a.result["interfaces"]
        .as_array()
        .and_then(|l| {
            l.iter().find(|i| {
                i["name"].as_str() == Some(a.if_name.as_str()) && i.get("sandbox").is_some()
            })
        })
        .and_then(|i| i["mac"].as_str())
        .unwrap_or("")
        .to_owned();
    json!({
        "IPAMConfig": null, "Links": null, "Aliases": aliases, "NetworkID": name,
        "EndpointID": format!("{name}-{}", a.if_name), "Gateway": gateway, "IPAddress": ip,
        "IPPrefixLen": prefix.parse::<u32>().unwrap_or(0), "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": mac, "DriverOpts": null,
    })
}

/// The container's `Aliases` on `network`: the ones it was given and, while it is attached
/// to a user network, its short id after them (as dockerd adds it); `null` when none.
fn aliases(rec: &ContainerRecord, network: &str) -> Value {
    let mut list = rec
        .host_config
        .network_aliases
        .get(network)
        .cloned()
        .unwrap_or_default();
    let attached = rec.network_settings.networks.contains_key(network);
    if attached && is_user_network(network) && !list.iter().any(|a| a == rec.short_id()) {
        list.push(rec.short_id().to_owned());
    }
    if list.is_empty() {
        Value::Null
    } else {
        json!(list)
    }
}

/// `NetworkSettings.Networks`: every network of the container, with its aliases, and its
/// addresses while it runs.
fn networks(rec: &ContainerRecord) -> Value {
    let mut m = serde_json::Map::new();
    for n in &rec.host_config.networks {
        let none = Attachment::default();
        let a = rec.network_settings.networks.get(n).unwrap_or(&none);
        let v = endpoint(n, a, aliases(rec, n));
        m.insert(n.clone(), v);
    }
    Value::Object(m)
}

fn mounts(rec: &ContainerRecord) -> Value {
    let list: Vec<Value> = rec
        .mount_points
        .values()
        .map(|m| {
            let mut v = json!({
                "Type": m.kind, "Source": m.source, "Destination": m.destination,
                "Mode": if m.rw { "" } else { "ro" }, "RW": m.rw, "Propagation": "rprivate",
            });
            if m.kind == "volume" {
                v["Name"] = json!(m.name);
                v["Driver"] = json!("local");
            }
            v
        })
        .collect();
    json!(list)
}

fn network_mode(rec: &ContainerRecord, extra: &Extra) -> String {
    if !extra.network_mode.is_empty() {
        return extra.network_mode.clone();
    }
    rec.host_config
        .networks
        .first()
        .cloned()
        .unwrap_or_else(|| "default".into())
}

fn time_or_zero(t: &str) -> &str {
    if t.is_empty() { ZERO_TIME } else { t }
}

/// The inspect document.
pub fn inspect(rec: &ContainerRecord, extra: &Extra) -> Value {
    let argv = &rec.config.cmd;
    let first_net = rec.network_settings.networks.values().next();
    let main = first_net
        .map(|a| endpoint("", a, Value::Null))
        .unwrap_or(json!({}));
    let dir = std::path::Path::new(&rec.log_path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let (cmd, entrypoint) = match (&extra.cmd, &extra.entrypoint) {
        (None, None) => (json!(argv), Value::Null),
        (c, e) => (json!(c), json!(e)),
    };
    let h = &rec.host_config;
    json!({
        "Id": rec.id, "Created": rec.created,
        "Path": argv.first().cloned().unwrap_or_default(),
        "Args": argv.get(1..).unwrap_or_default(),
        "State": {
            "Status": rec.state.status.to_string(), "Running": rec.state.running,
            "Paused": rec.state.paused, "Restarting": false, "OOMKilled": false, "Dead": false,
            "Pid": rec.state.pid, "ExitCode": rec.state.exit_code, "Error": rec.state.error,
            "StartedAt": time_or_zero(&rec.state.started_at),
            "FinishedAt": time_or_zero(&rec.state.finished_at),
        },
        "Image": rec.image,
        "ResolvConfPath": format!("{dir}/resolv.conf"), "HostnamePath": format!("{dir}/hostname"),
        "HostsPath": format!("{dir}/hosts"), "LogPath": rec.log_path,
        "Name": format!("/{}", rec.name), "RestartCount": rec.restart_count,
        "Driver": "overlay", "Platform": "linux", "MountLabel": "", "ProcessLabel": "",
        "AppArmorProfile": "", "ExecIDs": null,
        "HostConfig": {
            "Binds": if extra.binds.is_empty() { Value::Null } else { json!(extra.binds) },
            "NetworkMode": network_mode(rec, extra), "PortBindings": port_bindings(rec),
            "RestartPolicy": if extra.restart_policy.is_null() { json!({"Name": "no", "MaximumRetryCount": 0}) } else { extra.restart_policy.clone() },
            "AutoRemove": h.auto_remove, "CapAdd": h.cap_add, "CapDrop": h.cap_drop,
            "Privileged": h.privileged, "ReadonlyRootfs": h.readonly_rootfs, "Memory": h.memory,
            "NanoCpus": h.nano_cpus, "PidsLimit": h.pids_limit, "Init": h.init,
            "Tmpfs": if h.tmpfs.is_empty() { Value::Null } else { json!(h.tmpfs) },
            "Dns": h.dns, "DnsSearch": h.dns_search, "DnsOptions": h.dns_options,
            "LogConfig": {"Type": "json-file", "Config": {}},
        },
        "GraphDriver": {"Name": "overlay", "Data": null},
        "Mounts": mounts(rec),
        "Config": {
            "Hostname": rec.hostname(), "Domainname": "", "User": rec.config.user,
            "AttachStdin": extra.attach[0], "AttachStdout": extra.attach[1],
            "AttachStderr": extra.attach[2], "Tty": rec.config.stdio.tty,
            "OpenStdin": rec.config.stdio.open_stdin, "StdinOnce": rec.config.stdio.stdin_once,
            "Env": rec.config.env, "Cmd": cmd, "Image": rec.config.image,
            "WorkingDir": rec.config.working_dir, "Entrypoint": entrypoint,
            "Labels": super::extra::labels(rec, extra),
            "ExposedPorts": extra.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect::<serde_json::Map<_, _>>(),
        },
        "NetworkSettings": {
            "Bridge": "", "SandboxID": rec.network_settings.sandbox_key,
            "SandboxKey": rec.network_settings.sandbox_key, "Ports": ports_map(rec, extra),
            "IPAddress": main["IPAddress"].as_str().unwrap_or(""),
            "IPPrefixLen": main["IPPrefixLen"].as_u64().unwrap_or(0),
            "Gateway": main["Gateway"].as_str().unwrap_or(""),
            "MacAddress": main["MacAddress"].as_str().unwrap_or(""),
            "Networks": networks(rec),
        },
    })
}

/// `Up 3 seconds`, `Exited (0) 2 seconds ago`, `Created`.
pub fn status_text(rec: &ContainerRecord, now: i64) -> String {
    let since = |t: &str| berth_engine::clock::parse_rfc3339(t).map_or(0, |t| now - t);
    match rec.state.status {
        Status::Created => "Created".into(),
        Status::Running => format!(
            "Up {}",
            berth_engine::clock::human_duration(since(&rec.state.started_at))
        ),
        Status::Paused => format!(
            "Up {} (Paused)",
            berth_engine::clock::human_duration(since(&rec.state.started_at))
        ),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            rec.state.exit_code,
            berth_engine::clock::human_duration(since(&rec.state.finished_at))
        ),
    }
}

/// A list entry; `size` is (written, written + image).
pub fn summary(rec: &ContainerRecord, extra: &Extra, size: Option<(u64, u64)>, now: i64) -> Value {
    let ports: Vec<Value> = if rec.state.running {
        published(rec)
            .into_iter()
            .map(|p| json!({"IP": p.host_ip, "PrivatePort": p.port, "PublicPort": p.host_port, "Type": p.proto}))
            .collect()
    } else {
        Vec::new()
    };
    let mut ports = ports;
    for e in &extra.exposed_ports {
        let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let port: u16 = port.parse().unwrap_or(0);
        let shown = ports
            .iter()
            .any(|p| p["PrivatePort"] == port && p["Type"] == proto);
        if !shown {
            ports.push(json!({"PrivatePort": port, "Type": proto}));
        }
    }
    let mut v = json!({
        "Id": rec.id, "Names": [format!("/{}", rec.name)], "Image": rec.config.image,
        "ImageID": rec.image, "Command": rec.config.cmd.join(" "),
        "Created": berth_engine::clock::parse_rfc3339(&rec.created).unwrap_or(0),
        "Ports": ports, "Labels": super::extra::labels(rec, extra), "State": rec.state.status.to_string(),
        "Status": status_text(rec, now),
        "HostConfig": {"NetworkMode": network_mode(rec, extra)},
        "NetworkSettings": {"Networks": networks(rec)}, "Mounts": mounts(rec),
    });
    if let Some((rw, root)) = size {
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(root);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> ContainerRecord {
        let mut r = ContainerRecord {
            id: "a".repeat(64),
            name: "web".into(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        r.config.cmd = vec!["httpd".into(), "-f".into()];
        r.host_config.networks = vec!["bridge".into()];
        r.host_config.port_bindings = vec!["8080:80/tcp".into()];
        r.state.status = Status::Running;
        r.state.running = true;
        r.state.started_at = "2024-01-01T00:00:10Z".into();
        r.network_settings.networks.insert(
            "bridge".into(),
            Attachment {
                if_name: "eth0".into(),
                ip_addresses: vec!["10.88.0.5/16".into()],
                result: json!({
                    "interfaces": [{"name": "veth1", "mac": "aa"}, {"name": "eth0", "mac": "02:42", "sandbox": "/x"}],
                    "ips": [{"address": "10.88.0.5/16", "gateway": "10.88.0.1", "interface": 1}],
                }),
            },
        );
        r
    }

    #[test]
    fn inspect_and_summary_have_dockers_shape() {
        let r = rec();
        let extra = Extra {
            exposed_ports: vec!["80/tcp".into(), "53/udp".into()],
            ..Default::default()
        };
        let v = inspect(&r, &extra);
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["Path"], "httpd");
        assert_eq!(v["State"]["Status"], "running");
        assert_eq!(v["State"]["FinishedAt"], ZERO_TIME);
        assert_eq!(
            v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"],
            "8080"
        );
        assert!(v["NetworkSettings"]["Ports"]["53/udp"].is_null());
        let n = &v["NetworkSettings"]["Networks"]["bridge"];
        assert_eq!(n["IPAddress"], "10.88.0.5");
        assert_eq!(n["IPPrefixLen"], 16);
        assert_eq!(n["Gateway"], "10.88.0.1");
        assert_eq!(n["MacAddress"], "02:42");
        assert_eq!(
            v["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
            "8080"
        );
        let s = summary(&r, &extra, Some((10, 20)), 1_704_067_213);
        assert_eq!(s["Status"], "Up 3 seconds");
        assert_eq!(s["Names"][0], "/web");
        assert_eq!(s["Command"], "httpd -f");
        assert_eq!(s["Ports"][0]["PublicPort"], 8080);
        assert_eq!(s["Ports"][1]["PrivatePort"], 53);
        assert_eq!(s["Ports"].as_array().unwrap().len(), 2);
        assert_eq!(s["SizeRw"], 10);
        assert!(n["Aliases"].is_null(), "the default bridge has none");
    }

    #[test]
    fn aliases_show_with_the_short_id_while_attached_to_a_user_network() {
        let mut r = rec();
        r.host_config.networks = vec!["bridge".into(), "app".into(), "db".into()];
        r.host_config
            .network_aliases
            .insert("app".into(), vec!["web".into(), "web.v1".into()]);
        r.host_config
            .network_aliases
            .insert("db".into(), vec!["w".into(), "aaaaaaaaaaaa".into()]);
        let shown = |r: &ContainerRecord, n: &str| {
            inspect(r, &Extra::default())["NetworkSettings"]["Networks"][n]["Aliases"].clone()
        };
        // Created (not attached): what was given, as dockerd shows it before the start.
        assert_eq!(shown(&r, "app"), json!(["web", "web.v1"]));
        assert!(shown(&r, "bridge").is_null());
        // Attached: the short id follows, once.
        let eth1 = Attachment {
            if_name: "eth1".into(),
            ..Default::default()
        };
        r.network_settings
            .networks
            .insert("app".into(), eth1.clone());
        r.network_settings.networks.insert("db".into(), eth1);
        assert_eq!(shown(&r, "app"), json!(["web", "web.v1", "aaaaaaaaaaaa"]));
        assert_eq!(shown(&r, "db"), json!(["w", "aaaaaaaaaaaa"]));
        assert!(shown(&r, "bridge").is_null());
        r.host_config.network_aliases.clear();
        assert_eq!(shown(&r, "app"), json!(["aaaaaaaaaaaa"]));
        let s = summary(&r, &Extra::default(), None, 0);
        assert_eq!(
            s["NetworkSettings"]["Networks"]["app"]["Aliases"],
            json!(["aaaaaaaaaaaa"])
        );
    }
}
