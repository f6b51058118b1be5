//! `berth net gc`: an attachment is valid while its network namespace exists; every other one
//! is detached, then each network's plugins get CNI GC with the valid set.

use berth_core::invoke::{CachedAttachment, GcAttachment};
use berth_core::netns::Netns;

use crate::Ctx;

/// `berth net gc` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

fn netns_alive(c: &CachedAttachment) -> bool {
    !c.netns.is_empty() && Netns::open(std::path::Path::new(&c.netns)).is_ok()
}

/// Runs GC on every network; keeps going after failures and reports them all at the end.
pub fn run(_args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let inv = ctx.invoker();
    let before = inv.cached_attachments(None)?;
    let mut failures = Vec::new();
    let nets = ctx.networks().list()?;
    for net in &nets {
        let cached: Vec<&CachedAttachment> = before
            .iter()
            .filter(|c| c.network_name == net.name())
            .collect();
        if net.path.is_none() && cached.is_empty() {
            continue;
        }
        let valid: Vec<GcAttachment> = cached
            .iter()
            .filter(|c| netns_alive(c))
            .map(|c| GcAttachment {
                container_id: c.container_id.clone(),
                ifname: c.if_name.clone(),
            })
            .collect();
        if let Err(e) = inv.gc(&net.list, &valid) {
            failures.push(e.to_string());
        }
    }
    // Attachments of networks that no longer exist: DEL from the cache alone.
    for c in before
        .iter()
        .filter(|c| !nets.iter().any(|n| n.name() == c.network_name))
    {
        if !netns_alive(c) {
            if let Err(e) = inv.del_cached(c) {
                failures.push(e.to_string());
            }
        }
    }
    let removed = before.len() - inv.cached_attachments(None)?.len().min(before.len());
    ctx.print(&format!("removed {removed} stale attachment(s)"))?;
    if !failures.is_empty() {
        anyhow::bail!("gc finished with errors: {}", failures.join("; "));
    }
    Ok(())
}
