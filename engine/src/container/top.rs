//! The processes of a running container (`berth top`, `GET /containers/{id}/top`), as the
//! host's `ps` shows them, as dockerd does it: `ps ARGS -q PIDS` (default ARGS `-ef`), or, when
//! the options cannot be combined with `-q`, `ps ARGS` alone, then only the rows whose `PID`
//! column is one of the container's cgroup's pids are kept.

use std::collections::HashSet;
use std::process::Command;

use anyhow::Context as _;
use serde::Serialize;

use super::lifecycle::Engine;
use super::record::ContainerRecord;

/// `ps`'s options when none are given.
pub const DEFAULT_PS_ARGS: &str = "-ef";

/// `ps`'s table for the container: Docker's `{"Titles": [...], "Processes": [[...]]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Top {
    /// The column headers.
    pub titles: Vec<String>,
    /// One row per process, one string per column (the last column keeps its spaces).
    pub processes: Vec<Vec<String>>,
}

/// Runs `ps` with `ps_args` (whitespace-separated; empty means [`DEFAULT_PS_ARGS`]) on the
/// processes of `rec`, which must run (the caller checks).
pub fn top(eng: &Engine<'_>, rec: &ContainerRecord, ps_args: &str) -> anyhow::Result<Top> {
    let pids: Vec<i32> = eng.runtime().ps(&rec.id)?;
    let args: Vec<&str> = match ps_args.split_ascii_whitespace().collect::<Vec<_>>() {
        a if a.is_empty() => vec![DEFAULT_PS_ARGS],
        a => a,
    };
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    let with_pids = Command::new("ps")
        .args(&args)
        .arg("-q")
        .arg(list.join(","))
        .output()
        .context("run ps")?;
    let out = if with_pids.status.success() {
        with_pids
    } else {
        // Some options (`f`, say) refuse `-q`: filter the whole table instead.
        let all = Command::new("ps").args(&args).output().context("run ps")?;
        if !all.status.success() {
            let err = String::from_utf8_lossy(&all.stderr);
            anyhow::bail!("ps: {}", err.lines().next().unwrap_or("failed").trim());
        }
        all
    };
    parse_ps(
        &String::from_utf8_lossy(&out.stdout),
        &pids.into_iter().collect(),
    )
}

/// Keeps the rows of `ps`'s output whose `PID` is in `pids`.
pub fn parse_ps(output: &str, pids: &HashSet<i32>) -> anyhow::Result<Top> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .context("Couldn't find PID field in ps output")?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        let head = titles.len().saturating_sub(1).min(fields.len());
        let mut row: Vec<String> = fields[..head].iter().map(|s| (*s).to_owned()).collect();
        if fields.len() > head {
            row.push(fields[head..].join(" "));
        }
        processes.push(row);
    }
    Ok(Top { titles, processes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_other_processes_are_dropped_and_the_command_keeps_its_spaces() {
        let out = "UID   PID  PPID  C STIME TTY          TIME CMD\n\
                   root    1     0  0 10:00 ?        00:00:01 /sbin/init\n\
                   root  4242  4200  0 10:01 ?        00:00:00 sleep 1000\n\n";
        let top = parse_ps(out, &[4242].into_iter().collect()).unwrap();
        assert_eq!(top.titles.len(), 8);
        assert_eq!(top.processes.len(), 1);
        assert_eq!(top.processes[0][1], "4242");
        assert_eq!(top.processes[0][7], "sleep 1000");
        let e = parse_ps("USER COMMAND\nroot sh\n", &HashSet::new()).unwrap_err();
        assert!(e.to_string().contains("PID field"), "{e}");
    }
}
