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

/// A runtime's view of a network: plugins in order, with the port mappings it passes to the
/// plugins that declare `portMappings`.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The plugins, in ADD order; `portmap` gets the mappings.
    pub plugins: Vec<PluginCall>,
    /// `runtimeConfig.portMappings`.
    pub maps: serde_json::Value,
}

impl Chain {
    fn config(&self, call: &PluginCall, prev: Option<&serde_json::Value>) -> PluginCall {
        let mut call = call.clone();
        if call.plugin == "portmap" {
            call.config["runtimeConfig"] = serde_json::json!({ "portMappings": self.maps });
        }
        if let Some(prev) = prev {
            call.config["prevResult"] = prev.clone();
        }
        call
    }

    /// ADD through every plugin; returns the total time and the final result.
    pub fn add(&self, id: &str, netns: &Path) -> anyhow::Result<(Duration, serde_json::Value)> {
        let mut total = Duration::ZERO;
        let mut prev: Option<serde_json::Value> = None;
        for call in &self.plugins {
            let (t, out) = self
                .config(call, prev.as_ref())
                .run("ADD", id, netns, "eth0")?;
            total += t;
            prev = Some(serde_json::from_slice(&out)?);
        }
        Ok((total, prev.unwrap_or_default()))
    }

    /// DEL through every plugin in reverse, with the final result as `prevResult`.
    pub fn del(
        &self,
        id: &str,
        netns: &Path,
        result: &serde_json::Value,
    ) -> anyhow::Result<Duration> {
        let mut total = Duration::ZERO;
        for call in self.plugins.iter().rev() {
            let (t, _) = self
                .config(call, Some(result))
                .run("DEL", id, netns, "eth0")?;
            total += t;
        }
        Ok(total)
    }
}
