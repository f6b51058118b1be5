//! `list`: every container under `--root`.

use super::{Ctx, print, print_json};

/// `list` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// table or json.
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Print ids only.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Print the containers.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let states = ctx.runtime.list()?;
    if args.format == "json" {
        return print_json(&states);
    }
    if args.quiet {
        states.iter().for_each(|s| print(&s.id));
        return Ok(());
    }
    print("ID\tPID\tSTATUS\tBUNDLE\tCREATED");
    for s in states {
        let status = serde_json::to_value(s.status)?;
        let status = status.as_str().unwrap_or_default().to_owned();
        print(&format!(
            "{}\t{}\t{status}\t{}\t{}",
            s.id,
            s.pid,
            s.bundle.display(),
            s.created
        ));
    }
    Ok(())
}
