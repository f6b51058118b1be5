//! `berth commit`: a container's changes become a new image.

use crate::Ctx;
use berth_engine::digest::Digest;
use berth_engine::image::ImageOptions;
use berth_engine::storage::RwLayerId;

/// `berth commit` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container
    pub container: String,
    /// Name the image: NAME[:TAG]
    pub reference: Option<String>,
}

/// Commits and prints the new image id.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let rec = super::resolve(&eng, &args.container)?;
    let image = Digest::parse(&rec.image)?;
    let opts = ImageOptions {
        reference: args.reference.as_deref().map(str::parse).transpose()?,
        ..Default::default()
    };
    let skip = berth_engine::container::files::made_mount_points();
    let id = store.commit(&RwLayerId::new(&rec.id)?, &image, &opts, &skip)?;
    ctx.print(&id.to_string())
}
