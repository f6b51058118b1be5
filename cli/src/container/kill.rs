//! `berth kill`: send a signal to a running container's init.

use crate::Ctx;

/// `berth kill` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal name or number
    #[arg(short = 's', long = "signal", default_value = "KILL")]
    pub signal: String,
    /// Containers
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Signals each container.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let sig = berth_runtime::container::kill::parse_signal(&args.signal)?;
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    for r in &args.containers {
        let rec = super::resolve_running(&eng, r, "kill")?;
        berth_engine::container::lifecycle::kill(&eng, &rec, sig)?;
        ctx.print(r)?;
    }
    Ok(())
}
