//! `berth run`: create a container, start it through its shim and either print its id (`-d`)
//! or stream its output and exit with its exit code. 125 when berth fails (nothing is left
//! behind), 126/127 when the command cannot be run or is not found.

use std::io::Write;

use crate::cli::Ctx;
use crate::container::create::create;
use crate::shim::attach::Frame;
use crate::shim::spawn::Shim;

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
    match run_inner(&args, ctx) {
        Ok(code) => super::exit(code),
        Err(e) => super::exit_with_error(&e, super::start::code_of(&e)),
    }
}

fn run_inner(args: &Args, ctx: &Ctx) -> anyhow::Result<i32> {
    let req = args.create.request()?;
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let mut rec = create(&eng, &req)?;
    let (shim, pid) = match super::start::start_container(&eng, ctx, &mut rec) {
        Ok(s) => s,
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
    forward_signals(eng.runtime_root.clone(), rec.id.clone(), pid);
    Ok(stream(shim))
}

/// Relays SIGINT, SIGTERM, SIGHUP and SIGQUIT to the container while the CLI streams.
fn forward_signals(runtime_root: std::path::PathBuf, id: String, _pid: i32) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        let rt = berth_runtime::Runtime::new(runtime_root);
        while let Ok(sig) = set.wait() {
            let _ = rt.kill(&id, sig, false);
        }
    });
}

/// Copies the container's output to ours until it exits; returns its exit code.
pub fn stream(mut shim: Shim) -> i32 {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        match shim.next_frame() {
            Ok(Some(Frame::Stdout(d))) => {
                let _ = out.write_all(&d).and_then(|()| out.flush());
            }
            Ok(Some(Frame::Stderr(d))) => {
                let _ = err.write_all(&d);
            }
            Ok(Some(Frame::Exited(code))) => {
                shim.reap();
                return code;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                eprintln!("berth: lost the container's shim");
                return 125;
            }
        }
    }
}
