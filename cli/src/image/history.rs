//! `berth history IMAGE` (`berth image history`): one row per layer, newest first, as
//! `docker history`: IMAGE (the image id on the top row, `<missing>` below), CREATED,
//! CREATED BY (cut to 45 characters unless `--no-trunc`), SIZE, COMMENT.

use std::io::{self, Write};

use super::super::human;
use super::super::storage_opts::{StorageCtx, open_store};
use super::super::table::write_table;

/// `berth history` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The image, by name or id
    pub image: String,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `berth history`.
pub fn run(args: Args, ctx: &dyn StorageCtx) -> anyhow::Result<()> {
    let store = open_store(ctx)?;
    let id = store.images().resolve(&args.image)?;
    let entries = store.images().history(id.as_str())?;
    let shown_id = if args.no_trunc {
        id.to_string()
    } else {
        id.short().to_owned()
    };
    let mut out = io::stdout().lock();
    let image_col = |i: usize| {
        if i == 0 {
            shown_id.clone()
        } else {
            "<missing>".to_owned()
        }
    };
    if args.quiet {
        for i in 0..entries.len() {
            writeln!(out, "{}", image_col(i))?;
        }
        return Ok(());
    }
    let now = human::now_secs();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (created, size) = if args.human {
                (
                    human::ago(h.created.as_deref(), now),
                    human::size(h.size, 3),
                )
            } else {
                (h.created.clone().unwrap_or_default(), h.size.to_string())
            };
            let created_by = if args.no_trunc {
                h.created_by.clone()
            } else {
                human::ellipsis(&h.created_by, 45)
            };
            vec![image_col(i), created, created_by, size, h.comment.clone()]
        })
        .collect();
    let header = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"];
    write_table(&mut out, &header, &rows)?;
    Ok(())
}
