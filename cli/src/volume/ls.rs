//! `berth volume ls`: DRIVER and VOLUME NAME as `docker volume ls`; `-q` for names only,
//! `--format json` for one JSON object per volume with docker's fields.

use std::io::{self, Write};

use serde::Serialize;

use super::super::storage_opts::StorageCtx;
use super::super::table::{Format, write_json_line, write_table};

/// `berth volume ls` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonRow {
    driver: String,
    labels: String,
    mountpoint: String,
    name: String,
    scope: String,
}

/// Runs `berth volume ls`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let volumes = super::open_volumes(ctx)?.list()?;
    let mut out = io::stdout().lock();
    if args.quiet {
        for v in &volumes {
            writeln!(out, "{}", v.name)?;
        }
        return Ok(());
    }
    match ctx.format() {
        Format::Json => {
            for v in volumes {
                let labels: Vec<String> =
                    v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write_json_line(
                    &mut out,
                    &JsonRow {
                        driver: v.driver,
                        labels: labels.join(","),
                        mountpoint: v.mountpoint.display().to_string(),
                        name: v.name,
                        scope: "local".into(),
                    },
                )?;
            }
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = volumes
                .into_iter()
                .map(|v| vec![v.driver, v.name])
                .collect();
            write_table(&mut out, &["DRIVER", "VOLUME NAME"], &rows)?;
        }
    }
    Ok(())
}
