//! `berth-shim`: the per-container supervisor ([`berth_engine::shim`]) as its own small
//! binary, so that a running container costs as little memory as possible. It links only
//! what the shim uses (no command-line parser, no log formatter): the arguments are the ones
//! `berth run`/`start` pass, `--root R --run-root R --cni-path P[:P…] [--storage-driver D] ID`,
//! and log events go to stderr (the shim's `shim.log`) as plain lines.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use berth_engine::settings::{DEFAULT_ROOT, DEFAULT_RUN_ROOT, Settings};
use berth_engine::storage::DriverKind;

mod log;

fn main() -> ExitCode {
    log::install();
    match run(std::env::args_os().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-shim: {}", berth_engine::report::error_report(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<OsString>) -> anyhow::Result<()> {
    let (settings, id) = parse_args(args)?;
    let store = settings.open_store()?;
    let eng = settings.engine(&store);
    berth_engine::shim::run(&eng, &id)
}

/// The engine's settings and the container id from the command line.
fn parse_args(args: Vec<OsString>) -> anyhow::Result<(Settings, String)> {
    let mut opts = Settings::new(
        PathBuf::from(DEFAULT_ROOT),
        PathBuf::from(DEFAULT_RUN_ROOT),
        Vec::new(),
        None,
    );
    let mut id = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let a = a
            .into_string()
            .map_err(|a| anyhow::anyhow!("bad argument {a:?}"))?;
        let mut value = || {
            it.next()
                .and_then(|v| v.into_string().ok())
                .with_context(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--root" => opts.root = value()?.into(),
            "--run-root" => opts.run_root = value()?.into(),
            "--cni-path" => opts.cni_path = value()?.split(':').map(PathBuf::from).collect(),
            "--storage-driver" => opts.storage_driver = Some(value()?.parse::<DriverKind>()?),
            _ if a.starts_with('-') => anyhow::bail!("unknown option {a}"),
            _ => id = Some(a),
        }
    }
    Ok((
        opts,
        id.context("usage: berth-shim [OPTIONS] CONTAINER_ID")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_options_berth_passes_are_parsed() {
        let (o, id) = parse_args(args(&[
            "--root",
            "/r",
            "--run-root",
            "/rr",
            "--cni-path",
            "/a:/b",
            "--storage-driver",
            "vfs",
            "abc",
        ]))
        .unwrap();
        assert_eq!(id, "abc");
        assert_eq!(o.root, PathBuf::from("/r"));
        assert_eq!(o.run_root, PathBuf::from("/rr"));
        assert_eq!(o.cni_path, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(o.storage_driver, Some(DriverKind::Vfs));
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert!(parse_args(args(&["--root"])).is_err());
        assert!(parse_args(args(&["--bogus", "x", "id"])).is_err());
        assert!(parse_args(args(&["--root", "/r"])).is_err());
    }
}
