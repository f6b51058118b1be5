//! `pause` and `resume`: freeze and thaw a container's cgroup.

use super::Ctx;

/// `pause`/`resume` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
}

/// Freeze.
pub fn pause(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    Ok(ctx.runtime.pause(&args.id)?)
}

/// Thaw.
pub fn resume(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    Ok(ctx.runtime.resume(&args.id)?)
}
