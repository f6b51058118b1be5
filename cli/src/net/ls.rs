//! `berth net ls`.

use crate::ctx::table;
use crate::{Ctx, Format};

/// `berth net ls` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the names
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Lists networks: built-ins first, then by name.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let nets = ctx.networks().list()?;
    let inv = ctx.invoker();
    let mut rows = Vec::new();
    let mut json = Vec::new();
    for n in &nets {
        let atts = inv.cached_attachments(Some(n.name()))?;
        json.push(super::network_json(n, &atts));
        let subnets: Vec<String> = n.subnets().iter().map(|s| s.to_string()).collect();
        rows.push(vec![
            n.name().to_string(),
            n.driver(),
            if subnets.is_empty() {
                "-".into()
            } else {
                subnets.join(",")
            },
            atts.len().to_string(),
        ]);
    }
    match ctx.format {
        Format::Json => ctx.print_json(&serde_json::Value::Array(json)),
        Format::Table if args.quiet => {
            let names: Vec<&str> = nets.iter().map(|n| n.name()).collect();
            ctx.print(&names.join("\n"))
        }
        Format::Table => ctx.print(&table(&["NAME", "DRIVER", "SUBNETS", "ATTACHMENTS"], &rows)),
    }
}
