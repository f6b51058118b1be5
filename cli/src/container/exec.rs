//! `berth exec`: run another process in a running container. berth is its parent: it
//! inherits berth's stdout and stderr, and with `-i` its stdin (else /dev/null); with `-t` it
//! runs on a pty that berth relays ([`super::exec_tty`]). berth exits with its exit code
//! (126/127 when it cannot be run, 1 for `-it` without a terminal on stdin, as Docker). With
//! `-it`, the detach keys leave the process running and exit berth with 1.

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use oci_spec::runtime::Process;

use crate::Ctx;
use crate::terminal;
use berth_engine::container::exec_process::ExecSpec;
use berth_engine::container::record::ContainerRecord;

use super::detach_keys::{DetachKeys, DetachKeysArg};

/// `berth exec` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Set an environment variable: KEY=VALUE
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Working directory
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// User: NAME|UID[:GROUP|GID]
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Keep stdin open: the process reads berth's stdin
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the process a pseudo-terminal
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Detach keys.
    #[command(flatten)]
    pub detach_keys: DetachKeysArg,
    /// The container
    pub container: String,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub cmd: Vec<String>,
}

fn process(args: &Args, rec: &ContainerRecord) -> anyhow::Result<Process> {
    let spec = ExecSpec {
        cmd: args.cmd.clone(),
        env: args.env.clone(),
        workdir: args.workdir.clone(),
        user: args.user.clone(),
        tty: args.tty,
        console_size: terminal::window_size(),
    };
    berth_engine::container::exec_process::process(rec, &spec)
}

fn exec(args: &Args, keys: DetachKeys, ctx: &Ctx) -> anyhow::Result<i32> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let rec = super::resolve_running(&eng, &args.container, "exec in it")?;
    let console = match args.tty {
        true => Some(super::exec_tty::Console::new()?),
        false => None,
    };
    if !args.interactive {
        let devnull = std::fs::File::open("/dev/null")?;
        nix::unistd::dup2_stdin(&devnull)?;
    }
    let opts = berth_runtime::container::ExecOptions {
        id: rec.id.clone(),
        process: process(args, &rec)?,
        console_socket: console.as_ref().map(|c| c.path().to_owned()),
        pid_file: None,
        preserve_fds: 0,
    };
    let pid = eng.runtime().exec(&opts)?;
    if let Some(c) = &console {
        let relayed = c
            .receive_master()
            .and_then(|m| super::exec_tty::relay(m, args.interactive.then(|| keys.matcher())));
        if let Err(e) = relayed {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(e);
        }
    }
    Ok(berth_runtime::process::wait_exit_code(pid)?)
}

/// Runs the process and exits with its code.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    if let Err(e) = terminal::check_tty(args.interactive, args.tty) {
        super::exit_with_error(&e.into(), 1);
    }
    let keys = args.detach_keys.keys_or_exit();
    match exec(&args, keys, ctx) {
        Ok(code) => super::exit(code),
        Err(e) => {
            let code = berth_engine::shim::exit_code_of(&e);
            super::exit_with_error(&e, code)
        }
    }
}
