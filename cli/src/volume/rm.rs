//! `berth volume rm [-f] NAME...`: removes volumes no container mounts (which ones are
//! mounted comes from [`refs`](berth_engine::container::refs)); prints each name
//! removed, keeps going after a failure and exits non-zero if any failed.

use std::io::{self, Write};

use super::super::report::error_report;
use super::super::storage_opts::StorageCtx;
use berth_engine::container::refs::{scan, volume_in_use};

/// `berth volume rm` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force the removal of volumes that containers use
    #[arg(short, long)]
    pub force: bool,
    /// Volumes to remove
    #[arg(required = true, value_name = "VOLUME")]
    pub names: Vec<String>,
}

/// Runs `berth volume rm`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let store = super::open_volumes(ctx)?;
    let containers = scan(ctx.root())?;
    let in_use = |n: &str| volume_in_use(&containers, n);
    let mut out = io::stdout().lock();
    let mut failed: Vec<anyhow::Error> = Vec::new();
    for n in &args.names {
        match store.remove(n, args.force, &in_use) {
            Ok(()) => writeln!(out, "{n}")?,
            Err(e) => failed.push(e.into()),
        }
    }
    // Each failure is reported; the last one is the command's error (non-zero exit).
    let Some(last) = failed.pop() else {
        return Ok(());
    };
    for e in failed {
        writeln!(io::stderr(), "Error: {}", error_report(&e))?;
    }
    Err(last)
}
