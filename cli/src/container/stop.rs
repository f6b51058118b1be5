//! `berth stop`: SIGTERM, then SIGKILL after the grace period; returns once the shim has
//! cleaned up.

use std::time::Duration;

use nix::sys::signal::Signal;

pub use berth_engine::container::stop::stop_container;

use crate::Ctx;

/// `berth stop` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds to wait before SIGKILL
    #[arg(short = 't', long = "time", default_value_t = 10)]
    pub time: u64,
    /// Containers
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Stops each container and prints its reference.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    for r in &args.containers {
        let rec = super::resolve(&eng, r)?;
        stop_container(&eng, &rec, Signal::SIGTERM, Duration::from_secs(args.time))?;
        ctx.print(r)?;
    }
    Ok(())
}
