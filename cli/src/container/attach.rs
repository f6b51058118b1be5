//! `berth attach`: connect to a running container's shim on `attach.sock` and stay attached
//! ([`super::session`]) until the container exits; exits with its code. Stdin is forwarded
//! when the container was created with `-i` (unless `--no-stdin`).

use std::os::unix::net::UnixStream;

use anyhow::Context as _;

use crate::Ctx;
use crate::terminal;
use berth_engine::container::record::Status;

use super::detach_keys::DetachKeysArg;
use super::session::{self, Attach, SignalTarget};

/// `berth attach` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not attach stdin
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Detach keys.
    #[command(flatten)]
    pub detach_keys: DetachKeysArg,
    /// The container (name or id)
    pub container: String,
}

/// Attaches; never returns (the exit code is the container's).
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let detach_keys = args.detach_keys.keys_or_exit();
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let rec = super::resolve_running(&eng, &args.container, "attach to")?;
    let how = Attach {
        stdin: !args.no_stdin && rec.config.stdio.open_stdin,
        tty: rec.config.stdio.tty,
        detach_keys,
    };
    if let Err(e) = terminal::check_tty(how.stdin, how.tty) {
        super::exit_with_error(&e.into(), 1);
    }
    let path = eng.containers.attach_socket_path(&rec.id);
    let conn = UnixStream::connect(&path).with_context(|| {
        format!(
            "attach to {}: connect to {}",
            rec.short_id(),
            path.display()
        )
    })?;
    let target = SignalTarget {
        runtime_root: eng.runtime_root.clone(),
        id: rec.id.clone(),
    };
    match session::run(conn, how, target)? {
        Some(code) => super::exit(code),
        None => {
            // The shim closed without a word: it may have ended between our look and connect.
            eng.containers.wait_shim(&rec.id, None);
            let rec = super::resolve(&eng, &rec.id)?;
            match rec.state.status {
                Status::Exited => super::exit(rec.state.exit_code),
                _ => anyhow::bail!("lost the shim of container {}", rec.short_id()),
            }
        }
    }
}
