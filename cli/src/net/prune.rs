//! `berth net prune`: remove every network that has no attachment (built-ins stay).

use crate::Ctx;

/// `berth net prune` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Removes unused networks and prints their names.
pub fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    for name in berth_engine::network::prune(&ctx.networks(), &ctx.invoker(), |_| false)? {
        ctx.print(&name)?;
    }
    Ok(())
}
