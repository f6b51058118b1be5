//! `berth create`: make a container (record + writable layer) without starting it. Its flags
//! are shared with `run`.

use std::fs;

use anyhow::Context as _;

use crate::Ctx;
use crate::image::pull::{PullPolicy, ensure_image};
use berth_engine::container::create::{CreateRequest, create};
use berth_engine::container::record::{HostConfig, StdioConfig};
use berth_engine::container::{ContainerError, ContainerRecord};

/// Flags of `create` and `run`.
#[derive(Debug, Clone, clap::Args)]
pub struct CreateArgs {
    /// Name of the container (random when not given)
    #[arg(long)]
    pub name: Option<String>,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Network to connect to: a name, host or none (repeatable) [default: bridge]
    #[arg(long = "network", alias = "net")]
    pub network: Vec<String>,
    /// A DNS name for the container on the first network, a user network (repeatable)
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Static IPv4/IPv6 address on the first network
    #[arg(long)]
    pub ip: Option<String>,
    /// Publish a port: [HOSTIP:]HOSTPORT:PORT[/tcp|udp|sctp]
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Set an environment variable: KEY=VALUE (or KEY to take it from berth's environment)
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file (KEY=VALUE lines)
    #[arg(long = "env-file")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Mount a volume or bind: SRC:DST[:ro], NAME:DST[:ro] or DST
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// User: NAME|UID[:GROUP|GID]
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Hostname [default: the short id]
    #[arg(long = "hostname")]
    pub hostname: Option<String>,
    /// Override the image's entrypoint
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Memory limit (e.g. 64m, 1g)
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Number of CPUs (e.g. 0.5)
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Maximum number of processes
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    /// Mount the root filesystem read-only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Set a label: KEY=VALUE (KEY alone: an empty value)
    #[arg(short = 'l', long = "label", value_parser = parse_label)]
    pub label: Vec<(String, String)>,
    /// A name server for the container (instead of the host's)
    #[arg(long = "dns")]
    pub dns: Vec<String>,
    /// A DNS search domain (instead of the host's; "." for none)
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// A resolver option, such as ndots:2 (instead of the host's)
    #[arg(long = "dns-option")]
    pub dns_option: Vec<String>,
    /// Mount a tmpfs: DEST[:OPTIONS] (e.g. /run:size=64m,mode=1777)
    #[arg(long = "tmpfs", value_parser = parse_tmpfs)]
    pub tmpfs: Vec<(String, String)>,
    /// Add a capability (or ALL)
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop a capability (or ALL)
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Give every capability and no masked paths
    #[arg(long)]
    pub privileged: bool,
    /// Run an init as PID 1 that forwards signals and reaps zombies (catatonit)
    #[arg(long)]
    pub init: bool,
    /// The init binary for --init [default: $BERTH_INIT_PATH, else catatonit or tini-static]
    #[arg(long = "init-path", requires = "init")]
    pub init_path: Option<std::path::PathBuf>,
    /// Keep stdin open (and, when attached, forward berth's stdin to it)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the process a pseudo-terminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Pull the image first: missing (when not in the store), always, never
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,
    /// The image, then the command and its arguments: everything after the image is the
    /// container's, as with docker (`berth run IMG --rm` runs `--rm`)
    #[arg(
        value_name = "IMAGE [COMMAND [ARG...]]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub image_and_cmd: Vec<String>,
}

/// Parses `64m`, `1g`, `512k`, `1024` into bytes.
pub fn parse_bytes(s: &str) -> Result<i64, ContainerError> {
    let bad = || ContainerError::BadArg {
        flag: "--memory",
        value: s.to_owned(),
        reason: "expected a number with an optional b, k, m or g suffix".into(),
    };
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(bad());
    }
    Ok(n * mult)
}

impl CreateArgs {
    /// The image.
    pub fn image(&self) -> &str {
        self.image_and_cmd.first().map_or("", String::as_str)
    }

    /// The command and its arguments (empty: the image's).
    pub fn cmd(&self) -> &[String] {
        self.image_and_cmd.get(1..).unwrap_or_default()
    }

    /// The library request.
    pub fn request(&self) -> anyhow::Result<CreateRequest> {
        let mut env = Vec::new();
        for f in &self.env_file {
            let text = fs::read_to_string(f)
                .with_context(|| format!("read --env-file {}", f.display()))?;
            env.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        env.extend(self.env.iter().cloned());
        let env = env
            .into_iter()
            .filter_map(|e| match e.contains('=') {
                true => Some(e),
                false => std::env::var(&e).ok().map(|v| format!("{e}={v}")),
            })
            .collect();
        let networks = if self.network.is_empty() {
            vec![berth_engine::network::DEFAULT_NETWORK.to_string()]
        } else {
            self.network.clone()
        };
        let network_aliases = match networks.first() {
            Some(first) if !self.network_alias.is_empty() => {
                [(first.clone(), self.network_alias.clone())].into()
            }
            _ => Default::default(),
        };
        let host = HostConfig {
            auto_remove: self.rm,
            network_aliases,
            networks,
            port_bindings: self.publish.clone(),
            ip: self.ip.clone(),
            memory: self
                .memory
                .as_deref()
                .map(parse_bytes)
                .transpose()?
                .unwrap_or(0),
            nano_cpus: self.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            pids_limit: self.pids_limit.unwrap_or(0),
            readonly_rootfs: self.read_only,
            tmpfs: self.tmpfs.iter().cloned().collect(),
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            privileged: self.privileged,
            init: self.init,
            init_path: self
                .init_path
                .clone()
                .map(|p| p.display().to_string())
                .or_else(|| std::env::var(berth_engine::container::init::INIT_PATH_ENV).ok())
                .filter(|_| self.init)
                .unwrap_or_default(),
            ..Default::default()
        };
        if let Some(ip) = &self.ip {
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| ContainerError::BadArg {
                    flag: "--ip",
                    value: ip.clone(),
                    reason: "not an IP address".into(),
                })?;
        }
        Ok(CreateRequest {
            name: self.name.clone(),
            image: self.image().to_owned(),
            cmd: self.cmd().to_vec(),
            entrypoint: self.entrypoint.clone(),
            env,
            volumes: self.volume.clone(),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            labels: self.label.iter().cloned().collect(),
            host,
            stdio: StdioConfig {
                tty: self.tty,
                open_stdin: self.interactive,
                stdin_once: self.interactive,
            },
        })
    }
}

/// `berth create` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container settings.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// Creates the container and prints its id.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let rec = create_container(&args.create, ctx)?;
    ctx.print(&rec.id)
}

/// Shared with `run`.
pub fn create_container(args: &CreateArgs, ctx: &Ctx) -> anyhow::Result<ContainerRecord> {
    let mut req = args.request()?;
    let store = super::store(ctx)?;
    req.image = ensure_image(&store, &req.image, args.pull)?;
    let eng = super::engine(ctx, &store);
    create(&eng, &req)
}

/// `--label KEY=VALUE` (here and for `volume create`; `KEY` alone is an empty value, as
/// docker).
pub(crate) fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').unwrap_or((s, ""));
    match k.is_empty() {
        true => Err(format!("invalid {s:?}: the key is empty")),
        false => Ok((k.to_owned(), v.to_owned())),
    }
}

/// `--tmpfs DEST[:OPTIONS]`.
fn parse_tmpfs(s: &str) -> Result<(String, String), String> {
    berth_engine::container::tmpfs::parse_flag(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `create`'s flags as clap parses them.
    fn args(argv: &[&str]) -> CreateArgs {
        #[derive(clap::Parser)]
        struct Cmd {
            #[command(flatten)]
            create: CreateArgs,
        }
        let argv = std::iter::once("create").chain(argv.iter().copied());
        <Cmd as clap::Parser>::parse_from(argv).create
    }

    #[test]
    fn network_aliases_go_to_the_first_network() {
        let r = args(&[
            "--network",
            "web",
            "--net",
            "db",
            "--network-alias",
            "api",
            "--net-alias",
            "api.v1",
            "bb",
        ])
        .request()
        .unwrap();
        assert_eq!(r.host.networks, ["web", "db"]);
        assert_eq!(r.host.network_aliases.len(), 1);
        assert_eq!(r.host.network_aliases["web"], ["api", "api.v1"]);
        // Without --network they are the default bridge's, which the engine refuses.
        let r = args(&["--network-alias", "api", "bb"]).request().unwrap();
        assert_eq!(r.host.network_aliases["bridge"], ["api"]);
        let r = args(&["--network", "web", "bb"]).request().unwrap();
        assert!(r.host.network_aliases.is_empty());
    }

    #[test]
    fn memory_sizes_parse() {
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512kb").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("x").is_err() && parse_bytes("-1m").is_err());
    }
}
