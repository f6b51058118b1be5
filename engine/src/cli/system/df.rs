//! `berth system df [-v]`: TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE for images, containers and
//! local volumes, as `docker system df`, from [`Store::system_df`] (each shared layer counted
//! once). `-v` adds per-image, per-container and per-volume tables; `--format json` prints one
//! object per type with docker's string fields plus exact `SizeBytes`/`ReclaimableBytes`.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;

use super::super::human;
use super::super::storage_opts::{StorageCtx, open_store};
use super::super::table::{Format, write_json_line, write_table};
use crate::container::refs::{ContainerRef, scan, volume_in_use};
use crate::digest::Digest;
use crate::size::{ContainerUsage, DfRow};
use crate::storage::{RwLayerId, StorageError};
use crate::store::{Store, StoreError};

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

/// Bytes in the container's writable layer; 0 when it has none (yet).
fn rw_size(store: &Store, id: &str) -> Result<u64, StoreError> {
    let Ok(rw) = RwLayerId::new(id) else {
        return Ok(0);
    };
    match store.layers().driver().rw_size(&rw) {
        Ok(n) => Ok(n),
        Err(StorageError::ContainerNotFound(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// The containers as `system df` counts them.
fn container_usage(
    store: &Store,
    refs: &[ContainerRef],
) -> Result<Vec<ContainerUsage>, StoreError> {
    refs.iter()
        .map(|c| {
            Ok(ContainerUsage {
                // A container without an image id matches no image.
                image: c.image.clone().unwrap_or_else(|| Digest::of_bytes(b"")),
                rw_size: rw_size(store, &c.id)?,
                running: c.state.running,
            })
        })
        .collect()
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
    let refs = scan(ctx.root())?;
    let containers = container_usage(&store, &refs)?;
    let df = store.system_df(&containers, &|n| volume_in_use(&refs, n))?;
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
        return verbose(&mut out, &store, &refs, &containers);
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
fn verbose(
    out: &mut dyn Write,
    store: &Store,
    refs: &[ContainerRef],
    containers: &[ContainerUsage],
) -> anyhow::Result<()> {
    let usage = store.image_usage()?;
    let mut users: HashMap<&Digest, usize> = HashMap::new();
    for img in &usage {
        for (chain, _) in &img.layers {
            *users.entry(chain).or_default() += 1;
        }
    }
    let now = human::now_secs();
    let mut rows = Vec::new();
    for s in store.images().list()? {
        let layers = usage
            .iter()
            .find(|u| u.id == s.id)
            .map_or(&[][..], |u| &u.layers[..]);
        let shared: u64 = layers
            .iter()
            .filter(|(c, _)| users.get(c).copied().unwrap_or(0) > 1)
            .map(|(_, n)| n)
            .sum();
        let n_containers = refs
            .iter()
            .filter(|c| c.image.as_ref() == Some(&s.id))
            .count();
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
    let rows: Vec<Vec<String>> = refs
        .iter()
        .zip(containers)
        .map(|(r, c)| {
            let image = r.image.as_ref().map_or("<none>", Digest::short).to_owned();
            let status = if c.running { "Running" } else { "Stopped" };
            vec![
                r.id.chars().take(12).collect(),
                image,
                human::size4(c.rw_size),
                status.to_owned(),
            ]
        })
        .collect();
    write_table(out, &["CONTAINER ID", "IMAGE", "SIZE", "STATUS"], &rows)?;

    writeln!(out, "\nLocal Volumes space usage:\n")?;
    let mut rows = Vec::new();
    for v in store.volumes().list()? {
        let links = refs.iter().filter(|c| c.uses_volume(&v.name)).count();
        let size = store.volumes().size(&v.name)?;
        rows.push(vec![v.name, links.to_string(), human::size4(size)]);
    }
    write_table(out, &["VOLUME NAME", "LINKS", "SIZE"], &rows)?;
    Ok(())
}
