//! What every command needs: the engine's settings (state roots, CNI plugin path, storage
//! driver), the output format, and the one place that writes to stdout.

use std::io::Write;

use berth_engine::settings::Settings;

use super::{Format, GlobalOpts};

/// Shared settings for every command: the engine's [`Settings`] (roots, CNI path, storage
/// driver; `ctx.root`, `ctx.engine(..)` reach them) and the output format.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Where the engine's state lives.
    pub settings: Settings,
    /// Output format.
    pub format: Format,
}

impl std::ops::Deref for Ctx {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.settings
    }
}

impl super::storage_opts::StorageCtx for Ctx {
    fn root(&self) -> &std::path::Path {
        &self.settings.root
    }

    fn storage_driver_flag(&self) -> Option<berth_engine::storage::DriverKind> {
        self.settings.storage_driver
    }

    fn format(&self) -> Format {
        self.format
    }
}

impl Ctx {
    /// Settings from the global options; the default CNI path is the berth binary's
    /// directory, then `/opt/cni/bin`.
    pub fn new(opts: &GlobalOpts) -> anyhow::Result<Ctx> {
        Ok(Ctx {
            settings: Settings::new(
                opts.root.clone(),
                opts.run_root.clone(),
                opts.cni_path.clone(),
                opts.storage.storage_driver,
            ),
            format: opts.format,
        })
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
