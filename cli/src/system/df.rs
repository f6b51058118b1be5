//! `berth system df [-v]`: TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE for images, containers and
//! local volumes, as `docker system df`, from [`berth_engine::disk_usage`] (each shared layer counted
//! once). `-v` adds per-image, per-container and per-volume tables; `--format json` prints one
//! object per type with docker's string fields plus exact `SizeBytes`/`ReclaimableBytes`.

use std::io::{self, Write};

use serde::Serialize;

use super::super::human;
use super::super::storage_opts::{StorageCtx, open_store};
use super::super::table::{Format, write_json_line, write_table};
use berth_engine::container::refs::scan;
use berth_engine::digest::Digest;
use berth_engine::disk_usage::{DiskUsage, disk_usage};
use berth_engine::size::DfRow;
use berth_engine::store::Store;

/// `berth system df` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show detailed information on space usage
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonRow {
    active: String,
    reclaimable: String,
    reclaimable_bytes: u64,
    size: String,
    size_bytes: u64,
    total_count: String,
    #[serde(rename = "Type")]
    kind: &'static str,
}

fn reclaimable(row: &DfRow) -> String {
    let r = human::size4(row.reclaimable);
    match (row.reclaimable * 100).checked_div(row.size) {
        Some(pct) => format!("{r} ({pct}%)"),
        None => r,
    }
}

/// Runs `berth system df`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    anyhow::ensure!(
        !(args.verbose && ctx.format() == Format::Json),
        "--verbose with --format json is not supported"
    );
    let store = open_store(ctx)?;
    let du = disk_usage(&store, &scan(ctx.root())?)?;
    let df = du.totals;
    let rows = [
        ("Images", df.images),
        ("Containers", df.containers),
        ("Local Volumes", df.volumes),
    ];
    let mut out = io::stdout().lock();
    if ctx.format() == Format::Json {
        for (kind, r) in rows {
            write_json_line(
                &mut out,
                &JsonRow {
                    active: r.active.to_string(),
                    reclaimable: reclaimable(&r),
                    reclaimable_bytes: r.reclaimable,
                    size: human::size4(r.size),
                    size_bytes: r.size,
                    total_count: r.total.to_string(),
                    kind,
                },
            )?;
        }
        return Ok(());
    }
    if args.verbose {
        return verbose(&mut out, &store, &du);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(kind, r)| {
            vec![
                (*kind).to_owned(),
                r.total.to_string(),
                r.active.to_string(),
                human::size4(r.size),
                reclaimable(r),
            ]
        })
        .collect();
    let header = ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"];
    write_table(&mut out, &header, &table)?;
    Ok(())
}

/// `-v`: one table per kind.
fn verbose(out: &mut dyn Write, store: &Store, du: &DiskUsage) -> anyhow::Result<()> {
    let now = human::now_secs();
    let mut rows = Vec::new();
    for s in store.images().list()? {
        let (shared, n_containers) = du.image(&s.id).map_or((0, 0), |i| (i.shared, i.containers));
        rows.push(vec![
            s.repository,
            s.tag,
            s.id.short().to_owned(),
            human::ago(s.created.as_deref(), now),
            human::size4(s.size),
            human::size4(shared),
            human::size4(s.size - shared.min(s.size)),
            n_containers.to_string(),
        ]);
    }
    writeln!(out, "Images space usage:\n")?;
    let header = [
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ];
    write_table(out, &header, &rows)?;

    writeln!(out, "\nContainers space usage:\n")?;
    let rows: Vec<Vec<String>> = du
        .containers
        .iter()
        .map(|c| {
            let image = c.image.as_ref().map_or("<none>", Digest::short).to_owned();
            let status = if c.running { "Running" } else { "Stopped" };
            vec![
                c.id.chars().take(12).collect(),
                image,
                human::size4(c.rw_size),
                status.to_owned(),
            ]
        })
        .collect();
    write_table(out, &["CONTAINER ID", "IMAGE", "SIZE", "STATUS"], &rows)?;

    writeln!(out, "\nLocal Volumes space usage:\n")?;
    let rows: Vec<Vec<String>> = du
        .volumes
        .iter()
        .map(|v| {
            vec![
                v.volume.name.clone(),
                v.links.to_string(),
                human::size4(v.size),
            ]
        })
        .collect();
    write_table(out, &["VOLUME NAME", "LINKS", "SIZE"], &rows)?;
    Ok(())
}
