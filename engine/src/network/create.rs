//! `berth net create`: validate the request, pick a free subnet when none is given, and write
//! the conflist atomically under a lock so parallel creates never pick the same subnet.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use berth_core::invoke::lock::{LockMode, lock_file};
use berth_core::names::is_cni_name;
use ipnetwork::IpNetwork;
use sha2::{Digest, Sha256};

use super::spec::{self, Driver, NetworkSpec};
use super::subnet::{self, overlaps, parse_range, parse_subnet};
use super::{
    BUILTINS, DEFAULT_BRIDGE, DEFAULT_NETWORK, DEFAULT_SUBNET, Network, NetworkError, NetworkStore,
    to_bytes,
};

/// What the user asked for, unparsed.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The network's name.
    pub name: String,
    /// The plugin.
    pub driver: Driver,
    /// `--subnet` values.
    pub subnets: Vec<String>,
    /// `--gateway`.
    pub gateway: Option<IpAddr>,
    /// `--ip-range`.
    pub ip_range: Option<String>,
    /// `--internal`.
    pub internal: bool,
    /// `--ipv6`.
    pub ipv6: bool,
    /// `--opt` pairs.
    pub options: BTreeMap<String, String>,
    /// `--label` pairs.
    pub labels: BTreeMap<String, String>,
    /// Overlay driver only: the node agent's state directory (default
    /// `/run/berth/overlay`).
    pub overlay_state_dir: Option<std::path::PathBuf>,
}

impl CreateRequest {
    /// A bridge network called `name` on `subnets`, with nothing else set.
    pub fn bridge(name: &str, subnets: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            driver: Driver::Bridge,
            subnets: subnets.iter().map(|s| (*s).to_owned()).collect(),
            gateway: None,
            ip_range: None,
            internal: false,
            ipv6: false,
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
            overlay_state_dir: None,
        }
    }
}

/// The default network's definition.
pub(super) fn default_spec() -> Result<NetworkSpec, NetworkError> {
    let subnet = parse_subnet(DEFAULT_SUBNET)?;
    Ok(NetworkSpec {
        name: DEFAULT_NETWORK.into(),
        driver: Driver::Bridge,
        subnets: spec::subnet_specs(&[subnet], None, None)?,
        bridge: Some(DEFAULT_BRIDGE.into()),
        internal: false,
        ipv6: false,
        mtu: None,
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        created: 0,
        overlay_state_dir: None,
    })
}

/// `berth-<name>` when that fits in 15 bytes, else `berth-` + 9 hex digits of its sha256.
pub fn bridge_name(network: &str) -> String {
    if network.len() <= 9 {
        return format!("berth-{network}");
    }
    let digest = Sha256::digest(network.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("berth-{}", &hex[..9])
}

/// Writes `bytes` to `path` only if nothing is there yet (temp file + hard link).
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), NetworkError> {
    let io = |op, source| NetworkError::Io {
        op,
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("create directory for", e))?;
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| io("write", e))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(NetworkError::Exists {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }),
        Err(e) => Err(io("write", e)),
    }
}

impl NetworkStore {
    /// Creates a network. `lock_dir` holds the lock that serialises creates; `proc_root`
    /// (`/proc`) gives the host's routes, which a picked or given subnet must not overlap.
    pub fn create(
        &self,
        req: CreateRequest,
        lock_dir: &Path,
        proc_root: &Path,
    ) -> Result<Network, NetworkError> {
        if !is_cni_name(&req.name) {
            return Err(NetworkError::InvalidName { name: req.name });
        }
        if BUILTINS.contains(&req.name.as_str()) {
            return Err(NetworkError::Builtin {
                name: req.name,
                action: "created",
            });
        }
        let mut given: Vec<IpNetwork> = req
            .subnets
            .iter()
            .map(|s| parse_subnet(s))
            .collect::<Result<_, _>>()?;
        let ip_range = req.ip_range.as_deref().map(parse_range).transpose()?;
        if req.driver == Driver::Overlay {
            check_overlay_request(&req, &given, ip_range)?;
        }
        let _lock = lock_file(&lock_dir.join("networks.lock"), LockMode::Exclusive)?;
        let path = self.path_of(&req.name);
        if path.exists() {
            return Err(NetworkError::Exists { name: req.name });
        }
        let existing = self.list()?;
        // An overlay's subnet is the cluster's: this host routes the other hosts' slices of it
        // (through the VXLAN device), so only other networks count.
        let host_routes = if req.driver == Driver::Overlay {
            Vec::new()
        } else {
            subnet::host_routes(proc_root)
        };
        let taken = taken_subnets(&existing, &host_routes);
        for s in &given {
            if let Some((_, what)) = taken.iter().find(|(t, _)| overlaps(s, t)) {
                return Err(NetworkError::Overlap {
                    subnet: *s,
                    other: what.clone(),
                });
            }
        }
        let nets: Vec<IpNetwork> = taken.iter().map(|(n, _)| *n).collect();
        if given.iter().all(|s| !s.is_ipv4()) && (given.is_empty() || !req.ipv6) {
            given.push(subnet::pick_free(&nets, false).ok_or(NetworkError::NoFreeSubnet)?);
        }
        if req.ipv6 && given.iter().all(|s| !s.is_ipv6()) {
            given.push(subnet::pick_free(&nets, true).ok_or(NetworkError::NoFreeSubnet)?);
        }
        let spec = self.build_spec(req, &given, ip_range, &existing)?;
        let value = spec::conflist(&spec, &self.ipam_dir, self.has_portmap());
        write_new(&path, &to_bytes(&value))?;
        let net = self.get(&spec.name)?;
        self.emit(&net, "create", None);
        Ok(net)
    }

    fn build_spec(
        &self,
        req: CreateRequest,
        subnets: &[IpNetwork],
        ip_range: Option<IpNetwork>,
        existing: &[Network],
    ) -> Result<NetworkSpec, NetworkError> {
        let mut spec = NetworkSpec {
            subnets: spec::subnet_specs(subnets, req.gateway, ip_range)?,
            bridge: (req.driver == Driver::Bridge).then(|| bridge_name(&req.name)),
            ipv6: req.ipv6 || subnets.iter().any(|s| s.is_ipv6()),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            mtu: None,
            name: req.name,
            driver: req.driver,
            internal: req.internal,
            overlay_state_dir: req
                .overlay_state_dir
                .filter(|_| req.driver == Driver::Overlay),
            options: req.options,
            labels: req.labels,
        };
        spec::apply_options(&mut spec)?;
        if let Some(bridge) = &spec.bridge {
            let used_by = existing.iter().find(|n| {
                n.spec.as_ref().and_then(|s| s.bridge.as_ref()) == Some(bridge)
                    || n.list
                        .plugins
                        .iter()
                        .any(|p| p["bridge"] == bridge.as_str())
            });
            if let Some(other) = used_by {
                return Err(NetworkError::BridgeTaken {
                    bridge: bridge.clone(),
                    other: other.name().to_string(),
                });
            }
        }
        Ok(spec)
    }
}

/// An overlay network has exactly one IPv4 subnet (the cluster's), and no gateway, range or
/// IPv6: each host's slice and gateway come from the store.
fn check_overlay_request(
    req: &CreateRequest,
    given: &[IpNetwork],
    ip_range: Option<IpNetwork>,
) -> Result<(), NetworkError> {
    let bad = |reason: &str| NetworkError::BadOption {
        key: "driver overlay".into(),
        reason: reason.into(),
    };
    match given {
        [IpNetwork::V4(_)] => {}
        _ => return Err(bad("needs exactly one IPv4 --subnet (the whole cluster's)")),
    }
    if req.gateway.is_some() || ip_range.is_some() || req.ipv6 || req.internal {
        return Err(bad(
            "--gateway, --ip-range, --ipv6 and --internal do not apply: each host's slice comes \
             from the store, and its agent keeps the firewall",
        ));
    }
    Ok(())
}

/// Subnets a new network must not overlap, each with a description for the error message.
fn taken_subnets(existing: &[Network], host_routes: &[IpNetwork]) -> Vec<(IpNetwork, String)> {
    let mut out: Vec<(IpNetwork, String)> = Vec::new();
    for n in existing {
        let mut subnets = n.subnets();
        // Foreign conflists: read host-local ranges directly.
        if n.spec.is_none() {
            subnets.extend(foreign_subnets(n));
        }
        out.extend(
            subnets
                .into_iter()
                .map(|s| (s, format!("network {} ({s})", n.name()))),
        );
    }
    out.extend(
        host_routes
            .iter()
            .map(|r| (*r, format!("a route of the host ({r})"))),
    );
    out
}

fn foreign_subnets(n: &Network) -> Vec<IpNetwork> {
    let mut out = Vec::new();
    for p in &n.list.plugins {
        let Some(ranges) = p.pointer("/ipam/ranges").and_then(|r| r.as_array()) else {
            continue;
        };
        for set in ranges.iter().filter_map(|s| s.as_array()) {
            out.extend(
                set.iter()
                    .filter_map(|r| r["subnet"].as_str())
                    .filter_map(|s| s.parse::<IpNetwork>().ok()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, subnets: &[&str]) -> CreateRequest {
        CreateRequest::bridge(name, subnets)
    }

    struct T {
        d: tempfile::TempDir,
        store: NetworkStore,
    }

    fn world() -> T {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("proc/net")).unwrap();
        std::fs::write(
            d.path().join("proc/net/route"),
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
             eth0\t0000590A\t00000000\t0001\t0\t0\t0\t0000FFFF\n",
        )
        .unwrap();
        let store = NetworkStore::new(&d.path().join("root"), vec![]);
        T { d, store }
    }

    impl T {
        fn create(&self, r: CreateRequest) -> Result<Network, NetworkError> {
            self.store
                .create(r, &self.d.path().join("locks"), &self.d.path().join("proc"))
        }
    }

    #[test]
    fn picks_free_subnets_around_host_routes_and_other_networks() {
        let t = world();
        // The host routes 10.89.0.0/16, so the first pick is 10.90.0.0/24.
        let a = t.create(req("a", &[])).unwrap();
        assert_eq!(a.subnets()[0].to_string(), "10.90.0.0/24");
        let b = t.create(req("b", &[])).unwrap();
        assert_eq!(b.subnets()[0].to_string(), "10.90.1.0/24");
        assert_eq!(b.spec.unwrap().bridge.unwrap(), "berth-b");
        let names: Vec<String> = t
            .store
            .list()
            .unwrap()
            .iter()
            .map(|n| n.name().to_string())
            .collect();
        assert_eq!(names, ["bridge", "host", "none", "a", "b"]);
    }

    #[test]
    fn a_joined_overlay_is_refused_for_local_removal_until_its_lease_goes() {
        let t = world();
        let state = t.d.path().join("overlay");
        let mut options = std::collections::BTreeMap::new();
        options.insert("vni".to_owned(), "4242".to_owned());
        options.insert("slice".to_owned(), "24".to_owned());
        let ov = t
            .create(CreateRequest {
                driver: Driver::Overlay,
                subnets: vec!["10.100.0.0/16".into()],
                options,
                overlay_state_dir: Some(state.clone()),
                ..req("ov", &[])
            })
            .unwrap();
        let plain = t.create(req("plain", &["10.50.0.0/24"])).unwrap();
        super::super::check_not_joined(&ov).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(state.join("ov.json"), "{}").unwrap();
        std::fs::write(state.join("plain.json"), "{}").unwrap();
        let e = super::super::check_not_joined(&ov).unwrap_err();
        assert!(matches!(e, NetworkError::JoinedOverlay { .. }), "{e}");
        assert!(e.to_string().contains("node leave --network ov"), "{e}");
        super::super::check_not_joined(&plain).unwrap();
    }

    #[test]
    fn refuses_overlaps_duplicates_builtins_and_bad_names() {
        let t = world();
        t.create(req("a", &["10.50.0.0/24"])).unwrap();
        let e = t.create(req("b", &["10.50.0.0/16"])).unwrap_err();
        assert!(e.to_string().contains("overlaps network a"), "{e}");
        let e = t.create(req("c", &["10.89.3.0/24"])).unwrap_err();
        assert!(e.to_string().contains("route of the host"), "{e}");
        let e = t.create(req("d", &["10.88.1.0/24"])).unwrap_err();
        assert!(e.to_string().contains("network bridge"), "{e}");
        let e = t.create(req("a", &["10.51.0.0/24"])).unwrap_err();
        assert!(matches!(e, NetworkError::Exists { .. }), "{e}");
        let e = t.create(req("host", &[])).unwrap_err();
        assert!(matches!(e, NetworkError::Builtin { .. }), "{e}");
        let e = t.create(req("../x", &[])).unwrap_err();
        assert!(matches!(e, NetworkError::InvalidName { .. }), "{e}");
    }

    #[test]
    fn ipv6_adds_a_ula_subnet_and_long_names_get_hashed_bridges() {
        let t = world();
        let mut r = req("a-very-long-network-name", &[]);
        r.ipv6 = true;
        let n = t.create(r).unwrap();
        let subs: Vec<String> = n.subnets().iter().map(|s| s.to_string()).collect();
        assert_eq!(subs, ["10.90.0.0/24", "fd89::/64"]);
        let bridge = n.spec.unwrap().bridge.unwrap();
        assert!(
            bridge.starts_with("berth-") && bridge.len() == 15,
            "{bridge}"
        );
    }

    #[test]
    fn remove_deletes_the_conflist_but_not_builtins() {
        let t = world();
        t.create(req("a", &[])).unwrap();
        t.store.remove("a").unwrap();
        assert!(matches!(
            t.store.get("a"),
            Err(NetworkError::NotFound { .. })
        ));
        assert!(matches!(
            t.store.remove("bridge"),
            Err(NetworkError::Builtin { .. })
        ));
        // The default network appears on first use.
        let b = t.store.get("bridge").unwrap();
        assert!(b.path.unwrap().is_file());
    }
}
