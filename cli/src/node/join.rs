//! `berth node join`: the node agent, in the foreground until stopped. Stopping it does not
//! leave: the host's entries stay on the others until its lease expires (`--ttl`), so a
//! restart within that time changes nothing for its containers.

use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;

use berth_core::plugins::overlay::{HostLease, PeerContainer};
use berth_engine::container::ContainerStore;
use berth_overlay::{AgentOptions, Hooks, NetworkSpec};

use super::NodeOpts;
use crate::Ctx;
use crate::net::overlay;

/// `berth node join` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Store, host id and networks
    #[command(flatten)]
    pub node: NodeOpts,
    /// This host's address on the network between hosts (other hosts send VXLAN to it)
    #[arg(long = "underlay-ip")]
    pub underlay_ip: Ipv4Addr,
    /// Seconds a dead host's entries stay on the others (the lease's TTL)
    #[arg(long, default_value_t = 15)]
    pub ttl: i64,
}

/// The agent's hooks: this host's definition of each network it joins, its containers' names
/// and the DNS server that answers the other hosts'.
struct LocalDefinitions {
    ctx: Ctx,
}

impl Hooks for LocalDefinitions {
    fn joined(&self, net: &NetworkSpec, lease: &HostLease) {
        match overlay::ensure_local(&self.ctx, net) {
            Ok(()) => tracing::info!(
                network = %net.name,
                slice = %lease.slice,
                bridge = %lease.bridge,
                mtu = lease.mtu,
                "overlay network ready on this host"
            ),
            Err(e) => {
                tracing::warn!(network = %net.name, error = %format!("{e:#}"), "overlay network not defined here")
            }
        }
    }

    fn left(&self, net: &NetworkSpec) {
        let (store, inv) = (self.ctx.networks(), self.ctx.invoker());
        if let Err(e) = berth_engine::network::remove(&store, &inv, &net.name, false) {
            tracing::warn!(network = %net.name, error = %format!("{e:#}"), "keeping this host's definition of a removed overlay network");
        }
    }

    fn local_names(&self, net: &NetworkSpec) -> Vec<PeerContainer> {
        let containers = ContainerStore::new(&self.ctx.root, &self.ctx.run_root);
        match containers.list() {
            Ok(records) => berth_engine::dns::overlay::local_names(&records, &net.name),
            Err(e) => {
                tracing::warn!(network = %net.name, error = %e, "this host's container names are not published");
                Vec::new()
            }
        }
    }

    fn names_changed(&self, net: &NetworkSpec) {
        let dns = berth_engine::dns::DnsControl::new(&self.ctx.root, &self.ctx.run_root);
        if let Err(e) = dns.sync(false) {
            tracing::warn!(network = %net.name, error = %format!("{e:#}"), "the DNS server did not take the other hosts' names");
        }
    }
}

/// Runs the agent until the process is stopped.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    anyhow::ensure!(args.ttl >= 2, "--ttl must be at least 2 seconds");
    let opts = AgentOptions {
        store: args.node.store.options()?,
        host: args.node.host()?,
        underlay_ip: args.underlay_ip,
        ttl: args.ttl,
        state_dir: overlay::state_dir(ctx),
        rescan: Duration::from_secs(2),
        retry: Duration::from_secs(1),
        networks: args.node.networks.clone(),
    };
    tracing::info!(host = %opts.host, underlay = %opts.underlay_ip, "berth node agent starting");
    let hooks: Rc<dyn Hooks> = Rc::new(LocalDefinitions { ctx: ctx.clone() });
    berth_overlay::block_on(berth_overlay::agent::run(opts, hooks))??;
    Ok(())
}
