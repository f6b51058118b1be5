//! `berth net disconnect`: one network fewer for a container (Docker's `network disconnect`),
//! detached now when the container runs.

use crate::Ctx;

/// `berth net disconnect` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also a network carrying the published ports (they are unpublished), and no error when
    /// the container is not on the network (a leftover attachment is deleted)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// NET CONTAINER.
    #[command(flatten)]
    pub target: super::connect::NetAndContainer,
}

/// Disconnects the container; prints nothing, like Docker.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    args.target.apply(ctx, |eng, id, net| {
        berth_engine::container::connect::disconnect(eng, id, net, args.force)
    })
}
