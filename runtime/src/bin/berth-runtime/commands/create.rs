//! `create`: runc's flags mapped onto [`berth_runtime::CreateOptions`].

use std::path::PathBuf;

use berth_runtime::container::CreateOptions;

use super::Ctx;

/// `create` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
    /// Bundle directory (holds config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the init's pid here.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master (for process.terminal).
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Pass this many fds after stdio to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Use MS_MOVE + chroot instead of pivot_root.
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for compatibility; berth-runtime never creates a session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
}

impl Args {
    /// The library options.
    pub fn options(&self) -> CreateOptions {
        CreateOptions {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            preserve_fds: self.preserve_fds,
            no_pivot: self.no_pivot,
        }
    }
}

/// Create the container.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    ctx.refuse_systemd()?;
    ctx.runtime.create(&args.options())?;
    Ok(())
}
