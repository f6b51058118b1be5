//! `berth import [-c INSTRUCTION]... FILE|- [REPOSITORY[:TAG]]`: a rootfs tarball (plain, gzip
//! or zstd) becomes a one-layer image, as `docker import` (`--change` as dockerd applies it).
//! Prints the new image id.

use std::fs::File;
use std::io::{self, BufReader, IsTerminal, Read, Write};

use anyhow::Context as _;

use super::super::storage_opts::{StorageCtx, open_store};
use berth_engine::image::config_changes::ConfigChanges;
use berth_engine::image::{ImageOptions, ImageRef};

/// `berth import` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Tarball to import, or `-` to read it from stdin
    #[arg(value_name = "file|-")]
    pub file: String,
    /// Name and tag for the new image
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
    /// Commit message for the imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Apply a Dockerfile instruction to the image's config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
}

/// Runs `berth import`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let reference = args.reference.as_deref().map(ImageRef::parse).transpose()?;
    let src: Box<dyn Read> = if args.file == "-" {
        let stdin = io::stdin();
        anyhow::ensure!(
            !stdin.is_terminal(),
            "import from stdin, but stdin is a terminal: pipe a tarball in or give a file"
        );
        Box::new(BufReader::with_capacity(1 << 20, stdin.lock()))
    } else {
        let f = File::open(&args.file).with_context(|| format!("open {}", args.file))?;
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    let store = open_store(ctx)?;
    let opts = ImageOptions {
        reference,
        comment: Some(args.message.unwrap_or_else(|| "Imported from -".to_owned())),
        config: (!args.changes.is_empty()).then(|| ConfigChanges {
            instructions: args.changes,
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = store
        .import(src, &opts)
        .with_context(|| format!("import {}", args.file))?;
    writeln!(io::stdout(), "{id}")?;
    Ok(())
}
