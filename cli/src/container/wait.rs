//! `berth wait`: block until containers stop, printing each exit code.

use crate::Ctx;

/// `berth wait` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Containers
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Waits for each container and prints its exit code.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    for r in &args.containers {
        let rec = super::resolve(&eng, r)?;
        eng.containers.wait_shim(&rec.id, None);
        let code = match eng.containers.load(&rec.id) {
            Ok(rec) => {
                berth_engine::container::lifecycle::reconcile(&eng, rec)
                    .state
                    .exit_code
            }
            Err(_) => rec.state.exit_code,
        };
        ctx.print(&code.to_string())?;
    }
    Ok(())
}
