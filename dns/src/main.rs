//! `berth-dns`: the DNS server of berth's user networks ([`berth_engine::dns`] says where
//! it listens and why). The engine starts it as
//! `berth-dns --root R --run-root R --resolv-conf FILE`; it detaches (forks, setsid), supervises
//! its serving process ([`supervise`]), prints `ready` once it answers, and ends when the
//! last container on a served network has gone.

mod answer;
mod batch;
mod forward;
mod listen;
mod server;
mod supervise;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use berth_engine::dns::DnsControl;
use berth_engine::settings::{DEFAULT_ROOT, DEFAULT_RUN_ROOT};

fn main() -> ExitCode {
    // Detach: the process the engine started exits at once (its starter collects it, so
    // neither a CLI nor berthd is left with a zombie), the child carries on in a session of
    // its own, adopted by init. The starter's pipe stays open until the server says ready.
    // SAFETY: nothing has started a thread yet.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return ExitCode::SUCCESS,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            eprintln!("berth-dns: fork: {e}");
            return ExitCode::from(supervise::EXIT_FATAL as u8);
        }
    }
    let _ = nix::unistd::setsid();
    let code = match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berth-dns: {e:#}");
            supervise::EXIT_FATAL
        }
    };
    ExitCode::from(code as u8)
}

fn run() -> anyhow::Result<i32> {
    let (ctl, resolv) = parse_args(std::env::args().skip(1).collect())?;
    match supervise::supervise(&ctl)? {
        supervise::Role::Done(code) => Ok(code),
        supervise::Role::Server => {
            server::run(ctl, resolv)?;
            Ok(0)
        }
    }
}

/// `--root R --run-root R --resolv-conf FILE`, each optional.
fn parse_args(args: Vec<String>) -> anyhow::Result<(DnsControl, PathBuf)> {
    let mut root = PathBuf::from(DEFAULT_ROOT);
    let mut run_root = PathBuf::from(DEFAULT_RUN_ROOT);
    let mut resolv = PathBuf::from("/etc/resolv.conf");
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--root" => root = value()?.into(),
            "--run-root" => run_root = value()?.into(),
            "--resolv-conf" => resolv = value()?.into(),
            _ => anyhow::bail!("unknown argument {a}"),
        }
    }
    Ok((DnsControl::new(&root, &run_root), resolv))
}
