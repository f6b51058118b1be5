//! `berth shim CONTAINER` (hidden): the per-container supervisor, see [`berth_engine::shim`].

use crate::Ctx;

/// `berth shim` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Full container id
    pub id: String,
}

/// Runs the shim until the container has ended and been cleaned up.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    berth_engine::shim::run(&eng, &args.id)
}
