//! `berth volume create [-o KEY=VALUE]... [NAME]`: creates a named volume (or returns the
//! existing one), or an anonymous one with a random name; prints the name. `-o` takes the
//! `local` driver's options (`type`, `device`, `o`), as `docker volume create -o`.

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
    /// Driver option (type, device or o: `-o type=tmpfs -o device=tmpfs -o o=size=64m`)
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
}

/// Parses `KEY=VALUE` pairs (`KEY` alone means an empty value, as docker); `what` names them
/// in errors.
fn parse_pairs(what: &str, pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            anyhow::ensure!(!k.is_empty(), "invalid {what} {l:?}: empty key");
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Runs `berth volume create`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    berth_engine::volume::check_driver(&args.driver)?;
    let name = args.name.as_deref().map(VolumeName::new).transpose()?;
    let labels = parse_pairs("label", &args.labels)?;
    let opts = parse_pairs("option", &args.opts)?;
    let v = super::open_volumes(ctx)?.create_with(name.as_ref(), labels, opts)?;
    writeln!(io::stdout(), "{}", v.name)?;
    Ok(())
}
