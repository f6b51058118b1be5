//! `berth run`: create a container, start it through its shim and either print its id (`-d`)
//! or attach to it ([`super::session`]) and exit with its exit code. 125 when berth fails
//! (nothing is left behind), 126/127 when the command cannot be run or is not found, 1 for
//! `-it` without a terminal on stdin (as Docker).

use crate::cli::Ctx;
use crate::cli::terminal;
use crate::container::create::create;

use super::session::{self, Attach, SignalTarget};

/// `berth run` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run in the background and print the container id
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Container settings.
    #[command(flatten)]
    pub create: super::create::CreateArgs,
}

/// Runs; never returns (the exit code is the container's).
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let c = &args.create;
    if let Err(e) = terminal::check_tty(c.interactive && !args.detach, c.tty) {
        super::exit_with_error(&e.into(), 1);
    }
    match run_inner(&args, ctx) {
        Ok(code) => super::exit(code),
        Err(e) => super::exit_with_error(&e, super::start::code_of(&e)),
    }
}

fn run_inner(args: &Args, ctx: &Ctx) -> anyhow::Result<i32> {
    let mut req = args.create.request()?;
    // Stdin closes with the attached client's input; a detached container keeps it open.
    req.stdio.stdin_once &= !args.detach;
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let mut rec = create(&eng, &req)?;
    let size = (req.stdio.tty && !args.detach)
        .then(terminal::window_size)
        .flatten();
    let shim = match super::start::start_container(&eng, ctx, &mut rec, size) {
        Ok((shim, _)) => shim,
        Err(e) => {
            // Nothing half-made: a container that could not start is removed again.
            if let Ok(r) = eng.containers.load(&rec.id) {
                let _ = crate::container::lifecycle::remove(&eng, &r, true);
            }
            return Err(e);
        }
    };
    if args.detach {
        drop(shim);
        ctx.print(&rec.id)?;
        return Ok(0);
    }
    let how = Attach {
        stdin: req.stdio.open_stdin,
        tty: req.stdio.tty,
    };
    let target = SignalTarget {
        runtime_root: eng.runtime_root.clone(),
        id: rec.id.clone(),
    };
    Ok(session::with_shim(shim, how, target))
}
