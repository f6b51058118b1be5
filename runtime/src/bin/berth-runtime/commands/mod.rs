//! Subcommands, one file each, plus what they share: the global options, [`Ctx`], logging
//! setup and the single stdout writer.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::PathBuf;

use anyhow::Context;
use berth_runtime::Runtime;
use clap::{Args, Subcommand};

/// Options every subcommand accepts (runc's global flags).
#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Directory for container state.
    #[arg(
        long,
        global = true,
        default_value = "/run/berth-runtime",
        env = "BERTH_RUNTIME_ROOT"
    )]
    pub root: PathBuf,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// Log debug messages.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups (not supported: berth-runtime drives cgroupfs directly).
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
}

/// Shared settings handed to every subcommand.
#[derive(Debug)]
pub struct Ctx {
    /// The library entry point.
    pub runtime: Runtime,
    /// `--systemd-cgroup` was given.
    pub systemd_cgroup: bool,
}

impl Ctx {
    /// Build from the global options.
    pub fn new(g: &GlobalOpts) -> Self {
        Self {
            runtime: Runtime::new(&g.root),
            systemd_cgroup: g.systemd_cgroup,
        }
    }

    /// Fail clearly when `--systemd-cgroup` was asked for.
    pub fn refuse_systemd(&self) -> anyhow::Result<()> {
        if self.systemd_cgroup {
            anyhow::bail!(
                "--systemd-cgroup is not supported: berth-runtime manages cgroupfs directly \
                 (use podman --cgroup-manager=cgroupfs)"
            );
        }
        Ok(())
    }
}

/// runc's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container; its init waits for `start`.
    Create(create::Args),
    /// Release a created container's init.
    Start(start::Args),
    /// Print a container's state as JSON.
    State(state::Args),
    /// Send a signal to a container.
    Kill(kill::Args),
    /// Delete a container.
    Delete(delete::Args),
    /// Create and start a container, and wait for it unless detached.
    Run(run::RunArgs),
    /// Run a process in a running container.
    Exec(exec::Args),
    /// List the processes of a container.
    Ps(ps::Args),
    /// Freeze a container.
    Pause(pause::Args),
    /// Thaw a paused container.
    Resume(pause::Args),
    /// Change a container's resource limits.
    Update(update::Args),
    /// Print resource usage.
    Events(events::Args),
    /// List containers.
    List(list::Args),
    /// Print what this runtime supports.
    Features(features::Args),
    /// Write a default config.json.
    Spec(spec::Args),
}

/// Run a subcommand; returns the process exit code.
pub fn run(cmd: Command, ctx: &Ctx) -> anyhow::Result<i32> {
    match cmd {
        Command::Create(a) => create::run(a, ctx).map(|()| 0),
        Command::Start(a) => start::run(a, ctx).map(|()| 0),
        Command::State(a) => state::run(a, ctx).map(|()| 0),
        Command::Kill(a) => kill::run(a, ctx).map(|()| 0),
        Command::Delete(a) => delete::run(a, ctx).map(|()| 0),
        Command::Run(a) => run::run(a, ctx),
        Command::Exec(a) => exec::run(a, ctx),
        Command::Ps(a) => ps::run(a, ctx).map(|()| 0),
        Command::Pause(a) => pause::pause(a, ctx).map(|()| 0),
        Command::Resume(a) => pause::resume(a, ctx).map(|()| 0),
        Command::Update(a) => update::run(a, ctx).map(|()| 0),
        Command::Events(a) => events::run(a, ctx).map(|()| 0),
        Command::List(a) => list::run(a, ctx).map(|()| 0),
        Command::Features(a) => features::run(a, ctx).map(|()| 0),
        Command::Spec(a) => spec::run(a, ctx).map(|()| 0),
    }
}

/// Install the tracing subscriber: stderr or `--log`, text or json, warn or debug.
pub fn init_logging(g: &GlobalOpts) -> anyhow::Result<()> {
    let default = if g.debug { "debug" } else { "warn" };
    let filter = std::env::var("BERTH_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or_else(|| {
            default
                .parse()
                .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN)
        });
    let json = g.log_format.as_deref() == Some("json");
    let builder = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_ansi(false);
    match &g.log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("open log file {}", path.display()))?;
            let writer = std::sync::Mutex::new(file);
            if json {
                builder
                    .json()
                    .flatten_event(true)
                    .with_writer(writer)
                    .init();
            } else {
                builder.with_writer(writer).init();
            }
        }
        None if json => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

/// The one stdout writer: stdout carries the command's output, logs go elsewhere.
#[allow(clippy::print_stdout)]
pub fn print(text: &str) {
    println!("{text}");
}

/// Print a value as pretty JSON.
pub fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    print(&serde_json::to_string_pretty(v)?);
    Ok(())
}
