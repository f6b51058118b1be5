//! `berth container prune`: remove every stopped container.

use crate::Ctx;

/// `berth container prune` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not ask (berth never asks; accepted for compatibility)
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// Removes stopped containers and prints their ids.
pub fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let report = berth_engine::container::prune::prune(&eng, |_| true)?;
    for id in &report.deleted {
        ctx.print(id)?;
    }
    Ok(())
}
