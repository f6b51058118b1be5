//! `berth save [-o FILE] IMAGE...`: writes the images to one tar that is both a `docker save`
//! archive and an OCI image layout. A file is written to a temp file next to it and renamed
//! into place when complete, so a failure leaves no partial archive.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::super::storage_opts::{StorageCtx, open_store};

/// `berth save` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Images to save, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// Runs `berth save`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let store = open_store(ctx)?;
    let names: Vec<&str> = args.images.iter().map(String::as_str).collect();
    let Some(path) = args.output else {
        let stdout = io::stdout();
        anyhow::ensure!(
            !stdout.is_terminal(),
            "cowardly refusing to save to a terminal. Use the -o flag or redirect"
        );
        let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
        store.images().save(&names, &mut w)?;
        w.flush().context("write to stdout")?;
        return Ok(());
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".berth-save-")
        .tempfile_in(dir)
        .with_context(|| format!("create a temp file in {}", dir.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, tmp);
    store.images().save(&names, &mut w)?;
    let tmp = w
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("write {}", path.display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("write {}", path.display()))?;
    tmp.persist(&path)
        .map_err(|e| e.error)
        .with_context(|| format!("rename the archive to {}", path.display()))?;
    Ok(())
}
