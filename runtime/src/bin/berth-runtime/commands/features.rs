//! `features`: what this runtime supports, in the runtime spec's features document shape
//! ([`berth_runtime::features::document`], for this kernel's capabilities).

use super::{Ctx, print_json};

/// `features` takes no flags.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Print the features JSON.
pub fn run(_args: Args, _ctx: &Ctx) -> anyhow::Result<()> {
    let last_cap = berth_runtime::process::finalize::last_cap();
    print_json(&berth_runtime::features::document(last_cap))
}
