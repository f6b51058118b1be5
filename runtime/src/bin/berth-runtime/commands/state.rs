//! `state`: the runtime spec's state JSON.

use super::{Ctx, print_json};

/// `state` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
}

/// Print the state.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    print_json(&ctx.runtime.state(&args.id)?)
}
