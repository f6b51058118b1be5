//! `berth stats`: CPU %, memory usage and limit, and the number of processes of running
//! containers, read from their cgroups ([`berth_engine::container::stats`]). CPU % is the CPU
//! time used over a short sampling interval, as a percentage of one CPU.

use std::time::Duration;

use serde_json::json;

use crate::ctx::table;
use crate::{Ctx, Format};
use berth_engine::container::ContainerRecord;
use berth_engine::container::lifecycle::Engine;
use berth_engine::container::record::Status;
use berth_engine::container::stats::{self, Sample};

/// How long CPU usage is sampled for one report.
const SAMPLE: Duration = Duration::from_millis(250);

/// `berth stats` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one report and exit (otherwise print one every second)
    #[arg(long)]
    pub no_stream: bool,
    /// Containers (default: every running one)
    pub containers: Vec<String>,
}

/// One container's figures.
struct Row {
    rec: ContainerRecord,
    cpu_percent: f64,
    mem_usage: u64,
    mem_limit: u64,
    pids: u64,
}

/// Prints the report once, or every second until interrupted.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    loop {
        let recs = targets(&eng, &args.containers)?;
        let rows = sample(&eng, recs);
        print(ctx, &rows)?;
        if args.no_stream {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1).saturating_sub(SAMPLE));
    }
}

/// The named containers (each must be running or paused), or every running one.
fn targets(eng: &Engine<'_>, refs: &[String]) -> anyhow::Result<Vec<ContainerRecord>> {
    let live = |r: &ContainerRecord| matches!(r.state.status, Status::Running | Status::Paused);
    if refs.is_empty() {
        let all = eng.containers.list()?.into_iter();
        return Ok(all
            .map(|r| berth_engine::container::lifecycle::reconcile(eng, r))
            .filter(live)
            .collect());
    }
    let mut out = Vec::new();
    for r in refs {
        let rec = super::resolve(eng, r)?;
        if !live(&rec) {
            return Err(berth_engine::container::ContainerError::BadState {
                op: "show its stats",
                id: rec.short_id().to_owned(),
                status: rec.state.status.to_string(),
            }
            .into());
        }
        out.push(rec);
    }
    Ok(out)
}

/// Two readings of each container ([`berth_engine::container::stats::sample`]), `SAMPLE`
/// apart.
fn sample(eng: &Engine<'_>, recs: Vec<ContainerRecord>) -> Vec<Row> {
    let read = |r: &ContainerRecord| stats::sample(eng, r).unwrap_or_default();
    let first: Vec<Sample> = recs.iter().map(read).collect();
    std::thread::sleep(SAMPLE);
    recs.into_iter()
        .zip(first)
        .map(|(rec, before)| {
            let s = read(&rec);
            Row {
                cpu_percent: s.cpu_percent(&before),
                mem_usage: s.memory_usage,
                mem_limit: s.memory_limit,
                pids: s.pids_current,
                rec,
            }
        })
        .collect()
}

fn print(ctx: &Ctx, rows: &[Row]) -> anyhow::Result<()> {
    if ctx.format == Format::Json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "ID": r.rec.id, "Name": r.rec.name, "CPUPerc": r.cpu_percent,
                    "MemUsage": r.mem_usage, "MemLimit": r.mem_limit, "PIDs": r.pids,
                })
            })
            .collect();
        return ctx.print_json(&json!(v));
    }
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mem_pct = if r.mem_limit == 0 {
                "--".to_owned()
            } else {
                format!("{:.2}%", r.mem_usage as f64 / r.mem_limit as f64 * 100.0)
            };
            let limit = if r.mem_limit == 0 {
                "--".to_owned()
            } else {
                binary_size(r.mem_limit)
            };
            vec![
                r.rec.short_id().to_owned(),
                r.rec.name.clone(),
                format!("{:.2}%", r.cpu_percent),
                format!("{} / {limit}", binary_size(r.mem_usage)),
                mem_pct,
                r.pids.to_string(),
            ]
        })
        .collect();
    let headers = [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "PIDS",
    ];
    ctx.print(&table(&headers, &lines))
}

/// Bytes in binary units with up to 2 decimals, like `docker stats`: `246KiB`, `31.25MiB`.
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let n = format!("{v:.2}");
    let n = n.trim_end_matches('0').trim_end_matches('.');
    format!("{n}{}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary() {
        assert_eq!(binary_size(0), "0B");
        assert_eq!(binary_size(251_904), "246KiB");
        assert_eq!(binary_size(64 << 20), "64MiB");
        assert_eq!(binary_size(1536 << 20), "1.5GiB");
    }
}
