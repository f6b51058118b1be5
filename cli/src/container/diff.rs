//! `berth diff`: what a container changed in its root filesystem, one `KIND PATH` line per
//! path (`A` added, `C` changed, `D` deleted), as `docker diff` prints them
//! ([`berth_engine::container::changes`]).

use crate::Ctx;

/// `berth diff` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container
    pub container: String,
}

/// Prints the changes.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let rec = super::resolve(&eng, &args.container)?;
    for c in berth_engine::container::changes::changes(&eng, &rec)? {
        ctx.print(&format!("{} {}", c.kind.letter(), c.path))?;
    }
    Ok(())
}
