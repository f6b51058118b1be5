//! `berth node leave`: out of the named overlay networks (or all) now: the host's entries and
//! slices leave the store, its VXLAN devices and lease files go, and its definitions of the
//! networks are removed.

use std::time::Duration;

use anyhow::Context;
use berth_overlay::{AgentOptions, Store};

use super::NodeOpts;
use crate::Ctx;
use crate::net::overlay;

/// `berth node leave` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Store, host id and networks
    #[command(flatten)]
    pub node: NodeOpts,
}

struct RemoveDefinitions<'a> {
    ctx: &'a Ctx,
}

impl berth_overlay::Hooks for RemoveDefinitions<'_> {
    fn joined(&self, _: &berth_overlay::NetworkSpec, _: &berth_core::plugins::overlay::HostLease) {}

    fn left(&self, net: &berth_overlay::NetworkSpec) {
        let (store, inv) = (self.ctx.networks(), self.ctx.invoker());
        if let Err(e) = berth_engine::network::remove(&store, &inv, &net.name, false) {
            let gone = matches!(
                e.downcast_ref(),
                Some(berth_engine::network::NetworkError::NotFound { .. })
            );
            if !gone {
                tracing::warn!(network = %net.name, error = %format!("{e:#}"), "keeping this host's definition");
            }
        }
    }
}

/// Leaves and prints each network left.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let opts = AgentOptions {
        store: args.node.store.options()?,
        host: args.node.host()?,
        underlay_ip: std::net::Ipv4Addr::UNSPECIFIED,
        ttl: 0,
        state_dir: overlay::state_dir(ctx),
        rescan: Duration::ZERO,
        retry: Duration::ZERO,
        networks: args.node.networks.clone(),
    };
    let names = berth_overlay::block_on(async {
        let mut store = Store::connect(&opts.store).await?;
        let nets: Vec<_> = store
            .networks()
            .await?
            .into_iter()
            .filter(|n| opts.networks.is_empty() || opts.networks.contains(&n.name))
            .collect();
        berth_overlay::agent::leave(&opts, &nets, &RemoveDefinitions { ctx }).await?;
        Ok::<_, anyhow::Error>(nets.into_iter().map(|n| n.name).collect::<Vec<_>>())
    })?
    .context("leave overlay networks")?;
    for n in names {
        ctx.print(&n)?;
    }
    Ok(())
}
