//! `berth net create`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::Context;

use crate::Ctx;
use berth_engine::network::{CreateRequest, Driver};

/// Which plugin connects the network's containers.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DriverArg {
    /// A Linux bridge with a veth per container
    Bridge,
    /// A routed point-to-point veth per container
    Veth,
    /// One network across hosts: VXLAN between them, state in etcd (--store)
    Overlay,
}

/// `berth net create` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The network's name
    pub name: String,
    /// The CNI plugin connecting containers
    #[arg(long, short = 'd', value_enum, default_value = "bridge")]
    pub driver: DriverArg,
    /// Subnet in CIDR form (repeat for several; default: a free 10.89-255.x.0/24)
    #[arg(long)]
    pub subnet: Vec<String>,
    /// Gateway address (default: the subnet's first address)
    #[arg(long)]
    pub gateway: Option<IpAddr>,
    /// Allocate container addresses from this part of the subnet only
    #[arg(long = "ip-range")]
    pub ip_range: Option<String>,
    /// Containers may not reach beyond the network
    #[arg(long)]
    pub internal: bool,
    /// Enable IPv6 (picks a ULA /64 unless an IPv6 --subnet is given)
    #[arg(long)]
    pub ipv6: bool,
    /// Overlay driver: the store
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// Driver option KEY=VALUE: mtu, bridge (overlay: vni, slice)
    #[arg(long = "opt", short = 'o', value_parser = parse_kv)]
    pub opts: Vec<(String, String)>,
    /// Label KEY=VALUE
    #[arg(long = "label", value_parser = parse_kv)]
    pub labels: Vec<(String, String)>,
}

/// Parses `KEY=VALUE` (the value may be empty, the key may not).
pub fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// Creates the network and prints its name.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let mut labels: BTreeMap<String, String> = args.labels.into_iter().collect();
    if args.internal {
        labels.insert("berth.network.internal".into(), "true".into());
    }
    let req = CreateRequest {
        name: args.name.clone(),
        driver: match args.driver {
            DriverArg::Bridge => Driver::Bridge,
            DriverArg::Veth => Driver::Veth,
            DriverArg::Overlay => Driver::Overlay,
        },
        subnets: args.subnet,
        gateway: args.gateway,
        ip_range: args.ip_range,
        internal: args.internal,
        ipv6: args.ipv6,
        options: args.opts.into_iter().collect(),
        labels,
        overlay_state_dir: None,
    };
    if let DriverArg::Overlay = args.driver {
        return create_overlay(req, &args.store, ctx);
    }
    let net = ctx
        .networks()
        .create(req, &ctx.lock_dir(), std::path::Path::new("/proc"))
        .with_context(|| format!("create network {}", args.name))?;
    ctx.print(net.name())
}

/// An overlay network: recorded in the store (found there when another host made it with
/// the same settings), then defined on this host.
fn create_overlay(
    req: CreateRequest,
    store: &crate::store_args::StoreArgs,
    ctx: &Ctx,
) -> anyhow::Result<()> {
    let [subnet] = req.subnets.as_slice() else {
        anyhow::bail!("an overlay network needs exactly one --subnet (the whole cluster's)");
    };
    anyhow::ensure!(
        req.gateway.is_none() && req.ip_range.is_none() && !req.ipv6 && !req.internal,
        "--gateway, --ip-range, --ipv6 and --internal do not apply to an overlay network"
    );
    let opts = store.options()?;
    let spec = super::overlay::create_in_store(&opts, &req.name, subnet, &req.options)
        .with_context(|| format!("create overlay network {}", req.name))?;
    super::overlay::ensure_local(ctx, &spec)?;
    ctx.print(&spec.name)
}
