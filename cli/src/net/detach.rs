//! `berth net detach`: run DEL for a network namespace; works when the namespace or the cached
//! result is already gone.

use anyhow::Context;
use berth_core::invoke::RuntimeConf;
use berth_core::names::IfName;

use crate::Ctx;
use berth_engine::network::NetworkError;
use berth_engine::network::attach::Target;

/// `berth net detach` arguments.
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

/// Detaches the target from the network.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let target = Target::resolve(&args.target, &ctx.netns_dir(), false)?;
    let ifname = IfName::new(args.ifname.clone())?;
    let inv = ctx.invoker();
    let what = || format!("detach {} from network {}", args.target, args.network);
    match ctx.networks().get(&args.network) {
        Ok(net) => {
            let netns = target.path.exists().then(|| target.path.clone());
            let rt = RuntimeConf::new(target.container_id, ifname, netns);
            inv.del(&net.list, &rt).with_context(what)
        }
        // The network is gone: a cached attachment still says how to undo it.
        Err(NetworkError::NotFound { .. }) => {
            match inv.cached(&args.network, &target.container_id, &ifname)? {
                Some(c) => inv.del_cached(&c).with_context(what),
                None => Err(NetworkError::NotFound {
                    name: args.network.clone(),
                }
                .into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}
