//! `berth pause` and `berth unpause`: freeze and thaw every process of a running container
//! through its cgroup freezer ([`berth_engine::container::pause`]).

use crate::Ctx;

/// `berth pause` / `berth unpause` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Containers
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Freezes each running container and records it as paused.
pub fn pause(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    set_paused(args, ctx, true)
}

/// Thaws each paused container and records it as running.
pub fn unpause(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    set_paused(args, ctx, false)
}

fn set_paused(args: Args, ctx: &Ctx, paused: bool) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    for r in &args.containers {
        let rec = super::resolve(&eng, r)?;
        if paused {
            berth_engine::container::pause::pause(&eng, &rec)?;
        } else {
            berth_engine::container::pause::unpause(&eng, &rec)?;
        }
        ctx.print(r)?;
    }
    Ok(())
}
