//! `berth volume create|ls|inspect|rm|prune`: named and anonymous volumes under
//! `<root>/volumes/NAME/_data`. One file per subcommand.

pub mod create;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;

use super::storage_opts::StorageCtx;

/// `berth volume COMMAND`.
#[derive(clap::Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a volume
    Create(create::Args),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Display detailed information on volumes
    Inspect(inspect::Args),
    /// Remove volumes
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
    /// Remove unused volumes
    Prune(prune::Args),
}

/// Runs `berth volume COMMAND`.
pub fn run(cmd: VolumeCommand, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    match cmd {
        VolumeCommand::Create(a) => create::run(a, ctx),
        VolumeCommand::Ls(a) => ls::run(a, ctx),
        VolumeCommand::Inspect(a) => inspect::run(a, ctx),
        VolumeCommand::Rm(a) => rm::run(a, ctx),
        VolumeCommand::Prune(a) => prune::run(a, ctx),
    }
}

/// Opens only the volume store (volume commands need no storage driver).
fn open_volumes(ctx: &dyn StorageCtx) -> anyhow::Result<berth_engine::volume::VolumeStore> {
    use anyhow::Context as _;
    berth_engine::volume::VolumeStore::open(ctx.root())
        .with_context(|| format!("open volumes under {}", ctx.root().display()))
}
