//! `berth restart`: stop (SIGTERM, SIGKILL after the grace period) and start again through a
//! new shim, as `docker restart` does (the same arguments as `stop`); a stopped container is
//! just started.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::start::start_container;
use super::stop::{Args, stop_container};
use crate::Ctx;

/// Restarts each container and prints its reference.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    for r in &args.containers {
        let rec = super::resolve(&eng, r)?;
        stop_container(&eng, &rec, Signal::SIGTERM, Duration::from_secs(args.time))?;
        // The shim has torn down and recorded the exit: start from the fresh record.
        let mut rec = super::resolve(&eng, &rec.id)?;
        let (shim, _) = start_container(&eng, ctx, &mut rec, None)?;
        drop(shim);
        ctx.print(r)?;
    }
    Ok(())
}
