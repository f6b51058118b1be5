//! `berth net disconnect`: one network fewer for a container (Docker's `network disconnect`),
//! detached now when the container runs.

use crate::cli::Ctx;
use crate::cli::container::{engine, resolve, store};

/// `berth net disconnect` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also a network carrying the published ports (they are unpublished), and no error when
    /// the container is not on the network (a leftover attachment is deleted)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The network
    pub network: String,
    /// The container (name or id)
    pub container: String,
}

/// Disconnects the container; prints nothing, like Docker.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = store(ctx)?;
    let eng = engine(ctx, &store);
    let rec = resolve(&eng, &args.container)?;
    crate::container::connect::disconnect(&eng, &rec.id, &args.network, args.force)
}
