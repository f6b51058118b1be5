//! `berth volume create [NAME]`: creates a named volume (or returns the existing one), or an
//! anonymous one with a random name; prints the name.

use std::collections::BTreeMap;
use std::io::{self, Write};

use berth_engine::volume::VolumeName;

use super::super::storage_opts::StorageCtx;

/// `berth volume create` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Volume name (random when omitted)
    pub name: Option<String>,
    /// Volume driver name (only `local`)
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume (KEY=VALUE)
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
}

/// Parses `KEY=VALUE` labels (`KEY` alone means an empty value, as docker).
fn parse_labels(labels: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    labels
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            anyhow::ensure!(!k.is_empty(), "invalid label {l:?}: empty key");
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Runs `berth volume create`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    berth_engine::volume::check_driver(&args.driver)?;
    let name = args.name.as_deref().map(VolumeName::new).transpose()?;
    let labels = parse_labels(&args.labels)?;
    let v = super::open_volumes(ctx)?.create(name.as_ref(), labels)?;
    writeln!(io::stdout(), "{}", v.name)?;
    Ok(())
}
