//! What every command needs: the state roots and every path derived from them, the CNI plugin
//! path, the output format, and the one place that writes to stdout.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use berth_core::cni::RawExec;
use berth_core::invoke::Invoker;

use super::{Format, GlobalOpts};
use crate::network::NetworkStore;

/// How long a CNI plugin may run before it is killed.
pub const PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Shared settings for every command.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Persistent state root (`--root`).
    pub root: PathBuf,
    /// Volatile state root (`--run-root`).
    pub run_root: PathBuf,
    /// Where plugins are looked up, in order.
    pub cni_path: Vec<PathBuf>,
    /// Output format.
    pub format: Format,
    /// The `--storage-driver` flag.
    pub storage_driver: Option<crate::storage::DriverKind>,
}

impl super::storage_opts::StorageCtx for Ctx {
    fn root(&self) -> &std::path::Path {
        &self.root
    }

    fn storage_driver_flag(&self) -> Option<crate::storage::DriverKind> {
        self.storage_driver
    }

    fn format(&self) -> Format {
        self.format
    }
}

impl Ctx {
    /// Settings from the global options; the default CNI path is the berth binary's
    /// directory, then `/opt/cni/bin`.
    pub fn new(opts: &GlobalOpts) -> anyhow::Result<Ctx> {
        let cni_path = if opts.cni_path.is_empty() {
            let mut dirs = Vec::new();
            if let Some(dir) = std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from))
            {
                dirs.push(dir);
            }
            dirs.push(PathBuf::from("/opt/cni/bin"));
            dirs
        } else {
            opts.cni_path.clone()
        };
        Ok(Ctx {
            root: opts.root.clone(),
            run_root: opts.run_root.clone(),
            cni_path,
            format: opts.format,
            storage_driver: opts.storage.storage_driver,
        })
    }

    /// Named network namespaces: `<run-root>/netns`.
    pub fn netns_dir(&self) -> PathBuf {
        self.run_root.join("netns")
    }

    /// Lock files: `<run-root>/locks`.
    pub fn lock_dir(&self) -> PathBuf {
        self.run_root.join("locks")
    }

    /// The network definitions.
    pub fn networks(&self) -> NetworkStore {
        NetworkStore::new(&self.root, self.cni_path.clone())
    }

    /// The CNI invoker: plugins from the CNI path with a timeout, results cached under
    /// `<root>/cni/results`, locks under `<run-root>/locks/cni`.
    pub fn invoker(&self) -> Invoker<RawExec> {
        let exec = RawExec {
            search_path: self.cni_path.clone(),
            timeout: Some(PLUGIN_TIMEOUT),
        };
        Invoker::new(
            exec,
            self.cni_path.clone(),
            self.root.join("cni"),
            self.lock_dir().join("cni"),
        )
    }

    /// Writes `text` (plus a newline unless it ends with one) to stdout.
    #[allow(clippy::print_stdout)] // the one writer of command output
    pub fn print(&self, text: &str) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json(&self, value: &serde_json::Value) -> anyhow::Result<()> {
        self.print(&serde_json::to_string_pretty(value)?)
    }
}

/// Aligns `rows` under `headers` with two spaces between columns.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["NAME", "DRIVER"],
            &[
                vec!["bridge".into(), "bridge".into()],
                vec!["a".into(), "veth".into()],
            ],
        );
        assert_eq!(t, "NAME    DRIVER\nbridge  bridge\na       veth\n");
    }
}
