//! `berth stats`: CPU %, memory usage and limit, and the number of processes of running
//! containers, read from their cgroups. CPU % is the CPU time used over a short sampling
//! interval, as a percentage of one CPU.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli::ctx::table;
use crate::cli::{Ctx, Format};
use crate::container::ContainerRecord;
use crate::container::lifecycle::Engine;
use crate::container::record::Status;

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
            .map(|r| crate::container::lifecycle::reconcile(eng, r))
            .filter(live)
            .collect());
    }
    let mut out = Vec::new();
    for r in refs {
        let rec = super::resolve(eng, r)?;
        if !live(&rec) {
            return Err(crate::container::ContainerError::BadState {
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

/// Two readings of each container's cgroup, `SAMPLE` apart.
fn sample(eng: &Engine<'_>, recs: Vec<ContainerRecord>) -> Vec<Row> {
    let rt = eng.runtime();
    let first: Vec<u64> = recs
        .iter()
        .map(|r| rt.stats(&r.id).map(|s| s.cpu_usage_ns).unwrap_or(0))
        .collect();
    let t0 = Instant::now();
    std::thread::sleep(SAMPLE);
    let wall = t0.elapsed().as_nanos().max(1) as f64;
    recs.into_iter()
        .zip(first)
        .map(|(rec, cpu0)| {
            let s = rt.stats(&rec.id).unwrap_or_default();
            let cpu = s.cpu_usage_ns.saturating_sub(cpu0) as f64;
            Row {
                rec,
                cpu_percent: cpu / wall * 100.0,
                mem_usage: s.memory_usage,
                mem_limit: s.memory_limit,
                pids: s.pids_current,
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
    let limit = |r: &Row| {
        if r.mem_limit == 0 {
            "unlimited".to_owned()
        } else {
            crate::cli::human::size(r.mem_limit, 3)
        }
    };
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mem_pct = if r.mem_limit == 0 {
                "--".to_owned()
            } else {
                format!("{:.2}%", r.mem_usage as f64 / r.mem_limit as f64 * 100.0)
            };
            vec![
                r.rec.short_id().to_owned(),
                r.rec.name.clone(),
                format!("{:.2}%", r.cpu_percent),
                format!("{} / {}", crate::cli::human::size(r.mem_usage, 3), limit(r)),
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
