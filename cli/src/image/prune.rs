//! `berth image prune [-a] [-f]`: removes dangling (untagged) images, or with `-a` every image
//! no container uses, then the layers nobody needs. Asks first unless `-f`, as docker does.

use std::io::{self, BufRead, Write};

use super::super::human;
use super::super::storage_opts::{StorageCtx, open_store};
use berth_engine::container::refs::{image_user, scan};
use berth_engine::image::{PruneFilter, RemoveEvent};

/// `berth image prune` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Asks `question` on stdout and reads a yes/no answer from stdin (default no).
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    let mut out = io::stdout().lock();
    write!(out, "{question}\nAre you sure you want to continue? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Runs `berth image prune`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let warning = if args.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !args.force && !confirm(warning)? {
        return Ok(());
    }
    let store = open_store(ctx)?;
    let containers = scan(ctx.root())?;
    let filter = PruneFilter {
        dangling_only: !args.all,
        ..Default::default()
    };
    let report = store.prune_images(&filter, &|d| image_user(&containers, d))?;
    let mut out = io::stdout().lock();
    if !report.removed.is_empty() {
        writeln!(out, "Deleted Images:")?;
        for e in &report.removed {
            match e {
                RemoveEvent::Untagged(t) => writeln!(out, "untagged: {t}")?,
                RemoveEvent::Deleted(d) => writeln!(out, "deleted: {d}")?,
            }
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
