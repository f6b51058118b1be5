//! `berth-images`: a temporary binary that wires the image, volume and `system df` commands
//! (engine/src/cli/{image,volume,system}) so they can be used and tested end to end until
//! they move under `berth`. Same flags and output as they will have there.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use berth_engine::cli_images::image::{self, ImageCommand};
use berth_engine::cli_images::report::error_report;
use berth_engine::cli_images::storage_opts::{StorageOpts, StoreCtx};
use berth_engine::cli_images::system::{self, SystemCommand};
use berth_engine::cli_images::volume::{self, VolumeCommand};
use clap::Parser;

/// berth image, volume and storage commands.
#[derive(Parser, Debug)]
#[command(name = "berth", version)]
struct Cli {
    /// Root of persistent state
    #[arg(
        long,
        global = true,
        env = "BERTH_ROOT",
        default_value = "/var/lib/berth"
    )]
    root: PathBuf,
    #[command(flatten)]
    storage: StorageOpts,
    #[command(subcommand)]
    cmd: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Import a rootfs tarball as a one-layer image
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
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = StoreCtx {
        root: cli.root,
        storage_driver: cli.storage.storage_driver,
    };
    let res = match cli.cmd {
        Command::Import(a) => image::import::run(a, &ctx),
        Command::Load(a) => image::load::run(a, &ctx),
        Command::Save(a) => image::save::run(a, &ctx),
        Command::Images(a) => image::ls::run(a, &ctx),
        Command::Tag(a) => image::tag::run(a, &ctx),
        Command::Rmi(a) => image::rm::run(a, &ctx),
        Command::History(a) => image::history::run(a, &ctx),
        Command::Image(c) => image::run(c, &ctx),
        Command::Volume(c) => volume::run(c, &ctx),
        Command::System(c) => system::run(c, &ctx),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "Error: {}", error_report(&e));
            ExitCode::FAILURE
        }
    }
}

/// `berth images | head`: stdout closed early is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
