//! `berth push NAME[:TAG]`: sends a local image to the registry its name points at, only the
//! blobs the registry lacks, printing docker's progress lines.

use std::io::{self, Write};

use anyhow::Context as _;

use berth_engine::registry::{self, LayerCompression, RemoteRef};

use super::super::storage_opts::{StorageCtx, open_store};
use super::progress::Renderer;
use super::registry_args::RegistryArgs;
use berth_engine::registry::Verb;

/// `berth push` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The local image to push, named for its registry (e.g. localhost:5000/app:v1)
    #[arg(value_name = "NAME[:TAG]")]
    pub reference: String,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// How layers the registry lacks are sent: gzip (as docker), zstd, or none (the tar as
    /// stored: no compression work, the most bytes)
    #[arg(long, default_value = "gzip", value_parser = LayerCompression::parse)]
    pub compression: LayerCompression,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `berth push`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let target = RemoteRef::parse(&args.reference)?;
    anyhow::ensure!(
        target.digest().is_none(),
        "push {}: a digest cannot be pushed to; name a tag",
        args.reference
    );
    let local = target
        .local_tag()?
        .map_or_else(|| args.reference.clone(), |t| t.to_string());
    let store = open_store(ctx)?;
    let quiet = registry::NoProgress;
    let bars = Renderer::new(Verb::Push);
    let progress: &dyn registry::Progress = if args.quiet { &quiet } else { &bars };
    let mut opts = args.registry.options();
    opts.compression = args.compression;
    let report = registry::push(&store, &local, &target, &opts, progress)
        .with_context(|| format!("push {target}"))?;
    let mut out = io::stdout().lock();
    if args.quiet {
        writeln!(out, "{}", report.digest)?;
    } else {
        writeln!(
            out,
            "{}: digest: {} size: {}",
            target.tag().unwrap_or("latest"),
            report.digest,
            report.size
        )?;
    }
    Ok(())
}
