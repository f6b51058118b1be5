//! Container commands: `run`, `create`, `start`, `attach`, `ps`, `logs`, `stop`, `restart`,
//! `kill`, `rm`, `exec`, `inspect`, `wait`, `commit`, `rename`, `pause`, `unpause`, `top`,
//! `stats`, `container prune` and the hidden `shim`. Each is a
//! thin layer over [`crate::container`] and [`crate::shim`].

pub mod attach;
pub mod commit;
pub mod create;
pub mod detach_keys;
pub mod exec;
pub mod exec_tty;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod pause;
pub mod prune;
pub mod ps;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod run;
pub mod session;
pub mod shim;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod wait;

use std::ffi::OsString;

use crate::cli::Ctx;
use crate::cli::storage_opts::open_store;
use crate::container::lifecycle::Engine;
use crate::container::{ContainerRecord, ContainerStore};
use crate::shim::spawn::ShimCommand;
use crate::store::Store;

/// `berth container …`.
#[derive(Debug, clap::Subcommand)]
pub enum ContainerCommand {
    /// Remove all stopped containers
    Prune(prune::Args),
}

/// Runs a `berth container` subcommand.
pub fn run_group(cmd: ContainerCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        ContainerCommand::Prune(a) => prune::run(a, ctx),
    }
}

/// Opens the image store (the engine borrows it).
pub fn store(ctx: &Ctx) -> anyhow::Result<Store> {
    open_store(ctx)
}

/// The engine over `store`.
pub fn engine<'a>(ctx: &Ctx, store: &'a Store) -> Engine<'a> {
    Engine {
        store,
        containers: ContainerStore::new(&ctx.root, &ctx.run_root),
        networks: ctx.networks(),
        invoker: ctx.invoker(),
        netns_dir: ctx.netns_dir(),
        runtime_root: ctx.run_root.join("runtime"),
    }
}

/// Resolves a reference and brings the record up to date (a dead shim means exited).
pub fn resolve(eng: &Engine<'_>, reference: &str) -> anyhow::Result<ContainerRecord> {
    let rec = eng.containers.resolve(reference)?;
    Ok(crate::container::lifecycle::reconcile(eng, rec))
}

/// Resolves a reference to a running container; `op` names what refuses any other state.
pub fn resolve_running(
    eng: &Engine<'_>,
    reference: &str,
    op: &'static str,
) -> anyhow::Result<ContainerRecord> {
    let rec = resolve(eng, reference)?;
    if rec.state.status != crate::container::record::Status::Running {
        return Err(crate::container::ContainerError::BadState {
            op,
            id: rec.short_id().to_owned(),
            status: rec.state.status.to_string(),
        }
        .into());
    }
    Ok(rec)
}

/// How this berth starts shims: the small `berth-shim` binary next to it, or else itself
/// (`berth shim`), with the same roots.
pub fn shim_command(ctx: &Ctx) -> anyhow::Result<ShimCommand> {
    let berth = std::env::current_exe()?;
    let small = berth.with_file_name("berth-shim");
    let (exe, subcommand) = if small.is_file() {
        (small, None)
    } else {
        (berth, Some("shim"))
    };
    let mut args: Vec<OsString> = vec![
        "--root".into(),
        ctx.root.clone().into(),
        "--run-root".into(),
        ctx.run_root.clone().into(),
    ];
    let cni: Vec<String> = ctx
        .cni_path
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    args.push("--cni-path".into());
    args.push(cni.join(":").into());
    if let Some(d) = ctx.storage_driver {
        args.push("--storage-driver".into());
        args.push(d.name().into());
    }
    args.extend(subcommand.map(OsString::from));
    Ok(ShimCommand { exe, args })
}

/// Prints the error as `main` would and exits with `code` (for commands whose exit status
/// carries meaning: `run`, `start -a`, `exec`, `wait`).
pub fn exit_with_error(e: &anyhow::Error, code: i32) -> ! {
    eprintln!("berth: {}", crate::cli::report::error_report(e));
    std::process::exit(code)
}

/// Exits with `code` after flushing stdout.
pub fn exit(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}
