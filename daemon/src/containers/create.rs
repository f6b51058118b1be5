//! `POST /containers/create?name=`: Docker's create body turned into the engine's
//! [`CreateRequest`] (ports, binds, network mode and aliases, limits and security translated
//! to the forms `berth run` takes), with 404 for a missing image (the CLI then tries a pull)
//! and 409 for a taken name. Settings berth cannot honour are refused with a 400 saying so.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_engine::container::create::CreateRequest;
use berth_engine::container::record::{HostConfig, StdioConfig};
use hyper::StatusCode;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extra::Extra;
use crate::error::{ApiError, ApiResult};
use crate::images::normalize_ref;
use crate::query::Query;
use crate::reply::{self, Reply};
use crate::router::App;

/// A string or a list of strings (`Cmd`, `Entrypoint`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Strings {
    /// `"sh -c x"` (split on whitespace, as old clients meant it).
    One(String),
    /// `["sh","-c","x"]`.
    Many(Vec<String>),
}

impl Strings {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => s.split_whitespace().map(str::to_owned).collect(),
            Self::Many(v) => v,
        }
    }
}

/// The create body (the fields berth honours; the rest is ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    image: String,
    cmd: Option<Strings>,
    entrypoint: Option<Strings>,
    env: Option<Vec<String>>,
    working_dir: Option<String>,
    user: Option<String>,
    hostname: Option<String>,
    tty: bool,
    open_stdin: bool,
    stdin_once: bool,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    labels: Option<BTreeMap<String, String>>,
    exposed_ports: Option<BTreeMap<String, Value>>,
    host_config: Option<HostConfigBody>,
    networking_config: Option<NetworkingConfig>,
}

/// `NetworkingConfig` of the create body: static addresses (`--ip`, `--ip6`) and DNS aliases
/// (`--network-alias`) per network.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    endpoints_config: Option<BTreeMap<String, crate::networks::body::EndpointConfig>>,
}

/// `HostConfig` of the create body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfigBody {
    binds: Option<Vec<String>>,
    port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    network_mode: Option<String>,
    auto_remove: bool,
    restart_policy: Option<Value>,
    memory: Option<i64>,
    nano_cpus: Option<i64>,
    cpu_quota: Option<i64>,
    cpu_period: Option<i64>,
    pids_limit: Option<i64>,
    cap_add: Option<Vec<String>>,
    cap_drop: Option<Vec<String>>,
    privileged: bool,
    init: Option<bool>,
    readonly_rootfs: bool,
    tmpfs: Option<BTreeMap<String, String>>,
    mounts: Option<Vec<MountBody>>,
    dns: Option<Vec<String>>,
    dns_search: Option<Vec<String>>,
    dns_options: Option<Vec<String>>,
}

/// One `PortBindings` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    host_ip: Option<String>,
    host_port: Option<String>,
}

/// One `HostConfig.Mounts` entry (`--mount`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountBody {
    #[serde(rename = "Type")]
    kind: String,
    source: Option<String>,
    target: String,
    read_only: bool,
}

/// `[HOSTIP:]HOSTPORT:PORT/PROTO` specs from `PortBindings`.
pub fn port_specs(bindings: &BTreeMap<String, Option<Vec<PortBinding>>>) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for (port, list) in bindings {
        let (ctr, proto) = port.split_once('/').unwrap_or((port, "tcp"));
        for b in list.iter().flatten() {
            let host_port = b.host_port.as_deref().unwrap_or("");
            if host_port.is_empty() || host_port.contains('-') {
                return Err(ApiError::bad_request(format!(
                    "publishing {port} needs a single host port (berth has no random or ranged host ports yet)"
                )));
            }
            let spec = match b.host_ip.as_deref().unwrap_or("") {
                "" | "0.0.0.0" | "::" => format!("{host_port}:{ctr}/{proto}"),
                ip if ip.contains(':') => format!("[{ip}]:{host_port}:{ctr}/{proto}"),
                ip => format!("{ip}:{host_port}:{ctr}/{proto}"),
            };
            out.push(spec);
        }
    }
    Ok(out)
}

/// `SRC:DST[:ro]` volume specs from `Binds` and `Mounts`.
pub fn volume_specs(binds: &[String], mounts: &[MountBody]) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for b in binds {
        let parts: Vec<&str> = b.split(':').collect();
        let spec = match parts.as_slice() {
            [dst] => (*dst).to_owned(),
            [src, dst] => format!("{src}:{dst}"),
            [src, dst, opts] => {
                let ro = opts.split(',').any(|o| o == "ro");
                format!("{src}:{dst}{}", if ro { ":ro" } else { "" })
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid volume specification: {b:?}"
                )));
            }
        };
        out.push(spec);
    }
    for m in mounts {
        let ro = if m.read_only { ":ro" } else { "" };
        let src = m.source.as_deref().unwrap_or("");
        match m.kind.as_str() {
            "bind" | "volume" if !src.is_empty() => out.push(format!("{src}:{}{ro}", m.target)),
            "volume" => out.push(m.target.clone()),
            other => {
                return Err(ApiError::bad_request(format!(
                    "mount type {other:?} is not supported by berth yet"
                )));
            }
        }
    }
    Ok(out)
}

/// The networks for a `NetworkMode`.
fn networks(mode: &str) -> ApiResult<Vec<String>> {
    match mode {
        "" | "default" => Ok(vec![berth_engine::network::DEFAULT_NETWORK.to_owned()]),
        m if m.starts_with("container:") => Err(ApiError::bad_request(
            "network mode container:<id> is not supported by berth yet",
        )),
        m => Ok(vec![m.to_owned()]),
    }
}

/// The engine's request and the API-only settings for a create body.
pub fn request(name: Option<String>, body: CreateBody) -> ApiResult<(CreateRequest, Extra)> {
    let hc = body.host_config.unwrap_or_default();
    if body.image.is_empty() {
        return Err(ApiError::bad_request("no image given"));
    }
    let mode = hc.network_mode.clone().unwrap_or_default();
    let binds = hc.binds.clone().unwrap_or_default();
    let nano_cpus = match (hc.nano_cpus.unwrap_or(0), hc.cpu_quota.unwrap_or(0)) {
        (n, _) if n > 0 => n,
        (_, q) if q > 0 => {
            let period = hc.cpu_period.filter(|p| *p > 0).unwrap_or(100_000);
            q * 1_000_000_000 / period
        }
        _ => 0,
    };
    let init = hc.init.unwrap_or(false);
    let nets = networks(&mode)?;
    let mut static_ips = BTreeMap::new();
    let mut network_aliases = BTreeMap::new();
    let endpoints = body.networking_config.and_then(|n| n.endpoints_config);
    for (net, ep) in endpoints.unwrap_or_default() {
        let aliases = ep.aliases();
        if !aliases.is_empty() {
            // The docker CLI keys the default network's endpoint `default`, as its mode; the
            // engine refuses aliases there, and on networks the container is not on.
            let net = match net.as_str() {
                "default" => berth_engine::network::DEFAULT_NETWORK.to_owned(),
                _ => net.clone(),
            };
            network_aliases.insert(net, aliases);
        }
        if let Some(ip) = ep.static_ip()? {
            if !nets.contains(&net) {
                return Err(ApiError::bad_request(format!(
                    "a static address is given for network {net}, which the container is not on"
                )));
            }
            static_ips.insert(net, ip.to_string());
        }
    }
    let host = HostConfig {
        auto_remove: hc.auto_remove,
        networks: nets,
        static_ips,
        network_aliases,
        port_bindings: port_specs(&hc.port_bindings.unwrap_or_default())?,
        memory: hc.memory.unwrap_or(0).max(0),
        nano_cpus,
        pids_limit: hc.pids_limit.unwrap_or(0).max(0),
        readonly_rootfs: hc.readonly_rootfs,
        tmpfs: hc.tmpfs.unwrap_or_default(),
        dns: hc.dns.unwrap_or_default(),
        dns_search: hc.dns_search.unwrap_or_default(),
        dns_options: hc.dns_options.unwrap_or_default(),
        cap_add: hc.cap_add.unwrap_or_default(),
        cap_drop: hc.cap_drop.unwrap_or_default(),
        privileged: hc.privileged,
        init,
        init_path: std::env::var(berth_engine::container::init::INIT_PATH_ENV)
            .ok()
            .filter(|_| init)
            .unwrap_or_default(),
        ..Default::default()
    };
    let cmd = body.cmd.map(Strings::into_vec);
    let entrypoint = body.entrypoint.map(Strings::into_vec);
    // The engine takes one entrypoint word; the rest of a longer entrypoint leads the command.
    let (ep, mut argv) = match entrypoint.clone() {
        Some(mut e) if !e.is_empty() => {
            let first = e.remove(0);
            (Some(first), e)
        }
        Some(_) => (Some(String::new()), Vec::new()),
        None => (None, Vec::new()),
    };
    argv.extend(cmd.clone().unwrap_or_default());
    let req = CreateRequest {
        name,
        image: normalize_ref(&body.image),
        cmd: argv,
        entrypoint: ep,
        env: body.env.unwrap_or_default(),
        volumes: volume_specs(&binds, &hc.mounts.unwrap_or_default())?,
        workdir: body.working_dir.filter(|w| !w.is_empty()),
        user: body.user.filter(|u| !u.is_empty()),
        hostname: body.hostname.filter(|h| !h.is_empty()),
        labels: body.labels.unwrap_or_default(),
        host,
        stdio: StdioConfig {
            tty: body.tty,
            open_stdin: body.open_stdin,
            stdin_once: body.stdin_once,
        },
    };
    let extra = Extra {
        labels: BTreeMap::new(),
        exposed_ports: body.exposed_ports.unwrap_or_default().into_keys().collect(),
        restart_policy: hc
            .restart_policy
            .unwrap_or_else(|| json!({"Name": "no", "MaximumRetryCount": 0})),
        cmd,
        entrypoint,
        network_mode: if mode.is_empty() {
            "default".into()
        } else {
            mode
        },
        binds,
        attach: [body.attach_stdin, body.attach_stdout, body.attach_stderr],
    };
    Ok((req, extra))
}

/// `POST /containers/create`.
pub async fn create(app: &Arc<App>, req: hyper::Request<Incoming>, q: &Query) -> ApiResult<Reply> {
    let name = q
        .get("name")
        .map(|n| n.trim_start_matches('/').to_owned())
        .filter(|n| !n.is_empty());
    let body: CreateBody = reply::read_json(req).await?;
    let shown = display_ref(&body.image);
    let (creq, extra) = request(name, body)?;
    let id = app
        .backend
        .run(move |env| {
            if env.store.images().record(&creq.image).is_err() {
                return Err(ApiError::not_found(format!("No such image: {shown}")));
            }
            let mut creq = creq;
            resolve_networks(env, &mut creq.host)?;
            let rec = env.create(&creq)?;
            if let Err(e) = extra.write(&env.eng.containers.dir(&rec.id)) {
                tracing::warn!(id = %rec.id, error = %e, "write the API settings");
            }
            Ok(rec.id)
        })
        .await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &json!({"Id": id, "Warnings": []}),
    ))
}

/// Network ids and id prefixes in the request replaced by the networks' names (the static
/// addresses and the aliases follow); an unknown network is dockerd's 404.
fn resolve_networks(env: &crate::backend::Env<'_>, host: &mut HostConfig) -> ApiResult<()> {
    for n in host.networks.iter_mut() {
        if matches!(n.as_str(), "host" | "none") {
            continue;
        }
        let net = env
            .eng
            .networks
            .find(n)
            .map_err(|_| ApiError::not_found(format!("network {n} not found")))?;
        if net.name() != n.as_str() {
            if let Some(ip) = host.static_ips.remove(n.as_str()) {
                host.static_ips.insert(net.name().to_owned(), ip);
            }
            if let Some(aliases) = host.network_aliases.remove(n.as_str()) {
                host.network_aliases.insert(net.name().to_owned(), aliases);
            }
            *n = net.name().to_owned();
        }
    }
    Ok(())
}

/// `bb` as dockerd names it in messages: `bb:latest`.
fn display_ref(image: &str) -> String {
    let r = normalize_ref(image);
    let last = r.rsplit('/').next().unwrap_or(&r);
    if r.starts_with("sha256:") || last.contains(':') {
        r
    } else {
        format!("{r}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> CreateBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn docker_create_bodies_become_engine_requests() {
        let (r, e) = request(
            Some("web".into()),
            body(json!({
                "Image": "docker.io/library/bb:latest", "Cmd": ["httpd", "-f"],
                "Entrypoint": null, "Env": ["A=1"], "WorkingDir": "", "Tty": false,
                "OpenStdin": true, "StdinOnce": true, "Labels": {"k": "v"},
                "ExposedPorts": {"80/tcp": {}}, "Unknown": 1,
                "HostConfig": {
                    "Binds": ["data:/d", "/h:/c:ro,z"], "NetworkMode": "default",
                    "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                     "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}]},
                    "AutoRemove": true, "RestartPolicy": {"Name": "always"},
                    "Memory": 0, "CpuQuota": 50000, "PidsLimit": null, "Init": null,
                    "Tmpfs": {}
                }
            })),
        )
        .unwrap();
        assert_eq!(r.image, "bb:latest");
        assert_eq!(r.cmd, ["httpd", "-f"]);
        assert_eq!(r.entrypoint, None);
        assert_eq!(r.volumes, ["data:/d", "/h:/c:ro"]);
        assert_eq!(r.host.networks, ["bridge"]);
        assert_eq!(r.host.port_bindings, ["127.0.0.1:53:53/udp", "8080:80/tcp"]);
        assert_eq!(r.host.nano_cpus, 500_000_000);
        assert!(r.host.auto_remove && r.stdio.open_stdin && r.stdio.stdin_once);
        assert_eq!(r.workdir, None);
        assert_eq!(r.labels["k"], "v");
        assert!(e.labels.is_empty(), "labels live in the engine's record");
        assert_eq!(e.exposed_ports, ["80/tcp"]);
        assert_eq!(e.restart_policy["Name"], "always");
        assert!(r.host.network_aliases.is_empty());
    }

    #[test]
    fn endpoint_aliases_become_the_networks_aliases() {
        // docker run --network app --network-alias db --network-alias db.internal
        let (r, _) = request(
            None,
            body(json!({
                "Image": "bb", "HostConfig": {"NetworkMode": "app"},
                "NetworkingConfig": {"EndpointsConfig": {"app": {
                    "IPAMConfig": null, "Links": null, "Aliases": ["db", "db.internal"]
                }}}
            })),
        )
        .unwrap();
        assert_eq!(r.host.networks, ["app"]);
        assert_eq!(r.host.network_aliases["app"], ["db", "db.internal"]);
        // docker run --network-alias db: the CLI keys the default network `default`.
        let (r, _) = request(
            None,
            body(json!({
                "Image": "bb", "HostConfig": {"NetworkMode": "default"},
                "NetworkingConfig": {"EndpointsConfig": {"default": {"Aliases": ["db"]}}}
            })),
        )
        .unwrap();
        assert_eq!(r.host.network_aliases["bridge"], ["db"]);
        let e = berth_engine::container::aliases::validate(&r.host).unwrap_err();
        assert_eq!(
            crate::error::ApiError::from_engine(&e.into()).status,
            StatusCode::BAD_REQUEST
        );
        // No or null aliases leave none.
        let (r, _) = request(
            None,
            body(json!({
                "Image": "bb", "HostConfig": {"NetworkMode": "app"},
                "NetworkingConfig": {"EndpointsConfig": {"app": {"Aliases": null}}}
            })),
        )
        .unwrap();
        assert!(r.host.network_aliases.is_empty());
    }

    #[test]
    fn entrypoints_split_and_unsupported_settings_are_refused() {
        let (r, _) = request(
            None,
            body(json!({"Image": "bb", "Entrypoint": ["sh", "-c"], "Cmd": ["echo hi"]})),
        )
        .unwrap();
        assert_eq!(r.entrypoint.as_deref(), Some("sh"));
        assert_eq!(r.cmd, ["-c", "echo hi"]);
        let (r, _) = request(None, body(json!({"Image": "bb", "Entrypoint": [""]}))).unwrap();
        assert_eq!(r.entrypoint.as_deref(), Some(""));
        let (r, _) = request(
            None,
            body(json!({"Image": "bb", "HostConfig": {"Tmpfs": {"/t": "size=1m"}}})),
        )
        .unwrap();
        assert_eq!(r.host.tmpfs.get("/t").map(String::as_str), Some("size=1m"));
        let e = request(
            None,
            body(json!({"Image": "bb", "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": ""}]}}})),
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(display_ref("bb"), "bb:latest");
        assert_eq!(display_ref("127.0.0.1:5000/x"), "127.0.0.1:5000/x:latest");
    }
}
