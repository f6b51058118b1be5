//! `berthd`: Docker's Engine API on a unix socket, served by berth-engine, so the docker CLI
//! drives berth. Flags pick the sockets and the same state roots as `berth` (same env vars and
//! defaults); SIGTERM or SIGINT stops accepting, lets requests in flight finish, removes the
//! socket and exits 0. Containers keep running: they belong to their shims.

mod backend;
mod body_io;
mod containers;
mod error;
mod events;
mod exec_helper;
mod exec_tty;
mod hijack;
mod hub;
mod images;
mod listen;
mod memory;
mod networks;
mod query;
mod reaper;
mod reply;
mod router;
mod serve;
mod shim_link;
mod stream;
mod system;
mod system_df;
mod version;
mod volumes;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;

use listen::{Addr, TcpPolicy};

/// berthd: the Docker Engine API for berth.
#[derive(Debug, Parser)]
#[command(name = "berthd", version, about)]
struct Cli {
    /// Where to listen: unix:///PATH (repeatable; tcp://IP:PORT with --allow-tcp)
    /// [default: $BERTH_HOST, else unix:///run/berth/berth.sock]
    #[arg(short = 'H', long = "host")]
    hosts: Vec<String>,
    /// Allow tcp:// addresses on loopback (the API has no authentication)
    #[arg(long = "allow-tcp")]
    allow_tcp: bool,
    /// Allow tcp:// addresses on any interface
    #[arg(long = "allow-tcp-any")]
    allow_tcp_any: bool,
    /// Persistent state (images, containers, networks, ...)
    #[arg(long, env = "BERTH_ROOT", default_value = "/var/lib/berth")]
    root: PathBuf,
    /// Volatile state (netns, locks, shim sockets)
    #[arg(long = "run-root", env = "BERTH_RUN", default_value = "/run/berth")]
    run_root: PathBuf,
    /// CNI plugin directories, ':'-separated [default: berthd's directory, then /opt/cni/bin]
    #[arg(long = "cni-path", env = "BERTH_CNI_PATH", value_delimiter = ':')]
    cni_path: Vec<PathBuf>,
    /// A registry (HOST[:PORT]) that may be reached over plain HTTP (repeatable; loopback
    /// registries always may)
    #[arg(
        long = "insecure-registry",
        env = "BERTH_INSECURE_REGISTRIES",
        value_delimiter = ',',
        value_name = "HOST[:PORT]"
    )]
    insecure_registries: Vec<String>,
    /// Log level on stderr (error, warn, info, debug, trace)
    #[arg(long = "log-level", env = "BERTH_LOG", default_value = "info")]
    log_level: String,
    /// Internal helpers berthd starts itself.
    #[command(subcommand)]
    helper: Option<Helper>,
}

#[derive(Debug, clap::Subcommand)]
enum Helper {
    /// Runs one exec process of a container with this process's stdio (started by berthd)
    #[command(hide = true, name = "exec-helper")]
    ExecHelper(exec_helper::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = cli
        .log_level
        .parse::<tracing_subscriber::filter::LevelFilter>()
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    if let Some(Helper::ExecHelper(args)) = cli.helper {
        return exec_helper::main(args, &cli.root, &cli.run_root, cli.cni_path);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let tcp = TcpPolicy {
        allow: cli.allow_tcp,
        any: cli.allow_tcp_any,
    };
    let hosts = match cli.hosts.is_empty() {
        true => vec![std::env::var("BERTH_HOST").unwrap_or_else(|_| listen::DEFAULT_HOST.into())],
        false => cli.hosts.clone(),
    };
    let addrs: Vec<Addr> = hosts
        .iter()
        .map(|h| Addr::parse(h, tcp))
        .collect::<anyhow::Result<_>>()?;
    // One thread serves the API; engine calls run on a small blocking pool whose idle
    // threads end soon, so a burst leaves no threads (and their stacks) behind.
    memory::limit_arenas();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(16)
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .build()
        .context("start the async runtime")?;
    let mut registry = berth_engine::registry::RegistryOptions::from_env();
    registry
        .insecure
        .extend(cli.insecure_registries.iter().cloned());
    rt.block_on(async move {
        let listeners = listen::bind_all(&addrs)?;
        let app = Arc::new(router::App {
            backend: backend::Backend::new(cli.root, cli.run_root, cli.cni_path)?,
            hub: Arc::default(),
            exe: std::env::current_exe().context("find berthd's own executable")?,
            registry,
        });
        tokio::spawn(app.backend.reaper().run());
        tokio::spawn(memory::trim_periodically());
        tracing::info!(hosts = ?hosts, "listening");
        serve::serve(listeners, app, shutdown_signal()?).await;
        Ok(())
    })
}

/// Resolves at the first SIGTERM or SIGINT.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
