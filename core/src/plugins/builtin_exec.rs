//! IPAM delegation that skips a process start when it can: if the `host-local` that `CNI_PATH`
//! would run is the very file installed next to the running plugin (berth's own), it runs
//! in-process through the same skeleton, with the same environment, stdin and result bytes.
//! Any other IPAM plugin, or another `host-local` found first in `CNI_PATH`, is exec'd as the
//! spec describes.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::cni::exec::{find_plugin, plugin_failure_json};
use crate::cni::skel::{self, Env, Outcome};
use crate::cni::{CniError, PluginExec, RawExec};
use crate::plugins::host_local::HostLocalPlugin;

/// A [`PluginExec`] that runs berth's own host-local in-process.
#[derive(Debug, Clone)]
pub struct BuiltinExec {
    raw: RawExec,
}

impl BuiltinExec {
    /// An executor searching `search_path` (`CNI_PATH`).
    pub fn new(search_path: Vec<PathBuf>) -> Self {
        BuiltinExec {
            raw: RawExec::new(search_path),
        }
    }
}

/// True when `found` is the same file as `name` next to the running executable.
fn is_sibling_of_current_exe(found: &Path, name: &str) -> bool {
    let Ok(exe) = std::env::current_exe() else {
        return false;
    };
    let Some(dir) = exe.parent() else {
        return false;
    };
    match (std::fs::metadata(found), std::fs::metadata(dir.join(name))) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

struct Overlay<'a> {
    env: &'a [(&'a str, &'a str)],
}

impl Env for Overlay<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self.env.iter().rev().find(|(k, _)| *k == name) {
            Some((_, v)) => Some((*v).to_string()),
            None => std::env::var(name).ok(),
        }
    }
}

impl PluginExec for BuiltinExec {
    fn exec(&self, plugin: &str, env: &[(&str, &str)], stdin: &[u8]) -> Result<Vec<u8>, CniError> {
        if plugin != "host-local" {
            return self.raw.exec(plugin, env, stdin);
        }
        let found = find_plugin(plugin, &self.raw.search_path)?;
        if !is_sibling_of_current_exe(&found, plugin) {
            return self.raw.exec(plugin, env, stdin);
        }
        tracing::debug!("running host-local in-process");
        let Outcome { stdout, exit } =
            skel::dispatch(&HostLocalPlugin, &Overlay { env }, stdin.to_vec());
        let bytes = stdout
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default();
        if exit == 0 {
            Ok(bytes)
        } else {
            Err(plugin_failure_json(plugin, &bytes, "failed"))
        }
    }
}
