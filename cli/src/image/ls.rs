//! `berth images [REPOSITORY[:TAG]]` (`berth image ls`): REPOSITORY, TAG, IMAGE ID, CREATED,
//! SIZE as `docker images` prints them; `-q` for ids only, `--format json` for one JSON object
//! per row with docker's fields.

use std::io::{self, Write};

use serde::Serialize;

use super::super::human;
use super::super::storage_opts::{StorageCtx, open_store};
use super::super::table::{Format, write_json_line, write_table};
use berth_engine::image::ImageSummary;

/// `berth images` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only images of this repository (and tag)
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
    /// Show all images (berth keeps no intermediate images, so the same as without)
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
}

/// One image row in docker's `--format json` shape (every value a string).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonRow {
    containers: String,
    created_at: String,
    created_since: String,
    digest: String,
    #[serde(rename = "ID")]
    id: String,
    repository: String,
    shared_size: String,
    size: String,
    tag: String,
    unique_size: String,
    virtual_size: String,
}

fn matches(row: &ImageSummary, filter: Option<&str>) -> bool {
    let Some(f) = filter else { return true };
    let last_slash = f.rfind('/').map_or(0, |i| i + 1);
    match f[last_slash..].rfind(':') {
        Some(i) => row.repository == f[..last_slash + i] && row.tag == f[last_slash + i + 1..],
        None => row.repository == f,
    }
}

/// Runs `berth images`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let store = open_store(ctx)?;
    let rows: Vec<ImageSummary> = store
        .images()
        .list()?
        .into_iter()
        .filter(|r| matches(r, args.reference.as_deref()))
        .collect();
    let now = human::now_secs();
    let id = |r: &ImageSummary| {
        if args.no_trunc {
            r.id.to_string()
        } else {
            r.id.short().to_owned()
        }
    };
    let mut out = io::stdout().lock();
    if args.quiet {
        for r in &rows {
            writeln!(out, "{}", id(r))?;
        }
        return Ok(());
    }
    match ctx.format() {
        Format::Json => {
            for r in &rows {
                let size = human::size(r.size, 3);
                write_json_line(
                    &mut out,
                    &JsonRow {
                        containers: "N/A".into(),
                        created_at: human::go_time(r.created.as_deref()),
                        created_since: human::ago(r.created.as_deref(), now),
                        digest: r.digest.clone().unwrap_or_else(|| "<none>".into()),
                        id: id(r),
                        repository: r.repository.clone(),
                        shared_size: "N/A".into(),
                        size: size.clone(),
                        tag: r.tag.clone(),
                        unique_size: "N/A".into(),
                        virtual_size: size,
                    },
                )?;
            }
        }
        Format::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut cols = vec![r.repository.clone(), r.tag.clone()];
                    if args.digests {
                        cols.push(r.digest.clone().unwrap_or_else(|| "<none>".into()));
                    }
                    cols.extend([
                        id(r),
                        human::ago(r.created.as_deref(), now),
                        human::size(r.size, 3),
                    ]);
                    cols
                })
                .collect();
            let header: &[&str] = if args.digests {
                &["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
            } else {
                &["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
            };
            write_table(&mut out, header, &table)?;
        }
    }
    Ok(())
}
