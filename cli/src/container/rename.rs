//! `berth rename`: give a container a new (unique) name.

use crate::Ctx;

/// `berth rename` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container
    pub container: String,
    /// Its new name
    pub new_name: String,
}

/// Renames.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let rec = super::resolve(&eng, &args.container)?;
    berth_engine::container::rename::rename(&eng, &rec, &args.new_name)?;
    Ok(())
}
