//! `berth volume inspect NAME...`: a JSON array of the volumes, indented as docker does.
//! Unknown names are reported on stderr after the array, with a non-zero exit.

use std::io::{self, Write};

use super::super::storage_opts::StorageCtx;
use super::super::table::write_pretty_json;

/// `berth volume inspect` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Volumes to inspect
    #[arg(required = true, value_name = "VOLUME")]
    pub names: Vec<String>,
}

/// Runs `berth volume inspect`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let store = super::open_volumes(ctx)?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for n in &args.names {
        match store.inspect(n) {
            Ok(v) => found.push(v),
            Err(e) => errors.push(e),
        }
    }
    write_pretty_json(&mut io::stdout().lock(), &found)?;
    let Some(last) = errors.pop() else {
        return Ok(());
    };
    for e in errors {
        writeln!(io::stderr(), "Error: {e}")?;
    }
    Err(last.into())
}
