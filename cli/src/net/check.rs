//! `berth net check`: CNI CHECK for one attachment.

use anyhow::Context;

use crate::Ctx;
use berth_engine::network::attach::{Target, runtime_conf};

/// `berth net check` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The network
    pub network: String,
    /// A named netns (under <run-root>/netns) or the path of a netns file
    pub target: String,
    /// Interface name inside the namespace
    #[arg(long, default_value = "eth0")]
    pub ifname: String,
}

/// Runs CHECK and prints `ok`; a failed check exits non-zero with the plugin's message.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let net = ctx.networks().get(&args.network)?;
    let target = Target::resolve(&args.target, &ctx.netns_dir(), true)?;
    let mut rt = runtime_conf(&target, &args.ifname, None, None, &[])?;
    rt.capability_args.clear();
    ctx.invoker()
        .check(&net.list, &rt)
        .with_context(|| format!("check {} on network {}", args.target, args.network))?;
    ctx.print("ok")
}
