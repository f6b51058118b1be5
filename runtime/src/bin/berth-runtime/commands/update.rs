//! `update`: new resource limits from `--resources` JSON (or `-` for stdin) and/or flags.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use berth_runtime::config::from_json;
use oci_spec::runtime::LinuxResources;

use super::Ctx;

/// `update` flags (runc's most used ones).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Container id.
    pub id: String,
    /// LinuxResources JSON file, or - for stdin.
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Memory limit in bytes.
    #[arg(long)]
    pub memory: Option<i64>,
    /// Maximum number of pids.
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// CPU CFS quota (µs).
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS period (µs).
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU shares.
    #[arg(long)]
    pub cpu_share: Option<u64>,
    /// CPUs allowed (cpuset).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed (cpuset).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
}

fn read_resources(path: &PathBuf) -> anyhow::Result<LinuxResources> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    }
    from_json(text.as_bytes()).context("parse --resources")
}

fn merge_flags(args: &Args, mut v: serde_json::Value) -> serde_json::Value {
    let set = |v: &mut serde_json::Value, a: &str, b: &str, x: serde_json::Value| {
        v[a][b] = x;
    };
    if let Some(m) = args.memory {
        set(&mut v, "memory", "limit", m.into());
    }
    if let Some(p) = args.pids_limit {
        set(&mut v, "pids", "limit", p.into());
    }
    if let Some(q) = args.cpu_quota {
        set(&mut v, "cpu", "quota", q.into());
    }
    if let Some(p) = args.cpu_period {
        set(&mut v, "cpu", "period", p.into());
    }
    if let Some(s) = args.cpu_share {
        set(&mut v, "cpu", "shares", s.into());
    }
    if let Some(c) = &args.cpuset_cpus {
        set(&mut v, "cpu", "cpus", c.clone().into());
    }
    if let Some(m) = &args.cpuset_mems {
        set(&mut v, "cpu", "mems", m.clone().into());
    }
    v
}

/// Apply the new limits.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let base = match &args.resources {
        Some(p) => read_resources(p)?,
        None => LinuxResources::default(),
    };
    let mut v = serde_json::to_value(&base)?;
    if v.is_null() {
        v = serde_json::json!({});
    }
    let merged: LinuxResources = from_json(&serde_json::to_vec(&merge_flags(&args, v))?)?;
    Ok(ctx.runtime.update(&args.id, &merged)?)
}
