//! `berth system ...`: engine-wide commands. For now `system df`.

pub mod df;

use super::storage_opts::StorageCtx;

/// `berth system COMMAND`.
#[derive(clap::Subcommand, Debug)]
pub enum SystemCommand {
    /// Show disk usage of images, containers and volumes
    Df(df::Args),
}

/// Runs `berth system COMMAND`.
pub fn run(cmd: SystemCommand, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    match cmd {
        SystemCommand::Df(a) => df::run(a, ctx),
    }
}
