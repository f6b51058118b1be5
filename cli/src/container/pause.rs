//! `berth pause` and `berth unpause`: freeze and thaw every process of a running container
//! through its cgroup freezer.

use crate::Ctx;
use berth_engine::container::ContainerError;
use berth_engine::container::record::Status;

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
    let (op, from, to) = if paused {
        ("pause", Status::Running, Status::Paused)
    } else {
        ("unpause", Status::Paused, Status::Running)
    };
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    for r in &args.containers {
        let rec = super::resolve(&eng, r)?;
        if rec.state.status != from {
            return Err(ContainerError::BadState {
                op,
                id: rec.short_id().to_owned(),
                status: rec.state.status.to_string(),
            }
            .into());
        }
        let rt = eng.runtime();
        if paused {
            rt.pause(&rec.id)?;
        } else {
            rt.resume(&rec.id)?;
        }
        eng.containers.update(&rec.id, |c| {
            if c.state.status == from {
                c.state.status = to;
            }
        })?;
        ctx.print(r)?;
    }
    Ok(())
}
