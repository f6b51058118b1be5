//! Networks as a user sees them: definitions stored as CNI config lists under
//! `<root>/networks/<name>.conflist`, created, listed and removed here. The built-in networks
//! `bridge` (written on first use), `host` and `none` always exist. Running the plugins is left
//! to [`berth_core::invoke`]; attaching namespaces lives in [`attach`].

pub mod attach;
mod create;
mod events;
mod id;
pub mod netns;
mod remove;
pub mod spec;
pub mod subnet;

use std::path::{Path, PathBuf};

use berth_core::invoke::{InvokeError, NetworkList};
use ipnetwork::IpNetwork;
use serde_json::json;

pub use create::CreateRequest;
pub use remove::{check_not_joined, prune, remove};
pub use spec::{Driver, NetworkSpec, SubnetSpec};

/// The default network.
pub const DEFAULT_NETWORK: &str = "bridge";
/// The built-in networks, always listed.
pub const BUILTINS: [&str; 3] = ["bridge", "host", "none"];
/// The default network's subnet.
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";
/// The default network's bridge device.
pub const DEFAULT_BRIDGE: &str = "berth0";

/// What can go wrong managing networks.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The name is not `[A-Za-z0-9][A-Za-z0-9_.-]*`.
    #[error("invalid network name {name:?}: must match [A-Za-z0-9][A-Za-z0-9_.-]*")]
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// A network of that name exists.
    #[error("network {name} already exists")]
    Exists {
        /// The name.
        name: String,
    },
    /// No network of that name.
    #[error("network {name} not found")]
    NotFound {
        /// The name.
        name: String,
    },
    /// Built-in networks cannot be created or removed.
    #[error("network {name} is built in and cannot be {action}")]
    Builtin {
        /// The name.
        name: String,
        /// `created` or `removed`.
        action: &'static str,
    },
    /// A subnet or range is not a valid CIDR.
    #[error("invalid CIDR {value:?}: {reason}")]
    BadCidr {
        /// What was typed.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A subnet overlaps another network or a host route.
    #[error("subnet {subnet} overlaps {other}")]
    Overlap {
        /// The requested subnet.
        subnet: IpNetwork,
        /// What it overlaps, e.g. `network web (10.89.0.0/24)`.
        other: String,
    },
    /// The gateway is not a usable address of any subnet.
    #[error("gateway {gateway} is not a usable address inside any --subnet")]
    GatewayOutside {
        /// The gateway.
        gateway: std::net::IpAddr,
    },
    /// The IP range is not inside any subnet.
    #[error("--ip-range {range} is not inside any --subnet")]
    RangeOutside {
        /// The range.
        range: IpNetwork,
    },
    /// No free subnet was left to pick.
    #[error("no free subnet left in 10.89.0.0-10.255.255.0/24; pass --subnet")]
    NoFreeSubnet,
    /// An `--opt` was refused.
    #[error("invalid --opt {key}: {reason}")]
    BadOption {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// Another network already uses the bridge device name.
    #[error("bridge {bridge} is already used by network {other}")]
    BridgeTaken {
        /// The bridge name.
        bridge: String,
        /// The network using it.
        other: String,
    },
    /// The network still has attachments.
    #[error("network {name} has {count} attachment(s); detach them or use --force")]
    InUse {
        /// The name.
        name: String,
        /// How many.
        count: usize,
    },
    /// Only this host's definition of an overlay network the host is joined to would go, and
    /// its node agent would define it again.
    #[error(
        "{name} is an overlay network this host is joined to, so its node agent would define it \
         again: `berth node leave --network {name}` takes this host out of it, `berth net rm \
         --cluster {name}` removes it from every host"
    )]
    JoinedOverlay {
        /// The name.
        name: String,
    },
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being attempted.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Loading a config list or running plugins failed.
    #[error(transparent)]
    Invoke(#[from] InvokeError),
}

/// A network: its config list and, for berth's own networks, the definition.
#[derive(Debug, Clone)]
pub struct Network {
    /// The validated config list.
    pub list: NetworkList,
    /// The definition (`args.berth`), absent for foreign conflists.
    pub spec: Option<NetworkSpec>,
    /// One of [`BUILTINS`].
    pub builtin: bool,
    /// Where the conflist lives; `None` for `host`/`none` and a not-yet-created `bridge`.
    pub path: Option<PathBuf>,
}

impl Network {
    fn from_list(list: NetworkList, path: Option<PathBuf>) -> Self {
        let spec = list
            .raw
            .pointer("/args/berth")
            .and_then(|v| serde_json::from_value::<NetworkSpec>(v.clone()).ok());
        Network {
            builtin: BUILTINS.contains(&list.name.as_str()),
            spec,
            list,
            path,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.list.name
    }

    /// The subnets (empty for host/none and foreign lists).
    pub fn subnets(&self) -> Vec<IpNetwork> {
        self.spec
            .as_ref()
            .map(|s| s.subnets.iter().map(|s| s.subnet).collect())
            .unwrap_or_default()
    }

    /// The driver's name (or the first plugin's type for foreign lists).
    pub fn driver(&self) -> String {
        match &self.spec {
            Some(s) => s.driver.as_str().to_string(),
            None => self
                .list
                .plugin_types()
                .first()
                .copied()
                .unwrap_or("")
                .to_string(),
        }
    }
}

/// The network definitions under a root.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    /// `<root>/networks`.
    pub dir: PathBuf,
    /// `<root>/ipam` (host-local's dataDir).
    pub ipam_dir: PathBuf,
    /// Directories searched for plugins (decides whether `portmap` is included).
    pub cni_path: Vec<PathBuf>,
}

impl NetworkStore {
    /// The store under `root`.
    pub fn new(root: &Path, cni_path: Vec<PathBuf>) -> Self {
        NetworkStore {
            dir: root.join("networks"),
            ipam_dir: root.join("ipam"),
            cni_path,
        }
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.conflist"))
    }

    /// Whether a `portmap` plugin is installed (it is added to new networks when it is).
    pub fn has_portmap(&self) -> bool {
        berth_core::cni::exec::find_plugin("portmap", &self.cni_path).is_ok()
    }

    /// The network called `name`. `bridge` is written on first use; `host` and `none` are
    /// generated.
    pub fn get(&self, name: &str) -> Result<Network, NetworkError> {
        let path = self.path_of(name);
        if berth_core::names::is_cni_name(name) && path.is_file() {
            return Ok(Network::from_list(NetworkList::load(&path)?, Some(path)));
        }
        match name {
            DEFAULT_NETWORK => self.ensure_default(),
            "host" | "none" => Ok(Network::from_list(builtin_list(name)?, None)),
            _ => Err(NetworkError::NotFound { name: name.into() }),
        }
    }

    /// Every network, built-ins first, then the rest by name. Unreadable conflists are
    /// skipped with a warning.
    pub fn list(&self) -> Result<Vec<Network>, NetworkError> {
        let mut out = vec![self.default_network(false)?];
        for name in ["host", "none"] {
            out.push(Network::from_list(builtin_list(name)?, None));
        }
        for (name, path) in self.stored()? {
            if BUILTINS.contains(&name.as_str()) {
                continue;
            }
            match NetworkList::load(&path) {
                Ok(list) => out.push(Network::from_list(list, Some(path))),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "skipping network"),
            }
        }
        Ok(out)
    }

    /// `(name, path)` of every stored conflist, sorted.
    fn stored(&self) -> Result<Vec<(String, PathBuf)>, NetworkError> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(NetworkError::Io {
                    op: "list networks in",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut out: Vec<(String, PathBuf)> = rd
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e
                    .file_name()
                    .to_string_lossy()
                    .strip_suffix(".conflist")?
                    .to_string();
                Some((name, e.path()))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// The default network, written to disk when `write` and not there yet.
    fn default_network(&self, write: bool) -> Result<Network, NetworkError> {
        let path = self.path_of(DEFAULT_NETWORK);
        if path.is_file() {
            return Ok(Network::from_list(NetworkList::load(&path)?, Some(path)));
        }
        let spec = create::default_spec()?;
        let value = spec::conflist(&spec, &self.ipam_dir, self.has_portmap());
        let bytes = to_bytes(&value);
        if write {
            create::write_new(&path, &bytes)?;
            return Ok(Network::from_list(NetworkList::load(&path)?, Some(path)));
        }
        Ok(Network::from_list(NetworkList::parse(bytes)?, None))
    }

    fn ensure_default(&self) -> Result<Network, NetworkError> {
        match self.default_network(true) {
            // Another process wrote it first.
            Err(NetworkError::Exists { .. }) => self.default_network(false),
            other => other,
        }
    }

    /// Removes a network's conflist and its IPAM leftovers. Built-ins other than a written
    /// `bridge` are refused; attachments are the caller's business.
    pub fn remove(&self, name: &str) -> Result<(), NetworkError> {
        if BUILTINS.contains(&name) {
            return Err(NetworkError::Builtin {
                name: name.into(),
                action: "removed",
            });
        }
        let path = self.path_of(name);
        if !berth_core::names::is_cni_name(name) || !path.is_file() {
            return Err(NetworkError::NotFound { name: name.into() });
        }
        std::fs::remove_file(&path).map_err(|source| NetworkError::Io {
            op: "remove",
            path: path.clone(),
            source,
        })?;
        let ipam = self.ipam_dir.join(name);
        if let Err(e) = std::fs::remove_dir_all(&ipam) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %ipam.display(), error = %e, "leaving IPAM leftovers");
            }
        }
        Ok(())
    }
}

fn builtin_list(name: &str) -> Result<NetworkList, NetworkError> {
    let ty = if name == "host" { "host" } else { "none" };
    let v = json!({"cniVersion": "1.0.0", "cniVersions": ["1.0.0", "1.1.0"], "name": name,
                   "plugins": [{"type": ty}]});
    Ok(NetworkList::parse(to_bytes(&v))?)
}

/// Pretty JSON bytes of a value (cannot fail for a `Value`).
pub(crate) fn to_bytes(v: &serde_json::Value) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}
