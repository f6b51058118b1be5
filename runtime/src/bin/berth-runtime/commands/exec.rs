//! `exec`: run a process in a running container, from `--process` JSON or from args plus
//! runc's flags applied on top of the container's own process config. Waits for it and exits
//! with its status unless `--detach`.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use berth_runtime::config::from_json;
use berth_runtime::container::ExecOptions;
use oci_spec::runtime::{Capability, Process};

use super::Ctx;

/// `exec` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
    /// Command and arguments (unless --process).
    #[arg(trailing_var_arg = true)]
    pub command: Vec<String>,
    /// Process JSON file (runtime spec `process`).
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pty (sent over --console-socket).
    #[arg(short, long)]
    pub tty: bool,
    /// Unix socket that receives the pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Do not wait for the process.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Working directory.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment (KEY=VALUE), repeatable.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Extra supplementary gids, repeatable.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Extra capability (CAP_...), repeatable.
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Pass this many fds after stdio.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Accepted for compatibility (SELinux is not supported).
    #[arg(long)]
    pub process_label: Option<String>,
    /// Accepted for compatibility (AppArmor is not supported).
    #[arg(long)]
    pub apparmor: Option<String>,
}

fn build_process(args: &Args, base: Option<Process>) -> anyhow::Result<Process> {
    if let Some(p) = &args.process {
        let bytes = std::fs::read(p).with_context(|| format!("read {}", p.display()))?;
        return from_json(&bytes).with_context(|| format!("parse {}", p.display()));
    }
    anyhow::ensure!(
        !args.command.is_empty(),
        "exec needs a command or --process"
    );
    let mut p = base.unwrap_or_default();
    p.set_args(Some(args.command.clone()));
    p.set_terminal(Some(args.tty));
    if let Some(cwd) = &args.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(args.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(u) = &args.user {
        let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
        p.user_mut().set_uid(uid.parse().context("--user uid")?);
        p.user_mut().set_gid(gid.parse().context("--user gid")?);
    }
    if !args.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(args.additional_gids.clone()));
    }
    if args.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !args.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &args.cap {
            let short = name.trim_start_matches("CAP_");
            let cap = Capability::from_str(short).with_context(|| format!("--cap {name}"))?;
            let add = |s: &Option<oci_spec::runtime::Capabilities>| {
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                Some(s)
            };
            let (b, e, pm) = (
                add(caps.bounding()),
                add(caps.effective()),
                add(caps.permitted()),
            );
            caps.set_bounding(b).set_effective(e).set_permitted(pm);
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

/// Run the process; returns its exit code (0 when detached).
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<i32> {
    let base = ctx.runtime.load(&args.id)?.record.spec.process().clone();
    let process = build_process(&args, base)?;
    let opts = ExecOptions {
        id: args.id.clone(),
        process,
        console_socket: args.console_socket.clone(),
        pid_file: args.pid_file.clone(),
        preserve_fds: args.preserve_fds,
    };
    let pid = ctx.runtime.exec(&opts)?;
    if args.detach {
        return Ok(0);
    }
    Ok(berth_runtime::process::wait_exit_code(pid)?)
}
