//! `berth net connect`: one more network for a container (Docker's `network connect`),
//! attached now when the container runs, and at every later start, with its static address
//! and DNS aliases there.

use std::net::IpAddr;

use crate::Ctx;
use berth_engine::container::lifecycle::Engine;

/// The network and the container (`NET CONTAINER`), shared with `disconnect`.
#[derive(Debug, clap::Args)]
pub struct NetAndContainer {
    /// The network
    pub network: String,
    /// The container (name or id)
    pub container: String,
}

impl NetAndContainer {
    /// Resolves the container and runs `f` with the engine, its full id and the network.
    pub fn apply<T>(
        &self,
        ctx: &Ctx,
        f: impl FnOnce(&Engine<'_>, &str, &str) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let store = crate::container::store(ctx)?;
        let eng = crate::container::engine(ctx, &store);
        let rec = crate::container::resolve(&eng, &self.container)?;
        f(&eng, &rec.id, &self.network)
    }
}

/// `berth net connect` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Static address on this network (must be inside its subnet)
    #[arg(long)]
    pub ip: Option<IpAddr>,
    /// A DNS name for the container on this network, a user network (repeatable)
    #[arg(long)]
    pub alias: Vec<String>,
    /// NET CONTAINER.
    #[command(flatten)]
    pub target: NetAndContainer,
}

/// Connects the container; prints nothing, like Docker.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    args.target.apply(ctx, |eng, id, net| {
        berth_engine::container::connect::connect(eng, id, net, args.ip, &args.alias).map(drop)
    })
}
