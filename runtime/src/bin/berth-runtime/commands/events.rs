//! `events`: with `--stats`, one stats event as runc prints it; without, a stats event every
//! `--interval` seconds until the container stops.

use std::time::Duration;

use super::{Ctx, print};

/// `events` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
    /// Print one stats event and exit.
    #[arg(long)]
    pub stats: bool,
    /// Seconds between events.
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
}

fn emit(id: &str, ctx: &Ctx) -> anyhow::Result<()> {
    let s = ctx.runtime.stats(id)?;
    let ev = serde_json::json!({
        "type": "stats",
        "id": id,
        "data": {
            "memory": {"usage": {"usage": s.memory_usage, "limit": s.memory_limit}},
            "pids": {"current": s.pids_current},
            "cpu": {"usage": {"total": s.cpu_usage_ns}}
        }
    });
    print(&ev.to_string());
    Ok(())
}

/// Print events.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    emit(&args.id, ctx)?;
    if args.stats {
        return Ok(());
    }
    loop {
        std::thread::sleep(Duration::from_secs(args.interval.max(1)));
        let state = ctx.runtime.state(&args.id)?;
        if state.status == berth_runtime::state::Status::Stopped {
            break;
        }
        emit(&args.id, ctx)?;
    }
    Ok(())
}
