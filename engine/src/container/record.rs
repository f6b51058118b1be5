//! A container's record, `<root>/containers/<id>/config.json`, in Docker's shape (so
//! [`super::refs`] and `docker inspect` readers understand it) plus berth's own
//! fields. Everything the CLI shows about a container comes from here.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Lifecycle status, as Docker spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, never started.
    #[default]
    Created,
    /// The process runs (the shim watches it).
    Running,
    /// Frozen.
    Paused,
    /// The process ended.
    Exited,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Exited => "exited",
        })
    }
}

/// Docker's `State`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    /// created, running, paused or exited.
    pub status: Status,
    /// Whether the process runs.
    pub running: bool,
    /// Whether it is frozen.
    #[serde(default)]
    pub paused: bool,
    /// The init's pid on the host (0 when not running).
    pub pid: i32,
    /// The shim's pid (0 when none).
    #[serde(default)]
    pub shim_pid: i32,
    /// The exit code of the last run.
    pub exit_code: i32,
    /// Why the last start failed, if it did.
    #[serde(default)]
    pub error: String,
    /// RFC 3339; empty when never started.
    #[serde(default)]
    pub started_at: String,
    /// RFC 3339; empty when never finished.
    #[serde(default)]
    pub finished_at: String,
}

/// What runs: Docker's `Config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    /// The image as the user named it.
    pub image: String,
    /// Hostname inside the container.
    pub hostname: String,
    /// `KEY=VALUE`, image's first, then `-e`.
    pub env: Vec<String>,
    /// The full argv (entrypoint + cmd).
    pub cmd: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// `uid[:gid]` or a name.
    #[serde(default)]
    pub user: String,
    /// Labels: the image's, then `--label` (also in the container's event attributes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `-i` and `-t`.
    #[serde(flatten)]
    pub stdio: StdioConfig,
}

/// How the container's stdio is wired (Docker's `Tty`, `OpenStdin`, `StdinOnce`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StdioConfig {
    /// `-t`: the process runs on a pty; its output is one stream.
    #[serde(default)]
    pub tty: bool,
    /// `-i`: stdin is a pipe (or the pty) the shim keeps open for attached clients.
    #[serde(default)]
    pub open_stdin: bool,
    /// Stdin closes when an attached client's input ends (`-i` without `-d`).
    #[serde(default)]
    pub stdin_once: bool,
}

/// Resource and security settings: Docker's `HostConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    /// `--rm`.
    pub auto_remove: bool,
    /// The networks in order (`host`, `none` or names).
    pub networks: Vec<String>,
    /// `-p` specs as given.
    pub port_bindings: Vec<String>,
    /// `--ip` for the first network.
    #[serde(default)]
    pub ip: Option<String>,
    /// `--memory` in bytes (0 = unlimited).
    #[serde(default)]
    pub memory: i64,
    /// `--cpus` in billionths of a CPU (0 = unlimited).
    #[serde(default)]
    pub nano_cpus: i64,
    /// `--pids-limit` (0 = unlimited).
    #[serde(default)]
    pub pids_limit: i64,
    /// `--read-only`.
    #[serde(default)]
    pub readonly_rootfs: bool,
    /// `--cap-add`.
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    #[serde(default)]
    pub cap_drop: Vec<String>,
    /// `--privileged`.
    #[serde(default)]
    pub privileged: bool,
    /// Static addresses of networks connected later (`net connect --ip`), by network name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub static_ips: BTreeMap<String, String>,
    /// `--init`: a small init runs as PID 1 and starts the command.
    #[serde(default)]
    pub init: bool,
    /// The init binary on the host (`--init-path`, else found at create); empty without
    /// `--init`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub init_path: String,
    /// `--dns`: the container's name servers instead of the host's ([`super::dns`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// `--dns-search`: search domains instead of the host's (`.`: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    /// `--dns-option`: resolver options instead of the host's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_options: Vec<String>,
    /// `--network-alias` and `net connect --alias`: extra names the container answers to in
    /// the DNS of each user network, by network name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub network_aliases: BTreeMap<String, Vec<String>>,
    /// `--tmpfs`: destination to tmpfs options ([`super::tmpfs`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
}

impl HostConfig {
    /// The static address for each of [`HostConfig::networks`] in order: `--ip` for the first,
    /// `net connect --ip` ones for any.
    pub fn static_ips(&self) -> Result<Vec<Option<IpAddr>>, std::net::AddrParseError> {
        self.networks
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let ip = self
                    .static_ips
                    .get(n)
                    .or(self.ip.as_ref().filter(|_| i == 0));
                ip.map(|a| a.parse()).transpose()
            })
            .collect()
    }
}

/// One mount: Docker's `MountPoints` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// `bind` or `volume`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The volume name (empty for binds).
    pub name: String,
    /// Host path.
    pub source: String,
    /// Path in the container.
    pub destination: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// Created for this container (`-v /path`), removed by `rm -v`.
    #[serde(default)]
    pub anonymous: bool,
}

/// One network attachment while the container runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attachment {
    /// Interface name in the container.
    pub if_name: String,
    /// Addresses with prefix length.
    pub ip_addresses: Vec<String>,
    /// The CNI result.
    #[serde(default)]
    pub result: Value,
}

impl Attachment {
    /// The addresses without their prefix length.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.ip_addresses
            .iter()
            .filter_map(|a| a.split('/').next()?.parse().ok())
            .collect()
    }
}

/// Docker's `NetworkSettings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    /// The netns path (empty for `host`).
    pub sandbox_key: String,
    /// Attachments by network name.
    pub networks: BTreeMap<String, Attachment>,
}

/// `<root>/containers/<id>/config.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRecord {
    /// 64 hex digits.
    pub id: String,
    /// Unique name (Docker stores it with a leading `/`; berth without).
    pub name: String,
    /// RFC 3339.
    pub created: String,
    /// `sha256:<image id>`.
    pub image: String,
    /// What runs.
    pub config: RunConfig,
    /// Resources and security.
    pub host_config: HostConfig,
    /// Mounts by destination.
    pub mount_points: BTreeMap<String, MountPoint>,
    /// Networks while running.
    pub network_settings: NetworkSettings,
    /// Runtime state.
    pub state: ContainerState,
    /// The json-file log.
    pub log_path: String,
    /// How often it was started.
    #[serde(default)]
    pub restart_count: u32,
}

impl ContainerRecord {
    /// The first 12 hex digits.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }

    /// The hostname inside the container: `--hostname`, else the short id.
    pub fn hostname(&self) -> &str {
        if self.config.hostname.is_empty() {
            self.short_id()
        } else {
            &self.config.hostname
        }
    }

    /// `Up …`/`Exited (N) …`/`Created`, without durations.
    pub fn status_text(&self) -> String {
        match self.state.status {
            Status::Created => "Created".into(),
            Status::Running => "Up".into(),
            Status::Paused => "Up (Paused)".into(),
            Status::Exited => format!("Exited ({})", self.state.exit_code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::refs::ContainerRef;

    #[test]
    fn static_ips_follow_the_networks() {
        let mut h = HostConfig {
            networks: vec!["a".into(), "b".into(), "c".into()],
            ip: Some("10.0.0.5".into()),
            ..Default::default()
        };
        h.static_ips.insert("c".into(), "10.1.0.9".into());
        let ips = h.static_ips().unwrap();
        assert_eq!(
            ips,
            [
                Some("10.0.0.5".parse().unwrap()),
                None,
                Some("10.1.0.9".parse().unwrap())
            ]
        );
        h.static_ips.insert("b".into(), "bogus".into());
        assert!(h.static_ips().is_err());
    }

    #[test]
    fn record_reads_as_a_container_ref() {
        let mut r = ContainerRecord {
            id: "a".repeat(64),
            image: format!("sha256:{}", "b".repeat(64)),
            ..Default::default()
        };
        r.state.running = true;
        r.mount_points.insert(
            "/d".into(),
            MountPoint {
                kind: "volume".into(),
                name: "data".into(),
                ..Default::default()
            },
        );
        let v: ContainerRef = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert!(v.state.running);
        assert!(v.uses_volume("data"));
        assert_eq!(v.image.unwrap().to_string(), r.image);
    }
}
