//! The `berth` command line (clap derive): global options, the command tree, and dispatch.
//! Each subcommand lives in its own file with an `Args` struct and
//! `pub fn run(args, ctx: &Ctx) -> anyhow::Result<()>`; the work itself is done by the library
//! modules ([`berth_engine::network`], [`berth_core::invoke`], ...).

pub mod container;
pub mod ctx;
pub mod human;
pub mod image;
pub mod net;
pub mod netns;
pub mod node;
pub mod report;
pub mod storage_opts;
pub mod store_args;
pub mod system;
pub mod table;
pub mod terminal;
pub mod volume;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use ctx::Ctx;

/// berth: a container engine whose heart is networking.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalOpts {
    /// Persistent state (networks, IPAM, cached CNI results, images, ...)
    #[arg(
        long,
        env = "BERTH_ROOT",
        default_value = "/var/lib/berth",
        global = true
    )]
    pub root: PathBuf,
    /// Volatile state (named network namespaces, locks)
    #[arg(
        long = "run-root",
        env = "BERTH_RUN",
        default_value = "/run/berth",
        global = true
    )]
    pub run_root: PathBuf,
    /// CNI plugin directories, ':'-separated [default: the berth binary's directory, then
    /// /opt/cni/bin]
    #[arg(
        long = "cni-path",
        env = "BERTH_CNI_PATH",
        value_delimiter = ':',
        global = true
    )]
    pub cni_path: Vec<PathBuf>,
    /// Output format, where a command prints data
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    pub format: Format,
    /// The storage driver.
    #[command(flatten)]
    pub storage: storage_opts::StorageOpts,
    /// Log level for messages on stderr (error, warn, info, debug, trace)
    #[arg(
        long = "log-level",
        env = "BERTH_LOG",
        default_value = "warn",
        global = true
    )]
    pub log_level: String,
}

/// How data is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Aligned columns for humans.
    #[default]
    Table,
    /// JSON for programs.
    Json,
}

/// The top-level commands. New command groups add one variant and one arm in [`run`].
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage networks and attach network namespaces to them
    #[command(subcommand)]
    Net(net::NetCommand),
    /// Manage named network namespaces
    #[command(subcommand)]
    Netns(netns::NetnsCommand),
    /// This host in a cluster sharing overlay networks (node agent)
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Import a rootfs tarball (plain, gzip or zstd) as a one-layer image
    Import(image::import::Args),
    /// Load images from a docker-save or OCI archive
    Load(image::load::Args),
    /// Save images to a tar archive
    Save(image::save::Args),
    /// List images
    Images(image::ls::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(image::tag::Args),
    /// Remove images
    Rmi(image::rm::Args),
    /// Show the history of an image
    History(image::history::Args),
    /// Download an image from a registry
    Pull(image::pull::Args),
    /// Upload an image to a registry
    Push(image::push::Args),
    /// Log in to a registry
    Login(image::login::LoginArgs),
    /// Log out from a registry
    Logout(image::login::LogoutArgs),
    /// Manage images
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Disk usage and other system-wide views
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Run a command in a new container
    Run(container::run::Args),
    /// Create a container without starting it
    Create(container::create::Args),
    /// Start stopped containers
    Start(container::start::Args),
    /// Attach to a running container's input and output
    Attach(container::attach::Args),
    /// List containers
    Ps(container::ps::Args),
    /// Print a container's output
    Logs(container::logs::Args),
    /// Stop running containers
    Stop(container::stop::Args),
    /// Stop and start containers again
    Restart(container::stop::Args),
    /// Send a signal to running containers
    Kill(container::kill::Args),
    /// Remove containers
    Rm(container::rm::Args),
    /// Run a command in a running container
    Exec(container::exec::Args),
    /// Show containers' records as JSON
    Inspect(container::inspect::Args),
    /// Wait for containers to stop and print their exit codes
    Wait(container::wait::Args),
    /// Copy files between a container and the host
    Cp(container::cp::Args),
    /// Create an image from a container's changes
    Commit(container::commit::Args),
    /// Rename a container
    Rename(container::rename::Args),
    /// Show what a container changed in its filesystem
    Diff(container::diff::Args),
    /// Freeze every process of running containers
    Pause(container::pause::Args),
    /// Thaw paused containers
    Unpause(container::pause::Args),
    /// Show the processes of a running container
    Top(container::top::Args),
    /// Show containers' CPU, memory and process counts
    Stats(container::stats::Args),
    /// Manage containers
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// The per-container supervisor (started by run and start)
    #[command(hide = true)]
    Shim(container::shim::Args),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Ctx::new(&cli.global)?;
    match cli.command {
        Command::Net(cmd) => net::run(cmd, &ctx),
        Command::Netns(cmd) => netns::run(cmd, &ctx),
        Command::Node(cmd) => node::run(cmd, &ctx),
        Command::Import(a) => image::import::run(a, &ctx),
        Command::Load(a) => image::load::run(a, &ctx),
        Command::Save(a) => image::save::run(a, &ctx),
        Command::Images(a) => image::ls::run(a, &ctx),
        Command::Tag(a) => image::tag::run(a, &ctx),
        Command::Rmi(a) => image::rm::run(a, &ctx),
        Command::History(a) => image::history::run(a, &ctx),
        Command::Pull(a) => image::pull::run(a, &ctx),
        Command::Push(a) => image::push::run(a, &ctx),
        Command::Login(a) => image::login::login(a),
        Command::Logout(a) => image::login::logout(a),
        Command::Image(c) => image::run(c, &ctx),
        Command::Volume(c) => volume::run(c, &ctx),
        Command::System(c) => system::run(c, &ctx),
        Command::Run(a) => container::run::run(a, &ctx),
        Command::Create(a) => container::create::run(a, &ctx),
        Command::Start(a) => container::start::run(a, &ctx),
        Command::Attach(a) => container::attach::run(a, &ctx),
        Command::Ps(a) => container::ps::run(a, &ctx),
        Command::Logs(a) => container::logs::run(a, &ctx),
        Command::Stop(a) => container::stop::run(a, &ctx),
        Command::Restart(a) => container::restart::run(a, &ctx),
        Command::Kill(a) => container::kill::run(a, &ctx),
        Command::Rm(a) => container::rm::run(a, &ctx),
        Command::Exec(a) => container::exec::run(a, &ctx),
        Command::Inspect(a) => container::inspect::run(a, &ctx),
        Command::Wait(a) => container::wait::run(a, &ctx),
        Command::Cp(a) => container::cp::run(a, &ctx),
        Command::Commit(a) => container::commit::run(a, &ctx),
        Command::Rename(a) => container::rename::run(a, &ctx),
        Command::Diff(a) => container::diff::run(a, &ctx),
        Command::Pause(a) => container::pause::pause(a, &ctx),
        Command::Unpause(a) => container::pause::unpause(a, &ctx),
        Command::Top(a) => container::top::run(a, &ctx),
        Command::Stats(a) => container::stats::run(a, &ctx),
        Command::Container(c) => container::run_group(c, &ctx),
        Command::Shim(a) => container::shim::run(a, &ctx),
    }
}
