//! `berth container prune`: remove every stopped container.

use crate::Ctx;
use berth_engine::container::record::Status;

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
    for rec in eng.containers.list()? {
        let rec = berth_engine::container::lifecycle::reconcile(&eng, rec);
        if matches!(rec.state.status, Status::Created | Status::Exited) {
            berth_engine::container::lifecycle::remove(&eng, &rec, false)?;
            ctx.print(&rec.id)?;
        }
    }
    Ok(())
}
