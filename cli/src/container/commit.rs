//! `berth commit`: a container's changes become a new image
//! ([`berth_engine::container::commit`]).

use crate::Ctx;
use berth_engine::image::ImageOptions;
use berth_engine::image::config_changes::ConfigChanges;

/// `berth commit` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Author (e.g. "Jane Doe <jane@example.com>")
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply a Dockerfile instruction to the image's config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Do not freeze a running container while committing
    #[arg(long)]
    pub no_pause: bool,
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
    let config = (!args.change.is_empty()).then(|| ConfigChanges {
        instructions: args.change.clone(),
        ..Default::default()
    });
    if let Some(c) = &config {
        c.validate()?;
    }
    let opts = ImageOptions {
        reference: args.reference.as_deref().map(str::parse).transpose()?,
        comment: args.message,
        author: args.author,
        config,
        ..Default::default()
    };
    let id = berth_engine::container::commit::commit(&eng, &rec, &opts, !args.no_pause)?;
    ctx.print(&id.to_string())
}
