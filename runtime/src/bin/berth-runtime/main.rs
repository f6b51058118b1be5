//! `berth-runtime`: runc's command line on top of the berth-runtime library, so podman
//! (`--runtime`) and containerd can drive it. Parses flags, installs the log subscriber and
//! dispatches to one module per subcommand; errors are logged once, here.

mod commands;

use clap::Parser;

use commands::{Command, Ctx, GlobalOpts};

/// OCI runtime with runc's command line.
#[derive(Debug, Parser)]
#[command(
    name = "berth-runtime",
    version = concat!("version ", env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0"),
    about = "berth's OCI runtime (runc-compatible command line)"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    cmd: Command,
}

fn main() {
    let cli = Cli::parse();
    let json = cli.global.log_format.as_deref() == Some("json");
    if let Err(e) = commands::init_logging(&cli.global) {
        eprintln!("berth-runtime: {e:#}");
        std::process::exit(1);
    }
    let ctx = Ctx::new(&cli.global);
    match commands::run(cli.cmd, &ctx) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            tracing::error!("{e:#}");
            if cli.global.log.is_some() || json {
                eprintln!("berth-runtime: {e:#}");
            }
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_runc_style_invocations() {
        let cli = Cli::try_parse_from([
            "berth-runtime",
            "--root",
            "/tmp/r",
            "--log",
            "/tmp/l",
            "--log-format",
            "json",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "c1",
        ])
        .unwrap();
        assert!(matches!(cli.cmd, Command::Create(_)));
        let cli = Cli::try_parse_from(["berth-runtime", "kill", "--all", "c1", "KILL"]).unwrap();
        assert!(matches!(cli.cmd, Command::Kill(_)));
        let cli = Cli::try_parse_from(["berth-runtime", "exec", "-t", "c1", "sh", "-c", "ls -l"]);
        assert!(cli.is_ok());
    }
}
