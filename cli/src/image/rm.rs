//! `berth rmi [-f] IMAGE...` (`berth image rm`): untags and deletes images as `docker rmi`
//! ([`Store::remove_image`](berth_engine::store::Store::remove_image)), then the unpacked
//! layers no image or container needs. An image a container was created from is refused
//! unless `--force` (then only its tags go); which images containers use comes from
//! [`refs`](berth_engine::container::refs). Keeps going after a failure and exits non-zero if
//! any image could not be removed.

use std::io::{self, Write};

use super::super::report::error_report;
use super::super::storage_opts::{StorageCtx, open_store};
use berth_engine::container::refs::{image_user, scan};
use berth_engine::image::RemoveEvent;

/// `berth rmi` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force removal of the image (untags an image that containers use, removes all tags of
    /// an image given by id)
    #[arg(short, long)]
    pub force: bool,
    /// Images to remove, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// Runs `berth rmi`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let store = open_store(ctx)?;
    let containers = scan(ctx.root())?;
    let user = |d: &berth_engine::digest::Digest| image_user(&containers, d);
    let mut out = io::stdout().lock();
    let mut failed: Vec<anyhow::Error> = Vec::new();
    for name in &args.images {
        match store.remove_image(name, args.force, &user) {
            Ok(events) => {
                for e in events {
                    match e {
                        RemoveEvent::Untagged(t) => writeln!(out, "Untagged: {t}")?,
                        RemoveEvent::Deleted(d) => writeln!(out, "Deleted: {d}")?,
                    }
                }
            }
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
