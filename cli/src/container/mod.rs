//! Container commands: `run`, `create`, `start`, `attach`, `ps`, `logs`, `stop`, `restart`,
//! `kill`, `rm`, `exec`, `inspect`, `wait`, `cp`, `commit`, `rename`, `pause`, `unpause`, `top`,
//! `stats`, `diff`, `container prune` and the hidden `shim`. Each is a
//! thin layer over [`berth_engine::container`] and [`berth_engine::shim`].

pub mod attach;
pub mod commit;
pub mod cp;
pub mod create;
pub mod detach_keys;
pub mod diff;
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

use berth_engine::container::lifecycle::Engine;
use berth_engine::store::Store;

use crate::Ctx;
use crate::storage_opts::open_store;

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
    ctx.settings.engine(store)
}

pub use berth_engine::container::lookup::{resolve, resolve_running};

/// Prints the error as `main` would and exits with `code` (for commands whose exit status
/// carries meaning: `run`, `start -a`, `exec`, `wait`).
pub fn exit_with_error(e: &anyhow::Error, code: i32) -> ! {
    eprintln!("berth: {}", crate::report::error_report(e));
    std::process::exit(code)
}

/// Exits with `code` after flushing stdout.
pub fn exit(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}
