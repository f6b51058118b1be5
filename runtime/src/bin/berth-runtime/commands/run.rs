//! `run`: create, start, and (unless `--detach`) wait for the container and delete it,
//! exiting with its status. Signals sent to `run` while it waits are relayed to the container.

use nix::sys::wait::{WaitStatus, waitpid};

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
    let code = loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, c)) => break c,
            Ok(WaitStatus::Signaled(_, s, _)) => break 128 + s as i32,
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if !args.keep {
        ctx.runtime.delete(&id, true)?;
    }
    Ok(code)
}
