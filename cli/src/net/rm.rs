//! `berth net rm`: refused while attachments exist, unless `--force` detaches them first. An
//! overlay network is removed from the store too with `--cluster`; without it, removing only
//! this host's definition is refused while the host is joined to it.

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
    /// Overlay networks: remove them from the store too, so every host leaves them
    #[arg(long)]
    pub cluster: bool,
    /// The store (with --cluster)
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
}

/// Removes each network, stopping at the first failure.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let (store, inv) = (ctx.networks(), ctx.invoker());
    for name in &args.names {
        if args.cluster {
            let opts = args.store.options()?;
            super::overlay::remove_from_store(&opts, name)
                .with_context(|| format!("remove overlay network {name} from the store"))?;
        } else if let Ok(net) = store.get(name) {
            berth_engine::network::check_not_joined(&net)?;
        }
        berth_engine::network::remove(&store, &inv, name, args.force)
            .with_context(|| format!("remove network {name}"))?;
        ctx.print(name)?;
    }
    Ok(())
}
