//! `run`: create, start, and (unless `--detach`) wait for the container and delete it,
//! exiting with its status. Signals sent to `run` while it waits are relayed to the container.

use super::Ctx;

/// `run` flags: create's plus `--detach`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    create: super::create::Args,
    /// Do not wait for the container.
    #[arg(short, long)]
    detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    keep: bool,
}

/// Run the container; returns its exit code.
pub fn run(args: RunArgs, ctx: &Ctx) -> anyhow::Result<i32> {
    ctx.refuse_systemd()?;
    let id = args.create.id.clone();
    let pid = ctx.runtime.create(&args.create.options())?;
    if !args.detach {
        // Before start, so no signal sent once the process runs can miss the relay.
        berth_runtime::sys::forward_signals_to(pid.as_raw())?;
    }
    if let Err(e) = ctx.runtime.start(&id) {
        let _ = ctx.runtime.delete(&id, true);
        return Err(e.into());
    }
    if args.detach {
        return Ok(0);
    }
    let code = berth_runtime::process::wait_exit_code(pid)?;
    if !args.keep {
        ctx.runtime.delete(&id, true)?;
    }
    Ok(code)
}
