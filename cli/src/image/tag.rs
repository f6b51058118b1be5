//! `berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`.

use super::super::storage_opts::{StorageCtx, open_store};
use berth_engine::image::ImageRef;

/// `berth tag` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The image to tag, by name or id
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    /// The new name
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

/// Runs `berth tag`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let target = ImageRef::parse(&args.target)?;
    open_store(ctx)?.images().tag(&args.source, &target)?;
    Ok(())
}
