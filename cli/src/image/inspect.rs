//! `berth image inspect IMAGE...`: a JSON array of the images' details (id, tags, layers, the
//! OCI config), indented as `docker image inspect`. Unknown names are reported on stderr
//! after the array, with a non-zero exit.

use std::io::{self, Write};

use super::super::storage_opts::{StorageCtx, open_store};
use super::super::table::write_pretty_json;

/// `berth image inspect` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Images to inspect, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// Runs `berth image inspect`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let store = open_store(ctx)?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &args.images {
        match store.images().inspect(name) {
            Ok(i) => found.push(i),
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
