//! `berth logs`: print a container's json-file log, optionally following it.

use std::io::Write;
use std::time::Duration;

use crate::Ctx;
use berth_engine::shim::log::{Entry, read_all};

/// `berth logs` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep printing new output until the container stops
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines
    #[arg(short = 'n', long)]
    pub tail: Option<usize>,
    /// Prefix each line with its time
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// The container
    pub container: String,
}

fn print(entries: &[Entry], timestamps: bool) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for e in entries {
        let line = if timestamps {
            format!("{} {}", e.time, e.log)
        } else {
            e.log.clone()
        };
        let _ = if e.stream == "stderr" {
            err.write_all(line.as_bytes())
        } else {
            out.write_all(line.as_bytes())
        };
    }
    let _ = out.flush();
}

/// Prints the log.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let rec = super::resolve(&eng, &args.container)?;
    let path = eng.containers.log_path(&rec.id);
    let all = read_all(&path)?;
    let skip = args.tail.map(|n| all.len().saturating_sub(n)).unwrap_or(0);
    print(&all[skip..], args.timestamps);
    if !args.follow {
        return Ok(());
    }
    // Follow: re-read what was appended until the shim is gone. The log may rotate, so
    // entries are matched by count over both files.
    let mut seen = all.len();
    loop {
        let alive = eng.containers.shim_alive(&rec.id);
        let now = read_all(&path)?;
        if now.len() > seen {
            print(&now[seen..], args.timestamps);
        }
        seen = seen.max(now.len());
        if !alive {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
