//! `berth stop`: SIGTERM, then SIGKILL after the grace period; returns once the shim has
//! cleaned up.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::cli::Ctx;
use crate::container::lifecycle::Engine;
use crate::container::record::{ContainerRecord, Status};

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

/// Stops one container: `sig`, wait up to `grace`, then SIGKILL and wait for the shim.
pub fn stop_container(
    eng: &Engine<'_>,
    rec: &ContainerRecord,
    sig: Signal,
    grace: Duration,
) -> anyhow::Result<()> {
    if !matches!(rec.state.status, Status::Running | Status::Paused) {
        return Ok(());
    }
    let rt = eng.runtime();
    if rec.state.status == Status::Paused {
        let _ = rt.resume(&rec.id);
    }
    let _ = crate::container::lifecycle::kill(eng, rec, sig);
    if !eng.containers.wait_shim(&rec.id, Some(grace)) {
        let _ = rt.kill(&rec.id, Signal::SIGKILL, true);
        crate::container::events::emit(eng, rec, "kill", &[("signal", "9")]);
        if !eng
            .containers
            .wait_shim(&rec.id, Some(Duration::from_secs(30)))
        {
            anyhow::bail!("container {} did not stop", rec.short_id());
        }
    }
    crate::container::events::emit(eng, rec, "stop", &[]);
    Ok(())
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
