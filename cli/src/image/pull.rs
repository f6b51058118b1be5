//! `berth pull [--platform OS/ARCH] NAME[:TAG|@DIGEST]`: fetches an image from its registry
//! (Docker Hub by default), unpacks it and tags it, printing docker's progress lines.

use anyhow::Context as _;
use std::io::{self, Write};

use berth_engine::registry::{self, Platform, PullOptions, RemoteRef};

use super::super::storage_opts::{StorageCtx, open_store};
use super::progress::Renderer;
use super::registry_args::RegistryArgs;
use berth_engine::registry::Verb;

/// `berth pull` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The image: NAME[:TAG] or NAME@DIGEST
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub reference: String,
    /// Pick this platform from a multi-platform image
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", value_parser = Platform::parse)]
    pub platform: Option<Platform>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// When `run` and `create` pull their image (`--pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PullPolicy {
    /// Pull when the image is not in the store.
    #[default]
    Missing,
    /// Pull every time.
    Always,
    /// Never pull.
    Never,
}

/// `run`/`create`: pulls `image` as `policy` says, with progress on stderr, and returns the
/// name to create the container from (the pulled image's local tag).
pub fn ensure_image(
    store: &berth_engine::store::Store,
    image: &str,
    policy: PullPolicy,
) -> anyhow::Result<String> {
    let present = store.images().resolve(image).is_ok();
    if policy == PullPolicy::Never || (policy == PullPolicy::Missing && present) {
        return Ok(image.to_owned());
    }
    let Ok(r) = RemoteRef::parse(image) else {
        return Ok(image.to_owned());
    };
    let mut err = io::stderr().lock();
    if !present {
        writeln!(err, "Unable to find image '{image}' locally")?;
    }
    drop(err);
    let opts = PullOptions {
        platform: Platform::default(),
        registry: RegistryArgs::default().options(),
    };
    let bars = Renderer::on_stderr(Verb::Pull);
    let report = registry::pull(store, &r, &opts, &bars).with_context(|| format!("pull {r}"))?;
    let mut err = io::stderr().lock();
    writeln!(err, "Digest: {}", report.digest)?;
    let name = report
        .tag
        .as_ref()
        .map_or_else(|| report.id.to_string(), ToString::to_string);
    if report.changed {
        writeln!(err, "Status: Downloaded newer image for {name}")?;
    }
    Ok(name)
}

/// Runs `berth pull`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let r = RemoteRef::parse(&args.reference)?;
    let store = open_store(ctx)?;
    let opts = PullOptions {
        platform: args.platform.unwrap_or_default(),
        registry: args.registry.options(),
    };
    let quiet = registry::NoProgress;
    let bars = Renderer::new(Verb::Pull);
    let progress: &dyn registry::Progress = if args.quiet { &quiet } else { &bars };
    let report =
        registry::pull(&store, &r, &opts, progress).with_context(|| format!("pull {r}"))?;
    let mut out = io::stdout().lock();
    let canonical = format!(
        "{}/{}{}",
        r.registry(),
        r.repository(),
        r.tag()
            .map_or_else(|| format!("@{}", report.digest), |t| format!(":{t}"))
    );
    if args.quiet {
        writeln!(out, "{canonical}")?;
        return Ok(());
    }
    writeln!(out, "Digest: {}", report.digest)?;
    let name = report
        .tag
        .as_ref()
        .map_or_else(|| r.to_string(), ToString::to_string);
    if report.changed {
        writeln!(out, "Status: Downloaded newer image for {name}")?;
    } else {
        writeln!(out, "Status: Image is up to date for {name}")?;
    }
    writeln!(out, "{canonical}")?;
    Ok(())
}
