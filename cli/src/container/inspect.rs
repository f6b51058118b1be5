//! `berth inspect`: the records of containers as a JSON array.

use crate::Ctx;

/// `berth inspect` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Containers
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Prints the records.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let mut out = Vec::new();
    for r in &args.containers {
        out.push(serde_json::to_value(super::resolve(&eng, r)?)?);
    }
    ctx.print_json(&serde_json::Value::Array(out))
}
