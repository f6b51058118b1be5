//! Running a CNI plugin the way a runtime does, and timing it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// One plugin to call: the binary directory (`CNI_PATH`), its `type` and its config.
#[derive(Debug, Clone)]
pub struct PluginCall {
    /// Directory holding the plugin and its IPAM plugin.
    pub dir: PathBuf,
    /// The plugin's binary name.
    pub plugin: String,
    /// The config sent on stdin.
    pub config: serde_json::Value,
}

impl PluginCall {
    /// Runs `command` for (`id`, `ifname`) in `netns` and returns the elapsed time and stdout.
    pub fn run(
        &self,
        command: &str,
        id: &str,
        netns: &Path,
        ifname: &str,
    ) -> anyhow::Result<(Duration, Vec<u8>)> {
        let bin = self.dir.join(&self.plugin);
        let stdin = serde_json::to_vec(&self.config)?;
        let start = Instant::now();
        #[allow(clippy::disallowed_methods)]
        let mut child = Command::new(&bin)
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", id)
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", ifname)
            .env("CNI_PATH", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("run {}", bin.display()))?;
        child
            .stdin
            .take()
            .context("plugin stdin")?
            .write_all(&stdin)?;
        let out = child.wait_with_output()?;
        let elapsed = start.elapsed();
        if std::env::var_os("BENCH_SHOW_STDERR").is_some() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        if !out.status.success() {
            bail!(
                "{} {command} {id} failed: {}{}",
                self.plugin,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((elapsed, out.stdout))
    }
}
