//! `berth ps`: list containers (running ones, or all with `-a`).

use serde_json::json;

use crate::ctx::table;
use crate::{Ctx, Format};
use berth_engine::container::ContainerRecord;
use berth_engine::container::record::Status;
use berth_engine::storage::RwLayerId;

/// `berth ps` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show all containers, not only running ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only print ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

fn ports(r: &ContainerRecord) -> String {
    r.host_config
        .port_bindings
        .iter()
        .map(|p| format!("{p}->"))
        .map(|p| p.trim_end_matches("->").to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lists containers.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    let mut recs = Vec::new();
    for r in eng.containers.list()? {
        let r = berth_engine::container::lifecycle::reconcile(&eng, r);
        if args.all || matches!(r.state.status, Status::Running | Status::Paused) {
            recs.push(r);
        }
    }
    if args.quiet {
        let ids: Vec<&str> = recs.iter().map(|r| r.short_id()).collect();
        return if ids.is_empty() {
            Ok(())
        } else {
            ctx.print(&ids.join("\n"))
        };
    }
    let size = |r: &ContainerRecord| -> Option<(u64, u64)> {
        let rw = RwLayerId::new(&r.id).ok()?;
        let d = berth_engine::digest::Digest::parse(&r.image).ok()?;
        store
            .container_size(&rw, &d)
            .ok()
            .map(|s| (s.size, s.virtual_size))
    };
    let json_out = ctx.format == Format::Json;
    if json_out {
        let v: Vec<_> = recs
            .iter()
            .map(|r| {
                let mut o = json!({
                    "Id": r.id, "Names": [r.name], "Image": r.config.image, "ImageID": r.image,
                    "Command": r.config.cmd.join(" "), "Created": r.created,
                    "State": r.state.status.to_string(), "Status": r.status_text(),
                    "Ports": r.host_config.port_bindings, "Networks": r.host_config.networks,
                    "Pid": r.state.pid, "ExitCode": r.state.exit_code,
                });
                if let Some((s, v)) = args.size.then(|| size(r)).flatten() {
                    o["Size"] = json!(s);
                    o["VirtualSize"] = json!(v);
                }
                o
            })
            .collect();
        return ctx.print_json(&json!(v));
    }
    let mut headers = vec![
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    if args.size {
        headers.push("SIZE");
    }
    let rows: Vec<Vec<String>> = recs
        .iter()
        .map(|r| {
            let mut cmd = r.config.cmd.join(" ");
            if cmd.len() > 20 {
                cmd.truncate(19);
                cmd.push('…');
            }
            let mut row = vec![
                r.short_id().to_owned(),
                r.config.image.clone(),
                format!("\"{cmd}\""),
                crate::human::ago(Some(&r.created), crate::human::now_secs()),
                r.status_text(),
                ports(r),
                r.name.clone(),
            ];
            if args.size {
                row.push(
                    size(r)
                        .map(|(s, _)| crate::human::size(s, 3))
                        .unwrap_or_default(),
                );
            }
            row
        })
        .collect();
    ctx.print(&table(&headers, &rows))
}
