//! `berth net attach`: run ADD for a network namespace and print the addresses it got.

use std::net::IpAddr;

use anyhow::Context;
use serde_json::Value;

use crate::{Ctx, Format};
use berth_engine::network::attach::{Target, runtime_conf};

/// `berth net attach` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The network
    pub network: String,
    /// A named netns (under <run-root>/netns) or the path of a netns file
    pub target: String,
    /// Static address (must be inside the network's subnet)
    #[arg(long)]
    pub ip: Option<IpAddr>,
    /// Static MAC address of the interface
    #[arg(long)]
    pub mac: Option<String>,
    /// Publish a port: [HOSTIP:]HOSTPORT:PORT[/tcp|udp|sctp] (needs the portmap plugin)
    #[arg(long = "publish", short = 'p')]
    pub publish: Vec<String>,
    /// Interface name inside the namespace
    #[arg(long, default_value = "eth0")]
    pub ifname: String,
}

/// Attaches and prints one address per line (the CNI result with `--format json`).
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let net = ctx.networks().get(&args.network)?;
    if !args.publish.is_empty() && !net.list.plugin_types().contains(&"portmap") {
        anyhow::bail!(
            "network {} has no portmap plugin, so -p cannot publish ports",
            args.network
        );
    }
    // Bad -p specs are refused before anything else is looked at.
    for spec in &args.publish {
        berth_engine::network::attach::parse_port(spec)?;
    }
    let target = Target::resolve(&args.target, &ctx.netns_dir(), true)?;
    let rt = runtime_conf(
        &target,
        &args.ifname,
        args.ip,
        args.mac.as_deref(),
        &args.publish,
    )?;
    let result = ctx
        .invoker()
        .add(&net.list, &rt)
        .with_context(|| format!("attach {} to network {}", args.target, args.network))?;
    match ctx.format {
        Format::Json => {
            let v: Value = result.to_json(net.list.version);
            ctx.print_json(&v)
        }
        Format::Table => {
            let addrs: Vec<String> = result.ips.iter().map(|ip| ip.address.to_string()).collect();
            ctx.print(&addrs.join("\n"))
        }
    }
}
