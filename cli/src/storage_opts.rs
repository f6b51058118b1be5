//! Which store a command works on: the root directory and the storage driver. The driver is
//! the `--storage-driver` flag if given, else `storage-driver` from `<root>/config.json`, else
//! `overlay`. Commands take a [`StorageCtx`] so the CLI's own context type can provide it.

use std::path::Path;

use berth_engine::storage::DriverKind;
use berth_engine::store::Store;

/// What image and volume commands need from the CLI's context.
pub trait StorageCtx {
    /// The persistent root (`--root`, e.g. `/var/lib/berth`).
    fn root(&self) -> &Path;
    /// The `--storage-driver` flag, if given.
    fn storage_driver_flag(&self) -> Option<DriverKind>;
    /// The global `--format`.
    fn format(&self) -> super::Format;
}

/// The global `--storage-driver` flag, to `#[command(flatten)]` into the global options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StorageOpts {
    /// Storage driver: overlay (default) or vfs; overrides `storage-driver` in <root>/config.json
    #[arg(long = "storage-driver", global = true, value_parser = parse_driver)]
    pub storage_driver: Option<DriverKind>,
}

/// clap value parser for `--storage-driver`.
pub fn parse_driver(s: &str) -> Result<DriverKind, String> {
    s.parse()
        .map_err(|e: berth_engine::storage::StorageError| e.to_string())
}

/// Opens the store under the context's root with the resolved driver.
pub fn open_store(ctx: &dyn StorageCtx) -> anyhow::Result<Store> {
    berth_engine::settings::open_store(ctx.root(), ctx.storage_driver_flag())
}
