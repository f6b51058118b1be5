//! `berth volume create [-o KEY=VALUE]... [NAME]`: creates a named volume (or returns the
//! existing one), or an anonymous one with a random name; prints the name. `-o` takes the
//! `local` driver's options (`type`, `device`, `o`), as `docker volume create -o`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use berth_engine::volume::VolumeName;

use crate::container::create::parse_label;

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
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Driver option (type, device or o: `-o type=tmpfs -o device=tmpfs -o o=size=64m`)
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub opts: Vec<(String, String)>,
}

/// Runs `berth volume create`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    berth_engine::volume::check_driver(&args.driver)?;
    let name = args.name.as_deref().map(VolumeName::new).transpose()?;
    let labels: BTreeMap<String, String> = args.labels.into_iter().collect();
    let opts: BTreeMap<String, String> = args.opts.into_iter().collect();
    let v = super::open_volumes(ctx)?.create_with(name.as_ref(), labels, opts)?;
    writeln!(io::stdout(), "{}", v.name)?;
    Ok(())
}
