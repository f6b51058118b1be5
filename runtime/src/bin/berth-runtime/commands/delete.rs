//! `delete`: remove a container (running ones only with `--force`).

use super::Ctx;

/// `delete` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
    /// Kill a running container first.
    #[arg(short, long)]
    pub force: bool,
}

/// Delete the container.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    Ok(ctx.runtime.delete(&args.id, args.force)?)
}
