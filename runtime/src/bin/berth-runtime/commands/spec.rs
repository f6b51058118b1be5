//! `spec`: write a default config.json (root, or rootless with `--rootless`) into the bundle.

use std::path::PathBuf;

use anyhow::Context;
use oci_spec::runtime::Spec;

use super::Ctx;

/// `spec` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bundle directory to write config.json into.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for an unprivileged user (user namespace mapping the caller).
    #[arg(long)]
    pub rootless: bool,
}

/// Write config.json; refuses to overwrite one.
pub fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<()> {
    let path = args.bundle.join("config.json");
    if path.exists() {
        anyhow::bail!("{} already exists; remove it first", path.display());
    }
    let spec = if args.rootless {
        Spec::rootless(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    } else {
        Spec::default()
    };
    let text = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))
}
