//! `berth net connect|disconnect` (Docker's `network connect|disconnect`): one more network for
//! a container, or one fewer. The change is kept in the record (`HostConfig.Networks`, with the
//! network's static address and DNS aliases), so it holds for later starts too. While the
//! container's networking is up (its netns exists) the network is also attached or detached
//! now: CNI ADD on the next free `ethN`, or DEL, with the container's `/etc/hosts` and
//! `NetworkSettings` updated; a created or exited container only has its record changed.
//! Everything happens under the container's network lock, which the start and the shim's
//! teardown also take, so the teardown DELs every network attached at that moment and nothing
//! is attached after it.

use std::net::IpAddr;
use std::path::Path;

use super::lifecycle::Engine;
use super::net;
use super::record::{Attachment, ContainerRecord};
use crate::network::NetworkStore;

/// Why a connect or disconnect is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The container shares the host's netns (`host`) or has loopback only (`none`).
    #[error(
        "container {id} uses --network {mode}: it cannot be connected to or disconnected from networks"
    )]
    SpecialMode {
        /// The container's short id.
        id: String,
        /// `host` or `none`.
        mode: String,
    },
    /// `host` and `none` are modes chosen at create, not networks to join.
    #[error("network {0} can only be chosen when the container is created (--network {0})")]
    SpecialNetwork(String),
    /// Connect of a network the container is on.
    #[error("container {id} is already connected to network {network}")]
    AlreadyConnected {
        /// The container's short id.
        id: String,
        /// The network.
        network: String,
    },
    /// Disconnect of a network the container is not on.
    #[error("container {id} is not connected to network {network}")]
    NotConnected {
        /// The container's short id.
        id: String,
        /// The network.
        network: String,
    },
    /// A container keeps at least one network.
    #[error(
        "network {network} is the only network of container {id}; a container needs one (--network none gives loopback only)"
    )]
    LastNetwork {
        /// The container's short id.
        id: String,
        /// The network.
        network: String,
    },
    /// The network carries the `-p` mappings.
    #[error(
        "network {network} carries the published ports of container {id} ({ports}); disconnect -f unpublishes them"
    )]
    CarriesPorts {
        /// The container's short id.
        id: String,
        /// The network.
        network: String,
        /// The `-p` specs.
        ports: String,
    },
}

/// Refuses `host`/`none` as the network to connect or disconnect.
fn check_network(network: &str) -> Result<(), ConnectError> {
    match network {
        "host" | "none" => Err(ConnectError::SpecialNetwork(network.to_owned())),
        _ => Ok(()),
    }
}

/// Refuses a container in `host` or `none` mode.
fn check_mode(rec: &ContainerRecord) -> Result<(), ConnectError> {
    match rec
        .host_config
        .networks
        .iter()
        .find(|n| matches!(n.as_str(), "host" | "none"))
    {
        Some(mode) => Err(ConnectError::SpecialMode {
            id: rec.short_id().to_owned(),
            mode: mode.clone(),
        }),
        None => Ok(()),
    }
}

/// The first `ethN` no attachment of the container uses.
pub fn free_ifname(rec: &ContainerRecord) -> String {
    let used: Vec<&str> = rec
        .network_settings
        .networks
        .values()
        .map(|a| a.if_name.as_str())
        .collect();
    (0..)
        .map(|i| format!("eth{i}"))
        .find(|n| !used.contains(&n.as_str()))
        .unwrap_or_default()
}

/// The network the `-p` mappings went to at start: the first with a portmap plugin.
fn ports_network<'a>(store: &NetworkStore, networks: &'a [String]) -> Option<&'a str> {
    networks
        .iter()
        .find(|n| {
            store
                .get(n)
                .is_ok_and(|net| net.list.plugin_types().contains(&"portmap"))
        })
        .map(String::as_str)
}

/// Connects the container `id` to `network` (with the static address `ip`, if given, and the
/// DNS `aliases` it has there, `--alias`: a user network only). Returns the attachment when
/// the network was attached now, `None` when only recorded for the next start.
pub fn connect(
    eng: &Engine<'_>,
    id: &str,
    network: &str,
    ip: Option<IpAddr>,
    aliases: &[String],
) -> anyhow::Result<Option<Attachment>> {
    check_network(network)?;
    super::aliases::check("--alias", network, aliases)?;
    let net = eng.networks.get(network)?;
    let _lock = eng.containers.lock_networks(id)?;
    let rec = eng.containers.load(id)?;
    check_mode(&rec)?;
    if rec.host_config.networks.iter().any(|n| n == network) {
        return Err(ConnectError::AlreadyConnected {
            id: rec.short_id().to_owned(),
            network: network.to_owned(),
        }
        .into());
    }
    let netns = Path::new(&rec.network_settings.sandbox_key);
    let attachment = if rec.network_settings.sandbox_key.is_empty() {
        None
    } else {
        let ifname = free_ifname(&rec);
        Some(net::add_one(&eng.net(), id, &net, &ifname, netns, &[], ip)?)
    };
    let dir = eng.containers.dir(id);
    let recorded = attachment
        .as_ref()
        .map(|a| super::files::update_hosts(&dir, rec.hostname(), &rec.name, &a.addresses(), &[]))
        .transpose()
        .and_then(|_| {
            eng.containers.update(id, |r| {
                r.host_config.networks.push(network.to_owned());
                if let Some(ip) = ip {
                    r.host_config
                        .static_ips
                        .insert(network.to_owned(), ip.to_string());
                }
                if !aliases.is_empty() {
                    r.host_config
                        .network_aliases
                        .insert(network.to_owned(), aliases.to_vec());
                }
                if let Some(a) = &attachment {
                    r.network_settings
                        .networks
                        .insert(network.to_owned(), a.clone());
                }
            })
        });
    if let Err(e) = recorded {
        if let Some(a) = &attachment {
            let _ = net::del_one(&eng.net(), id, network, &a.if_name, netns);
            let _ =
                super::files::update_hosts(&dir, rec.hostname(), &rec.name, &[], &a.addresses());
        }
        return Err(e.into());
    }
    eng.networks.emit(&net, "connect", Some(id));
    let served = crate::dns::table::serves(&net).is_some();
    super::lifecycle::sync_dns(eng, attachment.is_some() && served, [network]);
    Ok(attachment)
}

/// Disconnects the container `id` from `network`. While it runs, its last network stays and,
/// unless `force` (which drops the ports from the record), so does the network that carries
/// its published ports; with `force` a network the container is not on is not an error (a
/// cached attachment left for it is deleted).
pub fn disconnect(eng: &Engine<'_>, id: &str, network: &str, force: bool) -> anyhow::Result<()> {
    check_network(network)?;
    let _lock = eng.containers.lock_networks(id)?;
    let rec = eng.containers.load(id)?;
    check_mode(&rec)?;
    let nets = &rec.host_config.networks;
    let Some(pos) = nets.iter().position(|n| n == network) else {
        eng.networks.get(network)?;
        if force {
            return delete_cached(eng, id, network);
        }
        return Err(ConnectError::NotConnected {
            id: rec.short_id().to_owned(),
            network: network.to_owned(),
        }
        .into());
    };
    // A container that does not run has no attachment to lose: it may be left on no network
    // (loopback only, as Docker has it) and its ports wait for the networks it has at start;
    // docker-compose disconnects and reconnects a created container's network this way.
    let attached = rec.network_settings.networks.contains_key(network);
    if nets.len() == 1 && attached {
        return Err(ConnectError::LastNetwork {
            id: rec.short_id().to_owned(),
            network: network.to_owned(),
        }
        .into());
    }
    let ports = &rec.host_config.port_bindings;
    let carries =
        attached && !ports.is_empty() && ports_network(&eng.networks, nets) == Some(network);
    if carries && !force {
        return Err(ConnectError::CarriesPorts {
            id: rec.short_id().to_owned(),
            network: network.to_owned(),
            ports: ports.join(", "),
        }
        .into());
    }
    if let Some(a) = rec.network_settings.networks.get(network) {
        let netns = Path::new(&rec.network_settings.sandbox_key);
        net::del_one(&eng.net(), id, network, &a.if_name, netns)?;
        let dir = eng.containers.dir(id);
        super::files::update_hosts(&dir, rec.hostname(), &rec.name, &[], &a.addresses())?;
    }
    eng.containers.update(id, |r| {
        r.host_config.networks.retain(|n| n != network);
        r.host_config.static_ips.remove(network);
        r.host_config.network_aliases.remove(network);
        if pos == 0 {
            // `--ip` was the first network's.
            r.host_config.ip = None;
        }
        if carries {
            r.host_config.port_bindings.clear();
        }
        r.network_settings.networks.remove(network);
    })?;
    if let Ok(net) = eng.networks.get(network) {
        eng.networks.emit(&net, "disconnect", Some(id));
    }
    super::lifecycle::sync_dns(eng, false, [network]);
    Ok(())
}

/// DEL of every cached attachment of the container on `network` (`disconnect -f` of a network
/// the record does not list).
fn delete_cached(eng: &Engine<'_>, id: &str, network: &str) -> anyhow::Result<()> {
    for c in eng.invoker.cached_attachments(Some(network))? {
        if c.container_id == id {
            eng.invoker.del_cached(&c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::HostConfig;
    use std::os::unix::fs::PermissionsExt;

    fn rec_on(networks: &[&str], ifnames: &[&str]) -> ContainerRecord {
        let mut r = ContainerRecord {
            id: "c".repeat(64),
            host_config: HostConfig {
                networks: networks.iter().map(|n| n.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        };
        for (i, ifname) in ifnames.iter().enumerate() {
            r.network_settings.networks.insert(
                format!("n{i}"),
                Attachment {
                    if_name: ifname.to_string(),
                    ..Default::default()
                },
            );
        }
        r
    }

    #[test]
    fn the_next_interface_is_the_first_free_eth() {
        assert_eq!(free_ifname(&rec_on(&["a"], &[])), "eth0");
        assert_eq!(free_ifname(&rec_on(&["a", "b"], &["eth0", "eth1"])), "eth2");
        assert_eq!(free_ifname(&rec_on(&["a", "b"], &["eth0", "eth2"])), "eth1");
    }

    /// An engine over temp dirs with the networks `bridge` and `web` and no CNI plugins: enough
    /// for containers that are not running (no plugin runs for them).
    struct World {
        d: tempfile::TempDir,
        store: crate::store::Store,
    }

    impl World {
        fn new() -> World {
            let d = tempfile::tempdir().unwrap();
            let proc_root = d.path().join("proc");
            std::fs::create_dir_all(proc_root.join("net")).unwrap();
            std::fs::write(proc_root.join("net/route"), "Iface\tDestination\n").unwrap();
            // A stand-in portmap, so the networks get one (no plugin ever runs here).
            let cni = d.path().join("cni-bin");
            std::fs::create_dir_all(&cni).unwrap();
            std::fs::write(cni.join("portmap"), "").unwrap();
            std::fs::set_permissions(cni.join("portmap"), PermissionsExt::from_mode(0o755))
                .unwrap();
            let networks = NetworkStore::new(&d.path().join("root"), vec![cni]);
            let req = crate::network::CreateRequest::bridge("web", &["10.89.0.0/24"]);
            networks
                .create(req, &d.path().join("locks"), &proc_root)
                .unwrap();
            let store =
                crate::store::Store::open(&d.path().join("root"), crate::storage::DriverKind::Vfs)
                    .unwrap();
            World { d, store }
        }

        fn engine(&self) -> Engine<'_> {
            let root = self.d.path().join("root");
            let run = self.d.path().join("run");
            let exec = berth_core::cni::RawExec {
                search_path: vec![],
                timeout: None,
            };
            Engine {
                store: &self.store,
                containers: crate::container::ContainerStore::new(&root, &run),
                networks: NetworkStore::new(&root, vec![self.d.path().join("cni-bin")]),
                invoker: berth_core::invoke::Invoker::new(
                    exec,
                    vec![],
                    root.join("cni"),
                    run.join("locks/cni"),
                ),
                netns_dir: run.join("netns"),
                runtime_root: run.join("runtime"),
                dns: crate::dns::DnsControl::new(&root, &run),
            }
        }
    }

    /// A created container `c` on the default `bridge` (with `--ip`, if given).
    fn created(eng: &Engine<'_>, ip: Option<&str>) -> ContainerRecord {
        eng.containers
            .create(Some("c"), |id, name| ContainerRecord {
                id,
                name,
                host_config: HostConfig {
                    networks: vec!["bridge".into()],
                    ip: ip.map(str::to_owned),
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap()
    }

    #[test]
    fn a_stopped_containers_networks_change_in_its_record() {
        let w = World::new();
        let eng = w.engine();
        let rec = created(&eng, Some("10.88.0.9"));
        let id = rec.id.as_str();
        let ip: IpAddr = "10.89.0.5".parse().unwrap();
        assert!(connect(&eng, id, "web", Some(ip), &[]).unwrap().is_none());
        let r = eng.containers.load(id).unwrap();
        assert_eq!(r.host_config.networks, ["bridge", "web"]);
        assert_eq!(r.host_config.static_ips["web"], "10.89.0.5");
        let e = connect(&eng, id, "web", None, &[]).unwrap_err().to_string();
        assert!(e.contains("already connected to network web"), "{e}");
        let e = connect(&eng, id, "nosuch", None, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("nosuch"), "{e}");
        let e = connect(&eng, id, "host", None, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--network host"), "{e}");
        // The first network goes, and the --ip that was its with it.
        disconnect(&eng, id, "bridge", false).unwrap();
        let r = eng.containers.load(id).unwrap();
        assert_eq!(r.host_config.networks, ["web"]);
        assert_eq!(r.host_config.ip, None);
        assert_eq!(r.host_config.static_ips().unwrap(), [Some(ip)]);
        // Not running, it may be left on no network (compose disconnects and reconnects so).
        disconnect(&eng, id, "web", false).unwrap();
        assert!(
            eng.containers
                .load(id)
                .unwrap()
                .host_config
                .networks
                .is_empty()
        );
        let e = disconnect(&eng, id, "bridge", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not connected to network bridge"), "{e}");
        disconnect(&eng, id, "bridge", true).unwrap();
        // Its ports are the container's: they stay when the network that would carry them
        // goes, for the networks it has at its next start.
        connect(&eng, id, "web", None, &[]).unwrap();
        connect(&eng, id, "bridge", None, &[]).unwrap();
        eng.containers
            .update(id, |r| r.host_config.port_bindings = vec!["8080:80".into()])
            .unwrap();
        disconnect(&eng, id, "web", false).unwrap();
        let r = eng.containers.load(id).unwrap();
        assert_eq!(r.host_config.networks, ["bridge"]);
        assert_eq!(r.host_config.port_bindings, ["8080:80"]);
        assert!(r.host_config.static_ips.is_empty());
        let e = disconnect(&eng, "0".repeat(64).as_str(), "web", false).unwrap_err();
        assert!(e.to_string().contains("no such container"), "{e}");
    }

    #[test]
    fn aliases_are_recorded_with_the_network_and_go_with_it() {
        let w = World::new();
        let eng = w.engine();
        let rec = created(&eng, None);
        let id = rec.id.as_str();
        let aliases = ["db".to_owned(), "db.internal".to_owned()];
        // The default bridge has no DNS to answer them, and bad names never get in: the record
        // stays as it was.
        let e = connect(&eng, id, "bridge", None, &aliases).unwrap_err();
        assert!(
            e.to_string()
                .contains("network-scoped aliases are only supported for user-defined networks"),
            "{e}"
        );
        let e = connect(&eng, id, "web", None, &["no_way".to_owned()]).unwrap_err();
        assert!(e.to_string().contains("invalid --alias \"no_way\""), "{e}");
        assert_eq!(eng.containers.load(id).unwrap(), rec);

        assert!(connect(&eng, id, "web", None, &aliases).unwrap().is_none());
        let r = eng.containers.load(id).unwrap();
        assert_eq!(r.host_config.networks, ["bridge", "web"]);
        assert_eq!(r.host_config.network_aliases["web"], aliases);
        assert_eq!(r.host_config.network_aliases.len(), 1);
        // A refused second connect leaves the first one's aliases.
        connect(&eng, id, "web", None, &["other".to_owned()]).unwrap_err();
        let r = eng.containers.load(id).unwrap();
        assert_eq!(r.host_config.network_aliases["web"], aliases);
        // They go with the network, and a reconnect without any has none.
        disconnect(&eng, id, "web", false).unwrap();
        let r = eng.containers.load(id).unwrap();
        assert!(r.host_config.network_aliases.is_empty());
        connect(&eng, id, "web", None, &[]).unwrap();
        let r = eng.containers.load(id).unwrap();
        assert!(r.host_config.network_aliases.is_empty());
    }

    #[test]
    fn host_and_none_are_refused_as_networks_and_as_modes() {
        for n in ["host", "none"] {
            let e = check_network(n).unwrap_err().to_string();
            assert!(e.contains(&format!("--network {n}")), "{e}");
            let e = check_mode(&rec_on(&[n], &[])).unwrap_err().to_string();
            assert!(e.contains(&format!("uses --network {n}")), "{e}");
        }
        assert!(check_network("web").is_ok());
        assert!(check_mode(&rec_on(&["bridge", "web"], &[])).is_ok());
    }
}
