//! `berth net prune`: remove every network that has no attachment (built-ins stay).

use crate::cli::Ctx;

/// `berth net prune` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Removes unused networks and prints their names.
pub fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let inv = ctx.invoker();
    for net in ctx.networks().list()? {
        if net.builtin || !inv.cached_attachments(Some(net.name()))?.is_empty() {
            continue;
        }
        match super::rm::remove(ctx, net.name(), false) {
            Ok(()) => ctx.print(net.name())?,
            // Attached meanwhile: not unused any more.
            Err(e) => tracing::info!(network = net.name(), error = %e, "not pruned"),
        }
    }
    Ok(())
}
