//! `berth net ...`: network definitions, attachments of network namespaces, and containers'
//! networks (`connect`, `disconnect`). Shared here: the subcommand enum, and
//! how a network and its attachments are shown.

pub mod attach;
pub mod check;
pub mod connect;
pub mod create;
pub mod detach;
pub mod disconnect;
pub mod gc;
pub mod inspect;
pub mod ls;
pub mod overlay;
pub mod prune;
pub mod rm;
pub mod status;

use berth_core::cni::CniResult;
use berth_core::invoke::CachedAttachment;
use clap::Subcommand;
use serde_json::{Value, json};

use super::Ctx;
use berth_engine::network::Network;

/// `berth net` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Create a network
    Create(create::Args),
    /// List networks
    #[command(alias = "list")]
    Ls(ls::Args),
    /// Show networks' configuration and attachments as JSON
    Inspect(inspect::Args),
    /// Remove networks
    #[command(alias = "remove")]
    Rm(rm::Args),
    /// Remove every network without attachments
    Prune(prune::Args),
    /// Connect a container to one more network (now if it runs, and at every start)
    Connect(connect::Args),
    /// Disconnect a container from a network
    Disconnect(disconnect::Args),
    /// Attach a network namespace to a network
    Attach(attach::Args),
    /// Detach a network namespace from a network
    Detach(detach::Args),
    /// Check that an attachment is still as it was set up (CNI CHECK)
    Check(check::Args),
    /// Remove attachments whose namespace is gone, and let plugins clean up (CNI GC)
    Gc(gc::Args),
    /// Ask every network's plugins whether they are ready (CNI STATUS)
    Status(status::Args),
}

/// Runs a `berth net` subcommand.
pub fn run(cmd: NetCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        NetCommand::Create(a) => create::run(a, ctx),
        NetCommand::Ls(a) => ls::run(a, ctx),
        NetCommand::Inspect(a) => inspect::run(a, ctx),
        NetCommand::Rm(a) => rm::run(a, ctx),
        NetCommand::Prune(a) => prune::run(a, ctx),
        NetCommand::Connect(a) => connect::run(a, ctx),
        NetCommand::Disconnect(a) => disconnect::run(a, ctx),
        NetCommand::Attach(a) => attach::run(a, ctx),
        NetCommand::Detach(a) => detach::run(a, ctx),
        NetCommand::Check(a) => check::run(a, ctx),
        NetCommand::Gc(a) => gc::run(a, ctx),
        NetCommand::Status(a) => status::run(a, ctx),
    }
}

/// The addresses of a cached result, e.g. `["10.89.0.2/24"]`.
pub fn addresses(c: &CachedAttachment) -> Vec<String> {
    c.result
        .as_ref()
        .and_then(|r| CniResult::from_json(r).ok())
        .map(|r| r.ips.iter().map(|ip| ip.address.to_string()).collect())
        .unwrap_or_default()
}

/// One attachment as JSON.
pub fn attachment_json(c: &CachedAttachment) -> Value {
    json!({
        "containerId": c.container_id,
        "ifName": c.if_name,
        "netns": c.netns,
        "addresses": addresses(c),
        "portMappings": c.capability_args.get("portMappings").cloned().unwrap_or(json!([])),
    })
}

/// A network's summary as JSON.
pub fn network_json(n: &Network, attachments: &[CachedAttachment]) -> Value {
    let subnets: Vec<Value> = n
        .spec
        .as_ref()
        .map(|s| {
            s.subnets
                .iter()
                .map(|s| json!({"subnet": s.subnet, "gateway": s.gateway, "ipRange": s.ip_range}))
                .collect()
        })
        .unwrap_or_default();
    let spec = n.spec.as_ref();
    json!({
        "name": n.name(),
        "driver": n.driver(),
        "builtin": n.builtin,
        "subnets": subnets,
        "bridge": spec.and_then(|s| s.bridge.clone()),
        "internal": spec.is_some_and(|s| s.internal),
        "ipv6": spec.is_some_and(|s| s.ipv6),
        "labels": spec.map(|s| json!(s.labels)).unwrap_or(json!({})),
        "options": spec.map(|s| json!(s.options)).unwrap_or(json!({})),
        "cniVersion": n.list.version.as_str(),
        "plugins": n.list.plugin_types(),
        "attachments": attachments.len(),
    })
}
