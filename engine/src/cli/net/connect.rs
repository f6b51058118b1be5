//! `berth net connect`: one more network for a container (Docker's `network connect`),
//! attached now when the container runs, and at every later start.

use std::net::IpAddr;

use crate::cli::Ctx;
use crate::cli::container::{engine, resolve, store};

/// `berth net connect` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Static address on this network (must be inside its subnet)
    #[arg(long)]
    pub ip: Option<IpAddr>,
    /// The network
    pub network: String,
    /// The container (name or id)
    pub container: String,
}

/// Connects the container; prints nothing, like Docker.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = store(ctx)?;
    let eng = engine(ctx, &store);
    let rec = resolve(&eng, &args.container)?;
    crate::container::connect::connect(&eng, &rec.id, &args.network, args.ip)?;
    Ok(())
}
