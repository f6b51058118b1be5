//! `berth net status`: CNI STATUS of every network's plugins.

use serde_json::json;

use crate::ctx::table;
use crate::{Ctx, Format};

/// `berth net status` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these networks (default: all)
    pub names: Vec<String>,
}

/// Prints each network's readiness; exits non-zero when one is not ready.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = ctx.networks();
    let nets = if args.names.is_empty() {
        store.list()?
    } else {
        args.names
            .iter()
            .map(|n| store.get(n))
            .collect::<Result<_, _>>()?
    };
    let inv = ctx.invoker();
    let mut rows = Vec::new();
    let mut out = Vec::new();
    let mut not_ready = 0;
    for net in &nets {
        let (ready, msg) = match inv.status(&net.list) {
            Ok(()) if net.list.version.supports_gc_status() => (true, "ready".to_string()),
            Ok(()) => (
                true,
                format!("ready (CNI {} has no STATUS)", net.list.version),
            ),
            Err(e) => {
                not_ready += 1;
                (false, e.to_string())
            }
        };
        out.push(json!({"name": net.name(), "ready": ready, "message": msg}));
        rows.push(vec![net.name().to_string(), msg]);
    }
    match ctx.format {
        Format::Json => ctx.print_json(&json!(out))?,
        Format::Table => ctx.print(&table(&["NAME", "STATUS"], &rows))?,
    }
    if not_ready > 0 {
        anyhow::bail!("{not_ready} network(s) not ready");
    }
    Ok(())
}
