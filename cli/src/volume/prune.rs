//! `berth volume prune [-a] [-f]`: removes unused anonymous volumes, or with `-a` every
//! unused volume. Asks first unless `-f`.

use std::io::{self, Write};

use super::super::human;
use super::super::image::prune::confirm;
use super::super::storage_opts::StorageCtx;
use berth_engine::container::refs::{scan, volume_in_use};

/// `berth volume prune` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Runs `berth volume prune`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let warning = if args.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !args.force && !confirm(warning)? {
        return Ok(());
    }
    let store = super::open_volumes(ctx)?;
    let containers = scan(ctx.root())?;
    let report = store.prune(args.all, &|n| volume_in_use(&containers, n))?;
    let mut out = io::stdout().lock();
    if !report.removed.is_empty() {
        writeln!(out, "Deleted Volumes:")?;
        for n in &report.removed {
            writeln!(out, "{n}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        human::size4(report.reclaimed)
    )?;
    Ok(())
}
