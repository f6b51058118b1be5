//! Where an engine keeps its state and finds its helpers: the persistent and volatile roots,
//! the CNI plugin path and the storage driver, and every path and handle derived from them.
//! The `berth` CLI and `berthd` each build one [`Settings`] from their flags and reach the
//! store, the container engine and the shims through it, so both work on the same state.

mod driver;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use berth_core::cni::RawExec;
use berth_core::invoke::Invoker;

pub use driver::{open_store, resolve_driver};

use crate::container::ContainerStore;
use crate::container::lifecycle::Engine;
use crate::network::NetworkStore;
use crate::shim::spawn::ShimCommand;
use crate::storage::DriverKind;
use crate::store::Store;

/// How long a CNI plugin may run before it is killed.
pub const PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The default persistent root.
pub const DEFAULT_ROOT: &str = "/var/lib/berth";

/// The default volatile root.
pub const DEFAULT_RUN_ROOT: &str = "/run/berth";

/// An engine's roots, plugin path and storage driver.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Persistent state root (`--root`).
    pub root: PathBuf,
    /// Volatile state root (`--run-root`).
    pub run_root: PathBuf,
    /// Where plugins are looked up, in order.
    pub cni_path: Vec<PathBuf>,
    /// The `--storage-driver` flag; `None` reads `<root>/config.json`.
    pub storage_driver: Option<DriverKind>,
}

impl Settings {
    /// Settings for these roots; an empty `cni_path` means the running binary's directory,
    /// then `/opt/cni/bin`.
    pub fn new(
        root: PathBuf,
        run_root: PathBuf,
        cni_path: Vec<PathBuf>,
        storage_driver: Option<DriverKind>,
    ) -> Settings {
        let cni_path = if cni_path.is_empty() {
            default_cni_path()
        } else {
            cni_path
        };
        Settings {
            root,
            run_root,
            cni_path,
            storage_driver,
        }
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

    /// Opens the image store under the root with the resolved driver.
    pub fn open_store(&self) -> anyhow::Result<Store> {
        open_store(&self.root, self.storage_driver)
    }

    /// The container engine over `store`.
    pub fn engine<'a>(&self, store: &'a Store) -> Engine<'a> {
        Engine {
            store,
            containers: ContainerStore::new(&self.root, &self.run_root),
            networks: self.networks(),
            invoker: self.invoker(),
            netns_dir: self.netns_dir(),
            runtime_root: self.run_root.join("runtime"),
            dns: crate::dns::DnsControl::new(&self.root, &self.run_root),
        }
    }

    /// How shims are started: the small `berth-shim` binary next to the running one, or else
    /// the running binary itself with `shim` (as `berth shim`), with these roots.
    pub fn shim_command(&self) -> anyhow::Result<ShimCommand> {
        let me = std::env::current_exe().context("find the running binary")?;
        let small = me.with_file_name("berth-shim");
        let (exe, subcommand) = if small.is_file() {
            (small, None)
        } else {
            (me, Some("shim"))
        };
        let mut args: Vec<OsString> = vec![
            "--root".into(),
            self.root.clone().into(),
            "--run-root".into(),
            self.run_root.clone().into(),
        ];
        let cni: Vec<String> = self
            .cni_path
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        args.push("--cni-path".into());
        args.push(cni.join(":").into());
        if let Some(d) = self.storage_driver {
            args.push("--storage-driver".into());
            args.push(d.name().into());
        }
        args.extend(subcommand.map(OsString::from));
        Ok(ShimCommand { exe, args })
    }
}

/// The running binary's directory, then `/opt/cni/bin`.
fn default_cni_path() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
    {
        dirs.push(dir);
    }
    dirs.push(PathBuf::from("/opt/cni/bin"));
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_derive_from_the_roots_and_an_empty_cni_path_gets_the_default() {
        let s = Settings::new("/r".into(), "/v".into(), Vec::new(), None);
        assert_eq!(s.netns_dir(), PathBuf::from("/v/netns"));
        assert_eq!(s.lock_dir(), PathBuf::from("/v/locks"));
        assert_eq!(s.cni_path.last(), Some(&PathBuf::from("/opt/cni/bin")));
        let s = Settings::new("/r".into(), "/v".into(), vec!["/p".into()], None);
        assert_eq!(s.cni_path, vec![PathBuf::from("/p")]);
    }

    #[test]
    fn shim_command_carries_the_roots_and_the_driver() {
        let s = Settings::new(
            "/r".into(),
            "/v".into(),
            vec!["/a".into(), "/b".into()],
            Some(DriverKind::Vfs),
        );
        let cmd = s.shim_command().unwrap();
        let args: Vec<String> = cmd
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            &args[..8],
            [
                "--root",
                "/r",
                "--run-root",
                "/v",
                "--cni-path",
                "/a:/b",
                "--storage-driver",
                "vfs"
            ]
        );
    }
}
