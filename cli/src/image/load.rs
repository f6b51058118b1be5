//! `berth load [-i FILE]`: loads the images of a `docker save` or OCI layout archive (plain,
//! gzip or zstd) from a file or stdin, and unpacks their layers.

use std::fs::File;
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use super::super::storage_opts::{StorageCtx, open_store};

/// `berth load` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `berth load`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let (src, what): (Box<dyn Read>, String) = match &args.input {
        Some(p) => {
            let f = File::open(p).with_context(|| format!("open {}", p.display()))?;
            (
                Box::new(BufReader::with_capacity(1 << 20, f)),
                p.display().to_string(),
            )
        }
        None => {
            let stdin = io::stdin();
            anyhow::ensure!(
                !stdin.is_terminal(),
                "requested load from stdin, but stdin is a terminal: use -i FILE or redirect"
            );
            (
                Box::new(BufReader::with_capacity(1 << 20, stdin.lock())),
                "stdin".to_owned(),
            )
        }
    };
    let store = open_store(ctx)?;
    let loaded = store.load(src).with_context(|| format!("load {what}"))?;
    if args.quiet {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    for img in loaded {
        if img.tags.is_empty() {
            writeln!(out, "Loaded image ID: {}", img.id)?;
        }
        for t in img.tags {
            writeln!(out, "Loaded image: {t}")?;
        }
    }
    Ok(())
}
