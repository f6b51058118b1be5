//! `berth net rm`: refused while attachments exist, unless `--force` detaches them first.

use anyhow::Context;

use crate::Ctx;

/// `berth net rm` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The networks
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Detach every attachment first
    #[arg(long, short = 'f')]
    pub force: bool,
}

/// Removes each network, stopping at the first failure.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let (store, inv) = (ctx.networks(), ctx.invoker());
    for name in &args.names {
        berth_engine::network::remove(&store, &inv, name, args.force)
            .with_context(|| format!("remove network {name}"))?;
        ctx.print(name)?;
    }
    Ok(())
}
