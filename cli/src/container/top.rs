//! `berth top`: the processes of a running container, as `ps` shows them on the host.

use std::process::Command;

use anyhow::Context as _;

use crate::Ctx;
use berth_engine::container::ContainerError;
use berth_engine::container::record::Status;

/// `berth top` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container
    pub container: String,
}

/// Runs `ps` on the pids of the container's cgroup.
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
    let mut pids = eng.runtime().ps(&rec.id)?;
    pids.sort_unstable();
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    let out = Command::new("ps")
        .args(["-o", "user,pid,ppid,c,stime,tty,time,args", "-p"])
        .arg(list.join(","))
        .output()
        .context("run ps")?;
    if !out.status.success() && out.stdout.is_empty() {
        anyhow::bail!("ps: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    ctx.print(String::from_utf8_lossy(&out.stdout).trim_end())
}
