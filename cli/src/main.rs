//! The `berth` command: parses the command line, installs a stderr logger, runs the command,
//! and reports an error once on stderr with a non-zero exit.

use std::process::ExitCode;

use berth_cli::{self as cli, Cli};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = cli
        .global
        .log_level
        .parse::<tracing_subscriber::filter::LevelFilter>()
        .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .init();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth: {}", cli::report::error_report(&e));
            ExitCode::FAILURE
        }
    }
}
