//! `ps`: the container's processes, as a pid list (`--format json`, which podman uses) or as
//! a table from /proc.

use super::{Ctx, print, print_json};

/// `ps` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
    /// table or json.
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Accepted for compatibility (ps(1) options are not passed on).
    #[arg(trailing_var_arg = true)]
    pub ps_args: Vec<String>,
}

/// Print the processes.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let pids = ctx.runtime.ps(&args.id)?;
    if args.format == "json" {
        return print_json(&pids);
    }
    print("PID\tCMD");
    for pid in pids {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd: Vec<String> = cmd
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        print(&format!("{pid}\t{}", cmd.join(" ")));
    }
    Ok(())
}
