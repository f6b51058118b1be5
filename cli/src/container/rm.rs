//! `berth rm`: remove stopped containers (`-f` stops running ones first).

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::Ctx;
use berth_engine::container::ContainerError;
use berth_engine::container::record::Status;

/// `berth rm` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill running containers first
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Also remove anonymous volumes
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Containers
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Removes each container and prints its reference.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    for r in &args.containers {
        let rec = super::resolve(&eng, r)?;
        if matches!(rec.state.status, Status::Running | Status::Paused) {
            if !args.force {
                return Err(ContainerError::BadState {
                    op: "remove it (stop it first or use rm -f)",
                    id: rec.short_id().to_owned(),
                    status: rec.state.status.to_string(),
                }
                .into());
            }
            super::stop::stop_container(&eng, &rec, Signal::SIGKILL, Duration::from_secs(10))?;
        }
        // --rm containers remove themselves once stopped.
        let rec = match eng.containers.load(&rec.id) {
            Ok(r) => r,
            Err(ContainerError::NotFound(_)) => {
                ctx.print(r)?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        berth_engine::container::lifecycle::remove(&eng, &rec, args.volumes)?;
        ctx.print(r)?;
    }
    Ok(())
}
