//! `berth start`: start created or exited containers through a new shim; with `-a`, attach
//! to the (first) container's output, and with `-i` also its stdin.

use crate::Ctx;
use crate::terminal;
use berth_engine::container::lifecycle::Engine;
use berth_engine::container::record::ContainerRecord;
pub use berth_engine::container::start::{StartFailed, code_of, start_container};

use super::detach_keys::{DetachKeys, DetachKeysArg};
use super::session::{self, Attach, SignalTarget};

/// `berth start` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Attach to the output and exit with the container's code
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach the container's stdin too (when it was created with -i)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Detach keys.
    #[command(flatten)]
    pub detach_keys: DetachKeysArg,
    /// Containers (name or id)
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Starts each container and prints its reference.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let keys = args.detach_keys.keys_or_exit();
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    if args.attach {
        let reference = args.containers.first().cloned().unwrap_or_default();
        let code = match super::resolve(&eng, &reference) {
            Ok(rec) => start_attached(&eng, ctx, rec, args.interactive, keys),
            Err(e) => super::exit_with_error(&e, code_of(&e)),
        };
        super::exit(code);
    }
    for reference in &args.containers {
        let mut rec = super::resolve(&eng, reference)?;
        let (shim, _) = start_container(&eng, ctx, &mut rec, None)?;
        drop(shim);
        ctx.print(reference)?;
    }
    Ok(())
}

/// `start -a [-i]`: the container's exit code.
fn start_attached(
    eng: &Engine<'_>,
    ctx: &Ctx,
    mut rec: ContainerRecord,
    stdin: bool,
    detach_keys: DetachKeys,
) -> i32 {
    let how = Attach {
        stdin: stdin && rec.config.stdio.open_stdin,
        tty: rec.config.stdio.tty,
        detach_keys,
    };
    if let Err(e) = terminal::check_tty(how.stdin, how.tty) {
        super::exit_with_error(&e.into(), 1);
    }
    let size = how.tty.then(terminal::window_size).flatten();
    match start_container(eng, ctx, &mut rec, size) {
        Ok((shim, _)) => {
            let target = SignalTarget {
                runtime_root: eng.runtime_root.clone(),
                id: rec.id.clone(),
            };
            session::with_shim(shim, how, target)
        }
        Err(e) => super::exit_with_error(&e, code_of(&e)),
    }
}
