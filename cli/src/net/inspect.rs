//! `berth net inspect`: JSON, always.

use serde_json::Value;

use crate::Ctx;

/// `berth net inspect` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The networks
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Prints a JSON array: each network's summary, its conflist, and its current attachments
/// with their addresses (from the result cache).
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = ctx.networks();
    let inv = ctx.invoker();
    let mut out = Vec::new();
    for name in &args.names {
        let n = store.get(name)?;
        let atts = inv.cached_attachments(Some(n.name()))?;
        let mut v = super::network_json(&n, &atts);
        v["config"] = n.list.raw.clone();
        v["attachments"] = Value::Array(atts.iter().map(super::attachment_json).collect());
        out.push(v);
    }
    ctx.print_json(&Value::Array(out))
}
