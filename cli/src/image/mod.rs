//! `berth image ...` and its top-level shortcuts (`berth import|load|save|images|tag|rmi|history`):
//! one file per subcommand, each with an `Args` struct and a `run` function.

pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod login;
pub mod ls;
pub mod progress;
pub mod prune;
pub mod pull;
pub mod push;
pub mod registry_args;
pub mod rm;
pub mod save;
pub mod tag;

use super::storage_opts::StorageCtx;

/// `berth image COMMAND`.
#[derive(clap::Subcommand, Debug)]
pub enum ImageCommand {
    /// Import a rootfs tarball as a one-layer image
    Import(import::Args),
    /// Load images from a docker-save or OCI archive
    Load(load::Args),
    /// Save images to a tar archive
    Save(save::Args),
    /// List images
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::Args),
    /// Remove images
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
    /// Display detailed information on images
    Inspect(inspect::Args),
    /// Show the history of an image
    History(history::Args),
    /// Remove unused images
    Prune(prune::Args),
    /// Download an image from a registry
    Pull(pull::Args),
    /// Upload an image to a registry
    Push(push::Args),
}

/// Runs `berth image COMMAND`.
pub fn run(cmd: ImageCommand, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    match cmd {
        ImageCommand::Import(a) => import::run(a, ctx),
        ImageCommand::Load(a) => load::run(a, ctx),
        ImageCommand::Save(a) => save::run(a, ctx),
        ImageCommand::Ls(a) => ls::run(a, ctx),
        ImageCommand::Tag(a) => tag::run(a, ctx),
        ImageCommand::Rm(a) => rm::run(a, ctx),
        ImageCommand::Inspect(a) => inspect::run(a, ctx),
        ImageCommand::History(a) => history::run(a, ctx),
        ImageCommand::Prune(a) => prune::run(a, ctx),
        ImageCommand::Pull(a) => pull::run(a, ctx),
        ImageCommand::Push(a) => push::run(a, ctx),
    }
}
