//! `berth node ...`: this host in a cluster of berth hosts sharing overlay networks through
//! etcd. `join` runs the node agent in the foreground (as flanneld does: under systemd, or
//! `&`); `leave` takes the host out at once.

pub mod join;
pub mod leave;

use clap::Subcommand;

use crate::Ctx;

/// `berth node` subcommands.
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Join this host to the overlay networks in the store and keep it in step (runs until
    /// stopped)
    Join(join::Args),
    /// Take this host out of overlay networks now (its slices are freed)
    Leave(leave::Args),
}

/// Runs a `berth node` subcommand.
pub fn run(cmd: NodeCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        NodeCommand::Join(a) => join::run(a, ctx),
        NodeCommand::Leave(a) => leave::run(a, ctx),
    }
}

/// The options `join` and `leave` share.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeOpts {
    /// Where the store is and how to log in
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// This host's id in the cluster [default: the host name]
    #[arg(long)]
    pub name: Option<String>,
    /// Only these overlay networks (repeat; default: every one in the store)
    #[arg(long = "network")]
    pub networks: Vec<String>,
}

impl NodeOpts {
    /// The host id: `--name`, else the kernel's host name.
    pub fn host(&self) -> anyhow::Result<String> {
        match &self.name {
            Some(n) => Ok(n.clone()),
            None => Ok(nix::unistd::gethostname()?.to_string_lossy().into_owned()),
        }
    }
}
