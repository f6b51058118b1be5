//! `berth netns add|ls|rm|exec`: named network namespaces under `<run-root>/netns` (what
//! `ip netns` does under `/run/netns`).

use std::os::unix::process::CommandExt;

use anyhow::Context;
use berth_core::netns::Netns;
use clap::Subcommand;
use serde_json::json;

use super::{Ctx, Format};

/// `berth netns` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetnsCommand {
    /// Create a named network namespace with lo up
    Add {
        /// The namespace's name
        name: String,
    },
    /// List named network namespaces
    Ls,
    /// Remove named network namespaces (succeeds when already gone)
    Rm {
        /// The namespaces' names
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Run a command inside a namespace (only the network namespace changes)
    Exec {
        /// The namespace's name
        name: String,
        /// The command and its arguments
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        cmd: Vec<String>,
    },
}

/// Runs a `berth netns` subcommand.
pub fn run(cmd: NetnsCommand, ctx: &Ctx) -> anyhow::Result<()> {
    match cmd {
        NetnsCommand::Add { name } => add(&name, ctx),
        NetnsCommand::Ls => ls(ctx),
        NetnsCommand::Rm { names } => {
            for name in names {
                Netns::remove_named(&ctx.netns_dir(), &name)
                    .with_context(|| format!("remove netns {name}"))?;
            }
            Ok(())
        }
        NetnsCommand::Exec { name, cmd } => exec(&name, &cmd, ctx),
    }
}

fn add(name: &str, ctx: &Ctx) -> anyhow::Result<()> {
    berth_engine::network::netns::create_with_loopback(&ctx.netns_dir(), name).map(drop)
}

fn names(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    let dir = ctx.netns_dir();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("list {}", dir.display())),
    };
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

fn ls(ctx: &Ctx) -> anyhow::Result<()> {
    let names = names(ctx)?;
    match ctx.format {
        Format::Json => {
            let list: Vec<_> = names
                .iter()
                .map(|n| json!({"name": n, "path": ctx.netns_dir().join(n)}))
                .collect();
            ctx.print_json(&json!(list))
        }
        Format::Table if names.is_empty() => Ok(()),
        Format::Table => ctx.print(&names.join("\n")),
    }
}

fn exec(name: &str, cmd: &[String], ctx: &Ctx) -> anyhow::Result<()> {
    let path = ctx.netns_dir().join(name);
    let ns = Netns::open(&path).with_context(|| format!("open netns {name}"))?;
    // exec from a thread that entered the namespace: the new program keeps that thread's
    // namespaces, and our own threads never change namespace.
    let err = ns.run_in(|| std::process::Command::new(&cmd[0]).args(&cmd[1..]).exec())?;
    Err(err).with_context(|| format!("run {} in netns {name}", cmd[0]))
}
