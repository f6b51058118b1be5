//! `kill`: signal a container's init or, with `--all`, all of its processes.

use berth_runtime::container::kill::parse_signal;

use super::Ctx;

/// `kill` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
    /// Signal name or number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
    /// Signal every process in the container.
    #[arg(short, long)]
    pub all: bool,
}

/// Send the signal.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let sig = parse_signal(&args.signal)?;
    Ok(ctx.runtime.kill(&args.id, sig, args.all)?)
}
