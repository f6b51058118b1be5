//! `berth start`: start created or exited containers through a new shim; with `-a`, attach
//! to the (first) container's output, and with `-i` also its stdin.

use crate::cli::Ctx;
use crate::cli::terminal;
use crate::container::ContainerError;
use crate::container::lifecycle::{Engine, prepare_start};
use crate::container::record::{ContainerRecord, Status};
use crate::shim::attach::Frame;
use crate::shim::spawn::{Shim, spawn};

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

/// Why a start failed: the message and the exit code `run` should use.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StartFailed {
    /// 125, 126 or 127.
    pub code: i32,
    /// What went wrong.
    pub message: String,
}

/// Prepares the container (a `-t` one's pty `console_size` rows and columns), starts its
/// shim and waits for Started. On success returns the shim (its connection goes on with the
/// output) and the init's pid.
pub fn start_container(
    eng: &Engine<'_>,
    ctx: &Ctx,
    rec: &mut ContainerRecord,
    console_size: Option<(u16, u16)>,
) -> anyhow::Result<(Shim, i32)> {
    if matches!(rec.state.status, Status::Running | Status::Paused) {
        return Err(ContainerError::BadState {
            op: "start",
            id: rec.short_id().to_owned(),
            status: rec.state.status.to_string(),
        }
        .into());
    }
    prepare_start(eng, rec, console_size)?;
    eng.containers.update(&rec.id, |r| {
        r.restart_count += u32::from(r.state.status == Status::Exited);
    })?;
    let cmd = super::shim_command(ctx)?;
    let mut shim = match spawn(eng, &cmd, &rec.id) {
        Ok(s) => s,
        Err(e) => {
            let _ = crate::container::lifecycle::teardown(eng, &rec.id, None);
            return Err(e);
        }
    };
    match shim.next_frame()? {
        Some(Frame::Started(pid)) => Ok((shim, pid)),
        Some(Frame::Failed(code, message)) => {
            shim.reap();
            Err(StartFailed { code, message }.into())
        }
        other => {
            shim.reap();
            anyhow::bail!(
                "the shim did not start the container (got {other:?}); see {}",
                eng.containers.run_dir(&rec.id).join("shim.log").display()
            )
        }
    }
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

/// The exit code for a failed start.
pub fn code_of(e: &anyhow::Error) -> i32 {
    e.downcast_ref::<StartFailed>()
        .map(|f| f.code)
        .unwrap_or(125)
}
