//! `start`: release a created container.

use super::Ctx;

/// `start` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
}

/// Start the container.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    Ok(ctx.runtime.start(&args.id)?)
}
