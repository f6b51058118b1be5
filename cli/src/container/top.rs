//! `berth top`: the processes of a running container, as `ps` shows them on the host
//! ([`berth_engine::container::top`]).

use crate::Ctx;
use crate::ctx::table;
use berth_engine::container::ContainerError;
use berth_engine::container::record::Status;

/// The columns `berth top` shows without `ps` options.
const DEFAULT_COLUMNS: &str = "-o user,pid,ppid,c,stime,tty,time,args";

/// `berth top` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container
    pub container: String,
    /// Options for ps (default: user, pid, ppid, c, stime, tty, time and args columns)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// Prints the table of the container's processes.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let rec = super::resolve(&eng, &args.container)?;
    if !matches!(rec.state.status, Status::Running | Status::Paused) {
        return Err(ContainerError::BadState {
            op: "list the processes of it",
            id: rec.short_id().to_owned(),
            status: rec.state.status.to_string(),
        }
        .into());
    }
    let ps_args = if args.ps_args.is_empty() {
        DEFAULT_COLUMNS.to_owned()
    } else {
        args.ps_args.join(" ")
    };
    let top = berth_engine::container::top::top(&eng, &rec, &ps_args)?;
    let headers: Vec<&str> = top.titles.iter().map(String::as_str).collect();
    ctx.print(table(&headers, &top.processes).trim_end())
}
